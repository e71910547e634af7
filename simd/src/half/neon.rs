//! aarch64 half-precision loads and stores in `f32` lanes (NEON, 4 lanes per vector, 8
//! elements per 128-bit half vector): `f16` with the base Armv8-A AdvSIMD conversions
//! `fcvtl`/`fcvtl2` (exact widening) and `fcvtn`/`fcvtn2` (rounding with the FPCR mode, to
//! nearest even by default) through `asm!` (Rust's `float16x*_t` intrinsics are unstable; the
//! instructions need no FEAT_FP16), `bf16` with integer NEON (widening is `shll`/`shll2` by 16;
//! rounding adds `0x7fff` plus the lowest kept bit, NaN kept quiet, then `uzp2` keeps the upper
//! halves), each the core crate's conversion bit for bit. On them: the slice conversions and
//! the half forward's final write, `y_i = round(clip(fl(fl(widen(x_i)·s) − λ), 0, 1))` with the
//! `f32` kernels' primitives (`F32x4`: `fmul`, `fsub`, `fmaxnm`/`fminnm`, no fused
//! multiply-add), so the `f32` values are those of the `f32` clip kernel. NEON has no
//! non-temporal store here (as `F32x4::stream`), so the write ignores `stream`. And, as in
//! `x86.rs`, the forward's fused first pass (`piece_stats_from` over a widening source, which
//! keeps the widened copy) and writing last pass (`piece_pass` into a half sink), the `f32`
//! kernels' passes bit for bit.
//!
//! One difference in NaN payloads, not in values: `fcvtl` quiets a signalling `f16` NaN (as
//! F16C's `vcvtph2ps` does) where the core's widening keeps the pattern; both are NaN, which the
//! forward rejects before any conversion.

use core::arch::aarch64::*;
use core::arch::asm;

use hypersimplex::half::{Bf16, Half, F16};
use hypersimplex::internal::kernel::{Piece, Stats};
use hypersimplex::Real;

use crate::isa::neon::F32x4;
use crate::isa::Lanes;
use crate::kernels::{piece_pass, piece_stats_from, Sink, Source};

/// Two vectors of 4 `f32` lanes: elements 0–3 and 4–7.
type Pair = (float32x4_t, float32x4_t);

/// A half type to and from `f32` lanes: 8 elements (one 128-bit vector) widened into two
/// `f32` vectors, or two rounded and packed into one.
///
/// # Safety
/// For implementors: exact widening (NaN stays NaN), rounding to nearest even as
/// `Half::from_f32` bit for bit; memory accessed only as stated. Callers need NEON (the aarch64
/// baseline) and the default FPCR (round to nearest, no flush to zero), Rust's own assumption.
pub(super) unsafe trait Io8: Half {
    /// Widens the 8 elements at `p` (unaligned).
    unsafe fn load8(p: *const Self) -> Pair;
    /// Widens the 4 elements at `p` (unaligned).
    unsafe fn load4(p: *const Self) -> float32x4_t;
    /// `v.0` then `v.1` rounded, the 8 patterns in order. With `UNIT` the caller guarantees no
    /// NaN lane (the clipped values of the final write), which may save instructions.
    unsafe fn pack8<const UNIT: bool>(v: Pair) -> uint16x8_t;
}

/// `bf16` rounding of 4 lanes to nearest even, each result in the *upper* 16 bits of its lane
/// (NaN: quiet, sign and upper payload kept, unless `UNIT` promises none).
#[inline]
#[target_feature(enable = "neon")]
fn bf16_round4<const UNIT: bool>(v: float32x4_t) -> uint32x4_t {
    let b = vreinterpretq_u32_f32(v);
    let lsb = vandq_u32(vshrq_n_u32::<16>(b), vdupq_n_u32(1));
    let rounded = vaddq_u32(vaddq_u32(b, vdupq_n_u32(0x7fff)), lsb);
    if UNIT {
        return rounded;
    }
    // `v == v` fails exactly on the NaN lanes, which take `b` with the quiet bit set
    let quiet = vorrq_u32(b, vdupq_n_u32(0x0040_0000));
    vbslq_u32(vceqq_f32(v, v), rounded, quiet)
}

// SAFETY: `bf16` widening is the 16-bit left shift of the zero-extended pattern (exact);
// `bf16_round4` is `f32_to_bf16` lane by lane in the upper halves (without NaN lanes under
// `UNIT`, as promised), which `uzp2` gathers in order; 16 bytes read at `p`.
unsafe impl Io8 for Bf16 {
    #[inline]
    #[target_feature(enable = "neon")]
    unsafe fn load8(p: *const Self) -> Pair {
        // SAFETY: the caller passes 8 readable elements.
        let h = unsafe { vld1q_u16(p.cast::<u16>()) };
        (
            vreinterpretq_f32_u32(vshll_n_u16::<16>(vget_low_u16(h))),
            vreinterpretq_f32_u32(vshll_high_n_u16::<16>(h)),
        )
    }
    #[inline]
    #[target_feature(enable = "neon")]
    unsafe fn load4(p: *const Self) -> float32x4_t {
        // SAFETY: the caller passes 4 readable elements.
        let h = unsafe { vld1_u16(p.cast::<u16>()) };
        vreinterpretq_f32_u32(vshll_n_u16::<16>(h))
    }
    #[inline]
    #[target_feature(enable = "neon")]
    unsafe fn pack8<const UNIT: bool>(v: Pair) -> uint16x8_t {
        // little endian: 16-bit element 2j + 1 is the upper half of 32-bit lane j
        vuzp2q_u16(
            vreinterpretq_u16_u32(bf16_round4::<UNIT>(v.0)),
            vreinterpretq_u16_u32(bf16_round4::<UNIT>(v.1)),
        )
    }
}

// SAFETY: `fcvtl`/`fcvtl2` convert exactly (subnormals included: FZ16 does not apply to
// conversions, and FZ is clear under Rust's default FPCR); `fcvtn`/`fcvtn2` round with the FPCR
// mode, nearest even, overflow to ±∞, NaN quiet with the sign and upper payload (FPConvertNaN:
// `sign | 0x7e00 | frac[21:13]`), as `f32_to_f16`; 16 bytes read at `p`.
unsafe impl Io8 for F16 {
    #[inline]
    #[target_feature(enable = "neon")]
    unsafe fn load8(p: *const Self) -> Pair {
        // SAFETY: the caller passes 8 readable elements.
        let h = unsafe { vld1q_u16(p.cast::<u16>()) };
        let (lo, hi): Pair;
        // SAFETY: register-only conversions (base AdvSIMD); `lo` and `hi` are written after
        // their last read of `h` or into other registers (`out`, not `lateout`).
        unsafe {
            asm!(
                "fcvtl {lo:v}.4s, {h:v}.4h",
                "fcvtl2 {hi:v}.4s, {h:v}.8h",
                h = in(vreg) h,
                lo = out(vreg) lo,
                hi = out(vreg) hi,
                options(pure, nomem, nostack),
            );
        }
        (lo, hi)
    }
    #[inline]
    #[target_feature(enable = "neon")]
    unsafe fn load4(p: *const Self) -> float32x4_t {
        // SAFETY: the caller passes 4 readable elements.
        let h = unsafe { vld1_u16(p.cast::<u16>()) };
        let o: float32x4_t;
        // SAFETY: a register-only conversion (base AdvSIMD).
        unsafe {
            asm!(
                "fcvtl {o:v}.4s, {h:v}.4h",
                h = in(vreg) h,
                o = out(vreg) o,
                options(pure, nomem, nostack),
            );
        }
        o
    }
    #[inline]
    #[target_feature(enable = "neon")]
    unsafe fn pack8<const UNIT: bool>(v: Pair) -> uint16x8_t {
        let o: uint16x8_t;
        // SAFETY: register-only conversions (base AdvSIMD); `o` is a register distinct from
        // both inputs (`out`), so `fcvtn2` still reads `v.1` after `fcvtn` wrote `o`'s low half.
        unsafe {
            asm!(
                "fcvtn {o:v}.4h, {a:v}.4s",
                "fcvtn2 {o:v}.8h, {b:v}.4s",
                a = in(vreg) v.0,
                b = in(vreg) v.1,
                o = out(vreg) o,
                options(pure, nomem, nostack),
            );
        }
        o
    }
}

/// A source of the final write: a half type (widened as it is read) or `f32`.
///
/// # Safety
/// For implementors: `load8` reads 8 elements at `p` and widens them exactly, as `wide`.
pub(super) unsafe trait Src: Copy {
    /// The 8 elements at `p` (unaligned), as `f32`.
    unsafe fn load8(p: *const Self) -> Pair;
    /// The element as `f32`.
    fn wide(self) -> f32;
}

// SAFETY: `Io8::load8` widens exactly.
unsafe impl<H: Io8> Src for H {
    #[inline(always)]
    unsafe fn load8(p: *const Self) -> Pair {
        // SAFETY: the caller passes 8 readable elements.
        unsafe { <H as Io8>::load8(p) }
    }
    #[inline(always)]
    fn wide(self) -> f32 {
        self.to_f32()
    }
}

// SAFETY: two plain unaligned loads.
unsafe impl Src for f32 {
    #[inline(always)]
    unsafe fn load8(p: *const Self) -> Pair {
        // SAFETY: the caller passes 8 readable elements.
        unsafe { (vld1q_f32(p), vld1q_f32(p.add(4))) }
    }
    #[inline(always)]
    fn wide(self) -> f32 {
        self
    }
}

/// Widens `src` into `dst` (the common length), 16 and then 8 at a time, the tail in scalar
/// code.
///
/// # Safety
/// NEON (the aarch64 baseline).
#[inline(always)]
unsafe fn widen_body<H: Io8>(src: &[H], dst: &mut [f32]) {
    let n = src.len().min(dst.len());
    let (s, d) = (src.as_ptr(), dst.as_mut_ptr());
    let mut i = 0;
    while i + 16 <= n {
        // SAFETY: i + 16 ≤ n, the length of both slices.
        unsafe {
            let (a, b) = (H::load8(s.add(i)), H::load8(s.add(i + 8)));
            vst1q_f32(d.add(i), a.0);
            vst1q_f32(d.add(i + 4), a.1);
            vst1q_f32(d.add(i + 8), b.0);
            vst1q_f32(d.add(i + 12), b.1);
        }
        i += 16;
    }
    while i + 8 <= n {
        // SAFETY: i + 8 ≤ n, the length of both slices.
        unsafe {
            let a = H::load8(s.add(i));
            vst1q_f32(d.add(i), a.0);
            vst1q_f32(d.add(i + 4), a.1);
        }
        i += 8;
    }
    let tail = dst.get_mut(i..n).unwrap_or_default();
    for (o, v) in tail.iter_mut().zip(src.get(i..).unwrap_or_default()) {
        *o = v.to_f32();
    }
}

/// Rounds `src` into `dst` (the common length), 16 and then 8 at a time, the tail in scalar
/// code.
///
/// # Safety
/// NEON (the aarch64 baseline).
#[inline(always)]
unsafe fn narrow_body<H: Io8>(src: &[f32], dst: &mut [H]) {
    let n = src.len().min(dst.len());
    let (s, d) = (src.as_ptr(), dst.as_mut_ptr().cast::<u16>());
    let mut i = 0;
    while i + 16 <= n {
        // SAFETY: as in `widen_body` (i + 16 ≤ n); `H` is a 16-bit pattern.
        unsafe {
            let a = H::pack8::<false>(<f32 as Src>::load8(s.add(i)));
            let b = H::pack8::<false>(<f32 as Src>::load8(s.add(i + 8)));
            vst1q_u16(d.add(i), a);
            vst1q_u16(d.add(i + 8), b);
        }
        i += 16;
    }
    while i + 8 <= n {
        // SAFETY: as in `widen_body` (i + 8 ≤ n); `H` is a 16-bit pattern.
        unsafe { vst1q_u16(d.add(i), H::pack8::<false>(<f32 as Src>::load8(s.add(i)))) };
        i += 8;
    }
    let tail = dst.get_mut(i..n).unwrap_or_default();
    for (o, &v) in tail.iter_mut().zip(src.get(i..).unwrap_or_default()) {
        *o = H::from_f32(v);
    }
}

/// `y_i = round(clip(fl(fl(widen(x_i)·s) − λ), 0, 1))` for `i < n`, reading `x` and writing
/// `y` through raw pointers (`y == x` for the in-place write: each block of 8 is read before it
/// is written), 16 and then 8 at a time, the tail in scalar code.
///
/// # Safety
/// `x` readable and `y` writable for `n` elements, either the same or disjoint; NEON (the
/// aarch64 baseline).
#[inline(always)]
unsafe fn clip_body<S: Src, H: Io8>(x: *const S, y: *mut H, n: usize, s: f32, lam: f32) {
    let mut i = 0;
    // SAFETY: i + 16 (or 8) ≤ n keeps every access inside both buffers; `H` is a 16-bit
    // pattern; the `F32x4` primitives need only NEON.
    unsafe {
        let (vs, vl) = (F32x4::splat(s), F32x4::splat(lam));
        let value = |v: float32x4_t| F32x4::clip01(F32x4::sub(F32x4::mul(v, vs), vl));
        let block = |i: usize| {
            let (a, b) = S::load8(x.add(i));
            H::pack8::<true>((value(a), value(b)))
        };
        let d = y.cast::<u16>();
        while i + 16 <= n {
            let (a, b) = (block(i), block(i + 8));
            vst1q_u16(d.add(i), a);
            vst1q_u16(d.add(i + 8), b);
            i += 16;
        }
        if i + 8 <= n {
            vst1q_u16(d.add(i), block(i));
            i += 8;
        }
    }
    for i in i..n {
        // SAFETY: i < n; reads before it writes.
        unsafe { *y.add(i) = H::from_f32(((*x.add(i)).wide() * s - lam).clip01()) };
    }
}

/// The half forward's fused last pass: a piece pass over the widened `f32` copy (the `f32`
/// `piece` kernel, bit for bit) that also writes `y_i = round(clip(d_i, 0, 1))`, two vectors
/// (8 elements, one 16-byte store) at a time.
struct HalfSink<'a, H>(&'a mut [H]);

// SAFETY: `put2` stores 8 elements at `i` with `i + 8 ≤ len` (the caller's promise);
// `put_tail` writes through checked slice accesses.
unsafe impl<H: Io8> Sink<F32x4> for HalfSink<'_, H> {
    const WRITE: bool = true;
    #[inline(always)]
    fn len(&self) -> usize {
        self.0.len()
    }
    #[inline(always)]
    unsafe fn put2(&mut self, i: usize, d0: float32x4_t, d1: float32x4_t) {
        // SAFETY: `i + 8 ≤ len` (the caller's promise); `H` is a 16-bit pattern; clipped
        // values are never NaN (`fmaxnm` maps NaN to 0), as `pack8::<true>` requires.
        unsafe {
            let v = H::pack8::<true>((F32x4::clip01(d0), F32x4::clip01(d1)));
            vst1q_u16(self.0.as_mut_ptr().add(i).cast::<u16>(), v);
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

/// The half forward's first pass: the half input widened as it is read (and kept: the copy
/// the later passes read), so that the pass is the `f32` `piece_stats` kernel's on the copy.
struct Widening<'a, H> {
    x: &'a [H],
    out: &'a mut [f32],
}

// SAFETY: `load` reads 4 elements of `x` and writes 4 of `out` at `i`, with `i + 4 ≤ len`, the
// shorter length (the caller's promise); `get` uses checked accesses; both widen exactly.
unsafe impl<H: Io8> Source<F32x4> for Widening<'_, H> {
    #[inline(always)]
    fn len(&self) -> usize {
        self.x.len().min(self.out.len())
    }
    #[inline(always)]
    unsafe fn load(&mut self, i: usize) -> float32x4_t {
        // SAFETY: `i + 4 ≤ len` (the caller's promise).
        unsafe {
            let v = H::load4(self.x.as_ptr().add(i));
            vst1q_f32(self.out.as_mut_ptr().add(i), v);
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

/// The piece of the widened `x` at λ, writing `y` in `bf16` (see [`HalfSink`]).
///
/// # Safety
/// NEON (the aarch64 baseline).
#[inline(never)]
#[target_feature(enable = "neon")]
pub(super) unsafe fn piece_write_bf16(x: &[f32], s: f32, lam: f32, y: &mut [Bf16]) -> Piece {
    // SAFETY: the features are enabled here.
    unsafe { piece_pass::<F32x4, _>(x, s, lam, HalfSink(y)) }
}

/// The piece of the widened `x` at λ, writing `y` in `f16` (see [`HalfSink`]).
///
/// # Safety
/// NEON (the aarch64 baseline).
#[inline(never)]
#[target_feature(enable = "neon")]
pub(super) unsafe fn piece_write_f16(x: &[f32], s: f32, lam: f32, y: &mut [F16]) -> Piece {
    // SAFETY: the features are enabled here.
    unsafe { piece_pass::<F32x4, _>(x, s, lam, HalfSink(y)) }
}

/// Widens `x` into `out` (the common length) while running the `f32` `piece_stats` kernel on
/// the widened values (see [`Widening`]), for `bf16`.
///
/// # Safety
/// NEON (the aarch64 baseline).
#[inline(never)]
#[target_feature(enable = "neon")]
pub(super) unsafe fn piece_stats_widen_bf16(
    x: &[Bf16],
    s: f32,
    lam: f32,
    out: &mut [f32],
) -> (Piece, Stats<f32>) {
    // SAFETY: the features are enabled here.
    unsafe { piece_stats_from::<F32x4, _>(Widening { x, out }, s, lam) }
}

/// [`piece_stats_widen_bf16`] for `f16`.
///
/// # Safety
/// NEON (the aarch64 baseline).
#[inline(never)]
#[target_feature(enable = "neon")]
pub(super) unsafe fn piece_stats_widen_f16(
    x: &[F16],
    s: f32,
    lam: f32,
    out: &mut [f32],
) -> (Piece, Stats<f32>) {
    // SAFETY: the features are enabled here.
    unsafe { piece_stats_from::<F32x4, _>(Widening { x, out }, s, lam) }
}

/// `bf16` slice widening.
///
/// # Safety
/// NEON (the aarch64 baseline).
#[inline(never)]
#[target_feature(enable = "neon")]
pub(super) unsafe fn widen_bf16(src: &[Bf16], dst: &mut [f32]) {
    // SAFETY: the features are enabled here.
    unsafe { widen_body(src, dst) }
}

/// `bf16` slice rounding.
///
/// # Safety
/// NEON (the aarch64 baseline).
#[inline(never)]
#[target_feature(enable = "neon")]
pub(super) unsafe fn narrow_bf16(src: &[f32], dst: &mut [Bf16]) {
    // SAFETY: the features are enabled here.
    unsafe { narrow_body(src, dst) }
}

/// `f16` slice widening (`fcvtl`/`fcvtl2`).
///
/// # Safety
/// NEON (the aarch64 baseline).
#[inline(never)]
#[target_feature(enable = "neon")]
pub(super) unsafe fn widen_f16(src: &[F16], dst: &mut [f32]) {
    // SAFETY: the features are enabled here.
    unsafe { widen_body(src, dst) }
}

/// `f16` slice rounding (`fcvtn`/`fcvtn2`).
///
/// # Safety
/// NEON (the aarch64 baseline).
#[inline(never)]
#[target_feature(enable = "neon")]
pub(super) unsafe fn narrow_f16(src: &[f32], dst: &mut [F16]) {
    // SAFETY: the features are enabled here.
    unsafe { narrow_body(src, dst) }
}

/// The final write into `bf16` from `bf16` or `f32` (see [`clip_body`]).
///
/// # Safety
/// As [`clip_body`].
#[inline(never)]
#[target_feature(enable = "neon")]
pub(super) unsafe fn clip_bf16<S: Src>(x: *const S, y: *mut Bf16, n: usize, s: f32, lam: f32) {
    // SAFETY: the features are enabled here; the caller guarantees the buffers.
    unsafe { clip_body(x, y, n, s, lam) }
}

/// The final write into `f16` from `f16` or `f32` (see [`clip_body`]).
///
/// # Safety
/// As [`clip_body`].
#[inline(never)]
#[target_feature(enable = "neon")]
pub(super) unsafe fn clip_f16<S: Src>(x: *const S, y: *mut F16, n: usize, s: f32, lam: f32) {
    // SAFETY: the features are enabled here; the caller guarantees the buffers.
    unsafe { clip_body(x, y, n, s, lam) }
}
