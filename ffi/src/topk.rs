//! The hard top-k mask `hs_binary_argmax_*`.

use crate::backend;
use crate::ptr::{in_place_or, rows_regions, Region};
use crate::status::HS_ERR_INVALID_K;
use crate::Work::{Serial, Solve};
use crate::{core_err, run};

#[inline]
fn topk<T: backend::Elem>(x: *const T, n: usize, k: usize, y: *mut T) -> Result<(), i32> {
    let rx = Region::new(x, n)?;
    let ry = Region::new(y, n)?;
    if k > n {
        return Err(HS_ERR_INVALID_K);
    }
    // SAFETY: no slice of y exists.
    unsafe {
        in_place_or(
            &rx,
            &ry,
            |xy| backend::binary_argmax_in_place(xy, k as f64).map_err(core_err),
            |xs, ys| backend::binary_argmax(xs, k as f64, ys).map_err(core_err),
        )
    }
}

#[inline]
fn topk_rows<T: backend::Elem>(
    x: *const T,
    rows: usize,
    n: usize,
    k: *const usize,
    y: *mut T,
) -> Result<(), i32> {
    let (rx, ry, rk) = rows_regions(x, y, k, rows, n)?;
    // SAFETY: checked region; y (the only buffer written) does not overlap k.
    let ks = unsafe { rk.slice() };
    // SAFETY: the only other slice, of k, does not overlap y.
    unsafe {
        in_place_or(
            &rx,
            &ry,
            |xy| backend::binary_argmax_rows_in_place(xy, n, ks).map_err(core_err),
            |xs, ys| backend::binary_argmax_rows(xs, n, ks, ys).map_err(core_err),
        )
    }
}

/// Binary-Argmax@k (single precision): the hard top-k mask, `y[i] = 1` for the k largest
/// entries of x and 0 elsewhere; among equal values the lower index wins, so `Σ y = k`
/// exactly. It is the τ → 0 limit of Soft-Binary-Argmax@k.
///
/// * `x`: n values, no NaN; `+INFINITY` ranks first and `-INFINITY` last, as masks: k must keep
///   every +inf in and every -inf out (`#(+inf) <= k <= n - #(-inf)`, std build);
///   `y`: n outputs (0 or 1); `k`: `0 <= k <= n`.
/// * NULL: `x`, `y` may be NULL only when `n == 0`.
/// * Aliasing: `y == x` writes the mask over x (the std build allocates a few percent of n
///   for it from 2048 entries, as out of place; below, and in the no_std build, it finds the
///   threshold by bisection: up to 37 passes over x for float, 69 for double); any other
///   overlap is `HS_ERR_OVERLAP`.
/// * Method (std build, n >= 2048): the k-th largest value from one pass that counts the
///   values above a sampled bracket and gathers those inside it (about 1 ns per value, 10x
///   less than a selection on a copy); expected linear time, the same mask.
///
/// Errors: `HS_ERR_INVALID_K` (k > n, or k outside the masks' range), `HS_ERR_NON_FINITE_INPUT`
/// (NaN; also ±inf in the no_std build), and the pointer errors. On
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
    run(Serial, n, || topk(x, n, k, y))
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
    run(Serial, n, || topk(x, n, k, y))
}

/// Binary-Argmax@k of each row of a row-major `rows × n` matrix (single precision): `y[r] =`
/// the top-`k[r]` mask of `x[r]`, each row exactly as `hs_binary_argmax_f32` computes it.
///
/// * `x`, `y`: `rows*n` floats, row-major; `k`: `rows` counts, each `<= n`.
/// * NULL: `x`, `y` may be NULL only when `rows*n == 0`; `k` only when `rows == 0`.
/// * Aliasing: `y == x` writes the masks over x; `y` must not overlap `k`; any other overlap is
///   `HS_ERR_OVERLAP`.
///
/// Every row is checked before any row is written; the std build splits batches of at least
/// 32768 values over its pool. Errors: `HS_ERR_LENGTH_MISMATCH` (`rows*n` overflows), then the
/// first failing row's: `HS_ERR_INVALID_K` (`k[r] > n`, or outside the row's ±inf masks'
/// range), `HS_ERR_NON_FINITE_INPUT` (NaN); and the pointer errors. On error `y` is unchanged.
///
/// # Safety
/// `x`, `y` point to `rows*n` valid elements and `k` to `rows` (or NULL as above).
#[no_mangle]
pub unsafe extern "C" fn hs_binary_argmax_rows_f32(
    x: *const f32,
    rows: usize,
    n: usize,
    k: *const usize,
    y: *mut f32,
) -> i32 {
    run(Solve, rows.saturating_mul(n), || {
        topk_rows(x, rows, n, k, y)
    })
}

/// Row-wise Binary-Argmax@k in double precision: as `hs_binary_argmax_rows_f32` with `double`.
///
/// # Safety
/// `x`, `y` point to `rows*n` valid elements and `k` to `rows` (or NULL as above).
#[no_mangle]
pub unsafe extern "C" fn hs_binary_argmax_rows_f64(
    x: *const f64,
    rows: usize,
    n: usize,
    k: *const usize,
    y: *mut f64,
) -> i32 {
    run(Solve, rows.saturating_mul(n), || {
        topk_rows(x, rows, n, k, y)
    })
}
