//! Half precision (issue 15): `bf16` and `f16` storage with `f32` arithmetic, the bits in
//! `uint16_t`. Each function is its `f32` twin on the widened input, each output rounded once
//! to nearest even. Same pointer checks, aliases, status codes and untouched-output rules as
//! the `f32` functions; NaN bit patterns are `HS_ERR_NON_FINITE_INPUT`, `±inf` are masks.
//!
//! Where the work runs: the forward functions of the std build widen the input into a `float`
//! buffer (one vector or row at a time; F16C conversions on x86-64 with AVX2 and F16C), run the SIMD `float` forward
//! in place on it and round into the output, so they return exactly the `f32` function's
//! result rounded; everything else (and the no_std build) runs the core crate's scalar `half`
//! module, which reads the 16-bit data directly (no SIMD half kernels yet).

use crate::ptr::{disjoint, span, Region};
use crate::{core_err, run};
use hs_core::half::{self as h, Bf16, Half, F16};

/// std build: a zeroed `float` buffer of `n` elements (`HS_ERR_OUT_OF_MEMORY`), from the
/// allocator's zeroed memory: large buffers come as fresh pages, with no pass to clear them.
#[cfg(feature = "std")]
fn buffer(n: usize) -> Result<std::vec::Vec<f32>, i32> {
    use crate::status::HS_ERR_OUT_OF_MEMORY;
    if n == 0 {
        return Ok(std::vec::Vec::new());
    }
    let layout = std::alloc::Layout::array::<f32>(n).map_err(|_| HS_ERR_OUT_OF_MEMORY)?;
    // SAFETY: the layout has a non-zero size (n > 0).
    let p = unsafe { std::alloc::alloc_zeroed(layout) }.cast::<f32>();
    if p.is_null() {
        return Err(HS_ERR_OUT_OF_MEMORY);
    }
    // SAFETY: `p` was allocated by the global allocator with the layout of `n` f32 (the
    // layout a Vec of capacity n uses), and zeroed memory is n valid `0.0f32`.
    Ok(unsafe { std::vec::Vec::from_raw_parts(p, n, n) })
}

/// std build: `buf ← Π(widen(x)/τ)` by the SIMD `float` forward, in place (`buf.len() ==
/// x.len()`); the error of the `float` function on the widened input otherwise.
#[cfg(feature = "std")]
fn forward_simd<H: Half>(x: &[H], k: f64, tau: f32, buf: &mut [f32]) -> Result<(), i32> {
    hypersimplex_simd::half::widen(x, buf);
    hypersimplex_simd::soft_binary_argmax_in_place(buf, k, tau)
        .map(|_| ())
        .map_err(core_err)
}

#[cfg(feature = "std")]
#[inline]
fn forward<H: Half>(x: *const u16, n: usize, k: f64, tau: f32, y: *mut u16) -> Result<(), i32> {
    let rx = Region::new(x.cast::<H>(), n)?;
    let ry = Region::new(y.cast::<H>(), n)?;
    if !ry.same(&rx) {
        disjoint(&ry, &[span(&rx)])?;
    }
    let mut buf = buffer(n)?;
    // SAFETY: checked regions (`Bf16`/`F16` are `repr(transparent)` over `u16`); x is only
    // read before y (possibly the same buffer) is borrowed mutably.
    forward_simd(unsafe { rx.slice() }, k, tau, &mut buf)?;
    // SAFETY: y is x itself or disjoint from it; the shared slice of x is no longer used.
    hypersimplex_simd::half::narrow(&buf, unsafe { ry.slice_mut() });
    Ok(())
}

#[cfg(not(feature = "std"))]
#[inline]
fn forward<H: Half>(x: *const u16, n: usize, k: f64, tau: f32, y: *mut u16) -> Result<(), i32> {
    let rx = Region::new(x.cast::<H>(), n)?;
    let ry = Region::new(y.cast::<H>(), n)?;
    if ry.same(&rx) {
        // SAFETY: one buffer, no other slice of it exists.
        let xy = unsafe { ry.slice_mut() };
        return h::soft_binary_argmax_half_in_place(xy, k, tau)
            .map(|_| ())
            .map_err(core_err);
    }
    disjoint(&ry, &[span(&rx)])?;
    // SAFETY: checked regions (`Bf16`/`F16` are `repr(transparent)` over `u16`); y does not
    // overlap x.
    let (xs, ys) = unsafe { (rx.slice(), ry.slice_mut()) };
    h::soft_binary_argmax_half(xs, k, tau, ys)
        .map(|_| ())
        .map_err(core_err)
}

#[inline]
fn forward_rows<H: Half>(
    x: *const u16,
    rows: usize,
    n: usize,
    k: *const f64,
    tau: f32,
    y: *mut u16,
) -> Result<(), i32> {
    let rx = Region::new2(x.cast::<H>(), rows, n)?;
    let ry = Region::new2(y.cast::<H>(), rows, n)?;
    let rk = Region::new(k, rows)?;
    disjoint(&ry, &[span(&rk)])?;
    // SAFETY: k is an input that no output overlaps (checked above).
    let ks = unsafe { rk.slice() };
    #[cfg(feature = "std")]
    {
        if !ry.same(&rx) {
            disjoint(&ry, &[span(&rx)])?;
        }
        // every row's checks first (no row can fail after them), then row by row through
        // one float buffer
        // SAFETY: checked regions; this shared slice of x ends before y is borrowed mutably.
        h::check_rows_half(unsafe { rx.slice() }, rows * n, n, ks, tau).map_err(core_err)?;
        let mut buf = buffer(n)?;
        for (r, &kr) in ks.iter().enumerate() {
            let at = r * n..(r + 1) * n;
            // SAFETY: as above; row r of x is read before row r of y is written (they are the
            // same memory when y == x), and no slice outlives its statement.
            let xr = unsafe { rx.slice() }.get(at.clone()).unwrap_or_default();
            forward_simd(xr, kr, tau, &mut buf)?;
            // SAFETY: y is x itself or disjoint from it; no other slice of y exists.
            if let Some(yr) = unsafe { ry.slice_mut() }.get_mut(at) {
                hypersimplex_simd::half::narrow(&buf, yr);
            }
        }
        Ok(())
    }
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
}

#[inline]
fn vjp<H: Half>(
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
    if ro.same(&rg) {
        // SAFETY: grad_x == g is one buffer; y does not overlap it.
        let (ys, gs) = unsafe { (ry.slice(), ro.slice_mut()) };
        return h::soft_binary_argmax_vjp_half_in_place(ys, gs, tau).map_err(core_err);
    }
    disjoint(&ro, &[span(&rg)])?;
    // SAFETY: grad_x overlaps neither input.
    let (ys, gs, os) = unsafe { (ry.slice(), rg.slice(), ro.slice_mut()) };
    h::soft_binary_argmax_vjp_half(ys, gs, tau, os).map_err(core_err)
}

#[inline]
fn vjp_rows<H: Half>(
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
    if ro.same(&rg) {
        // SAFETY: grad_x == g is one buffer; y does not overlap it.
        let (ys, gs) = unsafe { (ry.slice(), ro.slice_mut()) };
        return h::soft_binary_argmax_vjp_half_rows_in_place(ys, gs, n, tau).map_err(core_err);
    }
    disjoint(&ro, &[span(&rg)])?;
    // SAFETY: grad_x overlaps neither input.
    let (ys, gs, os) = unsafe { (ry.slice(), rg.slice(), ro.slice_mut()) };
    h::soft_binary_argmax_vjp_half_rows(ys, gs, n, tau, os).map_err(core_err)
}

#[inline]
fn topk<H: Half>(x: *const u16, n: usize, k: usize, y: *mut u16) -> Result<(), i32> {
    let rx = Region::new(x.cast::<H>(), n)?;
    let ry = Region::new(y.cast::<H>(), n)?;
    if k > n {
        return Err(crate::status::HS_ERR_INVALID_K);
    }
    if ry.same(&rx) {
        // SAFETY: one buffer, no other slice of it exists.
        let xy = unsafe { ry.slice_mut() };
        return h::binary_argmax_half_in_place(xy, k as f64).map_err(core_err);
    }
    disjoint(&ry, &[span(&rx)])?;
    // SAFETY: y does not overlap x.
    let (xs, ys) = unsafe { (rx.slice(), ry.slice_mut()) };
    h::binary_argmax_half(xs, k as f64, ys).map_err(core_err)
}

#[cfg(feature = "std")]
#[allow(clippy::too_many_arguments)]
#[inline]
fn multiclass<H: Half>(
    logits: *const u16,
    labels: *const u32,
    batch: usize,
    classes: usize,
    k: *const f64,
    tau: f32,
    reduction: i32,
    loss: *mut f32,
    grad_logits: *mut u16,
) -> Result<(), i32> {
    use crate::status::*;
    use hs_core::{ClassK, Reduction};
    let rx = Region::new2(logits.cast::<H>(), batch, classes)?;
    let rlab = Region::new(labels, batch)?;
    let rk = if k.is_null() {
        None
    } else {
        Some(Region::new(k, classes)?)
    };
    let rl = Region::one(loss)?;
    let rg = if grad_logits.is_null() {
        None
    } else {
        Some(Region::new2(grad_logits.cast::<H>(), batch, classes)?)
    };
    let inputs = [span(&rx), span(&rlab), rk.as_ref().map_or((0, 0), span)];
    disjoint(&rl, &inputs)?;
    if let Some(rg) = &rg {
        disjoint(rg, &inputs)?;
        disjoint(rg, &[span(&rl)])?;
    }
    let reduction = match reduction {
        HS_REDUCTION_SUM => Reduction::Sum,
        HS_REDUCTION_MEAN => Reduction::Mean,
        _ => return Err(HS_ERR_INVALID_REDUCTION),
    };
    let mut scratch = std::vec::Vec::new();
    scratch
        .try_reserve_exact(batch)
        .map_err(|_| HS_ERR_OUT_OF_MEMORY)?;
    scratch.resize(batch, 0.0f32);
    // SAFETY: every output region is disjoint from every other region (checked above).
    let (xs, ls) = unsafe { (rx.slice(), rlab.slice()) };
    let ck = match rk {
        None => ClassK::LabelCounts,
        // SAFETY: k is an input; no output overlaps it (checked above).
        Some(r) => ClassK::PerClass(unsafe { r.slice() }),
    };
    // SAFETY: grad_logits is disjoint from every input and from loss (checked above).
    let gs = rg.map(|r| unsafe { r.slice_mut() });
    let value =
        h::hypersimplex_loss_multiclass_half(xs, ls, classes, ck, tau, reduction, gs, &mut scratch)
            .map_err(core_err)?;
    // SAFETY: `loss` is a checked, non-NULL, aligned element disjoint from every slice.
    unsafe { rl.write_first(value) };
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
    run(|| forward::<Bf16>(x, n, k, tau, y))
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
    run(|| vjp::<Bf16>(y, g, n, tau, grad_x))
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
    run(|| topk::<Bf16>(x, n, k, y))
}

/// Row-wise Soft-Binary-Argmax@k on bf16 data: as `hs_soft_binary_argmax_rows_f32`
/// (every row validated before any row is written; `y == x` in place), each row as
/// `hs_soft_binary_argmax_bf16`. Single-threaded.
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
    run(|| forward_rows::<Bf16>(x, rows, n, k, tau, y))
}

/// Row-wise backward pass on bf16 data: as `hs_soft_binary_argmax_vjp_rows_f32` (every row
/// validated before any row is written; `grad_x == g` in place), each row as
/// `hs_soft_binary_argmax_vjp_bf16`. Single-threaded.
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
    run(|| vjp_rows::<Bf16>(y, g, rows, n, tau, grad_x))
}

/// Multiclass HyperSimplex loss on bf16 logits (std build only): as
/// `hs_hypersimplex_loss_multiclass_f32` on the widened logits, computed in float (`*loss` a
/// float, the float loss of the widened logits), `grad_logits` (bf16, or NULL) each entry
/// rounded once to nearest even. Allocates one float per sample (`HS_ERR_OUT_OF_MEMORY`);
/// single-threaded. Errors as the f32 function, plus `HS_ERR_SCALE_OVERFLOW` when a gradient
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
    run(|| {
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
    run(|| forward::<F16>(x, n, k, tau, y))
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
    run(|| vjp::<F16>(y, g, n, tau, grad_x))
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
    run(|| topk::<F16>(x, n, k, y))
}

/// Row-wise Soft-Binary-Argmax@k on f16 data: as `hs_soft_binary_argmax_rows_f32`
/// (every row validated before any row is written; `y == x` in place), each row as
/// `hs_soft_binary_argmax_f16`. Single-threaded.
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
    run(|| forward_rows::<F16>(x, rows, n, k, tau, y))
}

/// Row-wise backward pass on f16 data: as `hs_soft_binary_argmax_vjp_rows_f32` (every row
/// validated before any row is written; `grad_x == g` in place), each row as
/// `hs_soft_binary_argmax_vjp_f16`. Single-threaded.
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
    run(|| vjp_rows::<F16>(y, g, rows, n, tau, grad_x))
}

/// Multiclass HyperSimplex loss on f16 logits (std build only): as
/// `hs_hypersimplex_loss_multiclass_f32` on the widened logits, computed in float (`*loss` a
/// float, the float loss of the widened logits), `grad_logits` (f16, or NULL) each entry
/// rounded once to nearest even. Allocates one float per sample (`HS_ERR_OUT_OF_MEMORY`);
/// single-threaded. Errors as the f32 function, plus `HS_ERR_SCALE_OVERFLOW` when a gradient
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
    run(|| {
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
        )
    })
}
