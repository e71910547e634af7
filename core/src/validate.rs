//! Input validation shared by every entry point (core, the SIMD crate, the C ABI): τ, k,
//! lengths, labels, targets and finiteness, each checked in one place so that every layer
//! refuses the same inputs with the same [`Error`], in the same order.
//!
//! The order a caller checks in is part of the contract (the C header documents it): lengths,
//! then τ, then k, then the data. [`k_tau`] keeps the historical order of the single-vector
//! check (τ valid, k in range, `1/τ` finite).

use crate::error::Error;
use crate::loss::ClassK;
use crate::real::Real;

/// `Ok(fl(1/τ))` for a valid temperature.
///
/// # Errors
/// [`Error::InvalidTau`] unless `0 < τ < ∞`; [`Error::ScaleOverflow`] when `1/τ` overflows
/// (τ subnormal).
#[inline]
pub fn tau_scale<T: Real>(tau: T) -> Result<T, Error> {
    if !(tau > T::ZERO && tau.is_finite()) {
        return Err(Error::InvalidTau);
    }
    let s = T::ONE / tau;
    if s.is_finite() {
        Ok(s)
    } else {
        Err(Error::ScaleOverflow)
    }
}

/// The bound on `|g_i|` below which no VJP entry `(g_i − mean)·s` can overflow: with every
/// `|g_i| ≤ L` the mean is in `[−L, L]`, `|g_i − mean| ≤ 2L` and `2L·s ≤ MAX/2`. Inputs above it
/// take the checking pass `backward::vjp_mean_checked`. (`(MAX/4)/s`, not `MAX/(4s)`: `4s`
/// overflows for `s > MAX/4`, which made `L = 0`.)
#[inline]
pub fn vjp_limit<T: Real>(scale: T) -> T {
    let two = T::ONE + T::ONE;
    let four = two + two;
    if scale > T::ONE {
        T::MAX / four / scale
    } else {
        T::MAX / four
    }
}

/// [`Error::ScaleOverflow`] when a loss gradient entry could overflow: each is
/// `(clip(d) − t − mean)·factor` with `|clip(d) − t − mean| ≤ 2` and `factor ≤ s = 1/τ`, so
/// `2s` finite keeps every entry finite (only subnormal τ fail: τ < 2/MAX).
#[inline]
pub fn grad_scale<T: Real>(scale: T) -> Result<(), Error> {
    if (scale + scale).abs() <= T::MAX {
        Ok(())
    } else {
        Err(Error::ScaleOverflow)
    }
}

/// [`Error::InvalidK`] unless `0 ≤ k ≤ n` (NaN fails).
#[inline]
pub fn k_in_range(n: usize, k: f64) -> Result<(), Error> {
    if k >= 0.0 && k <= n as f64 {
        Ok(())
    } else {
        Err(Error::InvalidK)
    }
}

/// Checks τ and k for a vector of `n` elements and returns the scale `s = fl(1/τ)`.
///
/// # Errors
/// [`Error::InvalidTau`] unless `0 < τ < ∞`; [`Error::InvalidK`] unless `0 ≤ k ≤ n`;
/// [`Error::ScaleOverflow`] when `1/τ` overflows (τ subnormal), in this order.
// (Written out rather than composed from `tau_scale`: the order differs, and on the Cortex-M4F
// the composed form costs flash, see docs/design.md.)
pub fn k_tau<T: Real>(n: usize, k: f64, tau: T) -> Result<T, Error> {
    if !(tau > T::ZERO && tau.is_finite()) {
        return Err(Error::InvalidTau);
    }
    if !(k >= 0.0 && k <= n as f64) {
        return Err(Error::InvalidK);
    }
    let scale = T::ONE / tau;
    if !scale.is_finite() {
        return Err(Error::ScaleOverflow);
    }
    Ok(scale)
}

/// The hard top-k mask's `k` for `n` elements, as an integer.
///
/// # Errors
/// [`Error::InvalidK`] unless `0 ≤ k ≤ n`; [`Error::NonIntegerK`] for a fractional `k`.
#[inline]
pub fn integer_k(n: usize, k: f64) -> Result<usize, Error> {
    if !(k >= 0.0 && k <= n as f64) {
        return Err(Error::InvalidK);
    }
    // k ≤ n fits in usize; converting through usize (not u64) keeps the 64-bit software
    // conversions out of 32-bit firmware.
    if k != (k as usize) as f64 {
        return Err(Error::NonIntegerK);
    }
    Ok(k as usize)
}

/// `rows · n`, or [`Error::LengthMismatch`] when the product overflows `usize`.
#[inline]
pub fn shape(rows: usize, n: usize) -> Result<usize, Error> {
    rows.checked_mul(n).ok_or(Error::LengthMismatch)
}

/// `true` when every target lies in `[0, 1]` (false for NaN). Branch-free, so that it
/// vectorizes (16 bytes more flash on the Cortex-M4F than an early-exit loop).
#[inline]
pub fn targets_in_unit<T: Real>(t: &[T]) -> bool {
    t.iter()
        .fold(true, |ok, &v| ok & (v >= T::ZERO) & (v <= T::ONE))
}

/// `true` when every value is finite.
#[inline]
pub fn all_finite<T: Real>(x: &[T]) -> bool {
    x.iter().all(|v| v.is_finite())
}

/// After a non-finite `z = x · s` was seen: was it the input ([`Error::NonFiniteInput`]), or
/// the scaling by `1/τ` ([`Error::ScaleOverflow`])?
pub fn classify_nonfinite<T: Real>(x: &[T]) -> Error {
    if all_finite(x) {
        Error::ScaleOverflow
    } else {
        Error::NonFiniteInput
    }
}

/// What a solve that met a non-finite `z = x·s` returns instead: the masked solve of
/// `crate::mask` when `x` holds `±∞` (and no NaN), else the error [`classify_nonfinite`] names.
/// On bare-metal targets (no masks) always that error.
///
/// # Errors
/// [`Error::NonFiniteInput`], [`Error::ScaleOverflow`], or [`Error::InvalidK`] for a `k`
/// outside `[#(+∞), n − #(−∞)]`.
#[cfg_attr(target_os = "none", inline(always))]
pub fn nonfinite_fallback<T: Real>(
    x: &[T],
    k: f64,
    scale: T,
) -> Result<crate::solve::Solution<T>, Error> {
    #[cfg(not(target_os = "none"))]
    {
        crate::mask::solve_masked(x, k, scale)
    }
    #[cfg(target_os = "none")]
    {
        let _ = (k, scale);
        Err(classify_nonfinite(x))
    }
}

/// `Ok` when every `x_i · s` is finite, else the error [`classify_nonfinite`] names: how a
/// batch is checked before any of its lines is written.
#[inline]
pub fn scaled_finite<T: Real>(x: &[T], scale: T) -> Result<(), Error> {
    if x.iter().all(|&v| (v * scale).is_finite()) {
        Ok(())
    } else {
        Err(classify_nonfinite(x))
    }
}

/// The argument checks of the multiclass loss that every implementation shares, in its
/// documented order: the shape (`logits` and `grad` of `labels.len() · classes` elements),
/// the labels (`< classes`), τ, and the class targets `k` (each in `[0, batch]`, `PerClass`
/// of length `classes`). Returns `(batch · classes, fl(1/τ))`.
///
/// # Errors
/// [`Error::LengthMismatch`], [`Error::LabelOutOfRange`], [`Error::InvalidTau`],
/// [`Error::ScaleOverflow`], [`Error::InvalidK`].
pub fn multiclass_args<T: Real>(
    logits_len: usize,
    labels: &[u32],
    classes: usize,
    k: ClassK<'_>,
    tau: T,
    grad_len: Option<usize>,
) -> Result<(usize, T), Error> {
    let batch = labels.len();
    let total = shape(batch, classes)?;
    if logits_len != total || grad_len.is_some_and(|g| g != total) {
        return Err(Error::LengthMismatch);
    }
    if labels.iter().any(|&l| l as usize >= classes) {
        return Err(Error::LabelOutOfRange);
    }
    let scale = k_tau(batch, 0.0, tau)?;
    if grad_len.is_some() {
        grad_scale(scale)?;
    }
    match k {
        ClassK::LabelCounts => {}
        ClassK::Fixed(kc) => k_in_range(batch, kc)?,
        ClassK::PerClass(ks) => {
            if ks.len() != classes {
                return Err(Error::LengthMismatch);
            }
            if !ks.iter().all(|&kc| k_in_range(batch, kc).is_ok()) {
                return Err(Error::InvalidK);
            }
        }
    }
    Ok((total, scale))
}
