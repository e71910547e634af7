//! Accuracy independent of the scale of `x/τ` (issue 13, item 1): the re-solve in a shifted
//! frame.
//!
//! The passes work on `z_i = fl(x_i·s)`, `s = fl(1/τ)`, whose rounding error is about
//! `ε·|z_i|`. Only the entries near the free range matter, `z_i ∈ (λ, λ + 1)`, so the result
//! is accurate to a few ε when λ is small and to about `ε·|λ|` otherwise (logits ~10 with
//! τ = 1e-3 put λ near 1e4). When the solved λ lies outside [`WINDOW`], the values are
//! shifted by a float `c ≈ τ·(λ − 3/2)`: `v_i = fl(x_i − c)`, which is exact or rounds by at
//! most `ε/2·|x_i − c|`, a small number for the entries near the free range; the projection
//! of `v/τ` is the projection of `x/τ` (the hypersimplex absorbs a common shift), and its λ
//! lies near [`TARGET`], inside the window. The shifted values are written into the output buffer
//! (or the input, in place), solved again by the same passes (two or three of them from the
//! translated start point), and written from there. When `|x/τ|` is so large that `c` itself
//! cannot be placed within τ of the threshold (spacing of the floats above τ), the shift is
//! repeated up to [`MAX_SHIFTS`] times, each time from the new frame's λ.
//!
//! The shift is a pure function of the solved λ (and τ), so every kernel path and thread
//! count, which find bitwise the same λ for `f32`, shift by the same `c` and find the same
//! answer again. Values farther than `b = MAX/4·min(1, τ)` from `c` are clamped to `±b`
//! (they are 0 or 1 whatever λ is, and their `v·s` must not overflow); the masks' sentinels
//! (`crate::mask`) become `∓2b`. Not compiled on bare-metal targets (flash).
//!
//! τ > `MAX/64` ([`HUGE_TAU`]): there `|x/τ| < 64`, `b/τ < 16` could clamp values into the free
//! range, and `fl(1/τ)` is subnormal above about `MAX/4` (its relative error up to `2^-21` for
//! `f32`). The first shift then also pre-scales: `v_i = x_i·2^-8 − c` ([`PRE`], exact for normal
//! `x_i`), solved with `τ' = τ·2^-8` (exact) and `s' = fl(1/τ')`, a normal float; `b(τ')/τ' ≥ 64`.
//! Such τ always take the re-solve, with `c = 0` and from the solver's own start in the
//! pre-scaled frame: the first solve's λ, over `fl(x·fl(1/τ))`, is not reproduced bit for bit
//! by every kernel path when `fl(1/τ)` is subnormal, so nothing that follows depends on it
//! ([`Refined::lambda0`] is reported instead); where the pre-scaled frame's λ lies outside the
//! window, the ordinary shifts follow, in that frame's units. [`Replay::scale`] (or [`Refined::scale`]) is the scale every
//! write in the frame uses; the gradient factor stays `fl(1/τ)`.

use crate::error::Error;
use crate::kernel::MappedPasses;
use crate::real::Real;
use crate::solve::{solve, Fill, Solution};

/// λ in this interval is accurate as solved: the free entries have `|z| < 4`, whose rounding
/// (at most ε) and that of λ (at most ε) keep `y` within 4ε (the `f32` fixed-point sum adds
/// at most ε/2 to λ, the common rounding of `fl(1/τ)` at most ε/2 to `y_i`, since the free
/// entries lie within 1 of each other).
pub const WINDOW: (f64, f64) = (-3.0, 3.0);

/// The shifted frame puts λ near this value: the free entries then lie in `(1.5, 2.5)`, where
/// (for `f32`) `z` and λ are multiples of 2^-23, so the free-set sums in 2^-23 fixed point are
/// exact and Newton lands exactly on breakpoints (a gap of more than 1 between the k-th and
/// the (k+1)-th value still gives exact 0s and 1s).
pub const TARGET: f64 = 1.5;

/// Shifts at most this many times, for any element type (the capacity of a [`Replay`]).
pub const MAX_SHIFTS: usize = 24;

/// Shifts at most this many times for a `bits`-bit element type. One suffices up to
/// `|x/τ|` ≈ 1/ε; each shift takes `|λ|` from `L` to about `ε·L` (the spacing of the floats
/// near `τ·λ`, and λ's own rounding), so `|x/τ| ≤ MAX` (2^128 for `f32`, 2^1024 for `f64`)
/// needs at most 7 (`f32`) or 21 (`f64`): 8 and [`MAX_SHIFTS`] leave a margin.
pub const fn max_shifts(bits: u32) -> usize {
    if bits <= 32 {
        8
    } else {
        MAX_SHIFTS
    }
}

/// The pre-scale of the shifted frame where τ > [`HUGE_TAU`]`·MAX`: `2^-8`, exact on every
/// normal `x` (a subnormal product loses bits below `2^-149·τ'/τ'`, far below ε in units of
/// `y`) and on τ, so `v/τ' = x/τ` with `τ' = τ·2^-8 ≤ MAX/256`, where `fl(1/τ')` is a normal
/// number and the clamp bound `b(τ')/τ' ≥ 64`.
pub const PRE: f64 = 1.0 / 256.0;

/// τ above `MAX/64` (where `|x/τ| < 64`, `fl(1/τ)` may be subnormal and the clamp bound
/// `b/τ < 16`) is always re-solved in a pre-scaled frame ([`PRE`]), λ in [`WINDOW`] or not.
pub const HUGE_TAU: f64 = 1.0 / 64.0;

/// The first shift of a re-solve: the frame's units and where it moves λ.
#[derive(Clone, Copy, Debug)]
pub struct Shift<T> {
    /// The shift, in units of the pre-scaled input (`v = clamp(x·pre − c, ±b)`).
    pub c: T,
    /// The pre-scale: 1, or [`PRE`] where τ > `MAX/64`.
    pub pre: T,
    /// The frame's temperature `τ·pre` (exact).
    pub tau: T,
    /// The frame's scale: the caller's `fl(1/τ)` where `pre = 1`, else `fl(1/(τ·pre))`.
    pub scale: T,
    /// The clamp bound [`bound`]`(τ·pre)`.
    pub b: T,
}

/// The shift `c` that moves λ to about [`TARGET`] in a frame of temperature `tau` (units of
/// x), or `None` when λ is in [`WINDOW`] (accurate as solved).
#[inline(always)]
pub fn offset<T: Real>(lambda: T, tau: T) -> Option<T> {
    let l = lambda.to_f64();
    if l >= WINDOW.0 && l <= WINDOW.1 {
        return None;
    }
    // `(λ − TARGET)·τ` may exceed the largest float when x is near ±MAX (λ's own rounding):
    // the largest float of that sign shifts as far as a float can, and the next shift (from
    // the new frame's λ) takes the rest.
    let m = T::MAX.to_f64();
    let c = ((l - TARGET) * tau.to_f64()).max(-m).min(m);
    if c.is_finite() {
        Some(T::from_f64(c))
    } else {
        None
    }
}

/// The first shift ([`Shift`]) of a solution `sol` found with `scale = fl(1/τ)`, or `None`
/// when the solution is already accurate: no free entries possible (`k` at an end), or λ in
/// [`WINDOW`] with τ ≤ `MAX/64`. Where τ > `MAX/64` there is always a shift: the pre-scale,
/// with `c = 0` (see [`HUGE_TAU`]).
#[inline(always)]
pub fn shift_for<T: Real>(sol: &Solution<T>, tau: T, scale: T) -> Option<Shift<T>> {
    if sol.fill != Fill::Clip {
        return None;
    }
    shift_at(sol.lambda, tau, scale)
}

/// [`shift_for`] for a threshold λ of a projection with free entries possible (`0 < k < n`).
#[inline(always)]
// `!(τ ≤ bound)` also takes a NaN τ to the huge-τ frame: NaN fails every comparison.
#[allow(clippy::neg_cmp_op_on_partial_ord)]
pub fn shift_at<T: Real>(lambda: T, tau: T, scale: T) -> Option<Shift<T>> {
    if !(tau.to_f64() <= T::MAX.to_f64() * HUGE_TAU) {
        return Some(huge(tau));
    }
    offset(lambda, tau).map(|c| Shift {
        c,
        pre: T::ONE,
        tau,
        scale,
        b: bound(tau),
    })
}

/// The pre-scaled first shift for τ > `MAX/64` (out of line: the ordinary path never runs it).
/// `c = 0`: the first solve's λ (over a possibly subnormal `fl(1/τ)`) is not the same on every
/// kernel path, so nothing depends on it; the pre-scaled frame's own λ decides any further shift.
#[inline(never)]
#[cold]
fn huge<T: Real>(tau: T) -> Shift<T> {
    let pre = T::from_f64(PRE);
    let t = tau * pre;
    Shift {
        c: T::ZERO,
        pre,
        tau: t,
        scale: T::ONE / t,
        b: bound(t),
    }
}

/// The clamp bound `b = MAX/4·min(1, τ)`: `2b·(1/τ)` cannot overflow, and `b/τ ≥ 16` where a
/// shift is taken (τ ≤ `MAX/64`; larger τ are pre-scaled first).
pub fn bound<T: Real>(tau: T) -> T {
    let q = T::MAX * T::from_f64(0.25);
    if tau < T::ONE {
        q * tau
    } else {
        q
    }
}

/// One shifted value: `clamp(v·pre − c, −b, b)`, the sentinels `lo`/`hi` mapped to `∓2b`.
#[inline(always)]
fn shifted<T: Real>(v: T, pre: T, c: T, b: T, lo: T, hi: T) -> T {
    let d = v * pre - c;
    let d = if d > b { b } else { d };
    let d = if d < -b { -b } else { d };
    let d = if v == hi { b + b } else { d };
    if v == lo {
        -(b + b)
    } else {
        d
    }
}

/// `v_i ← shifted(v_i)` by the first shift `sh` (see the module docs). `lo`/`hi`: the current
/// sentinels (NaN: none).
pub fn shift_in_place<T: Real>(v: &mut [T], sh: &Shift<T>, lo: T, hi: T) {
    let (pre, c, b) = (sh.pre, sh.c, sh.b);
    v.iter_mut()
        .for_each(|o| *o = shifted(*o, pre, c, b, lo, hi));
}

/// `y_i = shifted(x_i)` by the first shift `sh`, for input without masks.
pub fn shift_into<T: Real>(x: &[T], sh: &Shift<T>, y: &mut [T]) {
    let nan = T::from_f64(f64::NAN);
    let (pre, c, b) = (sh.pre, sh.c, sh.b);
    for (o, &v) in y.iter_mut().zip(x) {
        *o = shifted(v, pre, c, b, nan, nan);
    }
}

/// The shifts taken (in order), replayed on an original input value: what [`refine`] did to
/// the buffer, or what [`refine_mapped`] computes on the fly.
#[derive(Clone, Copy, Debug)]
pub struct Replay<T> {
    /// The shifts, in order (`count` of them).
    pub shifts: [T; MAX_SHIFTS],
    /// Number of shifts taken.
    pub count: usize,
    /// The clamp bound [`bound`]`(τ·pre)`.
    pub b: T,
    /// The pre-scale the first shift applies ([`Shift::pre`]).
    pub pre: T,
    /// The scale of the frame ([`Shift::scale`]): `ŷ_i = clip(apply(x_i)·scale − λ, 0, 1)`.
    pub scale: T,
}

impl<T: Real> Replay<T> {
    /// No shift yet (values as given, in units of x; `scale` the caller's).
    pub fn none(scale: T) -> Self {
        Replay {
            shifts: [T::ZERO; MAX_SHIFTS],
            count: 0,
            b: T::ZERO,
            pre: T::ONE,
            scale,
        }
    }

    /// The last frame's value of an input entry `v` (`±∞` as masks: the first shift maps them
    /// to `∓2b`), bitwise as the buffer shifts computed it.
    #[inline(always)]
    pub fn apply(&self, v: T) -> T {
        let b = self.b;
        let (mut lo, mut hi) = (T::from_f64(f64::NEG_INFINITY), T::from_f64(f64::INFINITY));
        let mut pre = self.pre;
        let mut v = v;
        for &c in self.shifts.iter().take(self.count) {
            v = shifted(v, pre, c, b, lo, hi);
            (lo, hi) = (-(b + b), b + b);
            pre = T::ONE;
        }
        v
    }
}

/// What [`refine`] found.
#[derive(Clone, Copy, Debug)]
pub struct Refined<T> {
    /// The solution in the last frame.
    pub sol: Solution<T>,
    /// The shifts taken.
    pub replay: Replay<T>,
    /// Where τ > `MAX/64`: the λ solved in the first (only pre-scaled, `c = 0`) frame, in
    /// units of `x/τ` as the first solve's. It replaces the first solve's λ, whose
    /// `fl(x·fl(1/τ))` (with `fl(1/τ)` possibly subnormal) is not reproduced bit for bit by
    /// every kernel path.
    pub lambda0: Option<T>,
}

impl<T: Real> Refined<T> {
    /// What the forward pass reports: the counts and passes of the refined solution, and λ
    /// as solved in the original frame (the threshold of `x·fl(1/τ)`: the same bits as the
    /// losses' λ, which the calibrated predictor uses).
    pub fn projection(&self, first: &Solution<T>) -> crate::forward::Projection {
        let mut p: crate::forward::Projection = self.sol.into();
        p.lambda = self.first_lambda(first).to_f64();
        p
    }

    /// The λ reported for the original frame: the first solve's (`first`), or where τ >
    /// `MAX/64` that of the pre-scaled frame ([`Refined::lambda0`]).
    #[inline]
    pub fn first_lambda(&self, first: &Solution<T>) -> T {
        self.lambda0.unwrap_or(first.lambda)
    }

    /// The last frame's value of an input entry `v` ([`Replay::apply`]).
    #[inline]
    pub fn value(&self, v: T) -> T {
        self.replay.apply(v)
    }

    /// The scale of the last frame ([`Replay::scale`]).
    #[inline]
    pub fn scale(&self) -> T {
        self.replay.scale
    }

    /// The sentinels of the last frame (`∓2b`).
    pub fn sentinels(&self) -> (T, T) {
        let b = self.replay.b;
        (-(b + b), b + b)
    }
}

/// The re-solve loop over any data: `step(replay, guess)` solves the input as shifted by
/// `replay` (the shifts so far, the last one new; its `scale` the frame's) from a start point
/// (`None`: the solver's own, from the frame's data). The first shift is `sh` (from
/// [`shift_for`] on `first`); shifts again while λ stays outside the window, at most
/// [`max_shifts`] shifts in all. Where τ > `MAX/64` (a pre-scale, `c = 0`) the first frame is
/// solved from the solver's own start: the first solve's λ, over `fl(x·fl(1/τ))` with a
/// possibly subnormal `fl(1/τ)`, may differ in its last bits between kernel paths, and
/// nothing that follows depends on it.
///
/// # Errors
/// Those of `step` (none for finite shifted values).
pub fn refine_with<T: Real>(
    first: &Solution<T>,
    sh: &Shift<T>,
    mut step: impl FnMut(&Replay<T>, Option<T>) -> Result<Solution<T>, Error>,
) -> Result<Refined<T>, Error> {
    let t = sh.tau.to_f64();
    let mut c = sh.c;
    let mut lam = first.lambda.to_f64();
    let huge = sh.pre != T::ONE;
    let mut lambda0 = None;
    // the first solve's passes, and one per shift
    let mut passes = first.passes + 1;
    let mut replay = Replay {
        shifts: [T::ZERO; MAX_SHIFTS],
        count: 0,
        b: sh.b,
        pre: sh.pre,
        scale: sh.scale,
    };
    loop {
        if let Some(slot) = replay.shifts.get_mut(replay.count) {
            *slot = c;
        }
        replay.count += 1;
        let guess = if huge && replay.count == 1 {
            None
        } else {
            Some(T::from_f64(lam - c.to_f64() / t))
        };
        let sol = step(&replay, guess)?;
        if huge && replay.count == 1 {
            lambda0 = Some(sol.lambda);
        }
        passes += sol.passes;
        // later shifts: in the frame's units (τ·pre ≤ MAX/64, no further pre-scale)
        let next = (sol.fill == Fill::Clip)
            .then(|| offset(sol.lambda, sh.tau))
            .flatten()
            .filter(|_| replay.count < max_shifts(T::BITS));
        match next {
            Some(c2) => {
                c = c2;
                lam = sol.lambda.to_f64();
                passes += 1;
            }
            None => {
                return Ok(Refined {
                    sol: Solution { passes, ..sol },
                    replay,
                    lambda0,
                })
            }
        }
    }
}

/// [`refine_with`] on a buffer: `v` already holds the values shifted by `sh`, the first shift
/// of `first`; later shifts are applied to `v` in place. `solve(v, scale, guess)` solves them
/// (`scale`: the frame's, [`Shift::scale`]; `guess` as in [`refine_with`]).
///
/// # Errors
/// Those of `solve` (none for finite shifted values).
pub fn refine<T: Real>(
    v: &mut [T],
    first: &Solution<T>,
    sh: &Shift<T>,
    mut solve: impl FnMut(&[T], T, Option<T>) -> Result<Solution<T>, Error>,
) -> Result<Refined<T>, Error> {
    let mut applied = 1;
    refine_with(first, sh, |r, g| {
        let (b, one) = (r.b, T::ONE);
        for &c in r.shifts.iter().take(r.count).skip(applied) {
            v.iter_mut()
                .for_each(|o| *o = shifted(*o, one, c, b, -(b + b), b + b));
        }
        applied = r.count;
        solve(v, r.scale, g)
    })
}

/// [`refine_with`] without a buffer: the values `map(x_i)` (the element type's, e.g. widened
/// half-precision data) shifted on the fly, block by block ([`MappedPasses`]: for `f32` the
/// passes of a shifted buffer, bit for bit). `first` was solved over `map(x)`.
///
/// # Errors
/// None for input the first solve accepted (the shifted values are finite).
pub fn refine_mapped<E: Copy, T: Real>(
    x: &[E],
    map: impl Fn(E) -> T + Copy,
    k: f64,
    first: &Solution<T>,
    sh: &Shift<T>,
) -> Result<Refined<T>, Error> {
    refine_with(first, sh, |r, g| {
        let r = *r;
        let passes = &mut MappedPasses::new(x, move |v| r.apply(map(v)), r.scale);
        solve(passes, k, g)
    })
}
