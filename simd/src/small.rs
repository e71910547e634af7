//! The short-row path of the batched rows functions (rows of at most [`SMALL_MAX`] elements).
//!
//! For short rows the general solver's per-call cost (pass dispatch, block splitting, the
//! root finder's bookkeeping: about 100 ns) dominates. Here each row is solved in one small
//! loop that stays in registers and L1: `z_i = x_i·s` is widened to `f64` once into a stack
//! buffer, then a bracketed Newton iteration runs on the piecewise-linear
//! `f(λ) = Σ clip(z_i − λ, 0, 1)`: at each λ one branch-free pass counts the free and upper
//! elements and sums the free residuals `z_i − λ` (each in (0, 1)), the linear piece's root
//! `λ + (f(λ) − k)/|F|` is the next point (the bracket's midpoint when it leaves the bracket or
//! the piece is flat), and the iteration stops when the free and upper counts repeat: the sets
//! are nested in λ, so equal counts mean equal sets and the last root is the exact root of that
//! piece. A row that does not settle within [`SMALL_ITERS`] steps (not seen in the tests)
//! takes the general solver.
//!
//! The code is plain scalar Rust without fused multiply-add, compiled once for every path, so
//! its results are bitwise the same on every ISA path and thread count; the threshold does not
//! depend on the path.

use hypersimplex::internal::validate::classify_nonfinite;
use hypersimplex::{Error, Projection};

use crate::element::Element;
use crate::platform::Kernels;

/// Rows of at most this many elements take the short-row path (chosen by measurement: see
/// README "Speed").
pub(crate) const SMALL_MAX: usize = 64;
/// Newton steps before a row falls back to the general solver.
const SMALL_ITERS: usize = 48;

/// λ of one row (`0 < k < n`, every `x_i·s` finite, `n ≤ SMALL_MAX`), or `None` when the
/// iteration did not settle.
fn row_lambda<T: Element>(x: &[T], k: f64, scale: T) -> Option<(f64, u32)> {
    let n = x.len();
    let mut z = [0.0f64; SMALL_MAX];
    let z = &mut z[..n];
    let (mut sum, mut min, mut max) = (0.0f64, f64::INFINITY, f64::NEG_INFINITY);
    for (zi, &xi) in z.iter_mut().zip(x) {
        let v = (xi * scale).to_f64();
        *zi = v;
        sum += v;
        min = min.min(v);
        max = max.max(v);
    }
    // f(lo) = n ≥ k and f(hi) = 0 ≤ k.
    let (mut lo, mut hi) = (min - 1.0, max);
    // Start as if every element were free.
    let mut lam = ((sum - k) / n as f64).clamp(lo, hi);
    let mut prev = (usize::MAX, usize::MAX);
    for step in 1..=SMALL_ITERS as u32 {
        let (mut free, mut upper, mut sd) = (0usize, 0usize, 0.0f64);
        for &zi in z.iter() {
            let d = zi - lam;
            let f = (d > 0.0) & (d < 1.0);
            free += f as usize;
            upper += (d >= 1.0) as usize;
            sd += if f { d } else { 0.0 };
        }
        let val = sd + upper as f64;
        let next = if free > 0 {
            lam + (val - k) / free as f64
        } else {
            f64::NAN
        };
        if (free, upper) == prev {
            return Some((next, step));
        }
        if val > k {
            lo = lam;
        } else if val < k {
            hi = lam;
        } else {
            return Some((lam, step));
        }
        if next > lo && next < hi {
            prev = (free, upper);
            lam = next;
        } else {
            prev = (usize::MAX, usize::MAX);
            lam = 0.5 * (lo + hi);
        }
    }
    None
}

/// Projects one short row whose `x_i·s` are all finite, writing `y`; `false` (nothing
/// written) when the caller must use the general solver.
pub(crate) fn project_row<T: Element>(x: &[T], k: f64, scale: T, y: &mut [T]) -> bool {
    project_row_lambda(x, k, scale, y).is_some()
}

/// [`project_row`], returning the λ written (in `T`, as `f64`) and the solver's passes.
fn project_row_lambda<T: Element>(x: &[T], k: f64, scale: T, y: &mut [T]) -> Option<(f64, u32)> {
    let (l, steps) = effective_lambda(x, k, scale)?;
    for (o, &v) in y.iter_mut().zip(x) {
        *o = (v * scale - l).clip01();
    }
    Some((l.to_f64(), steps))
}

/// The λ (in `T`) that makes `clip(x_i·s − λ, 0, 1)` the projection of a short row whose
/// `x_i·s` are all finite (`±∞` for `k = 0` and `k = n`), and the solver's steps; `None` when
/// the caller must use the general solver.
pub(crate) fn effective_lambda<T: Element>(x: &[T], k: f64, scale: T) -> Option<(T, u32)> {
    let (lam, steps) = if k <= 0.0 {
        (f64::INFINITY, 0)
    } else if k >= x.len() as f64 {
        (f64::NEG_INFINITY, 0)
    } else {
        row_lambda(x, k, scale)?
    };
    Some((T::from_f64(lam), steps))
}

/// One short vector (`1 ≤ n ≤ SMALL_MAX`, validated `k` and `scale`): checks every `x_i·s`
/// finite (nothing written otherwise), then solves and writes as a row of a batch.
pub(crate) fn project<T: Element>(
    kern: Kernels,
    x: &[T],
    k: f64,
    scale: T,
    y: &mut [T],
) -> Result<Projection, Error> {
    if !T::all_finite(kern, x, scale) {
        return Err(classify_nonfinite(x));
    }
    match project_row_lambda(x, k, scale, y) {
        Some((lambda, steps)) => {
            let free = y.iter().filter(|&&v| (v > T::ZERO) & (v < T::ONE)).count();
            let upper = y.iter().filter(|&&v| v == T::ONE).count();
            Ok(Projection {
                lambda,
                free,
                upper,
                passes: steps + 1,
            })
        }
        None => kern.project(x, k, scale, y),
    }
}
