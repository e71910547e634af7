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

/// The shift `c` (in units of x) that moves λ to about [`TARGET`], or `None` when the solution is
/// already accurate (λ in [`WINDOW`], or no free entries are possible: `k` at an end), or τ
/// is too large for the clamp bound (`τ > MAX/64`, where `|x/τ| ≤ 64`).
pub fn shift_for<T: Real>(sol: &Solution<T>, tau: T) -> Option<T> {
    if sol.fill != Fill::Clip {
        return None;
    }
    shift_at(sol.lambda, tau)
}

/// [`shift_for`] for a threshold λ of a projection with free entries possible (`0 < k < n`).
pub fn shift_at<T: Real>(lambda: T, tau: T) -> Option<T> {
    let l = lambda.to_f64();
    let t = tau.to_f64();
    if (l >= WINDOW.0 && l <= WINDOW.1) || !(t <= T::MAX.to_f64() / 64.0) {
        return None;
    }
    let c = T::from_f64((l - TARGET) * t);
    if c.is_finite() {
        Some(c)
    } else {
        None
    }
}

/// The clamp bound `b = MAX/4·min(1, τ)`: `2b·(1/τ)` cannot overflow, and `b/τ ≥ 16` where a
/// shift is taken.
pub fn bound<T: Real>(tau: T) -> T {
    let q = T::MAX * T::from_f64(0.25);
    if tau < T::ONE {
        q * tau
    } else {
        q
    }
}

/// One shifted value: `clamp(v − c, −b, b)`, the sentinels `lo`/`hi` mapped to `∓2b`.
#[inline(always)]
fn shifted<T: Real>(v: T, c: T, b: T, lo: T, hi: T) -> T {
    let d = v - c;
    let d = if d > b { b } else { d };
    let d = if d < -b { -b } else { d };
    let d = if v == hi { b + b } else { d };
    if v == lo {
        -(b + b)
    } else {
        d
    }
}

/// `v_i ← shifted(v_i)` (see the module docs). `lo`/`hi`: the current sentinels (NaN: none).
pub fn shift_in_place<T: Real>(v: &mut [T], c: T, b: T, lo: T, hi: T) {
    v.iter_mut().for_each(|o| *o = shifted(*o, c, b, lo, hi));
}

/// `y_i = shifted(x_i)` for input without masks.
pub fn shift_into<T: Real>(x: &[T], c: T, b: T, y: &mut [T]) {
    let nan = T::from_f64(f64::NAN);
    for (o, &v) in y.iter_mut().zip(x) {
        *o = shifted(v, c, b, nan, nan);
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
    /// The clamp bound [`bound`]`(τ)`.
    pub b: T,
}

impl<T: Real> Replay<T> {
    /// The last frame's value of an input entry `v` (`±∞` as masks: the first shift maps them
    /// to `∓2b`), bitwise as the buffer shifts computed it.
    #[inline(always)]
    pub fn apply(&self, v: T) -> T {
        let b = self.b;
        let (mut lo, mut hi) = (T::from_f64(f64::NEG_INFINITY), T::from_f64(f64::INFINITY));
        let mut v = v;
        for &c in self.shifts.iter().take(self.count) {
            v = shifted(v, c, b, lo, hi);
            (lo, hi) = (-(b + b), b + b);
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
}

impl<T: Real> Refined<T> {
    /// What the forward pass reports: the counts and passes of the refined solution, and λ
    /// as solved in the original frame (the threshold of `x·fl(1/τ)`: the same bits as the
    /// losses' λ, which the calibrated predictor uses).
    pub fn projection(&self, first: &Solution<T>) -> crate::forward::Projection {
        let mut p: crate::forward::Projection = self.sol.into();
        p.lambda = first.lambda.to_f64();
        p
    }

    /// The last frame's value of an input entry `v` ([`Replay::apply`]).
    #[inline]
    pub fn value(&self, v: T) -> T {
        self.replay.apply(v)
    }

    /// The sentinels of the last frame (`∓2b`).
    pub fn sentinels(&self) -> (T, T) {
        let b = self.replay.b;
        (-(b + b), b + b)
    }
}

/// The re-solve loop over any data: `step(replay, guess)` solves the input as shifted by
/// `replay` (the shifts so far, the last one new) from a start point. The first shift is `c`
/// (from [`shift_for`] on `first`); shifts again while λ stays outside the window, at most
/// [`max_shifts`] shifts in all.
///
/// # Errors
/// Those of `step` (none for finite shifted values).
pub fn refine_with<T: Real>(
    tau: T,
    first: &Solution<T>,
    mut c: T,
    mut step: impl FnMut(&Replay<T>, T) -> Result<Solution<T>, Error>,
) -> Result<Refined<T>, Error> {
    let t = tau.to_f64();
    let mut lam = first.lambda.to_f64();
    // the first solve's passes, and one per shift
    let mut passes = first.passes + 1;
    let mut replay = Replay {
        shifts: [T::ZERO; MAX_SHIFTS],
        count: 0,
        b: bound(tau),
    };
    loop {
        if let Some(slot) = replay.shifts.get_mut(replay.count) {
            *slot = c;
        }
        replay.count += 1;
        let sol = step(&replay, T::from_f64(lam - c.to_f64() / t))?;
        passes += sol.passes;
        match shift_for(&sol, tau).filter(|_| replay.count < max_shifts(T::BITS)) {
            Some(c2) => {
                c = c2;
                lam = sol.lambda.to_f64();
                passes += 1;
            }
            None => {
                return Ok(Refined {
                    sol: Solution { passes, ..sol },
                    replay,
                })
            }
        }
    }
}

/// [`refine_with`] on a buffer: `v` already holds the values shifted by `c`, the first shift
/// of `first`; later shifts are applied to `v` in place. `solve(v, guess)` solves them.
///
/// # Errors
/// Those of `solve` (none for finite shifted values).
pub fn refine<T: Real>(
    v: &mut [T],
    tau: T,
    first: &Solution<T>,
    c: T,
    mut solve: impl FnMut(&[T], T) -> Result<Solution<T>, Error>,
) -> Result<Refined<T>, Error> {
    let mut applied = 1;
    refine_with(tau, first, c, |r, g| {
        for &c in r.shifts.iter().take(r.count).skip(applied) {
            shift_in_place(v, c, r.b, -(r.b + r.b), r.b + r.b);
        }
        applied = r.count;
        solve(v, g)
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
    tau: T,
    scale: T,
    first: &Solution<T>,
    c: T,
) -> Result<Refined<T>, Error> {
    refine_with(tau, first, c, |r, g| {
        let r = *r;
        let passes = &mut MappedPasses::new(x, move |v| r.apply(map(v)), scale);
        solve(passes, k, Some(g))
    })
}
