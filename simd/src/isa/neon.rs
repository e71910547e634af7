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

/// The short-row solver's primitives ([`crate::small::Ops`]) on NEON: each of the solver's
/// 8-lane vectors is a pair of `float32x4_t` (lanes 0–3, 4–7), its `f64` halves a pair of
/// `float64x2_t`. Where NEON's instruction differs from the x86 one that
/// [`crate::small::Portable`] spells out (`fmin`/`fmax` on NaN and signed zeros, `fcvtns`
/// saturating where `cvtps2dq` gives `i32::MIN`), the primitive is a compare and a select.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Small;

mod small_ops {
    use super::Small;
    use crate::small::{ILane, Lane, Ops};
    use core::arch::aarch64::*;

    type V = [float32x4_t; 2];
    type I = [int32x4_t; 2];
    type D = [float64x2_t; 2];

    /// `[f(a[0], b[0]), f(a[1], b[1])]`.
    macro_rules! two {
        ($f:expr, $a:expr, $b:expr) => {{
            let (a, b) = ($a, $b);
            [$f(a[0], b[0]), $f(a[1], b[1])]
        }};
    }
    /// `[f(a[0]), f(a[1])]`.
    macro_rules! one {
        ($f:expr, $a:expr) => {{
            let a = $a;
            [$f(a[0]), $f(a[1])]
        }};
    }

    #[inline(always)]
    fn u(m: int32x4_t) -> uint32x4_t {
        // SAFETY: a reinterpretation, no CPU feature beyond the aarch64 baseline.
        unsafe { vreinterpretq_u32_s32(m) }
    }
    #[inline(always)]
    fn s(m: uint32x4_t) -> int32x4_t {
        // SAFETY: as `u`.
        unsafe { vreinterpretq_s32_u32(m) }
    }

    /// The 4×4 transpose: `out[i][j] = r[j][i]`.
    #[inline(always)]
    fn transpose4(r: [float32x4_t; 4]) -> [float32x4_t; 4] {
        // SAFETY: NEON (baseline); reinterpretations and permutes only.
        unsafe {
            let (t0, t1) = (vtrn1q_f32(r[0], r[1]), vtrn2q_f32(r[0], r[1]));
            let (t2, t3) = (vtrn1q_f32(r[2], r[3]), vtrn2q_f32(r[2], r[3]));
            let d = vreinterpretq_f64_f32;
            let f = vreinterpretq_f32_f64;
            [
                f(vtrn1q_f64(d(t0), d(t2))),
                f(vtrn1q_f64(d(t1), d(t3))),
                f(vtrn2q_f64(d(t0), d(t2))),
                f(vtrn2q_f64(d(t1), d(t3))),
            ]
        }
    }

    /// Columns `0..n` (`n ≥ 4`) of the 8 rows at `rows` into lanes: `out[i][j] = rows[j][i]`,
    /// by 4×4 tiles (the last one ending at `n`, its first columns read twice).
    ///
    /// # Safety
    /// Each pointer valid for reading `n` values; `out` holds `n` lanes.
    #[inline(always)]
    unsafe fn rows_in(rows: &[*const f32; 8], n: usize, out: &mut [Lane]) {
        let mut c = 0;
        while c < n {
            let at = c.min(n - 4);
            for h in 0..2 {
                // SAFETY: columns `at..at + 4 ≤ n` of rows 4h..4h + 4 (the caller's
                // pointers), and lanes 4h..4h + 4 of `out[at..at + 4]` (`at + 4 ≤ n`).
                unsafe {
                    let r = core::array::from_fn(|j| vld1q_f32(rows[4 * h + j].add(at)));
                    for (o, v) in out[at..at + 4].iter_mut().zip(transpose4(r)) {
                        vst1q_f32(o.as_mut_ptr().add(4 * h), v);
                    }
                }
            }
            c += 4;
        }
    }

    // SAFETY: each primitive computes `Portable`'s bits lane by lane (plain IEEE operations
    // rounding to nearest, no fused multiply-add; aarch64 Linux runs with FPCR.FZ clear), and
    // touches memory only through the references it is given. NEON is in the aarch64
    // baseline, so no primitive needs a run-time check.
    unsafe impl Ops for Small {
        type V = V;
        type I = I;
        type D = D;
        #[inline(always)]
        unsafe fn splat(v: f32) -> V {
            // SAFETY: NEON (baseline).
            unsafe { [vdupq_n_f32(v); 2] }
        }
        #[inline(always)]
        unsafe fn splat_i(v: i32) -> I {
            // SAFETY: NEON.
            unsafe { [vdupq_n_s32(v); 2] }
        }
        #[inline(always)]
        unsafe fn load(p: &Lane) -> V {
            // SAFETY: NEON; `p` holds 8 `f32`.
            unsafe { [vld1q_f32(p.as_ptr()), vld1q_f32(p.as_ptr().add(4))] }
        }
        #[inline(always)]
        unsafe fn store(p: &mut Lane, v: V) {
            // SAFETY: NEON; `p` holds 8 writable `f32`.
            unsafe {
                vst1q_f32(p.as_mut_ptr(), v[0]);
                vst1q_f32(p.as_mut_ptr().add(4), v[1]);
            }
        }
        #[inline(always)]
        unsafe fn load_i(p: &ILane) -> I {
            // SAFETY: NEON; `p` holds 8 `i32`.
            unsafe { [vld1q_s32(p.as_ptr()), vld1q_s32(p.as_ptr().add(4))] }
        }
        #[inline(always)]
        unsafe fn store_i(p: &mut ILane, v: I) {
            // SAFETY: NEON; `p` holds 8 writable `i32`.
            unsafe {
                vst1q_s32(p.as_mut_ptr(), v[0]);
                vst1q_s32(p.as_mut_ptr().add(4), v[1]);
            }
        }
        #[inline(always)]
        unsafe fn add(a: V, b: V) -> V {
            // SAFETY: NEON.
            unsafe { two!(vaddq_f32, a, b) }
        }
        #[inline(always)]
        unsafe fn sub(a: V, b: V) -> V {
            // SAFETY: NEON.
            unsafe { two!(vsubq_f32, a, b) }
        }
        #[inline(always)]
        unsafe fn mul(a: V, b: V) -> V {
            // SAFETY: NEON.
            unsafe { two!(vmulq_f32, a, b) }
        }
        #[inline(always)]
        unsafe fn min(a: V, b: V) -> V {
            // `a < b ? a : b` (not `fmin`, which differs on NaN and on −0 against +0)
            // SAFETY: NEON.
            unsafe { two!(|a, b| vbslq_f32(vcltq_f32(a, b), a, b), a, b) }
        }
        #[inline(always)]
        unsafe fn max(a: V, b: V) -> V {
            // SAFETY: NEON.
            unsafe { two!(|a, b| vbslq_f32(vcgtq_f32(a, b), a, b), a, b) }
        }
        #[inline(always)]
        unsafe fn gt(a: V, b: V) -> I {
            // SAFETY: NEON.
            unsafe { two!(|a, b| s(vcgtq_f32(a, b)), a, b) }
        }
        #[inline(always)]
        unsafe fn lt(a: V, b: V) -> I {
            // SAFETY: NEON.
            unsafe { two!(|a, b| s(vcltq_f32(a, b)), a, b) }
        }
        #[inline(always)]
        unsafe fn eq(a: V, b: V) -> I {
            // SAFETY: NEON.
            unsafe { two!(|a, b| s(vceqq_f32(a, b)), a, b) }
        }
        #[inline(always)]
        unsafe fn abs_le(a: V, b: V) -> I {
            // SAFETY: NEON.
            unsafe { two!(|a, b| s(vcleq_f32(vabsq_f32(a), b)), a, b) }
        }
        #[inline(always)]
        unsafe fn and(a: I, b: I) -> I {
            // SAFETY: NEON.
            unsafe { two!(vandq_s32, a, b) }
        }
        #[inline(always)]
        unsafe fn add_i(a: I, b: I) -> I {
            // SAFETY: NEON (wrapping, as `Portable`).
            unsafe { two!(vaddq_s32, a, b) }
        }
        #[inline(always)]
        unsafe fn sub_i(a: I, b: I) -> I {
            // SAFETY: NEON.
            unsafe { two!(vsubq_s32, a, b) }
        }
        #[inline(always)]
        unsafe fn round_i(d: V) -> I {
            // `fcvtns`: to nearest, ties to even (lanes out of `i32`'s range saturate, which
            // the trait leaves open)
            // SAFETY: NEON.
            unsafe { one!(vcvtnq_s32_f32, d) }
        }
        #[inline(always)]
        unsafe fn load_rows(x: &[f32], count: usize, zg: &mut [Lane], s: V, u: V) -> (V, V, V) {
            let n = zg.len();
            if n < 4 || !(1..=8).contains(&count) || x.len() < count * n {
                // SAFETY: NEON, all the generic definition needs.
                return unsafe { crate::small::load_rows_lanes::<Small, f32>(x, count, zg, s, u) };
            }
            // SAFETY: row `j.min(count − 1)` of `x` holds n ≥ 4 values (checked above); then
            // the generic scaling and statistics, in the same order as `load_rows_lanes`.
            unsafe {
                rows_in(&crate::small::row_ptrs(x, n, count), n, zg);
                crate::small::scale_lanes::<Small>(zg, s, u)
            }
        }
        #[inline(always)]
        #[allow(clippy::too_many_arguments)]
        unsafe fn store_rows(
            zg: &[Lane],
            lam: V,
            delta: V,
            u: V,
            inv: V,
            y: &mut [f32],
            count: usize,
            mask: u32,
        ) {
            let n = zg.len();
            if n < 4 || count > 8 || y.len() < count * n {
                // SAFETY: NEON, all the generic definition needs.
                return unsafe {
                    crate::small::store_rows_lanes::<Small, f32>(
                        zg, lam, delta, u, inv, y, count, mask,
                    )
                };
            }
            let mask = mask & ((1u32 << count) - 1);
            let rows = crate::small::row_ptrs_mut(y, n);
            let mut c = 0;
            while c < n {
                let at = c.min(n - 4);
                // SAFETY: NEON; lanes `at..at + 4 ≤ n` of `zg`, and columns `at..at + 4` of
                // the rows j < count (bit j of `mask`), which `y` holds (checked above).
                unsafe {
                    let cols: [V; 4] = core::array::from_fn(|i| {
                        crate::small::out_lane::<Small>(&zg[at + i], lam, delta, u, inv)
                    });
                    for h in 0..2 {
                        let t = transpose4(core::array::from_fn(|i| cols[i][h]));
                        for (jj, v) in t.into_iter().enumerate() {
                            let j = 4 * h + jj;
                            if mask >> j & 1 != 0 {
                                vst1q_f32(rows[j].add(at), v);
                            }
                        }
                    }
                }
                c += 4;
            }
        }
        #[inline(always)]
        unsafe fn load_vjp(
            y: &[f32],
            g: &[f32],
            count: usize,
            scratch: &mut [Lane],
            gt: &mut [Lane],
        ) {
            let n = scratch.len();
            let total = count * n;
            if n < 4
                || gt.len() < n
                || !(1..=8).contains(&count)
                || y.len() < total
                || g.len() < total
            {
                return crate::small::load_vjp_scalar(y, g, count, scratch, gt);
            }
            let flat: &mut [f32] = scratch.as_flattened_mut();
            let full = total / 4;
            // SAFETY: NEON; vector v reads values `4v..4v + 4 ≤ total` of `y` and `g` and
            // writes those of `flat` (`8n ≥ total` values).
            unsafe {
                let (zero, one, nan) = (vdupq_n_f32(0.0), vdupq_n_f32(1.0), vdupq_n_f32(f32::NAN));
                for v in 0..full {
                    let at = 4 * v;
                    let yv = vld1q_f32(y.as_ptr().add(at));
                    let free = vandq_u32(vcgtq_f32(yv, zero), vcltq_f32(yv, one));
                    let gv = vld1q_f32(g.as_ptr().add(at));
                    vst1q_f32(flat.as_mut_ptr().add(at), vbslq_f32(free, gv, nan));
                }
            }
            for p in full * 4..total {
                flat[p] = if y[p] > 0.0 && y[p] < 1.0 {
                    g[p]
                } else {
                    f32::NAN
                };
            }
            let rows = crate::small::row_ptrs(&flat[..total], n, count);
            // SAFETY: row `j.min(count − 1)` of `flat[..total]` holds n ≥ 4 values.
            unsafe { rows_in(&rows, n, gt) };
        }
        #[inline(always)]
        #[allow(clippy::too_many_arguments)]
        unsafe fn store_vjp(
            y: &[f32],
            g: &[f32],
            n: usize,
            idx: &[ILane],
            mean: V,
            s: V,
            out: &mut [f32],
            count: usize,
        ) {
            let total = count * n;
            let full = total / 4;
            let (mut m, mut sv) = ([0.0f32; 8], [0.0f32; 8]);
            // SAFETY: NEON; 8 `f32` each.
            unsafe { (Self::store(&mut m, mean), Self::store(&mut sv, s)) };
            let idx = idx.as_flattened();
            if count > 8
                || y.len() < total
                || g.len() < total
                || out.len() < total
                || idx.len() < total
            {
                return crate::small::store_vjp_values(y, g, n, &m, sv[0], out, count);
            }
            // SAFETY: NEON; vector v reads and writes values `4v..4v + 4 ≤ total` (checked
            // above), and the table lookup reads the 32 bytes of `mean`.
            unsafe {
                let (zero, one) = (vdupq_n_f32(0.0), vdupq_n_f32(1.0));
                let table =
                    uint8x16x2_t(vreinterpretq_u8_f32(mean[0]), vreinterpretq_u8_f32(mean[1]));
                // the bytes of lane r of `mean`: 4r, 4r + 1, 4r + 2, 4r + 3
                let (four, bytes) = (vdupq_n_u32(0x0404_0404), vdupq_n_u32(0x0302_0100));
                for v in 0..full {
                    let at = 4 * v;
                    let yv = vld1q_f32(y.as_ptr().add(at));
                    let free = vandq_u32(vcgtq_f32(yv, zero), vcltq_f32(yv, one));
                    // each value's row mean (lane `(4v + i)/n` of `mean`)
                    let r = vreinterpretq_u32_s32(vld1q_s32(idx.as_ptr().add(at)));
                    let sel = vreinterpretq_u8_u32(vmlaq_u32(bytes, r, four));
                    let mv = vreinterpretq_f32_u8(vqtbl2q_u8(table, sel));
                    let gv = vsubq_f32(vld1q_f32(g.as_ptr().add(at)), mv);
                    let o = vmulq_f32(gv, s[0]);
                    let o = vreinterpretq_f32_u32(vandq_u32(free, vreinterpretq_u32_f32(o)));
                    vst1q_f32(out.as_mut_ptr().add(at), o);
                }
            }
            // the last `total mod 4` values, one at a time
            for p in full * 4..total {
                out[p] = crate::small::vjp_value(y[p], g[p], m[(p / n).min(7)], sv[0]);
            }
        }
        #[inline(always)]
        unsafe fn or(a: I, b: I) -> I {
            // SAFETY: NEON.
            unsafe { two!(vorrq_s32, a, b) }
        }
        #[inline(always)]
        unsafe fn or_v(a: V, m: I, b: V) -> V {
            // SAFETY: NEON.
            unsafe {
                let or = |a: float32x4_t, m: int32x4_t, b: float32x4_t| {
                    let mb = vandq_u32(u(m), vreinterpretq_u32_f32(b));
                    vreinterpretq_f32_u32(vorrq_u32(vreinterpretq_u32_f32(a), mb))
                };
                [or(a[0], m[0], b[0]), or(a[1], m[1], b[1])]
            }
        }
        #[inline(always)]
        unsafe fn andnot(a: I, b: I) -> I {
            // `!a & b` (`bic b, a`)
            // SAFETY: NEON.
            unsafe { two!(|a, b| vbicq_s32(b, a), a, b) }
        }
        #[inline(always)]
        unsafe fn eq_i(a: I, b: I) -> I {
            // SAFETY: NEON.
            unsafe { two!(|a, b| s(vceqq_s32(a, b)), a, b) }
        }
        #[inline(always)]
        unsafe fn gt_i(a: I, b: I) -> I {
            // SAFETY: NEON.
            unsafe { two!(|a, b| s(vcgtq_s32(a, b)), a, b) }
        }
        #[inline(always)]
        unsafe fn max_i(a: I, b: I) -> I {
            // SAFETY: NEON.
            unsafe { two!(vmaxq_s32, a, b) }
        }
        #[inline(always)]
        unsafe fn select(m: I, a: V, b: V) -> V {
            // `m != 0 ? a : b` per lane; masks are all ones or zero, so a bitwise select
            // SAFETY: NEON.
            unsafe {
                [
                    vbslq_f32(vtstq_s32(m[0], m[0]), a[0], b[0]),
                    vbslq_f32(vtstq_s32(m[1], m[1]), a[1], b[1]),
                ]
            }
        }
        #[inline(always)]
        unsafe fn any(m: I) -> bool {
            // SAFETY: NEON.
            unsafe { vmaxvq_u32(vorrq_u32(u(m[0]), u(m[1]))) != 0 }
        }
        #[inline(always)]
        unsafe fn bits(m: I) -> u32 {
            // each lane's sign bit, shifted to its place, summed
            // SAFETY: NEON; the shifts are 4 readable `i32`.
            unsafe {
                let at = [0i32, 1, 2, 3];
                let at = vld1q_s32(at.as_ptr());
                let lo = vaddvq_u32(vshlq_u32(vshrq_n_u32::<31>(u(m[0])), at));
                let hi = vaddvq_u32(vshlq_u32(vshrq_n_u32::<31>(u(m[1])), at));
                lo | hi << 4
            }
        }
        #[inline(always)]
        unsafe fn lane_mask(b: u32) -> I {
            // SAFETY: NEON; the places are 8 readable `u32`.
            unsafe {
                let place = [1u32, 2, 4, 8, 16, 32, 64, 128];
                let v = vdupq_n_u32(b);
                [
                    s(vtstq_u32(v, vld1q_u32(place.as_ptr()))),
                    s(vtstq_u32(v, vld1q_u32(place.as_ptr().add(4)))),
                ]
            }
        }
        #[inline(always)]
        unsafe fn widen_i(i: I, hi: bool) -> D {
            // SAFETY: NEON; i32 → i64 → f64 is exact.
            unsafe {
                let v = i[hi as usize];
                [
                    vcvtq_f64_s64(vmovl_s32(vget_low_s32(v))),
                    vcvtq_f64_s64(vmovl_high_s32(v)),
                ]
            }
        }
        #[inline(always)]
        unsafe fn widen(v: V, hi: bool) -> D {
            // SAFETY: NEON; f32 → f64 is exact.
            unsafe {
                let v = v[hi as usize];
                [vcvt_f64_f32(vget_low_f32(v)), vcvt_high_f64_f32(v)]
            }
        }
        #[inline(always)]
        unsafe fn narrow(lo: D, hi: D) -> V {
            // SAFETY: NEON; `fcvtn` rounds to nearest (FPCR's default mode).
            unsafe {
                [
                    vcvt_high_f32_f64(vcvt_f32_f64(lo[0]), lo[1]),
                    vcvt_high_f32_f64(vcvt_f32_f64(hi[0]), hi[1]),
                ]
            }
        }
        #[inline(always)]
        unsafe fn load_d(p: &[f64; 4]) -> D {
            // SAFETY: NEON; `p` holds 4 `f64`.
            unsafe { [vld1q_f64(p.as_ptr()), vld1q_f64(p.as_ptr().add(2))] }
        }
        #[inline(always)]
        unsafe fn store_d(p: &mut [f64; 4], v: D) {
            // SAFETY: NEON; `p` holds 4 writable `f64`.
            unsafe {
                vst1q_f64(p.as_mut_ptr(), v[0]);
                vst1q_f64(p.as_mut_ptr().add(2), v[1]);
            }
        }
        #[inline(always)]
        unsafe fn abs(a: V) -> V {
            // SAFETY: NEON (`fabs` clears the sign bit, NaN included).
            unsafe { one!(vabsq_f32, a) }
        }
        #[inline(always)]
        unsafe fn div(a: V, b: V) -> V {
            // SAFETY: NEON.
            unsafe { two!(vdivq_f32, a, b) }
        }
        #[inline(always)]
        unsafe fn sqrt(a: V) -> V {
            // SAFETY: NEON.
            unsafe { one!(vsqrtq_f32, a) }
        }
        #[inline(always)]
        unsafe fn to_f32(i: I) -> V {
            // SAFETY: NEON (`scvtf`, to nearest).
            unsafe { one!(vcvtq_f32_s32, i) }
        }
        #[inline(always)]
        unsafe fn splat_d(v: f64) -> D {
            // SAFETY: NEON.
            unsafe { [vdupq_n_f64(v); 2] }
        }
        #[inline(always)]
        unsafe fn add_d(a: D, b: D) -> D {
            // SAFETY: NEON.
            unsafe { two!(vaddq_f64, a, b) }
        }
        #[inline(always)]
        unsafe fn sub_d(a: D, b: D) -> D {
            // SAFETY: NEON.
            unsafe { two!(vsubq_f64, a, b) }
        }
        #[inline(always)]
        unsafe fn div_d(a: D, b: D) -> D {
            // SAFETY: NEON.
            unsafe { two!(vdivq_f64, a, b) }
        }
    }
}
