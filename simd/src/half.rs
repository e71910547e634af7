//! Half precision (issue 15): `bf16`/`f16` storage with `f32` arithmetic.
//!
//! * The forward ([`soft_binary_argmax`], [`soft_binary_argmax_in_place`], and the
//!   `Kernels::soft_binary_argmax_half*` methods): bitwise the `f32` forward of the exactly
//!   widened input, each output rounded once to nearest even. Long vectors stream the 16-bit
//!   input through the working-set solver in chunks of [`CHUNK`] elements widened on the stack
//!   (no `f32` copy of the input); see `forward.rs`.
//! * The VJP (`Kernels::soft_binary_argmax_vjp_half*`, single vectors and rows): bitwise the
//!   `f32` VJP of the exactly widened `y` and `g`, each output rounded once, plus
//!   `ScaleOverflow` for an output too large for the format. On the AVX2 path the `f32` VJP
//!   kernels themselves run with 16-bit loads and stores (`kernels::Io`, `x86::HalfIo`), so the
//!   free-set sums are the `f32` ones; elsewhere the core crate's half VJP; see `backward.rs`.
//! * Conversions of whole slices ([`widen`], [`narrow`]) and the forward's fused final write
//!   (`Conv`), per path:
//!   - AVX2 (`x86.rs`): `f16 ↔ f32` with the F16C instructions (`vcvtph2ps`, `vcvtps2ph` with
//!     round-to-nearest-even), detected at run time together with AVX2; `bf16` with shifts and
//!     integer rounding in AVX2; `f16` without F16C by the core crate's branch-free
//!     conversions compiled with AVX2 (where they vectorize to 8 lanes).
//!   - NEON (`neon.rs`, aarch64): `f16 ↔ f32` with `fcvtl`/`fcvtl2` and `fcvtn`/`fcvtn2`
//!     (base Armv8-A AdvSIMD, through `asm!`; round to nearest even under the default FPCR);
//!     `bf16` with `shll` by 16 and the same integer rounding in NEON.
//!   - Scalar: the core crate's loops compiled for the baseline (the scalar twin of both).
//!
//!   All give the same bits: the instructions are exact when widening and round to nearest
//!   even when narrowing, as the core's conversions (NaN stays NaN; a signalling `f16` NaN is
//!   quieted by F16C and `fcvtl`), and the final write computes `fl(fl(x·s) − λ)` and `clip01`
//!   with the `f32` clip kernel's primitives of the path, so results do not depend on the path
//!   or the thread count. The unit tests compare every variant this CPU runs over all 65536
//!   patterns and the rounding midpoints, and every write against the scalar formula.

use hypersimplex::half::Half;
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
use hypersimplex::half::{Bf16, F16};

use hypersimplex::internal::kernel::{Piece, Stats};

use crate::element::Element;
use crate::passes::Writer;
use crate::platform::Kernels;
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
use crate::platform::Path;

mod backward;
mod forward;
mod loss;
#[cfg(target_arch = "aarch64")]
mod neon;
mod rows;
#[cfg(target_arch = "x86_64")]
mod x86;

pub use forward::{soft_binary_argmax, soft_binary_argmax_in_place, CHUNK};

/// `true` when the F16C conversions run: the AVX2 path is active and the CPU has F16C.
pub fn f16c_active() -> bool {
    #[cfg(target_arch = "x86_64")]
    return Conv::new(Kernels::active()) == Conv::F16c;
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// Widens `src` into `dst` (the common length), exactly.
pub fn widen<H: Half>(src: &[H], dst: &mut [f32]) {
    Conv::new(Kernels::active()).widen(src, dst)
}

/// Rounds `src` into `dst` (the common length), to nearest even.
pub fn narrow<H: Half>(src: &[f32], dst: &mut [H]) {
    Conv::new(Kernels::active()).narrow(src, dst)
}

/// The conversion loops of a [`Kernels`] path, chosen once per call: on the AVX2 path F16C for
/// `f16` (with F16C), AVX2 shifts and integer rounding for `bf16` (and the core crate's
/// branch-free conversions compiled for AVX2 for `f16` without F16C); on the NEON path
/// `fcvtl`/`fcvtn` for `f16` and NEON shifts and integer rounding for `bf16`; the core crate's
/// loops compiled for the baseline on the scalar path. All give the core crate's bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Conv {
    /// The core crate's loops for the target's baseline.
    Portable,
    /// The core crate's loops compiled with AVX2.
    #[cfg(target_arch = "x86_64")]
    Avx2,
    /// As `Avx2`, and F16C for `f16`.
    #[cfg(target_arch = "x86_64")]
    F16c,
    /// NEON (`half/neon.rs`): `fcvtl`/`fcvtn` for `f16`, shifts and integer rounding for
    /// `bf16`, and the fused final write for both.
    #[cfg(target_arch = "aarch64")]
    Neon,
}

impl Conv {
    /// The conversions for the path of `k`.
    pub(crate) fn new(k: Kernels) -> Self {
        #[cfg(target_arch = "x86_64")]
        if matches!(k.path(), Path::Avx2 | Path::Avx512) {
            return if std::arch::is_x86_feature_detected!("f16c") {
                Conv::F16c
            } else {
                Conv::Avx2
            };
        }
        #[cfg(target_arch = "aarch64")]
        if k.path() == Path::Neon {
            return Conv::Neon;
        }
        #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
        let _ = k;
        Conv::Portable
    }

    /// Widens `src` into `dst` (the common length), exactly.
    pub(crate) fn widen<H: Half>(self, src: &[H], dst: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if self != Conv::Portable {
            // SAFETY (all three): `Conv::Avx2` and `Conv::F16c` exist only on the AVX2 path,
            // `Conv::F16c` only on a CPU with F16C.
            if let Some(s) = cast::<H, Bf16>(src) {
                return unsafe { x86::widen_bf16(s, dst) };
            }
            return match cast::<H, F16>(src) {
                Some(s) if self == Conv::F16c => unsafe { x86::widen_f16(s, dst) },
                _ => unsafe { x86::widen_avx2(src, dst) },
            };
        }
        #[cfg(target_arch = "aarch64")]
        if self == Conv::Neon {
            // SAFETY (both): `Conv::Neon` exists only on the NEON path (NEON is the aarch64
            // baseline anyway).
            if let Some(s) = cast::<H, Bf16>(src) {
                return unsafe { neon::widen_bf16(s, dst) };
            }
            if let Some(s) = cast::<H, F16>(src) {
                return unsafe { neon::widen_f16(s, dst) };
            }
        }
        hypersimplex::half::widen(src, dst)
    }

    /// Rounds `src` into `dst` (the common length), to nearest even.
    pub(crate) fn narrow<H: Half>(self, src: &[f32], dst: &mut [H]) {
        #[cfg(target_arch = "x86_64")]
        if self != Conv::Portable {
            // SAFETY (all three): as in `widen`.
            if let Some(d) = cast_mut::<H, Bf16>(dst) {
                return unsafe { x86::narrow_bf16(src, d) };
            }
            if self == Conv::F16c {
                if let Some(d) = cast_mut::<H, F16>(dst) {
                    return unsafe { x86::narrow_f16(src, d) };
                }
            }
            return unsafe { x86::narrow_avx2(src, dst) };
        }
        #[cfg(target_arch = "aarch64")]
        if self == Conv::Neon {
            // SAFETY (both): as in `widen`.
            if let Some(d) = cast_mut::<H, Bf16>(dst) {
                return unsafe { neon::narrow_bf16(src, d) };
            }
            if let Some(d) = cast_mut::<H, F16>(dst) {
                return unsafe { neon::narrow_f16(src, d) };
            }
        }
        hypersimplex::half::narrow(src, dst)
    }

    /// The final write of the forward: `y_i = round(clip(fl(fl(widen(x_i)·s) − λ), 0, 1))`
    /// (the common length), the `f32` clip kernel's values rounded once; non-temporal stores
    /// when `stream` (for outputs much larger than the caches), where the path has them.
    /// `chunk` is an `f32` buffer for the paths without a fused kernel.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn clip<H: Half>(
        self,
        k: Kernels,
        x: &[H],
        s: f32,
        lam: f32,
        y: &mut [H],
        stream: bool,
        chunk: &mut [f32],
    ) {
        let n = x.len().min(y.len());
        // SAFETY: `x` and `y` are distinct borrows of at least `n` elements.
        if unsafe { self.clip_fused(x.as_ptr(), y.as_mut_ptr(), n, s, lam, stream) } {
            return;
        }
        let (x, y) = (
            x.get(..n).unwrap_or_default(),
            y.get_mut(..n).unwrap_or_default(),
        );
        let c = chunk.len().max(1);
        for (xc, yc) in x.chunks(c).zip(y.chunks_mut(c)) {
            if let Some(w) = chunk.get_mut(..xc.len()) {
                self.widen(xc, w);
                f32::clip_in_place(k, w, s, lam);
                self.narrow(w, yc);
            }
        }
    }

    /// [`Conv::clip`] in place.
    pub(crate) fn clip_in_place<H: Half>(
        self,
        k: Kernels,
        x: &mut [H],
        s: f32,
        lam: f32,
        stream: bool,
        chunk: &mut [f32],
    ) {
        let p = x.as_mut_ptr();
        // SAFETY: one buffer of `x.len()` elements, read and written through the same pointer.
        if unsafe { self.clip_fused(p, p, x.len(), s, lam, stream) } {
            return;
        }
        for xc in x.chunks_mut(chunk.len().max(1)) {
            if let Some(w) = chunk.get_mut(..xc.len()) {
                self.widen(xc, w);
                f32::clip_in_place(k, w, s, lam);
                self.narrow(w, xc);
            }
        }
    }

    /// The fused last pass of the half forward on this path, if it has one: the piece of the
    /// widened input `w` at λ (the `f32` `piece` kernel's, bit for bit) that also writes
    /// `y_i = round(clip(fl(w_i·s) − λ, 0, 1))` (see `passes::WritingPasses`).
    pub(crate) fn piece_writer<H: Half>(self) -> Option<Writer<f32, H>> {
        #[cfg(target_arch = "x86_64")]
        {
            use core::any::TypeId;
            let h = TypeId::of::<H>();
            if self != Conv::Portable && h == TypeId::of::<Bf16>() {
                return Some(|k, w, s, lam, y| match cast_mut::<H, Bf16>(y) {
                    // SAFETY: the writer exists only for the AVX2 path (`Conv::Avx2`/`F16c`).
                    Some(y) if Conv::new(k) != Conv::Portable => unsafe {
                        x86::piece_write_bf16(w, s, lam, y)
                    },
                    _ => f32::piece(k, w, s, lam),
                });
            }
            if self == Conv::F16c && h == TypeId::of::<F16>() {
                return Some(|k, w, s, lam, y| match cast_mut::<H, F16>(y) {
                    // SAFETY: the writer exists only where the CPU has AVX2 and F16C.
                    Some(y) if Conv::new(k) == Conv::F16c => unsafe {
                        x86::piece_write_f16(w, s, lam, y)
                    },
                    _ => f32::piece(k, w, s, lam),
                });
            }
        }
        #[cfg(target_arch = "aarch64")]
        if self == Conv::Neon {
            use core::any::TypeId;
            let h = TypeId::of::<H>();
            if h == TypeId::of::<Bf16>() {
                return Some(|k, w, s, lam, y| match cast_mut::<H, Bf16>(y) {
                    // SAFETY: the writer exists only for the NEON path (`Conv::Neon`).
                    Some(y) if Conv::new(k) == Conv::Neon => unsafe {
                        neon::piece_write_bf16(w, s, lam, y)
                    },
                    _ => f32::piece(k, w, s, lam),
                });
            }
            if h == TypeId::of::<F16>() {
                return Some(|k, w, s, lam, y| match cast_mut::<H, F16>(y) {
                    // SAFETY: as for `bf16`.
                    Some(y) if Conv::new(k) == Conv::Neon => unsafe {
                        neon::piece_write_f16(w, s, lam, y)
                    },
                    _ => f32::piece(k, w, s, lam),
                });
            }
        }
        None
    }

    /// The half forward's first pass where the path has the fused kernel: widens `x` into
    /// `out` (the common length) and returns the `f32` `piece_stats` kernel's result on the
    /// widened values at λ, bit for bit. `None` (nothing written) elsewhere.
    pub(crate) fn piece_stats_widen<H: Half>(
        self,
        x: &[H],
        s: f32,
        lam: f32,
        out: &mut [f32],
    ) -> Option<(Piece, Stats<f32>)> {
        #[cfg(target_arch = "x86_64")]
        if self != Conv::Portable {
            // SAFETY (both): `Conv::Avx2` and `Conv::F16c` exist only on the AVX2 path,
            // `Conv::F16c` only on a CPU with F16C.
            if let Some(x) = cast::<H, Bf16>(x) {
                return Some(unsafe { x86::piece_stats_widen_bf16(x, s, lam, out) });
            }
            if let Some(x) = cast::<H, F16>(x).filter(|_| self == Conv::F16c) {
                return Some(unsafe { x86::piece_stats_widen_f16(x, s, lam, out) });
            }
        }
        #[cfg(target_arch = "aarch64")]
        if self == Conv::Neon {
            // SAFETY (both): `Conv::Neon` exists only on the NEON path.
            if let Some(x) = cast::<H, Bf16>(x) {
                return Some(unsafe { neon::piece_stats_widen_bf16(x, s, lam, out) });
            }
            if let Some(x) = cast::<H, F16>(x) {
                return Some(unsafe { neon::piece_stats_widen_f16(x, s, lam, out) });
            }
        }
        #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
        let _ = (x, s, lam, out);
        None
    }

    /// [`Conv::clip`] from the widened input `w` (already `f32`): `y_i = round(clip(fl(w_i·s)
    /// − λ, 0, 1))`, the same values (non-temporal stores when `stream`, where the path has
    /// them).
    pub(crate) fn clip_wide<H: Half>(
        self,
        k: Kernels,
        w: &[f32],
        s: f32,
        lam: f32,
        y: &mut [H],
        stream: bool,
    ) {
        let n = w.len().min(y.len());
        // SAFETY: `w` and `y` are distinct borrows of at least `n` elements.
        if unsafe { self.clip_fused(w.as_ptr(), y.as_mut_ptr(), n, s, lam, stream) } {
            return;
        }
        let mut chunk = [0.0f32; forward::CHUNK];
        let (w, y) = (
            w.get(..n).unwrap_or_default(),
            y.get_mut(..n).unwrap_or_default(),
        );
        for (wc, yc) in w.chunks(forward::CHUNK).zip(y.chunks_mut(forward::CHUNK)) {
            if let Some(c) = chunk.get_mut(..wc.len()) {
                f32::clip(k, wc, s, lam, c);
                self.narrow(c, yc);
            }
        }
    }

    /// The fused write kernel from `S` (`H` itself or `f32`) into `H` on this path (`false`
    /// where there is none: nothing written).
    ///
    /// # Safety
    /// `x` readable and `y` writable for `n` elements, the same buffer or disjoint ones.
    #[allow(unused_variables)]
    unsafe fn clip_fused<S: 'static, H: Half>(
        self,
        x: *const S,
        y: *mut H,
        n: usize,
        s: f32,
        lam: f32,
        stream: bool,
    ) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            use core::any::TypeId;
            let (h, src) = (TypeId::of::<H>(), TypeId::of::<S>());
            let wide = src == TypeId::of::<f32>();
            if !wide && src != h {
                return false;
            }
            if h == TypeId::of::<Bf16>() && self != Conv::Portable {
                // SAFETY (both): H is Bf16 and S is Bf16 or f32 (checked); the path has AVX2;
                // the caller's buffers.
                match wide {
                    true => unsafe { x86::clip_bf16::<f32>(x.cast(), y.cast(), n, s, lam, stream) },
                    false => unsafe {
                        x86::clip_bf16::<Bf16>(x.cast(), y.cast(), n, s, lam, stream)
                    },
                }
                return true;
            }
            if h == TypeId::of::<F16>() && self == Conv::F16c {
                // SAFETY (both): H is F16 and S is F16 or f32 (checked); the CPU has AVX2 and
                // F16C; the caller's buffers.
                match wide {
                    true => unsafe { x86::clip_f16::<f32>(x.cast(), y.cast(), n, s, lam, stream) },
                    false => unsafe { x86::clip_f16::<F16>(x.cast(), y.cast(), n, s, lam, stream) },
                }
                return true;
            }
        }
        #[cfg(target_arch = "aarch64")]
        if self == Conv::Neon {
            use core::any::TypeId;
            let (h, src) = (TypeId::of::<H>(), TypeId::of::<S>());
            let wide = src == TypeId::of::<f32>();
            if !wide && src != h {
                return false;
            }
            // NEON has no non-temporal store here: `stream` changes nothing.
            if h == TypeId::of::<Bf16>() {
                // SAFETY (both): H is Bf16 and S is Bf16 or f32 (checked); NEON; the caller's
                // buffers.
                match wide {
                    true => unsafe { neon::clip_bf16::<f32>(x.cast(), y.cast(), n, s, lam) },
                    false => unsafe { neon::clip_bf16::<Bf16>(x.cast(), y.cast(), n, s, lam) },
                }
                return true;
            }
            if h == TypeId::of::<F16>() {
                // SAFETY (both): H is F16 and S is F16 or f32 (checked); NEON; the caller's
                // buffers.
                match wide {
                    true => unsafe { neon::clip_f16::<f32>(x.cast(), y.cast(), n, s, lam) },
                    false => unsafe { neon::clip_f16::<F16>(x.cast(), y.cast(), n, s, lam) },
                }
                return true;
            }
        }
        false
    }
}

/// `src` as `G` when `H` is `G`.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
fn cast<H: 'static, G: 'static>(src: &[H]) -> Option<&[G]> {
    if core::any::TypeId::of::<H>() == core::any::TypeId::of::<G>() {
        // SAFETY: H is G (same type, checked above).
        Some(unsafe { core::slice::from_raw_parts(src.as_ptr().cast::<G>(), src.len()) })
    } else {
        None
    }
}

/// `dst` as `G` when `H` is `G`.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
fn cast_mut<H: 'static, G: 'static>(dst: &mut [H]) -> Option<&mut [G]> {
    if core::any::TypeId::of::<H>() == core::any::TypeId::of::<G>() {
        // SAFETY: H is G (same type, checked above); the borrow of `dst` moves into it.
        Some(unsafe { core::slice::from_raw_parts_mut(dst.as_mut_ptr().cast::<G>(), dst.len()) })
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hypersimplex::half::{Bf16, F16};

    /// Every conversion variant this CPU runs.
    #[allow(unused_mut)]
    fn convs() -> Vec<Conv> {
        let mut v = vec![Conv::Portable];
        #[cfg(target_arch = "x86_64")]
        if crate::Path::Avx2.is_supported() {
            v.push(Conv::Avx2);
            if std::arch::is_x86_feature_detected!("f16c") {
                v.push(Conv::F16c);
            }
        }
        #[cfg(target_arch = "aarch64")]
        if crate::Path::Neon.is_supported() {
            v.push(Conv::Neon);
        }
        v
    }

    /// Every pattern widened; every pattern's value, the midpoints between neighbours and the
    /// values next to them, overflow, infinities and NaN narrowed; lengths that leave tails.
    fn matches_core<H: Half>(c: Conv) {
        let all: Vec<H> = (0..=u16::MAX).map(H::from_bits).collect();
        let mut w = vec![0.0f32; all.len()];
        c.widen(&all, &mut w);
        for (h, v) in all.iter().zip(&w) {
            let r = h.to_f32();
            assert!(
                r.to_bits() == v.to_bits() || (r.is_nan() && v.is_nan()),
                "{c:?} {h:?}"
            );
        }
        let mut cases = Vec::new();
        for b in 0..0x7f7fu16 {
            let (a, n) = (H::from_bits(b).to_f32(), H::from_bits(b + 1).to_f32());
            if !(a.is_finite() && n.is_finite()) {
                continue;
            }
            let m = ((a as f64 + n as f64) / 2.0) as f32;
            for x in [
                a,
                m,
                f32::from_bits(m.to_bits() + 1),
                f32::from_bits(m.to_bits().saturating_sub(1)),
            ] {
                cases.extend([x, -x]);
            }
        }
        cases.extend([65519.0, 65520.0, 1e6, 3.4e38, f32::MAX, 1e-10, 1e-45]);
        cases.extend([f32::INFINITY, -f32::INFINITY, f32::NAN, -f32::NAN]);
        cases.push(f32::from_bits(0x7f80_0001)); // signalling NaN
        for len in [cases.len(), cases.len() - 3, 7, 0] {
            let mut o = vec![H::ZERO; len];
            c.narrow(&cases[..len], &mut o);
            for (x, h) in cases.iter().zip(&o) {
                assert_eq!(*h, H::from_f32(*x), "{c:?} {x:e}");
            }
        }
    }

    /// The fused final write (and its chunked fallback) of every variant against the scalar
    /// formula `round(clip(fl(fl(widen(x)·s) − λ), 0, 1))`, out of place and in place, with and
    /// without non-temporal stores, at every alignment of the output and lengths with tails.
    fn clip_matches_scalar<H: Half>(c: Conv) {
        let k = Kernels::active();
        let mut xs: Vec<H> = (0..1100u32)
            .map(|i| H::from_f32((i as f32 * 0.37).sin() * 3.0))
            .collect();
        // NaN (clip maps it to 0), ±∞, ±0 and a subnormal inside
        for (i, v) in [f32::NAN, f32::INFINITY, -f32::INFINITY, 0.0, -0.0, 1e-40]
            .into_iter()
            .enumerate()
        {
            xs[3 + 7 * i] = H::from_f32(v);
        }
        // a generic scale, and 1 + half an ulp of the format at 1: every x in (0, 1) with an
        // even last bit then lands on a rounding tie (ties to even, not up)
        let half_ulp = if H::OVERFLOW > 1e30 {
            2f32.powi(-8)
        } else {
            2f32.powi(-11)
        };
        for (s, lam) in [(1.0f32 / 0.7, 0.3f32), (1.0 + half_ulp, 0.0)] {
            clip_case(c, k, &xs, s, lam);
        }
    }

    fn clip_case<H: Half>(c: Conv, k: Kernels, xs: &[H], s: f32, lam: f32) {
        use hypersimplex::Real;
        let want: Vec<H> = xs
            .iter()
            .map(|v| H::from_f32((v.to_f32() * s - lam).clip01()))
            .collect();
        let mut chunk = [0.0f32; 64];
        for len in [0usize, 1, 7, 8, 9, 15, 16, 17, 33, 1000] {
            for off in 0..17 {
                for stream in [false, true] {
                    let x = &xs[off..off + len];
                    let w = &want[off..off + len];
                    let mut buf = vec![H::from_bits(0x1234); len + 17];
                    let y = &mut buf[off..off + len];
                    c.clip(k, x, s, lam, y, stream, &mut chunk);
                    assert!(y == w, "{c:?} len {len} off {off} stream {stream}");
                    let wide: Vec<f32> = x.iter().map(|v| v.to_f32()).collect();
                    let mut bw = vec![H::from_bits(0x1234); len + 17];
                    let yw = &mut bw[off..off + len];
                    c.clip_wide(k, &wide, s, lam, yw, stream);
                    assert!(
                        yw == w,
                        "{c:?} from f32, len {len} off {off} stream {stream}"
                    );
                    // the writer of `c` runs for the kernels whose conversions `c` are (with
                    // the scalar path forced, `k`'s are the portable ones: nothing to test)
                    let writer = c.piece_writer::<H>().filter(|_| Conv::new(k) == c);
                    if let Some(f) = writer {
                        // the fused last pass: the `f32` piece, and the same writes
                        let mut bp = vec![H::from_bits(0x1234); len + 17];
                        let p = f(k, &wide, s, lam, &mut bp[off..off + len]);
                        assert_eq!(p, f32::piece(k, &wide, s, lam), "{c:?} len {len}");
                        assert!(bp[off..off + len] == *w, "{c:?} piece_write len {len}");
                        assert!(bp[..off]
                            .iter()
                            .chain(&bp[off + len..])
                            .all(|v| v.to_bits() == 0x1234));
                    }
                    let mut io = xs.to_vec();
                    c.clip_in_place(k, &mut io[off..off + len], s, lam, stream, &mut chunk);
                    assert!(
                        &io[off..off + len] == w,
                        "{c:?} in place len {len} off {off}"
                    );
                    assert!(io[..off] == xs[..off] && io[off + len..] == xs[off + len..]);
                }
            }
        }
    }

    /// The fused first pass (where the variant has one) against the `f32` `piece_stats` kernel
    /// on the widened input (piece, min, max, finiteness), and its copy against the widening,
    /// at lengths with tails.
    fn first_pass_matches_f32<H: Half>(c: Conv) {
        let k = Kernels::active();
        let xs: Vec<H> = (0..1000u32)
            .map(|i| H::from_f32((i as f32 * 0.61).cos() * 2.5))
            .collect();
        let (s, lam) = (1.0f32 / 0.7, 0.9f32);
        for len in [0usize, 1, 3, 4, 5, 7, 8, 9, 31, 32, 33, 1000] {
            let x = &xs[..len];
            let wide: Vec<f32> = x.iter().map(|v| v.to_f32()).collect();
            let mut out = vec![f32::NAN; len];
            if let Some(r) = c.piece_stats_widen(x, s, lam, &mut out) {
                // (`Stats::sum` is not computed by the vector kernels: NaN)
                let (p, st) = f32::piece_stats(k, &wide, s, lam);
                assert_eq!(r.0, p, "{c:?} len {len}");
                let (a, b) = (r.1, st);
                assert!(
                    (a.min, a.max, a.finite) == (b.min, b.max, b.finite),
                    "{c:?} len {len}"
                );
                assert!(out
                    .iter()
                    .zip(&wide)
                    .all(|(a, b)| a.to_bits() == b.to_bits()));
            }
        }
    }

    #[test]
    fn every_fused_first_pass_matches_the_f32_kernel() {
        for c in convs() {
            first_pass_matches_f32::<F16>(c);
            first_pass_matches_f32::<Bf16>(c);
        }
    }

    #[test]
    fn every_final_write_matches_the_scalar_formula() {
        for c in convs() {
            clip_matches_scalar::<F16>(c);
            clip_matches_scalar::<Bf16>(c);
        }
    }

    #[test]
    fn every_conversion_matches_the_core_conversions() {
        for c in convs() {
            matches_core::<F16>(c);
            matches_core::<Bf16>(c);
        }
        // the slice functions take the active path's variant
        let b = [Bf16::from_f32(1.5), Bf16::from_f32(-2.0)];
        let mut wb = [0.0f32; 2];
        widen(&b, &mut wb);
        assert_eq!(wb, [1.5, -2.0]);
        println!("conversions: {:?}, F16C active: {}", convs(), f16c_active());
    }
}
