//! Calibrated prediction: `hs_calibrated_argmax_*`.

use crate::ptr::{disjoint, span, Region};
use crate::Work::Serial;
use crate::{core_err, run};

#[inline]
fn calibrated<T: hs_core::Real>(
    logits: *const T,
    batch: usize,
    classes: usize,
    lambda: *const f64,
    tau: T,
    pred: *mut u32,
) -> Result<(), i32> {
    let rx = Region::new2(logits, batch, classes)?;
    let rl = Region::new(lambda, classes)?;
    let rp = Region::new(pred, batch)?;
    disjoint(&rp, &[span(&rx), span(&rl)])?;
    // SAFETY: `pred` overlaps neither input (checked above).
    let (xs, ls, ps) = unsafe { (rx.slice(), rl.slice(), rp.slice_mut()) };
    hs_core::calibrated_argmax(xs, classes, ls, tau, ps).map_err(core_err)
}

/// Calibrated prediction for the multiclass HyperSimplex loss (single precision):
/// `pred[b] = argmax_c (logits[b][c]/τ − lambda[c])`, ties to the lower class, over row-major
/// `batch × classes` logits. `lambda` holds `classes` thresholds, typically running means of
/// the λ that `hs_hypersimplex_loss_multiclass_lambda_f32` reports in training (the columns are
/// projected independently, so raw `argmax_c logits[b][c]` compares uncalibrated scores).
/// Use the training temperature τ. No allocation; available in every build.
///
/// * NULL: `logits` only when `batch*classes == 0`, `lambda` only when `classes == 0`,
///   `pred` only when `batch == 0`. `pred` must not overlap the inputs.
///
/// Errors: `HS_ERR_LENGTH_MISMATCH` (`batch*classes` overflows, or `classes == 0` with
/// `batch > 0`), `HS_ERR_INVALID_TAU`, `HS_ERR_SCALE_OVERFLOW` (`1/τ` or some `logits/τ`),
/// `HS_ERR_NON_FINITE_INPUT` (NaN/inf in logits, NaN in lambda), pointer errors. On error
/// `pred` is unchanged.
///
/// # Safety
/// Each non-NULL pointer points to as many valid elements as stated above.
#[no_mangle]
pub unsafe extern "C" fn hs_calibrated_argmax_f32(
    logits: *const f32,
    batch: usize,
    classes: usize,
    lambda: *const f64,
    tau: f32,
    pred: *mut u32,
) -> i32 {
    run(Serial, batch.saturating_mul(classes), || {
        calibrated(logits, batch, classes, lambda, tau, pred)
    })
}

/// `hs_calibrated_argmax_f32` in double precision.
///
/// # Safety
/// Each non-NULL pointer points to as many valid elements as stated for the f32 version.
#[no_mangle]
pub unsafe extern "C" fn hs_calibrated_argmax_f64(
    logits: *const f64,
    batch: usize,
    classes: usize,
    lambda: *const f64,
    tau: f64,
    pred: *mut u32,
) -> i32 {
    run(Serial, batch.saturating_mul(classes), || {
        calibrated(logits, batch, classes, lambda, tau, pred)
    })
}
