//! The two floating-point types the library works in, and how it adds them up.
//!
//! [`Real`] is implemented for `f32` and `f64` only (it is sealed). Every per-element sum the
//! library takes (the free-set sums that locate λ, the means of the backward pass, the losses)
//! goes through the type's [`Real::Sum`] accumulator:
//!
//! * `f64` data, and `f32` data on targets with double-precision hardware: a plain `f64`
//!   accumulator. Summing m values of [0, 1] (the free set) errs by at most m·2^-53 of the
//!   sum, negligible against `f32`'s own 2^-24 for m up to 10^8.
//! * `f32` data on 32-bit Arm (`target_arch = "arm"`: the Cortex-M4F and other cores whose
//!   FPU has no double precision; stable Rust exposes no `cfg` for Arm FPU features, so every
//!   32-bit Arm target takes this path): a compensated (Kahan) pair of `f32`, so the hot loops
//!   never call the software `f64` routines. Its error is bounded by 2·eps_f32·Σ|v_i| + O(n·eps²).

use core::fmt::Debug;
use core::ops::{Add, Div, Mul, Neg, Sub};

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// A floating-point element type: `f32` or `f64` (sealed: no other type implements it).
///
/// Its hidden items (the accumulator type `Sum`, the solver arithmetic, fixed-point
/// and order-preserving conversions) serve the library's own kernels and are not public API.
pub trait Real:
    Copy
    + PartialOrd
    + PartialEq
    + Default
    + Debug
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + Send
    + Sync
    + 'static
    + sealed::Sealed
{
    /// 0.
    const ZERO: Self;
    /// 1.
    const ONE: Self;
    /// The largest finite value.
    const MAX: Self;
    /// The most negative finite value (`-MAX`).
    const LOWEST: Self;
    /// Machine epsilon (the gap between 1 and the next larger value).
    const EPSILON: Self;
    /// Number of bits in the representation (32 or 64).
    const BITS: u32;
    /// The accumulator used for sums over elements of this type.
    #[doc(hidden)]
    type Sum: SumAcc<Self>;
    /// The type of the solver's per-pass scalar arithmetic (Newton steps, means): `f64`,
    /// except for `f32` on 32-bit Arm, where it is `f32` so that no software double-precision
    /// add, multiply or divide is linked into Cortex-M firmware.
    #[doc(hidden)]
    type Solver: SolverFloat;
    /// Converts to [`Real::Solver`] (exact).
    #[doc(hidden)]
    fn to_solver(self) -> Self::Solver;
    /// Rounds a [`Real::Solver`] to this type.
    #[doc(hidden)]
    fn from_solver(w: Self::Solver) -> Self;

    /// Widen to `f64` (exact).
    fn to_f64(self) -> f64;
    /// Round an `f64` to this type (round to nearest).
    fn from_f64(v: f64) -> Self;
    /// `true` if neither infinite nor NaN.
    fn is_finite(self) -> bool;
    /// |self|.
    fn abs(self) -> Self;
    /// `clip(self, 0, 1)`, computed as `min(max(self, 0), 1)`; maps NaN to 0.
    #[inline(always)]
    #[doc(hidden)]
    fn clip01(self) -> Self {
        let v = if self > Self::ZERO { self } else { Self::ZERO };
        if v < Self::ONE {
            v
        } else {
            Self::ONE
        }
    }
    /// `self` if `keep`, else `±0`, without a branch: the per-element loops use it to sum over
    /// the free set, where a branch would be mispredicted on random data. Computed as a
    /// multiplication by 0 or 1 (exact), which the optimizer cannot turn back into a branch as
    /// it does with a bit mask or an `if`.
    #[doc(hidden)]
    fn keep_if(self, keep: bool) -> Self;
    /// `d` if `free`, else `+0`, for a shifted value `d = fl(z − λ)` of a piece pass, whose
    /// free set is `0 < d < 1`. `d` overflows to `±∞` where `z` and λ lie at opposite ends of
    /// the range (logits near `±MAX`), and [`Real::keep_if`]'s `∞·0` would be NaN, which
    /// poisons the free-set sum and sends the solver to a wrong bracket. Computed as a bit mask (`+0` for a kept-out value, whatever it is), which the optimizer
    /// vectorizes in the pass loops (an `and` per lane).
    #[doc(hidden)]
    fn free_part(self, free: bool) -> Self;
    /// Whether the scalar passes sum the free set in 2^-23 fixed point (see
    /// [`Real::to_fixed`]): `true` for `f32` except on 32-bit Arm. The integer sums are exact
    /// and vectorize (lanes of `i32` with SSE2 or NEON) where `f64` sums of converted `f32`
    /// values do not; each element is rounded to a multiple of 2^-23 (error below 2^-23 = ε,
    /// the `f32` resolution of y just below 1), so λ moves by less than ε.
    #[doc(hidden)]
    const FIXED_SUM: bool;
    /// `trunc(fl(clip(self, 0, 1) · 2^23 + 1/2))`, an integer in `[0, 2^23]` within one unit
    /// of `clip(self, 0, 1) · 2^23`; NaN maps to 0.
    #[doc(hidden)]
    fn to_fixed(self) -> i32;
    /// A signed integer whose order is the order of the finite values of `self`
    /// (−0 and +0 map to neighbours). Used to bisect over representable values.
    #[doc(hidden)]
    fn to_ordered(self) -> i64;
    /// Inverse of [`Real::to_ordered`].
    #[doc(hidden)]
    fn from_ordered(v: i64) -> Self;
}

/// `hi − lo` counted in representable values (`lo ≤ hi`; exact: the count fits in 64 bits).
#[inline]
pub(crate) fn ordered_gap<T: Real>(lo: T, hi: T) -> u64 {
    (hi.to_ordered() as u64).wrapping_sub(lo.to_ordered() as u64)
}

/// The value halfway between `lo ≤ hi` in representable-value order.
#[inline]
pub(crate) fn ordered_mid<T: Real>(lo: T, hi: T) -> T {
    T::from_ordered(
        lo.to_ordered()
            .wrapping_add((ordered_gap(lo, hi) / 2) as i64),
    )
}

/// Arithmetic of the solver's scalar (per-pass, not per-element) work: `f64`, or `f32` for
/// `f32` data on 32-bit Arm (see [`Real::Solver`]). Not to be confused with [`F64Sum`], the
/// per-element accumulator, which is always `f64`.
pub trait SolverFloat:
    Copy
    + PartialOrd
    + Debug
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
{
    /// 0.
    const ZERO: Self;
    /// 1.
    const ONE: Self;
    /// 1/2.
    const HALF: Self;
    /// Rounds an `f64`.
    fn from_f64(v: f64) -> Self;
    /// Widens to `f64`.
    fn to_f64(self) -> f64;
    /// Converts a count (rounding above 2^24 in `f32`).
    fn from_usize(n: usize) -> Self;
    /// |self|.
    fn abs(self) -> Self;
}

impl SolverFloat for f64 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    const HALF: Self = 0.5;
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn from_usize(n: usize) -> Self {
        n as f64
    }
    #[inline(always)]
    fn abs(self) -> Self {
        f64::from_bits(self.to_bits() & 0x7fff_ffff_ffff_ffff)
    }
}

impl SolverFloat for f32 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    const HALF: Self = 0.5;
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn from_usize(n: usize) -> Self {
        n as f32
    }
    #[inline(always)]
    fn abs(self) -> Self {
        f32::from_bits(self.to_bits() & 0x7fff_ffff)
    }
}

/// The solver arithmetic `f32` data uses on this target (see [`Real::Solver`]).
#[cfg(not(target_arch = "arm"))]
pub type F32Solver = f64;
/// The solver arithmetic `f32` data uses on this target (see [`Real::Solver`]).
#[cfg(target_arch = "arm")]
pub type F32Solver = f32;

/// A running sum of values of type `T`, read out as `f64`.
pub trait SumAcc<T>: Copy + Send + Sync + Debug {
    /// The empty sum.
    const ZERO: Self;
    /// Adds one value.
    fn add(&mut self, v: T);
    /// Adds another partial sum.
    fn merge(&mut self, other: Self);
    /// The sum, rounded to `f64`.
    fn value(&self) -> f64;
}

/// Plain `f64` accumulation (for `f64` data, and `f32` data where the FPU has `f64`).
/// (Formerly `WideSum`.)
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct F64Sum(pub f64);

impl SumAcc<f64> for F64Sum {
    const ZERO: Self = F64Sum(0.0);
    #[inline(always)]
    fn add(&mut self, v: f64) {
        self.0 += v;
    }
    #[inline(always)]
    fn merge(&mut self, other: Self) {
        self.0 += other.0;
    }
    #[inline(always)]
    fn value(&self) -> f64 {
        self.0
    }
}

impl SumAcc<f32> for F64Sum {
    const ZERO: Self = F64Sum(0.0);
    #[inline(always)]
    fn add(&mut self, v: f32) {
        self.0 += v as f64;
    }
    #[inline(always)]
    fn merge(&mut self, other: Self) {
        self.0 += other.0;
    }
    #[inline(always)]
    fn value(&self) -> f64 {
        self.0
    }
}

/// Compensated `f64` accumulation for `f64` data: `hi + lo` with every addition's rounding
/// error (Knuth's TwoSum, exact for any operands) collected in `lo`, so a sum of `m` terms errs
/// by about `ε·|Σ|` instead of `m·ε·Σ|v|/2` (issue 13: the free-set sum `Σ_F d` of a large
/// free set no longer moves λ by more than a few ε).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TwoSumF64 {
    /// Leading part of the sum.
    pub hi: f64,
    /// Accumulated rounding errors of `hi`.
    pub lo: f64,
}

impl SumAcc<f64> for TwoSumF64 {
    const ZERO: Self = TwoSumF64 { hi: 0.0, lo: 0.0 };
    #[inline(always)]
    fn add(&mut self, v: f64) {
        let t = self.hi + v;
        let b = t - self.hi;
        self.lo += (self.hi - (t - b)) + (v - b);
        self.hi = t;
    }
    #[inline(always)]
    fn merge(&mut self, other: Self) {
        self.add(other.hi);
        self.lo += other.lo;
    }
    #[inline(always)]
    fn value(&self) -> f64 {
        self.hi + self.lo
    }
}

/// Compensated (Kahan) `f32` accumulation: `hi + lo` carries about 48 bits of the sum
/// without any `f64` arithmetic per element. Used for `f32` on FPUs without double precision.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CompensatedSum {
    /// Leading part of the sum.
    pub hi: f32,
    /// Accumulated rounding error of `hi`.
    pub lo: f32,
}

impl SumAcc<f32> for CompensatedSum {
    const ZERO: Self = CompensatedSum { hi: 0.0, lo: 0.0 };
    #[inline(always)]
    fn add(&mut self, v: f32) {
        // Kahan summation: the low part lost by the previous add is fed back into this one,
        // so `lo` stays below one ulp of `hi` even when the rounding errors are systematic.
        let y = v + self.lo;
        let t = self.hi + y;
        self.lo = y - (t - self.hi);
        self.hi = t;
    }
    #[inline(always)]
    fn merge(&mut self, other: Self) {
        self.add(other.hi);
        self.add(other.lo);
    }
    #[inline(always)]
    fn value(&self) -> f64 {
        // Rounded in f32 first: the consumers of this sum (on targets without f64 hardware)
        // work in f32, and a single conversion avoids a software double add.
        (self.hi + self.lo) as f64
    }
}

/// The accumulator `f32` uses on this target (see the module docs).
#[cfg(not(target_arch = "arm"))]
pub type F32Sum = F64Sum;
/// The accumulator `f32` uses on this target (see the module docs).
#[cfg(target_arch = "arm")]
pub type F32Sum = CompensatedSum;

impl Real for f32 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    const MAX: Self = f32::MAX;
    const LOWEST: Self = f32::MIN;
    const EPSILON: Self = f32::EPSILON;
    const BITS: u32 = 32;
    type Sum = F32Sum;
    const FIXED_SUM: bool = cfg!(not(target_arch = "arm"));
    type Solver = F32Solver;
    #[inline(always)]
    fn to_solver(self) -> F32Solver {
        self as F32Solver
    }
    #[inline(always)]
    fn from_solver(w: F32Solver) -> Self {
        w as f32
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    #[inline(always)]
    fn is_finite(self) -> bool {
        f32::is_finite(self)
    }
    #[inline(always)]
    fn abs(self) -> Self {
        f32::from_bits(self.to_bits() & 0x7fff_ffff)
    }
    #[inline(always)]
    fn keep_if(self, keep: bool) -> Self {
        self * (keep as u8 as f32)
    }
    #[inline(always)]
    fn free_part(self, free: bool) -> Self {
        f32::from_bits(self.to_bits() & 0u32.wrapping_sub(free as u32))
    }
    #[inline(always)]
    // not `clamp`: that returns NaN for NaN, `max`/`min` give 0
    #[allow(clippy::manual_clamp)]
    fn to_fixed(self) -> i32 {
        // `max`/`min` return the non-NaN operand, so c is in [0, 1] even for NaN input.
        let c = self.max(0.0).min(1.0);
        // c·2^23 is exact; adding 1/2 and truncating rounds to an integer, off by less than
        // one unit when the addition itself rounds. The SIMD kernels do the same two f32
        // operations, so every implementation gets the same integers.
        // SAFETY: c·2^23 + 0.5 is finite and in [0.5, 2^23 + 0.5], inside i32's range, which
        // is the precondition of `to_int_unchecked` (a plain `as` cast would add saturation
        // code that stops the loops from vectorizing).
        unsafe { (c * 8_388_608.0 + 0.5).to_int_unchecked::<i32>() }
    }
    #[inline]
    fn to_ordered(self) -> i64 {
        let b = self.to_bits() as i32;
        // Negative values: flip the magnitude bits so larger magnitude sorts lower.
        (if b < 0 { b ^ 0x7fff_ffff } else { b }) as i64
    }
    #[inline]
    fn from_ordered(v: i64) -> Self {
        let b = v as i32;
        f32::from_bits((if b < 0 { b ^ 0x7fff_ffff } else { b }) as u32)
    }
}

impl Real for f64 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    const MAX: Self = f64::MAX;
    const LOWEST: Self = f64::MIN;
    const EPSILON: Self = f64::EPSILON;
    const BITS: u32 = 64;
    type Sum = TwoSumF64;
    const FIXED_SUM: bool = false;
    type Solver = f64;
    #[inline(always)]
    fn to_solver(self) -> f64 {
        self
    }
    #[inline(always)]
    fn from_solver(w: f64) -> Self {
        w
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v
    }
    #[inline(always)]
    fn is_finite(self) -> bool {
        f64::is_finite(self)
    }
    #[inline(always)]
    fn abs(self) -> Self {
        f64::from_bits(self.to_bits() & 0x7fff_ffff_ffff_ffff)
    }
    #[inline(always)]
    fn keep_if(self, keep: bool) -> Self {
        self * (keep as u8 as f64)
    }
    #[inline(always)]
    fn free_part(self, free: bool) -> Self {
        f64::from_bits(self.to_bits() & 0u64.wrapping_sub(free as u64))
    }
    #[inline(always)]
    // not `clamp`: that returns NaN for NaN, `max`/`min` give 0
    #[allow(clippy::manual_clamp)]
    fn to_fixed(self) -> i32 {
        let c = self.max(0.0).min(1.0);
        // SAFETY: as for f32: c·2^23 + 0.5 is finite and in [0.5, 2^23 + 0.5].
        unsafe { (c * 8_388_608.0 + 0.5).to_int_unchecked::<i32>() }
    }
    #[inline]
    fn to_ordered(self) -> i64 {
        let b = self.to_bits() as i64;
        if b < 0 {
            b ^ 0x7fff_ffff_ffff_ffff
        } else {
            b
        }
    }
    #[inline]
    fn from_ordered(v: i64) -> Self {
        f64::from_bits((if v < 0 { v ^ 0x7fff_ffff_ffff_ffff } else { v }) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordered_is_monotone_and_invertible() {
        let vals = [
            -3.5f32, -1.0, -1e-30, -0.0, 0.0, 1e-40, 1e-30, 0.5, 1.0, 7.0,
        ];
        for w in vals.windows(2) {
            assert!(w[0].to_ordered() < w[1].to_ordered(), "{w:?}");
        }
        for &v in &vals {
            assert_eq!(f32::from_ordered(v.to_ordered()).to_bits(), v.to_bits());
            let d = v as f64;
            assert_eq!(f64::from_ordered(d.to_ordered()).to_bits(), d.to_bits());
        }
        // adjacent representable values are adjacent integers
        assert_eq!(
            1.0f32.to_ordered() + 1,
            f32::from_bits(1.0f32.to_bits() + 1).to_ordered()
        );
    }

    #[test]
    fn compensated_sum_is_accurate() {
        let mut c = <CompensatedSum as SumAcc<f32>>::ZERO;
        let mut naive = 0.0f32;
        for _ in 0..10_000_000 {
            c.add(0.1f32);
            naive += 0.1f32;
        }
        let exact = 0.1f32 as f64 * 1e7;
        assert!((c.value() - exact).abs() < 1e-6 * exact, "{}", c.value());
        // the naive f32 sum is far off, so the test can tell the difference
        assert!((naive as f64 - exact).abs() > 1e-2 * exact);
    }

    #[test]
    fn clip01_bounds() {
        assert_eq!((-2.0f32).clip01(), 0.0);
        assert_eq!(0.25f32.clip01(), 0.25);
        assert_eq!(3.0f64.clip01(), 1.0);
        assert_eq!(f64::NAN.clip01(), 0.0);
    }
}
