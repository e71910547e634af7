//! The iteration on a block of rows in lanes: one pass ([`pass`]), the safeguarded Newton
//! update of a group of 8 rows ([`Group`]), the start, the interleaved groups of a block and
//! the last step with the write.

use super::*;

dispatched! {
    /// Solves and writes rows `x[r·n..(r+1)·n]` for `r < rows` (`1 ≤ rows ≤ BLOCK`,
    /// `1 ≤ n ≤ SMALL_MAX`), with the rows' k (`kl`, built from validated k for this n) and
    /// `scale = 1/τ` in `T`. Returns the rows written (bit `r`); the others are left to the
    /// general solver. `zt` holds at least [`block_lanes`]`(n)` lanes; `details` receives each row's
    /// [`Row`]. (The batch runs `block_body` inside its own loop; this entry is the tests'.)
    #[allow(clippy::too_many_arguments)]
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn block / block_avx2, block_avx512 => block_any(
        x: &[T],
        n: usize,
        rows: usize,
        kl: &KLanes,
        scale: T,
        y: &mut [T],
        zt: &mut [Lane],
        details: Option<&mut [Row; BLOCK]>
    ) -> u32
}

/// [`block_body`] with the accelerated step where the block's rows take it (`kl.accel`).
///
/// # Safety
/// The CPU features of `O`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn block_any<O: Ops, T: Element>(
    x: &[T],
    n: usize,
    rows: usize,
    kl: &KLanes,
    scale: T,
    y: &mut [T],
    zt: &mut [Lane],
    details: Option<&mut [Row; BLOCK]>,
) -> u32 {
    // SAFETY: the caller guarantees `O`'s features.
    unsafe {
        if rowwise(n) {
            return rowwise_body::<O, T>(x, n, rows, kl, scale, y, zt, details);
        }
        if kl.accel {
            block_body::<O, T, true>(x, n, rows, kl, scale, y, zt, details)
        } else {
            block_body::<O, T, false>(x, n, rows, kl, scale, y, zt, details)
        }
    }
}

/// One pass at the lanes' `μ = λ + ½`, all in fixed-point units (`zt` holds `z·u`, `mu` is
/// `μ·u`): with `h = fl(z − μ)` (so `d = z − λ = h + ½`), the free set is `F = {|h| < ½}`,
/// `U = {h ≥ ½}` and `L = {h ≤ −½}`; returns `(Σ_i round(clamp(h, −½, ½)), |F|, R)` with
/// `R = min_i ||h_i| − ½|`, the distance from μ to the nearest breakpoint (the sets are the
/// same at every `μ'` with `|μ' − μ| < R`). Centring the unit interval at 0 lets one `|h|` serve
/// both the free test and `R`, and the clamp folds `|U|` into the sum: each entry of `U`
/// adds `+½`, each of `L` `−½` (whole numbers of units), so `f(λ) − k = Σ + len·½ − k` over the
/// `len` entries (see [`Group::update`]): 11 operations per entry.
///
/// # Safety
/// The CPU features of `O`.
#[inline(always)]
pub(super) unsafe fn pass<O: Ops>(zt: &[Lane], mu: O::V, unit: Unit) -> (O::I, O::I, O::V) {
    // SAFETY: the caller guarantees `O`'s features.
    unsafe { pass_r::<O, true>(zt, mu, unit) }
}

/// [`pass`], with `R` (`WITH_R`) or without (`R = 0`, which no stopping test passes): the
/// first pass of every row goes without (see the module docs; `rowsbench`, one thread, 2-core
/// AMD, 5 Dec 2026: 65536 × 10 544–560 → 535–539 µs, 10240 × 64 340–352 → 322, 2560 × 256
/// 329–340 → 314; `singlebench`: single vectors within ±3%, the same worst accuracy in
/// `tests/kernels/accuracy_table.rs`).
///
/// # Safety
/// The CPU features of `O`.
#[inline(always)]
pub(super) unsafe fn pass_r<O: Ops, const WITH_R: bool>(
    zt: &[Lane],
    mu: O::V,
    unit: Unit,
) -> (O::I, O::I, O::V) {
    // SAFETY: the caller guarantees `O`'s features.
    unsafe { pass_sums::<O, WITH_R>(zt, mu, unit.f) }
}

/// [`pass_r`] with the unit as its value (`unit_f`), for [`Ops::pass_pair`].
///
/// # Safety
/// The CPU features of `O`.
#[inline(always)]
pub(crate) unsafe fn pass_sums<O: Ops, const WITH_R: bool>(
    zt: &[Lane],
    mu: O::V,
    unit_f: f32,
) -> (O::I, O::I, O::V) {
    // SAFETY: the caller guarantees `O`'s features.
    unsafe {
        let half = O::splat(unit_f * 0.5);
        let neg_half = O::splat(unit_f * -0.5);
        let (mut q, mut cf) = (O::splat_i(0), O::splat_i(0));
        let mut r = O::splat(f32::INFINITY);
        for zi in zt {
            pass_entry::<O, WITH_R>(O::load(zi), mu, (half, neg_half), (&mut q, &mut cf, &mut r));
        }
        (q, cf, if WITH_R { r } else { O::splat(0.0) })
    }
}

/// One vector of [`pass_sums`]: `z` at `mu` into the sums `(q, cf, r)` (`half`, `neg_half`:
/// `±unit/2`).
///
/// # Safety
/// The CPU features of `O`.
#[inline(always)]
pub(super) unsafe fn pass_entry<O: Ops, const WITH_R: bool>(
    z: O::V,
    mu: O::V,
    (half, neg_half): (O::V, O::V),
    (q, cf, r): (&mut O::I, &mut O::I, &mut O::V),
) {
    // SAFETY: the caller guarantees `O`'s features.
    unsafe {
        let h = O::sub(z, mu);
        // round(h) on F, ±½ (exact) on U and L: |·| ≤ ½·unit ≤ 2^23, a sum over at most
        // 256 entries within 2^30 in magnitude
        *q = O::add_i(*q, O::round_i(O::min(O::max(h, neg_half), half)));
        let ah = O::abs(h);
        *cf = O::sub_i(*cf, O::lt(ah, half));
        // the distance to the nearer breakpoint, `||h| − ½|`: exact for |h| ∈ [¼, 1]
        // (Sterbenz), else within 2^-24 of it, relative (the margin of `Group::update`)
        if WITH_R {
            *r = O::min(*r, O::abs(O::sub(ah, half)));
        }
    }
}

/// `|U| = #{h ≥ ½}` at the lanes' μ (the details of [`Group::finish`]; the iteration itself
/// needs only [`pass`]'s sum).
///
/// # Safety
/// The CPU features of `O`.
#[inline(always)]
pub(super) unsafe fn upper_count<O: Ops>(zt: &[Lane], mu: O::V, unit: Unit) -> O::I {
    // SAFETY: the caller guarantees `O`'s features.
    unsafe {
        let half = O::splat(unit.f * 0.5);
        // `len − #{h < ½}` (the padding of a single row, −∞, counts below)
        let mut cu = O::splat_i(zt.len() as i32);
        for zi in zt {
            cu = O::add_i(cu, O::lt(O::sub(O::load(zi), mu), half));
        }
        cu
    }
}

/// Lanes 0–3 (`hi = false`) or 4–7 of the piece's step `(f(λ) − k)/|F|` in units, in `f64`,
/// exact up to the division's rounding: `ex = f(λ)·unit − K` (exact in `i32`, see
/// [`Group::update`]), `kf = k·unit − K`, `cf ≥ 1`.
///
/// # Safety
/// The CPU features of `O`.
#[inline(always)]
pub(super) unsafe fn delta_half<O: Ops>(ex: O::I, cf: O::I, kf: O::D, hi: bool) -> O::D {
    // SAFETY: the caller guarantees `O`'s features.
    unsafe { O::div_d(O::sub_d(O::widen_i(ex, hi), kf), O::widen_i(cf, hi)) }
}

/// `K = clamp(round(k·unit), 1, 2^31 − 1)`: k in units. On solved rows `k < n`, so `k·unit <
/// n·unit ≤ 2^31`; the clamp covers the others, and a k below half a unit is 1 unit, so that
/// `f(λ) − k` in units, `Σq + |U|·unit − K ∈ (−2^31, 2^31)`, fits an `i32` (and `Σq − K`,
/// with `0 ≤ Σq ≤ 2^31`, too).
#[inline(always)]
pub(super) fn k_units(k: f64, unit: Unit) -> i32 {
    (k * unit.d()).round_ties_even().clamp(1.0, 2_147_483_647.0) as i32
}

/// The target sums of one block's rows, per lane and in the block's unit: `k·unit` in `f32`
/// (the start), `K` ([`k_units`]) and `k·unit − K` (the exact step at the end), and the rows
/// to fill instead of solving (`zeros`: k ≤ 0, `ones`: k ≥ n). Built once per distinct `ks`
/// (a batch with one k: once per task).
#[derive(Clone, Copy)]
pub(crate) struct KLanes {
    pub(super) unit: Unit,
    pub(super) kf: [Lane; GROUPS],
    pub(super) kq: [ILane; GROUPS],
    pub(super) frac: [[f64; LANES]; GROUPS],
    pub(super) zeros: u32,
    pub(super) ones: u32,
    /// Some row takes the accelerated step ([`accelerated`]; the loop copy with
    /// [`Group::update`]'s `ACCEL`).
    pub(crate) accel: bool,
}

/// The shortest rows whose iteration takes the accelerated step ([`accelerated`]): in
/// simulations of Gaussian rows it saved passes from about n = 24 and cost some below 16.
pub(crate) const ACCEL_FROM: usize = 24;

/// Whether a row of `n` entries whose `k·unit` is `kf` (in `f32`, as [`KLanes`] holds it) takes
/// the accelerated step of [`Group::update`]: `n ≥ ACCEL_FROM` and `k < n/4` or `k > 3n/4`,
/// compared in `f32` units exactly as [`Group::new`] compares the lanes (`n·unit/4` and
/// `3n·unit/4` are exact). Rows with `k ≤ 0` or `k ≥ n` are filled, not solved, whatever this
/// says.
pub(super) fn accelerated(kf: f32, n: usize, unit: Unit) -> bool {
    let nu = n as f32 * unit.f;
    n >= ACCEL_FROM && (kf < nu * 0.25 || kf > nu * 0.75)
}

impl KLanes {
    /// The lanes of `ks` (validated) for rows of `n` elements.
    #[inline(always)]
    pub(crate) fn new(ks: &[f64; BLOCK], n: usize) -> Self {
        let unit = Unit::for_len(n);
        let nf = n as f64;
        let mut kl = KLanes {
            unit,
            kf: [[0.0; LANES]; GROUPS],
            kq: [[0; LANES]; GROUPS],
            frac: [[0.0; LANES]; GROUPS],
            zeros: 0,
            ones: 0,
            accel: false,
        };
        for (r, &k) in ks.iter().enumerate() {
            let (g, j) = (r / LANES, r % LANES);
            let big = k_units(k, unit);
            kl.kf[g][j] = (k * unit.d()) as f32;
            kl.kq[g][j] = big;
            kl.frac[g][j] = k * unit.d() - big as f64;
            kl.zeros |= ((k <= 0.0) as u32) << r;
            kl.ones |= ((k >= nf) as u32) << r;
            kl.accel |= accelerated(kl.kf[g][j], n, unit);
        }
        kl
    }

    /// [`KLanes::new`] of `k` in every lane (a single row's, or a batch's with one k).
    #[inline(always)]
    pub(crate) fn splat(k: f64, n: usize) -> Self {
        let unit = Unit::for_len(n);
        let big = k_units(k, unit);
        let all = u32::MAX >> (32 - BLOCK);
        KLanes {
            unit,
            kf: [[(k * unit.d()) as f32; LANES]; GROUPS],
            kq: [[big; LANES]; GROUPS],
            frac: [[k * unit.d() - big as f64; LANES]; GROUPS],
            zeros: if k <= 0.0 { all } else { 0 },
            ones: if k >= n as f64 { all } else { 0 },
            accel: accelerated((k * unit.d()) as f32, n, unit),
        }
    }
}

/// The iteration state of one group of [`LANES`] rows.
#[derive(Clone, Copy)]
pub(super) struct Group<O: Ops> {
    /// `μ = λ + ½` in units (see [`pass`]), and the bracket `(lo, hi)` around the root's μ.
    pub(super) mu: O::V,
    lo: O::V,
    hi: O::V,
    /// Lanes still iterating.
    pub(super) active: O::I,
    /// The last pass's `f(λ)·unit − K` and `|F|` (of the converged λ, for a lane that has
    /// converged: its λ stays, and each later pass recomputes the same values).
    prev_ex: O::I,
    prev_cf: O::I,
    /// `K = clamp(round(k·unit), 1, 2^31 − 1)` ([`k_units`]): k in the fixed-point unit.
    kq: O::I,
    /// The accelerated step's lanes ([`accelerated`], with `ACCEL`; else unused): `up`, k <
    /// n/4, stretched from below, with `a = f`, `b = k`; `down`, k > 3n/4, from above, with
    /// `a = n − f`, `b = n − k`; `base` (0 or `n·unit`: `a = |base − f|`) and `sb = √b`, in
    /// units.
    up: O::I,
    down: O::I,
    base: O::V,
    sb: O::V,
}

impl<O: Ops> Group<O> {
    /// A group of rows of `n` elements from their statistics (`(Σz, min z, max z)` per lane,
    /// as [`Ops::load_rows`] returns them): the start is [`start_mu`]'s, clamped to
    /// `[min z − 1, max z]`. `valid`: the lanes that hold rows; `fill`: the lanes whose k
    /// needs no solve (k ≤ 0 or k ≥ n). Returns the group and its live lanes: rows whose `Σz`
    /// is finite (so is every `z`; a row of huge finite entries whose sum overflows is left
    /// to the general path, as every row whose λ leaves the window).
    ///
    /// # Safety
    /// The CPU features of `O`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn new<const ACCEL: bool>(
        n: usize,
        (sum, lo, hi): (O::V, O::V, O::V),
        kf: &Lane,
        kq: &ILane,
        valid: u32,
        fill: u32,
        unit: Unit,
    ) -> (Self, u32) {
        // SAFETY: the caller guarantees `O`'s features.
        unsafe {
            let fin = O::abs_le(sum, O::splat(f32::MAX));
            let live = O::bits(fin) & valid;
            let act = O::and(fin, O::lane_mask(valid & !fill));
            // in μ = λ + ½: the root lies in [min z − ½, max z + ½] (f = n at one end, 0 at
            // the other)
            let half = O::splat(unit.f * 0.5);
            let kv = O::load(kf);
            let start = start_mu::<O>(n, sum, lo, hi, kv, unit);
            let (lo, hi) = (O::sub(lo, half), O::add(hi, half));
            let none = O::splat_i(0);
            let (up, down, base, sb) = if ACCEL {
                let nu = n as f32 * unit.f;
                let up = O::lt(kv, O::splat(nu * 0.25));
                let down = O::gt(kv, O::splat(nu * 0.75));
                let nv = O::splat(nu);
                let base = O::select(down, nv, O::splat(0.0));
                (up, down, base, O::sqrt(O::select(down, O::sub(nv, kv), kv)))
            } else {
                (none, none, O::splat(0.0), O::splat(1.0))
            };
            let group = Group {
                mu: O::min(O::max(start, lo), hi),
                lo,
                hi,
                active: act,
                prev_ex: none,
                prev_cf: O::splat_i(-1),
                kq: O::load_i(kq),
                up,
                down,
                base,
                sb,
            };
            (group, live)
        }
    }

    /// After the iteration: per lane δ = `(f(λ) − k)/|F|` (in `f64` from the
    /// converged pass's exact sums, 0 when `|F| = 0`), for `y_i = clip(fl(z_i − μ) − fl₃₂(δ −
    /// ½))` (zeros where k ≤ 0, ones where k ≥ n: `zeros`, `ones`, with μ = 0 and δ = ±∞).
    /// Returns the lanes done (live, converged and, unless filled, with λ = μ − ½ inside
    /// [`LAMBDA_WINDOW`]), μ and `fl₃₂(δ − ½)`; with `details` (and each lane's `|U|` at μ, as
    /// [`upper_count`] gives it for rows in lanes), each lane's [`Row`]
    /// (`passes`: the block's).
    ///
    /// # Safety
    /// The CPU features of `O`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn finish(
        &self,
        n: usize,
        live: u32,
        frac: &[f64; LANES],
        zeros: u32,
        ones: u32,
        steps: u32,
        unit: Unit,
        details: Option<(&mut [Row], O::I)>,
    ) -> (u32, O::V, O::V) {
        // SAFETY: the caller guarantees `O`'s features.
        unsafe {
            let cfd = O::max_i(self.prev_cf, O::splat_i(1));
            let k0 = O::load_d(&[frac[0], frac[1], frac[2], frac[3]]);
            let k1 = O::load_d(&[frac[4], frac[5], frac[6], frac[7]]);
            let d0 = delta_half::<O>(self.prev_ex, cfd, k0, false);
            let d1 = delta_half::<O>(self.prev_ex, cfd, k1, true);
            let has_free = O::gt_i(self.prev_cf, O::splat_i(0));
            // the output is `clip(fl(z − μ) − fl₃₂(δ − ½))`: `d − δ = h + ½ − δ`
            let (half, dh) = (unit.f * 0.5, O::splat_d(unit.d() * 0.5));
            let shifted = O::narrow(O::sub_d(d0, dh), O::sub_d(d1, dh));
            let mut dv = O::select(has_free, shifted, O::splat(-half));
            let mut lv = self.mu;
            let fill = zeros | ones;
            let lam = O::sub(lv, O::splat(half));
            let inside = O::bits(O::abs_le(lam, O::splat(LAMBDA_WINDOW * unit.f))) | fill;
            let done = live & !O::bits(self.active) & inside;
            if fill != 0 {
                // k ≤ 0: zeros (λ = 0, δ = +∞); k ≥ n: ones (δ = −∞)
                let (mut delta, mut lam) = ([0.0f32; LANES], [0.0f32; LANES]);
                O::store(&mut delta, dv);
                O::store(&mut lam, lv);
                for (j, (d, l)) in delta.iter_mut().zip(lam.iter_mut()).enumerate() {
                    if zeros >> j & 1 != 0 {
                        (*d, *l) = (f32::INFINITY, 0.0);
                    } else if ones >> j & 1 != 0 {
                        (*d, *l) = (f32::NEG_INFINITY, 0.0);
                    }
                }
                dv = O::load(&delta);
                lv = O::load(&lam);
            }
            if let Some((out, upper)) = details {
                let mut dd = [[0.0f64; 4]; 2];
                O::store_d(&mut dd[0], d0);
                O::store_d(&mut dd[1], d1);
                let (mut lam, mut cf, mut cu) = ([0.0f32; LANES], [0i32; LANES], [0i32; LANES]);
                O::store(&mut lam, self.mu);
                O::store_i(&mut cf, self.prev_cf);
                O::store_i(&mut cu, upper);
                for (j, o) in out.iter_mut().take(LANES).enumerate() {
                    let d = if cf[j] > 0 { dd[j / 4][j % 4] } else { 0.0 };
                    *o = Row {
                        lambda: if fill >> j & 1 != 0 {
                            0.0
                        } else {
                            (lam[j] as f64 + d) / unit.d() - 0.5
                        },
                        free: if fill >> j & 1 != 0 {
                            0
                        } else {
                            cf[j].max(0) as u32
                        },
                        upper: if ones >> j & 1 != 0 {
                            n as u32
                        } else if zeros >> j & 1 != 0 {
                            0
                        } else {
                            cu[j].max(0) as u32
                        },
                        passes: steps.max(1) + 1,
                        ok: done >> j & 1 != 0,
                    };
                }
            }
            (done, lv, dv)
        }
    }

    /// [`Group::finish`] and the write of the group's `c` rows (`y`: `c·n` values) from its
    /// lanes `zg`: group `g` of a block whose k is `kl`. Returns the rows written (bit `j` for
    /// row `j` of the group). `uv` and `inv` are `unit`'s `u` and `1/u` in every lane, made once
    /// per block for both groups by the caller (made in here instead, the block measured about
    /// 5% slower at 65536 × 10: code layout, not work).
    ///
    /// # Safety
    /// The CPU features of `O`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn finish_write<T: Element>(
        &self,
        g: usize,
        n: usize,
        live: u32,
        kl: &KLanes,
        steps: u32,
        zg: &[Lane],
        y: &mut [T],
        c: usize,
        unit: Unit,
        uv: O::V,
        inv: O::V,
        details: Option<&mut [Row]>,
    ) -> u32 {
        let lanes_of = |m: u32| (m >> (g * LANES)) & ((1 << LANES) - 1);
        // SAFETY: the caller guarantees `O`'s features.
        unsafe {
            let f = self.finish(
                n,
                live,
                &kl.frac[g],
                lanes_of(kl.zeros),
                lanes_of(kl.ones),
                steps,
                unit,
                details.map(|d| (d, upper_count::<O>(zg, self.mu, unit))),
            );
            write_group::<O, T>(zg, y, c, f, uv, inv)
        }
    }

    /// One pass and one update (see the module docs).
    ///
    /// # Safety
    /// The CPU features of `O`.
    #[inline(always)]
    unsafe fn step<const ACCEL: bool>(&mut self, zt: &[Lane], unit: Unit, first: bool) {
        // SAFETY: the caller guarantees `O`'s features.
        unsafe {
            let sums = if first {
                pass_r::<O, false>(zt, self.mu, unit)
            } else {
                pass::<O>(zt, self.mu, unit)
            };
            self.update::<ACCEL>(sums, zt.len(), unit)
        }
    }

    /// The update of [`Group::step`] from a pass's `(Σ round(clamp(h, −½, ½)), |F|, R)` over
    /// `len` entries (see [`pass`]).
    ///
    /// # Safety
    /// The CPU features of `O`.
    #[inline(always)]
    pub(super) unsafe fn update<const ACCEL: bool>(
        &mut self,
        (q, cf, r): (O::I, O::I, O::V),
        len: usize,
        unit: Unit,
    ) {
        // SAFETY: the caller guarantees `O`'s features.
        unsafe {
            let lam = self.mu;
            // f(λ) − k in units, exact up to k's rounding, and the piece's root λ + δ in f32 (δ
            // within 2^-23 relative of the piece's exact step). With F, U, L as in `pass`,
            // `Σ_i round(clamp(h)) = Σ_F round(h) + (|U| − |L|)·½`, so `Σ + len·½ = Σ_F round(h
            // + ½) + |U| = f(λ)` in units (`round(h + ½) = round(h) + ½`: ½ is a whole number
            // of units). In units, `|Σ|` and `len·½` are at most `len·unit/2 ≤ 2^30` (see `Unit`),
            // and the result, in `[−K, len·unit − K]`, fits an `i32` (`k_units`).
            let ex = O::add_i(
                O::sub_i(q, self.kq),
                O::splat_i((len as i32) << (unit.shift - 1)),
            );
            let zi = O::splat_i(0);
            let up = O::gt_i(ex, zi);
            let exf = O::to_f32(ex);
            let cff = O::to_f32(O::max_i(cf, O::splat_i(1)));
            let delta = O::div(exf, cff);
            let newton = O::add(lam, delta);
            let has_free = O::gt_i(cf, zi);
            // converged: f(λ) = k; the root lies closer to λ than any breakpoint (with a margin
            // for δ's rounding), so the sets at λ are the root's; or a Newton point that rounds
            // to λ itself (the root lies within about an ulp of λ, and `λ + δ` is written
            // without rounding). The first test is
            // `|ex|·(1 + 2^-20) < R·|F|`, not on δ: it runs beside the division (2% at n = 10).
            // `exf` and `R·|F|` round by at most 2^-24 each and R is within 2^-24 of the
            // distance (see `pass`), all inside the margin.
            let ae = O::abs(exf);
            let near = O::and(
                has_free,
                O::lt(
                    O::add(ae, O::mul(ae, O::splat(1.0 / 1_048_576.0))),
                    O::mul(r, cff),
                ),
            );
            let stuck = O::and(has_free, O::eq(newton, lam));
            let exact = O::eq_i(ex, zi);
            let conv = O::and(self.active, O::or(stuck, O::or(exact, near)));
            // the bracket: f(λ) > k puts the root above λ
            let lo = O::select(up, lam, self.lo);
            let hi = O::select(up, self.hi, lam);
            // The accelerated step (`ACCEL`, the lanes `up` and `down`): for small k (or small n − k)
            // the root lies where few entries are free, f is convex on the way there from
            // below (from above for small n − k), so Newton falls short, and near the top of
            // a row f grows about as the square of the distance to where it vanishes. Newton
            // on √f (√(n − f)) then takes the step `δ·2√a/(√a + √b)` (a = f, b = k; between
            // 1 and 2 times δ), taken while it stays inside the bracket. Only the path to the
            // root changes: the stopping tests and the output use the passes' exact sums.
            // Passes per block of 16 Gaussian rows (τ = 1.5, `Portable`): n = 64 k = 2 6.16 →
            // 5.26, k = 62 6.15 → 5.28, n = 256 k = 4 7.05 → 5.62, k = 64 4.62 → 4.33; n = 32
            // k = 2 5.46 → 5.19; below n = 24 a simulation lost passes, so those rows keep Newton.
            let next = if ACCEL {
                let fu = O::add(exf, O::to_f32(self.kq));
                let sa = O::sqrt(O::abs(O::sub(self.base, fu)));
                let mult = O::div(O::add(sa, sa), O::add(sa, self.sb));
                let fast = O::add(lam, O::mul(delta, mult));
                let down = O::gt_i(zi, ex);
                let apply = O::or(O::and(self.up, up), O::and(self.down, down));
                let fits = O::and(apply, O::and(O::gt(fast, lo), O::lt(fast, hi)));
                O::select(fits, fast, newton)
            } else {
                newton
            };
            let inside = O::and(has_free, O::and(O::gt(next, lo), O::lt(next, hi)));
            let half = O::splat(0.5);
            let mid = O::add(O::mul(half, lo), O::mul(half, hi));
            // a lane that has converged keeps its λ (its later passes repeat this one's sums)
            let active = O::andnot(conv, self.active);
            self.mu = O::select(active, O::select(inside, next, mid), lam);
            (self.lo, self.hi) = (lo, hi);
            self.prev_ex = ex;
            self.prev_cf = cf;
            self.active = active;
        }
    }
}

/// The start of the iteration, in μ = λ + ½ and units, per lane from a row's `(Σz, min z, max
/// z)` and `k` (`kv = k·unit`): the all-free λ, `(Σz − k)/n` (the exact root when no entry is
/// clipped), moved up to `max z − k` when `k ≤ 1` and down to `min z − 1 + (n − k)` when
/// `n − k ≤ 1`.
///
/// Those are bounds on the root: for `k ≤ 1`, the largest entry alone gives `f(max z − k) ≥
/// k`, so the root is at least `max z − k` (by the symmetry `z → −z`, `k → n − k`, at most
/// `min z − 1 + (n − k)` when `n − k ≤ 1`). On `[max z − 1, max z]`, which holds the start and
/// the root, no entry is at 1 and entries only leave the free set as λ grows, so f is convex
/// there and Newton from the bound approaches the root from below (up to rounding).
/// Rows of a small k (top-1 of n labels) are where the all-free λ is far off: `rowsbench`,
/// 65536 × 10 Gaussian rows, one thread, 2-core AMD, k = 1: 702 → 565 µs, k = ½: 645 → 532,
/// k = 9: 699 → 558, k = 5 unchanged (515–521 µs); 16384 × 64, k = 1: 860 → 744; 4096 × 256,
/// k = 1: 984 → 781; k = 2 and 3 unchanged. (A start from the row's entries spread evenly
/// between min and max, `max − √(2ks)` where that lies within 1 of the top, was closer to the
/// root for k = 1 but came out above it for some rows and cost more passes: k = 1 614 µs, k = 2
/// and 3 worse than the all-free start.)
///
/// Only a start: the iteration's bracket and safeguards do not depend on it.
///
/// # Safety
/// The CPU features of `O`.
#[inline(always)]
pub(super) unsafe fn start_mu<O: Ops>(
    n: usize,
    sum: O::V,
    lo: O::V,
    hi: O::V,
    kv: O::V,
    unit: Unit,
) -> O::V {
    // SAFETY: the caller guarantees `O`'s features.
    unsafe {
        let half = O::splat(unit.f * 0.5);
        let inv_n = O::splat((1.0 / n.max(1) as f64) as f32);
        let free = O::add(O::mul(O::sub(sum, kv), inv_n), half);
        // n − k in units (n·unit ≤ 2^32 is exact); `v ≤ unit` as `v < unit·(1 + ε)`
        let rest = O::sub(O::splat(n as f32 * unit.f), kv);
        let one = O::splat(unit.f * (1.0 + f32::EPSILON));
        let (small_k, large_k) = (O::lt(kv, one), O::lt(rest, one));
        if !O::any(O::or(small_k, large_k)) {
            return free;
        }
        // μ ≥ max − k + ½ (k ≤ 1), μ ≤ min + (n − k) − ½ (n − k ≤ 1)
        let up = O::max(free, O::add(O::sub(hi, kv), half));
        let down = O::min(free, O::sub(O::add(lo, rest), half));
        O::select(small_k, up, O::select(large_k, down, free))
    }
}

/// The solve and write of one block of `1 ≤ rows ≤ BLOCK` rows (`x`, `y`: at least `rows·n`
/// values), [`GROUPS`] groups of [`LANES`] whose iterations interleave (see the module docs).
/// Returns the rows written (bit `r` for row `r`); with `details`, each row's [`Row`].
///
/// # Safety
/// The CPU features of `O`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn block_body<O: Ops, T: Element, const ACCEL: bool>(
    x: &[T],
    n: usize,
    rows: usize,
    kl: &KLanes,
    scale: T,
    y: &mut [T],
    zt: &mut [Lane],
    details: Option<&mut [Row; BLOCK]>,
) -> u32 {
    // the unit as a constant in each copy (a run-time unit cost a third at n = 10)
    // SAFETY: the caller guarantees `O`'s features.
    unsafe {
        if kl.unit.shift == 24 {
            block_unit::<O, T, 24, ACCEL>(x, n, rows, kl, scale, y, zt, details)
        } else {
            block_unit::<O, T, 23, ACCEL>(x, n, rows, kl, scale, y, zt, details)
        }
    }
}

/// [`blocks2_unit`] with the unit of the rows' length as a constant (see [`block_body`]).
///
/// # Safety
/// The CPU features of `O`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn blocks2_body<O: Ops, T: Element, const ACCEL: bool>(
    x: &[T],
    n: usize,
    rows: usize,
    kl: [&KLanes; 2],
    scale: T,
    y: &mut [T],
    zt: &mut [Lane],
) -> u32 {
    // SAFETY: the caller guarantees `O`'s features.
    unsafe {
        if kl[0].unit.shift == 24 {
            blocks2_unit::<O, T, 24, ACCEL>(x, n, rows, kl, scale, y, zt)
        } else {
            blocks2_unit::<O, T, 23, ACCEL>(x, n, rows, kl, scale, y, zt)
        }
    }
}

/// [`block_body`] with the fixed-point unit `2^SHIFT`.
///
/// # Safety
/// The CPU features of `O`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn block_unit<O: Ops, T: Element, const SHIFT: u32, const ACCEL: bool>(
    x: &[T],
    n: usize,
    rows: usize,
    kl: &KLanes,
    scale: T,
    y: &mut [T],
    zt: &mut [Lane],
    details: Option<&mut [Row; BLOCK]>,
) -> u32 {
    let rows = rows.clamp(1, BLOCK);
    let (Some(x), Some(y), Some(zt)) = (
        x.get(..rows * n),
        y.get_mut(..rows * n),
        zt.get_mut(..n * GROUPS),
    ) else {
        return 0;
    };
    let unit = Unit::new(SHIFT);
    let (z0, z1) = zt.split_at_mut(n);
    // SAFETY: the caller guarantees `O`'s features; all memory is through references.
    unsafe {
        let mut b = Started::<O>::load::<T, ACCEL>(x, n, rows, kl, scale, z0, z1, unit);
        let mut steps = 0u32;
        // The iteration, the groups interleaved (independent chains of dependent steps).
        while b.any() && steps < MAX_STEPS {
            steps += 1;
            b.step::<ACCEL>(z0, z1, n, unit, steps == 1);
        }
        b.write(n, rows, kl, steps, y, z0, z1, unit, details)
    }
}

/// [`block_unit`] for two blocks at once (`1 ≤ rows ≤ 2·BLOCK`; `kl[b]`: block `b`'s k; `zt`:
/// at least `2·GROUPS·n` lanes): the two blocks' iterations interleave, for an [`Ops`] whose
/// passes take both groups of a block at once ([`Ops::PAIRED`]: then one block alone would
/// leave each update's latency exposed). Returns the rows written (bit `r` for row `r`). Each
/// row's arithmetic is the same as in [`block_unit`], so the same bits.
///
/// # Safety
/// The CPU features of `O`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn blocks2_unit<O: Ops, T: Element, const SHIFT: u32, const ACCEL: bool>(
    x: &[T],
    n: usize,
    rows: usize,
    kl: [&KLanes; 2],
    scale: T,
    y: &mut [T],
    zt: &mut [Lane],
) -> u32 {
    let rows = rows.clamp(1, 2 * BLOCK);
    let (Some(x), Some(y), Some(zt)) = (
        x.get(..rows * n),
        y.get_mut(..rows * n),
        zt.get_mut(..2 * n * GROUPS),
    ) else {
        return 0;
    };
    let unit = Unit::new(SHIFT);
    let (za, zb) = zt.split_at_mut(n * GROUPS);
    let ((za0, za1), (zb0, zb1)) = (za.split_at_mut(n), zb.split_at_mut(n));
    // (one block: the second repeats the first, without a lane to iterate, and is not written)
    let ra = rows.min(BLOCK);
    let rb = rows - ra;
    let (xa, xb) = x.split_at(ra * n);
    let (ya, yb) = y.split_at_mut(ra * n);
    let (xb, kb, nb) = if rb > 0 {
        (xb, kl[1], rb)
    } else {
        (xa, kl[0], ra)
    };
    // SAFETY: the caller guarantees `O`'s features; all memory is through references.
    unsafe {
        let mut a = Started::<O>::load::<T, ACCEL>(xa, n, ra, kl[0], scale, za0, za1, unit);
        let mut b = Started::<O>::load::<T, ACCEL>(xb, n, nb, kb, scale, zb0, zb1, unit);
        if rb == 0 {
            b.g0.active = O::splat_i(0);
            b.g1.active = O::splat_i(0);
        }
        let steps = O::iterate2::<ACCEL>(&mut a, &mut b, [za0, za1, zb0, zb1], n, SHIFT);
        let da = a.write(n, ra, kl[0], steps, ya, za0, za1, unit, None);
        if rb == 0 {
            return da;
        }
        let db = b.write(n, rb, kl[1], steps, yb, zb0, zb1, unit, None);
        da | db << BLOCK
    }
}

/// The iteration of two blocks ([`blocks2_unit`]; `z`: their groups' lanes, `n` each, in the
/// order `a.g0, a.g1, b.g0, b.g1`; `shift`: the unit's) until every lane is done or after
/// [`MAX_STEPS`] passes; returns the passes. [`Ops::iterate2`]'s definition.
///
/// # Safety
/// The CPU features of `O`.
#[inline(always)]
pub(crate) unsafe fn iterate2<O: Ops, const ACCEL: bool>(
    a: &mut Started<O>,
    b: &mut Started<O>,
    z: [&[Lane]; 4],
    n: usize,
    shift: u32,
) -> u32 {
    let unit = Unit::new(shift);
    let mut steps = 0u32;
    // SAFETY: the caller guarantees `O`'s features.
    unsafe {
        let (mut ra, mut rb) = (a.any(), b.any());
        while (ra || rb) && steps < MAX_STEPS {
            steps += 1;
            if ra {
                a.step::<ACCEL>(z[0], z[1], n, unit, steps == 1);
            }
            if rb {
                b.step::<ACCEL>(z[2], z[3], n, unit, steps == 1);
            }
            (ra, rb) = (a.any(), b.any());
        }
    }
    steps
}

/// A block's two groups, loaded and started ([`block_unit`]'s state).
pub(crate) struct Started<O: Ops> {
    g0: Group<O>,
    g1: Group<O>,
    live0: u32,
    live1: u32,
}

impl<O: Ops> Started<O> {
    /// Loads `1 ≤ rows ≤ BLOCK` rows of `x` (`rows·n` values) into the groups' lanes `z0`,
    /// `z1` (`n` lanes each) and starts their iteration.
    ///
    /// # Safety
    /// The CPU features of `O`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn load<T: Element, const ACCEL: bool>(
        x: &[T],
        n: usize,
        rows: usize,
        kl: &KLanes,
        scale: T,
        z0: &mut [Lane],
        z1: &mut [Lane],
        unit: Unit,
    ) -> Self {
        let groups = rows.div_ceil(LANES);
        let valid = (1u32 << rows) - 1;
        let lanes_of = |m: u32, g: usize| (m >> (g * LANES)) & ((1 << LANES) - 1);
        // the rows of group g
        let count = |g: usize| rows.saturating_sub(g * LANES).min(LANES);
        // SAFETY: the caller guarantees `O`'s features; all memory is through references.
        unsafe {
            let (vs, uv) = (O::splat(scale.to_f64() as f32), O::splat(unit.f));
            // Rows into lanes: row r is lane r % LANES of group r / LANES (the unused lanes of
            // the last group repeat its last row, and are not live); a second group without
            // rows repeats the first.
            let x1 = if groups > 1 { &x[LANES * n..] } else { x };
            let st0 = load_group::<O, T>(x, count(0), z0, vs, uv);
            let st1 = load_group::<O, T>(x1, count(groups - 1), z1, vs, uv);
            // Two groups in local variables (kept in registers or spilled, never stored as
            // "select with the old value": x86 would turn that into slow masked stores).
            let fill = kl.zeros | kl.ones;
            let (g0, live0) = Group::<O>::new::<ACCEL>(
                n,
                st0,
                &kl.kf[0],
                &kl.kq[0],
                lanes_of(valid, 0),
                lanes_of(fill, 0),
                unit,
            );
            let (g1, live1) = Group::<O>::new::<ACCEL>(
                n,
                st1,
                &kl.kf[1],
                &kl.kq[1],
                lanes_of(valid, 1),
                lanes_of(fill, 1),
                unit,
            );
            Started {
                g0,
                g1,
                live0,
                live1,
            }
        }
    }

    /// Whether a lane still iterates.
    ///
    /// # Safety
    /// The CPU features of `O`.
    #[inline(always)]
    unsafe fn any(&self) -> bool {
        // SAFETY: the caller guarantees `O`'s features.
        unsafe { O::any(self.g0.active) || O::any(self.g1.active) }
    }

    /// One pass and update of each group with a lane still iterating ([`Group::step`]; both
    /// passes at once with [`Ops::PAIRED`], a group that is done repeating its sums).
    ///
    /// # Safety
    /// The CPU features of `O`.
    #[inline(always)]
    unsafe fn step<const ACCEL: bool>(
        &mut self,
        z0: &[Lane],
        z1: &[Lane],
        n: usize,
        unit: Unit,
        first: bool,
    ) {
        // SAFETY: the caller guarantees `O`'s features.
        unsafe {
            let (g0, g1) = (&mut self.g0, &mut self.g1);
            if O::PAIRED {
                let (s0, s1) = if first {
                    O::pass_pair::<false>(z0, z1, g0.mu, g1.mu, unit.f)
                } else {
                    O::pass_pair::<true>(z0, z1, g0.mu, g1.mu, unit.f)
                };
                if O::any(g0.active) {
                    g0.update::<ACCEL>(s0, n, unit);
                }
                if O::any(g1.active) {
                    g1.update::<ACCEL>(s1, n, unit);
                }
            } else {
                if O::any(g0.active) {
                    g0.step::<ACCEL>(z0, unit, first);
                }
                if O::any(g1.active) {
                    g1.step::<ACCEL>(z1, unit, first);
                }
            }
        }
    }

    /// After the iteration: writes the block's rows that are done (of its `1 ≤ rows ≤ BLOCK`
    /// rows, `y`: `rows·n` values) and returns them (bit `r` for row `r`); with `details`, each
    /// row's [`Row`].
    ///
    /// # Safety
    /// The CPU features of `O`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn write<T: Element>(
        &self,
        n: usize,
        rows: usize,
        kl: &KLanes,
        steps: u32,
        y: &mut [T],
        z0: &[Lane],
        z1: &[Lane],
        unit: Unit,
        details: Option<&mut [Row; BLOCK]>,
    ) -> u32 {
        let groups = rows.div_ceil(LANES);
        let count = |g: usize| rows.saturating_sub(g * LANES).min(LANES);
        let (d0, d1) = match details {
            Some(d) => {
                let (a, b) = d.split_at_mut(LANES);
                (Some(a), Some(b))
            }
            None => (None, None),
        };
        let (y0, y1) = y.split_at_mut(count(0) * n);
        // SAFETY: the caller guarantees `O`'s features.
        unsafe {
            let (uv, inv) = (O::splat(unit.f), O::splat(1.0 / unit.f));
            let mut done1 = 0u32;
            let done0 = self.g0.finish_write(
                0,
                n,
                self.live0,
                kl,
                steps,
                z0,
                y0,
                count(0),
                unit,
                uv,
                inv,
                d0,
            );
            if groups > 1 {
                done1 = self.g1.finish_write(
                    1,
                    n,
                    self.live1,
                    kl,
                    steps,
                    z1,
                    y1,
                    count(1),
                    unit,
                    uv,
                    inv,
                    d1,
                );
            }
            done0 | done1 << LANES
        }
    }
}

/// The lanes of `1 ≤ c ≤ LANES` rows of `x` (row-major, `zg.len()` elements each; see
/// [`Ops::load_rows`]).
///
/// # Safety
/// The CPU features of `O`.
#[inline(always)]
pub(super) unsafe fn load_group<O: Ops, T: Element>(
    x: &[T],
    c: usize,
    zg: &mut [Lane],
    s: O::V,
    u: O::V,
) -> (O::V, O::V, O::V) {
    // SAFETY: the caller guarantees `O`'s features.
    unsafe {
        match T::as_f32(x) {
            Some(xf) => O::load_rows(xf, c, zg, s, u),
            None => load_rows_lanes::<O, T>(x, c, zg, s, u),
        }
    }
}

/// Writes the rows `j < c` of `y` (row-major, `zg.len()` elements each) whose bit `j` of
/// `done` is set, from λ and δ ([`Ops::store_rows`]); returns `done`.
///
/// # Safety
/// The CPU features of `O`.
#[inline(always)]
pub(super) unsafe fn write_group<O: Ops, T: Element>(
    zg: &[Lane],
    y: &mut [T],
    c: usize,
    (done, lam, delta): (u32, O::V, O::V),
    u: O::V,
    inv: O::V,
) -> u32 {
    // SAFETY: the caller guarantees `O`'s features.
    unsafe {
        match T::as_f32_mut(y) {
            Some(yf) => O::store_rows(zg, lam, delta, u, inv, yf, c, done),
            None => store_rows_lanes::<O, T>(zg, lam, delta, u, inv, y, c, done),
        }
    }
    done
}

/// One row solved with its entries spread across the lanes (`zh[v][j] = z_{LANES·v + j}`),
/// every lane an identical copy of the iteration a batch runs for the row in one lane:
/// - the start's statistics are the batch's: `Σz` summed in the order `i = 0, 1, …` in `f32`,
///   `min`/`max` as [`scale_lanes`];
/// - each pass sums the lanes' `Σq` and `|F|` (integers: exact in any order) and
///   takes the minimum of their `R`, and gives every lane the totals ([`Group::update`]);
/// - the write is [`out_value`] of each entry.
///
/// So the row gets the same bits as in a batch (the batch's rows-versus-single contract), at
/// `n/LANES` vector operations per entry and pass instead of `n` (a batch block solves
/// `LANES` rows with `n`). Returns the row's [`Row`] (`ok`: written); `y` untouched when not.
///
/// # Safety
/// The CPU features of `O`.
#[inline(always)]
pub(super) unsafe fn single_body<O: Ops, T: Element>(
    x: &[T],
    kl: &KLanes,
    scale: T,
    y: &mut [T],
    zh: &mut [Lane],
) -> Row {
    let n = x.len().min(y.len()).min(zh.len() * LANES);
    let unit = kl.unit;
    let (sf, uf) = (scale.to_f64() as f32, unit.f);
    // z = fl(x·s)·u, as `scale_lanes`, and the start's statistics in the batch's order: for
    // rows solved where they lie, as the batch loads them ([`load_row`]: LANES partial sums);
    // else in entry order into one sum (rows in lanes)
    let st = if rowwise(n) {
        let (xs, zs) = (&x[..n], &mut zh[..n.div_ceil(LANES)]);
        // SAFETY: the caller guarantees `O`'s features.
        unsafe { load_row::<O, T>(xs, zs, (O::splat(sf), O::splat(uf)), (sf, uf)) }
    } else {
        let (mut sum, mut lo, mut hi) = (0.0f32, f32::INFINITY, f32::NEG_INFINITY);
        for (i, &v) in x.iter().take(n).enumerate() {
            let z = v.to_f64() as f32 * sf * uf;
            if let Some(o) = zh.get_mut(i / LANES).and_then(|l| l.get_mut(i % LANES)) {
                *o = z;
            }
            sum += z;
            lo = if lo < z { lo } else { z };
            hi = if hi > z { hi } else { z };
        }
        (sum, lo, hi)
    };
    // SAFETY: the caller guarantees `O`'s features.
    unsafe {
        if kl.accel {
            single_solve::<O, T, true>(n, st, kl, y, zh)
        } else {
            single_solve::<O, T, false>(n, st, kl, y, zh)
        }
    }
}

/// The iteration and write of [`single_body`] from the row's `(Σz, min z, max z)` (`zh` holds
/// its entries in units), with or without the accelerated step.
///
/// # Safety
/// The CPU features of `O`.
#[inline(always)]
pub(super) unsafe fn single_solve<O: Ops, T: Element, const ACCEL: bool>(
    n: usize,
    (sum, lo, hi): (f32, f32, f32),
    kl: &KLanes,
    y: &mut [T],
    zh: &mut [Lane],
) -> Row {
    let unit = kl.unit;
    let all = (1u32 << LANES) - 1;
    let fill = (kl.zeros | kl.ones) & all;
    // lane 0's details (every lane is the same)
    let mut rows = [Row::default(); 1];
    // SAFETY: the caller guarantees `O`'s features; all memory is through references.
    unsafe {
        let st = (O::splat(sum), O::splat(lo), O::splat(hi));
        let (kf, kq) = (&kl.kf[0], &kl.kq[0]);
        let (mut g, live) = Group::<O>::new::<ACCEL>(n, st, kf, kq, all, fill, unit);
        let len = zh.len() * LANES;
        let mut steps = 0u32;
        while O::any(g.active) && steps < MAX_STEPS {
            steps += 1;
            let (q, cf, r) = if steps == 1 {
                pass_r::<O, false>(zh, g.mu, unit)
            } else {
                pass::<O>(zh, g.mu, unit)
            };
            let (mut qa, mut fa, mut ra) = ([0i32; LANES], [0i32; LANES], [0.0f32; LANES]);
            O::store_i(&mut qa, q);
            O::store_i(&mut fa, cf);
            O::store(&mut ra, r);
            let total = |a: [i32; LANES]| a.iter().fold(0i32, |s, &v| s.wrapping_add(v));
            let rmin = ra
                .iter()
                .fold(f32::INFINITY, |m, &v| if v < m { v } else { m });
            let totals = (O::splat_i(total(qa)), O::splat_i(total(fa)), O::splat(rmin));
            g.update::<ACCEL>(totals, len, unit);
        }
        let (zl, ol) = (kl.zeros & all, kl.ones & all);
        // |U|: the row's entries lie across the lanes, so the lanes' counts add up
        let mut cu = [0i32; LANES];
        O::store_i(&mut cu, upper_count::<O>(zh, g.mu, unit));
        let upper = O::splat_i(cu.iter().fold(0i32, |s, &v| s.wrapping_add(v)));
        let (done, lv, dv) = g.finish(
            n,
            live,
            &kl.frac[0],
            zl,
            ol,
            steps,
            unit,
            Some((&mut rows[..], upper)),
        );
        if done & 1 == 0 {
            return Row {
                ok: false,
                ..rows[0]
            };
        }
        let inv = O::splat(1.0 / unit.f);
        let uv = O::splat(unit.f);
        let mut out = [0.0f32; LANES];
        for (v, zv) in zh.iter().enumerate() {
            O::store(&mut out, out_value::<O>(O::load(zv), lv, dv, uv, inv));
            for (o, &w) in y.iter_mut().skip(v * LANES).take(LANES).zip(&out) {
                *o = T::from_f64(w as f64);
            }
        }
    }
    rows[0]
}
