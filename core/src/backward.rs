//! Backward pass: the Jacobian of `y = Π_Δ(n,k)(x/τ)` and its products.
//!
//! With the free set `A = { i : 0 < y_i < 1 }` and `a` its indicator,
//!
//! `∂y/∂x = (1/τ) (diag(a) − a aᵀ / |A|)`  (zero when A is empty).
//!
//! The matrix is symmetric, so the vector-Jacobian product (VJP, reverse mode) and the
//! Jacobian-vector product (JVP, forward mode) are the same map:
//!
//! `(J g)_i = (1/τ) (g_i − mean_{j∈A} g_j)` for `i ∈ A`, and `0` otherwise.
//!
//! Everything is computed from the forward output `y` alone (no need to keep x or λ). Clipped
//! coordinates that tie with each other get exactly zero gradient (the paper's reference code
//! does not: see `shared/docs/paper.md`).

use crate::error::Error;
use crate::real::{Real, SolverFloat, SumAcc};
use crate::validate;

/// `true` for a free coordinate, `0 < y < 1`.
#[inline(always)]
pub fn is_free<T: Real>(y: T) -> bool {
    (y > T::ZERO) & (y < T::ONE)
}

/// One pass over `(y, g)`: `|A|`, `Σ_{i∈A} g_i`, whether every `y_i`, `g_i` is finite, and
/// `max_i |g_i|` over all entries (a plain running maximum: no branch, no loop-carried select
/// on the free test).
fn free_stats<T: Real>(y: &[T], g: &[T]) -> (usize, f64, bool, T) {
    let mut count = 0usize;
    let mut sum = <T::Sum as SumAcc<T>>::ZERO;
    let mut finite = true;
    let mut amax = T::ZERO;
    for (&yi, &gi) in y.iter().zip(g) {
        let a = gi.abs();
        finite &= (yi.abs() <= T::MAX) & (a <= T::MAX);
        amax = if a > amax { a } else { amax };
        // Branch-free: a branch on `is_free` is mispredicted half the time on mixed data.
        let f = is_free(yi);
        count += f as usize;
        sum.add(gi.keep_if(f));
    }
    (count, sum.value(), finite, amax)
}

/// The free-set mean of `g` for the VJP, after checking the inputs: [`Error::NonFiniteInput`]
/// if any `y_i` or `g_i` is NaN or ±∞, [`Error::ScaleOverflow`] if some `(g_i − mean)·s` on the
/// free set is not finite, or if `Σ_{i∈A} g_i` itself overflows (only possible with entries
/// near the largest finite value). Every entry is within `max|g| + |mean|` of the mean, so one
/// comparison settles ordinary inputs; only above that bound are the free entries checked one
/// by one.
// `!(x <= MAX)` is the NaN-catching form of `x > MAX`: NaN fails every comparison.
#[allow(clippy::neg_cmp_op_on_partial_ord)]
pub fn vjp_mean_checked<T: Real>(y: &[T], g: &[T], scale: T) -> Result<T, Error> {
    let (count, sum, finite, amax) = free_stats(y, g);
    if !finite {
        return Err(Error::NonFiniteInput);
    }
    if count == 0 {
        return Ok(T::ZERO);
    }
    let mean = T::from_solver(T::Solver::from_f64(sum) / T::Solver::from_usize(count));
    if !(mean.abs() <= T::MAX) {
        return Err(Error::ScaleOverflow);
    }
    let fits = |v: T| v.abs() <= T::MAX;
    if fits((amax + mean.abs()) * scale)
        || y.iter()
            .zip(g)
            .all(|(&a, &b)| !is_free(a) || fits((b - mean) * scale))
    {
        Ok(mean)
    } else {
        Err(Error::ScaleOverflow)
    }
}

/// Validates `(y, g, τ)` and returns `(1/τ, mean_A g)`; every `(g_i − mean)·s` on the free
/// set is then finite.
fn prepare<T: Real>(y: &[T], g: &[T], tau: T) -> Result<(T, T), Error> {
    if g.len() != y.len() {
        return Err(Error::LengthMismatch);
    }
    let scale = validate::tau_scale(tau)?;
    Ok((scale, vjp_mean_checked(y, g, scale)?))
}

/// `(J g)_i = (g_i − m)·s` on the free set, exactly `+0` elsewhere (whatever `g_i` holds).
#[inline(always)]
pub fn vjp_entry<T: Real>(yi: T, gi: T, mean: T, scale: T) -> T {
    let v = (gi - mean) * scale;
    if is_free(yi) {
        v
    } else {
        T::ZERO
    }
}

/// Vector-Jacobian product of Soft-Binary-Argmax@k, from the forward output `y`:
/// `grad_x = Jᵀ g`, `(Jᵀ g)_i = (1/τ)(g_i − mean_{j∈A} g_j)` on `A = {0 < y_j < 1}`, else 0.
///
/// `τ` must be the temperature of the forward pass. Two passes, `O(n)`, no allocation.
///
/// # Errors
/// [`Error::LengthMismatch`] unless `y`, `g`, `grad_x` have one length; [`Error::InvalidTau`];
/// [`Error::NonFiniteInput`] if `y` or `g` holds NaN or ±∞; [`Error::ScaleOverflow`] if some
/// `(g_i − mean)/τ` on the free set, or the mean itself, overflows. Entries outside the free
/// set are exactly 0 whatever `g` holds there. On error `grad_x` is not modified.
///
/// # Example
/// ```
/// use hypersimplex::{soft_binary_argmax, soft_binary_argmax_vjp};
/// let x = [0.9f64, 0.5, 0.1, -3.0];
/// let mut y = [0.0; 4];
/// soft_binary_argmax(&x, 1.0, 1.0, &mut y).unwrap(); // y = (0.7, 0.3, 0, 0): free = {0, 1}
/// let mut gx = [0.0; 4];
/// soft_binary_argmax_vjp(&y, &[1.0, 0.0, 0.0, 0.0], 1.0, &mut gx).unwrap();
/// assert_eq!(gx, [0.5, -0.5, 0.0, 0.0]);
/// ```
pub fn soft_binary_argmax_vjp<T: Real>(
    y: &[T],
    g: &[T],
    tau: T,
    grad_x: &mut [T],
) -> Result<(), Error> {
    if grad_x.len() != y.len() {
        return Err(Error::LengthMismatch);
    }
    let (scale, mean) = prepare(y, g, tau)?;
    for ((o, &yi), &gi) in grad_x.iter_mut().zip(y).zip(g) {
        *o = vjp_entry(yi, gi, mean, scale);
    }
    Ok(())
}

/// [`soft_binary_argmax_vjp`] overwriting `g` with `Jᵀ g`.
///
/// # Errors
/// As [`soft_binary_argmax_vjp`]; on error `g` is not modified.
pub fn soft_binary_argmax_vjp_in_place<T: Real>(y: &[T], g: &mut [T], tau: T) -> Result<(), Error> {
    let (scale, mean) = prepare(y, g, tau)?;
    for (gi, &yi) in g.iter_mut().zip(y) {
        *gi = vjp_entry(yi, *gi, mean, scale);
    }
    Ok(())
}

/// Jacobian-vector product `J v`. The Jacobian is symmetric, so this is
/// [`soft_binary_argmax_vjp`]; the separate name documents intent at call sites.
///
/// # Errors
/// As [`soft_binary_argmax_vjp`].
pub fn soft_binary_argmax_jvp<T: Real>(
    y: &[T],
    v: &[T],
    tau: T,
    out: &mut [T],
) -> Result<(), Error> {
    soft_binary_argmax_vjp(y, v, tau, out)
}

/// The dense `n × n` Jacobian `J = (1/τ)(diag(a) − a aᵀ/|A|)`, written row-major into `jac`
/// (length `n²`). Meant for small `n` (tests, inspection); use the VJP in training.
///
/// # Errors
/// [`Error::LengthMismatch`] unless `jac.len() == n²` (or if `n²` overflows);
/// [`Error::InvalidTau`]; [`Error::NonFiniteInput`]. On error `jac` is not modified.
pub fn soft_binary_argmax_jacobian<T: Real>(y: &[T], tau: T, jac: &mut [T]) -> Result<(), Error> {
    let n = y.len();
    if n.checked_mul(n) != Some(jac.len()) {
        return Err(Error::LengthMismatch);
    }
    let scale = validate::tau_scale(tau)?;
    if !validate::all_finite(y) {
        return Err(Error::NonFiniteInput);
    }
    let count = y.iter().filter(|&&v| is_free(v)).count();
    let off = if count > 0 {
        T::from_solver(T::Solver::ONE / T::Solver::from_usize(count)) * scale
    } else {
        T::ZERO
    };
    if n == 0 {
        return Ok(());
    }
    for (i, (row, &yi)) in jac.chunks_exact_mut(n).zip(y).enumerate() {
        for (j, (o, &yj)) in row.iter_mut().zip(y).enumerate() {
            *o = if is_free(yi) && is_free(yj) {
                let d = if i == j { scale } else { T::ZERO };
                d - off
            } else {
                T::ZERO
            };
        }
    }
    Ok(())
}
