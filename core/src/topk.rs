//! Hard Binary-Argmax@k: the top-k 0/1 mask `r_k(x)`.
//!
//! `r_k(x)_i = 1` for the k largest entries of x and 0 elsewhere; among equal values the
//! lower indices win. It is the limit of Soft-Binary-Argmax@k as τ → 0 when the k-th and
//! (k+1)-th largest values differ.
//!
//! # Method
//! Copy x into the output buffer, find the k-th largest value `v` there by the core library's
//! selection (`select_nth_unstable_by`: introselect, expected `O(n)`, worst case `O(n log
//! n)`), then write the mask from x: every `x_i > v`, and the first `k − |{x_i > v}|` indices
//! with `x_i = v` (without a branch per entry). On bare-metal
//! targets, where flash is scarce and vectors short, the threshold is found by bisection over
//! representable values instead (see [`binary_argmax_in_place`]).

use core::cmp::Ordering;

use crate::error::Error;
use crate::real::{ordered_gap, ordered_mid, Real};
use crate::validate;

/// The value of ascending rank `r` (`r < v.len()`) in `v`, reordering `v`: the core library's
/// `select_nth_unstable_by` (introselect with branch-free block partitions: about 1–1.5 ns per
/// entry on fresh data, against 12–15 for the three-way partition with a branch per entry this
/// crate had; expected `O(n)`, worst case `O(n log n)`). Returns 0 for an out-of-range `r`
/// (never the case for the callers in this crate; checked, so that no panic is reachable).
pub(crate) fn select<T: Real>(v: &mut [T], r: usize) -> T {
    if r >= v.len() {
        return T::ZERO;
    }
    // no NaN here (`prepare` refused them): `partial_cmp` is a total order on the rest
    *v.select_nth_unstable_by(r, |a, b| a.partial_cmp(b).unwrap_or(Ordering::Equal))
        .1
}

/// Validates `(x, k)` for the hard mask and returns `k` as an integer (the checks of
/// [`binary_argmax`], for implementations of the mask elsewhere: the SIMD crate's).
///
/// # Errors
/// As [`binary_argmax`], less the length check.
pub fn prepare<T: Real>(x: &[T], k: f64) -> Result<usize, Error> {
    // (The integer is taken again after the scan: keeping it live across the loop costs flash.)
    validate::integer_k(x.len(), k)?;
    if !validate::all_finite(x) {
        // ±∞ are masks (the selection orders them like any value; k must keep every +∞ in
        // and every −∞ out); NaN is an error. Bare-metal targets refuse both.
        #[cfg(not(target_os = "none"))]
        crate::mask::mask_counts(x).check(x.len(), k)?;
        #[cfg(target_os = "none")]
        return Err(Error::NonFiniteInput);
    }
    Ok(k as usize)
}

/// [`prepare`] of every row of a row-major matrix of `ks.len()` rows of `n` (row `r` with
/// `k = ks[r]`, in order): the checks a row-wise top-k makes before it writes any row.
///
/// # Errors
/// [`Error::LengthMismatch`] when `x` is not `ks.len()·n` long, then the first failing row's
/// error (as [`binary_argmax`]'s).
pub fn prepare_rows<T: Real>(x: &[T], n: usize, ks: &[usize]) -> Result<(), Error> {
    rows_checked(x, n, ks, prepare)
}

/// `check` of every row of a row-major matrix of `ks.len()` rows of `n` with its k, in order,
/// after the shape ([`prepare_rows`], and the half-precision rows' checks).
pub(crate) fn rows_checked<T>(
    x: &[T],
    n: usize,
    ks: &[usize],
    check: impl Fn(&[T], f64) -> Result<usize, Error>,
) -> Result<(), Error> {
    if ks.len().checked_mul(n) != Some(x.len()) {
        return Err(Error::LengthMismatch);
    }
    let mut rest = x;
    for &k in ks {
        let (row, tail) = rest.split_at_checked(n).ok_or(Error::LengthMismatch)?;
        check(row, k as f64)?;
        rest = tail;
    }
    Ok(())
}

/// Overwrites `v` (a copy of x, in the original order) with its top-k mask, given the k-th
/// largest value `t`: every value `> t`, and the first `k − |{v > t}|` values equal to `t`.
fn mask_in_place<T: Real>(v: &mut [T], t: T, k: usize) {
    let above = v.iter().filter(|&&xi| xi > t).count();
    let mut ties = k.saturating_sub(above);
    for xi in v.iter_mut() {
        let tie = (*xi == t) & (ties > 0);
        ties -= tie as usize;
        *xi = if (*xi > t) | tie { T::ONE } else { T::ZERO };
    }
}

/// Binary-Argmax@k: writes the top-k mask of `x` into `y` (`1` on the k largest entries, `0`
/// elsewhere; ties broken toward the lower index), so `Σ y = k`.
///
/// `k` is an `f64` holding an integer in `[0, n]`. `O(n)` expected time (selection, no sort),
/// `O(n log n)` worst case; `y` doubles as the selection's scratch space.
///
/// # Errors
/// [`Error::LengthMismatch`], [`Error::InvalidK`] (NaN, negative or `> n`),
/// [`Error::NonIntegerK`], [`Error::NonFiniteInput`] (NaN). `±∞` entries rank first and
/// last like any value, as masks: `k` outside `[#(+∞), n − #(−∞)]` is [`Error::InvalidK`]
/// (on bare-metal targets `±∞` is [`Error::NonFiniteInput`]). On error `y` is not modified.
///
/// # Example
/// ```
/// let mut y = [0.0f32; 5];
/// hypersimplex::binary_argmax(&[0.3f32, 2.0, 0.3, -1.0, 0.3], 2.0, &mut y).unwrap();
/// assert_eq!(y, [1.0, 1.0, 0.0, 0.0, 0.0]);   // the tie at 0.3 goes to index 0
/// ```
pub fn binary_argmax<T: Real>(x: &[T], k: f64, y: &mut [T]) -> Result<(), Error> {
    let n = x.len();
    if y.len() != n {
        return Err(Error::LengthMismatch);
    }
    let k = prepare(x, k)?;
    if k == 0 || k == n {
        let fill = if k == 0 { T::ZERO } else { T::ONE };
        y.iter_mut().for_each(|v| *v = fill);
        return Ok(());
    }
    y.copy_from_slice(x);
    let t = if SELECT {
        let t = select(y, n - k);
        y.copy_from_slice(x);
        t
    } else {
        threshold_by_bisection(y, k)
    };
    mask_in_place(y, t, k);
    Ok(())
}

/// Whether [`binary_argmax`] finds the threshold by selection (expected `O(n)`, ~1.2 KB of
/// code) or, on bare-metal targets (`target_os = "none"`), by the bisection of
/// [`binary_argmax_in_place`] (`O(n · bits)`, a few hundred bytes): on a microcontroller the
/// vectors are short and flash is the scarce resource (this keeps forward + backward + top-k +
/// loss within 8 KiB on the Cortex-M4F).
const SELECT: bool = !cfg!(target_os = "none");

/// [`binary_argmax`] computed in place, `x ← r_k(x)`, without scratch memory.
///
/// With no room to reorder a copy, the k-th largest value is found by bisection over the
/// representable values between `min x` and `max x` (each step one counting pass: at most 33
/// passes for `f32`, 65 for `f64`), so this is `O(n · bits)`; prefer the out-of-place version
/// when a separate output buffer is available.
///
/// # Errors
/// As [`binary_argmax`] (no length check); on error `x` is not modified.
pub fn binary_argmax_in_place<T: Real>(x: &mut [T], k: f64) -> Result<(), Error> {
    let n = x.len();
    let k = prepare(x, k)?;
    if k == 0 || k == n {
        let fill = if k == 0 { T::ZERO } else { T::ONE };
        x.iter_mut().for_each(|v| *v = fill);
        return Ok(());
    }
    let t = threshold_by_bisection(x, k);
    mask_in_place(x, t, k);
    Ok(())
}

/// The k-th largest value of `x` (`1 ≤ k < n`, finite values) by bisection over the
/// representable values between `min x` and `max x`: one counting pass per step.
fn threshold_by_bisection<T: Real>(x: &[T], k: usize) -> T {
    let count_ge = |t: T| x.iter().filter(|&&v| v >= t).count();
    let (mut lo, mut hi) = x.iter().fold((T::MAX, T::LOWEST), |(a, b), &v| {
        (if v < a { v } else { a }, if v > b { v } else { b })
    });
    // Invariant: count(x ≥ lo) ≥ k > count(x ≥ hi); the answer is the largest such lo, which
    // is a value of x (the count drops just above it).
    if count_ge(hi) >= k {
        return hi;
    }
    while ordered_gap(lo, hi) > 1 {
        let mid = ordered_mid(lo, hi);
        if count_ge(mid) >= k {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn select_matches_sort() {
        let mut seed = 12345u64;
        for len in [1usize, 2, 3, 15, 16, 17, 100, 1000] {
            for _ in 0..20 {
                let mut data = std::vec::Vec::with_capacity(len);
                for _ in 0..len {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    data.push(((seed >> 33) % 7) as f64 - 3.0 + (seed >> 60) as f64 * 0.1);
                }
                let mut sorted = data.clone();
                sorted.sort_by(|a, b| a.partial_cmp(b).unwrap());
                for r in [0, len / 3, len / 2, len - 1] {
                    let mut w = data.clone();
                    assert_eq!(select(&mut w, r), sorted[r]);
                }
            }
        }
    }
}
