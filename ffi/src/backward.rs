//! Backward: the vector-Jacobian products `hs_soft_binary_argmax_vjp_*` and
//! `hs_soft_binary_argmax_vjp_rows_*`.

use crate::backend;
use crate::ptr::{disjoint, span, Region};
use crate::Work::{Pass, Vector};
use crate::{core_err, run};
use hs_core::internal::{validate, vjp_mean_checked};

#[inline]
fn vjp<T: backend::Elem>(
    y: *const T,
    g: *const T,
    n: usize,
    tau: T,
    grad_x: *mut T,
) -> Result<(), i32> {
    let ry = Region::new(y, n)?;
    let rg = Region::new(g, n)?;
    let ro = Region::new(grad_x, n)?;
    disjoint(&ro, &[span(&ry)])?;
    if ro.same(&rg) {
        // SAFETY: grad_x == g is one buffer; y does not overlap it.
        let (ys, gs) = unsafe { (ry.slice(), ro.slice_mut()) };
        return backend::vjp_in_place(ys, gs, tau).map_err(core_err);
    }
    disjoint(&ro, &[span(&rg)])?;
    // SAFETY: grad_x overlaps neither input.
    let (ys, gs, os) = unsafe { (ry.slice(), rg.slice(), ro.slice_mut()) };
    backend::vjp(ys, gs, tau, os).map_err(core_err)
}

#[inline]
fn vjp_rows<T: backend::Elem>(
    y: *const T,
    g: *const T,
    rows: usize,
    n: usize,
    tau: T,
    grad_x: *mut T,
) -> Result<(), i32> {
    let ry = Region::new2(y, rows, n)?;
    let rg = Region::new2(g, rows, n)?;
    let ro = Region::new2(grad_x, rows, n)?;
    disjoint(&ro, &[span(&ry)])?;
    let in_place = ro.same(&rg);
    if !in_place {
        disjoint(&ro, &[span(&rg)])?;
    }
    let scale = validate::tau_scale(tau).map_err(core_err)?;
    if n == 0 {
        return Ok(());
    }
    // Every row's checks (NaN/±∞, an overflowing entry) before any row is written, so that the
    // row loops below never fail half way.
    // SAFETY: checked regions; these shared slices end before grad_x is borrowed mutably.
    let (mut ys, mut gs) = unsafe { (ry.slice(), rg.slice()) };
    // The std build's out-of-place batch (`hypersimplex_simd::soft_binary_argmax_vjp_rows`)
    // computes every row's free-set mean, with the same checks and errors, before it writes
    // any row: checking here too would double the cost of short rows (issue 14).
    if cfg!(feature = "std") && !in_place {
        (ys, gs) = (&[], &[]);
    }
    // `split_at_checked`: no panic path (the firmware's link-time no-panic proof).
    hs_core::internal::rows::pairs(ys, gs, n, |yr, gr| vjp_mean_checked(yr, gr, scale))
        .map_err(core_err)?;
    // SAFETY: grad_x does not overlap y (checked above).
    let ys = unsafe { ry.slice() };
    if in_place {
        // SAFETY: grad_x is g itself; no other slice of that buffer exists.
        let gs = unsafe { ro.slice_mut() };
        backend::vjp_rows_in_place(ys, gs, n, tau).map_err(core_err)
    } else {
        // SAFETY: grad_x is disjoint from g (checked above).
        let (gs, os) = unsafe { (rg.slice(), ro.slice_mut()) };
        backend::vjp_rows(ys, gs, n, tau, os).map_err(core_err)
    }
}

/// Backward pass of Soft-Binary-Argmax@k (single precision): the vector-Jacobian product
/// `grad_x = Jᵀ g` where `J = ∂y/∂x`, computed from the forward output y alone:
/// `grad_x[i] = (g[i] − mean_{j∈A} g[j]) / τ` for i in `A = {i : 0 < y[i] < 1}`, 0 elsewhere.
///
/// * `y`: the n outputs of the forward call; `g`: n upstream gradients (∂L/∂y);
///   `grad_x`: n outputs (∂L/∂x). `tau`: the forward call's temperature (k is not needed).
/// * NULL: `y`, `g`, `grad_x` may be NULL only when `n == 0`.
/// * Aliasing: `grad_x == g` computes in place; `y == g` is allowed (both are inputs); any
///   other overlap with `grad_x` is `HS_ERR_OVERLAP`.
///
/// Errors: `HS_ERR_INVALID_TAU`, `HS_ERR_SCALE_OVERFLOW` (1/τ overflows, or an entry
/// `(g[i] − mean)/τ` on the free set does: entries outside it are exactly 0 whatever g holds),
/// `HS_ERR_NON_FINITE_INPUT` (NaN/inf in y or g), and the pointer errors. On error `grad_x`
/// is unchanged.
///
/// # Safety
/// `y`, `g` and `grad_x` point to `n` valid elements each (or are NULL with `n == 0`).
#[no_mangle]
pub unsafe extern "C" fn hs_soft_binary_argmax_vjp_f32(
    y: *const f32,
    g: *const f32,
    n: usize,
    tau: f32,
    grad_x: *mut f32,
) -> i32 {
    run(Vector, n, || vjp(y, g, n, tau, grad_x))
}

/// Backward pass in double precision: as `hs_soft_binary_argmax_vjp_f32` with `double`.
///
/// # Safety
/// `y`, `g` and `grad_x` point to `n` valid elements each (or are NULL with `n == 0`).
#[no_mangle]
pub unsafe extern "C" fn hs_soft_binary_argmax_vjp_f64(
    y: *const f64,
    g: *const f64,
    n: usize,
    tau: f64,
    grad_x: *mut f64,
) -> i32 {
    run(Vector, n, || vjp(y, g, n, tau, grad_x))
}

/// Row-wise backward pass (single precision): `grad_x[r] = Jᵀ_r g[r]` for every row of the
/// row-major `rows × n` matrices, with the formula of `hs_soft_binary_argmax_vjp_f32` per row.
///
/// * `y`: the forward output (`rows*n`); `g`: upstream gradients; `grad_x`: output.
/// * NULL: any of the three may be NULL only when `rows*n == 0`.
/// * Aliasing: `grad_x == g` computes in place; `y == g` is allowed; any other overlap with
///   `grad_x` is `HS_ERR_OVERLAP`.
///
/// Errors: `HS_ERR_LENGTH_MISMATCH` (`rows*n` overflows), `HS_ERR_INVALID_TAU`,
/// `HS_ERR_SCALE_OVERFLOW`, `HS_ERR_NON_FINITE_INPUT`, `HS_ERR_OUT_OF_MEMORY` (std build: the
/// per-row means, a few bytes per row), pointer errors; all rows are validated
/// before any is written (where several rows fail, the first failing row's status), and on
/// error `grad_x` is unchanged.
///
/// # Safety
/// All three pointers point to `rows*n` valid elements (or are NULL as above).
#[no_mangle]
pub unsafe extern "C" fn hs_soft_binary_argmax_vjp_rows_f32(
    y: *const f32,
    g: *const f32,
    rows: usize,
    n: usize,
    tau: f32,
    grad_x: *mut f32,
) -> i32 {
    run(Pass, rows.saturating_mul(n), || {
        vjp_rows(y, g, rows, n, tau, grad_x)
    })
}

/// Row-wise backward pass in double precision: as `hs_soft_binary_argmax_vjp_rows_f32`.
///
/// # Safety
/// All three pointers point to `rows*n` valid elements (or are NULL as above).
#[no_mangle]
pub unsafe extern "C" fn hs_soft_binary_argmax_vjp_rows_f64(
    y: *const f64,
    g: *const f64,
    rows: usize,
    n: usize,
    tau: f64,
    grad_x: *mut f64,
) -> i32 {
    run(Pass, rows.saturating_mul(n), || {
        vjp_rows(y, g, rows, n, tau, grad_x)
    })
}
