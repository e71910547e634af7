//! Half precision (issue 15): `bf16`/`f16` storage with `f32` arithmetic.
//!
//! * The forward ([`soft_binary_argmax`], [`soft_binary_argmax_in_place`], and the
//!   `Kernels::soft_binary_argmax_half*` methods): bitwise the `f32` forward of the exactly
//!   widened input, each output rounded once to nearest even. Long vectors stream the 16-bit
//!   input through the working-set solver in chunks of [`CHUNK`] elements widened on the stack
//!   (no `f32` copy of the input); see `forward.rs`.
//! * Conversions of whole slices ([`widen`], [`narrow`]): `f16 ↔ f32` with the F16C
//!   instructions (`vcvtph2ps`, `vcvtps2ph` with round-to-nearest-even), detected at run time
//!   together with AVX2 on the AVX2 path; `bf16` (shifts and integer rounding) and `f16` without
//!   F16C by the core crate's branch-free conversions, compiled with AVX2 on that path (where
//!   they vectorize to 8 lanes) and for the baseline elsewhere (the scalar twin; NEON on
//!   aarch64 by auto-vectorization). All give the same bits: F16C is exact when widening and
//!   rounds to nearest even when narrowing, as the core's conversions (tests compare them over
//!   all 65536 patterns and the rounding midpoints).

use hypersimplex::half::{Half, F16};

use crate::platform::Kernels;
#[cfg(target_arch = "x86_64")]
use crate::platform::Path;

mod forward;

pub use forward::{soft_binary_argmax, soft_binary_argmax_in_place, CHUNK};

/// `true` when the F16C conversions run: the AVX2 path is active and the CPU has F16C.
pub fn f16c_active() -> bool {
    matches!(Conv::new(Kernels::active()), Conv::F16c)
}

/// Widens `src` into `dst` (the common length), exactly.
pub fn widen<H: Half>(src: &[H], dst: &mut [f32]) {
    Conv::new(Kernels::active()).widen(src, dst)
}

/// Rounds `src` into `dst` (the common length), to nearest even.
pub fn narrow<H: Half>(src: &[f32], dst: &mut [H]) {
    Conv::new(Kernels::active()).narrow(src, dst)
}

/// The conversion loops of a [`Kernels`] path, chosen once per call: F16C for `f16` (with AVX2
/// and F16C), the core crate's branch-free conversions compiled for AVX2 (`bf16`, whose
/// conversions are shifts and integer rounding), or the same loops compiled for the baseline
/// (every other path). All give the core crate's bits.
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
}

impl Conv {
    /// The conversions for the path of `k`.
    pub(crate) fn new(k: Kernels) -> Self {
        #[cfg(target_arch = "x86_64")]
        if k.path() == Path::Avx2 {
            return if std::arch::is_x86_feature_detected!("f16c") {
                Conv::F16c
            } else {
                Conv::Avx2
            };
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = k;
        Conv::Portable
    }

    /// Widens `src` into `dst` (the common length), exactly.
    pub(crate) fn widen<H: Half>(self, src: &[H], dst: &mut [f32]) {
        match self {
            #[cfg(target_arch = "x86_64")]
            Conv::F16c if as_f16(src).is_some() => {
                if let Some(s) = as_f16(src) {
                    // SAFETY: `Conv::F16c` exists only after the CPU was found to have AVX2
                    // (the path) and F16C.
                    unsafe { x86::widen(s, dst) }
                }
            }
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Conv::Avx2` and `Conv::F16c` exist only on the AVX2 path.
            Conv::Avx2 | Conv::F16c => unsafe { x86::widen_avx2(src, dst) },
            Conv::Portable => hypersimplex::half::widen(src, dst),
        }
    }

    /// Rounds `src` into `dst` (the common length), to nearest even.
    pub(crate) fn narrow<H: Half>(self, src: &[f32], dst: &mut [H]) {
        match self {
            #[cfg(target_arch = "x86_64")]
            Conv::F16c if as_f16(dst).is_some() => {
                if let Some(d) = as_f16_mut(dst) {
                    // SAFETY: as in `widen`.
                    unsafe { x86::narrow(src, d) }
                }
            }
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as in `widen`.
            Conv::Avx2 | Conv::F16c => unsafe { x86::narrow_avx2(src, dst) },
            Conv::Portable => hypersimplex::half::narrow(src, dst),
        }
    }
}

/// `src` as `F16` when `H` is `F16`.
fn as_f16<H: Half>(src: &[H]) -> Option<&[F16]> {
    if core::any::TypeId::of::<H>() == core::any::TypeId::of::<F16>() {
        // SAFETY: H is F16 (same type, checked above).
        Some(unsafe { core::slice::from_raw_parts(src.as_ptr().cast::<F16>(), src.len()) })
    } else {
        None
    }
}

/// `dst` as `F16` when `H` is `F16`.
fn as_f16_mut<H: Half>(dst: &mut [H]) -> Option<&mut [F16]> {
    if core::any::TypeId::of::<H>() == core::any::TypeId::of::<F16>() {
        // SAFETY: H is F16 (same type, checked above); the borrow of `dst` moves into it.
        Some(unsafe { core::slice::from_raw_parts_mut(dst.as_mut_ptr().cast::<F16>(), dst.len()) })
    } else {
        None
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use core::arch::x86_64::*;
    use hypersimplex::half::{Half, F16};

    /// The core crate's widening loop compiled with AVX2 (it vectorizes: for `bf16` a shift,
    /// for `f16` integer operations and one exact multiplication).
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn widen_avx2<H: Half>(src: &[H], dst: &mut [f32]) {
        for (d, &v) in dst.iter_mut().zip(src) {
            *d = v.to_f32();
        }
    }

    /// The core crate's rounding loop compiled with AVX2.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn narrow_avx2<H: Half>(src: &[f32], dst: &mut [H]) {
        for (d, &v) in dst.iter_mut().zip(src) {
            *d = H::from_f32(v);
        }
    }

    /// F16C widening, 8 per instruction, the tail in scalar code.
    ///
    /// # Safety
    /// The CPU must support F16C and AVX.
    #[target_feature(enable = "avx,f16c")]
    pub(super) unsafe fn widen(src: &[F16], dst: &mut [f32]) {
        let n = src.len().min(dst.len());
        let (s, d) = (&src[..n], &mut dst[..n]);
        let mut i = 0;
        while i + 8 <= n {
            // SAFETY: i + 8 ≤ n = the length of both slices; unaligned loads and stores.
            unsafe {
                let h = _mm_loadu_si128(s.as_ptr().add(i).cast::<__m128i>());
                _mm256_storeu_ps(d.as_mut_ptr().add(i), _mm256_cvtph_ps(h));
            }
            i += 8;
        }
        for (o, v) in d[i..].iter_mut().zip(&s[i..]) {
            *o = v.to_f32();
        }
    }

    /// F16C rounding to nearest even, 8 per instruction, the tail in scalar code.
    ///
    /// # Safety
    /// The CPU must support F16C and AVX.
    #[target_feature(enable = "avx,f16c")]
    pub(super) unsafe fn narrow(src: &[f32], dst: &mut [F16]) {
        let n = src.len().min(dst.len());
        let (s, d) = (&src[..n], &mut dst[..n]);
        let mut i = 0;
        while i + 8 <= n {
            // SAFETY: i + 8 ≤ n = the length of both slices; unaligned loads and stores.
            unsafe {
                let v = _mm256_loadu_ps(s.as_ptr().add(i));
                let h = _mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(v);
                _mm_storeu_si128(d.as_mut_ptr().add(i).cast::<__m128i>(), h);
            }
            i += 8;
        }
        for (o, &v) in d[i..].iter_mut().zip(&s[i..]) {
            *o = F16::from_f32(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hypersimplex::half::{Bf16, Half};

    /// Every conversion variant this CPU runs.
    fn convs() -> Vec<Conv> {
        let mut v = vec![Conv::Portable];
        #[cfg(target_arch = "x86_64")]
        if crate::Path::Avx2.is_supported() {
            v.push(Conv::Avx2);
            if std::arch::is_x86_feature_detected!("f16c") {
                v.push(Conv::F16c);
            }
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
