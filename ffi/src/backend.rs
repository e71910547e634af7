//! The one place where the C ABI calls into the computational kernels.
//!
//! With the `std` feature (the default) every function routes to the `hypersimplex-simd`
//! crate: AVX2 / NEON kernels chosen at run time, and rayon for large batches and vectors.
//! Without it (`no_std`, firmware) everything runs on the portable `hypersimplex` core crate.
//! The ABI layer in `lib.rs` has already checked pointers, lengths and overlaps, and, for the
//! `*_rows` functions, every value that could make a row fail, so the row loops here never
//! fail half way.

use hs_core::internal::rows;
#[cfg(not(feature = "std"))]
use hs_core::Real;
use hs_core::{ClassK, Error, Reduction};

#[cfg(feature = "std")]
use hypersimplex_simd as fast;

/// The element types the backend accepts (`f32`, `f64`): the SIMD crate's `Element` in std
/// builds, the core crate's `Real` otherwise.
#[cfg(feature = "std")]
pub(crate) trait Elem: fast::Element {}
#[cfg(feature = "std")]
impl<T: fast::Element> Elem for T {}
/// The element types the backend accepts (`f32`, `f64`).
#[cfg(not(feature = "std"))]
pub(crate) trait Elem: Real {}
#[cfg(not(feature = "std"))]
impl<T: Real> Elem for T {}

/// `y = Π_Δ(n,k)(x/τ)`.
#[inline]
pub(crate) fn soft_binary_argmax<T: Elem>(
    x: &[T],
    k: f64,
    tau: T,
    y: &mut [T],
) -> Result<(), Error> {
    #[cfg(feature = "std")]
    return fast::soft_binary_argmax(x, k, tau, y).map(|_| ());
    #[cfg(not(feature = "std"))]
    hs_core::soft_binary_argmax(x, k, tau, y).map(|_| ())
}

/// `x ← Π_Δ(n,k)(x/τ)`.
#[inline]
pub(crate) fn soft_binary_argmax_in_place<T: Elem>(
    x: &mut [T],
    k: f64,
    tau: T,
) -> Result<(), Error> {
    #[cfg(feature = "std")]
    return fast::soft_binary_argmax_in_place(x, k, tau).map(|_| ());
    #[cfg(not(feature = "std"))]
    hs_core::soft_binary_argmax_in_place(x, k, tau).map(|_| ())
}

/// `grad_x = Jᵀ g`.
#[inline]
pub(crate) fn vjp<T: Elem>(y: &[T], g: &[T], tau: T, grad_x: &mut [T]) -> Result<(), Error> {
    #[cfg(feature = "std")]
    return fast::soft_binary_argmax_vjp(y, g, tau, grad_x);
    #[cfg(not(feature = "std"))]
    hs_core::soft_binary_argmax_vjp(y, g, tau, grad_x)
}

/// `g ← Jᵀ g`.
#[inline]
pub(crate) fn vjp_in_place<T: Elem>(y: &[T], g: &mut [T], tau: T) -> Result<(), Error> {
    #[cfg(feature = "std")]
    return fast::soft_binary_argmax_vjp_in_place(y, g, tau);
    #[cfg(not(feature = "std"))]
    hs_core::soft_binary_argmax_vjp_in_place(y, g, tau)
}

/// Top-k mask of `x` into `y`.
#[inline]
pub(crate) fn binary_argmax<T: Elem>(x: &[T], k: f64, y: &mut [T]) -> Result<(), Error> {
    #[cfg(feature = "std")]
    return fast::binary_argmax(x, k, y);
    #[cfg(not(feature = "std"))]
    hs_core::binary_argmax(x, k, y)
}

/// Top-k mask of `x` written over `x`.
#[inline]
pub(crate) fn binary_argmax_in_place<T: Elem>(x: &mut [T], k: f64) -> Result<(), Error> {
    #[cfg(feature = "std")]
    return fast::binary_argmax_in_place(x, k);
    #[cfg(not(feature = "std"))]
    hs_core::binary_argmax_in_place(x, k)
}

/// Top-k masks of the rows of `x` (`ks.len()` rows of `n`) into `y`, every row checked first.
#[inline]
pub(crate) fn binary_argmax_rows<T: Elem>(
    x: &[T],
    n: usize,
    ks: &[usize],
    y: &mut [T],
) -> Result<(), Error> {
    #[cfg(feature = "std")]
    return fast::binary_argmax_rows(x, n, ks, y);
    #[cfg(not(feature = "std"))]
    {
        if y.len() != x.len() {
            return Err(Error::LengthMismatch);
        }
        hs_core::internal::topk::prepare_rows(x, n, ks)?;
        for ((xr, yr), &k) in x.chunks(n.max(1)).zip(y.chunks_mut(n.max(1))).zip(ks) {
            hs_core::binary_argmax(xr, k as f64, yr)?;
        }
        Ok(())
    }
}

/// Top-k masks of the rows of `x` written over `x`, every row checked first.
#[inline]
pub(crate) fn binary_argmax_rows_in_place<T: Elem>(
    x: &mut [T],
    n: usize,
    ks: &[usize],
) -> Result<(), Error> {
    #[cfg(feature = "std")]
    return fast::binary_argmax_rows_in_place(x, n, ks);
    #[cfg(not(feature = "std"))]
    {
        hs_core::internal::topk::prepare_rows(x, n, ks)?;
        for (xr, &k) in x.chunks_mut(n.max(1)).zip(ks) {
            hs_core::binary_argmax_in_place(xr, k as f64)?;
        }
        Ok(())
    }
}

/// Row-wise forward through the SIMD crate's batched entry point (parallel above a size
/// threshold; every row validated before any is written).
#[cfg(feature = "std")]
pub(crate) fn soft_binary_argmax_rows<T: Elem>(
    x: &[T],
    n: usize,
    ks: &[f64],
    tau: T,
    y: &mut [T],
) -> Result<(), Error> {
    fast::soft_binary_argmax_rows(x, ks.len(), n, fast::RowK::PerRow(ks), tau, y)
}

/// Row-wise VJP through the SIMD crate's batched entry point.
#[cfg(feature = "std")]
pub(crate) fn vjp_rows<T: Elem>(
    y: &[T],
    g: &[T],
    n: usize,
    tau: T,
    grad_x: &mut [T],
) -> Result<(), Error> {
    let rows = y.len().checked_div(n).unwrap_or(0);
    fast::soft_binary_argmax_vjp_rows(y, g, rows, n, tau, grad_x)
}

/// Row-wise forward (`n > 0`, `x.len() == y.len() == ks.len() * n`, inputs pre-validated).
#[cfg(not(feature = "std"))]
pub(crate) fn soft_binary_argmax_rows<T: Elem>(
    x: &[T],
    n: usize,
    ks: &[f64],
    tau: T,
    y: &mut [T],
) -> Result<(), Error> {
    // `split_at_checked` rather than `chunks_exact`: no division and no panic path at all,
    // which the firmware's link-time no-panic proof checks.
    rows::with_k(x, n, ks, y, |xr, k, yr| soft_binary_argmax(xr, k, tau, yr))
}

/// Row-wise forward in place (`n > 0`, pre-validated).
pub(crate) fn soft_binary_argmax_rows_in_place<T: Elem>(
    x: &mut [T],
    n: usize,
    ks: &[f64],
    tau: T,
) -> Result<(), Error> {
    rows::with_k_in_place(x, n, ks, |xr, k| soft_binary_argmax_in_place(xr, k, tau))
}

/// Row-wise VJP (`n > 0`, pre-validated).
#[cfg(not(feature = "std"))]
pub(crate) fn vjp_rows<T: Elem>(
    y: &[T],
    g: &[T],
    n: usize,
    tau: T,
    grad_x: &mut [T],
) -> Result<(), Error> {
    rows::triples(y, g, grad_x, n, |yr, gr, or| vjp(yr, gr, tau, or))
}

/// Row-wise VJP in place over `g` (`n > 0`, pre-validated).
pub(crate) fn vjp_rows_in_place<T: Elem>(
    y: &[T],
    g: &mut [T],
    n: usize,
    tau: T,
) -> Result<(), Error> {
    rows::pairs_mut(y, g, n, |yr, gr| vjp_in_place(yr, gr, tau))
}

/// Binary HyperSimplex loss and optional gradient.
#[inline]
pub(crate) fn loss<T: Elem>(
    x: &[T],
    target: &[T],
    k: f64,
    tau: T,
    grad_x: Option<&mut [T]>,
) -> Result<T, Error> {
    #[cfg(feature = "std")]
    return fast::hypersimplex_loss(x, target, k, tau, grad_x);
    #[cfg(not(feature = "std"))]
    hs_core::hypersimplex_loss(x, target, k, tau, grad_x)
}

/// Multiclass HyperSimplex loss with caller scratch (at least `multiclass_scratch_len`
/// elements): the core crate's code in every build, so that no memory other than the caller's
/// scratch is used (single thread, portable kernels; the result of [`loss_multiclass_alloc`]
/// up to the rounding of the per-class sums, which the SIMD kernels add in lane order).
#[allow(clippy::too_many_arguments)]
#[inline]
pub(crate) fn loss_multiclass_scratch<T: Elem>(
    logits: &[T],
    labels: &[u32],
    classes: usize,
    k: ClassK<'_>,
    tau: T,
    reduction: Reduction,
    grad: Option<&mut [T]>,
    scratch: &mut [T],
) -> Result<T, Error> {
    hs_core::hypersimplex_loss_multiclass(logits, labels, classes, k, tau, reduction, grad, scratch)
}

/// Multiclass HyperSimplex loss on the SIMD crate (std only): vectorized, columns solved in
/// parallel; allocates the transposed logits (`batch·classes` elements) and small per-class
/// and per-thread buffers, each fallibly (`Error::OutOfMemory`).
#[cfg(feature = "std")]
#[inline]
#[allow(clippy::too_many_arguments)]
pub(crate) fn loss_multiclass_alloc<T: Elem>(
    logits: &[T],
    labels: &[u32],
    classes: usize,
    k: ClassK<'_>,
    tau: T,
    reduction: Reduction,
    grad: Option<&mut [T]>,
    lambda: Option<&mut [f64]>,
) -> Result<T, Error> {
    match lambda {
        None => {
            fast::hypersimplex_loss_multiclass(logits, labels, classes, k, tau, reduction, grad)
        }
        Some(l) => fast::hypersimplex_loss_multiclass_lambda(
            logits, labels, classes, k, tau, reduction, grad, l,
        ),
    }
}

/// Scratch elements the multiclass loss needs.
#[inline]
pub(crate) fn multiclass_scratch_len(batch: usize, classes: usize) -> usize {
    hs_core::multiclass_scratch_len(batch, classes)
}
