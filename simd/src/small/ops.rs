//! The short-row solver's primitives: the [`Ops`] trait, its definitions in plain Rust
//! ([`Portable`]) and the one-value-at-a-time forms that the vector implementations share.

use super::*;

/// The primitives of the short-row solver on [`LANES`] lanes of `f32` ([`Ops::V`]) and `i32`
/// ([`Ops::I`], also the masks: each lane all ones or zero), plus `f64` halves for the Newton
/// step. [`Portable`] defines each one; an implementation must compute exactly the same bits.
///
/// # Safety
/// Implementors: each primitive computes exactly what [`Portable`]'s does, lane by lane (IEEE
/// rounding to nearest, no fused multiply-add, no flush of subnormals). Callers: an
/// implementation may need CPU features (the AVX2 one is only used after detection).
pub(crate) unsafe trait Ops: Copy {
    type V: Copy;
    type I: Copy;
    /// Half a block in `f64` lanes (lanes 0–3 or 4–7).
    type D: Copy;
    /// `[v; 8]`.
    unsafe fn splat(v: f32) -> Self::V;
    unsafe fn splat_i(v: i32) -> Self::I;
    unsafe fn load(p: &Lane) -> Self::V;
    unsafe fn store(p: &mut Lane, v: Self::V);
    unsafe fn load_i(p: &ILane) -> Self::I;
    unsafe fn store_i(p: &mut ILane, v: Self::I);
    unsafe fn add(a: Self::V, b: Self::V) -> Self::V;
    unsafe fn sub(a: Self::V, b: Self::V) -> Self::V;
    unsafe fn mul(a: Self::V, b: Self::V) -> Self::V;
    /// `a < b ? a : b` and `a > b ? a : b` (as `minps`/`maxps`).
    unsafe fn min(a: Self::V, b: Self::V) -> Self::V;
    unsafe fn max(a: Self::V, b: Self::V) -> Self::V;
    /// Ordered comparisons (false for NaN), as masks.
    unsafe fn gt(a: Self::V, b: Self::V) -> Self::I;
    unsafe fn lt(a: Self::V, b: Self::V) -> Self::I;
    unsafe fn eq(a: Self::V, b: Self::V) -> Self::I;
    /// `|a| ≤ b`.
    unsafe fn abs_le(a: Self::V, b: Self::V) -> Self::I;
    unsafe fn and(a: Self::I, b: Self::I) -> Self::I;
    unsafe fn add_i(a: Self::I, b: Self::I) -> Self::I;
    unsafe fn sub_i(a: Self::I, b: Self::I) -> Self::I;
    /// `round_ties_even(d)` as `i32` in lanes with `|d| < 2^31`; other lanes (out of range,
    /// NaN) are unspecified (`cvtps2dq` gives `i32::MIN`, NEON's `fcvtns` saturates): the one
    /// caller, [`pass`], masks them out (free entries have `0 < d < unit ≤ 2^24`).
    unsafe fn round_i(d: Self::V) -> Self::I;
    /// The VJP's masked `g` in lanes: `gt[i][j] = g[r·n + i]` where `0 < y[r·n + i] < 1`,
    /// NaN elsewhere, row `r = min(j, count − 1)` (`1 ≤ count ≤ LANES`; `y`, `g` hold at least
    /// `count·n` values; `scratch`, `gt`: `n` lanes each). `scratch` is overwritten: its first
    /// `count·n` values (flattened) hold the masked `g` in row order, for
    /// [`Ops::store_vjp_masked`].
    #[inline(always)]
    unsafe fn load_vjp(y: &[f32], g: &[f32], count: usize, scratch: &mut [Lane], gt: &mut [Lane]) {
        load_vjp_scalar(y, g, count, scratch, gt)
    }
    /// Whether the VJP of rows of `n` elements loads through [`Ops::load_vjp_tiles`] (an
    /// implementation's choice by measurement: the same values either way).
    #[inline(always)]
    fn vjp_by_tiles(n: usize) -> bool {
        let _ = n;
        false
    }
    /// [`Ops::load_vjp`]'s masked `g` in lanes (`gt`: `g` where `0 < y < 1`, NaN elsewhere)
    /// by another route: each tile of rows of `g` masked by its `y` before one transpose, with
    /// nothing stored on the way (`scratch`, `n` lanes, is left unspecified, so
    /// [`Ops::store_vjp_masked`] cannot follow). The default is [`Ops::load_vjp`]'s definition.
    #[inline(always)]
    unsafe fn load_vjp_tiles(
        y: &[f32],
        g: &[f32],
        count: usize,
        scratch: &mut [Lane],
        gt: &mut [Lane],
    ) {
        load_vjp_scalar(y, g, count, scratch, gt)
    }
    /// The VJP's output rows, from the rows themselves: `out[j·n + i] = (g[j·n + i] −
    /// mean_j)·s` where `0 < y[j·n + i] < 1`, `+0` elsewhere ([`vjp_value`]), for the rows
    /// `j < count ≤ LANES` (`y`, `g`, `out` hold at least `count·n` values). `idx` holds the
    /// row of each value of a block: lane `i` of `idx[v]` is `(LANES·v + i)/n`, `v < n`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn store_vjp(
        y: &[f32],
        g: &[f32],
        n: usize,
        idx: &[ILane],
        mean: Self::V,
        s: Self::V,
        out: &mut [f32],
        count: usize,
    ) {
        let _ = idx;
        let (mut m, mut sv) = ([0.0f32; LANES], [0.0f32; LANES]);
        // SAFETY: the caller guarantees `Self`'s features.
        unsafe { (Self::store(&mut m, mean), Self::store(&mut sv, s)) };
        store_vjp_values(y, g, n, &m, sv[0], out, count)
    }
    /// Whether the VJP's sweep route writes its output from [`Ops::load_vjp`]'s masked copy
    /// of `g` ([`Ops::store_vjp_masked`]) rather than from `y` and `g` ([`Ops::store_vjp`]).
    #[inline(always)]
    fn vjp_store_masked() -> bool {
        false
    }
    /// [`Ops::store_vjp`] from `gm`, `g` where `0 < y < 1` and NaN elsewhere (as
    /// [`Ops::load_vjp`] leaves it, row-major): `out[p] = (gm[p] − mean)·s`, `+0` where
    /// `gm[p]` is NaN (`gm`, `out` hold at least `count·n` values; `g` is finite).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn store_vjp_masked(
        gm: &[f32],
        n: usize,
        idx: &[ILane],
        mean: Self::V,
        s: Self::V,
        out: &mut [f32],
        count: usize,
    ) {
        let _ = idx;
        let (mut m, mut sv) = ([0.0f32; LANES], [0.0f32; LANES]);
        // SAFETY: the caller guarantees `Self`'s features.
        unsafe { (Self::store(&mut m, mean), Self::store(&mut sv, s)) };
        store_vjp_masked_values(gm, n, &m, sv[0], out, count)
    }
    /// Rows into lanes, scaled into units, with the start's statistics: `zg[i][j] =
    /// fl(x[r·n + i]·s)·u` for `i < n = zg.len()` and each lane `j`, of row `r = min(j, count −
    /// 1)` (`1 ≤ count ≤ LANES`, `x` holds at least `count·n` values, lanes past `count`
    /// repeat the last row); returns per lane `(Σ_i z_i` summed in the order `i = 0, 1, …`,
    /// `min_i z_i`, `max_i z_i)`, as [`scale_lanes`] (`min` and `max` in its operand order).
    #[inline(always)]
    unsafe fn load_rows(
        x: &[f32],
        count: usize,
        zg: &mut [Lane],
        s: Self::V,
        u: Self::V,
    ) -> (Self::V, Self::V, Self::V) {
        // SAFETY: the caller guarantees `Self`'s features.
        unsafe { load_rows_lanes::<Self, f32>(x, count, zg, s, u) }
    }
    /// Lanes out to rows: `y[j·n + i] = min(max(fl(fl(z_i − λ) − δ), 0), u)·inv` (lane `j`; the
    /// solver passes `λ = μ` and `δ = fl₃₂(δ − ½)`;
    /// [`out_lane`]) for `i < n = zg.len()` and the rows `j < count` whose bit `j` of `mask`
    /// is set (`y` holds at least `count·n` values; other rows are left as they are).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn store_rows(
        zg: &[Lane],
        lam: Self::V,
        delta: Self::V,
        u: Self::V,
        inv: Self::V,
        y: &mut [f32],
        count: usize,
        mask: u32,
    ) {
        // SAFETY: the caller guarantees `Self`'s features.
        unsafe { store_rows_lanes::<Self, f32>(zg, lam, delta, u, inv, y, count, mask) }
    }
    unsafe fn or(a: Self::I, b: Self::I) -> Self::I;
    /// `a | (m & b)`, bitwise.
    unsafe fn or_v(a: Self::V, m: Self::I, b: Self::V) -> Self::V;
    /// `!a & b`.
    unsafe fn andnot(a: Self::I, b: Self::I) -> Self::I;
    unsafe fn eq_i(a: Self::I, b: Self::I) -> Self::I;
    unsafe fn gt_i(a: Self::I, b: Self::I) -> Self::I;
    unsafe fn max_i(a: Self::I, b: Self::I) -> Self::I;
    /// `m ? a : b`.
    unsafe fn select(m: Self::I, a: Self::V, b: Self::V) -> Self::V;
    /// Whether any lane of the mask is set.
    unsafe fn any(m: Self::I) -> bool;
    /// The mask's lanes as bits (lane `j`: bit `j`), from each lane's sign bit.
    unsafe fn bits(m: Self::I) -> u32;
    /// The mask of the bits `b` (lane `j` set where bit `j` is; bits from 8 up ignored).
    unsafe fn lane_mask(b: u32) -> Self::I;
    /// Lanes 0–3 (`hi = false`) or 4–7 of `i` or `v`, widened exactly.
    unsafe fn widen_i(i: Self::I, hi: bool) -> Self::D;
    unsafe fn widen(v: Self::V, hi: bool) -> Self::D;
    /// The two halves rounded to `f32` (to nearest) and joined.
    unsafe fn narrow(lo: Self::D, hi: Self::D) -> Self::V;
    unsafe fn load_d(p: &[f64; 4]) -> Self::D;
    unsafe fn store_d(p: &mut [f64; 4], v: Self::D);
    /// `|a|` (the sign bit cleared).
    unsafe fn abs(a: Self::V) -> Self::V;
    /// `a / b`, rounded to nearest.
    unsafe fn div(a: Self::V, b: Self::V) -> Self::V;
    /// `√a`, rounded to nearest (IEEE 754's square root, as `sqrtps`).
    unsafe fn sqrt(a: Self::V) -> Self::V;
    /// `i` rounded to the nearest `f32` (ties to even), as `cvtdq2ps`.
    unsafe fn to_f32(i: Self::I) -> Self::V;
    unsafe fn splat_d(v: f64) -> Self::D;
    unsafe fn add_d(a: Self::D, b: Self::D) -> Self::D;
    unsafe fn sub_d(a: Self::D, b: Self::D) -> Self::D;
    unsafe fn div_d(a: Self::D, b: Self::D) -> Self::D;
    /// [`iterate2`]: the iteration of two blocks (an implementation may run it in code
    /// compiled for other features than its callers').
    #[inline(always)]
    unsafe fn iterate2<const ACCEL: bool>(
        a: &mut Started<Self>,
        b: &mut Started<Self>,
        z: [&[Lane]; 4],
        n: usize,
        shift: u32,
    ) -> u32 {
        // SAFETY: the caller guarantees `Self`'s features.
        unsafe { iterate2::<Self, ACCEL>(a, b, z, n, shift) }
    }
    /// The sums of the lanes of `a` and of `b` (wrapping: exact in any order).
    #[inline(always)]
    unsafe fn hsum2_i(a: Self::I, b: Self::I) -> (i32, i32) {
        let (mut x, mut y) = ([0i32; LANES], [0i32; LANES]);
        // SAFETY: the caller guarantees `Self`'s features.
        unsafe { (Self::store_i(&mut x, a), Self::store_i(&mut y, b)) };
        let total = |v: [i32; LANES]| v.iter().fold(0i32, |s, &w| s.wrapping_add(w));
        (total(x), total(y))
    }
    /// The least lane of `a`, whose lanes are not NaN (then the same in any order, but for
    /// the sign of a zero, which the one caller, [`pass`]'s `R ≥ +0`, never has).
    #[inline(always)]
    unsafe fn hmin(a: Self::V) -> f32 {
        let mut x = [0.0f32; LANES];
        // SAFETY: the caller guarantees `Self`'s features.
        unsafe { Self::store(&mut x, a) };
        x.iter()
            .fold(f32::INFINITY, |m, &v| if v < m { v } else { m })
    }
    /// A row's `(Σz, min z, max z)` from its per-lane partials: [`combine_stats`] (an
    /// implementation computes `Σz` bit for bit; `min` and `max` by value, the sign of a zero
    /// and NaN lanes left open, which no result depends on: see there).
    #[inline(always)]
    unsafe fn hstats(sum: Self::V, lo: Self::V, hi: Self::V) -> (f32, f32, f32) {
        let (mut s, mut l, mut h) = ([0.0f32; LANES], [0.0f32; LANES], [0.0f32; LANES]);
        // SAFETY: the caller guarantees `Self`'s features.
        unsafe {
            (
                Self::store(&mut s, sum),
                Self::store(&mut l, lo),
                Self::store(&mut h, hi),
            )
        };
        combine_stats(&s, &l, &h)
    }
    /// Eight rows' per-lane partial sums at once: lane `r` of the result is the wrapping sum
    /// of the lanes of `v[r]` (exact in any order, so each lane equals [`Ops::hsum2_i`]'s).
    #[inline(always)]
    unsafe fn hsum8_i(v: &[Self::I; LANES]) -> Self::I {
        let mut out = [0i32; LANES];
        for (o, w) in out.chunks_exact_mut(2).zip(v.chunks_exact(2)) {
            // SAFETY: the caller guarantees `Self`'s features.
            (o[0], o[1]) = unsafe { Self::hsum2_i(w[0], w[1]) };
        }
        // SAFETY: the caller guarantees `Self`'s features.
        unsafe { Self::load_i(&out) }
    }
    /// Eight rows' per-lane minima at once: lane `r` of the result is the least lane of
    /// `v[r]`, whose lanes are not NaN (each lane equals [`Ops::hmin`]'s, see there).
    #[inline(always)]
    unsafe fn hmin8(v: &[Self::V; LANES]) -> Self::V {
        let mut out = [0.0f32; LANES];
        for (o, &w) in out.iter_mut().zip(v) {
            // SAFETY: the caller guarantees `Self`'s features.
            *o = unsafe { Self::hmin(w) };
        }
        // SAFETY: the caller guarantees `Self`'s features.
        unsafe { Self::load(&out) }
    }
    /// Eight rows' `(Σz, min z, max z)` at once (`sum[r]`, `lo[r]`, `hi[r]`: row `r`'s per-lane
    /// partials, as [`Ops::hstats`] takes them): lane `r` of each result is [`Ops::hstats`]'
    /// value for row `r`, `Σz` bit for bit ([`combine_stats`]' tree).
    #[inline(always)]
    #[allow(clippy::type_complexity)]
    unsafe fn hstats8(
        sum: &[Self::V; LANES],
        lo: &[Self::V; LANES],
        hi: &[Self::V; LANES],
    ) -> (Self::V, Self::V, Self::V) {
        let (mut s, mut l, mut h) = ([0.0f32; LANES], [0.0f32; LANES], [0.0f32; LANES]);
        for r in 0..LANES {
            // SAFETY: the caller guarantees `Self`'s features.
            (s[r], l[r], h[r]) = unsafe { Self::hstats(sum[r], lo[r], hi[r]) };
        }
        // SAFETY: the caller guarantees `Self`'s features.
        unsafe { (Self::load(&s), Self::load(&l), Self::load(&h)) }
    }
    /// Whether the block loop runs both groups' passes through [`Ops::pass_pair`] (an
    /// implementation whose vectors hold both groups at once); else each group's [`pass`]
    /// runs by itself, interleaved with the other's update.
    const PAIRED: bool = false;
    /// [`pass_r`] of two groups (`z0.len() == z1.len()`) at once, `unit_f` the unit: the same
    /// sums, bit for bit, as two calls.
    #[inline(always)]
    #[allow(clippy::type_complexity)]
    unsafe fn pass_pair<const WITH_R: bool>(
        z0: &[Lane],
        z1: &[Lane],
        mu0: Self::V,
        mu1: Self::V,
        unit_f: f32,
    ) -> ((Self::I, Self::I, Self::V), (Self::I, Self::I, Self::V)) {
        // SAFETY: the caller guarantees `Self`'s features.
        unsafe {
            (
                pass_sums::<Self, WITH_R>(z0, mu0, unit_f),
                pass_sums::<Self, WITH_R>(z1, mu1, unit_f),
            )
        }
    }
}

/// [`Ops`] in plain Rust: the scalar path, and the reference for the others.
#[derive(Clone, Copy)]
pub(crate) struct Portable;

#[inline(always)]
pub(super) fn lanes<T: Copy, U: Copy>(a: [T; LANES], f: impl Fn(T) -> U) -> [U; LANES] {
    a.map(f)
}

#[inline(always)]
pub(super) fn zip<T: Copy, U: Copy>(
    a: [T; LANES],
    b: [T; LANES],
    f: impl Fn(T, T) -> U,
) -> [U; LANES] {
    core::array::from_fn(|r| f(a[r], b[r]))
}

#[inline(always)]
pub(super) fn mask(c: bool) -> i32 {
    -(c as i32)
}

// SAFETY: these are the definitions.
unsafe impl Ops for Portable {
    type V = Lane;
    type I = ILane;
    type D = [f64; 4];
    // the masked store, so that its scalar definition runs on this path (and its tests)
    #[inline(always)]
    fn vjp_store_masked() -> bool {
        true
    }
    #[inline(always)]
    unsafe fn splat(v: f32) -> Lane {
        [v; LANES]
    }
    #[inline(always)]
    unsafe fn splat_i(v: i32) -> ILane {
        [v; LANES]
    }
    #[inline(always)]
    unsafe fn load(p: &Lane) -> Lane {
        *p
    }
    #[inline(always)]
    unsafe fn store(p: &mut Lane, v: Lane) {
        *p = v;
    }
    #[inline(always)]
    unsafe fn load_i(p: &ILane) -> ILane {
        *p
    }
    #[inline(always)]
    unsafe fn store_i(p: &mut ILane, v: ILane) {
        *p = v;
    }
    #[inline(always)]
    unsafe fn add(a: Lane, b: Lane) -> Lane {
        zip(a, b, |a, b| a + b)
    }
    #[inline(always)]
    unsafe fn sub(a: Lane, b: Lane) -> Lane {
        zip(a, b, |a, b| a - b)
    }
    #[inline(always)]
    unsafe fn mul(a: Lane, b: Lane) -> Lane {
        zip(a, b, |a, b| a * b)
    }
    #[inline(always)]
    unsafe fn min(a: Lane, b: Lane) -> Lane {
        zip(a, b, |a, b| if a < b { a } else { b })
    }
    #[inline(always)]
    unsafe fn max(a: Lane, b: Lane) -> Lane {
        zip(a, b, |a, b| if a > b { a } else { b })
    }
    #[inline(always)]
    unsafe fn gt(a: Lane, b: Lane) -> ILane {
        zip(a, b, |a, b| mask(a > b))
    }
    #[inline(always)]
    unsafe fn lt(a: Lane, b: Lane) -> ILane {
        zip(a, b, |a, b| mask(a < b))
    }
    #[inline(always)]
    unsafe fn eq(a: Lane, b: Lane) -> ILane {
        zip(a, b, |a, b| mask(a == b))
    }
    #[inline(always)]
    unsafe fn abs_le(a: Lane, b: Lane) -> ILane {
        zip(a, b, |a, b| mask(a.abs() <= b))
    }
    #[inline(always)]
    unsafe fn and(a: ILane, b: ILane) -> ILane {
        zip(a, b, |a, b| a & b)
    }
    #[inline(always)]
    unsafe fn add_i(a: ILane, b: ILane) -> ILane {
        zip(a, b, i32::wrapping_add)
    }
    #[inline(always)]
    unsafe fn sub_i(a: ILane, b: ILane) -> ILane {
        zip(a, b, i32::wrapping_sub)
    }
    #[inline(always)]
    unsafe fn round_i(d: Lane) -> ILane {
        lanes(d, |d| {
            let v = d.round_ties_even();
            if (-2_147_483_648.0..2_147_483_648.0).contains(&v) {
                v as i32
            } else {
                i32::MIN
            }
        })
    }
    #[inline(always)]
    unsafe fn or(a: ILane, b: ILane) -> ILane {
        zip(a, b, |a, b| a | b)
    }
    #[inline(always)]
    unsafe fn or_v(a: Lane, m: ILane, b: Lane) -> Lane {
        core::array::from_fn(|r| f32::from_bits(a[r].to_bits() | (m[r] as u32 & b[r].to_bits())))
    }
    #[inline(always)]
    unsafe fn andnot(a: ILane, b: ILane) -> ILane {
        zip(a, b, |a, b| !a & b)
    }
    #[inline(always)]
    unsafe fn eq_i(a: ILane, b: ILane) -> ILane {
        zip(a, b, |a, b| mask(a == b))
    }
    #[inline(always)]
    unsafe fn gt_i(a: ILane, b: ILane) -> ILane {
        zip(a, b, |a, b| mask(a > b))
    }
    #[inline(always)]
    unsafe fn max_i(a: ILane, b: ILane) -> ILane {
        zip(a, b, i32::max)
    }
    #[inline(always)]
    unsafe fn select(m: ILane, a: Lane, b: Lane) -> Lane {
        core::array::from_fn(|r| if m[r] != 0 { a[r] } else { b[r] })
    }
    #[inline(always)]
    unsafe fn any(m: ILane) -> bool {
        m.iter().fold(0, |a, &b| a | b) != 0
    }
    #[inline(always)]
    unsafe fn bits(m: ILane) -> u32 {
        m.iter()
            .enumerate()
            .fold(0, |a, (j, &b)| a | (((b as u32) >> 31) << j))
    }
    #[inline(always)]
    unsafe fn lane_mask(b: u32) -> ILane {
        core::array::from_fn(|j| mask(b >> j & 1 != 0))
    }
    #[inline(always)]
    unsafe fn widen_i(i: ILane, hi: bool) -> [f64; 4] {
        let at = if hi { 4 } else { 0 };
        core::array::from_fn(|j| i[at + j] as f64)
    }
    #[inline(always)]
    unsafe fn widen(v: Lane, hi: bool) -> [f64; 4] {
        let at = if hi { 4 } else { 0 };
        core::array::from_fn(|j| v[at + j] as f64)
    }
    #[inline(always)]
    unsafe fn narrow(lo: [f64; 4], hi: [f64; 4]) -> Lane {
        core::array::from_fn(|r| {
            if r < 4 {
                lo[r] as f32
            } else {
                hi[r - 4] as f32
            }
        })
    }
    #[inline(always)]
    unsafe fn load_d(p: &[f64; 4]) -> [f64; 4] {
        *p
    }
    #[inline(always)]
    unsafe fn store_d(p: &mut [f64; 4], v: [f64; 4]) {
        *p = v;
    }
    #[inline(always)]
    unsafe fn abs(a: Lane) -> Lane {
        lanes(a, f32::abs)
    }
    #[inline(always)]
    unsafe fn div(a: Lane, b: Lane) -> Lane {
        zip(a, b, |a, b| a / b)
    }
    #[inline(always)]
    unsafe fn sqrt(a: Lane) -> Lane {
        lanes(a, f32::sqrt)
    }
    #[inline(always)]
    unsafe fn to_f32(i: ILane) -> Lane {
        lanes(i, |i| i as f32)
    }
    #[inline(always)]
    unsafe fn splat_d(v: f64) -> [f64; 4] {
        [v; 4]
    }
    #[inline(always)]
    unsafe fn add_d(a: [f64; 4], b: [f64; 4]) -> [f64; 4] {
        core::array::from_fn(|j| a[j] + b[j])
    }
    #[inline(always)]
    unsafe fn sub_d(a: [f64; 4], b: [f64; 4]) -> [f64; 4] {
        core::array::from_fn(|j| a[j] - b[j])
    }
    #[inline(always)]
    unsafe fn div_d(a: [f64; 4], b: [f64; 4]) -> [f64; 4] {
        core::array::from_fn(|j| a[j] / b[j])
    }
}

/// [`Ops::load_rows`], one value at a time.
///
/// # Safety
/// The CPU features of `O`.
#[inline(always)]
pub(crate) unsafe fn load_rows_lanes<O: Ops, T: Element>(
    x: &[T],
    count: usize,
    zg: &mut [Lane],
    s: O::V,
    u: O::V,
) -> (O::V, O::V, O::V) {
    let n = zg.len();
    let last = count.clamp(1, LANES) - 1;
    for (i, zi) in zg.iter_mut().enumerate() {
        for (j, v) in zi.iter_mut().enumerate() {
            *v = x
                .get(j.min(last) * n + i)
                .map_or(0.0, |v| v.to_f64() as f32);
        }
    }
    // SAFETY: the caller guarantees `O`'s features.
    unsafe { scale_lanes::<O>(zg, s, u) }
}

/// [`Ops::store_rows`], one value at a time.
///
/// # Safety
/// The CPU features of `O`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn store_rows_lanes<O: Ops, T: Element>(
    zg: &[Lane],
    lam: O::V,
    delta: O::V,
    u: O::V,
    inv: O::V,
    y: &mut [T],
    count: usize,
    mask: u32,
) {
    let n = zg.len();
    for (i, zi) in zg.iter().enumerate() {
        let mut col = [0.0f32; LANES];
        // SAFETY: the caller guarantees `O`'s features.
        unsafe { O::store(&mut col, out_lane::<O>(zi, lam, delta, u, inv)) };
        for (j, &v) in col.iter().enumerate().take(count) {
            if mask >> j & 1 != 0 {
                if let Some(o) = y.get_mut(j * n + i) {
                    *o = T::from_f64(v as f64);
                }
            }
        }
    }
}

/// Pointers to the 8 rows of a group of `count ≥ 1` rows of `n` values of `x` (lanes past
/// `count` repeat the last row).
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
#[inline(always)]
pub(crate) fn row_ptrs(x: &[f32], n: usize, count: usize) -> [*const f32; 8] {
    core::array::from_fn(|j| x.as_ptr().wrapping_add(j.min(count.max(1) - 1) * n))
}

/// Pointers to the 8 rows of `n` values from the start of `y` (only those of the rows that
/// `y` holds may be written).
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
#[inline(always)]
pub(crate) fn row_ptrs_mut(y: &mut [f32], n: usize) -> [*mut f32; 8] {
    let p = y.as_mut_ptr();
    core::array::from_fn(|j| p.wrapping_add(j * n))
}

/// Rows into lanes, one value at a time: `out[i][j] = x[r·n + i]` for `i < n = out.len()`
/// and each lane `j`, of row `r = min(j, count − 1)`.
#[inline(always)]
pub(crate) fn load_lanes_scalar(x: &[f32], count: usize, out: &mut [Lane]) {
    let n = out.len();
    let last = count.clamp(1, LANES) - 1;
    for (i, o) in out.iter_mut().enumerate() {
        for (j, v) in o.iter_mut().enumerate() {
            *v = x.get(j.min(last) * n + i).copied().unwrap_or(0.0);
        }
    }
}

/// One VJP output value: `(g − mean)·s` where `0 < y < 1`, `+0` elsewhere.
#[inline(always)]
pub(crate) fn vjp_value(y: f32, g: f32, mean: f32, s: f32) -> f32 {
    if y > 0.0 && y < 1.0 {
        (g - mean) * s
    } else {
        0.0
    }
}

/// [`Ops::load_vjp`] one value at a time.
pub(crate) fn load_vjp_scalar(
    y: &[f32],
    g: &[f32],
    count: usize,
    scratch: &mut [Lane],
    gt: &mut [Lane],
) {
    let flat: &mut [f32] = scratch.as_flattened_mut();
    let total = (count.clamp(1, LANES) * gt.len()).min(flat.len());
    for ((f, &yv), &gv) in flat[..total].iter_mut().zip(y).zip(g) {
        *f = if yv > 0.0 && yv < 1.0 { gv } else { f32::NAN };
    }
    load_lanes_scalar(&flat[..total], count, gt);
}

/// [`Ops::store_vjp`] one value at a time (`mean`: the rows' means, `s` the scale).
pub(crate) fn store_vjp_values(
    y: &[f32],
    g: &[f32],
    n: usize,
    mean: &Lane,
    s: f32,
    out: &mut [f32],
    count: usize,
) {
    let rows = y.chunks(n).zip(g.chunks(n)).zip(out.chunks_mut(n));
    for (((yr, gr), or), &mj) in rows.zip(mean).take(count) {
        for ((&yi, &gi), o) in yr.iter().zip(gr).zip(or.iter_mut()) {
            *o = vjp_value(yi, gi, mj, s);
        }
    }
}

/// One VJP output value from the masked `g` (NaN outside the free set): [`vjp_value`].
#[inline(always)]
pub(crate) fn vjp_masked_value(gm: f32, mean: f32, s: f32) -> f32 {
    if gm.is_nan() {
        0.0
    } else {
        (gm - mean) * s
    }
}

/// [`Ops::store_vjp_masked`] one value at a time (`mean`: the rows' means, `s` the scale).
pub(crate) fn store_vjp_masked_values(
    gm: &[f32],
    n: usize,
    mean: &Lane,
    s: f32,
    out: &mut [f32],
    count: usize,
) {
    let rows = gm.chunks(n).zip(out.chunks_mut(n));
    for ((gr, or), &mj) in rows.zip(mean).take(count) {
        for (&gi, o) in gr.iter().zip(or.iter_mut()) {
            *o = vjp_masked_value(gi, mj, s);
        }
    }
}

/// Scales lanes of `x` in place into units, `z = fl(x·s)·u`, and returns per lane `(Σ z` in
/// the order of `zg`, `min z`, `max z)` (`min(lo, z)`, `max(hi, z)`, from `0`, `+∞`, `−∞`).
///
/// # Safety
/// The CPU features of `O`.
#[inline(always)]
pub(crate) unsafe fn scale_lanes<O: Ops>(zg: &mut [Lane], s: O::V, u: O::V) -> (O::V, O::V, O::V) {
    // SAFETY: the caller guarantees `O`'s features.
    unsafe {
        let (mut sum, mut lo) = (O::splat(0.0), O::splat(f32::INFINITY));
        let mut hi = O::splat(f32::NEG_INFINITY);
        for zi in zg.iter_mut() {
            // z = fl(x·s), the general path's, times the unit (exact up to |z| ≤ 2^103)
            let z = O::mul(O::mul(O::load(zi), s), u);
            O::store(zi, z);
            (sum, lo, hi) = (O::add(sum, z), O::min(lo, z), O::max(hi, z));
        }
        (sum, lo, hi)
    }
}

/// One output column: `min(max(fl(fl(z − λ) − δ), 0), u)·inv` per lane.
///
/// # Safety
/// The CPU features of `O`.
#[inline(always)]
pub(crate) unsafe fn out_lane<O: Ops>(
    z: &Lane,
    lam: O::V,
    delta: O::V,
    u: O::V,
    inv: O::V,
) -> O::V {
    // SAFETY: the caller guarantees `O`'s features.
    unsafe { out_value::<O>(O::load(z), lam, delta, u, inv) }
}

/// [`out_lane`] of a loaded column.
///
/// # Safety
/// The CPU features of `O`.
#[inline(always)]
pub(crate) unsafe fn out_value<O: Ops>(
    z: O::V,
    lam: O::V,
    delta: O::V,
    u: O::V,
    inv: O::V,
) -> O::V {
    // SAFETY: the caller guarantees `O`'s features.
    unsafe {
        let v = O::sub(O::sub(z, lam), delta);
        O::mul(O::min(O::max(v, O::splat(0.0)), u), inv)
    }
}
