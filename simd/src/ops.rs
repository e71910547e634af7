//! Single-vector operations on a [`Kernels`] token: the forward projection (the core root
//! finder driven by this crate's passes), the backward pass and the binary loss, and the free
//! functions that run them on the active path.

use hypersimplex::internal::frame::{refine, shift_for, shift_in_place, shift_into, Shift};
use hypersimplex::internal::kernel::{Passes, ScalarPasses};
use hypersimplex::internal::mask::{
    prepare, substitute, substitute_in_place, write_masked, Prepared,
};
use hypersimplex::internal::solve::{solve, Fill, Solution};
use hypersimplex::internal::validate::{
    classify_nonfinite, grad_scale, k_tau as check_k_tau, nonfinite_fallback,
    targets_in_unit as valid_targets, tau_scale as check_tau, vjp_limit,
};
use hypersimplex::internal::{
    solve_lambda, solve_lambda_unmasked, vjp_mean_checked, write_solution, SAMPLE_FROM,
};
use hypersimplex::{ClassK, Error, Projection, Reduction};

use crate::batch::McStore;
use crate::element::Element;
use crate::passes::{
    merge_residual, reduce2, write, write2, write_in_place, SimdPasses, WritingPasses,
};
use crate::platform::{Kernels, Path};
use crate::working_set::{Sample, WORKING_SET_FROM};

/// Outputs of at least this many bytes (forward `y`, backward `grad_x`) are written with
/// streaming (non-temporal) stores, which skip reading the output's cache lines first. Below
/// it, plain stores win: the output then stays in the cache for the caller (measurements in
/// `docs/design.md`).
pub const STREAM_FROM_BYTES: usize = 16 << 20;

pub(crate) fn merge_free(a: (usize, f64, bool), b: (usize, f64, bool)) -> (usize, f64, bool) {
    (a.0 + b.0, a.1 + b.1, a.2 & b.2)
}

impl Kernels {
    /// λ for `x` (validated `k`, `scale = 1/τ`) with these kernels and core's root finder;
    /// input with `±∞` masks takes the masked scalar solve (the losses use this).
    pub(crate) fn solve<T: Element>(self, x: &[T], k: f64, scale: T) -> Result<Solution<T>, Error> {
        self.solve_with::<T, _, true>(&mut SimdPasses::new(self, x, scale), x, k, scale)
    }

    /// [`Kernels::solve`] without the masked solve (the forward entry points substitute the
    /// masks in their output buffer instead: [`Kernels::masked_finish`]).
    pub(crate) fn solve_unmasked<T: Element>(
        self,
        x: &[T],
        k: f64,
        scale: T,
    ) -> Result<Solution<T>, Error> {
        self.solve_with::<T, _, false>(&mut SimdPasses::new(self, x, scale), x, k, scale)
    }

    /// The forward pass of input with `±∞` masks, after the checks and the substitution of
    /// the sentinels into `v` (see `hypersimplex::internal::mask`): the ordinary solve on the
    /// finite `v`, then the write with exact 0s and 1s at the masks. The same computation as
    /// the core crate's, so the same bits on every path.
    pub(crate) fn masked_finish<T: Element>(
        self,
        v: &mut [T],
        k: f64,
        tau: T,
        scale: T,
        p: &Prepared<T>,
    ) -> Result<Projection, Error> {
        let sol = match p.end {
            Some(sol) => sol,
            None if v.len() < crate::element::VECTOR_MIN => {
                solve_lambda_unmasked(&mut ScalarPasses::new(&*v, scale), v, k, scale)?
            }
            None => self.solve_unmasked(v, k, scale)?,
        };
        if let Some(sh) = shift_for(&sol, tau, scale) {
            shift_in_place(v, &sh, p.lo, p.hi);
            return self.refined(v, k, &sol, &sh, true);
        }
        write_masked(v, scale, &sol, p.lo, p.hi);
        Ok(sol.into())
    }

    /// The re-solve in a shifted frame (`hypersimplex::internal::frame`), as the core crate
    /// does it: `v` holds the values shifted by `c` (sentinels mapped when `masked`); solves
    /// them from the translated start point with these kernels' passes, shifts again while
    /// needed, and writes the projection into `v`. λ is reported in the original frame.
    pub(crate) fn refined<T: Element>(
        self,
        v: &mut [T],
        k: f64,
        first: &Solution<T>,
        sh: &Shift<T>,
        masked: bool,
    ) -> Result<Projection, Error> {
        let r = refine(v, first, sh, |v, scale, g| {
            if v.len() < crate::element::VECTOR_MIN {
                solve(&mut ScalarPasses::new(v, scale), k, g)
            } else {
                solve(&mut SimdPasses::new(self, v, scale), k, g)
            }
        })?;
        let scale = r.scale();
        if masked {
            let (lo, hi) = r.sentinels();
            write_masked(v, scale, &r.sol, lo, hi);
        } else {
            let lam = r.sol.lambda;
            write_in_place(v, |c| T::clip_in_place(self, c, scale, lam));
        }
        Ok(r.projection(first))
    }

    /// `hypersimplex::internal::solve_lambda` (the core root finder `hypersimplex::internal::solve::solve`
    /// from a sampled start point) with the start point computed by these kernels (see
    /// [`Kernels::sample`]), and, for inputs of at least [`WORKING_SET_FROM`] elements, the
    /// working-set solver ([`Kernels::solve_working_set`]). The scalar path and short inputs
    /// use the core function unchanged.
    pub(crate) fn solve_with<T: Element, R: Passes<T>, const MASKED: bool>(
        self,
        passes: &mut R,
        x: &[T],
        k: f64,
        scale: T,
    ) -> Result<Solution<T>, Error> {
        let n = x.len();
        if self.path() == Path::Scalar || n < SAMPLE_FROM {
            return if MASKED {
                solve_lambda(passes, x, k, scale)
            } else {
                solve_lambda_unmasked(passes, x, k, scale)
            };
        }
        let sample = self.sample(x, k, scale);
        self.solve_sampled::<T, R, MASKED>(passes, x, k, scale, sample)
    }

    /// The vector paths' part of [`Kernels::solve_with`] (`x.len() ≥ SAMPLE_FROM`), from the
    /// sample of `x` (`Kernels::sample`; the half forward gathers it from its 16-bit input).
    pub(crate) fn solve_sampled<T: Element, R: Passes<T>, const MASKED: bool>(
        self,
        passes: &mut R,
        x: &[T],
        k: f64,
        scale: T,
        sample: Option<Sample<T>>,
    ) -> Result<Solution<T>, Error> {
        let n = x.len();
        if let Some(s) = sample.filter(|_| n >= WORKING_SET_FROM) {
            if let Some(sol) = self.solve_working_set(x, k, scale, &s)? {
                return Ok(sol);
            }
        }
        solve(passes, k, sample.map(|s| s.lambda)).or_else(|_| {
            if MASKED {
                nonfinite_fallback(x, k, scale)
            } else {
                Err(classify_nonfinite(x))
            }
        })
    }

    /// Writes the projection for a solved λ into `y` (same length as `x`).
    pub(crate) fn write_solution<T: Element>(
        self,
        x: &[T],
        scale: T,
        sol: &Solution<T>,
        y: &mut [T],
    ) {
        let lam = sol.lambda;
        let big = core::mem::size_of_val(y) >= STREAM_FROM_BYTES;
        match sol.fill {
            Fill::Clip if big => write(x, y, |p, o| T::clip_stream(self, p, scale, lam, o)),
            Fill::Clip => write(x, y, |p, o| T::clip(self, p, scale, lam, o)),
            Fill::Zeros => y.iter_mut().for_each(|v| *v = T::ZERO),
            Fill::Ones => y.iter_mut().for_each(|v| *v = T::ONE),
        }
    }

    /// `(1/τ, mean_A g)` for the backward pass, after validating `(y, g, τ)`.
    pub(crate) fn vjp_prepare<T: Element>(self, y: &[T], g: &[T], tau: T) -> Result<(T, T), Error> {
        if g.len() != y.len() {
            return Err(Error::LengthMismatch);
        }
        let scale = check_tau(tau)?;
        let mean = vjp_mean(self, y, g, scale)?;
        Ok((scale, mean))
    }

    /// Soft-Binary-Argmax@k, `y = Π_Δ(n,k)(x/τ)`: see [`soft_binary_argmax`].
    ///
    /// # Errors
    /// As [`hypersimplex::soft_binary_argmax`]; on error `y` is not modified.
    pub fn soft_binary_argmax<T: Element>(
        self,
        x: &[T],
        k: f64,
        tau: T,
        y: &mut [T],
    ) -> Result<Projection, Error> {
        if y.len() != x.len() {
            return Err(Error::LengthMismatch);
        }
        let scale = check_k_tau(x.len(), k, tau)?;
        if let Some(p) = crate::small::single(self, x, k, scale, tau, y) {
            return Ok(p);
        }
        self.project(x, k, tau, scale, y)
    }

    /// Solves for λ and writes `y` (validated `k` and `scale = 1/τ`). `y` is written only
    /// after the solver's first pass found every `x_i·s` finite, so on error it is untouched.
    pub(crate) fn project<T: Element>(
        self,
        x: &[T],
        k: f64,
        tau: T,
        scale: T,
        y: &mut [T],
    ) -> Result<Projection, Error> {
        match self.project_finite(x, k, tau, scale, y) {
            Err(Error::NonFiniteInput) => {
                // ±∞ masks (or NaN, which `prepare` reports): y gets the sentinels first
                let p = prepare(x, k, scale)?;
                substitute(x, y, p.lo, p.hi);
                self.masked_finish(y, k, tau, scale, &p)
            }
            r => r,
        }
    }

    /// [`Kernels::project`] of input without masks.
    fn project_finite<T: Element>(
        self,
        x: &[T],
        k: f64,
        tau: T,
        scale: T,
        y: &mut [T],
    ) -> Result<Projection, Error> {
        if x.len() < crate::element::VECTOR_MIN {
            // Short inputs (the kernels would run the scalar code anyway): exactly the core
            // crate's `soft_binary_argmax`, without the block and dispatch layers.
            let sol = solve_lambda_unmasked(&mut ScalarPasses::new(x, scale), x, k, scale)?;
            if let Some(sh) = shift_for(&sol, tau, scale) {
                shift_into(x, &sh, y);
                return self.refined(y, k, &sol, &sh, false);
            }
            write_solution(x, scale, &sol, y);
            return Ok(sol.into());
        }
        if self.path() == Path::Scalar {
            // The scalar path stays the core crate's computation, pass for pass.
            let sol = self.solve_unmasked(x, k, scale)?;
            if let Some(sh) = shift_for(&sol, tau, scale) {
                shift_into(x, &sh, y);
                return self.refined(y, k, &sol, &sh, false);
            }
            self.write_solution(x, scale, &sol, y);
            return Ok(sol.into());
        }
        let mut passes = WritingPasses::new(self, x, scale, y);
        let sol = self.solve_with::<T, _, false>(&mut passes, x, k, scale)?;
        if let Some(sh) = shift_for(&sol, tau, scale) {
            shift_into(x, &sh, y);
            return self.refined(y, k, &sol, &sh, false);
        }
        let done = sol.fill == Fill::Clip && passes.written() == Some(sol.lambda);
        let mut info: Projection = sol.into();
        if done {
            info.passes -= 1; // the write was fused into the last pass
        } else {
            self.write_solution(x, scale, &sol, y);
        }
        Ok(info)
    }

    /// In-place Soft-Binary-Argmax@k: `x ← Π_Δ(n,k)(x/τ)`.
    ///
    /// # Errors
    /// As [`hypersimplex::soft_binary_argmax_in_place`]; on error `x` is not modified.
    pub fn soft_binary_argmax_in_place<T: Element>(
        self,
        x: &mut [T],
        k: f64,
        tau: T,
    ) -> Result<Projection, Error> {
        let scale = check_k_tau(x.len(), k, tau)?;
        if let Some(p) = crate::small::single_in_place(self, x, k, scale, tau) {
            return Ok(p);
        }
        let sol = match self.solve_unmasked(x, k, scale) {
            Ok(sol) => sol,
            Err(Error::NonFiniteInput) => {
                let p = prepare(x, k, scale)?;
                substitute_in_place(x, p.lo, p.hi);
                return self.masked_finish(x, k, tau, scale, &p);
            }
            Err(e) => return Err(e),
        };
        if let Some(sh) = shift_for(&sol, tau, scale) {
            let nan = T::from_f64(f64::NAN);
            shift_in_place(x, &sh, nan, nan);
            return self.refined(x, k, &sol, &sh, false);
        }
        let lam = sol.lambda;
        match sol.fill {
            Fill::Clip => write_in_place(x, |c| T::clip_in_place(self, c, scale, lam)),
            Fill::Zeros => x.iter_mut().for_each(|v| *v = T::ZERO),
            Fill::Ones => x.iter_mut().for_each(|v| *v = T::ONE),
        }
        Ok(sol.into())
    }

    /// Vector-Jacobian product `grad_x = Jᵀg`: see [`soft_binary_argmax_vjp`].
    ///
    /// # Errors
    /// As [`hypersimplex::soft_binary_argmax_vjp`]; on error `grad_x` is not modified.
    pub fn soft_binary_argmax_vjp<T: Element>(
        self,
        y: &[T],
        g: &[T],
        tau: T,
        grad_x: &mut [T],
    ) -> Result<(), Error> {
        if grad_x.len() != y.len() {
            return Err(Error::LengthMismatch);
        }
        let (scale, mean) = self.vjp_prepare(y, g, tau)?;
        if y.len() <= crate::small::VJP_SHORT_MAX {
            crate::portable::vjp(y, g, mean, scale, grad_x);
        } else if core::mem::size_of_val(grad_x) >= STREAM_FROM_BYTES {
            write2(y, g, grad_x, |a, b, o| {
                T::vjp_stream(self, a, b, mean, scale, o)
            });
        } else {
            write2(y, g, grad_x, |a, b, o| T::vjp(self, a, b, mean, scale, o));
        }
        Ok(())
    }

    /// In-place VJP: `g ← Jᵀg`.
    ///
    /// # Errors
    /// As [`hypersimplex::soft_binary_argmax_vjp_in_place`]; on error `g` is not modified.
    pub fn soft_binary_argmax_vjp_in_place<T: Element>(
        self,
        y: &[T],
        g: &mut [T],
        tau: T,
    ) -> Result<(), Error> {
        let (scale, mean) = self.vjp_prepare(y, g, tau)?;
        // `write` pairs blocks of `y` with blocks of `g`, which it overwrites in place.
        write(y, g, |a, o| T::vjp_in_place(self, a, o, mean, scale));
        Ok(())
    }

    /// Binary HyperSimplex loss `½‖Π_Δ(n,k)(x/τ) − t‖²` and its gradient: see
    /// [`hypersimplex_loss`].
    ///
    /// # Errors
    /// As [`hypersimplex::hypersimplex_loss`]; on error `grad_x` is not modified.
    pub fn hypersimplex_loss<T: Element>(
        self,
        x: &[T],
        target: &[T],
        k: f64,
        tau: T,
        grad_x: Option<&mut [T]>,
    ) -> Result<T, Error> {
        self.loss_with(x, target, k, tau, grad_x, grad_scale)
    }

    /// [`Kernels::hypersimplex_loss`] writing its gradient through `G` (`T` itself, or a half
    /// type rounding the `T` gradient), after `grad_check(1/τ)` where a gradient is asked for.
    pub(crate) fn loss_with<T: Element, G: McStore<T>>(
        self,
        x: &[T],
        target: &[T],
        k: f64,
        tau: T,
        grad_x: Option<&mut [G]>,
        grad_check: fn(T) -> Result<(), Error>,
    ) -> Result<T, Error> {
        let n = x.len();
        if target.len() != n || grad_x.as_ref().is_some_and(|g| g.len() != n) {
            return Err(Error::LengthMismatch);
        }
        if !valid_targets(target) {
            return Err(Error::InvalidTarget);
        }
        let scale = check_k_tau(n, k, tau)?;
        if crate::small::applies::<T>(n, tau) {
            // A short f32 vector: ŷ from the short-row solver, bitwise the forward's
            // (`soft_binary_argmax` takes the same solver for it), then the loss and gradient
            // from ŷ (`residual` and `grad` with s = 1, λ = 0 read `clip(ŷ_i − 0, 0, 1) = ŷ_i`
            // and the free set `0 < ŷ_i < 1`). Rows it leaves (λ outside the window,
            // non-finite input) take the general path below.
            let mut buf = [T::ZERO; crate::small::SMALL_MAX];
            if let Some(yh) = buf.get_mut(..n) {
                if crate::small::single(self, x, k, scale, tau, yh).is_some() {
                    if grad_x.is_some() {
                        grad_check(scale)?;
                    }
                    let yh = &*yh;
                    let res = T::residual(self, yh, target, T::ONE, T::ZERO);
                    if let Some(g) = grad_x {
                        let mean = res.mean::<T>();
                        G::grad(self, yh, target, T::ONE, T::ZERO, mean, scale, g);
                    }
                    return Ok(T::from_f64(0.5 * res.sq));
                }
            }
        }
        let sol = self.solve(x, k, scale)?;
        if grad_x.is_some() {
            grad_check(scale)?;
        }
        if let Some(sh) = shift_for(&sol, tau, scale) {
            // λ is large or τ > MAX/64 (issue 13): ŷ, the loss and the gradient in the shifted
            // frame, by the core crate's scalar code (the same on every path)
            return G::loss_shifted(x, target, k, scale, &sol, &sh, grad_x);
        }
        let lam = sol.lambda;
        let res = reduce2(
            x,
            target,
            |p, q| T::residual(self, p, q, scale, lam),
            merge_residual,
        )
        .unwrap_or_default();
        if let Some(g) = grad_x {
            let mean = res.mean::<T>();
            write2(x, target, g, |p, q, o| {
                G::grad(self, p, q, scale, lam, mean, scale, o)
            });
        }
        Ok(T::from_f64(0.5 * res.sq))
    }
}

/// Soft-Binary-Argmax@k on the [`active_path`](crate::active_path): `y = Π_Δ(n,k)(x/τ)`, i.e.
/// `y_i = clip(x_i/τ − λ, 0, 1)` with λ such that `Σy = k`, for real `k ∈ [0, n]`.
/// Vectors of at least [`PAR_MIN`](crate::passes::PAR_MIN) elements also split each pass over the rayon pool.
///
/// # Errors
/// [`Error::LengthMismatch`], [`Error::InvalidK`], [`Error::InvalidTau`],
/// [`Error::NonFiniteInput`], [`Error::ScaleOverflow`] (as `hypersimplex`); on error `y` is
/// not modified.
pub fn soft_binary_argmax<T: Element>(
    x: &[T],
    k: f64,
    tau: T,
    y: &mut [T],
) -> Result<Projection, Error> {
    Kernels::active().soft_binary_argmax(x, k, tau, y)
}

/// [`soft_binary_argmax`] in place: `x ← Π_Δ(n,k)(x/τ)`.
///
/// # Errors
/// As [`soft_binary_argmax`]; on error `x` is not modified.
pub fn soft_binary_argmax_in_place<T: Element>(
    x: &mut [T],
    k: f64,
    tau: T,
) -> Result<Projection, Error> {
    Kernels::active().soft_binary_argmax_in_place(x, k, tau)
}

/// Vector-Jacobian product of Soft-Binary-Argmax@k from the forward output `y`:
/// `(Jᵀg)_i = (1/τ)(g_i − mean_{j∈A} g_j)` on `A = {0 < y_j < 1}`, 0 elsewhere.
///
/// # Errors
/// [`Error::LengthMismatch`], [`Error::InvalidTau`], [`Error::ScaleOverflow`],
/// [`Error::NonFiniteInput`]; on error `grad_x` is not modified.
pub fn soft_binary_argmax_vjp<T: Element>(
    y: &[T],
    g: &[T],
    tau: T,
    grad_x: &mut [T],
) -> Result<(), Error> {
    Kernels::active().soft_binary_argmax_vjp(y, g, tau, grad_x)
}

/// [`soft_binary_argmax_vjp`] overwriting `g` with `Jᵀg`.
///
/// # Errors
/// As [`soft_binary_argmax_vjp`]; on error `g` is not modified.
pub fn soft_binary_argmax_vjp_in_place<T: Element>(
    y: &[T],
    g: &mut [T],
    tau: T,
) -> Result<(), Error> {
    Kernels::active().soft_binary_argmax_vjp_in_place(y, g, tau)
}

/// Binary HyperSimplex loss `L = ½‖Π_Δ(n,k)(x/τ) − t‖²` and, when `grad_x` is given,
/// `∇_x L = Jᵀ(ŷ − t)`.
///
/// # Errors
/// As [`hypersimplex::hypersimplex_loss`]; on error `grad_x` is not modified.
pub fn hypersimplex_loss<T: Element>(
    x: &[T],
    target: &[T],
    k: f64,
    tau: T,
    grad_x: Option<&mut [T]>,
) -> Result<T, Error> {
    Kernels::active().hypersimplex_loss(x, target, k, tau, grad_x)
}

/// Multiclass HyperSimplex loss over row-major `logits` (`batch × classes`, `batch =
/// labels.len()`): each class column is projected down the batch, `p^(c) =
/// Π_Δ(B,k_c)(X[:,c]/τ)`, and `L = ½ Σ_c ‖p^(c) − Y[:,c]‖²` ([`Reduction::Sum`]) or
/// `(1/(B·C)) Σ_c ‖p^(c) − Y[:,c]‖²` ([`Reduction::Mean`]); optionally its gradient.
/// The logits are transposed once into internal column scratch (no caller scratch, no
/// transposing by the caller); the gradient is written row-major directly.
///
/// # Errors
/// As [`hypersimplex::hypersimplex_loss_multiclass`] (without `ScratchTooSmall`); on error
/// `grad` is not modified.
pub fn hypersimplex_loss_multiclass<T: Element>(
    logits: &[T],
    labels: &[u32],
    classes: usize,
    k: ClassK<'_>,
    tau: T,
    reduction: Reduction,
    grad: Option<&mut [T]>,
) -> Result<T, Error> {
    Kernels::active().hypersimplex_loss_multiclass(logits, labels, classes, k, tau, reduction, grad)
}

/// [`hypersimplex_loss_multiclass`] that also reports each class column's threshold λ_c in
/// `lambda` (`classes` values; see [`hypersimplex::hypersimplex_loss_multiclass_lambda`]).
///
/// # Errors
/// As [`hypersimplex_loss_multiclass`], and `LengthMismatch` unless `lambda.len() ==
/// classes`; on error `grad` and `lambda` are not modified.
#[allow(clippy::too_many_arguments)]
pub fn hypersimplex_loss_multiclass_lambda<T: Element>(
    logits: &[T],
    labels: &[u32],
    classes: usize,
    k: ClassK<'_>,
    tau: T,
    reduction: Reduction,
    grad: Option<&mut [T]>,
    lambda: &mut [f64],
) -> Result<T, Error> {
    Kernels::active().hypersimplex_loss_multiclass_lambda(
        logits, labels, classes, k, tau, reduction, grad, lambda,
    )
}

/// `mean_{i∈A} g_i` over the free set `A = {0 < y_i < 1}` (0 if A is empty), after checking
/// that every VJP entry `(g_i − mean)·scale` is finite: one reduction pass, plus the core
/// crate's checking pass (`hypersimplex::internal::vjp_mean_checked`) only when some `|g_i|` is above
/// `validate::vjp_limit(scale)`. Errors: `NonFiniteInput`, `ScaleOverflow`.
pub(crate) fn vjp_mean<T: Element>(k: Kernels, y: &[T], g: &[T], scale: T) -> Result<T, Error> {
    let limit = vjp_limit(scale);
    let (count, sum, small) = if y.len() <= crate::small::VJP_SHORT_MAX {
        // Short rows: the scalar reduction in place, on every path (no block layer).
        crate::portable::free_mean(y, g, limit)
    } else {
        reduce2(y, g, |a, b| T::free_mean(k, a, b, limit), merge_free).unwrap_or((0, 0.0, true))
    };
    if !small {
        return vjp_mean_checked(y, g, scale);
    }
    Ok(if count > 0 {
        T::from_f64(sum / count as f64)
    } else {
        T::ZERO
    })
}
