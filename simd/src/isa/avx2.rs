//! AVX2 primitives (x86-64): [`Lanes`](crate::isa::Lanes) for 256-bit vectors of 8 `f32`
//! ([`F32x8`]) or 4 `f64` ([`F64x4`]), and the kernels' `#[target_feature(enable = "avx2")]`
//! entry points.
//!
//! Written with `core::arch` intrinsics inside `#[target_feature(enable = "avx2")]`
//! functions, so a build without `-C target-cpu` still emits `ymm` instructions here; the
//! dispatcher in [`crate::element`] calls them only after `is_x86_feature_detected!`.
//! (`wide`'s vector types pick their instructions from the *compile-time* target features, so
//! inside these functions they would still be SSE2: that is why this module uses intrinsics.)
//!
//! No fused multiply-add is used anywhere: `d = (x·s) − λ` must round twice, like the scalar
//! code, so that every path agrees on the partition and on the values written.

/// `PACK8[m]`: the indices of the *clear* bits of the 8-bit lane mask `m`, in order, one byte
/// each (unused bytes 0): the `vpermps` control that moves the unmasked `f32` lanes to the
/// front (see `compress_unset`).
static PACK8: [u64; 256] = pack_table::<256>(8, false);
/// `PACK4[m]`: as [`PACK8`] for 4 `f64` lanes, as pairs of `f32` lane indices.
static PACK4: [u64; 16] = pack_table::<16>(4, true);
/// `CLEAR8[m]`, `CLEAR4[m]`: the number of clear bits of the 8-bit or 4-bit mask `m`.
static CLEAR8: [u8; 256] = clear_table::<256>(8);
static CLEAR4: [u8; 16] = clear_table::<16>(4);

const fn pack_table<const N: usize>(lanes: usize, pairs: bool) -> [u64; N] {
    let mut t = [0u64; N];
    let mut m = 0;
    while m < N {
        let (mut out, mut pos, mut j) = (0u64, 0, 0);
        while j < lanes {
            if (m >> j) & 1 == 0 {
                if pairs {
                    out |= ((2 * j) as u64) << (8 * pos);
                    out |= ((2 * j + 1) as u64) << (8 * (pos + 1));
                    pos += 2;
                } else {
                    out |= (j as u64) << (8 * pos);
                    pos += 1;
                }
            }
            j += 1;
        }
        t[m] = out;
        m += 1;
    }
    t
}

const fn clear_table<const N: usize>(lanes: usize) -> [u8; N] {
    let mut t = [0u8; N];
    let mut m = 0;
    while m < N {
        t[m] = (lanes as u32 - (m as u32).count_ones()) as u8;
        m += 1;
    }
    t
}

/// `f32` lanes: `__m256`, 8 lanes; sums widen each half with `vcvtps2pd` into 4 `f64` lanes.
#[derive(Clone, Copy, Debug)]
pub struct F32x8;

mod f32k {
    use super::*;
    use crate::isa::{FixedLanes, FixedSum, Lanes};
    use core::arch::x86_64::*;

    type T = f32;
    type V = __m256;
    type M = __m256;
    type A = __m256d;
    type C = __m256i;
    type Tile = [V; 8];
    const LANES: usize = 8;

    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn lanes(v: V) -> [T; LANES] {
        let mut a = [0.0; LANES];
        // SAFETY: `a` holds 8 f32.
        unsafe { _mm256_storeu_ps(a.as_mut_ptr(), v) };
        a
    }

    // SAFETY: each primitive computes what `Lanes` documents, lane by lane, with plain IEEE
    // operations (no fused multiply-add), and touches memory only as documented.
    unsafe impl Lanes for F32x8 {
        type T = T;
        type V = V;
        type M = M;
        type A = A;
        type C = C;
        type Tile = Tile;
        type FreeSum = FixedSum<Self>;
        const W: usize = 8;
        const SUM_FLAGS_NONFINITE: bool = true;

        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn load(p: *const T) -> V {
            // SAFETY: the caller passes a pointer to 8 readable f32 (unaligned is fine).
            unsafe { _mm256_loadu_ps(p) }
        }
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn store(p: *mut T, v: V) {
            // SAFETY: the caller passes a pointer to 8 writable f32.
            unsafe { _mm256_storeu_ps(p, v) }
        }
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn splat(v: T) -> V {
            _mm256_set1_ps(v)
        }
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn sub(a: V, b: V) -> V {
            _mm256_sub_ps(a, b)
        }
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn mul(a: V, b: V) -> V {
            _mm256_mul_ps(a, b)
        }
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn gt(a: V, b: V) -> M {
            _mm256_cmp_ps::<_CMP_GT_OQ>(a, b)
        }
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn lt(a: V, b: V) -> M {
            _mm256_cmp_ps::<_CMP_LT_OQ>(a, b)
        }
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn ge(a: V, b: V) -> M {
            _mm256_cmp_ps::<_CMP_GE_OQ>(a, b)
        }
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn le(a: V, b: V) -> M {
            _mm256_cmp_ps::<_CMP_LE_OQ>(a, b)
        }
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn and(a: M, b: M) -> M {
            _mm256_and_ps(a, b)
        }
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn all_set() -> M {
            _mm256_castsi256_ps(_mm256_set1_epi32(-1))
        }
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn all(m: M) -> bool {
            _mm256_movemask_ps(m) == 0xff
        }
        // `v` where the mask is set, `+0.0` elsewhere.
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn masked(m: M, v: V) -> V {
            _mm256_and_ps(m, v)
        }
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn min(a: V, b: V) -> V {
            _mm256_min_ps(a, b)
        }
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn max(a: V, b: V) -> V {
            _mm256_max_ps(a, b)
        }
        // `min(max(d, 0), 1)`; `vmaxps` returns its second operand (0) for NaN, like `clip01`.
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn clip01(d: V) -> V {
            _mm256_min_ps(_mm256_max_ps(d, _mm256_setzero_ps()), _mm256_set1_ps(1.0))
        }
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn abs(v: V) -> V {
            _mm256_and_ps(v, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fff_ffff)))
        }
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn reduce_min(v: V) -> T {
            // SAFETY: same target features.
            let a = unsafe { lanes(v) };
            a.iter().fold(T::MAX, |m, &x| if x < m { x } else { m })
        }
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn reduce_max(v: V) -> T {
            // SAFETY: same target features.
            let a = unsafe { lanes(v) };
            a.iter().fold(T::MIN, |m, &x| if x > m { x } else { m })
        }
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn count_zero() -> C {
            _mm256_setzero_si256()
        }
        // Adds 1 to each lane whose mask is set (a set mask lane is the integer −1).
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn count(c: C, m: M) -> C {
            _mm256_sub_epi32(c, _mm256_castps_si256(m))
        }
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn count_total(c: C) -> usize {
            let mut a = [0u32; 8];
            // SAFETY: `a` holds 32 bytes.
            unsafe { _mm256_storeu_si256(a.as_mut_ptr().cast(), c) };
            a.iter().map(|&v| v as usize).sum()
        }
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn sum_zero() -> A {
            _mm256_setzero_pd()
        }
        // Widens the low and the high four lanes to `f64` (exact) and adds them to `a` and `b`.
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn sum_add(a: &mut A, b: &mut A, v: V) {
            *a = _mm256_add_pd(*a, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
            *b = _mm256_add_pd(*b, _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(v)));
        }
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn sum_total(a: A) -> f64 {
            let mut l = [0.0f64; 4];
            // SAFETY: `l` holds 4 f64.
            unsafe { _mm256_storeu_pd(l.as_mut_ptr(), a) };
            (l[0] + l[1]) + (l[2] + l[3])
        }
        // Lane-wise `a | b` of two masks.
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn or(a: M, b: M) -> M {
            _mm256_or_ps(a, b)
        }
        // Non-temporal store of `v` at `p`, which must be 32-byte aligned.
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn stream(p: *mut T, v: V) {
            // SAFETY: the caller passes a 32-byte aligned pointer to 8 writable f32.
            unsafe { _mm256_stream_ps(p, v) }
        }
        // Orders the streaming stores before later memory accesses.
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn stream_fence() {
            _mm_sfence()
        }
        // Stores the lanes of `v` whose mask lane is *clear*, in order, at `p`, and returns how
        // many there are. Writes all 8 slots `p[0..8]` (those past the count hold other lanes).
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn compress_clear(p: *mut T, v: V, m: M) -> usize {
            let bits = (_mm256_movemask_ps(m) & 0xff) as usize;
            // SAFETY: `bits < 256` indexes the table (8 readable bytes at that entry); the caller
            // passes a pointer to 8 writable f32.
            unsafe {
                let ctl = _mm_loadl_epi64(super::PACK8.as_ptr().add(bits).cast());
                let idx = _mm256_cvtepu8_epi32(ctl);
                _mm256_storeu_ps(p, _mm256_permutevar8x32_ps(v, idx));
            }
            super::CLEAR8[bits] as usize
        }
        // Lanes whose label `*p.add(j)` equals `c` (8 `u32` labels).
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn label_mask(p: *const u32, c: u32) -> M {
            // SAFETY: the caller passes a pointer to 8 readable u32 (unaligned is fine).
            let l = unsafe { _mm256_loadu_si256(p.cast()) };
            _mm256_castsi256_ps(_mm256_cmpeq_epi32(l, _mm256_set1_epi32(c as i32)))
        }
        // Transposes the 8×8 tile `v` (rows in, columns out).
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn transpose_tile(v: &mut Tile) {
            let [r0, r1, r2, r3, r4, r5, r6, r7] = *v;
            let (t0, t1) = (_mm256_unpacklo_ps(r0, r1), _mm256_unpackhi_ps(r0, r1));
            let (t2, t3) = (_mm256_unpacklo_ps(r2, r3), _mm256_unpackhi_ps(r2, r3));
            let (t4, t5) = (_mm256_unpacklo_ps(r4, r5), _mm256_unpackhi_ps(r4, r5));
            let (t6, t7) = (_mm256_unpacklo_ps(r6, r7), _mm256_unpackhi_ps(r6, r7));
            let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
            let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
            let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
            let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
            let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
            let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
            let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
            let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
            *v = [
                _mm256_permute2f128_ps::<0x20>(u0, u4),
                _mm256_permute2f128_ps::<0x20>(u1, u5),
                _mm256_permute2f128_ps::<0x20>(u2, u6),
                _mm256_permute2f128_ps::<0x20>(u3, u7),
                _mm256_permute2f128_ps::<0x31>(u0, u4),
                _mm256_permute2f128_ps::<0x31>(u1, u5),
                _mm256_permute2f128_ps::<0x31>(u2, u6),
                _mm256_permute2f128_ps::<0x31>(u3, u7),
            ];
        }

        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn tile() -> Tile {
            [_mm256_setzero_ps(); 8]
        }
    }

    // SAFETY: as for `Lanes`.
    unsafe impl FixedLanes for F32x8 {
        // Adds `round(d·2^23)` (half up) to the lanes of `q` whose mask is set, where the caller
        // guarantees `0 < d < 1` (a free-set mask): the free-set sum in the core crate's fixed
        // point (`Real::to_fixed`), exact in integers.
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn fixed_add(q: C, m: M, d: V) -> C {
            // d·2^23 + 0.5 is exact where 0 < d < 1 (a 24-bit mantissa) and the conversion
            // truncates: round half up, as `Real::to_fixed`. Other lanes convert to anything
            // (the "integer indefinite" for NaN, ±∞ and overflow) and are masked off: no clip.
            let t = _mm256_add_ps(
                _mm256_mul_ps(d, _mm256_set1_ps(8_388_608.0)),
                _mm256_set1_ps(0.5),
            );
            _mm256_add_epi32(
                q,
                _mm256_and_si256(_mm256_cvttps_epi32(t), _mm256_castps_si256(m)),
            )
        }
        // The lanes of `q` added up.
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn fixed_total(q: C) -> i64 {
            let mut a = [0i32; 8];
            // SAFETY: `a` holds 32 bytes.
            unsafe { _mm256_storeu_si256(a.as_mut_ptr().cast(), q) };
            a.iter().map(|&v| v as i64).sum()
        }
        // As `fixed_add`, rounding to nearest (ties to even) instead of half up: one instruction
        // fewer, for the split pass, whose sums are not compared bit for bit with the core's.
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn fixed_add_nearest(q: C, m: M, d: V) -> C {
            let t = _mm256_cvtps_epi32(_mm256_mul_ps(d, _mm256_set1_ps(8_388_608.0)));
            _mm256_add_epi32(q, _mm256_and_si256(t, _mm256_castps_si256(m)))
        }
    }
}

/// `f64` lanes: `__m256d`, 4 lanes.
#[derive(Clone, Copy, Debug)]
pub struct F64x4;

mod f64k {
    use super::*;
    use crate::isa::{LaneSum, Lanes};
    use core::arch::x86_64::*;

    type T = f64;
    type V = __m256d;
    type M = __m256d;
    type A = __m256d;
    type C = __m256i;
    type Tile = [V; 4];
    const LANES: usize = 4;

    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn lanes(v: V) -> [T; LANES] {
        let mut a = [0.0; LANES];
        // SAFETY: `a` holds 4 f64.
        unsafe { _mm256_storeu_pd(a.as_mut_ptr(), v) };
        a
    }

    // SAFETY: each primitive computes what `Lanes` documents, lane by lane, with plain IEEE
    // operations (no fused multiply-add), and touches memory only as documented.
    unsafe impl Lanes for F64x4 {
        type T = T;
        type V = V;
        type M = M;
        type A = A;
        type C = C;
        type Tile = Tile;
        type FreeSum = LaneSum<Self>;
        const W: usize = 4;
        const SUM_FLAGS_NONFINITE: bool = false;

        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn load(p: *const T) -> V {
            // SAFETY: the caller passes a pointer to 4 readable f64 (unaligned is fine).
            unsafe { _mm256_loadu_pd(p) }
        }
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn store(p: *mut T, v: V) {
            // SAFETY: the caller passes a pointer to 4 writable f64.
            unsafe { _mm256_storeu_pd(p, v) }
        }
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn splat(v: T) -> V {
            _mm256_set1_pd(v)
        }
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn sub(a: V, b: V) -> V {
            _mm256_sub_pd(a, b)
        }
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn mul(a: V, b: V) -> V {
            _mm256_mul_pd(a, b)
        }
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn gt(a: V, b: V) -> M {
            _mm256_cmp_pd::<_CMP_GT_OQ>(a, b)
        }
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn lt(a: V, b: V) -> M {
            _mm256_cmp_pd::<_CMP_LT_OQ>(a, b)
        }
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn ge(a: V, b: V) -> M {
            _mm256_cmp_pd::<_CMP_GE_OQ>(a, b)
        }
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn le(a: V, b: V) -> M {
            _mm256_cmp_pd::<_CMP_LE_OQ>(a, b)
        }
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn and(a: M, b: M) -> M {
            _mm256_and_pd(a, b)
        }
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn all_set() -> M {
            _mm256_castsi256_pd(_mm256_set1_epi64x(-1))
        }
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn all(m: M) -> bool {
            _mm256_movemask_pd(m) == 0xf
        }
        // `v` where the mask is set, `+0.0` elsewhere.
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn masked(m: M, v: V) -> V {
            _mm256_and_pd(m, v)
        }
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn min(a: V, b: V) -> V {
            _mm256_min_pd(a, b)
        }
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn max(a: V, b: V) -> V {
            _mm256_max_pd(a, b)
        }
        // `min(max(d, 0), 1)`; `vmaxpd` returns its second operand (0) for NaN, like `clip01`.
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn clip01(d: V) -> V {
            _mm256_min_pd(_mm256_max_pd(d, _mm256_setzero_pd()), _mm256_set1_pd(1.0))
        }
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn abs(v: V) -> V {
            _mm256_and_pd(
                v,
                _mm256_castsi256_pd(_mm256_set1_epi64x(0x7fff_ffff_ffff_ffff)),
            )
        }
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn reduce_min(v: V) -> T {
            // SAFETY: same target features.
            let a = unsafe { lanes(v) };
            a.iter().fold(T::MAX, |m, &x| if x < m { x } else { m })
        }
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn reduce_max(v: V) -> T {
            // SAFETY: same target features.
            let a = unsafe { lanes(v) };
            a.iter().fold(T::MIN, |m, &x| if x > m { x } else { m })
        }
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn count_zero() -> C {
            _mm256_setzero_si256()
        }
        // Adds 1 to each lane whose mask is set (a set mask lane is the integer −1).
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn count(c: C, m: M) -> C {
            _mm256_sub_epi64(c, _mm256_castpd_si256(m))
        }
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn count_total(c: C) -> usize {
            let mut a = [0u64; 4];
            // SAFETY: `a` holds 32 bytes.
            unsafe { _mm256_storeu_si256(a.as_mut_ptr().cast(), c) };
            a.iter().map(|&v| v as usize).sum()
        }
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn sum_zero() -> A {
            _mm256_setzero_pd()
        }
        // Adds `v` to `a`, its rounding error to `b` (`f64` data: compensated sums).
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn sum_add(a: &mut A, b: &mut A, v: V) {
            // TwoSum: `b` collects the rounding error of every addition (issue 13).
            let t = _mm256_add_pd(*a, v);
            let bb = _mm256_sub_pd(t, *a);
            let e = _mm256_add_pd(
                _mm256_sub_pd(*a, _mm256_sub_pd(t, bb)),
                _mm256_sub_pd(v, bb),
            );
            *b = _mm256_add_pd(*b, e);
            *a = t;
        }
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn sum_total(a: A) -> f64 {
            let mut l = [0.0f64; 4];
            // SAFETY: `l` holds 4 f64.
            unsafe { _mm256_storeu_pd(l.as_mut_ptr(), a) };
            (l[0] + l[1]) + (l[2] + l[3])
        }
        // Lane-wise `a | b` of two masks.
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn or(a: M, b: M) -> M {
            _mm256_or_pd(a, b)
        }
        // Non-temporal store of `v` at `p`, which must be 32-byte aligned.
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn stream(p: *mut T, v: V) {
            // SAFETY: the caller passes a 32-byte aligned pointer to 4 writable f64.
            unsafe { _mm256_stream_pd(p, v) }
        }
        // Orders the streaming stores before later memory accesses.
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn stream_fence() {
            _mm_sfence()
        }
        // Stores the lanes of `v` whose mask lane is *clear*, in order, at `p`, and returns how
        // many there are. Writes all 4 slots `p[0..4]` (those past the count hold other lanes).
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn compress_clear(p: *mut T, v: V, m: M) -> usize {
            let bits = (_mm256_movemask_pd(m) & 0xf) as usize;
            // SAFETY: `bits < 16` indexes the table (8 readable bytes at that entry); the caller
            // passes a pointer to 4 writable f64.
            unsafe {
                let ctl = _mm_loadl_epi64(super::PACK4.as_ptr().add(bits).cast());
                let idx = _mm256_cvtepu8_epi32(ctl);
                let moved = _mm256_permutevar8x32_ps(_mm256_castpd_ps(v), idx);
                _mm256_storeu_pd(p, _mm256_castps_pd(moved));
            }
            super::CLEAR4[bits] as usize
        }
        // Lanes whose label `*p.add(j)` equals `c` (4 `u32` labels, widened to 64 bits).
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn label_mask(p: *const u32, c: u32) -> M {
            // SAFETY: the caller passes a pointer to 4 readable u32 (unaligned is fine).
            let l = _mm256_cvtepu32_epi64(unsafe { _mm_loadu_si128(p.cast()) });
            _mm256_castsi256_pd(_mm256_cmpeq_epi64(l, _mm256_set1_epi64x(c as i64)))
        }
        // Transposes the 4×4 tile `v` (rows in, columns out).
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn transpose_tile(v: &mut Tile) {
            let [r0, r1, r2, r3] = *v;
            let (t0, t1) = (_mm256_unpacklo_pd(r0, r1), _mm256_unpackhi_pd(r0, r1));
            let (t2, t3) = (_mm256_unpacklo_pd(r2, r3), _mm256_unpackhi_pd(r2, r3));
            *v = [
                _mm256_permute2f128_pd::<0x20>(t0, t2),
                _mm256_permute2f128_pd::<0x20>(t1, t3),
                _mm256_permute2f128_pd::<0x31>(t0, t2),
                _mm256_permute2f128_pd::<0x31>(t1, t3),
            ];
        }

        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn tile() -> Tile {
            [_mm256_setzero_pd(); 4]
        }
    }
}

crate::kernels::entry_points!("avx2");

use core::arch::x86_64::*;

/// Columns `at..at + 4` of eight rows (`rows[j]` points to row j, at least `at + 4` values):
/// four vectors, lane j from row j (two 4×4 transposes, rows j and j + 4 in the two halves).
///
/// # Safety
/// AVX2; each pointer valid for reading `at + 4` values.
#[inline(always)]
unsafe fn narrow_in(rows: &[*const f32; 8], at: usize) -> [__m256; 4] {
    // SAFETY: the caller's contract.
    unsafe {
        let mut v = [_mm256_setzero_ps(); 4];
        for (j, vj) in v.iter_mut().enumerate() {
            let lo = _mm_loadu_ps(rows[j].add(at));
            let hi = _mm_loadu_ps(rows[j + 4].add(at));
            *vj = _mm256_set_m128(hi, lo);
        }
        transpose4_halves(v)
    }
}

/// Receives the columns of 8 rows from [`walk_in`]: `cols[i]` holds column `at + i` (lane j
/// from row j), new for `i ≥ skip`.
trait ColsIn {
    /// Whether [`walk_in`] takes all columns in 4-column tiles (half-width loads and fewer
    /// shuffles; faster for the forward's loading, whose arithmetic competes for the shuffle
    /// ports, slower for the VJP's plain transposition: measured, `rowsbench`).
    const NARROW: bool;
    /// # Safety
    /// AVX2.
    unsafe fn take(&mut self, at: usize, cols: &[__m256], skip: usize);
}

/// Produces the output columns for [`walk_out`]: `col(i)` holds column i (lane j for row j).
trait ColsOut {
    /// # Safety
    /// AVX2.
    unsafe fn col(&self, i: usize) -> __m256;
}

/// Walks 8 rows of `n ≥ 4` values in column order and hands their columns to `sink`, each
/// once: 8×8 tiles (unless `C::NARROW`), then 4-column tiles (`narrow_in`), and the last
/// `n mod 4` columns as pairs ([`pair_in`]) when they are two, else from the 4-column tile
/// ending at n.
///
/// # Safety
/// AVX2; each pointer valid for reading n values.
#[inline(always)]
unsafe fn walk_in<C: ColsIn>(rows: &[*const f32; 8], n: usize, sink: &mut C) {
    // SAFETY: AVX2; each tile reads columns `c..c + 8 ≤ n`, `c..c + 4 ≤ n` or `c..c + 2 = n`
    // of each row.
    unsafe {
        let mut c = 0;
        while c + 8 <= n && !C::NARROW {
            let mut t = [_mm256_setzero_ps(); 8];
            for (v, r) in t.iter_mut().zip(rows) {
                *v = _mm256_loadu_ps(r.add(c));
            }
            <F32x8 as crate::isa::Lanes>::transpose_tile(&mut t);
            sink.take(c, &t, 0);
            c += 8;
        }
        while c + 4 <= n {
            sink.take(c, &narrow_in(rows, c), 0);
            c += 4;
        }
        if n - c == 2 {
            sink.take(c, &pair_in(rows, c), 0);
        } else if c < n {
            sink.take(n - 4, &narrow_in(rows, n - 4), 4 - (n - c));
        }
    }
}

/// Columns `at`, `at + 1` of eight rows (lane j from row j): the last two columns of rows of
/// `n ≡ 2 (mod 4)`, one 8-byte load per row, without a 4-column tile over two columns taken
/// already (`rowsbench`, one thread, forward 65536 × 10 and 32768 × 18 0.90–0.93×, 32768 × 6
/// 0.96×, in alternation).
///
/// # Safety
/// AVX2; each pointer valid for reading `at + 2` values.
#[inline(always)]
unsafe fn pair_in(rows: &[*const f32; 8], at: usize) -> [__m256; 2] {
    // SAFETY: the caller's contract; the 8-byte loads are unaligned reads.
    unsafe {
        let pair = |a: usize, b: usize| {
            let lo = rows[a].add(at).cast::<f64>().read_unaligned();
            let hi = rows[b].add(at).cast::<f64>().read_unaligned();
            _mm_castpd_ps(_mm_set_pd(hi, lo))
        };
        // (x_j, x'_j) pairs: rows 0, 1 | 4, 5 and rows 2, 3 | 6, 7
        let lo = _mm256_set_m128(pair(4, 5), pair(0, 1));
        let hi = _mm256_set_m128(pair(6, 7), pair(2, 3));
        [
            _mm256_shuffle_ps::<0b10_00_10_00>(lo, hi),
            _mm256_shuffle_ps::<0b11_01_11_01>(lo, hi),
        ]
    }
}

/// The VJP's masked `g` in lanes (`small::Ops::load_vjp_tiles`): the tiles of [`walk_in`] over
/// the rows of `g` and of `y` together, each row vector of `g` replaced by NaN where its `y` is
/// not in `(0, 1)` while still in registers, then only `g` transposed into `out` (columns
/// `0..n`, `n ≥ 4`). Against transposing `y` too and taking the free set in lanes: about 30
/// vector operations fewer per 8 × 8 tile, and nothing stored to be read back.
///
/// # Safety
/// AVX2; each pointer valid for reading n values; `out` holds n lanes.
#[inline(always)]
unsafe fn walk_in_masked(
    yr: &[*const f32; 8],
    gr: &[*const f32; 8],
    n: usize,
    out: &mut [crate::small::Lane],
) {
    // SAFETY: AVX2; each tile reads columns `c..c + 8 ≤ n` or `c..c + 4 ≤ n` of each row and
    // writes lanes `c..c + 8` or `c..c + 4` of `out` (n lanes).
    unsafe {
        let (zero, one, nan) = (
            _mm256_setzero_ps(),
            _mm256_set1_ps(1.0),
            _mm256_set1_ps(f32::NAN),
        );
        let masked = |yv: __m256, gv: __m256| {
            let free = _mm256_and_ps(
                _mm256_cmp_ps::<_CMP_GT_OQ>(yv, zero),
                _mm256_cmp_ps::<_CMP_LT_OQ>(yv, one),
            );
            _mm256_blendv_ps(nan, gv, free)
        };
        let mut c = 0;
        while c + 8 <= n {
            let mut t = [_mm256_setzero_ps(); 8];
            for (j, v) in t.iter_mut().enumerate() {
                *v = masked(_mm256_loadu_ps(yr[j].add(c)), _mm256_loadu_ps(gr[j].add(c)));
            }
            <F32x8 as crate::isa::Lanes>::transpose_tile(&mut t);
            for (o, v) in out[c..c + 8].iter_mut().zip(t) {
                _mm256_storeu_ps(o.as_mut_ptr(), v);
            }
            c += 8;
        }
        // 4-column tiles, the last one ending at n (its first columns again, the same values;
        // pairs for two last columns, as the forward's loading takes them, measured no faster
        // here: `rowsbench` 65536 × 10 VJP 0.99–1.02×)
        while c < n {
            let at = c.min(n - 4);
            let mut v = [_mm256_setzero_ps(); 4];
            for (j, vj) in v.iter_mut().enumerate() {
                let yv =
                    _mm256_set_m128(_mm_loadu_ps(yr[j + 4].add(at)), _mm_loadu_ps(yr[j].add(at)));
                let gv =
                    _mm256_set_m128(_mm_loadu_ps(gr[j + 4].add(at)), _mm_loadu_ps(gr[j].add(at)));
                *vj = masked(yv, gv);
            }
            for (o, col) in out[at..at + 4].iter_mut().zip(transpose4_halves(v)) {
                _mm256_storeu_ps(o.as_mut_ptr(), col);
            }
            c += 4;
        }
    }
}

/// Writes columns `0..n` (`n ≥ 4`) of `src` into the rows whose bit of `mask` is set, by the
/// tiles of [`walk_in`] (the last tile's first columns are written twice, with the same values),
/// except that two last columns go out as pairs ([`pair_out`]).
///
/// # Safety
/// AVX2; each pointer with its bit set valid for writing n values.
#[inline(always)]
unsafe fn walk_out<C: ColsOut>(rows: &[*mut f32; 8], n: usize, mask: u32, src: &C) {
    // SAFETY: AVX2; each tile writes columns `c..c + 8 ≤ n`, `c..c + 4 ≤ n` or `c..c + 2 = n`
    // of the rows with their bit set.
    unsafe {
        let mut c = 0;
        while c + 8 <= n {
            let mut t = [_mm256_setzero_ps(); 8];
            for (i, v) in t.iter_mut().enumerate() {
                *v = src.col(c + i);
            }
            <F32x8 as crate::isa::Lanes>::transpose_tile(&mut t);
            for (j, (tv, r)) in t.into_iter().zip(rows).enumerate() {
                if mask >> j & 1 != 0 {
                    _mm256_storeu_ps(r.add(c), tv);
                }
            }
            c += 8;
        }
        while c < n {
            if n - c == 2 {
                // two columns left (n = 10, 18, …): pairs of values, not a 4-column tile
                // that would compute and write two columns again
                pair_out(rows, c, mask, src.col(c), src.col(c + 1));
                break;
            }
            let at = c.min(n - 4);
            let cols = [
                src.col(at),
                src.col(at + 1),
                src.col(at + 2),
                src.col(at + 3),
            ];
            narrow_out(rows, at, mask, cols);
            c += 4;
        }
    }
}

/// Columns `at` and `at + 1` (`a`, `b`: lane j for row j) into the rows whose bit of `mask` is
/// set, one 8-byte store per row.
///
/// # Safety
/// AVX2; each pointer with its bit set valid for writing `at + 2` values.
#[inline(always)]
unsafe fn pair_out(rows: &[*mut f32; 8], at: usize, mask: u32, a: __m256, b: __m256) {
    // SAFETY: the caller's contract; the 8-byte stores are unaligned writes.
    unsafe {
        // (a_j, b_j) pairs: rows 0, 1 | 4, 5 in `lo`, rows 2, 3 | 6, 7 in `hi`
        let (lo, hi) = (_mm256_unpacklo_ps(a, b), _mm256_unpackhi_ps(a, b));
        let halves = [
            _mm256_castps256_ps128(lo),
            _mm256_castps256_ps128(hi),
            _mm256_extractf128_ps::<1>(lo),
            _mm256_extractf128_ps::<1>(hi),
        ];
        for (h, v) in halves.into_iter().enumerate() {
            let v = _mm_castps_si128(v);
            // rows 2h and 2h + 1 of the order 0, 1, 2, 3, 4, 5, 6, 7
            let j = 2 * h;
            if mask >> j & 1 != 0 {
                _mm_storel_epi64(rows[j].add(at).cast(), v);
            }
            if mask >> (j + 1) & 1 != 0 {
                let p = rows[j + 1].add(at).cast::<i64>();
                p.write_unaligned(_mm_extract_epi64::<1>(v));
            }
        }
    }
}

/// The forward's loading sink: `z = fl(x·s)·u` into `zg`, summed in column order into
/// `st = (Σz, min z, max z)` (`small::scale_lanes`).
struct Scaled<'a> {
    zg: &'a mut [crate::small::Lane],
    s: __m256,
    u: __m256,
    st: (__m256, __m256, __m256),
}

impl ColsIn for Scaled<'_> {
    const NARROW: bool = true;
    #[inline(always)]
    unsafe fn take(&mut self, at: usize, cols: &[__m256], skip: usize) {
        for (zi, &v) in self.zg[at..].iter_mut().zip(cols).skip(skip) {
            // SAFETY: AVX2; `zi` holds 8 `f32`.
            unsafe {
                let z = _mm256_mul_ps(_mm256_mul_ps(v, self.s), self.u);
                _mm256_storeu_ps(zi.as_mut_ptr(), z);
                let (sum, lo, hi) = self.st;
                self.st = (
                    _mm256_add_ps(sum, z),
                    _mm256_min_ps(lo, z),
                    _mm256_max_ps(hi, z),
                );
            }
        }
    }
}

/// The plain transposition sink.
struct Plain<'a> {
    out: &'a mut [crate::small::Lane],
}

impl ColsIn for Plain<'_> {
    const NARROW: bool = false;
    #[inline(always)]
    unsafe fn take(&mut self, at: usize, cols: &[__m256], skip: usize) {
        for (o, &v) in self.out[at..].iter_mut().zip(cols).skip(skip) {
            // SAFETY: AVX2; `o` holds 8 `f32`.
            unsafe { _mm256_storeu_ps(o.as_mut_ptr(), v) };
        }
    }
}

/// The 8 lanes of `v`.
///
/// # Safety
/// AVX2.
#[inline(always)]
unsafe fn lanes(v: __m256) -> [f32; 8] {
    let mut a = [0.0f32; 8];
    // SAFETY: AVX2; `a` holds 8 `f32`.
    unsafe { _mm256_storeu_ps(a.as_mut_ptr(), v) };
    a
}

/// Whether [`crate::small::Ops::load_vjp`]'s vector routes apply: rows of `n = scratch.len() ≥
/// 4`, `1 ≤ count ≤ 8` of them in `y` and `g`, and `n` lanes in `gt` (else the scalar route).
#[inline(always)]
fn vjp_fits(
    y: &[f32],
    g: &[f32],
    count: usize,
    scratch: &[crate::small::Lane],
    gt: &[crate::small::Lane],
) -> bool {
    let (n, total) = (scratch.len(), count * scratch.len());
    n >= 4 && gt.len() >= n && (1..=8).contains(&count) && y.len() >= total && g.len() >= total
}

/// Whether the VJP takes rows of `n` elements into lanes by [`walk_in_masked`]
/// ([`crate::small::Ops::load_vjp_tiles`]: each register tile of `g` masked by its `y`, then one
/// transpose) rather than masking `g` in one sweep over the rows and transposing that from a
/// scratch copy. The sweep stores whole vectors that the transpose's row loads then read
/// across (a row of 10 starts at byte 40·j), and those loads wait for the stores; the masked
/// walk stores nothing on the way, but the sweep's copy lets the output come from it
/// ([`crate::small::Ops::store_vjp_masked`]), which pays off on longer rows. Measured
/// (`rowsbench`, one thread, 2-core AMD, 5 Dec 2026), µs, masked walk against the sweep:
/// 65536 × 10 267/310 (the walk there was two plain transposes then, 310); 32768 × 6 98/107,
/// × 12 148/170, × 15 188/221; 16384 × 4 35/36, × 8 56/56, × 16 90/99, × 24 134/137, × 32
/// 180/184, × 48 261/263, × 64 321/336, × 80 416/420, × 96 519/504.
#[inline(always)]
fn vjp_by_tiles(n: usize) -> bool {
    n <= 64
}

/// The forward's output columns (`small::out_lane`).
struct Written<'a> {
    zg: &'a [crate::small::Lane],
    lam: __m256,
    delta: __m256,
    u: __m256,
    inv: __m256,
}

impl ColsOut for Written<'_> {
    #[inline(always)]
    unsafe fn col(&self, i: usize) -> __m256 {
        // SAFETY: AVX2.
        unsafe {
            crate::small::out_lane::<Small>(&self.zg[i], self.lam, self.delta, self.u, self.inv)
        }
    }
}

/// Two 4×4 transposes, one in each 128-bit half: `out[i]` holds element `i` of each `v[j]`'s
/// half (its own inverse).
///
/// # Safety
/// AVX2.
#[inline(always)]
unsafe fn transpose4_halves(v: [__m256; 4]) -> [__m256; 4] {
    // SAFETY: AVX2.
    unsafe {
        let (t0, t1) = (
            _mm256_unpacklo_ps(v[0], v[1]),
            _mm256_unpackhi_ps(v[0], v[1]),
        );
        let (t2, t3) = (
            _mm256_unpacklo_ps(v[2], v[3]),
            _mm256_unpackhi_ps(v[2], v[3]),
        );
        let (t0, t1) = (_mm256_castps_pd(t0), _mm256_castps_pd(t1));
        let (t2, t3) = (_mm256_castps_pd(t2), _mm256_castps_pd(t3));
        [
            _mm256_castpd_ps(_mm256_unpacklo_pd(t0, t2)),
            _mm256_castpd_ps(_mm256_unpackhi_pd(t0, t2)),
            _mm256_castpd_ps(_mm256_unpacklo_pd(t1, t3)),
            _mm256_castpd_ps(_mm256_unpackhi_pd(t1, t3)),
        ]
    }
}

/// The inverse of [`narrow_in`]: columns `at..at + 4` (`cols[i]`, lane j for row j) into the
/// rows whose bit of `mask` is set.
///
/// # Safety
/// AVX2; each pointer with its bit set valid for writing `at + 4` values.
#[inline(always)]
unsafe fn narrow_out(rows: &[*mut f32; 8], at: usize, mask: u32, cols: [__m256; 4]) {
    // SAFETY: the caller's contract.
    unsafe {
        // rows j and j + 4 in the halves of r[j]
        let r = transpose4_halves(cols);
        for (j, v) in r.into_iter().enumerate() {
            if mask >> j & 1 != 0 {
                _mm_storeu_ps(rows[j].add(at), _mm256_castps256_ps128(v));
            }
            if mask >> (j + 4) & 1 != 0 {
                _mm_storeu_ps(rows[j + 4].add(at), _mm256_extractf128_ps::<1>(v));
            }
        }
    }
}

/// The short-row solver's primitives (`crate::small::Ops`; `crate::small::Portable` defines
/// each one): 8 `f32` lanes in a `__m256`, 8 `i32` lanes (and masks) in a `__m256i`.
///
/// `SmallW<true>` ([`Small512`]) is the same, plus [`crate::small::Ops::pass_pair`] on 16 lanes
/// of AVX-512 (F, VL, DQ; for code compiled with those features, after detection): both
/// groups of a block in one `__m512`, and AVX-512's mask registers for the free-set count.
#[derive(Clone, Copy)]
pub(crate) struct SmallW<const WIDE: bool>;
/// The AVX2 primitives.
pub(crate) type Small = SmallW<false>;
/// The AVX2 primitives with the AVX-512 pass.
#[cfg(hs_avx512)]
pub(crate) type Small512 = SmallW<true>;

/// [`crate::small::iterate2`] in code compiled for AVX-512 (F, VL, DQ), so that
/// [`pass_pair_512`] inlines; the loading and the write stay in AVX2 code (compiled with
/// AVX-512, LLVM rewrote their transposes and selects into mask-register and two-source permute
/// forms that ran 15–30% slower on the AMD guest).
///
/// # Safety
/// AVX2 and AVX-512 F, VL and DQ.
#[cfg(all(target_arch = "x86_64", hs_avx512))]
#[target_feature(enable = "avx2,avx512f,avx512vl,avx512dq")]
unsafe fn iterate2_512<const WIDE: bool, const ACCEL: bool>(
    a: &mut crate::small::Started<SmallW<WIDE>>,
    b: &mut crate::small::Started<SmallW<WIDE>>,
    z: [&[crate::small::Lane]; 4],
    n: usize,
    shift: u32,
) -> u32 {
    // SAFETY: the caller guarantees the features.
    unsafe { crate::small::iterate2::<SmallW<WIDE>, ACCEL>(a, b, z, n, shift) }
}

/// `a` in lanes 0–7, `b` in 8–15.
///
/// # Safety
/// AVX-512 F/DQ (inlined into code compiled with them).
#[cfg(all(target_arch = "x86_64", hs_avx512))]
#[inline(always)]
// The AVX-512 intrinsics are stable from Rust 1.89, above the workspace's minimum (1.82):
// `cfg(hs_avx512)` (simd/build.rs) builds this only with such a compiler.
#[allow(clippy::incompatible_msrv)]
unsafe fn join(a: __m256, b: __m256) -> __m512 {
    // SAFETY: the caller guarantees AVX-512 F/DQ.
    unsafe { _mm512_insertf32x8::<1>(_mm512_castps256_ps512(a), b) }
}

/// Two groups' pass sums ([`crate::small::pass_sums`]) in the lanes of one `__m512`: group 0
/// in lanes 0–7, group 1 in 8–15; the same operations lane by lane (`vminps`, `vmaxps`,
/// `vcvtps2dq`, `|h|` by clearing the sign), the count `#{|h| < ½}` through a mask register,
/// so the same bits.
///
/// # Safety
/// AVX-512 F, VL and DQ (inlined into code compiled with them); `z1.len() ≥ z0.len()`.
#[cfg(all(target_arch = "x86_64", hs_avx512))]
#[inline(always)]
#[allow(clippy::type_complexity)]
// The AVX-512 intrinsics are stable from Rust 1.89, above the workspace's minimum (1.82):
// `cfg(hs_avx512)` (simd/build.rs) builds this only with such a compiler.
#[allow(clippy::incompatible_msrv)]
unsafe fn pass_pair_512<const WITH_R: bool>(
    z0: &[crate::small::Lane],
    z1: &[crate::small::Lane],
    mu0: __m256,
    mu1: __m256,
    unit_f: f32,
) -> ((__m256i, __m256i, __m256), (__m256i, __m256i, __m256)) {
    // SAFETY: the caller guarantees AVX-512 F/VL/DQ; every load reads 8 `f32` of a `Lane`.
    unsafe {
        let mu = join(mu0, mu1);
        let half = _mm512_set1_ps(unit_f * 0.5);
        let neg_half = _mm512_set1_ps(unit_f * -0.5);
        let one = _mm512_set1_epi32(1);
        let (mut q, mut cf) = (_mm512_setzero_si512(), _mm512_setzero_si512());
        let mut r = _mm512_set1_ps(f32::INFINITY);
        for (a, b) in z0.iter().zip(z1) {
            let z = join(_mm256_loadu_ps(a.as_ptr()), _mm256_loadu_ps(b.as_ptr()));
            let h = _mm512_sub_ps(z, mu);
            let c = _mm512_min_ps(_mm512_max_ps(h, neg_half), half);
            q = _mm512_add_epi32(q, _mm512_cvtps_epi32(c));
            let ah = _mm512_abs_ps(h);
            let free = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(ah, half);
            cf = _mm512_mask_add_epi32(cf, free, cf, one);
            if WITH_R {
                r = _mm512_min_ps(r, _mm512_abs_ps(_mm512_sub_ps(ah, half)));
            }
        }
        if !WITH_R {
            r = _mm512_setzero_ps();
        }
        let lo = (
            _mm512_castsi512_si256(q),
            _mm512_castsi512_si256(cf),
            _mm512_castps512_ps256(r),
        );
        let hi = (
            _mm512_extracti32x8_epi32::<1>(q),
            _mm512_extracti32x8_epi32::<1>(cf),
            _mm512_extractf32x8_ps::<1>(r),
        );
        (lo, hi)
    }
}

/// The even and the odd lanes of rows (a, b), `[a0, a2, b0, b2 | a4, a6, b4, b6]` and `[a1,
/// a3, b1, b3 | …]`, combined by `min` (`MIN`) or `max`: `hadd`'s layout.
///
/// # Safety
/// AVX2.
#[inline(always)]
unsafe fn fold_pair<const MIN: bool>(a: __m256, b: __m256) -> __m256 {
    // SAFETY: AVX2 (the caller's contract).
    unsafe {
        let e = _mm256_shuffle_ps::<0x88>(a, b);
        let o = _mm256_shuffle_ps::<0xDD>(a, b);
        if MIN {
            _mm256_min_ps(e, o)
        } else {
            _mm256_max_ps(e, o)
        }
    }
}

/// Lane r: the least (`MIN`) or greatest lane of `v[r]`, without NaN lanes (the order of the
/// comparisons is open: the same value, but for the sign of a zero).
///
/// # Safety
/// AVX2.
#[inline(always)]
unsafe fn fold8<const MIN: bool>(v: &[__m256; 8]) -> __m256 {
    // SAFETY: AVX2 (the caller's contract).
    unsafe {
        let pair = fold_pair::<MIN>;
        let a = pair(pair(v[0], v[1]), pair(v[2], v[3]));
        let b = pair(pair(v[4], v[5]), pair(v[6], v[7]));
        let (l, h) = (
            _mm256_permute2f128_ps::<0x20>(a, b),
            _mm256_permute2f128_ps::<0x31>(a, b),
        );
        if MIN {
            _mm256_min_ps(l, h)
        } else {
            _mm256_max_ps(l, h)
        }
    }
}

// SAFETY: each primitive is the lane-wise IEEE operation of `small::Portable` (`minps`/`maxps`
// return the second operand unless `a < b` / `a > b`, as the portable definitions;
// `cvtps2dq` rounds to nearest even under the default MXCSR and gives `i32::MIN` out of
// range). Every function needs AVX2, which the solver's callers have checked.
unsafe impl<const WIDE: bool> crate::small::Ops for SmallW<WIDE> {
    type V = __m256;
    type I = __m256i;
    type D = __m256d;
    const PAIRED: bool = WIDE;
    #[inline(always)]
    unsafe fn iterate2<const ACCEL: bool>(
        a: &mut crate::small::Started<Self>,
        b: &mut crate::small::Started<Self>,
        z: [&[crate::small::Lane]; 4],
        n: usize,
        shift: u32,
    ) -> u32 {
        // SAFETY: `WIDE` (`Small512`) is only used after AVX-512 F/VL/DQ was detected; the
        // AVX2 callers have AVX2.
        unsafe {
            #[cfg(hs_avx512)]
            if WIDE {
                return iterate2_512::<WIDE, ACCEL>(a, b, z, n, shift);
            }
            crate::small::iterate2::<Self, ACCEL>(a, b, z, n, shift)
        }
    }
    #[inline(always)]
    unsafe fn pass_pair<const WITH_R: bool>(
        z0: &[crate::small::Lane],
        z1: &[crate::small::Lane],
        mu0: __m256,
        mu1: __m256,
        unit_f: f32,
    ) -> ((__m256i, __m256i, __m256), (__m256i, __m256i, __m256)) {
        // SAFETY: `WIDE` (`Small512`) is only used in code compiled with AVX-512 F/VL/DQ,
        // after detection; the block's groups have the same length.
        unsafe {
            #[cfg(hs_avx512)]
            if WIDE {
                return pass_pair_512::<WITH_R>(z0, z1, mu0, mu1, unit_f);
            }
            (
                crate::small::pass_sums::<Self, WITH_R>(z0, mu0, unit_f),
                crate::small::pass_sums::<Self, WITH_R>(z1, mu1, unit_f),
            )
        }
    }
    #[inline(always)]
    unsafe fn splat(v: f32) -> __m256 {
        // SAFETY: AVX2 (the trait's contract).
        unsafe { _mm256_set1_ps(v) }
    }
    #[inline(always)]
    unsafe fn splat_i(v: i32) -> __m256i {
        // SAFETY: AVX2.
        unsafe { _mm256_set1_epi32(v) }
    }
    #[inline(always)]
    unsafe fn load(p: &crate::small::Lane) -> __m256 {
        // SAFETY: AVX2; `p` holds 8 `f32`.
        unsafe { _mm256_loadu_ps(p.as_ptr()) }
    }
    #[inline(always)]
    unsafe fn store(p: &mut crate::small::Lane, v: __m256) {
        // SAFETY: AVX2; `p` holds 8 `f32`.
        unsafe { _mm256_storeu_ps(p.as_mut_ptr(), v) }
    }
    #[inline(always)]
    unsafe fn load_i(p: &crate::small::ILane) -> __m256i {
        // SAFETY: AVX2; `p` holds 8 `i32` (32 bytes).
        unsafe { _mm256_loadu_si256(p.as_ptr().cast()) }
    }
    #[inline(always)]
    unsafe fn store_i(p: &mut crate::small::ILane, v: __m256i) {
        // SAFETY: AVX2; `p` holds 8 `i32` (32 bytes).
        unsafe { _mm256_storeu_si256(p.as_mut_ptr().cast(), v) }
    }
    #[inline(always)]
    unsafe fn add(a: __m256, b: __m256) -> __m256 {
        // SAFETY: AVX2.
        unsafe { _mm256_add_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn sub(a: __m256, b: __m256) -> __m256 {
        // SAFETY: AVX2.
        unsafe { _mm256_sub_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn mul(a: __m256, b: __m256) -> __m256 {
        // SAFETY: AVX2.
        unsafe { _mm256_mul_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn min(a: __m256, b: __m256) -> __m256 {
        // SAFETY: AVX2.
        unsafe { _mm256_min_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn max(a: __m256, b: __m256) -> __m256 {
        // SAFETY: AVX2.
        unsafe { _mm256_max_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn gt(a: __m256, b: __m256) -> __m256i {
        // SAFETY: AVX2.
        unsafe { _mm256_castps_si256(_mm256_cmp_ps::<_CMP_GT_OQ>(a, b)) }
    }
    #[inline(always)]
    unsafe fn lt(a: __m256, b: __m256) -> __m256i {
        // SAFETY: AVX2.
        unsafe { _mm256_castps_si256(_mm256_cmp_ps::<_CMP_LT_OQ>(a, b)) }
    }
    #[inline(always)]
    unsafe fn eq(a: __m256, b: __m256) -> __m256i {
        // SAFETY: AVX2.
        unsafe { _mm256_castps_si256(_mm256_cmp_ps::<_CMP_EQ_OQ>(a, b)) }
    }
    #[inline(always)]
    unsafe fn abs_le(a: __m256, b: __m256) -> __m256i {
        // SAFETY: AVX2.
        unsafe {
            let abs = _mm256_andnot_ps(_mm256_set1_ps(-0.0), a);
            _mm256_castps_si256(_mm256_cmp_ps::<_CMP_LE_OQ>(abs, b))
        }
    }
    #[inline(always)]
    unsafe fn and(a: __m256i, b: __m256i) -> __m256i {
        // SAFETY: AVX2.
        unsafe { _mm256_and_si256(a, b) }
    }
    #[inline(always)]
    unsafe fn add_i(a: __m256i, b: __m256i) -> __m256i {
        // SAFETY: AVX2.
        unsafe { _mm256_add_epi32(a, b) }
    }
    #[inline(always)]
    unsafe fn sub_i(a: __m256i, b: __m256i) -> __m256i {
        // SAFETY: AVX2.
        unsafe { _mm256_sub_epi32(a, b) }
    }
    #[inline(always)]
    unsafe fn round_i(d: __m256) -> __m256i {
        // SAFETY: AVX2.
        unsafe { _mm256_cvtps_epi32(d) }
    }
    #[inline(always)]
    unsafe fn load_rows(
        x: &[f32],
        count: usize,
        zg: &mut [crate::small::Lane],
        s: __m256,
        u: __m256,
    ) -> (__m256, __m256, __m256) {
        let n = zg.len();
        if n < 4 || !(1..=8).contains(&count) || x.len() < count * n {
            // SAFETY: AVX2, all the generic definition needs.
            return unsafe { crate::small::load_rows_lanes::<Small, f32>(x, count, zg, s, u) };
        }
        // SAFETY: AVX2.
        let st = unsafe {
            let (sum, lo) = (_mm256_setzero_ps(), _mm256_set1_ps(f32::INFINITY));
            (sum, lo, _mm256_set1_ps(f32::NEG_INFINITY))
        };
        let mut sink = Scaled { zg, s, u, st };
        // SAFETY: AVX2; row `j.min(count − 1)` of `x` holds n ≥ 4 values (checked above).
        unsafe { walk_in(&crate::small::row_ptrs(x, n, count), n, &mut sink) };
        sink.st
    }
    #[inline(always)]
    unsafe fn store_rows(
        zg: &[crate::small::Lane],
        lam: __m256,
        delta: __m256,
        u: __m256,
        inv: __m256,
        y: &mut [f32],
        count: usize,
        mask: u32,
    ) {
        let n = zg.len();
        if n < 4 || count > 8 || y.len() < count * n {
            // SAFETY: AVX2, all the generic definition needs.
            return unsafe {
                crate::small::store_rows_lanes::<Small, f32>(zg, lam, delta, u, inv, y, count, mask)
            };
        }
        let src = Written {
            zg,
            lam,
            delta,
            u,
            inv,
        };
        // SAFETY: AVX2; row j < count of `y` holds n ≥ 4 values (checked above), and only rows
        // j < count are written.
        unsafe {
            walk_out(
                &crate::small::row_ptrs_mut(y, n),
                n,
                mask & ((1u32 << count) - 1),
                &src,
            )
        };
    }
    #[inline(always)]
    unsafe fn load_vjp(
        y: &[f32],
        g: &[f32],
        count: usize,
        scratch: &mut [crate::small::Lane],
        gt: &mut [crate::small::Lane],
    ) {
        let n = scratch.len();
        let total = count * n;
        if !vjp_fits(y, g, count, scratch, gt) {
            return crate::small::load_vjp_scalar(y, g, count, scratch, gt);
        }
        // SAFETY: AVX2; vector v reads values `8v..8v + 8 ≤ total` of `y` and `g` and writes
        // lane v of `scratch` (v < total/8 ≤ n).
        unsafe {
            let (zero, one, nan) = (
                _mm256_setzero_ps(),
                _mm256_set1_ps(1.0),
                _mm256_set1_ps(f32::NAN),
            );
            let full = total / 8;
            for (v, sc) in scratch.iter_mut().enumerate().take(full) {
                let yv = _mm256_loadu_ps(y.as_ptr().add(8 * v));
                let free = _mm256_and_ps(
                    _mm256_cmp_ps::<_CMP_GT_OQ>(yv, zero),
                    _mm256_cmp_ps::<_CMP_LT_OQ>(yv, one),
                );
                let gv = _mm256_loadu_ps(g.as_ptr().add(8 * v));
                _mm256_storeu_ps(sc.as_mut_ptr(), _mm256_blendv_ps(nan, gv, free));
            }
            // the tail of a partial block
            let flat: &mut [f32] = scratch.as_flattened_mut();
            for p in full * 8..total {
                flat[p] = if y[p] > 0.0 && y[p] < 1.0 {
                    g[p]
                } else {
                    f32::NAN
                };
            }
            let rows = crate::small::row_ptrs(&flat[..total], n, count);
            walk_in(&rows, n, &mut Plain { out: gt });
        }
    }
    #[inline(always)]
    fn vjp_by_tiles(n: usize) -> bool {
        vjp_by_tiles(n)
    }
    #[inline(always)]
    unsafe fn load_vjp_tiles(
        y: &[f32],
        g: &[f32],
        count: usize,
        scratch: &mut [crate::small::Lane],
        gt: &mut [crate::small::Lane],
    ) {
        let n = scratch.len();
        if !vjp_fits(y, g, count, scratch, gt) {
            return crate::small::load_vjp_scalar(y, g, count, scratch, gt);
        }
        // SAFETY: AVX2; row `j.min(count − 1)` of `y` and `g` holds n ≥ 4 values (checked
        // above), and `gt` holds n lanes.
        unsafe {
            walk_in_masked(
                &crate::small::row_ptrs(y, n, count),
                &crate::small::row_ptrs(g, n, count),
                n,
                gt,
            )
        };
    }
    #[inline(always)]
    unsafe fn store_vjp(
        y: &[f32],
        g: &[f32],
        n: usize,
        idx: &[crate::small::ILane],
        mean: __m256,
        s: __m256,
        out: &mut [f32],
        count: usize,
    ) {
        let total = count * n;
        let full = total / 8;
        // SAFETY: AVX2.
        let (m, sv) = unsafe { (lanes(mean), lanes(s)) };
        if count > 8 || y.len() < total || g.len() < total || out.len() < total || idx.len() < full
        {
            return crate::small::store_vjp_values(y, g, n, &m, sv[0], out, count);
        }
        // SAFETY: AVX2; vector v reads and writes values `8v..8v + 8 ≤ total` (checked above).
        unsafe {
            let (zero, one) = (_mm256_setzero_ps(), _mm256_set1_ps(1.0));
            for (v, iv) in idx.iter().enumerate().take(full) {
                let at = 8 * v;
                let yv = _mm256_loadu_ps(y.as_ptr().add(at));
                let free = _mm256_and_ps(
                    _mm256_cmp_ps::<_CMP_GT_OQ>(yv, zero),
                    _mm256_cmp_ps::<_CMP_LT_OQ>(yv, one),
                );
                // each value's row mean (lane `(8v + i)/n` of `mean`)
                let mv = _mm256_permutevar8x32_ps(mean, _mm256_loadu_si256(iv.as_ptr().cast()));
                let gv = _mm256_sub_ps(_mm256_loadu_ps(g.as_ptr().add(at)), mv);
                let o = _mm256_and_ps(free, _mm256_mul_ps(gv, s));
                _mm256_storeu_ps(out.as_mut_ptr().add(at), o);
            }
        }
        // the last `total mod 8` values (a partial block), one at a time
        for p in full * 8..total {
            out[p] = crate::small::vjp_value(y[p], g[p], m[(p / n).min(7)], sv[0]);
        }
    }
    #[inline(always)]
    fn vjp_store_masked() -> bool {
        true
    }
    #[inline(always)]
    unsafe fn store_vjp_masked(
        gm: &[f32],
        n: usize,
        idx: &[crate::small::ILane],
        mean: __m256,
        s: __m256,
        out: &mut [f32],
        count: usize,
    ) {
        let total = count * n;
        let full = total / 8;
        // SAFETY: AVX2.
        let (m, sv) = unsafe { (lanes(mean), lanes(s)) };
        let (gm, out) = match (gm.get(..total), out.get_mut(..total)) {
            (Some(a), Some(b)) if count <= 8 && idx.len() >= full => (a, b),
            _ => return crate::small::store_vjp_masked_values(gm, n, &m, sv[0], out, count),
        };
        // SAFETY: AVX2; vector v reads and writes values `8v..8v + 8 ≤ total` (checked above).
        unsafe {
            for (v, iv) in idx.iter().enumerate().take(full) {
                let at = 8 * v;
                let gv = _mm256_loadu_ps(gm.as_ptr().add(at));
                let free = _mm256_cmp_ps::<_CMP_EQ_OQ>(gv, gv);
                // each value's row mean (lane `(8v + i)/n` of `mean`)
                let mv = _mm256_permutevar8x32_ps(mean, _mm256_loadu_si256(iv.as_ptr().cast()));
                let o = _mm256_and_ps(free, _mm256_mul_ps(_mm256_sub_ps(gv, mv), s));
                _mm256_storeu_ps(out.as_mut_ptr().add(at), o);
            }
        }
        // the last `total mod 8` values (a partial block), one at a time
        for p in full * 8..total {
            out[p] = crate::small::vjp_masked_value(gm[p], m[(p / n).min(7)], sv[0]);
        }
    }
    #[inline(always)]
    unsafe fn or(a: __m256i, b: __m256i) -> __m256i {
        // SAFETY: AVX2.
        unsafe { _mm256_or_si256(a, b) }
    }
    #[inline(always)]
    unsafe fn or_v(a: __m256, m: __m256i, b: __m256) -> __m256 {
        // SAFETY: AVX2.
        unsafe { _mm256_or_ps(a, _mm256_and_ps(_mm256_castsi256_ps(m), b)) }
    }
    #[inline(always)]
    unsafe fn andnot(a: __m256i, b: __m256i) -> __m256i {
        // SAFETY: AVX2.
        unsafe { _mm256_andnot_si256(a, b) }
    }
    #[inline(always)]
    unsafe fn eq_i(a: __m256i, b: __m256i) -> __m256i {
        // SAFETY: AVX2.
        unsafe { _mm256_cmpeq_epi32(a, b) }
    }
    #[inline(always)]
    unsafe fn gt_i(a: __m256i, b: __m256i) -> __m256i {
        // SAFETY: AVX2.
        unsafe { _mm256_cmpgt_epi32(a, b) }
    }
    #[inline(always)]
    unsafe fn max_i(a: __m256i, b: __m256i) -> __m256i {
        // SAFETY: AVX2.
        unsafe { _mm256_max_epi32(a, b) }
    }
    #[inline(always)]
    unsafe fn select(m: __m256i, a: __m256, b: __m256) -> __m256 {
        // SAFETY: AVX2; every mask lane is all ones or zero, so the sign bit decides.
        unsafe { _mm256_blendv_ps(b, a, _mm256_castsi256_ps(m)) }
    }
    #[inline(always)]
    unsafe fn any(m: __m256i) -> bool {
        // SAFETY: AVX2.
        unsafe { _mm256_testz_si256(m, m) == 0 }
    }
    #[inline(always)]
    unsafe fn hsum2_i(a: __m256i, b: __m256i) -> (i32, i32) {
        // SAFETY: AVX2. Lanes `[a01, a23, b01, b23 | a45, a67, b45, b67]`, then `[a0–3, b0–3,
        // … | a4–7, b4–7, …]`, then the halves added (wrapping, so in any order the sums).
        unsafe {
            let s = _mm256_hadd_epi32(a, b);
            let s = _mm256_hadd_epi32(s, s);
            let t = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256::<1>(s));
            (_mm_cvtsi128_si32(t), _mm_extract_epi32::<1>(t))
        }
    }
    #[inline(always)]
    unsafe fn hmin(a: __m256) -> f32 {
        // SAFETY: AVX2. The halves, then pairs of lanes: without NaN, the least lane.
        unsafe {
            let m = _mm_min_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps::<1>(a));
            let m = _mm_min_ps(m, _mm_movehl_ps(m, m));
            _mm_cvtss_f32(_mm_min_ss(m, _mm_movehdup_ps(m)))
        }
    }
    #[inline(always)]
    unsafe fn hstats(sum: __m256, lo: __m256, hi: __m256) -> (f32, f32, f32) {
        // SAFETY: AVX2. `hadd` twice leaves `(s0 + s1) + (s2 + s3)` in lane 0 and `(s4 + s5)
        // + (s6 + s7)` in lane 4: the tree of `combine_stats`.
        unsafe {
            let h = _mm256_hadd_ps(sum, sum);
            let h = _mm256_hadd_ps(h, h);
            let s = _mm_add_ss(_mm256_castps256_ps128(h), _mm256_extractf128_ps::<1>(h));
            let l = _mm_min_ps(_mm256_castps256_ps128(lo), _mm256_extractf128_ps::<1>(lo));
            let l = _mm_min_ps(l, _mm_movehl_ps(l, l));
            let l = _mm_min_ss(l, _mm_movehdup_ps(l));
            let h = _mm_max_ps(_mm256_castps256_ps128(hi), _mm256_extractf128_ps::<1>(hi));
            let h = _mm_max_ps(h, _mm_movehl_ps(h, h));
            let h = _mm_max_ss(h, _mm_movehdup_ps(h));
            (_mm_cvtss_f32(s), _mm_cvtss_f32(l), _mm_cvtss_f32(h))
        }
    }
    #[inline(always)]
    unsafe fn hsum8_i(v: &[__m256i; 8]) -> __m256i {
        // SAFETY: AVX2. `hadd` of rows (a, b) gives `[a01, a23, b01, b23 | a45, a67, b45,
        // b67]`, of two such `[a0–3, b0–3, c0–3, d0–3 | a4–7, …]`; the 128-bit halves of rows
        // 0–3 and 4–7 regrouped and added: row r's sum in lane r (wrapping: any order).
        unsafe {
            let a = _mm256_hadd_epi32(_mm256_hadd_epi32(v[0], v[1]), _mm256_hadd_epi32(v[2], v[3]));
            let b = _mm256_hadd_epi32(_mm256_hadd_epi32(v[4], v[5]), _mm256_hadd_epi32(v[6], v[7]));
            _mm256_add_epi32(
                _mm256_permute2x128_si256::<0x20>(a, b),
                _mm256_permute2x128_si256::<0x31>(a, b),
            )
        }
    }
    #[inline(always)]
    unsafe fn hmin8(v: &[__m256; 8]) -> __m256 {
        // SAFETY: AVX2. `hadd`'s layout with `min` (even and odd lanes of two rows), then the
        // halves: row r's least lane in lane r (without NaN, in any order).
        unsafe { fold8::<true>(v) }
    }
    #[inline(always)]
    unsafe fn hstats8(
        sum: &[__m256; 8],
        lo: &[__m256; 8],
        hi: &[__m256; 8],
    ) -> (__m256, __m256, __m256) {
        // SAFETY: AVX2. `hadd` twice leaves row r's `(s0 + s1) + (s2 + s3)` and `(s4 + s5) +
        // (s6 + s7)` in the two halves (lane r mod 4), their sum is `combine_stats`' tree;
        // `min` and `max` as `hmin8`.
        unsafe {
            let a = _mm256_hadd_ps(
                _mm256_hadd_ps(sum[0], sum[1]),
                _mm256_hadd_ps(sum[2], sum[3]),
            );
            let b = _mm256_hadd_ps(
                _mm256_hadd_ps(sum[4], sum[5]),
                _mm256_hadd_ps(sum[6], sum[7]),
            );
            let s = _mm256_add_ps(
                _mm256_permute2f128_ps::<0x20>(a, b),
                _mm256_permute2f128_ps::<0x31>(a, b),
            );
            (s, fold8::<true>(lo), fold8::<false>(hi))
        }
    }
    #[inline(always)]
    unsafe fn bits(m: __m256i) -> u32 {
        // SAFETY: AVX2.
        unsafe { _mm256_movemask_ps(_mm256_castsi256_ps(m)) as u32 }
    }
    #[inline(always)]
    unsafe fn lane_mask(b: u32) -> __m256i {
        // SAFETY: AVX2.
        unsafe {
            let place = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
            let hit = _mm256_and_si256(_mm256_set1_epi32(b as i32), place);
            _mm256_cmpeq_epi32(hit, place)
        }
    }
    #[inline(always)]
    unsafe fn widen_i(i: __m256i, hi: bool) -> __m256d {
        // SAFETY: AVX2.
        unsafe {
            let h = if hi {
                _mm256_extracti128_si256::<1>(i)
            } else {
                _mm256_castsi256_si128(i)
            };
            _mm256_cvtepi32_pd(h)
        }
    }
    #[inline(always)]
    unsafe fn widen(v: __m256, hi: bool) -> __m256d {
        // SAFETY: AVX2.
        unsafe {
            let h = if hi {
                _mm256_extractf128_ps::<1>(v)
            } else {
                _mm256_castps256_ps128(v)
            };
            _mm256_cvtps_pd(h)
        }
    }
    #[inline(always)]
    unsafe fn narrow(lo: __m256d, hi: __m256d) -> __m256 {
        // SAFETY: AVX2.
        unsafe { _mm256_set_m128(_mm256_cvtpd_ps(hi), _mm256_cvtpd_ps(lo)) }
    }
    #[inline(always)]
    unsafe fn load_d(p: &[f64; 4]) -> __m256d {
        // SAFETY: AVX2; `p` holds 4 `f64`.
        unsafe { _mm256_loadu_pd(p.as_ptr()) }
    }
    #[inline(always)]
    unsafe fn store_d(p: &mut [f64; 4], v: __m256d) {
        // SAFETY: AVX2; `p` holds 4 `f64`.
        unsafe { _mm256_storeu_pd(p.as_mut_ptr(), v) }
    }
    #[inline(always)]
    unsafe fn abs(a: __m256) -> __m256 {
        // SAFETY: AVX2.
        unsafe { _mm256_andnot_ps(_mm256_set1_ps(-0.0), a) }
    }
    #[inline(always)]
    unsafe fn div(a: __m256, b: __m256) -> __m256 {
        // SAFETY: AVX2.
        unsafe { _mm256_div_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn sqrt(a: __m256) -> __m256 {
        // SAFETY: AVX2.
        unsafe { _mm256_sqrt_ps(a) }
    }
    #[inline(always)]
    unsafe fn to_f32(i: __m256i) -> __m256 {
        // SAFETY: AVX2 (`cvtdq2ps` rounds to nearest even under the default MXCSR).
        unsafe { _mm256_cvtepi32_ps(i) }
    }
    #[inline(always)]
    unsafe fn splat_d(v: f64) -> __m256d {
        // SAFETY: AVX2.
        unsafe { _mm256_set1_pd(v) }
    }
    #[inline(always)]
    unsafe fn add_d(a: __m256d, b: __m256d) -> __m256d {
        // SAFETY: AVX2.
        unsafe { _mm256_add_pd(a, b) }
    }
    #[inline(always)]
    unsafe fn sub_d(a: __m256d, b: __m256d) -> __m256d {
        // SAFETY: AVX2.
        unsafe { _mm256_sub_pd(a, b) }
    }
    #[inline(always)]
    unsafe fn div_d(a: __m256d, b: __m256d) -> __m256d {
        // SAFETY: AVX2.
        unsafe { _mm256_div_pd(a, b) }
    }
}
