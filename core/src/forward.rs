//! Forward pass: Soft-Binary-Argmax@k, the Euclidean projection onto the hypersimplex.
//!
//! `y = Π_Δ(n,k)(x/τ) = argmin { ‖y − x/τ‖² : y ∈ [0,1]^n, Σ y_i = k }`, whose KKT conditions
//! give `y_i = clip(x_i/τ − λ, 0, 1)` for the scalar λ with `Σ y_i = k`.
//!
//! # Start point
//! For `n ≥` [`SAMPLE_FROM`] the solver starts from the λ of a strided sample of
//! [`SAMPLE_SIZE`] elements solved for `k·m/n` (about `6·m` element reads, a few percent of
//! one pass at n = 8192); the sample's λ is within a few percent of the answer for smooth data,
//! so Newton lands on the exact piece after two or three passes. Smaller inputs start from the
//! "all coordinates free" estimate `λ = (Σz − k)/n`.
//!
//! The accuracy bound is documented on [`soft_binary_argmax`].

use crate::error::Error;
use crate::kernel::{write_clip, write_clip_in_place, Passes, ScalarPasses, Source, Strided};
use crate::real::Real;
use crate::solve::{solve, Fill, Solution};
use crate::validate;

/// Inputs at least this long start from a sampled estimate of λ. On bare-metal targets
/// (`target_os = "none"`: microcontrollers, short vectors, flash at a premium) the sampled start
/// is compiled out: it would instantiate a second copy of the solver (figures in
/// docs/design.md).
pub const SAMPLE_FROM: usize = if cfg!(target_os = "none") {
    usize::MAX
} else {
    2048
};
/// Number of elements in the sample.
pub const SAMPLE_SIZE: usize = 256;

/// What the forward pass found besides `y`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Projection {
    /// The threshold λ in units of `x/τ`: `y_i = clip(x_i/τ − λ, 0, 1)`. Where the answer lies
    /// on a flat piece (`free == 0`), λ is one of many valid thresholds.
    ///
    /// It is the λ of the first solve, the threshold of `z_i = fl(x_i · fl(1/τ))` (the same
    /// bits as the losses' λ, which [`calibrated_argmax`](crate::calibrated_argmax) compares
    /// with `z`): accurate to about `ε·max(1, |λ|)`. Where τ > `MAX/64` it is the λ of the
    /// first solve in the frame pre-scaled by `2^-8` (the same units; the same bits on every
    /// kernel path, which `fl(1/τ)`, possibly subnormal, would not guarantee). Where `|λ| > 3` the output `y` was
    /// computed in a shifted frame (see the accuracy section of
    /// [`soft_binary_argmax`]) and is more accurate than `clip(x_i/τ − λ, 0, 1)` evaluated
    /// in the element type.
    pub lambda: f64,
    /// Number of free coordinates, `0 < y_i < 1` (the support of the Jacobian).
    pub free: usize,
    /// Number of coordinates with `y_i = 1`.
    pub upper: usize,
    /// Passes over the input, the final write included (a diagnostic; typically 4–6).
    pub passes: u32,
}

impl<T: Real> From<Solution<T>> for Projection {
    fn from(s: Solution<T>) -> Self {
        Projection {
            lambda: s.lambda.to_f64(),
            free: s.free,
            upper: s.upper,
            passes: s.passes + 1,
        }
    }
}

/// The sampled start point for the solver (see the module docs); `None` for short inputs.
pub fn initial_guess<T: Real>(x: &[T], scale: T, k: f64) -> Option<T> {
    let n = x.len();
    if n < SAMPLE_FROM {
        return None;
    }
    // Gather the sample (every `stride`-th element) so the sample's passes stream contiguous
    // memory; only compiled where SAMPLE_FROM is reachable (not on bare-metal targets).
    let stride = n / SAMPLE_SIZE;
    let mut buf = [T::ZERO; SAMPLE_SIZE];
    let mut m = 0usize;
    Strided::new(x, stride / 2, stride).for_each(|v| {
        if let Some(slot) = buf.get_mut(m) {
            *slot = v;
            m += 1;
        }
    });
    let sample = buf.get(..m)?;
    let ks = k * m as f64 / n as f64;
    solve(&mut ScalarPasses::new(sample, scale), ks, None)
        .ok()
        .map(|s| s.lambda)
}

/// Solves for λ over `x` with any [`Passes`] implementation (scalar here, SIMD elsewhere).
/// `k`, τ must be validated; `scale = 1/τ`. Input with `±∞` masks is solved by the masked
/// scalar solve (`crate::mask`; the losses use this); the forward entry points use
/// [`solve_lambda_unmasked`] and substitute the masks in their output buffer instead.
#[inline]
pub fn solve_lambda<T: Real, R: Passes<T> + ?Sized>(
    passes: &mut R,
    x: &[T],
    k: f64,
    scale: T,
) -> Result<Solution<T>, Error> {
    solve(passes, k, initial_guess(x, scale, k))
        .or_else(|_| validate::nonfinite_fallback(x, k, scale))
}

/// [`solve_lambda`] without the masked solve: non-finite input is
/// [`Error::NonFiniteInput`] (or [`Error::ScaleOverflow`] when only `x/τ` overflows).
#[inline]
pub fn solve_lambda_unmasked<T: Real, R: Passes<T> + ?Sized>(
    passes: &mut R,
    x: &[T],
    k: f64,
    scale: T,
) -> Result<Solution<T>, Error> {
    solve(passes, k, initial_guess(x, scale, k)).map_err(|_| validate::classify_nonfinite(x))
}

/// Writes the projection for a solved λ.
pub fn write_solution<T: Real>(x: &[T], scale: T, sol: &Solution<T>, y: &mut [T]) {
    match sol.fill {
        Fill::Clip => write_clip(x, scale, sol.lambda, y),
        Fill::Zeros => y.iter_mut().for_each(|v| *v = T::ZERO),
        Fill::Ones => y.iter_mut().for_each(|v| *v = T::ONE),
    }
}

/// Soft-Binary-Argmax@k: `y = Π_Δ(n,k)(x/τ)`, the projection of `x/τ` onto
/// `Δ(n,k) = { y ∈ [0,1]^n : Σ y_i = k }`.
///
/// `y_i = clip(x_i/τ − λ, 0, 1)` with λ such that `Σ y_i = k`. Any real `k ∈ [0, n]` is
/// accepted (`k = 1` is sparsemax of `x/τ`; integer `k` is the paper's operator). Exact up to
/// the element type's rounding (see below), `O(n)` time, no allocation.
///
/// # Accuracy
/// For every finite input where `x/τ` does not overflow, each `y_i` is within `4·ε` (absolute;
/// ε the element type's machine epsilon) of `y*_i`, the exact projection of the real numbers
/// `x_i/τ`, so `|Σ y_i − k| ≤ (n + 1)·4·ε`, whatever the scale of `x/τ` (issue 13). The
/// passes work on `z_i = fl(x_i · fl(1/τ))`, which is only accurate to `ε·|z_i|`; where the
/// solved λ lies outside `[−3, 3]` the input is shifted by a float `c ≈ τ·(λ − 3/2)`
/// (`x_i − c` is exact or nearly so for the entries near the free range, and the projection
/// absorbs a common shift) and solved again from the translated λ, up to 8 (`f32`) or 24
/// (`f64`) times for `|x/τ|` up to the overflow threshold; the free-set sums of `f64` data are
/// compensated. Ordinary inputs (`|λ| ≤ 3`) take no extra pass. Tested against a
/// double-double reference (`tests/scale.rs`, `|x/τ|` from 1 to 1e6, and beyond `2/ε` with
/// exact answers): observed worst `1.6·ε` (`f32`) and `3.5·ε` (`f64`) per entry. τ > `MAX/64`
/// (where `|x/τ| < 64` and `fl(1/τ)` may be subnormal) is always solved again in a frame
/// pre-scaled by `2^-8` (x and τ, exact for normal x), where the same holds (tested at τ =
/// `MAX/60`, `MAX/8`, `MAX/2`, `MAX`). [`Projection::lambda`] is the λ of the first solve (see
/// there). On bare-metal targets (`target_os = "none"`, no re-solve: flash) the bound is that
/// of `z`: `|y_i − y*_i| ≤ 8·ε·M` with `M = max(1, max_i |z_i|, |λ|)`.
///
/// # Masks
/// `x_i = −∞` gives `y_i = 0` and `x_i = +∞` gives `y_i = 1` exactly; the finite entries are
/// projected onto what is left, `Δ(n_finite, k − #(+∞))` (the limit of the projection as those
/// entries go to `∓∞`, as masked softmax does), so `k` must lie in `[#(+∞), n − #(−∞)]`. NaN is
/// an error. `±∞` entries are not free: the VJP is 0 there. The accuracy bound holds as stated
/// (the masks are exact 0s and 1s). Where τ is so large that a mask's sentinel (the finite range
/// widened by about `2τ`, in units of x) is not a finite float, [`Error::ScaleOverflow`]. Not on bare-metal
/// targets (`target_os = "none"`), where `±∞` is [`Error::NonFiniteInput`].
///
/// # Errors
/// [`Error::LengthMismatch`] if `y.len() != x.len()`; [`Error::InvalidK`] (also: outside the
/// masks' range), [`Error::InvalidTau`], [`Error::NonFiniteInput`] (NaN),
/// [`Error::ScaleOverflow`]. On error `y` is not modified.
///
/// # Example
/// ```
/// let x = [3.0f32, 1.0, 0.2, -1.0];
/// let mut y = [0.0f32; 4];
/// let p = hypersimplex::soft_binary_argmax(&x, 2.0, 1.0, &mut y).unwrap();
/// assert!((y.iter().sum::<f32>() - 2.0).abs() < 1e-6);
/// assert_eq!(y[0], 1.0);          // far above the threshold: saturated
/// assert_eq!(p.upper, 1);
/// ```
#[inline(always)] // thin: the work is in `forward_solved` (one frame less on the stack)
pub fn soft_binary_argmax<T: Real>(
    x: &[T],
    k: f64,
    tau: T,
    y: &mut [T],
) -> Result<Projection, Error> {
    if y.len() != x.len() {
        return Err(Error::LengthMismatch);
    }
    match forward_solved(x, k, tau) {
        Ok((sol, scale)) => {
            #[cfg(not(target_os = "none"))]
            if let Some(sh) = crate::frame::shift_for(&sol, tau, scale) {
                crate::frame::shift_into(x, &sh, y);
                return refined(y, k, &sol, &sh, false);
            }
            write_solution(x, scale, &sol, y);
            Ok(sol.into())
        }
        #[cfg(not(target_os = "none"))]
        Err(Error::NonFiniteInput) => masked_forward(x, k, tau, y),
        Err(e) => Err(e),
    }
}

/// The forward pass of input with `±∞` masks (see `crate::mask`): the checks, then `y` = x with
/// the sentinels, solved in place as ordinary finite input (the fast passes), then the write
/// with exact 0s and 1s at the masks. `x` may be `y` itself (the in-place entry point).
#[cfg(not(target_os = "none"))]
#[inline(never)]
fn masked_forward<T: Real>(x: &[T], k: f64, tau: T, y: &mut [T]) -> Result<Projection, Error> {
    let scale = validate::k_tau(x.len(), k, tau)?;
    let p = crate::mask::prepare(x, k, scale)?;
    crate::mask::substitute(x, y, p.lo, p.hi);
    masked_finish(y, k, tau, scale, &p)
}

/// The re-solve in a shifted frame (`crate::frame`): `v` holds the values shifted by `c`
/// (with the sentinels mapped when `masked`); solves them, shifts again while needed,
/// and writes `y` in place. λ is reported in the original frame.
#[cfg(not(target_os = "none"))]
#[inline(never)]
fn refined<T: Real>(
    v: &mut [T],
    k: f64,
    first: &Solution<T>,
    sh: &crate::frame::Shift<T>,
    masked: bool,
) -> Result<Projection, Error> {
    let r = crate::frame::refine(v, first, sh, |v, s, g| {
        solve(&mut ScalarPasses::new(v, s), k, g)
    })?;
    let scale = r.scale();
    if masked {
        let (lo, hi) = r.sentinels();
        crate::mask::write_masked(v, scale, &r.sol, lo, hi);
    } else {
        write_clip_in_place(v, scale, r.sol.lambda);
    }
    Ok(r.projection(first))
}

/// After the substitution: solve on the finite `v` (unless `k` is at an end of its range) and
/// write in place.
#[cfg(not(target_os = "none"))]
fn masked_finish<T: Real>(
    v: &mut [T],
    k: f64,
    tau: T,
    scale: T,
    p: &crate::mask::Prepared<T>,
) -> Result<Projection, Error> {
    let sol = match p.end {
        Some(sol) => sol,
        None => solve_lambda_unmasked(&mut ScalarPasses::new(&*v, scale), v, k, scale)?,
    };
    if let Some(sh) = crate::frame::shift_for(&sol, tau, scale) {
        crate::frame::shift_in_place(v, &sh, p.lo, p.hi);
        return refined(v, k, &sol, &sh, true);
    }
    crate::mask::write_masked(v, scale, &sol, p.lo, p.hi);
    Ok(sol.into())
}

/// Validation and the solve, shared by the forward entry points (`MASKED = false`: they handle
/// `±∞` masks themselves) and the losses (`MASKED = true`: the masked scalar solve).
#[inline(always)]
pub(crate) fn solved<T: Real, const MASKED: bool>(
    x: &[T],
    k: f64,
    tau: T,
) -> Result<(Solution<T>, T), Error> {
    let scale = validate::k_tau(x.len(), k, tau)?;
    let passes = &mut ScalarPasses::new(x, scale);
    let sol = if MASKED {
        solve_lambda(passes, x, k, scale)?
    } else {
        solve_lambda_unmasked(passes, x, k, scale)?
    };
    Ok((sol, scale))
}

/// [`solved`] as one function for the two forward entry points (out of place and in place),
/// so that microcontroller firmware holds its code once (about 250 bytes of flash); the
/// losses inline [`solved`] instead (their stack depth is the tighter budget).
#[inline(never)]
fn forward_solved<T: Real>(x: &[T], k: f64, tau: T) -> Result<(Solution<T>, T), Error> {
    solved::<T, false>(x, k, tau)
}

/// [`soft_binary_argmax`] computed in place: `x ← Π_Δ(n,k)(x/τ)`.
///
/// # Errors
/// As [`soft_binary_argmax`]; on error `x` is not modified.
#[inline(always)] // thin: the work is in `forward_solved` (one frame less on the stack)
pub fn soft_binary_argmax_in_place<T: Real>(
    x: &mut [T],
    k: f64,
    tau: T,
) -> Result<Projection, Error> {
    let (sol, scale) = match forward_solved(x, k, tau) {
        Ok(s) => s,
        #[cfg(not(target_os = "none"))]
        Err(Error::NonFiniteInput) => {
            let scale = validate::k_tau(x.len(), k, tau)?;
            let p = crate::mask::prepare(x, k, scale)?;
            crate::mask::substitute_in_place(x, p.lo, p.hi);
            return masked_finish(x, k, tau, scale, &p);
        }
        Err(e) => return Err(e),
    };
    #[cfg(not(target_os = "none"))]
    if let Some(sh) = crate::frame::shift_for(&sol, tau, scale) {
        let nan = T::from_f64(f64::NAN);
        crate::frame::shift_in_place(x, &sh, nan, nan);
        return refined(x, k, &sol, &sh, false);
    }
    match sol.fill {
        Fill::Clip => write_clip_in_place(x, scale, sol.lambda),
        Fill::Zeros => x.iter_mut().for_each(|v| *v = T::ZERO),
        Fill::Ones => x.iter_mut().for_each(|v| *v = T::ONE),
    }
    Ok(sol.into())
}
