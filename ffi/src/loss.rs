//! The HyperSimplex losses: binary `hs_hypersimplex_loss_*`, multiclass
//! `hs_hypersimplex_loss_multiclass_*` (allocating its scratch, std only) and
//! `hs_hypersimplex_loss_multiclass_scratch_*` (caller scratch), and `hs_multiclass_scratch_len`.

use crate::backend;
use crate::ptr::{disjoint, span, Region};
use crate::status::*;
use crate::Work::{Solve, Vector};
use crate::{core_err, run};
use hs_core::{ClassK, Reduction};

/// The checked buffers of a binary loss call: `x`, `target`, `loss`, and `grad_x` unless NULL
/// (each pointer on its own, in argument order, then no output overlapping an input or the
/// other output). `L` is the loss's type (the element type, or `f32` for half storage).
#[allow(clippy::type_complexity)]
pub(crate) fn loss_regions<T, L>(
    x: *const T,
    target: *const T,
    n: usize,
    loss: *mut L,
    grad_x: *mut T,
) -> Result<(Region<T>, Region<T>, Region<L>, Option<Region<T>>), i32> {
    let rx = Region::new(x, n)?;
    let rt = Region::new(target, n)?;
    let rl = Region::one(loss)?;
    let rg = if grad_x.is_null() {
        None
    } else {
        Some(Region::new(grad_x, n)?)
    };
    disjoint(&rl, &[span(&rx), span(&rt)])?;
    if let Some(rg) = &rg {
        disjoint(rg, &[span(&rx), span(&rt), span(&rl)])?;
    }
    Ok((rx, rt, rl, rg))
}

#[inline]
fn loss<T: backend::Elem>(
    x: *const T,
    target: *const T,
    n: usize,
    k: f64,
    tau: T,
    loss: *mut T,
    grad_x: *mut T,
) -> Result<(), i32> {
    let (rx, rt, rl, rg) = loss_regions(x, target, n, loss, grad_x)?;
    // SAFETY: the outputs overlap neither the inputs nor each other.
    let (xs, ts) = unsafe { (rx.slice(), rt.slice()) };
    // SAFETY: grad_x is disjoint from x, target and loss (checked above).
    let gs = rg.map(|r| unsafe { r.slice_mut() });
    let value = backend::loss(xs, ts, k, tau, gs).map_err(core_err)?;
    // SAFETY: `loss` is a checked, non-NULL, aligned element disjoint from every slice.
    unsafe { rl.write_first(value) };
    Ok(())
}

/// The checked buffers of a multiclass call (the unsharded, the sharded and the half one):
/// logits and gradient of type `T`, the loss of type `L` (`T`, or `f32` for half storage).
pub(crate) struct McRegions<T, L = T> {
    pub rx: Region<T>,
    pub rlab: Region<u32>,
    pub rk: Option<Region<f64>>,
    pub rl: Region<L>,
    pub rg: Option<Region<T>>,
}

impl<T, L> McRegions<T, L> {
    /// Checks each pointer on its own (NULL, alignment, size), in argument order.
    pub(crate) fn new(
        logits: *const T,
        labels: *const u32,
        batch: usize,
        classes: usize,
        k: *const f64,
        loss: *mut L,
        grad_logits: *mut T,
    ) -> Result<Self, i32> {
        Ok(McRegions {
            rx: Region::new2(logits, batch, classes)?,
            rlab: Region::new(labels, batch)?,
            rk: if k.is_null() {
                None
            } else {
                Some(Region::new(k, classes)?)
            },
            rl: Region::one(loss)?,
            rg: if grad_logits.is_null() {
                None
            } else {
                Some(Region::new2(grad_logits, batch, classes)?)
            },
        })
    }

    /// Checks that `loss` and the gradient overlap no input and each other; returns the
    /// inputs' byte ranges (for the caller's further outputs).
    pub(crate) fn outputs_disjoint(&self) -> Result<[(usize, usize); 3], i32> {
        let empty = (0usize, 0usize);
        let inputs = [
            span(&self.rx),
            span(&self.rlab),
            self.rk.as_ref().map_or(empty, span),
        ];
        disjoint(&self.rl, &inputs)?;
        if let Some(rg) = &self.rg {
            disjoint(rg, &inputs)?;
            disjoint(rg, &[span(&self.rl)])?;
        }
        Ok(inputs)
    }

    /// The `classes` thresholds of a `_lambda_` call (`None` for the other calls), checked
    /// against the inputs (`inputs`, from [`McRegions::outputs_disjoint`]), `loss` and the
    /// gradient.
    pub(crate) fn lambda(
        &self,
        inputs: &[(usize, usize)],
        lambda: Option<*mut f64>,
        classes: usize,
    ) -> Result<Option<Region<f64>>, i32> {
        let Some(p) = lambda else {
            return Ok(None);
        };
        let r = Region::new(p, classes)?;
        disjoint(&r, inputs)?;
        let empty = (0usize, 0usize);
        disjoint(&r, &[span(&self.rl), self.rg.as_ref().map_or(empty, span)])?;
        Ok(Some(r))
    }
}

/// The C reduction code (`HS_REDUCTION_SUM`, `HS_REDUCTION_MEAN`) as a [`Reduction`];
/// `HS_ERR_INVALID_REDUCTION` for any other value.
pub(crate) fn reduction(code: i32) -> Result<Reduction, i32> {
    match code {
        HS_REDUCTION_SUM => Ok(Reduction::Sum),
        HS_REDUCTION_MEAN => Ok(Reduction::Mean),
        _ => Err(HS_ERR_INVALID_REDUCTION),
    }
}

/// Where the multiclass scratch comes from.
enum Scratch<T> {
    /// The caller's buffer (`scratch`, `scratch_len` elements).
    Caller(*mut T, usize),
    /// None: the SIMD crate allocates what it needs (std only).
    #[cfg(feature = "std")]
    Alloc,
}

#[allow(clippy::too_many_arguments)]
#[inline]
fn multiclass<T: backend::Elem>(
    logits: *const T,
    labels: *const u32,
    batch: usize,
    classes: usize,
    k: *const f64,
    tau: T,
    reduction: i32,
    loss: *mut T,
    grad_logits: *mut T,
    scratch: Scratch<T>,
    lambda: Option<*mut f64>,
) -> Result<(), i32> {
    let regions = McRegions::new(logits, labels, batch, classes, k, loss, grad_logits)?;
    let rs = match scratch {
        Scratch::Caller(p, len) => Some(Region::new(p, len)?),
        #[cfg(feature = "std")]
        Scratch::Alloc => None,
    };
    let inputs = regions.outputs_disjoint()?;
    if let Some(rs) = &rs {
        disjoint(rs, &inputs)?;
        let empty = (0usize, 0usize);
        disjoint(
            rs,
            &[span(&regions.rl), regions.rg.as_ref().map_or(empty, span)],
        )?;
    }
    let rlam = regions.lambda(&inputs, lambda, classes)?;
    let reduction = self::reduction(reduction)?;
    let McRegions {
        rx,
        rlab,
        rk,
        rl,
        rg,
    } = regions;
    // SAFETY: every output region is disjoint from every other region (checked above).
    let (xs, ls) = unsafe { (rx.slice(), rlab.slice()) };
    let ck = match rk {
        None => ClassK::LabelCounts,
        // SAFETY: k is an input; no output overlaps it (checked above).
        Some(r) => ClassK::PerClass(unsafe { r.slice() }),
    };
    // SAFETY: grad_logits is disjoint from every input, loss and scratch (checked above).
    let gs = rg.map(|r| unsafe { r.slice_mut() });
    let value = match rs {
        Some(r) => {
            // SAFETY: scratch is disjoint from every other argument (checked above).
            let ss = unsafe { r.slice_mut() };
            backend::loss_multiclass_scratch(xs, ls, classes, ck, tau, reduction, gs, ss)
        }
        None => {
            #[cfg(feature = "std")]
            {
                // SAFETY: lambda is disjoint from every other argument (checked above).
                let lam = rlam.map(|r| unsafe { r.slice_mut() });
                backend::loss_multiclass_alloc(xs, ls, classes, ck, tau, reduction, gs, lam)
            }
            #[cfg(not(feature = "std"))]
            {
                let _ = rlam;
                return Err(HS_ERR_NULL_POINTER);
            }
        }
    }
    .map_err(core_err)?;
    // SAFETY: `loss` is a checked, non-NULL, aligned element disjoint from every slice.
    unsafe { rl.write_first(value) };
    Ok(())
}

/// Binary HyperSimplex loss (single precision):
/// `*loss = ½ ‖Π_Δ(n,k)(x/τ) − target‖²` and, when `grad_x` is not NULL, its gradient
/// `grad_x = Jᵀ(ŷ − target)`, i.e. `(r[i] − mean_{j∈A} r[j]) / τ` on the free set A of
/// `ŷ = Π_Δ(n,k)(x/τ)`, 0 elsewhere, with `r = ŷ − target`.
///
/// * `x`: n logits, `±INFINITY` as masks as in `hs_soft_binary_argmax_f32` (ŷ = 1 or 0
///   there, gradient 0); `target`: n labels in [0, 1] (0/1 or soft); `k`: usually the number of
///   positives, Σ target, in `[0, n]`; `tau` > 0.
/// * `loss`: one float, never NULL. `grad_x`: n floats, or NULL to skip the gradient.
/// * NULL: `x`, `target`, `grad_x` (when given) may be NULL only when `n == 0`.
/// * Aliasing: no output may overlap an input or the other output (`HS_ERR_OVERLAP`).
///
/// Errors: `HS_ERR_INVALID_TARGET`, `HS_ERR_INVALID_TAU`, `HS_ERR_INVALID_K`,
/// `HS_ERR_NON_FINITE_INPUT`, `HS_ERR_SCALE_OVERFLOW`, pointer errors. On error `*loss` and
/// `grad_x` are unchanged.
///
/// # Safety
/// `x`, `target` (and `grad_x` unless NULL) point to `n` valid elements; `loss` to one.
#[no_mangle]
pub unsafe extern "C" fn hs_hypersimplex_loss_f32(
    x: *const f32,
    target: *const f32,
    n: usize,
    k: f64,
    tau: f32,
    loss: *mut f32,
    grad_x: *mut f32,
) -> i32 {
    run(Vector, n, || self::loss(x, target, n, k, tau, loss, grad_x))
}

/// Binary HyperSimplex loss in double precision: as `hs_hypersimplex_loss_f32` with `double`.
///
/// # Safety
/// `x`, `target` (and `grad_x` unless NULL) point to `n` valid elements; `loss` to one.
#[no_mangle]
pub unsafe extern "C" fn hs_hypersimplex_loss_f64(
    x: *const f64,
    target: *const f64,
    n: usize,
    k: f64,
    tau: f64,
    loss: *mut f64,
    grad_x: *mut f64,
) -> i32 {
    run(Vector, n, || self::loss(x, target, n, k, tau, loss, grad_x))
}

/// Multiclass HyperSimplex loss (single precision; std build only, since it allocates; the
/// `_scratch_` variants use only the caller's memory).
///
/// Memory: a transposed copy of the logits (`batch·classes` floats), 24 bytes per class, with
/// `grad_logits` two buffers of about 1024 floats and one more per worker thread, and, for
/// `batch >= 32768`, a working set of about `batch/4` floats and a sample of a few thousand per
/// column being solved (one column per thread). The copy and the per-class results are required: if they cannot be
/// allocated the call returns `HS_ERR_OUT_OF_MEMORY` with the outputs untouched; the other
/// buffers are optional (without them the same values are computed more slowly).
///
/// Logits `X` (row-major `batch × classes`), labels `l[b]` in `[0, classes)`, one-hot targets
/// `Y`. Each class column is projected down the batch: `p_c = Π_Δ(batch,k_c)(X[:,c]/τ)`, and
/// `*loss = ½ Σ_c ‖p_c − Y[:,c]‖²` (`reduction == HS_REDUCTION_SUM`) or
/// `Σ_c ‖p_c − Y[:,c]‖² / (batch·classes)` (`HS_REDUCTION_MEAN`). When `grad_logits` is not
/// NULL it receives `∂loss/∂X` (same shape as the logits).
///
/// * `k`: `classes` doubles, `k_c` in `[0, batch]` (e.g. `batch * prior_c`), or NULL for the
///   number of samples labelled c in this batch (the paper's choice).
/// * NULL: `logits`, `grad_logits` (when given) may be NULL only when `batch*classes == 0`,
///   `labels` only when `batch == 0`; `loss` never.
/// * Aliasing: no output may overlap an input or the other output (`HS_ERR_OVERLAP`).
///
/// Errors: `HS_ERR_LENGTH_MISMATCH` (`batch*classes` overflows), `HS_ERR_INVALID_REDUCTION`,
/// `HS_ERR_LABEL_OUT_OF_RANGE`, `HS_ERR_INVALID_TAU`, `HS_ERR_INVALID_K`,
/// `HS_ERR_NON_FINITE_INPUT` (NaN; ±inf logits are masks per class column, as in
/// `hs_soft_binary_argmax_f32`, and k_c must hold them), `HS_ERR_SCALE_OVERFLOW`,
/// `HS_ERR_OUT_OF_MEMORY`, pointer errors. On error `*loss` and `grad_logits` are unchanged.
///
/// # Safety
/// Each non-NULL pointer points to as many valid elements as stated above.
#[cfg(feature = "std")]
#[no_mangle]
pub unsafe extern "C" fn hs_hypersimplex_loss_multiclass_f32(
    logits: *const f32,
    labels: *const u32,
    batch: usize,
    classes: usize,
    k: *const f64,
    tau: f32,
    reduction: i32,
    loss: *mut f32,
    grad_logits: *mut f32,
) -> i32 {
    run(Solve, batch.saturating_mul(classes), || {
        multiclass(
            logits,
            labels,
            batch,
            classes,
            k,
            tau,
            reduction,
            loss,
            grad_logits,
            Scratch::Alloc,
            None,
        )
    })
}

/// Multiclass HyperSimplex loss in double precision (std build only): as
/// `hs_hypersimplex_loss_multiclass_f32` with `double` logits, tau, loss and gradient.
///
/// # Safety
/// Each non-NULL pointer points to as many valid elements as stated for the f32 version.
#[cfg(feature = "std")]
#[no_mangle]
pub unsafe extern "C" fn hs_hypersimplex_loss_multiclass_f64(
    logits: *const f64,
    labels: *const u32,
    batch: usize,
    classes: usize,
    k: *const f64,
    tau: f64,
    reduction: i32,
    loss: *mut f64,
    grad_logits: *mut f64,
) -> i32 {
    run(Solve, batch.saturating_mul(classes), || {
        multiclass(
            logits,
            labels,
            batch,
            classes,
            k,
            tau,
            reduction,
            loss,
            grad_logits,
            Scratch::Alloc,
            None,
        )
    })
}

/// Multiclass HyperSimplex loss that also reports each class column's threshold (single
/// precision; std build only): as `hs_hypersimplex_loss_multiclass_f32`, and `lambda`
/// receives `classes` doubles, `lambda[c] = λ_c` with the projected column
/// `p[b][c] = clip(X[b][c]/τ − λ_c, 0, 1)` (no extra pass over the data). For `k_c = 0` it is
/// `max_b X[b][c]/τ`, for `k_c = batch` it is `min_b X[b][c]/τ − 1`; with `batch == 0`, 0.
/// Keep a running mean of λ over training batches and predict with `hs_calibrated_argmax_f32`.
///
/// * NULL: `lambda` only when `classes == 0`. It must not overlap any other argument.
///
/// Errors: as `hs_hypersimplex_loss_multiclass_f32`. On error `*loss`, `grad_logits` and
/// `lambda` are unchanged.
///
/// # Safety
/// Each non-NULL pointer points to as many valid elements as stated above.
#[cfg(feature = "std")]
#[no_mangle]
pub unsafe extern "C" fn hs_hypersimplex_loss_multiclass_lambda_f32(
    logits: *const f32,
    labels: *const u32,
    batch: usize,
    classes: usize,
    k: *const f64,
    tau: f32,
    reduction: i32,
    loss: *mut f32,
    grad_logits: *mut f32,
    lambda: *mut f64,
) -> i32 {
    run(Solve, batch.saturating_mul(classes), || {
        multiclass(
            logits,
            labels,
            batch,
            classes,
            k,
            tau,
            reduction,
            loss,
            grad_logits,
            Scratch::Alloc,
            Some(lambda),
        )
    })
}

/// `hs_hypersimplex_loss_multiclass_lambda_f32` in double precision (std build only).
///
/// # Safety
/// Each non-NULL pointer points to as many valid elements as stated for the f32 version.
#[cfg(feature = "std")]
#[no_mangle]
pub unsafe extern "C" fn hs_hypersimplex_loss_multiclass_lambda_f64(
    logits: *const f64,
    labels: *const u32,
    batch: usize,
    classes: usize,
    k: *const f64,
    tau: f64,
    reduction: i32,
    loss: *mut f64,
    grad_logits: *mut f64,
    lambda: *mut f64,
) -> i32 {
    run(Solve, batch.saturating_mul(classes), || {
        multiclass(
            logits,
            labels,
            batch,
            classes,
            k,
            tau,
            reduction,
            loss,
            grad_logits,
            Scratch::Alloc,
            Some(lambda),
        )
    })
}

/// Multiclass HyperSimplex loss with caller-provided scratch (single precision; available in
/// every build, including no_std): as `hs_hypersimplex_loss_multiclass_f32`, with `scratch`
/// pointing to `scratch_len` floats, at least `hs_multiclass_scratch_len(batch, classes)`.
/// The scratch contents on return are unspecified; it must not overlap any other argument.
///
/// Errors: as `hs_hypersimplex_loss_multiclass_f32` (no `HS_ERR_OUT_OF_MEMORY`), plus
/// `HS_ERR_SCRATCH_TOO_SMALL`. `scratch` may be NULL only when `scratch_len == 0`.
///
/// # Safety
/// Each non-NULL pointer points to as many valid elements as stated.
#[no_mangle]
pub unsafe extern "C" fn hs_hypersimplex_loss_multiclass_scratch_f32(
    logits: *const f32,
    labels: *const u32,
    batch: usize,
    classes: usize,
    k: *const f64,
    tau: f32,
    reduction: i32,
    loss: *mut f32,
    grad_logits: *mut f32,
    scratch: *mut f32,
    scratch_len: usize,
) -> i32 {
    run(Solve, batch.saturating_mul(classes), || {
        multiclass(
            logits,
            labels,
            batch,
            classes,
            k,
            tau,
            reduction,
            loss,
            grad_logits,
            Scratch::Caller(scratch, scratch_len),
            None,
        )
    })
}

/// Multiclass HyperSimplex loss with caller scratch in double precision: as
/// `hs_hypersimplex_loss_multiclass_scratch_f32` with `double` (scratch in doubles).
///
/// # Safety
/// Each non-NULL pointer points to as many valid elements as stated.
#[no_mangle]
pub unsafe extern "C" fn hs_hypersimplex_loss_multiclass_scratch_f64(
    logits: *const f64,
    labels: *const u32,
    batch: usize,
    classes: usize,
    k: *const f64,
    tau: f64,
    reduction: i32,
    loss: *mut f64,
    grad_logits: *mut f64,
    scratch: *mut f64,
    scratch_len: usize,
) -> i32 {
    run(Solve, batch.saturating_mul(classes), || {
        multiclass(
            logits,
            labels,
            batch,
            classes,
            k,
            tau,
            reduction,
            loss,
            grad_logits,
            Scratch::Caller(scratch, scratch_len),
            None,
        )
    })
}

/// The scratch length, in elements of the logits' type, that
/// `hs_hypersimplex_loss_multiclass_scratch_f32/_f64` need for a `batch × classes` problem
/// (currently `batch`).
#[no_mangle]
pub extern "C" fn hs_multiclass_scratch_len(batch: usize, classes: usize) -> usize {
    backend::multiclass_scratch_len(batch, classes)
}
