//! The half-precision losses (issue 15): `bf16`/`f16` logits, targets and gradients, `f32`
//! arithmetic, through this crate's `f32` losses, so that each result is, bit for bit, the
//! `f32` loss of the widened inputs (λ, the loss) with each gradient entry rounded once to
//! nearest even, on every path and thread count.
//!
//! * **Multiclass** ([`Kernels::hypersimplex_loss_multiclass_half`]): `Kernels::multiclass`
//!   with [`McStore`] for the half types. The logits are widened in blocks on the stack as the
//!   transposition into per-class columns reads them (the columns are `f32` scratch in the
//!   `f32` loss too), and the gradient is computed in `f32` blocks on the stack and rounded as
//!   it is written: no `f32` copy of the batch.
//! * **Binary** ([`Kernels::hypersimplex_loss_half`]): `x` and the targets are widened into
//!   the caller's scratch (the residual's `f64` sums have an order fixed by the length, so the
//!   `f32` kernels read whole `f32` vectors), then the `f32` loss with the gradient rounded in
//!   stack blocks as it is written.

use hypersimplex::half::{grad_scale_half, Bf16, Half, F16};
use hypersimplex::internal::mask::check_line;
use hypersimplex::internal::validate::multiclass_args;
use hypersimplex::{ClassK, Error, Reduction};

use hypersimplex::internal::frame::Shift;
use hypersimplex::internal::solve::Solution;

use super::forward::grow;
use super::Conv;
use crate::batch::McStore;
use crate::element::Element;
use crate::platform::Kernels;

/// `f32` elements widened at a time (8 KiB on the stack, in L1).
const BLOCK: usize = 2048;

impl Kernels {
    /// The binary HyperSimplex loss `½‖Π_Δ(n,k)(x/τ) − t‖²` on half-precision `x` and targets
    /// `t`: [`Kernels::hypersimplex_loss`] of the widened `x` and `t`, computed in `f32` (the
    /// loss bit for bit), the gradient entries rounded once to nearest even. `x` and `t` are
    /// widened into `scratch` (grown as needed, reusable across calls); the gradient is
    /// computed in `f32` blocks on the stack and rounded as it is written.
    ///
    /// # Errors
    /// As `hypersimplex::half::hypersimplex_loss_half` (the same checks in the same order),
    /// and [`Error::OutOfMemory`]. On error `grad` is not modified.
    pub fn hypersimplex_loss_half<H: Half + McStore<f32>>(
        self,
        x: &[H],
        target: &[H],
        k: f64,
        tau: f32,
        grad: Option<&mut [H]>,
        scratch: &mut Vec<f32>,
    ) -> Result<f32, Error> {
        let n = x.len();
        if target.len() != n || grad.as_ref().is_some_and(|g| g.len() != n) {
            return Err(Error::LengthMismatch);
        }
        let conv = Conv::new(self);
        let buf = grow(scratch, n.saturating_mul(2))?;
        let (xw, tw) = buf.split_at_mut(n);
        conv.widen(x, xw);
        conv.widen(target, tw);
        self.loss_with(xw, tw, k, tau, grad, grad_scale_half::<H>)
    }

    /// The multiclass HyperSimplex loss on half-precision logits:
    /// [`Kernels::hypersimplex_loss_multiclass`] of the widened logits, computed in `f32`,
    /// each gradient entry rounded once to nearest even (bitwise that, on every path).
    ///
    /// # Errors
    /// As `hypersimplex::half::hypersimplex_loss_multiclass_half` (the same checks in the same
    /// order, without `ScratchTooSmall`), and [`Error::OutOfMemory`]. On error `grad` is not
    /// modified.
    #[allow(clippy::too_many_arguments)]
    pub fn hypersimplex_loss_multiclass_half<H: Half + McStore<f32>>(
        self,
        logits: &[H],
        labels: &[u32],
        classes: usize,
        k: ClassK<'_>,
        tau: f32,
        reduction: Reduction,
        grad: Option<&mut [H]>,
    ) -> Result<f32, Error> {
        self.multiclass_half(logits, labels, classes, k, tau, reduction, grad, None)
    }

    /// [`Kernels::hypersimplex_loss_multiclass_half`] that also reports each class's λ_c in
    /// `lambda` (`classes` values), as `hypersimplex::hypersimplex_loss_multiclass_lambda`.
    ///
    /// # Errors
    /// As [`Kernels::hypersimplex_loss_multiclass_half`], and [`Error::LengthMismatch`] unless
    /// `lambda.len() == classes` (checked first). On error `grad` and `lambda` are not modified.
    #[allow(clippy::too_many_arguments)]
    pub fn hypersimplex_loss_multiclass_lambda_half<H: Half + McStore<f32>>(
        self,
        logits: &[H],
        labels: &[u32],
        classes: usize,
        k: ClassK<'_>,
        tau: f32,
        reduction: Reduction,
        grad: Option<&mut [H]>,
        lambda: &mut [f64],
    ) -> Result<f32, Error> {
        if lambda.len() != classes {
            return Err(Error::LengthMismatch);
        }
        self.multiclass_half(
            logits,
            labels,
            classes,
            k,
            tau,
            reduction,
            grad,
            Some(lambda),
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn multiclass_half<H: Half + McStore<f32>>(
        self,
        logits: &[H],
        labels: &[u32],
        classes: usize,
        k: ClassK<'_>,
        tau: f32,
        reduction: Reduction,
        grad: Option<&mut [H]>,
        lambda: Option<&mut [f64]>,
    ) -> Result<f32, Error> {
        // the core's half checks before the `f32` ones: the gradient must fit the type
        let grad_len = grad.as_ref().map(|g| g.len());
        let (_, scale) = multiclass_args(logits.len(), labels, classes, k, tau, grad_len)?;
        if grad.is_some() {
            grad_scale_half::<H>(scale)?;
        }
        self.multiclass(logits, labels, classes, k, tau, reduction, grad, lambda)
    }
}

/// [`McStore::transpose`] for a half type: blocks of whole rows (or, for rows longer than
/// [`BLOCK`], of row segments) widened on the stack, each transposed by the `f32` kernel into
/// its place in `out` (a pure move of the values, whatever the blocks).
fn transpose<H: Half>(
    k: Kernels,
    x: &[H],
    cols: usize,
    s: f32,
    out: &mut [f32],
    stride: usize,
) -> bool {
    let Some(rows) = x.len().checked_div(cols) else {
        return true;
    };
    let conv = Conv::new(k);
    let mut buf = [0.0f32; BLOCK];
    let width = cols.min(BLOCK);
    let step = (BLOCK / width).max(1);
    let mut fin = true;
    for r0 in (0..rows).step_by(step) {
        let r1 = (r0 + step).min(rows);
        for c0 in (0..cols).step_by(width) {
            let w = width.min(cols - c0);
            let b = buf.get_mut(..(r1 - r0) * w).unwrap_or_default();
            if w == cols {
                // whole rows: one contiguous block
                conv.widen(x.get(r0 * cols..r1 * cols).unwrap_or_default(), b);
            } else {
                for (r, br) in (r0..r1).zip(b.chunks_mut(w)) {
                    let at = r * cols + c0;
                    conv.widen(x.get(at..at + w).unwrap_or_default(), br);
                }
            }
            let o = out.get_mut(c0 * stride + r0..).unwrap_or_default();
            fin &= <f32 as Element>::transpose(k, b, w, s, o, stride);
        }
    }
    fin
}

/// [`McStore::check_columns`] for a half type: NaN anywhere, then each class column (widened)
/// against its `k_c`, as the core's half loss checks.
fn check_columns<H: Half>(
    logits: &[H],
    labels: &[u32],
    classes: usize,
    k: ClassK<'_>,
    scale: f32,
) -> Result<(), Error> {
    if logits.iter().any(|v| v.is_nan()) {
        return Err(Error::NonFiniteInput);
    }
    let mut col = Vec::new();
    col.try_reserve_exact(labels.len())
        .map_err(|_| Error::OutOfMemory)?;
    for c in 0..classes {
        col.clear();
        col.extend(logits.iter().skip(c).step_by(classes).map(|v| v.to_f32()));
        check_line(col.as_slice(), k.of_class(labels, c), scale)?;
    }
    Ok(())
}

/// [`McStore::grad`] for a half type: the `f32` kernel into stack blocks, rounded into `out`.
#[allow(clippy::too_many_arguments)]
fn grad<H: Half>(
    k: Kernels,
    x: &[f32],
    t: &[f32],
    s: f32,
    lam: f32,
    mean: f32,
    factor: f32,
    out: &mut [H],
) {
    const B: usize = 512;
    let conv = Conv::new(k);
    let mut ob = [0.0f32; B];
    for ((xc, tc), oc) in x.chunks(B).zip(t.chunks(B)).zip(out.chunks_mut(B)) {
        let o = ob.get_mut(..xc.len()).unwrap_or_default();
        <f32 as Element>::grad(k, xc, tc, s, lam, mean, factor, o);
        conv.narrow(o, oc);
    }
}

/// [`McStore::loss_shifted`] for a half type: the `f32` computation into a temporary gradient,
/// rounded into `grad` once it succeeded.
fn loss_shifted<H: Half>(
    x: &[f32],
    target: &[f32],
    k: f64,
    scale: f32,
    sol: &Solution<f32>,
    sh: &Shift<f32>,
    grad: Option<&mut [H]>,
) -> Result<f32, Error> {
    let Some(g) = grad else {
        return hypersimplex::internal::loss_shifted(x, target, k, scale, sol, sh, None);
    };
    let mut tmp = Vec::new();
    tmp.try_reserve_exact(g.len())
        .map_err(|_| Error::OutOfMemory)?;
    tmp.resize(g.len(), 0.0f32);
    let v = hypersimplex::internal::loss_shifted(x, target, k, scale, sol, sh, Some(&mut tmp))?;
    hypersimplex::half::narrow(&tmp, g);
    Ok(v)
}

/// [`McStore::grad_pattern`] for a half type: blocks of `x` widened on the stack, the `f32`
/// kernel into a stack block, rounded into `out` (elementwise, so the blocks do not matter).
#[allow(clippy::too_many_arguments)]
fn grad_pattern<H: Half>(
    k: Kernels,
    x: &[H],
    t: &[f32],
    lam: &[f32],
    mean: &[f32],
    s: f32,
    factor: f32,
    out: &mut [H],
) {
    const B: usize = 512;
    let conv = Conv::new(k);
    let (mut wb, mut ob) = ([0.0f32; B], [0.0f32; B]);
    let parts = x
        .chunks(B)
        .zip(out.chunks_mut(B))
        .zip(t.chunks(B).zip(lam.chunks(B)).zip(mean.chunks(B)));
    for ((xc, oc), ((tc, lc), mc)) in parts {
        let n = xc.len();
        let (w, o) = (
            wb.get_mut(..n).unwrap_or_default(),
            ob.get_mut(..n).unwrap_or_default(),
        );
        conv.widen(xc, w);
        <f32 as Element>::grad_pattern(k, w, tc, lc, mc, s, factor, o);
        conv.narrow(o, oc);
    }
}

macro_rules! half_store {
    ($($h:ty),*) => {$(
        impl McStore<f32> for $h {
            #[inline(always)]
            fn wide(self) -> f32 {
                self.to_f32()
            }
            #[inline(always)]
            fn narrow(v: f32) -> Self {
                <$h>::from_f32(v)
            }
            fn transpose(
                k: Kernels,
                x: &[Self],
                cols: usize,
                s: f32,
                out: &mut [f32],
                stride: usize,
            ) -> bool {
                transpose(k, x, cols, s, out, stride)
            }
            #[allow(clippy::too_many_arguments)]
            fn grad(
                k: Kernels,
                x: &[f32],
                t: &[f32],
                s: f32,
                lam: f32,
                mean: f32,
                factor: f32,
                out: &mut [Self],
            ) {
                grad(k, x, t, s, lam, mean, factor, out)
            }
            fn loss_shifted(
                x: &[f32],
                target: &[f32],
                k: f64,
                scale: f32,
                sol: &Solution<f32>,
                sh: &Shift<f32>,
                grad: Option<&mut [Self]>,
            ) -> Result<f32, Error> {
                loss_shifted(x, target, k, scale, sol, sh, grad)
            }
            fn check_columns(
                logits: &[Self],
                labels: &[u32],
                classes: usize,
                k: ClassK<'_>,
                scale: f32,
            ) -> Result<(), Error> {
                check_columns(logits, labels, classes, k, scale)
            }
            fn grad_pattern(
                k: Kernels,
                x: &[Self],
                t: &[f32],
                lam: &[f32],
                mean: &[f32],
                s: f32,
                factor: f32,
                out: &mut [Self],
            ) {
                grad_pattern(k, x, t, lam, mean, s, factor, out)
            }
        }
    )*};
}
half_store!(Bf16, F16);
