//! Half precision (issue 15): `bf16` and `f16` storage with `f32` arithmetic, the bits in
//! `uint16_t`. Each function is its `f32` twin on the widened input, each output rounded once
//! to nearest even. Same pointer checks, aliases, status codes and untouched-output rules as
//! the `f32` functions; NaN bit patterns are `HS_ERR_NON_FINITE_INPUT`, `±inf` are masks.
//!
//! Where the work runs: in the std build, the SIMD crate's half-precision code
//! (`hypersimplex_simd::half`): the forward functions (single and rows) stream long vectors'
//! 16-bit data through the working-set solver and run shorter ones through one widened `float`
//! row in a scratch buffer reused across rows, fused into the solver's first and last passes
//! (rows of at most 128 elements: widened blocks of rows through the `float` short-row solver);
//! the VJPs (single and rows, `Kernels::soft_binary_argmax_vjp_half*`) run the `f32` VJP
//! kernels with 16-bit loads and stores on the AVX2 path (widened copies elsewhere); the
//! losses run the SIMD `float` losses with the logits widened in stack blocks (multiclass)
//! or into a scratch buffer (binary) and the gradient rounded in stack blocks. Either way
//! exactly the `f32` function's result, rounded. The top-k mask (a selection, as for `float`)
//! and the no_std build run the core crate's scalar `half` module, which reads the 16-bit data
//! directly.

use crate::ptr::{disjoint, rows_regions, span, Region};
use crate::Work::{Pass, Serial, Solve, Vector};
use crate::{core_err, run};
use hs_core::half::{self as h, Bf16, Half, F16};

/// The half types' storage trait of the SIMD crate's losses (std builds); nothing without std.
#[cfg(feature = "std")]
trait McStore: hypersimplex_simd::McStore<f32> {}
#[cfg(feature = "std")]
impl<H: hypersimplex_simd::McStore<f32>> McStore for H {}
#[cfg(not(feature = "std"))]
trait McStore {}
#[cfg(not(feature = "std"))]
impl<H> McStore for H {}

/// `y = round(Π(widen(x)/τ))`, out of place (`x`, `y` disjoint): the SIMD half forward in the
/// std build (`scratch` for its widened copy, when it needs one), the core's half passes
/// without std.
#[inline]
fn forward_out<H: Half + Send + Sync>(
    x: &[H],
    k: f64,
    tau: f32,
    y: &mut [H],
    #[cfg(feature = "std")] scratch: &mut std::vec::Vec<f32>,
) -> Result<(), i32> {
    #[cfg(feature = "std")]
    let r = hypersimplex_simd::Kernels::active().soft_binary_argmax_half(x, k, tau, y, scratch);
    #[cfg(not(feature = "std"))]
    let r = h::soft_binary_argmax_half(x, k, tau, y);
    r.map(|_| ()).map_err(core_err)
}

/// [`forward_out`] in place.
#[inline]
fn forward_in<H: Half + Send + Sync>(
    xy: &mut [H],
    k: f64,
    tau: f32,
    #[cfg(feature = "std")] scratch: &mut std::vec::Vec<f32>,
) -> Result<(), i32> {
    #[cfg(feature = "std")]
    let r =
        hypersimplex_simd::Kernels::active().soft_binary_argmax_half_in_place(xy, k, tau, scratch);
    #[cfg(not(feature = "std"))]
    let r = h::soft_binary_argmax_half_in_place(xy, k, tau);
    r.map(|_| ()).map_err(core_err)
}

#[inline]
fn forward<H: Half + Send + Sync>(
    x: *const u16,
    n: usize,
    k: f64,
    tau: f32,
    y: *mut u16,
) -> Result<(), i32> {
    let rx = Region::new(x.cast::<H>(), n)?;
    let ry = Region::new(y.cast::<H>(), n)?;
    #[cfg(feature = "std")]
    let scratch = &mut std::vec::Vec::new();
    if ry.same(&rx) {
        // SAFETY: one buffer, no other slice of it exists.
        let xy = unsafe { ry.slice_mut() };
        #[cfg(feature = "std")]
        return forward_in(xy, k, tau, scratch);
        #[cfg(not(feature = "std"))]
        return forward_in(xy, k, tau);
    }
    disjoint(&ry, &[span(&rx)])?;
    // SAFETY: checked regions (`Bf16`/`F16` are `repr(transparent)` over `u16`); y does not
    // overlap x.
    let (xs, ys) = unsafe { (rx.slice(), ry.slice_mut()) };
    #[cfg(feature = "std")]
    return forward_out(xs, k, tau, ys, scratch);
    #[cfg(not(feature = "std"))]
    return forward_out(xs, k, tau, ys);
}

#[inline]
fn forward_rows<H: Half + Send + Sync>(
    x: *const u16,
    rows: usize,
    n: usize,
    k: *const f64,
    tau: f32,
    y: *mut u16,
) -> Result<(), i32> {
    let (rx, ry, rk) = rows_regions(x.cast::<H>(), y.cast::<H>(), k, rows, n)?;
    // SAFETY: k is an input that no output overlaps (checked above).
    let ks = unsafe { rk.slice() };
    #[cfg(not(feature = "std"))]
    if ry.same(&rx) {
        // SAFETY: one buffer, no other slice of it exists.
        let xy = unsafe { ry.slice_mut() };
        return h::soft_binary_argmax_half_rows_in_place(xy, n, ks, tau).map_err(core_err);
    }
    #[cfg(not(feature = "std"))]
    {
        disjoint(&ry, &[span(&rx)])?;
        // SAFETY: y overlaps neither x nor k.
        let (xs, ys) = unsafe { (rx.slice(), ry.slice_mut()) };
        h::soft_binary_argmax_half_rows(xs, n, ks, tau, ys).map_err(core_err)
    }
    #[cfg(feature = "std")]
    {
        // every row's checks first (no row can fail after them), then the rows: short ones
        // in blocks through the `float` short-row solver, others row by row
        let kern = hypersimplex_simd::Kernels::active();
        let scratch = &mut std::vec::Vec::new();
        if ry.same(&rx) {
            // SAFETY: one buffer, no other slice of it exists.
            let xy = unsafe { ry.slice_mut() };
            return kern
                .soft_binary_argmax_half_rows_in_place(xy, n, ks, tau, scratch)
                .map_err(core_err);
        }
        disjoint(&ry, &[span(&rx)])?;
        // SAFETY: y overlaps neither x nor k.
        let (xs, ys) = unsafe { (rx.slice(), ry.slice_mut()) };
        kern.soft_binary_argmax_half_rows(xs, n, ks, tau, ys, scratch)
            .map_err(core_err)
    }
}

/// The single-vector VJP, out of place or in place (`g` is `None`: over `gs`): the SIMD
/// crate's half VJP in the std build (`Kernels::soft_binary_argmax_vjp_half`: the AVX2 kernels
/// reading and writing the 16-bit data, the core's code elsewhere), the core's half VJP
/// without std.
#[inline]
fn vjp<H: Half + Send + Sync>(
    y: *const u16,
    g: *const u16,
    n: usize,
    tau: f32,
    grad_x: *mut u16,
) -> Result<(), i32> {
    let ry = Region::new(y.cast::<H>(), n)?;
    let rg = Region::new(g.cast::<H>(), n)?;
    let ro = Region::new(grad_x.cast::<H>(), n)?;
    disjoint(&ro, &[span(&ry)])?;
    #[cfg(feature = "std")]
    let k = hypersimplex_simd::Kernels::active();
    if ro.same(&rg) {
        // SAFETY: grad_x == g is one buffer; y does not overlap it.
        let (ys, gs) = unsafe { (ry.slice(), ro.slice_mut()) };
        #[cfg(feature = "std")]
        let r = k.soft_binary_argmax_vjp_half_in_place(ys, gs, tau);
        #[cfg(not(feature = "std"))]
        let r = h::soft_binary_argmax_vjp_half_in_place(ys, gs, tau);
        return r.map_err(core_err);
    }
    disjoint(&ro, &[span(&rg)])?;
    // SAFETY: grad_x overlaps neither input.
    let (ys, gs, os) = unsafe { (ry.slice(), rg.slice(), ro.slice_mut()) };
    #[cfg(feature = "std")]
    let r = k.soft_binary_argmax_vjp_half(ys, gs, tau, os);
    #[cfg(not(feature = "std"))]
    let r = h::soft_binary_argmax_vjp_half(ys, gs, tau, os);
    r.map_err(core_err)
}

/// The row-wise VJP: the SIMD crate's (`Kernels::soft_binary_argmax_vjp_half_rows`) in the
/// std build, the core's without std; every row checked before any is written, either way.
#[inline]
fn vjp_rows<H: Half + Send + Sync>(
    y: *const u16,
    g: *const u16,
    rows: usize,
    n: usize,
    tau: f32,
    grad_x: *mut u16,
) -> Result<(), i32> {
    let ry = Region::new2(y.cast::<H>(), rows, n)?;
    let rg = Region::new2(g.cast::<H>(), rows, n)?;
    let ro = Region::new2(grad_x.cast::<H>(), rows, n)?;
    disjoint(&ro, &[span(&ry)])?;
    #[cfg(feature = "std")]
    let k = hypersimplex_simd::Kernels::active();
    if ro.same(&rg) {
        // SAFETY: grad_x == g is one buffer; y does not overlap it.
        let (ys, gs) = unsafe { (ry.slice(), ro.slice_mut()) };
        #[cfg(feature = "std")]
        let r = k.soft_binary_argmax_vjp_half_rows_in_place(ys, gs, n, tau);
        #[cfg(not(feature = "std"))]
        let r = h::soft_binary_argmax_vjp_half_rows_in_place(ys, gs, n, tau);
        return r.map_err(core_err);
    }
    disjoint(&ro, &[span(&rg)])?;
    // SAFETY: grad_x overlaps neither input.
    let (ys, gs, os) = unsafe { (ry.slice(), rg.slice(), ro.slice_mut()) };
    #[cfg(feature = "std")]
    let r = k.soft_binary_argmax_vjp_half_rows(ys, gs, n, tau, os);
    #[cfg(not(feature = "std"))]
    let r = h::soft_binary_argmax_vjp_half_rows(ys, gs, n, tau, os);
    r.map_err(core_err)
}

#[inline]
fn topk<H: Half>(x: *const u16, n: usize, k: usize, y: *mut u16) -> Result<(), i32> {
    let rx = Region::new(x.cast::<H>(), n)?;
    let ry = Region::new(y.cast::<H>(), n)?;
    if k > n {
        return Err(crate::status::HS_ERR_INVALID_K);
    }
    // SAFETY: no slice of y exists.
    unsafe {
        crate::ptr::in_place_or(
            &rx,
            &ry,
            |xy| h::binary_argmax_half_in_place(xy, k as f64).map_err(core_err),
            |xs, ys| h::binary_argmax_half(xs, k as f64, ys).map_err(core_err),
        )
    }
}

#[inline]
fn topk_rows<H: Half>(
    x: *const u16,
    rows: usize,
    n: usize,
    k: *const usize,
    y: *mut u16,
) -> Result<(), i32> {
    let (rx, ry, rk) = rows_regions(x.cast::<H>(), y.cast::<H>(), k, rows, n)?;
    // SAFETY: checked region; y (the only buffer written) does not overlap k.
    let ks = unsafe { rk.slice() };
    // SAFETY: the only other slice, of k, does not overlap y.
    unsafe {
        crate::ptr::in_place_or(
            &rx,
            &ry,
            |xy| h::binary_argmax_half_rows_in_place(xy, n, ks).map_err(core_err),
            |xs, ys| h::binary_argmax_half_rows(xs, n, ks, ys).map_err(core_err),
        )
    }
}

#[inline]
fn loss<H: Half + McStore>(
    x: *const u16,
    target: *const u16,
    n: usize,
    k: f64,
    tau: f32,
    loss: *mut f32,
    grad_x: *mut u16,
) -> Result<(), i32> {
    let (rx, rt, rl, rg) = crate::loss::loss_regions(
        x.cast::<H>(),
        target.cast::<H>(),
        n,
        loss,
        grad_x.cast::<H>(),
    )?;
    // SAFETY: every output region is disjoint from every other region (checked above).
    let (xs, ts) = unsafe { (rx.slice(), rt.slice()) };
    // SAFETY: grad_x is disjoint from both inputs and from loss (checked above).
    let gs = rg.map(|r| unsafe { r.slice_mut() });
    #[cfg(feature = "std")]
    let value = hypersimplex_simd::Kernels::active().hypersimplex_loss_half(
        xs,
        ts,
        k,
        tau,
        gs,
        &mut std::vec::Vec::new(),
    );
    #[cfg(not(feature = "std"))]
    let value = h::hypersimplex_loss_half(xs, ts, k, tau, gs);
    let value = value.map_err(core_err)?;
    // SAFETY: `loss` is a checked, non-NULL, aligned element disjoint from every slice.
    unsafe { rl.write_first(value) };
    Ok(())
}

#[cfg(feature = "std")]
#[allow(clippy::too_many_arguments)]
#[inline]
fn multiclass<H: Half + McStore>(
    logits: *const u16,
    labels: *const u32,
    batch: usize,
    classes: usize,
    k: *const f64,
    tau: f32,
    reduction: i32,
    loss: *mut f32,
    grad_logits: *mut u16,
    lambda: Option<*mut f64>,
) -> Result<(), i32> {
    use crate::loss::McRegions;
    use hs_core::ClassK;
    let regions = McRegions::<H, f32>::new(
        logits.cast::<H>(),
        labels,
        batch,
        classes,
        k,
        loss,
        grad_logits.cast::<H>(),
    )?;
    let inputs = regions.outputs_disjoint()?;
    let rlam = regions.lambda(&inputs, lambda, classes)?;
    let reduction = crate::loss::reduction(reduction)?;
    // SAFETY: every output region is disjoint from every other region (checked above).
    let (xs, ls) = unsafe { (regions.rx.slice(), regions.rlab.slice()) };
    let ck = match regions.rk {
        None => ClassK::LabelCounts,
        // SAFETY: k is an input; no output overlaps it (checked above).
        Some(r) => ClassK::PerClass(unsafe { r.slice() }),
    };
    // SAFETY: grad_logits is disjoint from every input and from loss (checked above).
    let gs = regions.rg.map(|r| unsafe { r.slice_mut() });
    let kern = hypersimplex_simd::Kernels::active();
    let value = match rlam {
        // SAFETY: lambda is disjoint from every other argument (checked above).
        Some(r) => kern.hypersimplex_loss_multiclass_lambda_half(
            xs,
            ls,
            classes,
            ck,
            tau,
            reduction,
            gs,
            unsafe { r.slice_mut() },
        ),
        None => kern.hypersimplex_loss_multiclass_half(xs, ls, classes, ck, tau, reduction, gs),
    }
    .map_err(core_err)?;
    // SAFETY: `loss` is a checked, non-NULL, aligned element disjoint from every slice.
    unsafe { regions.rl.write_first(value) };
    Ok(())
}

/// Soft-Binary-Argmax@k on bfloat16 (1 sign, 8 exponent, 7 mantissa bits: the upper half of a float) data, bits in `uint16_t`: as `hs_soft_binary_argmax_f32`
/// on the exactly widened x, computed in float, each `y[i]` rounded once to nearest even.
/// Accuracy: each `y[i]` within one ulp of the exact projection (1/256 absolute on [0, 1]),
/// so `Σ y = k` only to that precision. `±inf` bit patterns are masks, NaN patterns
/// `HS_ERR_NON_FINITE_INPUT`. Aliasing (`y == x` in place), errors and untouched outputs as
/// `hs_soft_binary_argmax_f32`.
///
/// # Safety
/// `x` and `y` point to `n` valid elements each (or are NULL with `n == 0`).
#[no_mangle]
pub unsafe extern "C" fn hs_soft_binary_argmax_bf16(
    x: *const u16,
    n: usize,
    k: f64,
    tau: f32,
    y: *mut u16,
) -> i32 {
    run(Vector, n, || forward::<Bf16>(x, n, k, tau, y))
}

/// Backward pass on bf16 data: as `hs_soft_binary_argmax_vjp_f32` on the widened y and g,
/// computed in float, each output rounded once to nearest even. Aliasing (`grad_x == g` in
/// place) and errors as the f32 function; also `HS_ERR_SCALE_OVERFLOW` when an output is
/// finite in float but too large for bf16 (checked before anything is written).
///
/// # Safety
/// `y`, `g` and `grad_x` point to `n` valid elements each (or are NULL with `n == 0`).
#[no_mangle]
pub unsafe extern "C" fn hs_soft_binary_argmax_vjp_bf16(
    y: *const u16,
    g: *const u16,
    n: usize,
    tau: f32,
    grad_x: *mut u16,
) -> i32 {
    run(Vector, n, || vjp::<Bf16>(y, g, n, tau, grad_x))
}

/// Hard top-k mask on bf16 data: as `hs_binary_argmax_f32` (ties toward the lower index,
/// `-0 == +0`, `±inf` masks, NaN an error), by a radix selection on the 16-bit patterns
/// (three passes, in place too, no scratch). `y` holds bf16 0 and 1.
///
/// # Safety
/// `x` and `y` point to `n` valid elements each (or are NULL with `n == 0`).
#[no_mangle]
pub unsafe extern "C" fn hs_binary_argmax_bf16(
    x: *const u16,
    n: usize,
    k: usize,
    y: *mut u16,
) -> i32 {
    run(Serial, n, || topk::<Bf16>(x, n, k, y))
}

/// The top-k mask of each row of a row-major `rows × n` matrix of bf16 data: as
/// `hs_binary_argmax_rows_f32` (every row checked before any is written; `y == x` in place),
/// each row as `hs_binary_argmax_bf16` (on the calling thread).
///
/// # Safety
/// `x`, `y` point to `rows*n` valid elements and `k` to `rows` (or NULL when empty).
#[no_mangle]
pub unsafe extern "C" fn hs_binary_argmax_rows_bf16(
    x: *const u16,
    rows: usize,
    n: usize,
    k: *const usize,
    y: *mut u16,
) -> i32 {
    run(Serial, rows.saturating_mul(n), || {
        topk_rows::<Bf16>(x, rows, n, k, y)
    })
}

/// Row-wise Soft-Binary-Argmax@k on bf16 data: as `hs_soft_binary_argmax_rows_f32`
/// (every row validated before any row is written; `y == x` in place), each row as
/// `hs_soft_binary_argmax_bf16`. Rows of at most 128 elements run in blocks through the float
/// short-row solver (on the library's thread pool for large batches, as the f32 function).
///
/// # Safety
/// `x`, `y` point to `rows*n` valid elements and `k` to `rows` (or NULL when empty).
#[no_mangle]
pub unsafe extern "C" fn hs_soft_binary_argmax_rows_bf16(
    x: *const u16,
    rows: usize,
    n: usize,
    k: *const f64,
    tau: f32,
    y: *mut u16,
) -> i32 {
    run(Solve, rows.saturating_mul(n), || {
        forward_rows::<Bf16>(x, rows, n, k, tau, y)
    })
}

/// Row-wise backward pass on bf16 data: as `hs_soft_binary_argmax_vjp_rows_f32` (every row
/// validated before any row is written; `grad_x == g` in place), each row as
/// `hs_soft_binary_argmax_vjp_bf16`: the status is the f32 function's on the widened rows
/// (where several rows fail, the first failing row's), and `HS_ERR_SCALE_OVERFLOW` where that
/// succeeds but an output does not fit bf16. Rows run one after another (rows of at least 2^20
/// elements split their passes over the library's thread pool).
///
/// # Safety
/// `y`, `g` and `grad_x` point to `rows*n` valid elements (or are NULL when empty).
#[no_mangle]
pub unsafe extern "C" fn hs_soft_binary_argmax_vjp_rows_bf16(
    y: *const u16,
    g: *const u16,
    rows: usize,
    n: usize,
    tau: f32,
    grad_x: *mut u16,
) -> i32 {
    run(Pass, rows.saturating_mul(n), || {
        vjp_rows::<Bf16>(y, g, rows, n, tau, grad_x)
    })
}

/// Multiclass HyperSimplex loss on bf16 logits (std build only): as
/// `hs_hypersimplex_loss_multiclass_f32` on the widened logits, computed in float (`*loss` a
/// float, the float loss of the widened logits), `grad_logits` (bf16, or NULL) each entry
/// rounded once to nearest even. Allocates as the f32 function (`HS_ERR_OUT_OF_MEMORY`) and
/// runs on the library's thread pool as it does. Errors as the f32 function, plus `HS_ERR_SCALE_OVERFLOW` when a gradient
/// is asked for and `2/tau` is too large for bf16. On error `*loss` and `grad_logits` are
/// unchanged.
///
/// # Safety
/// Each non-NULL pointer points to as many valid elements as for the f32 version.
#[cfg(feature = "std")]
#[no_mangle]
pub unsafe extern "C" fn hs_hypersimplex_loss_multiclass_bf16(
    logits: *const u16,
    labels: *const u32,
    batch: usize,
    classes: usize,
    k: *const f64,
    tau: f32,
    reduction: i32,
    loss: *mut f32,
    grad_logits: *mut u16,
) -> i32 {
    run(Solve, batch.saturating_mul(classes), || {
        multiclass::<Bf16>(
            logits,
            labels,
            batch,
            classes,
            k,
            tau,
            reduction,
            loss,
            grad_logits,
            None,
        )
    })
}

/// Binary HyperSimplex loss on bf16 data (every build, no allocation): as
/// `hs_hypersimplex_loss_f32` on the widened `x` and `target` (both bf16), computed in float
/// (`*loss` a float, the float loss of the widened data), `grad_x` (bf16, or NULL) each entry
/// rounded once to nearest even. Errors as the f32 function, plus `HS_ERR_SCALE_OVERFLOW`
/// when a gradient is asked for and `2/tau` is too large for bf16. On error `*loss` and
/// `grad_x` are unchanged.
///
/// # Safety
/// `x`, `target` (and `grad_x` unless NULL) point to `n` valid elements; `loss` to one.
#[no_mangle]
pub unsafe extern "C" fn hs_hypersimplex_loss_bf16(
    x: *const u16,
    target: *const u16,
    n: usize,
    k: f64,
    tau: f32,
    loss: *mut f32,
    grad_x: *mut u16,
) -> i32 {
    run(Vector, n, || {
        self::loss::<Bf16>(x, target, n, k, tau, loss, grad_x)
    })
}

/// Multiclass HyperSimplex loss on bf16 logits that also reports each class column's threshold
/// (std build only): as `hs_hypersimplex_loss_multiclass_bf16`, and `lambda` receives `classes`
/// doubles as for `hs_hypersimplex_loss_multiclass_lambda_f32` (the float threshold of the
/// widened column). `lambda` may be NULL only when `classes == 0` and must not overlap any
/// other argument. On error `*loss`, `grad_logits` and `lambda` are unchanged.
///
/// # Safety
/// Each non-NULL pointer points to as many valid elements as for the f32 version.
#[cfg(feature = "std")]
#[no_mangle]
pub unsafe extern "C" fn hs_hypersimplex_loss_multiclass_lambda_bf16(
    logits: *const u16,
    labels: *const u32,
    batch: usize,
    classes: usize,
    k: *const f64,
    tau: f32,
    reduction: i32,
    loss: *mut f32,
    grad_logits: *mut u16,
    lambda: *mut f64,
) -> i32 {
    run(Solve, batch.saturating_mul(classes), || {
        multiclass::<Bf16>(
            logits,
            labels,
            batch,
            classes,
            k,
            tau,
            reduction,
            loss,
            grad_logits,
            Some(lambda),
        )
    })
}

/// Soft-Binary-Argmax@k on IEEE binary16 (`_Float16`; 1 sign, 5 exponent, 10 mantissa bits) data, bits in `uint16_t`: as `hs_soft_binary_argmax_f32`
/// on the exactly widened x, computed in float, each `y[i]` rounded once to nearest even.
/// Accuracy: each `y[i]` within one ulp of the exact projection (1/2048 absolute on [0, 1]),
/// so `Σ y = k` only to that precision. `±inf` bit patterns are masks, NaN patterns
/// `HS_ERR_NON_FINITE_INPUT`. Aliasing (`y == x` in place), errors and untouched outputs as
/// `hs_soft_binary_argmax_f32`.
///
/// # Safety
/// `x` and `y` point to `n` valid elements each (or are NULL with `n == 0`).
#[no_mangle]
pub unsafe extern "C" fn hs_soft_binary_argmax_f16(
    x: *const u16,
    n: usize,
    k: f64,
    tau: f32,
    y: *mut u16,
) -> i32 {
    run(Vector, n, || forward::<F16>(x, n, k, tau, y))
}

/// Backward pass on f16 data: as `hs_soft_binary_argmax_vjp_f32` on the widened y and g,
/// computed in float, each output rounded once to nearest even. Aliasing (`grad_x == g` in
/// place) and errors as the f32 function; also `HS_ERR_SCALE_OVERFLOW` when an output is
/// finite in float but too large for f16 (checked before anything is written).
///
/// # Safety
/// `y`, `g` and `grad_x` point to `n` valid elements each (or are NULL with `n == 0`).
#[no_mangle]
pub unsafe extern "C" fn hs_soft_binary_argmax_vjp_f16(
    y: *const u16,
    g: *const u16,
    n: usize,
    tau: f32,
    grad_x: *mut u16,
) -> i32 {
    run(Vector, n, || vjp::<F16>(y, g, n, tau, grad_x))
}

/// Hard top-k mask on f16 data: as `hs_binary_argmax_f32` (ties toward the lower index,
/// `-0 == +0`, `±inf` masks, NaN an error), by a radix selection on the 16-bit patterns
/// (three passes, in place too, no scratch). `y` holds f16 0 and 1.
///
/// # Safety
/// `x` and `y` point to `n` valid elements each (or are NULL with `n == 0`).
#[no_mangle]
pub unsafe extern "C" fn hs_binary_argmax_f16(
    x: *const u16,
    n: usize,
    k: usize,
    y: *mut u16,
) -> i32 {
    run(Serial, n, || topk::<F16>(x, n, k, y))
}

/// The top-k mask of each row of a row-major `rows × n` matrix of f16 data: as
/// `hs_binary_argmax_rows_f32` (every row checked before any is written; `y == x` in place),
/// each row as `hs_binary_argmax_f16` (on the calling thread).
///
/// # Safety
/// `x`, `y` point to `rows*n` valid elements and `k` to `rows` (or NULL when empty).
#[no_mangle]
pub unsafe extern "C" fn hs_binary_argmax_rows_f16(
    x: *const u16,
    rows: usize,
    n: usize,
    k: *const usize,
    y: *mut u16,
) -> i32 {
    run(Serial, rows.saturating_mul(n), || {
        topk_rows::<F16>(x, rows, n, k, y)
    })
}

/// Row-wise Soft-Binary-Argmax@k on f16 data: as `hs_soft_binary_argmax_rows_f32`
/// (every row validated before any row is written; `y == x` in place), each row as
/// `hs_soft_binary_argmax_f16`. Rows of at most 128 elements run in blocks through the float
/// short-row solver (on the library's thread pool for large batches, as the f32 function).
///
/// # Safety
/// `x`, `y` point to `rows*n` valid elements and `k` to `rows` (or NULL when empty).
#[no_mangle]
pub unsafe extern "C" fn hs_soft_binary_argmax_rows_f16(
    x: *const u16,
    rows: usize,
    n: usize,
    k: *const f64,
    tau: f32,
    y: *mut u16,
) -> i32 {
    run(Solve, rows.saturating_mul(n), || {
        forward_rows::<F16>(x, rows, n, k, tau, y)
    })
}

/// Row-wise backward pass on f16 data: as `hs_soft_binary_argmax_vjp_rows_f32` (every row
/// validated before any row is written; `grad_x == g` in place), each row as
/// `hs_soft_binary_argmax_vjp_f16`: the status is the f32 function's on the widened rows
/// (where several rows fail, the first failing row's), and `HS_ERR_SCALE_OVERFLOW` where that
/// succeeds but an output does not fit f16. Rows run one after another (rows of at least 2^20
/// elements split their passes over the library's thread pool).
///
/// # Safety
/// `y`, `g` and `grad_x` point to `rows*n` valid elements (or are NULL when empty).
#[no_mangle]
pub unsafe extern "C" fn hs_soft_binary_argmax_vjp_rows_f16(
    y: *const u16,
    g: *const u16,
    rows: usize,
    n: usize,
    tau: f32,
    grad_x: *mut u16,
) -> i32 {
    run(Pass, rows.saturating_mul(n), || {
        vjp_rows::<F16>(y, g, rows, n, tau, grad_x)
    })
}

/// Multiclass HyperSimplex loss on f16 logits (std build only): as
/// `hs_hypersimplex_loss_multiclass_f32` on the widened logits, computed in float (`*loss` a
/// float, the float loss of the widened logits), `grad_logits` (f16, or NULL) each entry
/// rounded once to nearest even. Allocates as the f32 function (`HS_ERR_OUT_OF_MEMORY`) and
/// runs on the library's thread pool as it does. Errors as the f32 function, plus `HS_ERR_SCALE_OVERFLOW` when a gradient
/// is asked for and `2/tau` is too large for f16. On error `*loss` and `grad_logits` are
/// unchanged.
///
/// # Safety
/// Each non-NULL pointer points to as many valid elements as for the f32 version.
#[cfg(feature = "std")]
#[no_mangle]
pub unsafe extern "C" fn hs_hypersimplex_loss_multiclass_f16(
    logits: *const u16,
    labels: *const u32,
    batch: usize,
    classes: usize,
    k: *const f64,
    tau: f32,
    reduction: i32,
    loss: *mut f32,
    grad_logits: *mut u16,
) -> i32 {
    run(Solve, batch.saturating_mul(classes), || {
        multiclass::<F16>(
            logits,
            labels,
            batch,
            classes,
            k,
            tau,
            reduction,
            loss,
            grad_logits,
            None,
        )
    })
}

/// Binary HyperSimplex loss on f16 data (every build, no allocation): as
/// `hs_hypersimplex_loss_f32` on the widened `x` and `target` (both f16), computed in float
/// (`*loss` a float, the float loss of the widened data), `grad_x` (f16, or NULL) each entry
/// rounded once to nearest even. Errors as the f32 function, plus `HS_ERR_SCALE_OVERFLOW`
/// when a gradient is asked for and `2/tau` is too large for f16. On error `*loss` and
/// `grad_x` are unchanged.
///
/// # Safety
/// `x`, `target` (and `grad_x` unless NULL) point to `n` valid elements; `loss` to one.
#[no_mangle]
pub unsafe extern "C" fn hs_hypersimplex_loss_f16(
    x: *const u16,
    target: *const u16,
    n: usize,
    k: f64,
    tau: f32,
    loss: *mut f32,
    grad_x: *mut u16,
) -> i32 {
    run(Vector, n, || {
        self::loss::<F16>(x, target, n, k, tau, loss, grad_x)
    })
}

/// Multiclass HyperSimplex loss on f16 logits that also reports each class column's threshold
/// (std build only): as `hs_hypersimplex_loss_multiclass_f16`, and `lambda` receives `classes`
/// doubles as for `hs_hypersimplex_loss_multiclass_lambda_f32` (the float threshold of the
/// widened column). `lambda` may be NULL only when `classes == 0` and must not overlap any
/// other argument. On error `*loss`, `grad_logits` and `lambda` are unchanged.
///
/// # Safety
/// Each non-NULL pointer points to as many valid elements as for the f32 version.
#[cfg(feature = "std")]
#[no_mangle]
pub unsafe extern "C" fn hs_hypersimplex_loss_multiclass_lambda_f16(
    logits: *const u16,
    labels: *const u32,
    batch: usize,
    classes: usize,
    k: *const f64,
    tau: f32,
    reduction: i32,
    loss: *mut f32,
    grad_logits: *mut u16,
    lambda: *mut f64,
) -> i32 {
    run(Solve, batch.saturating_mul(classes), || {
        multiclass::<F16>(
            logits,
            labels,
            batch,
            classes,
            k,
            tau,
            reduction,
            loss,
            grad_logits,
            Some(lambda),
        )
    })
}
