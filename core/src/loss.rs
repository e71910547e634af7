//! The HyperSimplex losses: squared distance between the Soft-Binary-Argmax@k of the logits
//! and the labels, with their gradients.
//!
//! * Binary: `ŷ = Π_Δ(n,k)(x/τ)`, `L = ½ ‖ŷ − t‖²`, `∇_x L = Jᵀ (ŷ − t)`, so
//!   `(∇_x L)_i = (1/τ)(r_i − mean_{j∈A} r_j)` on `A = {0 < ŷ_j < 1}` and 0 elsewhere, with
//!   `r = ŷ − t`.
//! * Multiclass (the paper's recipe): logits `X ∈ R^{B×C}` row-major, labels `l ∈ [0, C)^B`,
//!   one-hot targets `Y`. Each class column is projected *down the batch*:
//!   `p^(c) = Π_Δ(B,k_c)(X[:,c]/τ)`, and
//!   `L = ½ Σ_c ‖p^(c) − Y[:,c]‖²` ([`Reduction::Sum`]) or
//!   `L = (1/(B·C)) Σ_c ‖p^(c) − Y[:,c]‖²` ([`Reduction::Mean`], the authors' training script).

use crate::error::Error;
use crate::forward::solved;
use crate::kernel::ScalarPasses;
use crate::real::{Real, SolverFloat, SumAcc};
use crate::solve::{solve, Solution};
use crate::validate;

/// The number of positives in a target vector, `Σ t_i` (for soft targets in [0, 1]: the
/// expected number). This is the natural `k` of the binary loss.
pub fn target_k<T: Real>(target: &[T]) -> f64 {
    let mut s = <T::Sum as SumAcc<T>>::ZERO;
    target.iter().for_each(|&t| s.add(t));
    s.value()
}

/// What one pass over `(x_i, t_i)` at a solved λ gives: `Σ r_i²`, `|A|` and `Σ_{i∈A} r_i`,
/// with `ŷ_i = clip(x_i·s − λ, 0, 1)`, `r_i = ŷ_i − t_i`, `A = {0 < ŷ_i < 1}`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Residual {
    /// `Σ_i r_i²`.
    pub sq: f64,
    /// `|A|`.
    pub free: usize,
    /// `Σ_{i∈A} r_i`.
    pub sum_free: f64,
}

/// One pass over `(x_i, t_i)` pairs computing the [`Residual`] at λ.
#[inline]
pub fn residual<T: Real, I: IntoIterator<Item = (T, T)>>(
    pairs: I,
    scale: T,
    lambda: T,
) -> Residual {
    let mut sq = <T::Sum as SumAcc<T>>::ZERO;
    let mut sum = <T::Sum as SumAcc<T>>::ZERO;
    let mut free = 0usize;
    for (x, t) in pairs {
        let d = x * scale - lambda;
        let p = d.clip01();
        let r = p - t;
        let f = (d > T::ZERO) & (d < T::ONE);
        sq.add(r * r);
        free += f as usize;
        sum.add(r.keep_if(f));
    }
    Residual {
        sq: sq.value(),
        free,
        sum_free: sum.value(),
    }
}

/// The gradient entry `w·s·(r_i − m)` on the free set, 0 elsewhere, for one `(x_i, t_i)`.
/// `factor = w·s` (weight times 1/τ), `mean = m`.
#[inline(always)]
pub fn grad_entry<T: Real>(x: T, t: T, scale: T, lambda: T, mean: T, factor: T) -> T {
    let d = x * scale - lambda;
    // `clip(d)` equals d on the free set and keeps the masked-out value finite (d is +∞ for
    // k = n at x = −MAX, where λ = −∞), so the mask-by-multiplication cannot make a NaN.
    ((d.clip01() - t - mean) * factor).keep_if((d > T::ZERO) & (d < T::ONE))
}

impl Residual {
    /// `mean_{i∈A} r_i` rounded to `T` (0 if A is empty).
    pub fn mean<T: Real>(&self) -> T {
        if self.free > 0 {
            T::from_solver(T::Solver::from_f64(self.sum_free) / T::Solver::from_usize(self.free))
        } else {
            T::ZERO
        }
    }
}

/// Binary HyperSimplex loss `L = ½ ‖Π_Δ(n,k)(x/τ) − t‖²` and, when `grad_x` is given, its
/// gradient `∇_x L = Jᵀ(ŷ − t)`: `(∇_x L)_i = (1/τ)(r_i − mean_{j∈A} r_j)` on the free set
/// `A = {0 < ŷ_j < 1}` and 0 elsewhere, with `ŷ = Π_Δ(n,k)(x/τ)` and `r = ŷ − t`.
///
/// `t` holds targets in `[0, 1]` (0/1 labels, or soft labels); `k` is usually the number of
/// positives, [`target_k`]`(t)`. Three to five passes for the projection plus one (loss only)
/// or two (with gradient); no allocation. `±∞` entries of x are masks as in
/// [`soft_binary_argmax`](crate::soft_binary_argmax) (`ŷ_i` = 1 or 0, gradient 0 there).
///
/// Accuracy (issue 13): `ŷ` is computed as the forward computes it, within `4·ε` of the exact
/// projection of `x/τ` at every scale (where λ is large, in a shifted frame, block by block
/// without a buffer), so the loss is within about `6·ε·(Σ|r*_i| + L*)` of the exact loss
/// `L*` and each gradient entry within about `12·ε·(1 + |τ·g*_i|)/τ` of the exact gradient
/// (tested in `tests/scale_losses.rs`).
///
/// # Errors
/// [`Error::LengthMismatch`] unless x, t (and `grad_x`) have one length;
/// [`Error::InvalidTarget`] for a target outside `[0, 1]`; [`Error::InvalidK`],
/// [`Error::InvalidTau`], [`Error::NonFiniteInput`] (NaN), [`Error::ScaleOverflow`].
/// On error `grad_x` is not modified.
///
/// # Example
/// ```
/// let x = [2.0f32, -1.0, 0.5, 0.4];
/// let t = [1.0f32, 0.0, 1.0, 0.0];
/// let mut g = [0.0f32; 4];
/// let k = hypersimplex::target_k(&t);
/// let loss = hypersimplex::hypersimplex_loss(&x, &t, k, 1.0, Some(&mut g[..])).unwrap();
/// assert!(loss > 0.0 && loss < 0.5);
/// assert!(g[2] < 0.0 && g[3] > 0.0);  // push the positive up, the negative down
/// ```
pub fn hypersimplex_loss<T: Real>(
    x: &[T],
    target: &[T],
    k: f64,
    tau: T,
    grad_x: Option<&mut [T]>,
) -> Result<T, Error> {
    let n = x.len();
    if target.len() != n || grad_x.as_ref().is_some_and(|g| g.len() != n) {
        return Err(Error::LengthMismatch);
    }
    if !validate::targets_in_unit(target) {
        return Err(Error::InvalidTarget);
    }
    let (sol, scale) = solved::<T, true>(x, k, tau)?;
    if grad_x.is_some() {
        validate::grad_scale(scale)?;
    }
    #[cfg(not(target_os = "none"))]
    if let Some(sh) = crate::frame::shift_for(&sol, tau, scale) {
        return loss_shifted(x, target, k, scale, &sol, &sh, grad_x);
    }
    Ok(loss_at(x, target, scale, scale, sol.lambda, |v| v, grad_x))
}

/// The binary loss and gradient at a solved λ, with `ŷ_i = clip(map(x_i)·s − λ, 0, 1)`
/// (`map`: the identity, or the shifted frame's [`crate::frame::Replay::apply`]; `s`: `vscale`,
/// the frame's scale) and the gradient factor `scale = fl(1/τ)`.
#[inline(always)]
fn loss_at<T: Real>(
    x: &[T],
    target: &[T],
    vscale: T,
    scale: T,
    lam: T,
    map: impl Fn(T) -> T,
    grad_x: Option<&mut [T]>,
) -> T {
    let res = residual(
        x.iter().map(|&v| map(v)).zip(target.iter().copied()),
        vscale,
        lam,
    );
    if let Some(g) = grad_x {
        let mean = res.mean::<T>();
        for ((gi, &xi), &ti) in g.iter_mut().zip(x).zip(target) {
            *gi = grad_entry(map(xi), ti, vscale, lam, mean, scale);
        }
    }
    T::from_solver(T::Solver::HALF * T::Solver::from_f64(res.sq))
}

/// The binary loss where the solved λ (`first`) is large (issue 13): the projection is solved
/// again on `x` shifted block by block (no buffer, [`crate::frame::refine_mapped`]), from the
/// shift `sh` ([`crate::frame::shift_for`]), and `ŷ`, the loss and the gradient are computed
/// in that frame, so `ŷ` is within 4ε of the exact projection of `x/τ` whatever `|x/τ|` is.
/// Checks done (`scale = 1/τ` validated, the gradient's scale too).
///
/// # Errors
/// None for input the first solve accepted (the shifted values are finite).
#[cfg(not(target_os = "none"))]
#[allow(clippy::too_many_arguments)]
#[inline(never)]
pub fn loss_shifted<T: Real>(
    x: &[T],
    target: &[T],
    k: f64,
    scale: T,
    first: &Solution<T>,
    sh: &crate::frame::Shift<T>,
    grad_x: Option<&mut [T]>,
) -> Result<T, Error> {
    let r = crate::frame::refine_mapped(x, |v| v, k, first, sh)?;
    let rp = r.replay;
    Ok(loss_at(
        x,
        target,
        rp.scale,
        scale,
        r.sol.lambda,
        |v| rp.apply(v),
        grad_x,
    ))
}

/// How the multiclass loss picks `k_c`, the target sum of class column c.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ClassK<'a> {
    /// `k_c` = the number of samples labelled c in this batch (the paper's text).
    LabelCounts,
    /// One `k` for every class (the authors' script uses `B/2`).
    Fixed(f64),
    /// Caller-given real `k_c`, one per class (e.g. expected counts `B·prior_c`).
    PerClass(&'a [f64]),
}

impl ClassK<'_> {
    /// Class `c`'s target `k_c` for a batch with these `labels` (the count of `c` among them,
    /// the fixed value, or the `c`-th entry; 0 past the end).
    pub fn of_class(self, labels: &[u32], c: usize) -> f64 {
        match self {
            ClassK::LabelCounts => labels.iter().filter(|&&l| l as usize == c).count() as f64,
            ClassK::Fixed(kc) => kc,
            ClassK::PerClass(ks) => ks.get(c).copied().unwrap_or(0.0),
        }
    }
}

/// How the multiclass loss reduces the squared errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reduction {
    /// `½ Σ_c ‖p^(c) − Y[:,c]‖²` (the paper's formula).
    Sum,
    /// `(1/(B·C)) Σ_c ‖p^(c) − Y[:,c]‖²`, the mean squared error over all entries (the
    /// authors' training script).
    Mean,
}

/// Scratch length, in elements of the logits' type, that [`hypersimplex_loss_multiclass`]
/// needs: one class column, `batch` elements.
pub const fn multiclass_scratch_len(batch: usize, _classes: usize) -> usize {
    batch
}

/// Multiclass HyperSimplex loss over row-major `logits` (`batch × classes`, `batch =
/// labels.len()`) with integer labels, and optionally its gradient w.r.t. the logits (same
/// shape). With one-hot targets `Y`, each class column is projected *down the batch*,
/// `p^(c) = Π_Δ(B,k_c)(X[:,c]/τ)`, and `L = ½ Σ_c ‖p^(c) − Y[:,c]‖²` ([`Reduction::Sum`], the
/// paper's formula) or `L = (1/(B·C)) Σ_c ‖p^(c) − Y[:,c]‖²` ([`Reduction::Mean`], the authors'
/// training script); `k` chooses `k_c`.
///
/// `scratch` must hold at least [`multiclass_scratch_len`]`(batch, classes)` elements; each
/// class column is gathered there so that the solver streams contiguous memory. `±∞` logits
/// are masks within their class column, as in [`soft_binary_argmax`](crate::soft_binary_argmax)
/// (e.g. `−∞` for a class a sample cannot have); every column's `k_c` must hold its masks.
///
/// Accuracy: as [`hypersimplex_loss`]: each `p^(c)` is within `4·ε` of the exact projection of
/// `X[:,c]/τ` at every scale (a column whose λ is large is shifted in `scratch` and solved
/// again), and the loss and gradient are computed from it.
///
/// # Errors
/// [`Error::LengthMismatch`] (`logits.len() != batch·classes`, `grad` of another length, or a
/// `PerClass` slice whose length is not `classes`); [`Error::LabelOutOfRange`];
/// [`Error::InvalidK`] (a `k_c` outside `[0, batch]` or NaN, or outside its column's masks'
/// range); [`Error::InvalidTau`]; [`Error::ScratchTooSmall`]; [`Error::NonFiniteInput`] (NaN);
/// [`Error::ScaleOverflow`].
/// On error `grad` is not modified.
#[allow(clippy::too_many_arguments)]
pub fn hypersimplex_loss_multiclass<T: Real>(
    logits: &[T],
    labels: &[u32],
    classes: usize,
    k: ClassK<'_>,
    tau: T,
    reduction: Reduction,
    grad: Option<&mut [T]>,
    scratch: &mut [T],
) -> Result<T, Error> {
    multiclass(
        logits, labels, classes, k, tau, reduction, grad, scratch, None,
    )
}

/// [`hypersimplex_loss_multiclass`] that also reports each class column's threshold: `lambda[c]
/// = λ_c` with `p^(c)_b = clip(X[b,c]/τ − λ_c, 0, 1)` (`classes` values, no extra pass). For
/// `k_c = 0` it is `max_b X[b,c]/τ` (every entry at 0), for `k_c = batch` it is
/// `min_b X[b,c]/τ − 1` (every entry at 1). A running mean of λ over training batches
/// calibrates prediction: see [`calibrated_argmax`](crate::calibrated_argmax). Each λ_c is
/// that of the first solve, the threshold of `fl(X[b,c]·fl(1/τ))` (as
/// [`Projection::lambda`](crate::Projection::lambda)), accurate to about `ε·max(1, |λ_c|)`;
/// the loss and gradient come from the shifted frame where `|λ_c| > 3`.
///
/// # Errors
/// As [`hypersimplex_loss_multiclass`], and [`Error::LengthMismatch`] unless
/// `lambda.len() == classes`. On error `grad` and `lambda` are not modified.
#[allow(clippy::too_many_arguments)]
pub fn hypersimplex_loss_multiclass_lambda<T: Real>(
    logits: &[T],
    labels: &[u32],
    classes: usize,
    k: ClassK<'_>,
    tau: T,
    reduction: Reduction,
    grad: Option<&mut [T]>,
    scratch: &mut [T],
    lambda: &mut [f64],
) -> Result<T, Error> {
    if lambda.len() != classes {
        return Err(Error::LengthMismatch);
    }
    multiclass(
        logits,
        labels,
        classes,
        k,
        tau,
        reduction,
        grad,
        scratch,
        Some(lambda),
    )
}

#[allow(clippy::too_many_arguments)]
fn multiclass<T: Real>(
    logits: &[T],
    labels: &[u32],
    classes: usize,
    k: ClassK<'_>,
    tau: T,
    reduction: Reduction,
    grad: Option<&mut [T]>,
    scratch: &mut [T],
    lambda: Option<&mut [f64]>,
) -> Result<T, Error> {
    let batch = labels.len();
    let grad_len = grad.as_ref().map(|g| g.len());
    let (total, scale) =
        validate::multiclass_args(logits.len(), labels, classes, k, tau, grad_len)?;
    if scratch.len() < multiclass_scratch_len(batch, classes) {
        return Err(Error::ScratchTooSmall);
    }
    if let Err(_e) = validate::scaled_finite(logits, scale) {
        // ±∞ logits are masks where every column's k_c allows them (see crate::mask)
        #[cfg(not(target_os = "none"))]
        crate::mask::check_columns(logits, labels, classes, k, scale)?;
        #[cfg(target_os = "none")]
        return Err(_e);
    }
    columns(
        logits,
        |v| v,
        labels,
        classes,
        k,
        (tau, scale, total),
        reduction,
        grad,
        |g| g,
        scratch,
        lambda,
    )
}

/// The column loop of the multiclass loss, after the checks (`total = batch·classes`, `scale =
/// fl(1/τ)`), for logits stored as `X` and a gradient stored as `G`: each class column `c` is
/// gathered into `scratch` (`batch` elements) widened by `wide`, solved in `T`
/// (`p^(c) = Π_Δ(B,k_c)(X[:,c]/τ)`, shifted frame where λ is large), `Σ_b (p^(c)_b − Y[b,c])²`
/// summed in the solver type, `λ_c` reported in `lambda`, and each gradient entry
/// `∂L/∂X[b,c]` narrowed to `G` by `narrow`. The `T` loss uses the identity for both, the
/// half-precision loss (`crate::half`) widens to and rounds from `f32`.
///
/// # Errors
/// [`Error::ScratchTooSmall`]; a column's solve ([`Error::InvalidK`], [`Error::ScaleOverflow`]).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn columns<T: Real, X: Copy, G>(
    logits: &[X],
    wide: impl Fn(X) -> T,
    labels: &[u32],
    classes: usize,
    k: ClassK<'_>,
    (tau, scale, total): (T, T, usize),
    reduction: Reduction,
    mut grad: Option<&mut [G]>,
    narrow: impl Fn(T) -> G,
    scratch: &mut [T],
    mut lambda: Option<&mut [f64]>,
) -> Result<T, Error> {
    let batch = labels.len();
    if total == 0 {
        // No entries: every (empty) column has λ = 0.
        if let Some(l) = lambda.as_deref_mut() {
            l.iter_mut().for_each(|v| *v = 0.0);
        }
        return Ok(T::ZERO);
    }
    let col = scratch.get_mut(..batch).ok_or(Error::ScratchTooSmall)?;
    let factor = match reduction {
        Reduction::Sum => scale,
        Reduction::Mean => {
            T::from_solver((T::Solver::ONE + T::Solver::ONE) / T::Solver::from_usize(total)) * scale
        }
    };
    let mut sq = T::Solver::ZERO;
    for c in 0..classes {
        let mut count = 0usize;
        for ((dst, row), &l) in col.iter_mut().zip(logits.chunks_exact(classes)).zip(labels) {
            *dst = row.get(c).map_or(T::ZERO, |&v| wide(v));
            count += (l as usize == c) as usize;
        }
        let kc = match k {
            ClassK::LabelCounts => count as f64,
            ClassK::Fixed(kc) => kc,
            ClassK::PerClass(ks) => ks.get(c).copied().unwrap_or(0.0),
        };
        let (sol, _) = solved::<T, true>(col, kc, tau)?;
        // Where λ is large the column is shifted in place and solved again (issue 13): p^(c),
        // the loss and the gradient come from that frame; the reported λ_c stays the first
        // (where τ > MAX/64: the pre-scaled frame's).
        let (lam, vscale, first) = column_frame(col, kc, tau, scale, &sol)?;
        if let Some(out) = lambda.as_deref_mut().and_then(|l| l.get_mut(c)) {
            *out = first.to_solver().to_f64();
        }
        let col = &*col;
        let onehot = |l: u32| if l as usize == c { T::ONE } else { T::ZERO };
        let res = residual(
            col.iter().copied().zip(labels.iter().map(|&l| onehot(l))),
            vscale,
            lam,
        );
        sq = sq + T::Solver::from_f64(res.sq);
        if let Some(g) = grad.as_deref_mut() {
            let mean = res.mean::<T>();
            for ((grow, &xi), &l) in g.chunks_exact_mut(classes).zip(col).zip(labels) {
                if let Some(gi) = grow.get_mut(c) {
                    *gi = narrow(grad_entry(xi, onehot(l), vscale, lam, mean, factor));
                }
            }
        }
    }
    let loss = match reduction {
        Reduction::Sum => T::Solver::HALF * sq,
        Reduction::Mean => sq / T::Solver::from_usize(total),
    };
    Ok(T::from_solver(loss))
}

/// The threshold and scale a gathered multiclass column is written with, and the λ to report:
/// the solved λ (`sol`), `scale` and λ again, or, where λ is large or τ > `MAX/64` (issue 13),
/// the λ and scale of the shifted frame after `col` is shifted in place (`crate::frame`; `±∞`
/// masks become the frame's sentinels, which give the same 0s and 1s) and
/// [`crate::frame::Refined::first_lambda`].
///
/// # Errors
/// None for a column the first solve accepted.
#[cfg_attr(not(target_os = "none"), inline(never))]
#[cfg_attr(target_os = "none", inline(always))]
pub fn column_frame<T: Real>(
    col: &mut [T],
    k: f64,
    tau: T,
    scale: T,
    sol: &Solution<T>,
) -> Result<(T, T, T), Error> {
    #[cfg(not(target_os = "none"))]
    if let Some(sh) = crate::frame::shift_for(sol, tau, scale) {
        let inf = T::from_f64(f64::INFINITY);
        crate::frame::shift_in_place(col, &sh, -inf, inf);
        let r = crate::frame::refine(col, sol, &sh, |v, s, g| {
            solve(&mut ScalarPasses::new(v, s), k, g)
        })?;
        return Ok((r.sol.lambda, r.scale(), r.first_lambda(sol)));
    }
    let _ = (col, k, tau);
    Ok((sol.lambda, scale, sol.lambda))
}
