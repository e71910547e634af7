//! Forward: `hs_soft_binary_argmax_*` and its row-wise batch `hs_soft_binary_argmax_rows_*`.

use crate::backend;
use crate::ptr::{disjoint, in_place_or, rows_regions, span, Region};
use crate::Work::{Solve, Vector};
use crate::{core_err, run};
use hs_core::internal::validate;

#[inline]
fn forward<T: backend::Elem>(x: *const T, n: usize, k: f64, tau: T, y: *mut T) -> Result<(), i32> {
    let rx = Region::new(x, n)?;
    let ry = Region::new(y, n)?;
    // SAFETY: no slice of y exists.
    unsafe {
        in_place_or(
            &rx,
            &ry,
            |xy| backend::soft_binary_argmax_in_place(xy, k, tau).map_err(core_err),
            |xs, ys| backend::soft_binary_argmax(xs, k, tau, ys).map_err(core_err),
        )
    }
    .map(drop)
}

#[inline]
fn forward_rows<T: backend::Elem>(
    x: *const T,
    rows: usize,
    n: usize,
    k: *const f64,
    tau: T,
    y: *mut T,
) -> Result<(), i32> {
    let (rx, ry, rk) = rows_regions(x, y, k, rows, n)?;
    let in_place = ry.same(&rx);
    if !in_place {
        disjoint(&ry, &[span(&rx)])?;
    }
    // Validate everything a row could fail on before writing any row.
    let scale = validate::tau_scale(tau).map_err(core_err)?;
    // SAFETY: checked regions; no mutable slice exists yet.
    let ks = unsafe { rk.slice() };
    // The std build's out-of-place batch (`hypersimplex_simd::soft_binary_argmax_rows`) makes
    // the same k, finiteness and mask checks itself, in the same order, before writing any row,
    // with the same errors: a second pass over x here would cost as much as the short-row
    // solve (issue 14), and a second one over k a tenth of it. (With n = 0 nothing is called
    // below, so k is checked here.)
    let checked_below = cfg!(feature = "std") && !in_place && n > 0;
    if !checked_below {
        for &kr in ks {
            validate::k_in_range(n, kr).map_err(core_err)?;
        }
    }
    // SAFETY: as above; this shared slice of x ends before y is borrowed mutably.
    let xs = unsafe { rx.slice() };
    if !checked_below {
        if let Err(_e) = validate::scaled_finite(xs, scale) {
            // ±∞ are masks where k allows them; NaN, overflow or an infeasible k fail here.
            #[cfg(not(target_os = "none"))]
            hs_core::internal::mask::check_rows(
                xs,
                n,
                |i| ks.get(i).copied().unwrap_or(0.0),
                scale,
            )
            .map_err(core_err)?;
            #[cfg(target_os = "none")]
            return Err(core_err(_e));
        }
    }
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

/// Soft-Binary-Argmax@k (single precision): `y = Π_Δ(n,k)(x/τ)`, the Euclidean projection of
/// `x/τ` onto the hypersimplex `{y ∈ [0,1]^n : Σy = k}`, i.e. `y[i] = clip(x[i]/τ − λ, 0, 1)`
/// with the scalar λ such that `Σ y = k`.
///
/// * `x`: n input logits. `-INFINITY` and `+INFINITY` are masks (std build): `y[i] = 0` and
///   `y[i] = 1` exactly, and the finite entries are projected onto what is left (sum
///   `k − #(+inf)`); `k` must lie in `[#(+inf), n − #(−inf)]`. `y`: n outputs in [0, 1] with
///   sum k.
/// * `k`: real target sum, `0 <= k <= n` (need not be an integer; `k = 1` is sparsemax of x/τ).
///   A double so that counts above 2^24 stay exact.
/// * `tau`: temperature, finite and > 0 (same units as x).
/// * NULL: `x`, `y` may be NULL only when `n == 0`.
/// * Aliasing: `y == x` computes in place; any other overlap of y and x is `HS_ERR_OVERLAP`.
/// * Accuracy: each `y[i]` within `4·FLT_EPSILON` of the exact projection of the real numbers
///   `x[i]/τ`, at every scale of `x/τ` (std build; see the README's "Accuracy").
///
/// Errors: `HS_ERR_INVALID_TAU`, `HS_ERR_INVALID_K` (also: k outside the masks' range),
/// `HS_ERR_NON_FINITE_INPUT` (NaN in x; also ±inf in the no_std build),
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
    run(Vector, n, || forward(x, n, k, tau, y))
}

/// Soft-Binary-Argmax@k in double precision: as `hs_soft_binary_argmax_f32` with `double`
/// x, y and tau (each `y[i]` within `4·DBL_EPSILON` of the exact projection).
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
    run(Vector, n, || forward(x, n, k, tau, y))
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
/// `HS_ERR_SCALE_OVERFLOW` (any x), `HS_ERR_OUT_OF_MEMORY` (std build: the per-row results,
/// a few bytes per row). On error `y` is unchanged.
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
    run(Solve, rows.saturating_mul(n), || {
        forward_rows(x, rows, n, k, tau, y)
    })
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
    run(Solve, rows.saturating_mul(n), || {
        forward_rows(x, rows, n, k, tau, y)
    })
}
