//! Half-precision conversions of whole slices (issue 15): `f16 ↔ f32` with the F16C
//! instructions (`vcvtph2ps`, `vcvtps2ph` with round-to-nearest-even), detected at run time
//! together with AVX2 on the AVX2 path; elsewhere (and for `bf16`, whose conversions are shifts
//! the compiler vectorizes) the core crate's scalar loops. Both give the same bits: F16C is
//! exact when widening and rounds to nearest even when narrowing, as the core's conversions
//! (tests compare them over all 65536 patterns and the rounding midpoints).

use hypersimplex::half::{Half, F16};

/// `true` when the F16C conversions run: the AVX2 path is active and the CPU has F16C.
pub fn f16c_active() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        crate::active_path() == crate::Path::Avx2 && std::arch::is_x86_feature_detected!("f16c")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Widens `src` into `dst` (the common length), exactly.
pub fn widen<H: Half>(src: &[H], dst: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if let Some(s) = as_f16(src) {
        if f16c_active() {
            // SAFETY: the CPU has F16C and AVX (checked just above).
            unsafe { x86::widen(s, dst) };
            return;
        }
    }
    hypersimplex::half::widen(src, dst)
}

/// Rounds `src` into `dst` (the common length), to nearest even.
pub fn narrow<H: Half>(src: &[f32], dst: &mut [H]) {
    #[cfg(target_arch = "x86_64")]
    if let Some(d) = as_f16_mut(dst) {
        if f16c_active() {
            // SAFETY: the CPU has F16C and AVX (checked just above).
            unsafe { x86::narrow(src, d) };
            return;
        }
        hypersimplex::half::narrow(src, d);
        return;
    }
    hypersimplex::half::narrow(src, dst)
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

    #[test]
    fn f16c_matches_the_core_conversions() {
        // every pattern widened; every pattern's value, the midpoints and their neighbours
        // narrowed; lengths that leave tails
        let all: Vec<F16> = (0..=u16::MAX).map(F16).collect();
        let mut w = vec![0.0f32; all.len()];
        widen(&all, &mut w);
        for (h, v) in all.iter().zip(&w) {
            let c = h.to_f32();
            assert!(
                c.to_bits() == v.to_bits() || (c.is_nan() && v.is_nan()),
                "{h:?}"
            );
        }
        let mut cases = Vec::new();
        for b in 0..0x7bffu16 {
            let (a, c) = (F16(b).to_f32() as f64, F16(b + 1).to_f32() as f64);
            let m = ((a + c) / 2.0) as f32;
            for x in [
                a as f32,
                m,
                f32::from_bits(m.to_bits() + 1),
                f32::from_bits(m.to_bits() - 1),
            ] {
                cases.extend([x, -x]);
            }
        }
        cases.extend([65519.0, 65520.0, 1e6, f32::INFINITY, -f32::INFINITY, 1e-10]);
        for len in [cases.len(), cases.len() - 3, 7, 0] {
            let mut o = vec![F16(0); len];
            narrow(&cases[..len], &mut o);
            for (x, h) in cases.iter().zip(&o) {
                assert_eq!(*h, F16::from_f32(*x), "{x:e}");
            }
        }
        // bf16 takes the core loops
        let b = [Bf16::from_f32(1.5), Bf16::from_f32(-2.0)];
        let mut wb = [0.0f32; 2];
        widen(&b, &mut wb);
        assert_eq!(wb, [1.5, -2.0]);
        println!("F16C active: {}", f16c_active());
    }
}
