//! NEON primitives (aarch64): [`Lanes`](crate::isa::Lanes) for 128-bit vectors of 4 `f32`
//! ([`F32x4`]) or 2 `f64` ([`F64x2`]), and the kernels' `#[target_feature(enable = "neon")]`
//! entry points.
//!
//! NEON is part of the aarch64 baseline, so these need no run-time check beyond the one in
//! [`crate::platform`]. Clipping uses `fmaxnm`/`fminnm` (`vmaxnmq`/`vminnmq`), which, like the
//! scalar `clip01`, map NaN to the other operand (0). No fused multiply-add is used.

/// `f32` lanes: `float32x4_t`, 4 lanes; sums widen with `fcvtl`/`fcvtl2` into `f64` pairs.
#[derive(Clone, Copy, Debug)]
pub struct F32x4;

mod f32k {
    use super::*;
    use crate::isa::{FixedLanes, FixedSum, Lanes};
    use core::arch::aarch64::*;

    type T = f32;
    type V = float32x4_t;
    type M = uint32x4_t;
    type A = float64x2_t;
    type C = uint32x4_t;
    type Tile = [V; 4];

    // SAFETY: each primitive computes what `Lanes` documents, lane by lane, with plain IEEE
    // operations (no fused multiply-add), and touches memory only as documented.
    unsafe impl Lanes for F32x4 {
        type T = T;
        type V = V;
        type M = M;
        type A = A;
        type C = C;
        type Tile = Tile;
        type FreeSum = FixedSum<Self>;
        const W: usize = 4;
        const SUM_FLAGS_NONFINITE: bool = true;

        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn load(p: *const T) -> V {
            // SAFETY: the caller passes a pointer to 4 readable f32.
            unsafe { vld1q_f32(p) }
        }
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn store(p: *mut T, v: V) {
            // SAFETY: the caller passes a pointer to 4 writable f32.
            unsafe { vst1q_f32(p, v) }
        }
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn splat(v: T) -> V {
            vdupq_n_f32(v)
        }
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn sub(a: V, b: V) -> V {
            vsubq_f32(a, b)
        }
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn mul(a: V, b: V) -> V {
            vmulq_f32(a, b)
        }
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn gt(a: V, b: V) -> M {
            vcgtq_f32(a, b)
        }
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn lt(a: V, b: V) -> M {
            vcltq_f32(a, b)
        }
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn ge(a: V, b: V) -> M {
            vcgeq_f32(a, b)
        }
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn le(a: V, b: V) -> M {
            vcleq_f32(a, b)
        }
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn and(a: M, b: M) -> M {
            vandq_u32(a, b)
        }
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn all_set() -> M {
            vdupq_n_u32(u32::MAX)
        }
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn all(m: M) -> bool {
            vminvq_u32(m) == u32::MAX
        }
        // `v` where the mask is set, `+0.0` elsewhere.
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn masked(m: M, v: V) -> V {
            vreinterpretq_f32_u32(vandq_u32(m, vreinterpretq_u32_f32(v)))
        }
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn min(a: V, b: V) -> V {
            vminq_f32(a, b)
        }
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn max(a: V, b: V) -> V {
            vmaxq_f32(a, b)
        }
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn clip01(d: V) -> V {
            vminnmq_f32(vmaxnmq_f32(d, vdupq_n_f32(0.0)), vdupq_n_f32(1.0))
        }
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn abs(v: V) -> V {
            vabsq_f32(v)
        }
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn reduce_min(v: V) -> T {
            vminvq_f32(v)
        }
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn reduce_max(v: V) -> T {
            vmaxvq_f32(v)
        }
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn count_zero() -> C {
            vdupq_n_u32(0)
        }
        // Adds 1 to each lane whose mask is set (all ones = −1).
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn count(c: C, m: M) -> C {
            vsubq_u32(c, m)
        }
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn count_total(c: C) -> usize {
            vaddlvq_u32(c) as usize
        }
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn sum_zero() -> A {
            vdupq_n_f64(0.0)
        }
        // Widens the low and high pairs of lanes to `f64` (exact) and adds them to `a` and `b`.
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn sum_add(a: &mut A, b: &mut A, v: V) {
            *a = vaddq_f64(*a, vcvt_f64_f32(vget_low_f32(v)));
            *b = vaddq_f64(*b, vcvt_high_f64_f32(v));
        }
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn sum_total(a: A) -> f64 {
            vgetq_lane_f64::<0>(a) + vgetq_lane_f64::<1>(a)
        }
        // Lane-wise `a | b` of two masks.
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn or(a: M, b: M) -> M {
            vorrq_u32(a, b)
        }
        // A plain store (NEON has no non-temporal store intrinsic; `clip_stream` is then `clip`).
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn stream(p: *mut T, v: V) {
            // SAFETY: the caller passes a pointer to one vector of writable elements.
            unsafe { Self::store(p, v) }
        }
        // Nothing to order (see `stream`).
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn stream_fence() {}
        // Stores the lanes of `v` whose mask lane is *clear*, in order, at `p`, and returns how
        // many there are (branch-free: every lane is stored at the running count, which advances
        // only past kept lanes). Writes within `p[0..4]`.
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn compress_clear(p: *mut T, v: V, m: M) -> usize {
            let keep = vsubq_u32(vdupq_n_u32(1), vandq_u32(m, vdupq_n_u32(1)));
            let mut k = 0usize;
            // SAFETY: `k ≤ j < 4` at the store of lane j, and the caller passes 4 writable f32.
            unsafe {
                *p.add(k) = vgetq_lane_f32::<0>(v);
                k += vgetq_lane_u32::<0>(keep) as usize;
                *p.add(k) = vgetq_lane_f32::<1>(v);
                k += vgetq_lane_u32::<1>(keep) as usize;
                *p.add(k) = vgetq_lane_f32::<2>(v);
                k += vgetq_lane_u32::<2>(keep) as usize;
                *p.add(k) = vgetq_lane_f32::<3>(v);
                k += vgetq_lane_u32::<3>(keep) as usize;
            }
            k
        }
        // Lanes whose label `*p.add(j)` equals `c` (4 `u32` labels).
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn label_mask(p: *const u32, c: u32) -> M {
            // SAFETY: the caller passes a pointer to 4 readable u32.
            vceqq_u32(unsafe { vld1q_u32(p) }, vdupq_n_u32(c))
        }
        // Transposes the 4×4 tile `v` (rows in, columns out).
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn transpose_tile(v: &mut Tile) {
            let [r0, r1, r2, r3] = *v;
            let a = vtrnq_f32(r0, r1);
            let b = vtrnq_f32(r2, r3);
            *v = [
                vcombine_f32(vget_low_f32(a.0), vget_low_f32(b.0)),
                vcombine_f32(vget_low_f32(a.1), vget_low_f32(b.1)),
                vcombine_f32(vget_high_f32(a.0), vget_high_f32(b.0)),
                vcombine_f32(vget_high_f32(a.1), vget_high_f32(b.1)),
            ];
        }

        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn tile() -> Tile {
            [vdupq_n_f32(0.0); 4]
        }
    }

    // SAFETY: as for `Lanes`.
    unsafe impl FixedLanes for F32x4 {
        // Adds `round(d·2^23)` (half up) to the lanes of `q` whose mask is set, where the caller
        // guarantees `0 < d < 1` (a free-set mask): the free-set sum in the core crate's fixed
        // point (`Real::to_fixed`), exact in integers.
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn fixed_add(q: C, m: M, d: V) -> C {
            // d·2^23 + 0.5 is exact where 0 < d < 1 and the conversion truncates: round half up
            // (`Real::to_fixed`). Other lanes convert to anything (saturated, 0 for NaN) and are
            // masked off: no clip.
            let t = vaddq_f32(vmulq_f32(d, vdupq_n_f32(8_388_608.0)), vdupq_n_f32(0.5));
            vaddq_u32(q, vandq_u32(vreinterpretq_u32_s32(vcvtq_s32_f32(t)), m))
        }
        // The lanes of `q` added up.
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn fixed_total(q: C) -> i64 {
            vaddlvq_u32(q) as i64
        }
        // As `fixed_add`, rounding to nearest (ties to even) instead of half up: one instruction
        // fewer, for the split pass, whose sums are not compared bit for bit with the core's.
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn fixed_add_nearest(q: C, m: M, d: V) -> C {
            let t = vcvtnq_s32_f32(vmulq_f32(d, vdupq_n_f32(8_388_608.0)));
            vaddq_u32(q, vandq_u32(vreinterpretq_u32_s32(t), m))
        }
    }
}

/// `f64` lanes: `float64x2_t`, 2 lanes.
#[derive(Clone, Copy, Debug)]
pub struct F64x2;

mod f64k {
    use super::*;
    use crate::isa::{LaneSum, Lanes};
    use core::arch::aarch64::*;

    type T = f64;
    type V = float64x2_t;
    type M = uint64x2_t;
    type A = float64x2_t;
    type C = uint64x2_t;
    type Tile = [V; 2];

    // SAFETY: each primitive computes what `Lanes` documents, lane by lane, with plain IEEE
    // operations (no fused multiply-add), and touches memory only as documented.
    unsafe impl Lanes for F64x2 {
        type T = T;
        type V = V;
        type M = M;
        type A = A;
        type C = C;
        type Tile = Tile;
        type FreeSum = LaneSum<Self>;
        const W: usize = 2;
        const SUM_FLAGS_NONFINITE: bool = false;

        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn load(p: *const T) -> V {
            // SAFETY: the caller passes a pointer to 2 readable f64.
            unsafe { vld1q_f64(p) }
        }
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn store(p: *mut T, v: V) {
            // SAFETY: the caller passes a pointer to 2 writable f64.
            unsafe { vst1q_f64(p, v) }
        }
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn splat(v: T) -> V {
            vdupq_n_f64(v)
        }
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn sub(a: V, b: V) -> V {
            vsubq_f64(a, b)
        }
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn mul(a: V, b: V) -> V {
            vmulq_f64(a, b)
        }
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn gt(a: V, b: V) -> M {
            vcgtq_f64(a, b)
        }
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn lt(a: V, b: V) -> M {
            vcltq_f64(a, b)
        }
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn ge(a: V, b: V) -> M {
            vcgeq_f64(a, b)
        }
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn le(a: V, b: V) -> M {
            vcleq_f64(a, b)
        }
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn and(a: M, b: M) -> M {
            vandq_u64(a, b)
        }
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn all_set() -> M {
            vdupq_n_u64(u64::MAX)
        }
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn all(m: M) -> bool {
            (vgetq_lane_u64::<0>(m) & vgetq_lane_u64::<1>(m)) == u64::MAX
        }
        // `v` where the mask is set, `+0.0` elsewhere.
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn masked(m: M, v: V) -> V {
            vreinterpretq_f64_u64(vandq_u64(m, vreinterpretq_u64_f64(v)))
        }
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn min(a: V, b: V) -> V {
            vminq_f64(a, b)
        }
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn max(a: V, b: V) -> V {
            vmaxq_f64(a, b)
        }
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn clip01(d: V) -> V {
            vminnmq_f64(vmaxnmq_f64(d, vdupq_n_f64(0.0)), vdupq_n_f64(1.0))
        }
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn abs(v: V) -> V {
            vabsq_f64(v)
        }
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn reduce_min(v: V) -> T {
            vminvq_f64(v)
        }
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn reduce_max(v: V) -> T {
            vmaxvq_f64(v)
        }
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn count_zero() -> C {
            vdupq_n_u64(0)
        }
        // Adds 1 to each lane whose mask is set (all ones = −1).
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn count(c: C, m: M) -> C {
            vsubq_u64(c, m)
        }
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn count_total(c: C) -> usize {
            (vgetq_lane_u64::<0>(c) + vgetq_lane_u64::<1>(c)) as usize
        }
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn sum_zero() -> A {
            vdupq_n_f64(0.0)
        }
        // Adds `v` to `a`, its rounding error to `b` (`f64` data: compensated sums).
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn sum_add(a: &mut A, b: &mut A, v: V) {
            // TwoSum: `b` collects the rounding error of every addition (issue 13).
            let t = vaddq_f64(*a, v);
            let bb = vsubq_f64(t, *a);
            let e = vaddq_f64(vsubq_f64(*a, vsubq_f64(t, bb)), vsubq_f64(v, bb));
            *b = vaddq_f64(*b, e);
            *a = t;
        }
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn sum_total(a: A) -> f64 {
            vgetq_lane_f64::<0>(a) + vgetq_lane_f64::<1>(a)
        }
        // Lane-wise `a | b` of two masks.
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn or(a: M, b: M) -> M {
            vorrq_u64(a, b)
        }
        // A plain store (NEON has no non-temporal store intrinsic; `clip_stream` is then `clip`).
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn stream(p: *mut T, v: V) {
            // SAFETY: the caller passes a pointer to one vector of writable elements.
            unsafe { Self::store(p, v) }
        }
        // Nothing to order (see `stream`).
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn stream_fence() {}
        // Stores the lanes of `v` whose mask lane is *clear*, in order, at `p`, and returns how
        // many there are (branch-free, as for `f32`). Writes within `p[0..2]`.
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn compress_clear(p: *mut T, v: V, m: M) -> usize {
            let mut k = 0usize;
            // SAFETY: `k ≤ j < 2` at the store of lane j, and the caller passes 2 writable f64.
            unsafe {
                *p.add(k) = vgetq_lane_f64::<0>(v);
                k += 1 - (vgetq_lane_u64::<0>(m) & 1) as usize;
                *p.add(k) = vgetq_lane_f64::<1>(v);
                k += 1 - (vgetq_lane_u64::<1>(m) & 1) as usize;
            }
            k
        }
        // Lanes whose label `*p.add(j)` equals `c` (2 `u32` labels, widened to 64 bits).
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn label_mask(p: *const u32, c: u32) -> M {
            // SAFETY: the caller passes a pointer to 2 readable u32.
            vceqq_u64(vmovl_u32(unsafe { vld1_u32(p) }), vdupq_n_u64(u64::from(c)))
        }
        // Transposes the 2×2 tile `v` (rows in, columns out).
        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn transpose_tile(v: &mut Tile) {
            let [r0, r1] = *v;
            *v = [vzip1q_f64(r0, r1), vzip2q_f64(r0, r1)];
        }

        #[inline]
        #[target_feature(enable = "neon")]
        unsafe fn tile() -> Tile {
            [vdupq_n_f64(0.0); 2]
        }
    }
}

crate::kernels::entry_points!("neon");
