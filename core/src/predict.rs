//! Prediction that matches the multiclass HyperSimplex loss.
//!
//! In training, class column c is thresholded at its own λ_c:
//! `p_bc = clip(x_bc/τ − λ_c, 0, 1)`. The columns are projected independently, so the loss is
//! invariant to adding a constant to a column and `argmax_c x_bc` compares uncalibrated
//! scores. The projection says how to compare them: by `x_bc/τ − λ_c`, with λ_c estimated
//! from training batches (e.g. a running mean of the λ that
//! [`hypersimplex_loss_multiclass_lambda`](crate::hypersimplex_loss_multiclass_lambda)
//! reports, as batch normalization keeps running statistics).

use crate::error::Error;
use crate::real::{Real, SolverFloat};
use crate::validate;

/// Calibrated prediction: `pred[b] = argmax_c (X[b,c]/τ − λ_c)` over row-major `logits`
/// (`batch × classes`, `batch = pred.len()`), ties to the lower class. `X[b,c]/τ` is computed
/// as the projection computes it, `fl(X[b,c]·fl(1/τ))`, and the difference in the solver's
/// arithmetic (`f64`, or `f32` on 32-bit Arm).
///
/// # Errors
/// [`Error::LengthMismatch`] unless `logits.len() == batch·classes` and
/// `lambda.len() == classes`, or if `classes == 0` while `batch > 0` (nothing to predict);
/// [`Error::InvalidTau`]; [`Error::ScaleOverflow`] (`1/τ`, or some `X[b,c]/τ`, overflows);
/// [`Error::NonFiniteInput`] (NaN or ±∞ in `logits`, NaN in `lambda`). On error `pred` is not
/// modified.
///
/// # Example
/// ```
/// use hypersimplex::calibrated_argmax;
/// // column 1 is shifted up by 2 in training; its threshold says so
/// let logits = [1.0f32, 2.5, 0.2, 3.1];
/// let lambda = [0.0, 2.0];
/// let mut pred = [9u32; 2];
/// calibrated_argmax(&logits, 2, &lambda, 1.0, &mut pred).unwrap();
/// assert_eq!(pred, [0, 1]); // 1.0 > 0.5, but 0.2 < 1.1
/// ```
pub fn calibrated_argmax<T: Real>(
    logits: &[T],
    classes: usize,
    lambda: &[f64],
    tau: T,
    pred: &mut [u32],
) -> Result<(), Error> {
    let batch = pred.len();
    let total = validate::shape(batch, classes)?;
    if logits.len() != total || lambda.len() != classes || (classes == 0 && batch > 0) {
        return Err(Error::LengthMismatch);
    }
    let scale = validate::tau_scale(tau)?;
    if lambda.iter().any(|l| l.is_nan()) {
        return Err(Error::NonFiniteInput);
    }
    validate::scaled_finite(logits, scale)?;
    // `split_at_checked` rather than `chunks_exact`: no panic path (the firmware's link-time
    // no-panic proof).
    let mut rest = logits;
    for p in pred.iter_mut() {
        let Some((row, tail)) = rest.split_at_checked(classes) else {
            break;
        };
        rest = tail;
        let mut best = (0u32, T::Solver::ZERO);
        for (c, (&x, &l)) in row.iter().zip(lambda).enumerate() {
            let score = (x * scale).to_solver() - T::Solver::from_f64(l);
            if c == 0 || score > best.1 {
                best = (c as u32, score);
            }
        }
        *p = best.0;
    }
    Ok(())
}
