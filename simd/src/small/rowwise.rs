//! Rows of at least [`ROWWISE_FROM`] elements: each row solved where it lies, without the
//! transposition into lanes.
//!
//! A block's rows are scaled into units as they lie (`zr`: row `r`'s `⌈n/LANES⌉` vectors,
//! the last padded with −∞ as a single vector's, see [`single_body`]), and each pass runs
//! over one row at a time at that row's μ (the vectors of the row across the lanes, as a
//! single vector's pass), its sums added across the lanes into the row's lane of its group:
//! the Newton update, the stopping tests and the last step are [`Group`]'s, on the same exact
//! sums (integers, and a minimum) as rows in lanes would give. Against the transposed layout
//! this saves the transposition both ways (about 5 of 12 vector operations per 8 entries on
//! the way in and 3 of 9 on the way out) and the passes of rows that have converged while
//! others of their group go on (a group in lanes waits for its slowest row).
//!
//! The start needs the row's `Σz`, whose rounding depends on the order of the additions: here
//! it is summed in [`LANES`] partial sums (entry `i` into partial `i mod LANES`, in order),
//! added as a tree ([`combine_stats`]), and so is a single vector's of the same length
//! ([`single_body`], through [`load_row`]), which therefore gets the same bits as the row in a
//! batch. Every path and thread count runs the same arithmetic (the primitives are [`Ops`]',
//! the reductions exact, or the same tree, see [`combine_stats`]), so they agree bitwise as for
//! shorter rows.

use super::*;

/// Rows of at least this many elements take the row layout ([`rowwise()`]), shorter ones the
/// transposition into lanes. Measured (one thread, `rowsbench`, 2-core AMD EPYC without
/// AVX-512, 7 Dec 2026): see the README's "Short rows".
pub(crate) const ROWWISE_FROM: usize = 112;

/// Whether rows of `n` elements are solved where they lie ([`ROWWISE_FROM`]).
#[inline(always)]
pub(crate) const fn rowwise(n: usize) -> bool {
    n >= ROWWISE_FROM
}

/// The lanes of the buffer a block of rows of `n` elements needs: `GROUPS·n` for rows in
/// lanes, `BLOCK·⌈n/LANES⌉` for rows where they lie ([`rowwise()`]).
pub(crate) const fn block_lanes(n: usize) -> usize {
    if rowwise(n) {
        BLOCK * n.div_ceil(LANES)
    } else {
        GROUPS * n
    }
}

/// A row's `(Σz, min z, max z)` from its per-lane partials (lane `j`: the entries `i ≡ j mod
/// LANES` in order, `Σ` from `+0`, `min` as `a < b ? a : b` from `+∞`, `max` as `a > b ? a :
/// b` from `−∞`): `Σ` as the tree `((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))`, `min`
/// and `max` folded from lane 0 up. [`Ops::hstats`] may take `min` and `max` in another order
/// (AVX2: a tree): the same values, but for the sign of a zero and when a lane is NaN, and
/// neither changes a result: the start and the bracket use them only as `min z − ½`,
/// `max z + ½`, `max z − k + ½` and `min z + (n − k) − ½` with `k > 0` and `n − k > 0`, where
/// `±0` give the same value, and a row with a NaN has a NaN `Σz` and goes to the general path.
#[inline(always)]
pub(crate) fn combine_stats(sum: &Lane, lo: &Lane, hi: &Lane) -> (f32, f32, f32) {
    let s = ((sum[0] + sum[1]) + (sum[2] + sum[3])) + ((sum[4] + sum[5]) + (sum[6] + sum[7]));
    let (mut l, mut h) = (lo[0], hi[0]);
    for (&a, &b) in lo.iter().zip(hi).skip(1) {
        l = if l < a { l } else { a };
        h = if h > b { h } else { b };
    }
    (s, l, h)
}

/// One row into units where it lies: `zr[v][j] = fl(x[LANES·v + j]·s)·u` for the `n =
/// x.len()` entries, −∞ past them (`zr`: `⌈n/LANES⌉` vectors); returns the row's `(Σz, min z,
/// max z)` as [`combine_stats`] defines them.
///
/// # Safety
/// The CPU features of `O`.
#[inline(always)]
pub(super) unsafe fn load_row<O: Ops, T: Element>(
    x: &[T],
    zr: &mut [Lane],
    sv: (O::V, O::V),
    sc: (f32, f32),
) -> (f32, f32, f32) {
    // SAFETY: the caller guarantees `O`'s features.
    unsafe {
        let (sum, lo, hi) = load_row_v::<O, T>(x, zr, sv, sc);
        O::hstats(sum, lo, hi)
    }
}

/// [`load_row`] with the row's per-lane partials of `(Σz, min z, max z)` (lane `j`: the
/// entries `i ≡ j mod LANES`, as [`combine_stats`] takes them) in place of their reduction.
///
/// # Safety
/// The CPU features of `O`.
#[inline(always)]
unsafe fn load_row_v<O: Ops, T: Element>(
    x: &[T],
    zr: &mut [Lane],
    (s, u): (O::V, O::V),
    (sf, uf): (f32, f32),
) -> (O::V, O::V, O::V) {
    let full = x.len() / LANES;
    // SAFETY: the caller guarantees `O`'s features; all memory is through references.
    unsafe {
        let (mut sum, mut lo) = (O::splat(0.0), O::splat(f32::INFINITY));
        let mut hi = O::splat(f32::NEG_INFINITY);
        // (no closure around the intrinsics: closures do not inherit the caller's features)
        let xf = T::as_f32(x);
        for (v, zv) in zr.iter_mut().take(full).enumerate() {
            let c = &x[v * LANES..][..LANES];
            let w = match xf.and_then(|xf| <&Lane>::try_from(&xf[v * LANES..][..LANES]).ok()) {
                Some(c) => O::load(c),
                None => O::load(&core::array::from_fn(|j| c[j].to_f64() as f32)),
            };
            let z = O::mul(O::mul(w, s), u);
            O::store(zv, z);
            (sum, lo, hi) = (O::add(sum, z), O::min(lo, z), O::max(hi, z));
        }
        let tail = &x[full * LANES..];
        if !tail.is_empty() {
            if let Some(zv) = zr.get_mut(full) {
                // the last vector: −∞ past the row, +0, +∞, −∞ into the partials (no change)
                let (mut zs, mut zl, mut zh) = (
                    [0.0f32; LANES],
                    [f32::INFINITY; LANES],
                    [f32::NEG_INFINITY; LANES],
                );
                *zv = [f32::NEG_INFINITY; LANES];
                for (j, &v) in tail.iter().enumerate() {
                    let z = v.to_f64() as f32 * sf * uf;
                    (zv[j], zs[j], zl[j], zh[j]) = (z, z, z, z);
                }
                let (a, b, c) = (O::load(&zs), O::load(&zl), O::load(&zh));
                (sum, lo, hi) = (O::add(sum, a), O::min(lo, b), O::max(hi, c));
            }
        }
        (sum, lo, hi)
    }
}

/// [`rowwise_block`] with the unit of the rows' length as a constant, and the accelerated
/// step where the block's rows take it (`kl.accel`).
///
/// # Safety
/// The CPU features of `O`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn rowwise_body<O: Ops, T: Element>(
    x: &[T],
    n: usize,
    rows: usize,
    kl: &KLanes,
    scale: T,
    y: &mut [T],
    zr: &mut [Lane],
    details: Option<&mut [Row; BLOCK]>,
) -> u32 {
    let a = (x, n, rows, kl, scale, y, zr, details);
    // SAFETY: the caller guarantees `O`'s features.
    unsafe {
        match (kl.unit.shift == 24, kl.accel) {
            (true, false) => rowwise_block::<O, T, 24, false>(a),
            (true, true) => rowwise_block::<O, T, 24, true>(a),
            (false, false) => rowwise_block::<O, T, 23, false>(a),
            (false, true) => rowwise_block::<O, T, 23, true>(a),
        }
    }
}

/// [`Group::new`] from a group's rows' per-lane statistics (`st`: the partials of `Σz`,
/// `min z`, `max z` of the group's row `j` at index `j`, reduced here by [`Ops::hstats8`]),
/// its k, and its valid and filled lanes.
///
/// # Safety
/// The CPU features of `O`.
#[inline(always)]
#[allow(clippy::type_complexity)]
unsafe fn start_group<O: Ops, const ACCEL: bool>(
    n: usize,
    (st, kf, kq, valid, fill): (&[[O::V; LANES]; 3], &Lane, &ILane, u32, u32),
    unit: Unit,
) -> (Group<O>, u32) {
    // SAFETY: the caller guarantees `O`'s features.
    unsafe {
        let stats = O::hstats8(&st[0], &st[1], &st[2]);
        Group::<O>::new::<ACCEL>(n, stats, kf, kq, valid, fill, unit)
    }
}

/// [`block_body`] for rows of `n ≥` [`ROWWISE_FROM`] elements, solved where they lie (see the
/// module docs); `zr` holds at least `BLOCK·⌈n/LANES⌉` lanes. Returns the rows written (bit
/// `r` for row `r`); with `details`, each row's [`Row`] (`passes`: the block's).
///
/// # Safety
/// The CPU features of `O`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
#[allow(clippy::type_complexity)]
unsafe fn rowwise_block<O: Ops, T: Element, const SHIFT: u32, const ACCEL: bool>(
    (x, n, rows, kl, scale, y, zr, mut details): (
        &[T],
        usize,
        usize,
        &KLanes,
        T,
        &mut [T],
        &mut [Lane],
        Option<&mut [Row; BLOCK]>,
    ),
) -> u32 {
    let rows = rows.clamp(1, BLOCK);
    let nl = n.div_ceil(LANES);
    let (Some(x), Some(y), Some(zr)) = (
        x.get(..rows * n),
        y.get_mut(..rows * n),
        zr.get_mut(..rows * nl),
    ) else {
        return 0;
    };
    let unit = Unit::new(SHIFT);
    let (sf, uf) = (scale.to_f64() as f32, unit.f);
    let groups = rows.div_ceil(LANES);
    let valid = (1u32 << rows) - 1;
    let lanes_of = |m: u32, g: usize| (m >> (g * LANES)) & ((1 << LANES) - 1);
    let fill = kl.zeros | kl.ones;
    // SAFETY: the caller guarantees `O`'s features; all memory is through references.
    unsafe {
        let sv = (O::splat(sf), O::splat(uf));
        // the start's statistics, lane r % LANES of group r / LANES (lanes without a row repeat
        // the last row's, and are not live)
        let zero = O::splat(0.0);
        let mut st = [[[zero; LANES]; 3]; GROUPS];
        let mut last = (zero, zero, zero);
        for r in 0..BLOCK {
            if r < rows {
                last = load_row_v::<O, T>(&x[r * n..][..n], &mut zr[r * nl..][..nl], sv, (sf, uf));
            }
            let (g, j) = (r / LANES, r % LANES);
            (st[g][0][j], st[g][1][j], st[g][2][j]) = last;
        }
        // (a function, not a closure: a closure does not inherit the caller's CPU features)
        let start = |g: usize| {
            (
                &st[g],
                &kl.kf[g],
                &kl.kq[g],
                lanes_of(valid, g),
                lanes_of(fill, g),
            )
        };
        let mut gs = [
            start_group::<O, ACCEL>(n, start(0), unit),
            start_group::<O, ACCEL>(n, start(1), unit),
        ];
        // each row's last pass, per lane (a row that has converged keeps it: `Group::update`
        // takes its sums again with every later pass of its group)
        let zi = O::splat_i(0);
        let mut q = [[zi; LANES]; GROUPS];
        let mut cf = [[zi; LANES]; GROUPS];
        let mut rr = [[zero; LANES]; GROUPS];
        let len = nl * LANES;
        let mut steps = 0u32;
        while steps < MAX_STEPS {
            let act = [O::bits(gs[0].0.active), O::bits(gs[1].0.active)];
            if act == [0, 0] {
                break;
            }
            steps += 1;
            for (g, (grp, _)) in gs.iter_mut().enumerate() {
                if act[g] == 0 {
                    continue;
                }
                let rows_g = &zr[g * LANES * nl..];
                let sums = (&mut q[g], &mut cf[g], &mut rr[g]);
                if steps == 1 {
                    group_passes::<O, false>(rows_g, nl, grp.mu, act[g], sums, unit);
                } else {
                    group_passes::<O, true>(rows_g, nl, grp.mu, act[g], sums, unit);
                }
                let sums = (O::hsum8_i(&q[g]), O::hsum8_i(&cf[g]), O::hmin8(&rr[g]));
                grp.update::<ACCEL>(sums, len, unit);
            }
        }
        let (uv, inv) = (O::splat(uf), O::splat(1.0 / uf));
        let mut written = 0u32;
        for (g, (grp, live)) in gs.iter().enumerate().take(groups) {
            let upper = match details {
                Some(_) => {
                    let mut mu = [0.0f32; LANES];
                    O::store(&mut mu, grp.mu);
                    let mut cu = [0i32; LANES];
                    for (j, c) in cu.iter_mut().enumerate() {
                        let r = (g * LANES + j).min(rows - 1);
                        let lanes = upper_count::<O>(&zr[r * nl..][..nl], O::splat(mu[j]), unit);
                        *c = O::hsum2_i(lanes, O::splat_i(0)).0;
                    }
                    Some(O::load_i(&cu))
                }
                None => None,
            };
            let out = details
                .as_deref_mut()
                .map(|d| &mut d[g * LANES..(g + 1) * LANES]);
            let (done, lv, dv) = grp.finish(
                n,
                *live,
                &kl.frac[g],
                lanes_of(kl.zeros, g),
                lanes_of(kl.ones, g),
                steps,
                unit,
                out.zip(upper),
            );
            let done = done & lanes_of(valid, g);
            let (mut lam, mut delta) = ([0.0f32; LANES], [0.0f32; LANES]);
            O::store(&mut lam, lv);
            O::store(&mut delta, dv);
            let mut left = done;
            while left != 0 {
                let j = left.trailing_zeros() as usize;
                left &= left - 1;
                let r = g * LANES + j;
                let (l, d) = (O::splat(lam[j]), O::splat(delta[j]));
                write_row::<O, T>(&zr[r * nl..][..nl], &mut y[r * n..][..n], l, d, uv, inv);
            }
            written |= done << (g * LANES);
        }
        written
    }
}

/// The passes of a group's rows `j` whose bit of `act` is set (`zg`: the group's rows, `nl`
/// vectors each, from row 0), each at its lane of `mu`: [`pass_r`]'s per-lane sums into
/// `q[j]`, `cf[j]` and `r[j]` (added across the lanes later, eight rows at once:
/// [`Ops::hsum8_i`], [`Ops::hmin8`]). Two rows at a time, their passes interleaved (one row's
/// pass of a few vectors leaves its sums' chains exposed).
///
/// # Safety
/// The CPU features of `O`.
#[inline(always)]
#[allow(clippy::type_complexity)]
unsafe fn group_passes<O: Ops, const WITH_R: bool>(
    zg: &[Lane],
    nl: usize,
    mu: O::V,
    act: u32,
    (q, cf, r): (&mut [O::I; LANES], &mut [O::I; LANES], &mut [O::V; LANES]),
    unit: Unit,
) {
    // SAFETY: the caller guarantees `O`'s features; all memory is through references.
    unsafe {
        let mut m = [0.0f32; LANES];
        O::store(&mut m, mu);
        let row = |j: usize| &zg[j * nl..][..nl];
        let mut left = act;
        while left != 0 {
            let a = left.trailing_zeros() as usize;
            left &= left - 1;
            if left == 0 {
                (q[a], cf[a], r[a]) = pass_r::<O, WITH_R>(row(a), O::splat(m[a]), unit);
                break;
            }
            let b = left.trailing_zeros() as usize;
            left &= left - 1;
            let (sa, sb) = pass2::<O, WITH_R>(row(a), row(b), O::splat(m[a]), O::splat(m[b]), unit);
            (q[a], cf[a], r[a]) = sa;
            (q[b], cf[b], r[b]) = sb;
        }
    }
}

/// [`pass_r`] of two rows of the same length at once (the same sums, bit for bit).
///
/// # Safety
/// The CPU features of `O`.
#[inline(always)]
#[allow(clippy::type_complexity)]
unsafe fn pass2<O: Ops, const WITH_R: bool>(
    za: &[Lane],
    zb: &[Lane],
    mua: O::V,
    mub: O::V,
    unit: Unit,
) -> ((O::I, O::I, O::V), (O::I, O::I, O::V)) {
    // SAFETY: the caller guarantees `O`'s features.
    unsafe {
        let half = O::splat(unit.f * 0.5);
        let neg_half = O::splat(unit.f * -0.5);
        let zero = O::splat_i(0);
        let (mut qa, mut ca, mut qb, mut cb) = (zero, zero, zero, zero);
        let (mut ra, mut rb) = (O::splat(f32::INFINITY), O::splat(f32::INFINITY));
        let hs = (half, neg_half);
        for (a, b) in za.iter().zip(zb) {
            pass_entry::<O, WITH_R>(O::load(a), mua, hs, (&mut qa, &mut ca, &mut ra));
            pass_entry::<O, WITH_R>(O::load(b), mub, hs, (&mut qb, &mut cb, &mut rb));
        }
        if !WITH_R {
            (ra, rb) = (O::splat(0.0), O::splat(0.0));
        }
        ((qa, ca, ra), (qb, cb, rb))
    }
}

/// A row's output from its units where they lie: `y_i = `[`out_value`]`(z_i)` for `i < n =
/// y.len()` (`zr`: `⌈n/LANES⌉` vectors).
///
/// # Safety
/// The CPU features of `O`.
#[inline(always)]
unsafe fn write_row<O: Ops, T: Element>(
    zr: &[Lane],
    y: &mut [T],
    lam: O::V,
    delta: O::V,
    u: O::V,
    inv: O::V,
) {
    let full = y.len() / LANES;
    // SAFETY: the caller guarantees `O`'s features; all memory is through references.
    unsafe {
        match T::as_f32_mut(y) {
            Some(yf) => {
                for (c, zv) in yf.chunks_exact_mut(LANES).zip(zr) {
                    if let Ok(c) = <&mut Lane>::try_from(c) {
                        O::store(c, out_value::<O>(O::load(zv), lam, delta, u, inv));
                    }
                }
            }
            None => {
                let mut out = [0.0f32; LANES];
                for (c, zv) in y.chunks_exact_mut(LANES).zip(zr) {
                    O::store(&mut out, out_value::<O>(O::load(zv), lam, delta, u, inv));
                    for (o, &w) in c.iter_mut().zip(&out) {
                        *o = T::from_f64(w as f64);
                    }
                }
            }
        }
        if let Some(zv) = zr.get(full) {
            let mut out = [0.0f32; LANES];
            O::store(&mut out, out_value::<O>(O::load(zv), lam, delta, u, inv));
            for (o, &w) in y[full * LANES..].iter_mut().zip(&out) {
                *o = T::from_f64(w as f64);
            }
        }
    }
}
