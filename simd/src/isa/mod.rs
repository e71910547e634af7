//! The instruction sets. Each file ([`avx2`], [`neon`]) holds only *primitives*: it implements
//! [`Lanes`] (and [`FixedLanes`] for `f32`) for its vector types, then instantiates every
//! generic kernel of [`crate::kernels`] once inside a `#[target_feature]` function
//! ([`entry_points!`]), which the dispatcher in [`crate::element`] calls after run-time
//! detection. Adding an instruction set is one such file plus one arm in the dispatcher.

use hypersimplex::Real;

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2;
#[cfg(target_arch = "aarch64")]
pub(crate) mod neon;

// The `f32` vector paths sum the free set in fixed point (`FixedSum`), as the core crate's
// scalar code does on these targets; the kernels rely on it for bitwise agreement.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
const _: () = assert!(<f32 as Real>::FIXED_SUM && !<f64 as Real>::FIXED_SUM);

/// One vector type of one instruction set: [`Lanes::W`] lanes of the element type
/// [`Lanes::T`], and the primitive operations the kernels of [`crate::kernels`] are written in.
/// Every kernel is a generic `#[inline(always)]` function over this trait, instantiated inside
/// a `#[target_feature]` entry point, so the primitives inline into code compiled for the
/// instruction set.
///
/// Calling any primitive requires a CPU with the instruction set's features (the entry points
/// are only called after run-time detection), and pointer arguments valid as stated.
///
/// # Safety
/// For implementors:
/// Each primitive must compute exactly what its documentation states, lane by lane, with the
/// rounding of the scalar IEEE operation (no fused multiply-add, no flush of subnormals): the
/// kernels rely on it for bitwise agreement with the scalar code. Memory is accessed only as
/// stated.
pub unsafe trait Lanes: Copy {
    /// The element type.
    type T: Real;
    /// A vector of [`Lanes::W`] elements.
    type V: Copy;
    /// A lane mask, the result of a comparison: each lane all ones (set) or all zeros (clear).
    type M: Copy;
    /// Lanes of `f64` partial sums.
    type A: Copy;
    /// Lanes of integer counters (one per element lane).
    type C: Copy;
    /// `[V; W]`: a `W × W` tile of elements, for transposes.
    type Tile: Copy + AsRef<[Self::V]> + AsMut<[Self::V]>;
    /// How this element type accumulates free-set sums `Σ_F d` (see [`FreeSum`]).
    type FreeSum: FreeSum<Self>;
    /// Lanes per vector.
    const W: usize;
    /// `true` when [`Lanes::sum_add`] of a non-finite element always leaves a non-finite sum
    /// (`f32`: sums of fewer than 2^800 widened values cannot overflow `f64`), so the statistics
    /// passes may test the sum instead of every element; `false` for `f64`, whose sums can overflow.
    const SUM_FLAGS_NONFINITE: bool;

    /// Loads `W` elements from `p` (unaligned).
    unsafe fn load(p: *const Self::T) -> Self::V;
    /// Stores `W` elements at `p` (unaligned).
    unsafe fn store(p: *mut Self::T, v: Self::V);
    /// Stores `W` elements at `p`, which must be aligned to the vector size, with a
    /// non-temporal (streaming) store where the instruction set has one.
    unsafe fn stream(p: *mut Self::T, v: Self::V);
    /// Orders earlier [`Lanes::stream`] stores before later memory accesses.
    unsafe fn stream_fence();
    /// `v` in every lane.
    unsafe fn splat(v: Self::T) -> Self::V;
    /// `a − b`.
    unsafe fn sub(a: Self::V, b: Self::V) -> Self::V;
    /// `a · b`.
    unsafe fn mul(a: Self::V, b: Self::V) -> Self::V;
    /// `a > b` (false where either is NaN; so are the other comparisons).
    unsafe fn gt(a: Self::V, b: Self::V) -> Self::M;
    /// `a < b`.
    unsafe fn lt(a: Self::V, b: Self::V) -> Self::M;
    /// `a ≥ b`.
    unsafe fn ge(a: Self::V, b: Self::V) -> Self::M;
    /// `a ≤ b`.
    unsafe fn le(a: Self::V, b: Self::V) -> Self::M;
    /// Mask `a and b`.
    unsafe fn and(a: Self::M, b: Self::M) -> Self::M;
    /// Mask `a or b`.
    unsafe fn or(a: Self::M, b: Self::M) -> Self::M;
    /// The mask with every lane set.
    unsafe fn all_set() -> Self::M;
    /// `true` when every lane of `m` is set.
    unsafe fn all(m: Self::M) -> bool;
    /// `v` where `m` is set, `+0.0` elsewhere.
    unsafe fn masked(m: Self::M, v: Self::V) -> Self::V;
    /// Lane-wise minimum (the order of operands for NaN is the instruction set's; the
    /// kernels use it only on values whose finiteness is checked).
    unsafe fn min(a: Self::V, b: Self::V) -> Self::V;
    /// Lane-wise maximum.
    unsafe fn max(a: Self::V, b: Self::V) -> Self::V;
    /// `min(max(d, 0), 1)`, NaN mapped to 0, as `Real::clip01`.
    unsafe fn clip01(d: Self::V) -> Self::V;
    /// `|v|`.
    unsafe fn abs(v: Self::V) -> Self::V;
    /// The least lane.
    unsafe fn reduce_min(v: Self::V) -> Self::T;
    /// The greatest lane.
    unsafe fn reduce_max(v: Self::V) -> Self::T;
    /// Counters at zero.
    unsafe fn count_zero() -> Self::C;
    /// Adds 1 to each counter whose lane of `m` is set.
    unsafe fn count(c: Self::C, m: Self::M) -> Self::C;
    /// The counters added up.
    unsafe fn count_total(c: Self::C) -> usize;
    /// Sums at zero.
    unsafe fn sum_zero() -> Self::A;
    /// Adds `v` to the sums, widened to `f64` (exactly): `f32` lanes go half to `a`, half to
    /// `b`; `f64` lanes all to `a`, with the rounding error of that addition (TwoSum) added to
    /// `b`. Either way the sum is `sum_total(a) + sum_total(b)`.
    unsafe fn sum_add(a: &mut Self::A, b: &mut Self::A, v: Self::V);
    /// The sums added up: `(l0 + l1) + (l2 + l3)` for four lanes, `l0 + l1` for two.
    unsafe fn sum_total(a: Self::A) -> f64;
    /// Stores the lanes of `v` whose lane of `m` is *clear*, in order, at `p`, and returns
    /// their number. Writes all `W` slots `p[0..W]` (those past the count hold other lanes).
    unsafe fn compress_clear(p: *mut Self::T, v: Self::V, m: Self::M) -> usize;
    /// The lanes whose label `p[j]` (`W` readable `u32`) equals `class`.
    unsafe fn label_mask(p: *const u32, class: u32) -> Self::M;
    /// A tile of zeros.
    unsafe fn tile() -> Self::Tile;
    /// Transposes the tile in place: vector `i` lane `j` moves to vector `j` lane `i`.
    unsafe fn transpose_tile(t: &mut Self::Tile);
}

/// The `f32` primitives of the 2^-23 fixed point (`Real::to_fixed`) in which the free-set sums
/// are exact integers, for every vector width and thread count.
///
/// # Safety
/// For implementors:
/// As [`Lanes`].
pub unsafe trait FixedLanes: Lanes {
    /// Adds `round(d·2^23)`, rounding half up as `Real::to_fixed`, to the counters whose lane
    /// of `m` is set; the caller guarantees `0 < d < 1` there (a free-set mask). Other lanes
    /// may convert to anything and are masked off.
    unsafe fn fixed_add(q: Self::C, m: Self::M, d: Self::V) -> Self::C;
    /// As [`FixedLanes::fixed_add`], rounding to nearest (ties to even): one instruction fewer,
    /// for the split pass, whose sums are not compared bit for bit with the core's.
    unsafe fn fixed_add_nearest(q: Self::C, m: Self::M, d: Self::V) -> Self::C;
    /// The counters added up, as signed integers.
    unsafe fn fixed_total(q: Self::C) -> i64;
}

/// A kernel's running free-set sum `Σ_F d` over its vectors (the scalar remainder is summed by
/// `kernels::Tail`): exact fixed point for `f32` ([`FixedSum`]), `f64` lanes for `f64`
/// ([`LaneSum`]). The main loops run in runs of at most `kernels::FX_FLUSH` iterations and call
/// [`FreeSum::flush`] between runs.
pub trait FreeSum<L: Lanes>: Sized {
    /// An empty sum.
    unsafe fn new() -> Self;
    /// Adds the free lanes (masks `f0`, `f1`) of two vectors, each into its own accumulator.
    unsafe fn add_two(&mut self, f0: L::M, d0: L::V, f1: L::M, d1: L::V);
    /// As [`FreeSum::add_two`], both into one accumulator (the order of the statistics pass).
    unsafe fn add_two_joint(&mut self, f0: L::M, d0: L::V, f1: L::M, d1: L::V);
    /// Adds the free lanes of one vector, rounding to nearest (the split pass).
    unsafe fn add_nearest(&mut self, f: L::M, d: L::V);
    /// Moves lane totals into a wider total (after at most `FX_FLUSH` iterations).
    unsafe fn flush(&mut self);
    /// The sum.
    unsafe fn total(self) -> f64;
}

/// [`FreeSum`] in the 2^-23 fixed point: two vectors of integer counters, flushed into an `i64`
/// (each iteration adds at most 2^23 to a lane, so a lane stays below 2^30 between flushes).
/// Integer sums are exact and order-free, so the result equals the scalar code's bit for bit.
pub struct FixedSum<L: FixedLanes> {
    q0: L::C,
    q1: L::C,
    total: i64,
}

impl<L: FixedLanes> FreeSum<L> for FixedSum<L> {
    #[inline(always)]
    unsafe fn new() -> Self {
        // SAFETY: the caller is a kernel running with the instruction set's features.
        unsafe {
            FixedSum {
                q0: L::count_zero(),
                q1: L::count_zero(),
                total: 0,
            }
        }
    }
    #[inline(always)]
    unsafe fn add_two(&mut self, f0: L::M, d0: L::V, f1: L::M, d1: L::V) {
        // SAFETY: as in `new`.
        unsafe {
            self.q0 = L::fixed_add(self.q0, f0, d0);
            self.q1 = L::fixed_add(self.q1, f1, d1);
        }
    }
    #[inline(always)]
    unsafe fn add_two_joint(&mut self, f0: L::M, d0: L::V, f1: L::M, d1: L::V) {
        // SAFETY: as in `new`. (Integer sums: the grouping does not matter.)
        unsafe { self.add_two(f0, d0, f1, d1) }
    }
    #[inline(always)]
    unsafe fn add_nearest(&mut self, f: L::M, d: L::V) {
        // SAFETY: as in `new`.
        unsafe { self.q0 = L::fixed_add_nearest(self.q0, f, d) }
    }
    #[inline(always)]
    unsafe fn flush(&mut self) {
        // SAFETY: as in `new`.
        unsafe {
            self.total += L::fixed_total(self.q0) + L::fixed_total(self.q1);
            self.q0 = L::count_zero();
            self.q1 = L::count_zero();
        }
    }
    #[inline(always)]
    unsafe fn total(self) -> f64 {
        // SAFETY: as in `new`.
        let t = self.total + unsafe { L::fixed_total(self.q0) + L::fixed_total(self.q1) };
        t as f64 * (1.0 / 8_388_608.0)
    }
}

/// [`FreeSum`] in `f64` lanes: two accumulator pairs for [`FreeSum::add_two`] (alternating
/// vectors), one pair otherwise. The order of additions depends only on the length.
pub struct LaneSum<L: Lanes> {
    a: [L::A; 4],
}

impl<L: Lanes> FreeSum<L> for LaneSum<L> {
    #[inline(always)]
    unsafe fn new() -> Self {
        // SAFETY: the caller is a kernel running with the instruction set's features.
        unsafe {
            LaneSum {
                a: [L::sum_zero(); 4],
            }
        }
    }
    #[inline(always)]
    unsafe fn add_two(&mut self, f0: L::M, d0: L::V, f1: L::M, d1: L::V) {
        let [a0, a1, a2, a3] = &mut self.a;
        // SAFETY: as in `new`.
        unsafe {
            L::sum_add(a0, a1, L::masked(f0, d0));
            L::sum_add(a2, a3, L::masked(f1, d1));
        }
    }
    #[inline(always)]
    unsafe fn add_two_joint(&mut self, f0: L::M, d0: L::V, f1: L::M, d1: L::V) {
        let [a0, a1, ..] = &mut self.a;
        // SAFETY: as in `new`.
        unsafe {
            L::sum_add(a0, a1, L::masked(f0, d0));
            L::sum_add(a0, a1, L::masked(f1, d1));
        }
    }
    #[inline(always)]
    unsafe fn add_nearest(&mut self, f: L::M, d: L::V) {
        let [a0, a1, ..] = &mut self.a;
        // SAFETY: as in `new`.
        unsafe { L::sum_add(a0, a1, L::masked(f, d)) }
    }
    #[inline(always)]
    unsafe fn flush(&mut self) {}
    #[inline(always)]
    unsafe fn total(self) -> f64 {
        let [a0, a1, a2, a3] = self.a;
        // SAFETY: as in `new`. The free lanes hold `d > 0`, so the sums are `+0` or positive
        // and adding the unused pair's `+0` changes nothing.
        unsafe { (L::sum_total(a0) + L::sum_total(a1)) + (L::sum_total(a2) + L::sum_total(a3)) }
    }
}
