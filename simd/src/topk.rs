//! The hard top-k mask `r_k(x)` for hosted builds, without the core's branch per entry.
//!
//! # Method
//! The mask needs `t`, the k-th largest entry: `r_k(x)_i = 1` where `x_i > t`, and on the
//! first `k − #{x > t}` entries equal to t (ties go to the lower index). The core finds `t` by
//! an introselect whose three-way partition branches on every entry (about 12–15 ns per entry
//! on fresh data, most of it mispredictions), or in place by bisection. Here, by length:
//! - up to `RANK_MAX` (24) entries, no threshold at all: `y_i = 1` when fewer than k entries
//!   rank before `x_i` (`x_j > x_i`, or `x_j = x_i` with `j < i`), `n²` comparisons summed
//!   without a branch ([`by_rank`]);
//! - below [`SAMPLED_MIN`], the standard library's selection on a copy (the output buffer, or
//!   the stack in place);
//! - from [`SAMPLED_MIN`] (Floyd and Rivest's idea, written from the rank argument):
//!   1. a sample of `s` entries at evenly spaced positions (`s ≈ n^(2/3)/2`, see
//!      [`sample_len`]); two of its order statistics, at the k-th largest's expected place in
//!      the sample `p = k·s/n` less and plus a margin of about three standard deviations of
//!      that place (`3·√(s·q·(1 − q))`, `q = k/n`), bracket `t` with high probability: `lo ≤
//!      t ≤ hi`;
//!   2. one pass over x, without a branch per entry, counts `above = #{x > hi}` and gathers
//!      the entries in `[lo, hi]` (a few percent of n);
//!   3. `t` lies in the bracket exactly when `above < k ≤ above + #gathered`; it is then the
//!      `(k − above)`-th largest gathered entry (a selection on the gathered few). Otherwise
//!      (the sample misled, as on a periodic input whose period divides the sample's spacing)
//!      `t` comes from a selection on a copy of all of x: slower, never wrong.
//!
//! The mask is then written 64 entries at a time, compared with `t` (vectorized), with the
//! ties placed without a branch in the chunks that hold one still to be placed. The mask is
//! unique, so every path writes the core's bits ([`hypersimplex::binary_argmax`]). Measured:
//! the README's "Top-k mask" (`cargo run --release -p hypersimplex-simd --example topkbench`).

use core::cmp::Ordering;

use hypersimplex::internal::topk::{prepare, prepare_rows};
use hypersimplex::Error;

use rayon::prelude::*;

use crate::batch::{lines_per_task, use_pool};
use crate::element::Element;

/// Vectors of at least this many entries take the sampled bracket, shorter ones a selection
/// on a copy (measured, `topkbench n`, fresh rows of Gaussian logits, 2-core AMD: 2048 entries
/// 1.61 ns per entry by the selection against 1.90 sampled, 4096 1.56 against 1.48, 2^20 1.32
/// against 0.89).
pub const SAMPLED_MIN: usize = 1 << 12;

/// Vectors of at most this many entries take the ranks ([`by_rank`]) instead of a selection
/// (measured, `topkbench n`: 17 entries 8.3 ns per entry against 10.7 by the selection, 32
/// 9.5 against about 8).
const RANK_MAX: usize = 24;
/// The in-place mask copies vectors of at most this many entries to the stack for the
/// selection (16 KiB of `f64`; up to 64 entries, 512 bytes), longer ones to the heap.
const STACK_MAX: usize = 2048;

/// Entries written (or scanned for ties) per step of the mask.
const CHUNK: usize = 64;
const _: () = assert!(CHUNK.is_power_of_two());

/// Binary-Argmax@k, `y ← r_k(x)`: as [`hypersimplex::binary_argmax`] (the same bits and
/// errors), by ranks, a selection or the sampled bracket (see the module docs).
///
/// # Errors
/// As [`hypersimplex::binary_argmax`]; on error `y` is not modified.
pub fn binary_argmax<T: Element>(x: &[T], k: f64, y: &mut [T]) -> Result<(), Error> {
    if y.len() != x.len() {
        return Err(Error::LengthMismatch);
    }
    let k = prepare(x, k)?;
    mask(x, k, y);
    Ok(())
}

/// The mask of a checked `(x, k)` into `y` (as long as x): see [`binary_argmax`].
fn mask<T: Element>(x: &[T], k: usize, y: &mut [T]) {
    let n = x.len();
    if let Some(v) = filled(k, n) {
        y.fill(v);
    } else if n <= RANK_MAX {
        by_rank(x, k, y);
    } else {
        let (t, ties) = if n < SAMPLED_MIN {
            // y is the selection's scratch, then the mask
            y.copy_from_slice(x);
            select_in(y, k)
        } else {
            threshold(x, k).0
        };
        write_mask(x, t, ties, y);
    }
}

/// [`binary_argmax`] written over `x`: as [`hypersimplex::binary_argmax_in_place`] (the same
/// bits and errors), with a copy of x on the stack (up to `STACK_MAX` entries) or on the heap
/// for the selection, and the sampled bracket's gathered entries, instead of the core's
/// bisection over the representable values.
///
/// # Errors
/// As [`hypersimplex::binary_argmax_in_place`]; on error `x` is not modified.
pub fn binary_argmax_in_place<T: Element>(x: &mut [T], k: f64) -> Result<(), Error> {
    let k = prepare(x, k)?;
    mask_in_place(x, k);
    Ok(())
}

/// The mask of a checked `(x, k)` written over x: see [`binary_argmax_in_place`].
fn mask_in_place<T: Element>(x: &mut [T], k: usize) {
    let n = x.len();
    if let Some(v) = filled(k, n) {
        x.fill(v);
        return;
    }
    let (t, mut ties) = if n <= RANK_MAX {
        let mut c = [T::ZERO; RANK_MAX];
        c[..n].copy_from_slice(x);
        by_rank(&c[..n], k, x);
        return;
    } else if n <= 64 {
        let mut c = [T::ZERO; 64];
        c[..n].copy_from_slice(x);
        select_in(&mut c[..n], k)
    } else if n <= STACK_MAX {
        let mut c = [T::ZERO; STACK_MAX];
        c[..n].copy_from_slice(x);
        select_in(&mut c[..n], k)
    } else if n < SAMPLED_MIN {
        select_in(&mut x.to_vec(), k)
    } else {
        threshold(x, k).0
    };
    for c in x.chunks_mut(CHUNK) {
        if ties > 0 && has(c, t) {
            for v in c.iter_mut() {
                let tie = (*v == t) & (ties > 0);
                ties -= tie as usize;
                *v = mask_value((*v > t) | tie);
            }
        } else {
            c.iter_mut().for_each(|v| *v = mask_value(*v > t));
        }
    }
}

/// The mask of `1 ≤ k < n ≤ RANK_MAX` entries by ranks: `y_i = 1` when fewer than k entries
/// come before `x_i` (`x_j > x_i`, or `x_j = x_i` with `j < i`), `n²` comparisons without a
/// branch, no selection.
fn by_rank<T: Element>(x: &[T], k: usize, y: &mut [T]) {
    for (i, (&xi, o)) in x.iter().zip(y.iter_mut()).enumerate() {
        // two plain sums (they vectorize), not one with an index test
        let above: u32 = x.iter().map(|&xj| (xj > xi) as u32).sum();
        let tied: u32 = x
            .get(..i)
            .map_or(0, |h| h.iter().map(|&xj| (xj == xi) as u32).sum());
        *o = mask_value(((above + tied) as usize) < k);
    }
}

/// `(t, k − #{v > t})` of the k-th largest entry `t` of `v` (`1 ≤ k < v.len()`), reordering
/// `v` (the standard library's selection).
fn select_in<T: Element>(v: &mut [T], k: usize) -> (T, usize) {
    let (higher, &mut t, _) = v.select_nth_unstable_by(k - 1, desc);
    let over = higher.iter().filter(|&&w| w > t).count();
    (t, k - over)
}

/// Binary-Argmax@k of each row of a row-major `rows × n` matrix, `y[r] = r_{k[r]}(x[r])`
/// (`rows = ks.len()`, row `r` at `x[r·n..]`), each row as [`binary_argmax`] computes it (the
/// same bits). Every row is checked before any is written, so on error `y` is untouched; from
/// [`crate::BATCH_PAR_MIN`] values the rows run on the current rayon pool.
///
/// # Errors
/// [`Error::LengthMismatch`] (`x` or `y` not `rows·n` long), then the first failing row's
/// error as [`binary_argmax`]'s ([`Error::InvalidK`] for `k[r] > n`, [`Error::NonFiniteInput`]
/// for NaN, ±∞ masks that `k[r]` cannot keep).
pub fn binary_argmax_rows<T: Element>(
    x: &[T],
    n: usize,
    ks: &[usize],
    y: &mut [T],
) -> Result<(), Error> {
    if y.len() != x.len() {
        return Err(Error::LengthMismatch);
    }
    prepare_rows(x, n, ks)?;
    if n > 0 {
        let one = |(xr, yr, &k): (&[T], &mut [T], &usize)| mask(xr, k, yr);
        if use_pool(x.len()) {
            let per = lines_per_task(n);
            x.par_chunks(per * n)
                .zip(y.par_chunks_mut(per * n))
                .zip(ks.par_chunks(per))
                .for_each(|((xc, yc), kc)| {
                    xc.chunks(n)
                        .zip(yc.chunks_mut(n))
                        .zip(kc)
                        .for_each(|((a, b), k)| one((a, b, k)))
                });
        } else {
            x.chunks(n)
                .zip(y.chunks_mut(n))
                .zip(ks)
                .for_each(|((a, b), k)| one((a, b, k)));
        }
    }
    Ok(())
}

/// [`binary_argmax_rows`] written over `x`, each row as [`binary_argmax_in_place`].
///
/// # Errors
/// As [`binary_argmax_rows`]; on error `x` is not modified.
pub fn binary_argmax_rows_in_place<T: Element>(
    x: &mut [T],
    n: usize,
    ks: &[usize],
) -> Result<(), Error> {
    prepare_rows(x, n, ks)?;
    if n > 0 {
        let one = |(xr, &k): (&mut [T], &usize)| mask_in_place(xr, k);
        if use_pool(x.len()) {
            let per = lines_per_task(n);
            x.par_chunks_mut(per * n)
                .zip(ks.par_chunks(per))
                .for_each(|(xc, kc)| xc.chunks_mut(n).zip(kc).for_each(one));
        } else {
            x.chunks_mut(n).zip(ks).for_each(one);
        }
    }
    Ok(())
}

/// The mask's value for every entry when `k = 0` or `k = n`.
fn filled<T: Element>(k: usize, n: usize) -> Option<T> {
    match k {
        0 => Some(T::ZERO),
        _ if k >= n => Some(T::ONE),
        _ => None,
    }
}

/// 1 or 0.
#[inline(always)]
fn mask_value<T: Element>(one: bool) -> T {
    if one {
        T::ONE
    } else {
        T::ZERO
    }
}

/// Whether `c` holds `t` (a fold without early exit, so that it vectorizes).
#[inline(always)]
fn has<T: Element>(c: &[T], t: T) -> bool {
    c.iter().fold(false, |a, &v| a | (v == t))
}

/// Descending order (the entries are not NaN: [`prepare`] refused them).
fn desc<T: Element>(a: &T, b: &T) -> Ordering {
    if a > b {
        Ordering::Less
    } else if a < b {
        Ordering::Greater
    } else {
        Ordering::Equal
    }
}

/// The sample's length for `n` entries: `n^(2/3)/2`, at least 256 (see the module docs; the
/// gathered entries are then about `6·√(q(1 − q))·n^(2/3)`, and the sample's two selections
/// cost about as much as the selection on them).
pub(crate) fn sample_len(n: usize) -> usize {
    (((n as f64).powf(2.0 / 3.0) * 0.5) as usize).clamp(256, n)
}

/// `((t, k − #{x > t}), sampled)`: the k-th largest entry of `x` (`1 ≤ k < n`, no NaN) and the
/// number of entries equal to it that the mask keeps; `sampled` is false when the bracket
/// missed t and the whole vector was selected (for the tests).
pub(crate) fn threshold<T: Element>(x: &[T], k: usize) -> ((T, usize), bool) {
    let n = x.len();
    let s = sample_len(n);
    let stride = n / s;
    let mut sample: Vec<T> = (0..s)
        .filter_map(|i| x.get(i * stride + stride / 2))
        .copied()
        .collect();
    // the k-th largest entry's place in the sample (descending, from 0), ± the margin
    let q = k as f64 / n as f64;
    let p = q * s as f64 - 0.5;
    let margin = 3.0 * (s as f64 * q * (1.0 - q)).sqrt() + 2.0;
    let at = |i: f64, sample: &mut [T]| -> Option<T> {
        (i >= 0.0 && i < sample.len() as f64)
            .then(|| *sample.select_nth_unstable_by(i as usize, desc).1)
    };
    // no bound on a side without one (±∞ order like any value: nothing is above +∞)
    let hi = at((p - margin).floor(), &mut sample).unwrap_or(T::from_f64(f64::INFINITY));
    let lo = at((p + margin).ceil(), &mut sample).unwrap_or(T::from_f64(f64::NEG_INFINITY));
    drop(sample);
    // one pass without a branch per entry: every entry is stored at the gathered end, which
    // moves on only past an entry in `[lo, hi]` (a chunk at a time, into room made beforehand)
    let mut above = 0usize;
    let mut gathered: Vec<T> =
        vec![T::ZERO; ((n as f64) * (2.0 * margin + 2.0) / s as f64 * 1.5) as usize + CHUNK];
    let mut len = 0usize;
    for c in x.chunks(CHUNK) {
        if gathered.len() - len < CHUNK {
            gathered.resize(2 * gathered.len(), T::ZERO);
        }
        let mut j = 0usize;
        if let Some(w) = gathered.get_mut(len..len + CHUNK) {
            for &v in c {
                above += (v > hi) as usize;
                // j ≤ the entry's index in the chunk < CHUNK (a power of two)
                w[j & (CHUNK - 1)] = v;
                j += ((v >= lo) & (v <= hi)) as usize;
            }
        }
        len += j;
    }
    gathered.truncate(len);
    if above < k && k - above <= gathered.len() {
        // the (k − above)-th largest gathered entry; the entries above the bracket are above it
        let (t, ties) = select_in(&mut gathered, k - above);
        return ((t, ties), true);
    }
    drop(gathered);
    (select_in(&mut x.to_vec(), k), false)
}

/// Writes the mask of threshold `t` into `y`: 1 where `x > t` and on the first `ties` entries
/// equal to t, 0 elsewhere.
fn write_mask<T: Element>(x: &[T], t: T, mut ties: usize, y: &mut [T]) {
    for (xc, yc) in x.chunks(CHUNK).zip(y.chunks_mut(CHUNK)) {
        if ties > 0 && has(xc, t) {
            for (o, &v) in yc.iter_mut().zip(xc) {
                // without a branch: whether an entry equals t is data (half of a short row's
                // chunk would mispredict)
                let tie = (v == t) & (ties > 0);
                ties -= tie as usize;
                *o = mask_value((v > t) | tie);
            }
        } else {
            for (o, &v) in yc.iter_mut().zip(xc) {
                *o = mask_value(v > t);
            }
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    /// The bracket holds the threshold on typical inputs, and an input built against the
    /// sample's positions takes the full selection, with the same threshold.
    #[test]
    fn bracket_and_fallback() {
        let mut state = 7u64;
        let mut next = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 40) as f32 / 16_777_216.0 - 0.5
        };
        for n in [SAMPLED_MIN, 10_000, 1 << 17] {
            let x: Vec<f32> = (0..n).map(|_| next()).collect();
            let mut sorted = x.clone();
            sorted.sort_by(|a, b| b.total_cmp(a));
            for k in [1, 2, n / 3, n / 2, n - 2, n - 1] {
                let ((t, ties), sampled) = threshold(&x, k);
                assert!(sampled, "n = {n}, k = {k}: the bracket missed");
                assert_eq!(t, sorted[k - 1], "n = {n}, k = {k}");
                let over = x.iter().filter(|&&v| v > t).count();
                assert_eq!(ties, k - over, "n = {n}, k = {k}");
            }
            // every sampled position holds the maximum: the bracket is empty around rank n/2
            let s = sample_len(n);
            let stride = n / s;
            let mut y = x.clone();
            for i in 0..s {
                y[i * stride + stride / 2] = 9.0;
            }
            let mut sorted = y.clone();
            sorted.sort_by(|a, b| b.total_cmp(a));
            let ((t, _), sampled) = threshold(&y, n / 2);
            assert!(!sampled, "n = {n}: the sample should have missed");
            assert_eq!(t, sorted[n / 2 - 1]);
        }
    }
}
