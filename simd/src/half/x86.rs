//! x86-64 half-precision loads and stores in `f32` lanes: `f16` with F16C (`vcvtph2ps`,
//! `vcvtps2ph` rounding to nearest even), `bf16` with AVX2 (widening is a zero extension and a
//! 16-bit shift; rounding adds `0x7fff` plus the lowest kept bit, NaN kept quiet, then packs),
//! each the core crate's conversion bit for bit. On them: the slice conversions and the half
//! forward's final write, `y_i = round(clip(fl(fl(widen(x_i)·s) − λ), 0, 1))` with the `f32`
//! kernels' primitives (`F32x8`), so the `f32` values are those of the `f32` clip kernel.

use core::arch::x86_64::*;

use hypersimplex::half::{Bf16, Half, F16};
use hypersimplex::Real;

use hypersimplex::internal::kernel::{Piece, Stats};

use crate::isa::avx2::F32x8;
use crate::isa::Lanes;
use crate::kernels::{piece_pass, piece_stats_from, Io, Sink, Source};

/// A half type to and from `f32` lanes: 8 elements widened, 16 rounded and packed.
///
/// # Safety
/// For implementors: exact widening, rounding to nearest even as `Half::from_f32`; memory
/// accessed only as stated. Callers need the CPU features of the implementation (AVX2, and
/// F16C for `F16`).
pub(super) unsafe trait Io8: Half {
    /// Widens the 8 elements at `p` (unaligned).
    unsafe fn load8(p: *const Self) -> __m256;
    /// `v0` then `v1` rounded, the 16 patterns in order. With `UNIT` the caller guarantees
    /// no NaN lane (the clipped values of the final write), which may save instructions.
    unsafe fn pack16<const UNIT: bool>(v0: __m256, v1: __m256) -> __m256i;
}

/// `bf16` rounding of 8 lanes to nearest even, one pattern in the low 16 bits of each lane
/// (NaN: quiet, sign and upper payload kept, unless `UNIT` promises none).
#[inline]
#[target_feature(enable = "avx2")]
fn bf16_round8<const UNIT: bool>(v: __m256) -> __m256i {
    let b = _mm256_castps_si256(v);
    let lsb = _mm256_and_si256(_mm256_srli_epi32::<16>(b), _mm256_set1_epi32(1));
    let bias = _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7fff));
    let rounded = _mm256_srli_epi32::<16>(_mm256_add_epi32(b, bias));
    if UNIT {
        return rounded;
    }
    let mag = _mm256_and_si256(b, _mm256_set1_epi32(0x7fff_ffff));
    let nan = _mm256_cmpgt_epi32(mag, _mm256_set1_epi32(0x7f80_0000));
    let quiet = _mm256_or_si256(_mm256_srli_epi32::<16>(b), _mm256_set1_epi32(0x40));
    _mm256_blendv_epi8(rounded, quiet, nan)
}

// SAFETY: `bf16` widening is the 16-bit shift of the zero-extended pattern (exact);
// `bf16_round8` is `f32_to_bf16` lane by lane (without NaN lanes under `UNIT`, as promised);
// 16 bytes read at `p`.
unsafe impl Io8 for Bf16 {
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn load8(p: *const Self) -> __m256 {
        // The 8 patterns in both 128-bit lanes (a broadcast load: no shuffle uop), then one
        // byte shuffle puts pattern j into the upper half of lane j's 32 bits (lanes 0-3 from
        // the low lane's copy, 4-7 from the high lane's) and zeroes the lower half.
        // SAFETY: the caller passes 8 readable elements.
        let h = unsafe { _mm256_broadcastsi128_si256(_mm_loadu_si128(p.cast::<__m128i>())) };
        let to_upper = _mm256_setr_epi8(
            -1, -1, 0, 1, -1, -1, 2, 3, -1, -1, 4, 5, -1, -1, 6, 7, //
            -1, -1, 8, 9, -1, -1, 10, 11, -1, -1, 12, 13, -1, -1, 14, 15,
        );
        _mm256_castsi256_ps(_mm256_shuffle_epi8(h, to_upper))
    }
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn pack16<const UNIT: bool>(v0: __m256, v1: __m256) -> __m256i {
        // every lane ≤ 0xffff, so the unsigned saturation is exact; the pack interleaves the
        // 128-bit halves (v0 lo, v1 lo, v0 hi, v1 hi), the permutation restores the order
        let p = _mm256_packus_epi32(bf16_round8::<UNIT>(v0), bf16_round8::<UNIT>(v1));
        _mm256_permute4x64_epi64::<0b11_01_10_00>(p)
    }
}

// SAFETY: F16C converts exactly when widening and rounds to nearest even when narrowing (NaN
// quiet with the upper payload), as the core's conversions; 16 bytes read at `p`.
unsafe impl Io8 for F16 {
    #[inline]
    #[target_feature(enable = "avx2,f16c")]
    unsafe fn load8(p: *const Self) -> __m256 {
        // SAFETY: the caller passes 8 readable elements.
        _mm256_cvtph_ps(unsafe { _mm_loadu_si128(p.cast::<__m128i>()) })
    }
    #[inline]
    #[target_feature(enable = "avx2,f16c")]
    unsafe fn pack16<const UNIT: bool>(v0: __m256, v1: __m256) -> __m256i {
        let h0 = _mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(v0);
        let h1 = _mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(v1);
        _mm256_set_m128i(h1, h0)
    }
}

/// A source of the final write: a half type (widened as it is read) or `f32`.
///
/// # Safety
/// For implementors: `load8` reads 8 elements at `p` and widens them exactly, as `wide`.
pub(super) unsafe trait Src: Copy {
    /// The 8 elements at `p` (unaligned), as `f32`.
    unsafe fn load8(p: *const Self) -> __m256;
    /// The element as `f32`.
    fn wide(self) -> f32;
}

// SAFETY: `Io8::load8` widens exactly.
unsafe impl<H: Io8> Src for H {
    #[inline(always)]
    unsafe fn load8(p: *const Self) -> __m256 {
        // SAFETY: the caller passes 8 readable elements and has the features.
        unsafe { <H as Io8>::load8(p) }
    }
    #[inline(always)]
    fn wide(self) -> f32 {
        self.to_f32()
    }
}

// SAFETY: a plain unaligned load.
unsafe impl Src for f32 {
    #[inline(always)]
    unsafe fn load8(p: *const Self) -> __m256 {
        // SAFETY: the caller passes 8 readable elements and has AVX.
        unsafe { _mm256_loadu_ps(p) }
    }
    #[inline(always)]
    fn wide(self) -> f32 {
        self
    }
}

/// Widens `src` into `dst` (the common length), 8 at a time, the tail in scalar code.
///
/// # Safety
/// The CPU must have `H`'s [`Io8`] features.
#[inline(always)]
unsafe fn widen_body<H: Io8>(src: &[H], dst: &mut [f32]) {
    let n = src.len().min(dst.len());
    let (s, d) = (src.as_ptr(), dst.as_mut_ptr());
    let mut i = 0;
    while i + 32 <= n {
        // SAFETY: i + 32 ≤ n, the length of both slices; the caller guarantees the features.
        unsafe {
            let (a, b) = (H::load8(s.add(i)), H::load8(s.add(i + 8)));
            let (c, e) = (H::load8(s.add(i + 16)), H::load8(s.add(i + 24)));
            _mm256_storeu_ps(d.add(i), a);
            _mm256_storeu_ps(d.add(i + 8), b);
            _mm256_storeu_ps(d.add(i + 16), c);
            _mm256_storeu_ps(d.add(i + 24), e);
        }
        i += 32;
    }
    while i + 8 <= n {
        // SAFETY: i + 8 ≤ n, the length of both slices; the caller guarantees the features.
        unsafe { _mm256_storeu_ps(d.add(i), H::load8(s.add(i))) };
        i += 8;
    }
    let tail = dst.get_mut(i..n).unwrap_or_default();
    for (o, v) in tail.iter_mut().zip(src.get(i..).unwrap_or_default()) {
        *o = v.to_f32();
    }
}

/// Rounds `src` into `dst` (the common length), 16 at a time, the tail in scalar code.
///
/// # Safety
/// The CPU must have `H`'s [`Io8`] features.
#[inline(always)]
unsafe fn narrow_body<H: Io8>(src: &[f32], dst: &mut [H]) {
    let n = src.len().min(dst.len());
    let (s, d) = (src.as_ptr(), dst.as_mut_ptr());
    let mut i = 0;
    while i + 16 <= n {
        // SAFETY: as in `widen_body` (i + 16 ≤ n).
        unsafe {
            let v = H::pack16::<false>(_mm256_loadu_ps(s.add(i)), _mm256_loadu_ps(s.add(i + 8)));
            _mm256_storeu_si256(d.add(i).cast::<__m256i>(), v);
        }
        i += 16;
    }
    let tail = dst.get_mut(i..n).unwrap_or_default();
    for (o, &v) in tail.iter_mut().zip(src.get(i..).unwrap_or_default()) {
        *o = H::from_f32(v);
    }
}

/// `y_i = round(clip(fl(fl(widen(x_i)·s) − λ), 0, 1))` for `i < n`, reading `x` and writing
/// `y` through raw pointers (`y == x` for the in-place write: each vector is read before it is
/// written), 16 at a time, with non-temporal stores when `stream`.
///
/// # Safety
/// `x` readable and `y` writable for `n` elements, either the same or disjoint; the CPU must
/// have `H`'s [`Io8`] features.
#[inline(always)]
unsafe fn clip_body<S: Src, H: Io8>(
    x: *const S,
    y: *mut H,
    n: usize,
    s: f32,
    lam: f32,
    stream: bool,
) {
    let one = |i: usize| {
        // SAFETY: called with i < n (below); reads before it writes.
        unsafe { *y.add(i) = H::from_f32(((*x.add(i)).wide() * s - lam).clip01()) };
    };
    // the elements before the first 32-byte aligned slot of `y` (non-temporal stores only)
    let head = if stream { y.align_offset(32).min(n) } else { 0 };
    (0..head).for_each(one);
    let mut i = head;
    // SAFETY: the caller guarantees the features; i + 16 ≤ n keeps every access inside both
    // buffers, and from `head` on `y + i` is 32-byte aligned (16 elements are 32 bytes). The
    // fence orders the streaming stores before later accesses.
    unsafe {
        let (vs, vl) = (F32x8::splat(s), F32x8::splat(lam));
        let value = |i: usize| F32x8::clip01(F32x8::sub(F32x8::mul(S::load8(x.add(i)), vs), vl));
        let pair = |i: usize| H::pack16::<true>(value(i), value(i + 8));
        if stream {
            while i + 16 <= n {
                _mm256_stream_si256(y.add(i).cast::<__m256i>(), pair(i));
                i += 16;
            }
            _mm_sfence();
        } else {
            while i + 16 <= n {
                _mm256_storeu_si256(y.add(i).cast::<__m256i>(), pair(i));
                i += 16;
            }
        }
    }
    (i..n).for_each(one);
}

/// The half forward's fused last pass: a piece pass over the widened `f32` copy (the `f32`
/// `piece` kernel, bit for bit) that also writes `y_i = round(clip(d_i, 0, 1))`, two vectors
/// (16 elements, one 32-byte store) at a time.
struct HalfSink<'a, H>(&'a mut [H]);

// SAFETY: `put2` stores 16 elements at `i` with `i + 16 ≤ len` (the caller's promise);
// `put_tail` writes through checked slice accesses.
unsafe impl<H: Io8> Sink<F32x8> for HalfSink<'_, H> {
    const WRITE: bool = true;
    #[inline(always)]
    fn len(&self) -> usize {
        self.0.len()
    }
    #[inline(always)]
    unsafe fn put2(&mut self, i: usize, d0: __m256, d1: __m256) {
        // SAFETY: `i + 16 ≤ len` and the features (the caller's promise); clipped values are
        // never NaN (the pass runs on finite input), as `pack16::<true>` requires.
        unsafe {
            let v = H::pack16::<true>(F32x8::clip01(d0), F32x8::clip01(d1));
            _mm256_storeu_si256(self.0.as_mut_ptr().add(i).cast::<__m256i>(), v);
        }
    }
    #[inline(always)]
    fn put_tail(&mut self, i: usize, v: &[f32], s: f32, lam: f32) {
        let out = self.0.get_mut(i..).unwrap_or_default();
        for (o, &x) in out.iter_mut().zip(v) {
            *o = H::from_f32((x * s - lam).clip01());
        }
    }
}

/// The piece of the widened `x` at λ, writing `y` in `bf16` (see [`HalfSink`]).
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn piece_write_bf16(x: &[f32], s: f32, lam: f32, y: &mut [Bf16]) -> Piece {
    // SAFETY: the features are enabled here.
    unsafe { piece_pass::<F32x8, _>(x, s, lam, HalfSink(y)) }
}

/// The piece of the widened `x` at λ, writing `y` in `f16` (see [`HalfSink`]).
///
/// # Safety
/// The CPU must support AVX2 and F16C.
#[target_feature(enable = "avx2,f16c")]
pub(super) unsafe fn piece_write_f16(x: &[f32], s: f32, lam: f32, y: &mut [F16]) -> Piece {
    // SAFETY: the features are enabled here.
    unsafe { piece_pass::<F32x8, _>(x, s, lam, HalfSink(y)) }
}

/// The half forward's first pass: the half input widened as it is read (and kept: the copy
/// the later passes read), so that the pass is the `f32` `piece_stats` kernel's on the copy.
struct Widening<'a, H> {
    x: &'a [H],
    out: &'a mut [f32],
}

// SAFETY: `load` reads 8 elements of `x` and writes 8 of `out` at `i`, with `i + 8 ≤ len`, the
// shorter length (the caller's promise); `get` uses checked accesses; both widen exactly.
unsafe impl<H: Io8> Source<F32x8> for Widening<'_, H> {
    #[inline(always)]
    fn len(&self) -> usize {
        self.x.len().min(self.out.len())
    }
    #[inline(always)]
    unsafe fn load(&mut self, i: usize) -> __m256 {
        // SAFETY: `i + 8 ≤ len` and the features (the caller's promise).
        unsafe {
            let v = H::load8(self.x.as_ptr().add(i));
            _mm256_storeu_ps(self.out.as_mut_ptr().add(i), v);
            v
        }
    }
    #[inline(always)]
    fn get(&mut self, i: usize) -> f32 {
        let v = self.x.get(i).map_or(0.0, |h| h.to_f32());
        if let Some(o) = self.out.get_mut(i) {
            *o = v;
        }
        v
    }
}

/// Widens `x` into `out` (the common length) while running the `f32` `piece_stats` kernel on
/// the widened values (see [`Widening`]), for `bf16`.
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn piece_stats_widen_bf16(
    x: &[Bf16],
    s: f32,
    lam: f32,
    out: &mut [f32],
) -> (Piece, Stats<f32>) {
    // SAFETY: the features are enabled here.
    unsafe { piece_stats_from::<F32x8, _>(Widening { x, out }, s, lam) }
}

/// [`piece_stats_widen_bf16`] for `f16`.
///
/// # Safety
/// The CPU must support AVX2 and F16C.
#[target_feature(enable = "avx2,f16c")]
pub(super) unsafe fn piece_stats_widen_f16(
    x: &[F16],
    s: f32,
    lam: f32,
    out: &mut [f32],
) -> (Piece, Stats<f32>) {
    // SAFETY: the features are enabled here.
    unsafe { piece_stats_from::<F32x8, _>(Widening { x, out }, s, lam) }
}

/// `bf16` slice widening.
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn widen_bf16(src: &[Bf16], dst: &mut [f32]) {
    // SAFETY: the features are enabled here.
    unsafe { widen_body(src, dst) }
}

/// `bf16` slice rounding.
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn narrow_bf16(src: &[f32], dst: &mut [Bf16]) {
    // SAFETY: the features are enabled here.
    unsafe { narrow_body(src, dst) }
}

/// `f16` slice widening.
///
/// # Safety
/// The CPU must support AVX2 and F16C.
#[target_feature(enable = "avx2,f16c")]
pub(super) unsafe fn widen_f16(src: &[F16], dst: &mut [f32]) {
    // SAFETY: the features are enabled here.
    unsafe { widen_body(src, dst) }
}

/// `f16` slice rounding.
///
/// # Safety
/// The CPU must support AVX2 and F16C.
#[target_feature(enable = "avx2,f16c")]
pub(super) unsafe fn narrow_f16(src: &[f32], dst: &mut [F16]) {
    // SAFETY: the features are enabled here.
    unsafe { narrow_body(src, dst) }
}

/// The final write into `bf16` from `bf16` or `f32` (see [`clip_body`]).
///
/// # Safety
/// As [`clip_body`], with AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn clip_bf16<S: Src>(
    x: *const S,
    y: *mut Bf16,
    n: usize,
    s: f32,
    lam: f32,
    stream: bool,
) {
    // SAFETY: the features are enabled here; the caller guarantees the buffers.
    unsafe { clip_body(x, y, n, s, lam, stream) }
}

/// The final write into `f16` from `f16` or `f32` (see [`clip_body`]).
///
/// # Safety
/// As [`clip_body`], with AVX2 and F16C.
#[target_feature(enable = "avx2,f16c")]
pub(super) unsafe fn clip_f16<S: Src>(
    x: *const S,
    y: *mut F16,
    n: usize,
    s: f32,
    lam: f32,
    stream: bool,
) {
    // SAFETY: the features are enabled here; the caller guarantees the buffers.
    unsafe { clip_body(x, y, n, s, lam, stream) }
}

/// The core crate's conversion loops compiled with AVX2 (they vectorize), for `f16` on a CPU
/// without F16C.
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn widen_avx2<H: Half>(src: &[H], dst: &mut [f32]) {
    for (d, &v) in dst.iter_mut().zip(src) {
        *d = v.to_f32();
    }
}

/// [`widen_avx2`]'s rounding twin.
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn narrow_avx2<H: Half>(src: &[f32], dst: &mut [H]) {
    for (d, &v) in dst.iter_mut().zip(src) {
        *d = H::from_f32(v);
    }
}

/// The backward kernels' [`Io`] of a half type in `F32x8`: [`Io8::load8`] widens, two vectors
/// are rounded by [`Io8::pack16`] into one 32-byte store, without the NaN handling
/// (`UNIT`): the VJP stores no NaN, its data being checked finite (and every output finite in
/// the format) before it runs.
pub(super) struct HalfIo<H>(core::marker::PhantomData<H>);

// SAFETY: `Io8` widens 8 elements exactly and rounds 16 as `Half::from_f32` (its contract;
// NaN lanes excepted under `UNIT`, which `Io::store2` allows); `store2` writes the 16 patterns
// at `p`, `v0`'s then `v1`'s.
unsafe impl<H: Io8> Io<F32x8> for HalfIo<H> {
    type S = H;
    #[inline(always)]
    unsafe fn load(p: *const H) -> __m256 {
        // SAFETY: the caller passes 8 readable elements and has the features.
        unsafe { H::load8(p) }
    }
    #[inline(always)]
    unsafe fn store2(p: *mut H, v0: __m256, v1: __m256) {
        // SAFETY: the caller passes 16 writable elements and has the features.
        unsafe { _mm256_storeu_si256(p.cast::<__m256i>(), H::pack16::<true>(v0, v1)) }
    }
    #[inline(always)]
    fn wide(v: H) -> f32 {
        v.to_f32()
    }
    #[inline(always)]
    fn narrow(v: f32) -> H {
        H::from_f32(v)
    }
}

/// Defines the half backward entry points of one format: `kernels::{free_mean_io, vjp_io,
/// vjp_in_place_io}` with `F32x8` and [`HalfIo`], compiled with `$feature`.
macro_rules! half_backward {
    ($h:ty, $feature:literal, $free_mean:ident, $vjp:ident, $vjp_in_place:ident) => {
        /// `kernels::free_mean_io` on this format (the `f32` free-set sums of the widened data).
        ///
        /// # Safety
        /// The CPU must have the features enabled here; length `< 2^31`.
        #[target_feature(enable = $feature)]
        pub(super) unsafe fn $free_mean(y: &[$h], g: &[$h], limit: f32) -> (usize, f64, bool) {
            // SAFETY: the features are enabled here.
            unsafe { crate::kernels::free_mean_io::<F32x8, HalfIo<$h>>(y, g, limit) }
        }

        /// `kernels::vjp_io` on this format (the `f32` VJP of the widened data, rounded).
        ///
        /// # Safety
        /// The CPU must have the features enabled here.
        #[target_feature(enable = $feature)]
        pub(super) unsafe fn $vjp(y: &[$h], g: &[$h], mean: f32, s: f32, out: &mut [$h]) {
            // SAFETY: the features are enabled here.
            unsafe { crate::kernels::vjp_io::<F32x8, HalfIo<$h>>(y, g, mean, s, out) }
        }

        /// `kernels::vjp_in_place_io` on this format.
        ///
        /// # Safety
        /// The CPU must have the features enabled here.
        #[target_feature(enable = $feature)]
        pub(super) unsafe fn $vjp_in_place(y: &[$h], g: &mut [$h], mean: f32, s: f32) {
            // SAFETY: the features are enabled here.
            unsafe { crate::kernels::vjp_in_place_io::<F32x8, HalfIo<$h>>(y, g, mean, s) }
        }
    };
}

half_backward!(Bf16, "avx2", free_mean_bf16, vjp_bf16, vjp_in_place_bf16);
half_backward!(F16, "avx2,f16c", free_mean_f16, vjp_f16, vjp_in_place_f16);
