//! Sharded projection across processes (std build): `hs_soft_binary_argmax_sharded_*`,
//! `hs_soft_binary_argmax_vjp_sharded_*`, `hs_hypersimplex_loss_multiclass_sharded_*`. The
//! caller's sum-allreduce (MPI, torch.distributed, …) is a C callback; the work runs on the
//! calling thread (not the library's pool), so an MPI library initialised with
//! `MPI_THREAD_SINGLE` or `MPI_THREAD_FUNNELED` may be called from it.

use crate::core_err;
use crate::loss::McRegions;
use crate::ptr::{disjoint, span, Region};
use crate::status::*;
use core::ffi::c_void;
use hs_core::{Allreduce, ClassK, ColumnState, Real};

/// Sums `len` 64-bit integers element-wise across all shards (ranks), in place, e.g.
/// `MPI_Allreduce(MPI_IN_PLACE, values, len, MPI_INT64_T, MPI_SUM, comm)`. Returns 0 on
/// success; any other value makes the calling `hs_*_sharded_*` function return
/// `HS_ERR_COLLECTIVE` with its outputs untouched. `ctx` is the caller's pointer, passed
/// through unchanged (e.g. a pointer to the communicator).
#[allow(non_camel_case_types)]
pub type hs_allreduce_i64 =
    Option<unsafe extern "C" fn(values: *mut i64, len: usize, ctx: *mut c_void) -> i32>;

/// The caller's callback as the core's [`Allreduce`].
struct Callback {
    f: unsafe extern "C" fn(*mut i64, usize, *mut c_void) -> i32,
    ctx: *mut c_void,
}

impl Allreduce for Callback {
    fn sum_i64(&mut self, values: &mut [i64]) -> bool {
        // SAFETY: `values` is a live, exclusive buffer of `len` i64; the callback's contract
        // (documented in the header) is to sum them in place and return.
        unsafe { (self.f)(values.as_mut_ptr(), values.len(), self.ctx) == 0 }
    }
}

fn callback(f: hs_allreduce_i64, ctx: *mut c_void) -> Result<Callback, i32> {
    f.map(|f| Callback { f, ctx }).ok_or(HS_ERR_NULL_POINTER)
}

/// Runs a sharded body on the calling thread: `Ok` → `HS_OK`, `Err(s)` → `s`, a panic (a
/// bug) → `HS_ERR_PANIC`.
fn run_here<F: FnOnce() -> Result<(), i32>>(f: F) -> i32 {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(Ok(())) => HS_OK,
        Ok(Err(s)) => s,
        Err(_) => HS_ERR_PANIC,
    }
}

fn forward<T: Real>(
    x: *const T,
    n_local: usize,
    k: f64,
    tau: T,
    f: hs_allreduce_i64,
    ctx: *mut c_void,
    y: *mut T,
) -> Result<(), i32> {
    let mut ar = callback(f, ctx)?;
    let rx = Region::new(x, n_local)?;
    let ry = Region::new(y, n_local)?;
    disjoint(&ry, &[span(&rx)])?;
    // SAFETY: checked regions; y does not overlap x.
    let (xs, ys) = unsafe { (rx.slice(), ry.slice_mut()) };
    hs_core::soft_binary_argmax_sharded(xs, k, tau, &mut ar, ys).map_err(core_err)?;
    Ok(())
}

fn vjp<T: Real>(
    y: *const T,
    g: *const T,
    n_local: usize,
    tau: T,
    f: hs_allreduce_i64,
    ctx: *mut c_void,
    grad_x: *mut T,
) -> Result<(), i32> {
    let mut ar = callback(f, ctx)?;
    let ry = Region::new(y, n_local)?;
    let rg = Region::new(g, n_local)?;
    let ro = Region::new(grad_x, n_local)?;
    disjoint(&ro, &[span(&ry), span(&rg)])?;
    // SAFETY: checked regions; grad_x overlaps neither input.
    let (ys, gs, os) = unsafe { (ry.slice(), rg.slice(), ro.slice_mut()) };
    hs_core::soft_binary_argmax_vjp_sharded(ys, gs, tau, &mut ar, os).map_err(core_err)?;
    Ok(())
}

/// A zero-filled vector, or `HS_ERR_OUT_OF_MEMORY`.
fn zeroed<V: Clone>(len: usize, v: V) -> Result<Vec<V>, i32> {
    let mut out = Vec::new();
    out.try_reserve_exact(len)
        .map_err(|_| HS_ERR_OUT_OF_MEMORY)?;
    out.resize(len, v);
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn multiclass<T: Real>(
    logits: *const T,
    labels: *const u32,
    batch_local: usize,
    classes: usize,
    k: *const f64,
    tau: T,
    reduction: i32,
    f: hs_allreduce_i64,
    ctx: *mut c_void,
    loss: *mut T,
    grad_logits: *mut T,
) -> Result<(), i32> {
    let mut ar = callback(f, ctx)?;
    let regions = McRegions::new(logits, labels, batch_local, classes, k, loss, grad_logits)?;
    regions.outputs_disjoint()?;
    let McRegions {
        rx,
        rlab,
        rk,
        rl,
        rg,
    } = regions;
    // Like a pointer error, an unknown reduction code is refused at once on the rank that has
    // it (two valid codes that differ between ranks are caught by the check: HS_ERR_COLLECTIVE).
    let red = crate::loss::reduction(reduction)?;
    let mut states = zeroed(classes, ColumnState::<T>::default())?;
    let mut buf = zeroed(hs_core::multiclass_buf_len(classes), 0i64)?;
    // SAFETY: every output region is disjoint from every other region (checked above).
    let (xs, ls) = unsafe { (rx.slice(), rlab.slice()) };
    let ck = match rk {
        None => ClassK::LabelCounts,
        // SAFETY: k is an input; no output overlaps it (checked above).
        Some(r) => ClassK::PerClass(unsafe { r.slice() }),
    };
    // SAFETY: grad_logits is disjoint from every input and from loss (checked above).
    let gs = rg.map(|r| unsafe { r.slice_mut() });
    let (value, _) = hs_core::hypersimplex_loss_multiclass_sharded(
        xs,
        ls,
        classes,
        ck,
        tau,
        red,
        gs,
        &mut ar,
        &mut states,
        &mut buf,
    )
    .map_err(core_err)?;
    // SAFETY: `loss` is a checked, non-NULL, aligned element disjoint from every slice.
    unsafe { rl.write_first(value) };
    Ok(())
}

/// Sharded Soft-Binary-Argmax@k (single precision): the global vector is the concatenation of
/// every rank's `x` (`n_local` elements here, possibly 0); `k` is the global k (`0 <= k <=
/// Σ n_local`); `y` gets this rank's part of `Π_Δ(n,k)(x/τ)`. Every rank of the group must
/// call it together, with the same `k` and `tau`.
///
/// * `allreduce(values, len, ctx)`: the caller's int64 sum-allreduce (see
///   `hs_allreduce_i64`), called on this thread. A call makes at most 1 + 40 + 32 + 2 (f32) or
///   1 + 40 + 64 + 2 (f64) allreduce calls, each of 6 to 27 values; ordinary data 4 to 12.
/// * The partial sums are exact integers (each term put on the fixed-point grid `2^-60` by
///   itself; `2^-90` in double precision), so every rank computes the same λ bit for bit
///   whatever order the engine adds in, and the result is bitwise the same for any number of
///   ranks and any split of the vector.
/// * Value errors (`HS_ERR_INVALID_TAU`, `HS_ERR_INVALID_K`, `HS_ERR_NON_FINITE_INPUT`,
///   `HS_ERR_SCALE_OVERFLOW`) found on any rank are agreed on: every rank returns the same
///   status. `HS_ERR_COLLECTIVE`: the callback failed (non-zero) or the ranks' `k` or `tau`
///   differ. A callback that fails on one rank only is the engine's failure and may hang the
///   others, as MPI itself would. Pointer errors (NULL, misaligned, overlap; no alias is
///   allowed, not even `y == x`) are returned at once on the rank that has them, before any
///   allreduce. On error `y` is unchanged.
///
/// # Safety
/// `x`, `y` point to `n_local` valid elements each (or NULL with `n_local == 0`); `allreduce`
/// is a valid function that follows its contract.
#[no_mangle]
pub unsafe extern "C" fn hs_soft_binary_argmax_sharded_f32(
    x: *const f32,
    n_local: usize,
    k: f64,
    tau: f32,
    allreduce: hs_allreduce_i64,
    ctx: *mut c_void,
    y: *mut f32,
) -> i32 {
    run_here(|| forward(x, n_local, k, tau, allreduce, ctx, y))
}

/// Sharded Soft-Binary-Argmax@k in double precision: as `hs_soft_binary_argmax_sharded_f32`
/// with `double` x, y and tau.
///
/// # Safety
/// As `hs_soft_binary_argmax_sharded_f32`.
#[no_mangle]
pub unsafe extern "C" fn hs_soft_binary_argmax_sharded_f64(
    x: *const f64,
    n_local: usize,
    k: f64,
    tau: f64,
    allreduce: hs_allreduce_i64,
    ctx: *mut c_void,
    y: *mut f64,
) -> i32 {
    run_here(|| forward(x, n_local, k, tau, allreduce, ctx, y))
}

/// Sharded vector-Jacobian product (single precision): `y`, `g` are this rank's parts of the
/// global forward output and upstream gradient; `grad_x` gets this rank's part of `Jᵀg`
/// (`(g_i − mean_A g)/τ` on the global free set A). Two allreduce calls (the check with the
/// binade of `max|g|`, then `|A|` and `Σ_A g` as exact integers, each `g_i` put on the
/// fixed-point grid by itself: the result is bitwise the same for any number of ranks and any
/// split of the vector). Errors as
/// `hs_soft_binary_argmax_sharded_f32` (agreed across ranks), and `HS_ERR_SCALE_OVERFLOW` as
/// soon as `2·max|g|/τ` could overflow. No alias allowed. On error `grad_x` is unchanged.
///
/// # Safety
/// `y`, `g`, `grad_x` point to `n_local` valid elements each (or NULL with `n_local == 0`);
/// `allreduce` is a valid function that follows its contract.
#[no_mangle]
pub unsafe extern "C" fn hs_soft_binary_argmax_vjp_sharded_f32(
    y: *const f32,
    g: *const f32,
    n_local: usize,
    tau: f32,
    allreduce: hs_allreduce_i64,
    ctx: *mut c_void,
    grad_x: *mut f32,
) -> i32 {
    run_here(|| vjp(y, g, n_local, tau, allreduce, ctx, grad_x))
}

/// Sharded VJP in double precision: as `hs_soft_binary_argmax_vjp_sharded_f32` with `double`.
///
/// # Safety
/// As `hs_soft_binary_argmax_vjp_sharded_f32`.
#[no_mangle]
pub unsafe extern "C" fn hs_soft_binary_argmax_vjp_sharded_f64(
    y: *const f64,
    g: *const f64,
    n_local: usize,
    tau: f64,
    allreduce: hs_allreduce_i64,
    ctx: *mut c_void,
    grad_x: *mut f64,
) -> i32 {
    run_here(|| vjp(y, g, n_local, tau, allreduce, ctx, grad_x))
}

/// Sharded multiclass HyperSimplex loss (single precision): `logits` (`batch_local × classes`,
/// row-major) and `labels` are this rank's rows of the global batch (the concatenation in rank
/// order); `k` is NULL (k_c = the global label counts) or `classes` global targets; `*loss` is
/// the global loss (`HS_REDUCTION_MEAN` divides by the global batch × classes), the same bits
/// on every rank; `grad_logits` (or NULL) gets this rank's rows of the global gradient.
///
/// All classes share one allreduce per solver iteration (`6·classes` values), plus the check
/// (`26 + 2·classes` values) and the final sums (`9·classes` values): at most 1 + 40 + 32 + 2 + 1
/// calls (f32) or 1 + 40 + 64 + 2 + 1 (f64), ordinary data 6 to 12. Every rank must pass the same
/// `classes`, `tau`, `reduction` and `k` (else `HS_ERR_COLLECTIVE` everywhere); a bad label or
/// non-finite logit on any rank gives every rank the same status. Errors otherwise as
/// `hs_hypersimplex_loss_multiclass_f32`, and `HS_ERR_COLLECTIVE`; the pointer errors,
/// `HS_ERR_INVALID_REDUCTION` (an unknown code) and `HS_ERR_OUT_OF_MEMORY` (a few words per
/// class) are returned at once on the rank that has them, before any allreduce. On error `*loss` and `grad_logits`
/// are unchanged.
///
/// # Safety
/// `logits` (and `grad_logits` unless NULL) point to `batch_local*classes` valid elements,
/// `labels` to `batch_local`, `k` (unless NULL) to `classes`, `loss` to one; `allreduce` is a
/// valid function that follows its contract.
#[no_mangle]
pub unsafe extern "C" fn hs_hypersimplex_loss_multiclass_sharded_f32(
    logits: *const f32,
    labels: *const u32,
    batch_local: usize,
    classes: usize,
    k: *const f64,
    tau: f32,
    reduction: i32,
    allreduce: hs_allreduce_i64,
    ctx: *mut c_void,
    loss: *mut f32,
    grad_logits: *mut f32,
) -> i32 {
    run_here(|| {
        multiclass(
            logits,
            labels,
            batch_local,
            classes,
            k,
            tau,
            reduction,
            allreduce,
            ctx,
            loss,
            grad_logits,
        )
    })
}

/// Sharded multiclass loss in double precision: as
/// `hs_hypersimplex_loss_multiclass_sharded_f32` with `double` logits, tau, loss and gradient.
///
/// # Safety
/// As `hs_hypersimplex_loss_multiclass_sharded_f32`.
#[no_mangle]
pub unsafe extern "C" fn hs_hypersimplex_loss_multiclass_sharded_f64(
    logits: *const f64,
    labels: *const u32,
    batch_local: usize,
    classes: usize,
    k: *const f64,
    tau: f64,
    reduction: i32,
    allreduce: hs_allreduce_i64,
    ctx: *mut c_void,
    loss: *mut f64,
    grad_logits: *mut f64,
) -> i32 {
    run_here(|| {
        multiclass(
            logits,
            labels,
            batch_local,
            classes,
            k,
            tau,
            reduction,
            allreduce,
            ctx,
            loss,
            grad_logits,
        )
    })
}
