//! Hard Binary-Argmax@k: the top-k 0/1 mask `r_k(x)`.
//!
//! `r_k(x)_i = 1` for the k largest entries of x and 0 elsewhere; among equal values the
//! lower indices win. It is the limit of Soft-Binary-Argmax@k as τ → 0 when the k-th and
//! (k+1)-th largest values differ.
//!
//! # Method
//! Copy x into the output buffer, find the k-th largest value `v` there by introselect
//! (quickselect with a median-of-three / ninther pivot and a three-way partition, so runs of
//! equal values cost one pass), then write the mask from x: every `x_i > v`, and the first
//! `k − |{x_i > v}|` indices with `x_i = v`. Expected `O(n)`. If the partitions stop shrinking
//! (more than `2·log2(n)` rounds, as on inputs built to defeat the pivot rule), the window is
//! finished by heap selection, so the worst case is `O(n log n)`, never quadratic. On bare-metal
//! targets, where flash is scarce and vectors short, the threshold is found by bisection over
//! representable values instead (see [`binary_argmax_in_place`]).

use crate::error::Error;
use crate::real::{ordered_gap, ordered_mid, Real};
use crate::validate;

/// Windows up to this length are finished by insertion sort.
const SMALL: usize = 16;

/// Swaps `v[i]` and `v[j]`.
///
/// # Safety
/// `i < v.len()` and `j < v.len()`.
#[inline(always)]
unsafe fn swap_unchecked<T>(v: &mut [T], i: usize, j: usize) {
    let p = v.as_mut_ptr();
    // SAFETY: the caller guarantees both indices are in bounds; `ptr::swap` allows i == j.
    unsafe { core::ptr::swap(p.add(i), p.add(j)) }
}

/// Reads `v[i]`.
///
/// # Safety
/// `i < v.len()`.
#[inline(always)]
unsafe fn at<T: Copy>(v: &[T], i: usize) -> T {
    // SAFETY: the caller guarantees `i < v.len()`.
    unsafe { *v.get_unchecked(i) }
}

/// Median of `v[a], v[b], v[c]` (indices in bounds, checked by the caller).
#[inline]
fn median3<T: Real>(v: &[T], a: usize, b: usize, c: usize) -> T {
    let (x, y, z) = match (v.get(a), v.get(b), v.get(c)) {
        (Some(&x), Some(&y), Some(&z)) => (x, y, z),
        _ => return T::ZERO, // unreachable for in-bounds indices; any pivot is correct
    };
    if x < y {
        if y < z {
            y
        } else if x < z {
            z
        } else {
            x
        }
    } else if x < z {
        x
    } else if y < z {
        z
    } else {
        y
    }
}

/// Sorts `v` ascending by insertion (for short windows).
fn insertion_sort<T: Real>(v: &mut [T]) {
    for i in 1..v.len() {
        let mut j = i;
        // SAFETY: 1 ≤ j ≤ i < v.len() inside the loop, so j and j − 1 are in bounds.
        while j > 0 && unsafe { at(v, j) < at(v, j - 1) } {
            unsafe { swap_unchecked(v, j, j - 1) };
            j -= 1;
        }
    }
}

/// Restores the max-heap property below `root` in `v[..end]`.
fn sift_down<T: Real>(v: &mut [T], mut root: usize, end: usize) {
    let end = end.min(v.len());
    loop {
        let left = match root.checked_mul(2).and_then(|r| r.checked_add(1)) {
            Some(l) if l < end => l,
            _ => return,
        };
        let right = left + 1;
        // SAFETY: left < end ≤ v.len(); right is read only when right < end.
        let child = if right < end && unsafe { at(v, right) > at(v, left) } {
            right
        } else {
            left
        };
        // SAFETY: root < left < end and child < end, both ≤ v.len().
        if unsafe { at(v, child) > at(v, root) } {
            unsafe { swap_unchecked(v, child, root) };
            root = child;
        } else {
            return;
        }
    }
}

/// The value of ascending rank `r` in `v` by heap selection, `O(m log m)` worst case.
fn heap_select<T: Real>(v: &mut [T], r: usize) -> T {
    let m = v.len();
    if r >= m {
        return T::ZERO;
    }
    for i in (0..m / 2).rev() {
        sift_down(v, i, m);
    }
    // Pop the maximum m − 1 − r times; the root is then the value of rank r.
    let mut end = m;
    while end > r + 1 {
        end -= 1;
        // SAFETY: 0 < end < m = v.len().
        unsafe { swap_unchecked(v, 0, end) };
        sift_down(v, 0, end);
    }
    v.first().copied().unwrap_or(T::ZERO)
}

/// The value of ascending rank `r` (`0 ≤ r < v.len()`) in `v`, reordering `v`.
/// Returns 0 for an out-of-range `r` (never the case for the callers in this crate).
pub(crate) fn select<T: Real>(v: &mut [T], r: usize) -> T {
    let mut lo = 0usize;
    let mut hi = v.len();
    if r >= hi {
        return T::ZERO;
    }
    let mut budget = 2 * (usize::BITS - hi.leading_zeros()) + 4;
    // Invariant: lo ≤ r < hi ≤ v.len(), and v[lo..hi] holds the values of ranks lo..hi.
    loop {
        let len = hi - lo;
        let w = match v.get_mut(lo..hi) {
            Some(w) => w,
            None => return T::ZERO,
        };
        if len <= SMALL {
            insertion_sort(w);
            return w.get(r - lo).copied().unwrap_or(T::ZERO);
        }
        if budget == 0 {
            return heap_select(w, r - lo);
        }
        budget -= 1;
        let mid = len / 2;
        let p = if len >= 128 {
            let e = len / 8;
            let a = median3(w, 0, e, 2 * e);
            let b = median3(w, mid - e, mid, mid + e);
            let c = median3(w, len - 1 - 2 * e, len - 1 - e, len - 1);
            if a < b {
                if b < c {
                    b
                } else if a < c {
                    c
                } else {
                    a
                }
            } else if a < c {
                a
            } else if b < c {
                c
            } else {
                b
            }
        } else {
            median3(w, 0, mid, len - 1)
        };
        // Three-way partition: w[..lt] < p, w[lt..gt] == p, w[gt..] > p.
        let (mut lt, mut i, mut gt) = (0usize, 0usize, len);
        while i < gt {
            // SAFETY: invariant lt ≤ i < gt ≤ len = w.len().
            let vi = unsafe { at(w, i) };
            if vi < p {
                // SAFETY: lt ≤ i < w.len().
                unsafe { swap_unchecked(w, lt, i) };
                lt += 1;
                i += 1;
            } else if vi > p {
                gt -= 1;
                // SAFETY: i < gt < w.len() after the decrement (i < old gt).
                unsafe { swap_unchecked(w, i, gt) };
            } else {
                i += 1;
            }
        }
        let rr = r - lo;
        if rr < lt {
            hi = lo + lt;
        } else if rr >= gt {
            lo += gt;
        } else {
            return p;
        }
    }
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
    if ks.len().checked_mul(n) != Some(x.len()) {
        return Err(Error::LengthMismatch);
    }
    let mut rest = x;
    for &k in ks {
        let (row, tail) = rest.split_at_checked(n).ok_or(Error::LengthMismatch)?;
        prepare(row, k as f64)?;
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
        let tie = *xi == t && ties > 0;
        ties -= tie as usize;
        *xi = if *xi > t || tie { T::ONE } else { T::ZERO };
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
                    let mut w = data.clone();
                    assert_eq!(heap_select(&mut w, r), sorted[r]);
                }
            }
        }
    }
}
