//! # hypersimplex-ffi: the C ABI of hypersimplex
//!
//! Builds `libhypersimplex.a` and `libhypersimplex.so`; the C declarations are in
//! `include/hypersimplex.h`, generated from this crate by cbindgen (`ffi/cbindgen.toml`).
//!
//! The operator: `y = Π_Δ(n,k)(x/τ)`, the Euclidean projection of `x/τ` onto the hypersimplex
//! `Δ(n,k) = { y ∈ [0,1]^n : Σ y_i = k }`, i.e. `y_i = clip(x_i/τ − λ, 0, 1)` with `Σ y = k`;
//! its vector-Jacobian product `(Jᵀg)_i = (1/τ)(g_i − mean_{j∈A} g_j)` on `A = {0 < y_i < 1}`
//! (0 elsewhere); the hard top-k mask; and the HyperSimplex losses. See the core crate
//! `hypersimplex` for the mathematics and accuracy guarantees.
//!
//! ## Contract of every function (also in the header)
//! * Returns an `int32_t` status: `HS_OK` (0) or a negative `HS_ERR_*` code. Core errors are
//!   `-(hs_core::Error::code())` (−1 … −99), ABI errors are −100 and below.
//! * On any error, every output buffer is left exactly as it was.
//! * Pointer checks come first (NULL, alignment, size overflow, overlap), then the values.
//! * A data pointer may be NULL only when its length is 0. Optional outputs (`grad_x`,
//!   `grad_logits`) and the multiclass `k` may be NULL with the documented meaning; `loss`
//!   may never be NULL.
//! * Outputs must not overlap inputs or each other, except the exact aliases each function
//!   allows (same pointer, same length): `y == x` in the forward and top-k functions,
//!   `grad_x == g` in the VJPs. Any other overlap returns `HS_ERR_OVERLAP`.
//! * No global mutable state except the thread pool; every function is thread-safe and
//!   reentrant. The std build computes with the `hypersimplex-simd` kernels (AVX2 on x86-64
//!   when the CPU has it, NEON on aarch64, portable code otherwise, chosen at run time) and,
//!   for batches of at least 16384 elements or vectors of at least 2^20, splits the work over
//!   rayon's global thread pool; results are bitwise the same for every thread count. The host
//!   caps the pool with the `RAYON_NUM_THREADS` environment variable (read when the pool starts,
//!   i.e. before the first large call); `RAYON_NUM_THREADS=1` keeps all work on the calling
//!   thread. `HYPERSIMPLEX_FORCE_SCALAR=1` forces the portable kernels (for bug reports).
//! * std build: a panic (a bug) is caught and reported as `HS_ERR_PANIC`; it never unwinds
//!   into C. no_std build: the crate's panic handler halts (loops); the core never panics.
//!
//! ## no_std
//! With default features off, the crate is `#![no_std]` over the core crate alone: no
//! allocation, no threads. It exports every function except
//! `hs_hypersimplex_loss_multiclass_f32/_f64` (they allocate their scratch); use
//! `hs_hypersimplex_loss_multiclass_scratch_f32/_f64` with caller scratch there.
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

#[cfg(test)]
mod abi_tests;
mod backend;
mod ptr;
pub mod status;

use core::ffi::c_char;
use hs_core::forward::check_k_tau;
use hs_core::{ClassK, Real, Reduction};
use ptr::{disjoint, span, Region};
pub use status::*;

/// Runs an ABI function body: `Ok` → `HS_OK`, `Err(s)` → `s`; a panic → `HS_ERR_PANIC`.
#[cfg(feature = "std")]
fn run<F: FnOnce() -> Result<(), i32>>(f: F) -> i32 {
    // AssertUnwindSafe: after a panic nothing of the closure's state is used again; the caller
    // only gets the status (outputs are documented as unspecified after HS_ERR_PANIC).
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(Ok(())) => HS_OK,
        Ok(Err(s)) => s,
        Err(_) => HS_ERR_PANIC,
    }
}

/// Runs an ABI function body: `Ok` → `HS_OK`, `Err(s)` → `s` (no_std: panics never return).
#[cfg(not(feature = "std"))]
fn run<F: FnOnce() -> Result<(), i32>>(f: F) -> i32 {
    match f() {
        Ok(()) => HS_OK,
        Err(s) => s,
    }
}

/// The no_std build's panic handler. The core crate never panics; should a panic happen
/// anyway, the program halts here (there is no unwinding through C).
#[cfg(all(not(feature = "std"), not(test)))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {
        core::hint::spin_loop();
    }
}

/// Hosted no_std builds link against a `core` compiled with unwinding, which refers to this
/// symbol; nothing ever unwinds (the panic handler above never returns).
#[cfg(all(not(feature = "std"), not(target_os = "none"), not(test)))]
#[no_mangle]
pub extern "C" fn rust_eh_personality() {}

/// Maps a core error to its status.
fn core_err(e: hs_core::Error) -> i32 {
    status::from_error(e)
}

/// Validates τ for a `rows × n` batch and returns `s = fl(1/τ)` (as the core's single-vector
/// check, which it is with `k = 0`).
fn check_tau<T: Real>(n: usize, tau: T) -> Result<T, i32> {
    check_k_tau(n, 0.0, tau).map_err(core_err)
}

/// The core's classification of bad data, for a whole batch before any row is written:
/// `NON_FINITE_INPUT` if some value is NaN/±∞, else `SCALE_OVERFLOW` if some `x·s` overflows.
fn check_scaled<T: Real>(x: &[T], scale: T) -> Result<(), i32> {
    if x.iter().all(|&v| (v * scale).is_finite()) {
        Ok(())
    } else {
        Err(core_err(hs_core::forward::classify_nonfinite(x)))
    }
}

// ---------------------------------------------------------------------------------------------
// Generic bodies (one per operation; the extern functions below are thin typed wrappers).

fn forward<T: backend::Elem>(x: *const T, n: usize, k: f64, tau: T, y: *mut T) -> Result<(), i32> {
    let rx = Region::new(x, n)?;
    let ry = Region::new(y, n)?;
    if ry.same(&rx) {
        // SAFETY: one buffer, no other slice of it exists.
        let xy = unsafe { ry.slice_mut() };
        return backend::soft_binary_argmax_in_place(xy, k, tau).map_err(core_err);
    }
    disjoint(&ry, &[span(&rx)])?;
    // SAFETY: checked regions; y does not overlap x.
    let (xs, ys) = unsafe { (rx.slice(), ry.slice_mut()) };
    backend::soft_binary_argmax(xs, k, tau, ys).map_err(core_err)
}

fn forward_rows<T: backend::Elem>(
    x: *const T,
    rows: usize,
    n: usize,
    k: *const f64,
    tau: T,
    y: *mut T,
) -> Result<(), i32> {
    let rx = Region::new2(x, rows, n)?;
    let ry = Region::new2(y, rows, n)?;
    let rk = Region::new(k, rows)?;
    disjoint(&ry, &[span(&rk)])?;
    let in_place = ry.same(&rx);
    if !in_place {
        disjoint(&ry, &[span(&rx)])?;
    }
    // Validate everything a row could fail on before writing any row.
    let scale = check_tau(n, tau)?;
    // SAFETY: checked regions; no mutable slice exists yet.
    let ks = unsafe { rk.slice() };
    for &kr in ks {
        check_k_tau(n, kr, tau).map_err(core_err)?;
    }
    // SAFETY: as above; this shared slice of x ends before y is borrowed mutably.
    check_scaled(unsafe { rx.slice() }, scale)?;
    if n == 0 {
        return Ok(());
    }
    if in_place {
        // SAFETY: one buffer, no other slice of it exists.
        let xy = unsafe { ry.slice_mut() };
        backend::soft_binary_argmax_rows_in_place(xy, n, ks, tau).map_err(core_err)
    } else {
        // SAFETY: y overlaps neither x nor k.
        let (xs, ys) = unsafe { (rx.slice(), ry.slice_mut()) };
        backend::soft_binary_argmax_rows(xs, n, ks, tau, ys).map_err(core_err)
    }
}

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
    check_tau(n, tau)?;
    // SAFETY: checked regions; these shared slices end before grad_x is borrowed mutably.
    let finite = unsafe { ry.slice().iter().chain(rg.slice()).all(|v| v.is_finite()) };
    if !finite {
        return Err(HS_ERR_NON_FINITE_INPUT);
    }
    if n == 0 {
        return Ok(());
    }
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

fn topk<T: backend::Elem>(x: *const T, n: usize, k: usize, y: *mut T) -> Result<(), i32> {
    let rx = Region::new(x, n)?;
    let ry = Region::new(y, n)?;
    if k > n {
        return Err(HS_ERR_INVALID_K);
    }
    if ry.same(&rx) {
        // SAFETY: one buffer, no other slice of it exists.
        let xy = unsafe { ry.slice_mut() };
        return backend::binary_argmax_in_place(xy, k as f64).map_err(core_err);
    }
    disjoint(&ry, &[span(&rx)])?;
    // SAFETY: y does not overlap x.
    let (xs, ys) = unsafe { (rx.slice(), ry.slice_mut()) };
    backend::binary_argmax(xs, k as f64, ys).map_err(core_err)
}

fn loss<T: backend::Elem>(
    x: *const T,
    target: *const T,
    n: usize,
    k: f64,
    tau: T,
    loss: *mut T,
    grad_x: *mut T,
) -> Result<(), i32> {
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
    // SAFETY: the outputs overlap neither the inputs nor each other.
    let (xs, ts) = unsafe { (rx.slice(), rt.slice()) };
    // SAFETY: grad_x is disjoint from x, target and loss (checked above).
    let gs = rg.map(|r| unsafe { r.slice_mut() });
    let value = backend::loss(xs, ts, k, tau, gs).map_err(core_err)?;
    // SAFETY: `loss` is a checked, non-NULL, aligned element disjoint from every slice.
    unsafe { rl.write_first(value) };
    Ok(())
}

/// Where the multiclass scratch comes from.
enum Scratch<T> {
    /// The caller's buffer (`scratch`, `scratch_len` elements).
    Caller(*mut T, usize),
    /// Allocate `multiclass_scratch_len(batch, classes)` elements (std only).
    #[cfg(feature = "std")]
    Alloc,
}

#[allow(clippy::too_many_arguments)]
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
) -> Result<(), i32> {
    let rx = Region::new2(logits, batch, classes)?;
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
        Some(Region::new2(grad_logits, batch, classes)?)
    };
    let rs = match scratch {
        Scratch::Caller(p, len) => Some(Region::new(p, len)?),
        #[cfg(feature = "std")]
        Scratch::Alloc => None,
    };
    let empty = (0usize, 0usize);
    let inputs = [span(&rx), span(&rlab), rk.as_ref().map_or(empty, span)];
    disjoint(&rl, &inputs)?;
    if let Some(rg) = &rg {
        disjoint(rg, &inputs)?;
        disjoint(rg, &[span(&rl)])?;
    }
    if let Some(rs) = &rs {
        disjoint(rs, &inputs)?;
        disjoint(rs, &[span(&rl), rg.as_ref().map_or(empty, span)])?;
    }
    let reduction = match reduction {
        HS_REDUCTION_SUM => Reduction::Sum,
        HS_REDUCTION_MEAN => Reduction::Mean,
        _ => return Err(HS_ERR_INVALID_REDUCTION),
    };
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
            backend::loss_multiclass(xs, ls, classes, ck, tau, reduction, gs, ss)
        }
        None => {
            #[cfg(feature = "std")]
            {
                let len = backend::multiclass_scratch_len(batch, classes);
                let mut buf = std::vec::Vec::new();
                buf.try_reserve_exact(len)
                    .map_err(|_| HS_ERR_OUT_OF_MEMORY)?;
                buf.resize(len, T::ZERO);
                backend::loss_multiclass(xs, ls, classes, ck, tau, reduction, gs, &mut buf)
            }
            #[cfg(not(feature = "std"))]
            {
                return Err(HS_ERR_NULL_POINTER);
            }
        }
    }
    .map_err(core_err)?;
    // SAFETY: `loss` is a checked, non-NULL, aligned element disjoint from every slice.
    unsafe { rl.write_first(value) };
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The C ABI.

/// Soft-Binary-Argmax@k (single precision): `y = Π_Δ(n,k)(x/τ)`, the Euclidean projection of
/// `x/τ` onto the hypersimplex `{y ∈ [0,1]^n : Σy = k}`, i.e. `y[i] = clip(x[i]/τ − λ, 0, 1)`
/// with the scalar λ such that `Σ y = k`.
///
/// * `x`: n input logits (any finite values). `y`: n outputs in [0, 1] with sum k.
/// * `k`: real target sum, `0 <= k <= n` (need not be an integer; `k = 1` is sparsemax of x/τ).
///   A double so that counts above 2^24 stay exact.
/// * `tau`: temperature, finite and > 0 (same units as x).
/// * NULL: `x`, `y` may be NULL only when `n == 0`.
/// * Aliasing: `y == x` computes in place; any other overlap of y and x is `HS_ERR_OVERLAP`.
///
/// Errors: `HS_ERR_INVALID_TAU`, `HS_ERR_INVALID_K`, `HS_ERR_NON_FINITE_INPUT` (NaN/inf in x),
/// `HS_ERR_SCALE_OVERFLOW` (x/τ or 1/τ overflows float), and the pointer errors. On error `y`
/// is unchanged.
///
/// # Safety
/// `x` and `y` point to `n` valid elements each (or are NULL with `n == 0`).
#[no_mangle]
pub unsafe extern "C" fn hs_soft_binary_argmax_f32(
    x: *const f32,
    n: usize,
    k: f64,
    tau: f32,
    y: *mut f32,
) -> i32 {
    run(|| forward(x, n, k, tau, y))
}

/// Soft-Binary-Argmax@k in double precision: as `hs_soft_binary_argmax_f32` with `double`
/// x, y and tau.
///
/// # Safety
/// `x` and `y` point to `n` valid elements each (or are NULL with `n == 0`).
#[no_mangle]
pub unsafe extern "C" fn hs_soft_binary_argmax_f64(
    x: *const f64,
    n: usize,
    k: f64,
    tau: f64,
    y: *mut f64,
) -> i32 {
    run(|| forward(x, n, k, tau, y))
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
/// Errors: `HS_ERR_INVALID_TAU`, `HS_ERR_SCALE_OVERFLOW` (1/τ overflows),
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
    run(|| vjp(y, g, n, tau, grad_x))
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
    run(|| vjp(y, g, n, tau, grad_x))
}

/// Binary-Argmax@k (single precision): the hard top-k mask, `y[i] = 1` for the k largest
/// entries of x and 0 elsewhere; among equal values the lower index wins, so `Σ y = k`
/// exactly. It is the τ → 0 limit of Soft-Binary-Argmax@k.
///
/// * `x`: n finite values; `y`: n outputs (0 or 1); `k`: `0 <= k <= n`.
/// * NULL: `x`, `y` may be NULL only when `n == 0`.
/// * Aliasing: `y == x` writes the mask over x (then by bisection: up to 37 passes over x for
///   float, 69 for double, instead of an expected-linear selection); any other overlap is
///   `HS_ERR_OVERLAP`.
///
/// Errors: `HS_ERR_INVALID_K` (k > n), `HS_ERR_NON_FINITE_INPUT`, and the pointer errors. On
/// error `y` is unchanged.
///
/// # Safety
/// `x` and `y` point to `n` valid elements each (or are NULL with `n == 0`).
#[no_mangle]
pub unsafe extern "C" fn hs_binary_argmax_f32(
    x: *const f32,
    n: usize,
    k: usize,
    y: *mut f32,
) -> i32 {
    run(|| topk(x, n, k, y))
}

/// Binary-Argmax@k in double precision: as `hs_binary_argmax_f32` with `double`.
///
/// # Safety
/// `x` and `y` point to `n` valid elements each (or are NULL with `n == 0`).
#[no_mangle]
pub unsafe extern "C" fn hs_binary_argmax_f64(
    x: *const f64,
    n: usize,
    k: usize,
    y: *mut f64,
) -> i32 {
    run(|| topk(x, n, k, y))
}

/// Soft-Binary-Argmax@k of each row of a row-major `rows × n` matrix (single precision):
/// `y[r] = Π_Δ(n,k[r])(x[r]/τ)` for every row r.
///
/// * `x`, `y`: `rows*n` floats, row-major (row r starts at element `r*n`).
/// * `k`: `rows` doubles, one target sum per row, each in `[0, n]`.
/// * `tau`: one temperature for all rows, finite and > 0.
/// * NULL: `x`, `y` may be NULL only when `rows*n == 0`; `k` only when `rows == 0`.
/// * Aliasing: `y == x` computes in place; `y` must not overlap `k`; any other overlap is
///   `HS_ERR_OVERLAP`.
///
/// Every row is validated before any row is written. Errors (checked in this order after the
/// pointers): `HS_ERR_LENGTH_MISMATCH` (`rows*n` overflows), `HS_ERR_INVALID_TAU`,
/// `HS_ERR_SCALE_OVERFLOW` (1/τ), `HS_ERR_INVALID_K` (any row), `HS_ERR_NON_FINITE_INPUT` /
/// `HS_ERR_SCALE_OVERFLOW` (any x). On error `y` is unchanged.
///
/// # Safety
/// `x`, `y` point to `rows*n` valid elements and `k` to `rows` (or NULL as above).
#[no_mangle]
pub unsafe extern "C" fn hs_soft_binary_argmax_rows_f32(
    x: *const f32,
    rows: usize,
    n: usize,
    k: *const f64,
    tau: f32,
    y: *mut f32,
) -> i32 {
    run(|| forward_rows(x, rows, n, k, tau, y))
}

/// Row-wise Soft-Binary-Argmax@k in double precision: as `hs_soft_binary_argmax_rows_f32`
/// with `double` x, y and tau.
///
/// # Safety
/// `x`, `y` point to `rows*n` valid elements and `k` to `rows` (or NULL as above).
#[no_mangle]
pub unsafe extern "C" fn hs_soft_binary_argmax_rows_f64(
    x: *const f64,
    rows: usize,
    n: usize,
    k: *const f64,
    tau: f64,
    y: *mut f64,
) -> i32 {
    run(|| forward_rows(x, rows, n, k, tau, y))
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
/// `HS_ERR_SCALE_OVERFLOW`, `HS_ERR_NON_FINITE_INPUT`, pointer errors; all rows are validated
/// before any is written, and on error `grad_x` is unchanged.
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
    run(|| vjp_rows(y, g, rows, n, tau, grad_x))
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
    run(|| vjp_rows(y, g, rows, n, tau, grad_x))
}

/// Binary HyperSimplex loss (single precision):
/// `*loss = ½ ‖Π_Δ(n,k)(x/τ) − target‖²` and, when `grad_x` is not NULL, its gradient
/// `grad_x = Jᵀ(ŷ − target)`, i.e. `(r[i] − mean_{j∈A} r[j]) / τ` on the free set A of
/// `ŷ = Π_Δ(n,k)(x/τ)`, 0 elsewhere, with `r = ŷ − target`.
///
/// * `x`: n logits; `target`: n labels in [0, 1] (0/1 or soft); `k`: usually the number of
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
    run(|| self::loss(x, target, n, k, tau, loss, grad_x))
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
    run(|| self::loss(x, target, n, k, tau, loss, grad_x))
}

/// Multiclass HyperSimplex loss (single precision; std build only, it allocates `batch`
/// floats of scratch; in no_std builds use `hs_hypersimplex_loss_multiclass_scratch_f32`).
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
/// `HS_ERR_NON_FINITE_INPUT`, `HS_ERR_SCALE_OVERFLOW`, `HS_ERR_OUT_OF_MEMORY`, pointer
/// errors. On error `*loss` and `grad_logits` are unchanged.
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
    run(|| {
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
    run(|| {
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
    run(|| {
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
    run(|| {
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

/// A static, NUL-terminated, human-readable description of any status value (`"success"` for
/// `HS_OK`, `"unknown status"` for values that are not status codes). Never NULL; do not free.
#[no_mangle]
pub extern "C" fn hs_status_message(status: i32) -> *const c_char {
    status::message(status)
}

/// The library version, `"MAJOR.MINOR.PATCH"`, as a static NUL-terminated string. Never
/// NULL; do not free.
#[no_mangle]
pub extern "C" fn hs_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_match_core() {
        use hs_core::Error::*;
        for e in [
            LengthMismatch,
            InvalidK,
            NonIntegerK,
            InvalidTau,
            NonFiniteInput,
            ScaleOverflow,
            LabelOutOfRange,
            ScratchTooSmall,
            InvalidTarget,
            InvalidReduction,
        ] {
            let p = hs_status_message(status::from_error(e));
            // SAFETY: hs_status_message returns a static NUL-terminated string.
            let s = unsafe { core::ffi::CStr::from_ptr(p) }.to_str().unwrap();
            assert_eq!(s, e.message(), "{e:?}");
        }
        let codes: std::vec::Vec<i32> = MESSAGES.iter().map(|m| m.0).collect();
        for (i, c) in codes.iter().enumerate() {
            assert!(*c <= 0);
            assert!(!codes[i + 1..].contains(c), "duplicate status {c}");
        }
    }

    #[test]
    fn panic_becomes_status() {
        assert_eq!(run(|| Ok(())), HS_OK);
        assert_eq!(run(|| Err(HS_ERR_INVALID_K)), HS_ERR_INVALID_K);
        let prev = std::panic::take_hook();
        std::panic::set_hook(std::boxed::Box::new(|_| {}));
        let s = run(|| panic!("boom"));
        std::panic::set_hook(prev);
        assert_eq!(s, HS_ERR_PANIC);
    }

    #[test]
    fn inplace_topk_matches_core() {
        let mut seed = 7u64;
        for n in [1usize, 2, 3, 5, 17, 100, 300] {
            for rep in 0..20 {
                let x: std::vec::Vec<f64> = (0..n)
                    .map(|_| {
                        seed = seed
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        let r = (seed >> 33) as f64 / (1u64 << 31) as f64;
                        match rep % 4 {
                            0 => (r * 6.0).floor() - 3.0, // many ties
                            1 => r * 2e300 - 1e300,
                            2 => {
                                if r < 0.5 {
                                    -0.0
                                } else {
                                    0.0
                                }
                            }
                            _ => r - 0.5,
                        }
                    })
                    .collect();
                for k in [0, 1, n / 2, n.saturating_sub(1), n] {
                    let mut want = std::vec![0.0f64; n];
                    hs_core::binary_argmax(&x, k as f64, &mut want).unwrap();
                    let mut got = x.clone();
                    hs_core::binary_argmax_in_place(&mut got, k as f64).unwrap();
                    assert_eq!(got, want, "n={n} k={k} x={x:?}");
                    let xf: std::vec::Vec<f32> =
                        x.iter().map(|&v| v.clamp(-1e30, 1e30) as f32).collect();
                    let mut want = std::vec![0.0f32; n];
                    hs_core::binary_argmax(&xf, k as f64, &mut want).unwrap();
                    let mut got = xf.clone();
                    hs_core::binary_argmax_in_place(&mut got, k as f64).unwrap();
                    assert_eq!(got, want, "f32 n={n} k={k}");
                }
            }
        }
    }
}
