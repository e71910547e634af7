//! The root finder: the λ with `f(λ) = Σ_i clip(z_i − λ, 0, 1) = k`.
//!
//! # Method: safeguarded Newton on λ with an exact finish
//!
//! `f` is continuous, piecewise linear and non-increasing, with slope `−|F(λ)|` on each piece.
//! One pass at a trial λ (see [`crate::kernel`]) gives `|F|`, `|U|` and `Σ_F d_i`, hence
//! `f(λ)` and the Newton step `λ' = λ + (f(λ) − k)/|F|`, which is the root of the *linear
//! piece* λ lies on. When the pass at λ' finds the same piece (the same `|F|` and `|U|`: λ only
//! moved one way, so equal counts mean equal sets), λ' is the exact root, `λ = (Σ_F z + |U| − k)/|F|`
//! up to the rounding of the element type, and the solver stops.
//!
//! Safeguards: every pass tightens a bracket `[lo, hi]` (`f(lo) ≥ k ≥ f(hi)`), starting from
//! `[min z − 1, max z]` (narrowed to [`Passes::bracket`] when the passes supply one). On a flat piece (`|F| = 0`, no slope) one extra pass finds the nearest
//! breakpoints ([`Passes::gaps`]) and the solver jumps just past the one toward the root;
//! a jump that does not halve the bracket (counted in representable values) is followed by a
//! bisection step. A Newton step that leaves the bracket is replaced by the bracket's midpoint,
//! taken in value for moderate brackets and in representable-value order for brackets spanning
//! many binades. After [`MAX_NEWTON`] trial points the solver bisects over the representable
//! values of the element type (at most 32 or 64 more passes), then keeps the better of the two
//! neighbouring values. So every input terminates in `O(n)` time, with a constant that is
//! small in practice and bounded in the worst case: the adversarial grid of
//! `tests/passes.rs` (inputs spread from 1e-30 to 1e30, Cauchy tails, huge outliers, ties,
//! subnormals) needs at most 50 passes per call (`Projection::passes`, which counts a solve
//! and its re-solve in a shifted frame together), ordinary data 3–6 (n ≥ 2048) or 4–11
//! (smaller n, whose start is the cruder all-free estimate). The slowest inputs known are entries spread from
//! 1e-30 to 1e30 in both signs with a fractional k, where most trial points fall on flat
//! pieces (`tests/solve.rs`: at most 33 passes for such an input of 300, 1438 over its 240
//! inputs of every kind; 139 and 2406 before a bracket holding 0 was split at 0 whatever its
//! ends' size, when such inputs used up the Newton trials halving `[−9e28, 6e27]` in value).
//!
//! Why this method and not sorting, bisection or selection: `docs/design.md`.

use crate::error::Error;
use crate::kernel::{Passes, Piece};
use crate::real::{ordered_gap, ordered_mid, Real, SolverFloat};

/// The solver's scalar arithmetic for element type `T` (see [`Real::Solver`]).
type W<T> = <T as Real>::Solver;

/// Trial points taken by safeguarded Newton before the solver falls back to bisection over the
/// representable values.
pub const MAX_NEWTON: u32 = 48;

/// How the output must be written once λ is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fill {
    /// `y_i = clip(z_i − λ, 0, 1)`.
    Clip,
    /// `k = 0`: every `y_i = 0`.
    Zeros,
    /// `k = n`: every `y_i = 1`.
    Ones,
}

/// The solver's result.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Solution<T> {
    /// The threshold λ (in units of `z = x/τ`).
    pub lambda: T,
    /// `|F(λ)|`: coordinates with `0 < y_i < 1`.
    pub free: usize,
    /// `|U(λ)|`: coordinates with `y_i = 1`.
    pub upper: usize,
    /// How to write the output.
    pub fill: Fill,
    /// Passes over the data taken by the solver (the final write not included).
    pub passes: u32,
}

/// The next representable value below `v`, saturating at the lowest finite value.
fn next_down<T: Real>(v: T) -> T {
    let w = T::from_ordered(v.to_ordered() - 1);
    if w.is_finite() {
        w
    } else {
        T::LOWEST
    }
}

/// Finds λ with `Σ_i clip(z_i − λ, 0, 1) = k` over the data behind `r`.
///
/// `k` must already be validated (`0 ≤ k ≤ n`, finite). `guess`, when given and finite, is
/// the first trial point (the first pass then also computes the statistics of `z`).
///
/// # Errors
/// [`Error::NonFiniteInput`] when some `z_i` is not finite; the caller tells apart a
/// non-finite input from an overflowing `x/τ`.
#[inline(always)]
pub fn solve<T: Real, R: Passes<T> + ?Sized>(
    r: &mut R,
    k: f64,
    guess: Option<T>,
) -> Result<Solution<T>, Error> {
    // The Newton phase and the bisection fallback are separate out-of-line functions so that
    // the stack depth is the larger of the two, not their sum (it matters on microcontrollers).
    match newton(r, k, guess)? {
        Newton::Done(s) => Ok(s),
        Newton::Bisect { lo, hi, passes } => bisect(r, W::<T>::from_f64(k), lo, hi, passes),
    }
}

/// How the Newton phase ended.
enum Newton<T> {
    /// With the answer.
    Done(Solution<T>),
    /// Out of Newton trials (or with neighbouring bracket ends): bisect `[lo, hi]`.
    Bisect { lo: T, hi: T, passes: u32 },
}

/// The safeguarded Newton phase of [`solve`].
#[inline(never)]
fn newton<T: Real, R: Passes<T> + ?Sized>(
    r: &mut R,
    k: f64,
    guess: Option<T>,
) -> Result<Newton<T>, Error> {
    let n = r.len();
    let nf = n as f64;
    let kw = W::<T>::from_f64(k);
    // f(λ) − k on a piece: `|U| − k` first (exact or small near the root), then Σ_F d.
    let excess = |p: &Piece| W::<T>::from_f64(p.sum_free) + (W::<T>::from_usize(p.upper) - kw);
    let guess = guess.filter(|g| g.is_finite());
    let (first, stats) = match guess {
        Some(g) => {
            let (p, s) = r.piece_and_stats(g);
            (Some((g, p)), s)
        }
        None => (None, r.stats()),
    };
    let mut passes = 1u32;
    if !stats.finite {
        return Err(Error::NonFiniteInput);
    }
    if n == 0 || k <= 0.0 {
        let lambda = if n == 0 { T::ZERO } else { stats.max };
        return Ok(Newton::Done(Solution {
            lambda,
            free: 0,
            upper: 0,
            fill: Fill::Zeros,
            passes,
        }));
    }
    // f(lo) = n and f(hi) = 0 exactly, in the element type's arithmetic.
    let mut lo = next_down(stats.min - T::ONE);
    let mut hi = stats.max;
    if k >= nf {
        // The losses recompute ŷ_i = clip(fl(z_i − λ), 0, 1) from λ, so λ must give
        // fl(z_i − λ) ≥ 1 for every i. `lo` does, unless `min z − 1` saturated at the lowest
        // finite value (min z = −MAX): then no finite λ does, and −∞ is used.
        let lambda = if lo > T::LOWEST {
            lo
        } else {
            T::from_f64(f64::NEG_INFINITY)
        };
        return Ok(Newton::Done(Solution {
            lambda,
            free: 0,
            upper: n,
            fill: Fill::Ones,
            passes,
        }));
    }
    // (Compiled out on bare metal, which has no bracketing passes: it is 20 bytes of flash.)
    #[cfg(not(target_os = "none"))]
    if let Some((a, b)) = r.bracket() {
        lo = if a > lo { a } else { lo };
        hi = if b < hi { b } else { hi };
    }
    let (mut lam, mut piece) = match first {
        Some(gp) => gp,
        None => {
            // All-free start: if every coordinate were free, Σ(z_i − λ) = k.
            let l = T::from_solver((W::<T>::from_f64(stats.sum) - kw) / W::<T>::from_usize(n));
            let l = if l > lo && l < hi {
                l
            } else {
                midpoint(lo, hi)
            };
            passes += 1;
            (l, r.piece(l))
        }
    };

    let done = |lambda: T, p: Piece, passes: u32| Solution {
        lambda,
        free: p.free,
        upper: p.upper,
        fill: Fill::Clip,
        passes,
    };

    let mut newton = false;
    let mut prev = (usize::MAX, usize::MAX);
    // A breakpoint jump (below) must at least halve the bracket, counted in representable
    // values; if it did not, the next flat piece is bisected instead. This keeps the jumps'
    // speed on data spread over many binades and bisection's guarantee everywhere.
    let mut width_before_jump: Option<u64> = None;
    for _ in 0..MAX_NEWTON {
        let g = excess(&piece);
        if g == W::<T>::ZERO || (newton && prev == (piece.free, piece.upper)) {
            return Ok(Newton::Done(done(lam, piece, passes)));
        }
        if g > W::<T>::ZERO {
            lo = lam;
        } else {
            hi = lam;
        }
        let width = ordered_gap(lo, hi);
        let jumps = width_before_jump.take().is_none_or(|w0| width <= w0 / 2);
        let step = if piece.free > 0 {
            Some(T::from_solver(
                lam.to_solver() + g / W::<T>::from_usize(piece.free),
            ))
        } else if let Some((up, down)) = if jumps { r.gaps(lam) } else { None } {
            // Flat piece (no slope): jump to the breakpoint in the direction of the root.
            // (Where the last jump did not halve the bracket, the pass for the gaps is not
            // taken at all: the step is a bisection.)
            passes += 1;
            // Past the breakpoint the slope is at least 1, so the root lies within |g| of
            // it; a step of at most 1 (one clip ramp) lands in the dense region near the root
            // without jumping over it by far when many coordinates sit there.
            let one = W::<T>::ONE;
            let edge = W::<T>::from_f64(if g > W::<T>::ZERO { up } else { down });
            let step = if g > one {
                one
            } else if g < -one {
                -one
            } else {
                g
            };
            let st = T::from_solver(lam.to_solver() + edge + step);
            // A target at or beyond the bracket means the root lies within rounding of its
            // end: try the representable value next to that end.
            Some(if st >= hi {
                T::from_ordered(hi.to_ordered() - 1)
            } else if st <= lo {
                T::from_ordered(lo.to_ordered() + 1)
            } else {
                st
            })
        } else {
            None
        };
        let newton_step = piece.free > 0;
        newton = false;
        let next = match step {
            Some(st) if st > lo && st < hi => {
                newton = newton_step;
                if !newton_step {
                    width_before_jump = Some(width);
                }
                st
            }
            // The Newton step rounds back to λ: λ is the representable point nearest the
            // root of its piece. A breakpoint within that last ulp (a flat piece just beyond,
            // where y is exactly 0/1) can make the neighbour better: keep the better one.
            Some(st) if newton_step && st == lam => {
                let nb = T::from_ordered(lam.to_ordered() + if g > W::<T>::ZERO { 1 } else { -1 });
                if nb > lo && nb < hi {
                    let p = r.piece(nb);
                    passes += 1;
                    if excess(&p).abs() < g.abs() {
                        return Ok(Newton::Done(done(nb, p, passes)));
                    }
                }
                return Ok(Newton::Done(done(lam, piece, passes)));
            }
            _ => {
                let m = midpoint(lo, hi);
                if !(m > lo && m < hi) {
                    break; // lo and hi are (nearly) neighbours
                }
                m
            }
        };
        prev = (piece.free, piece.upper);
        lam = next;
        piece = r.piece(lam);
        passes += 1;
    }

    Ok(Newton::Bisect { lo, hi, passes })
}

/// The solver's fallback: bisection over representable values until `lo` and `hi` are
/// neighbours, then the better of the two. Kept out of line: it is rarely taken, and its
/// locals would otherwise enlarge the solver's stack frame on small targets.
#[cold]
#[inline(never)]
fn bisect<T: Real, R: Passes<T> + ?Sized>(
    r: &mut R,
    kw: W<T>,
    mut lo: T,
    mut hi: T,
    mut passes: u32,
) -> Result<Solution<T>, Error> {
    let excess = |p: &Piece| W::<T>::from_f64(p.sum_free) + (W::<T>::from_usize(p.upper) - kw);
    let done = |lambda: T, p: Piece, passes: u32| Solution {
        lambda,
        free: p.free,
        upper: p.upper,
        fill: Fill::Clip,
        passes,
    };
    while ordered_gap(lo, hi) > 1 {
        let mid = ordered_mid(lo, hi);
        let p = r.piece(mid);
        passes += 1;
        let g = excess(&p);
        if g == W::<T>::ZERO {
            return Ok(done(mid, p, passes));
        }
        if g > W::<T>::ZERO {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let pl = r.piece(lo);
    let ph = r.piece(hi);
    passes += 2;
    if excess(&pl).abs() <= excess(&ph).abs() {
        Ok(done(lo, pl, passes))
    } else {
        Ok(done(hi, ph, passes))
    }
}

/// The point that halves the bracket `(lo, hi)`, strictly inside it when one exists.
///
/// A moderate bracket is halved in value, `(lo + hi)/2`. A bracket spanning many binades (inputs
/// from 1e-30 to 1e30, huge outliers) would take ~100 such halvings to close, so it is split at
/// 0 when it straddles 0 (and is wider than 256: the size of its ends says nothing of the
/// root's), and otherwise halved in representable-value order, which for same-signed ends is
/// close to the geometric mean: a factor 2^60 of range closes in ~6 steps.
fn midpoint<T: Real>(lo: T, hi: T) -> T {
    let (l, h) = (lo.to_solver(), hi.to_solver());
    let half = W::<T>::HALF;
    let zero = W::<T>::ZERO;
    let arith = T::from_solver(half * l + half * h);
    // (0 inside the bracket: its width is measured against 1)
    let near = if l < zero && h > zero {
        zero
    } else if l.abs() < h.abs() {
        l.abs()
    } else {
        h.abs()
    };
    let wide = half * h - half * l > W::<T>::from_f64(128.0) * (W::<T>::ONE + near);
    let m = if !wide {
        arith
    } else if l < zero && h > zero {
        T::ZERO
    } else {
        // Same sign (or one end at 0, replaced by ±1 so the split stays geometric).
        let a = if l == zero { T::ONE } else { lo };
        let b = if h == zero { -T::ONE } else { hi };
        if a <= b {
            ordered_mid(a, b)
        } else {
            ordered_mid(b, a)
        }
    };
    if m > lo && m < hi {
        m
    } else {
        arith
    }
}
