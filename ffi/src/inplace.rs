//! The top-k mask written over its own input, without scratch memory.
//!
//! The core's `binary_argmax` uses the output buffer as the selection's scratch, so it cannot
//! run in place. Here the k-th largest value `v` is found by bisection over the *representable*
//! values between `min x` and `max x` (their order-preserving integer images, see
//! `Real::to_ordered`): each step counts `|{i : x_i ≥ m}|` in one read-only pass, at most 33
//! passes for `f32` and 65 for `f64`. Then one pass writes the mask in place with the core's
//! tie rule (every `x_i > v`, then the lowest-index `x_i = v` until `k` ones are written), so
//! the result is identical to `hs_core::binary_argmax`.

use hs_core::{Error, Real};

/// `x ← r_k(x)`, the top-k 0/1 mask (ties toward the lower index).
///
/// # Errors
/// As `hs_core::binary_argmax` ([`Error::InvalidK`], [`Error::NonIntegerK`],
/// [`Error::NonFiniteInput`]); on error `x` is untouched.
pub(crate) fn binary_argmax_in_place<T: Real>(x: &mut [T], k: f64) -> Result<(), Error> {
    let n = x.len();
    if !(k >= 0.0 && k <= n as f64) {
        return Err(Error::InvalidK);
    }
    if k != (k as u64) as f64 {
        return Err(Error::NonIntegerK);
    }
    if !x.iter().all(|v| v.is_finite()) {
        return Err(Error::NonFiniteInput);
    }
    let k = k as usize;
    if k == 0 || k == n {
        let fill = if k == 0 { T::ZERO } else { T::ONE };
        x.iter_mut().for_each(|v| *v = fill);
        return Ok(());
    }
    let (mut min, mut max) = (T::MAX, T::LOWEST);
    for &v in x.iter() {
        if v < min {
            min = v;
        }
        if v > max {
            max = v;
        }
    }
    // Invariant: count(x ≥ from_ordered(lo)) ≥ k > count(x ≥ from_ordered(hi)).
    // lo = min: all n ≥ k elements are ≥ min. hi = next value above max: none (k ≥ 1).
    let count_ge = |m: T| x.iter().filter(|&&v| v >= m).count();
    let mut lo = min.to_ordered() as i128;
    let mut hi = max.to_ordered() as i128 + 1;
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if count_ge(T::from_ordered(mid as i64)) >= k {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    // v is the largest value with count(x ≥ v) ≥ k, i.e. the k-th largest element (any larger
    // value has only the elements strictly above the k-th largest, fewer than k, at or above
    // it). −0 and +0 compare equal, so either stands for a zero here.
    let v = T::from_ordered(lo as i64);
    let above = x.iter().filter(|&&xi| xi > v).count();
    let mut ties = k.saturating_sub(above);
    for xi in x.iter_mut() {
        let take = *xi > v || (*xi == v && ties > 0);
        if *xi == v && take {
            ties -= 1;
        }
        *xi = if take { T::ONE } else { T::ZERO };
    }
    Ok(())
}
