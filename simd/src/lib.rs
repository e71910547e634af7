//! # hypersimplex-simd
//!
//! Vectorized (AVX2+FMA on x86-64, NEON on aarch64) and multi-threaded (rayon) versions of the
//! [`hypersimplex`] operators, with run-time dispatch and the same results contract.
//!
//! The operator is the projection onto the hypersimplex `Δ(n,k) = {y ∈ [0,1]^n : Σy = k}`:
//! `y = Π_Δ(n,k)(x/τ)`, `y_i = clip(x_i/τ − λ, 0, 1)` with the scalar λ for which `Σy = k`;
//! its vector-Jacobian product is `(Jᵀg)_i = (1/τ)(g_i − mean_{j∈A} g_j)` on the free set
//! `A = {0 < y_i < 1}` and 0 elsewhere. See the `hypersimplex` crate for the math.
//!
//! ## How it is built
//! Data flows one way: λ is found by the core crate's root finder
//! (`hypersimplex::forward::solve_lambda`, safeguarded Newton with an exact finish), driven by
//! [`passes::SimdPasses`], this crate's implementation of `hypersimplex::kernel::Reductions`.
//! Each pass is one streaming reduction computed by a vector kernel (`avx2`, `neon`, or the
//! scalar [`portable`] code), split into fixed blocks that run on the rayon pool for long
//! vectors. The final clip, the backward pass and the loss passes are vectorized the same way.
//!
//! Inputs of at least [`WORKING_SET_FROM`] elements (on the vector paths) take the
//! *working-set* solver: a strided sample gives λ and a bracket `[a, b]` that holds the root
//! with high probability; one split pass over the data ([`passes::WorkingSet`]) summarizes the
//! elements whose class (0, free, 1) cannot change inside the bracket and copies out the few
//! that can; the core root finder then runs on that working set (a few percent of the data)
//! inside `[a, b]`, and one last pass writes `y` (with streaming stores for outputs of at
//! least [`STREAM_FROM_BYTES`]). So the data is read about twice instead of 4–6 times. If the
//! bracket turns out not to hold the root (the sample misled it), the solve falls back to the
//! full passes, having spent one extra pass.
//!
//! ## Results contract
//! * Every written value is computed with the scalar code's operations in the same order, with
//!   no fused multiply-add: for the same λ (forward) or the same mean (backward), every path
//!   writes bitwise the same output as `hypersimplex`.
//! * Sums (`Σ_F d_i`, means, losses) are accumulated in a fixed order that depends on the
//!   length only: `f32` free-set sums in the core's 2^-23 fixed point (bitwise the core's),
//!   other sums in `f64`, which can differ from the scalar code's by summation-order rounding.
//!   The working-set solver sums the elements free throughout its bracket as
//!   `Σ fl(z_i − b) + m·(b − λ)`, which differs from `Σ fl(z_i − λ)` by at most about one
//!   rounding per element. Either can move λ by a few units in the last place. Tested bound
//!   (`tests/paths.rs`, `tests/working_set.rs`): with `M = max(1, max_i |x_i/τ|, |λ|)` and ε
//!   the element type's epsilon, `|y_i − y_i^core| ≤ 16·ε·M` (the core crate's own accuracy
//!   bound is `8·ε·M`, which the working-set results also meet against an independent `f64`
//!   reference), and the piece counts at a given λ are identical.
//! * Results are bitwise identical for every number of threads.
//! * On any error nothing is written: batched entry points validate every row before writing
//!   any.
//!
//! ## Paths
//! [`active_path`] reports the kernels in use (`"avx2"`, `"neon"` or `"scalar"`);
//! `HYPERSIMPLEX_FORCE_SCALAR=1` or [`set_force_scalar`] forces the scalar path; [`Kernels`]
//! runs any supported path explicitly (for tests and benchmarks).
//!
//! ```
//! let x = [1.2f32, -0.3, 0.8, 0.1, -2.0, 0.5, 0.7, 3.0, -1.0];
//! let mut y = [0.0f32; 9];
//! hypersimplex_simd::soft_binary_argmax(&x, 3.0, 0.5, &mut y)?;
//! assert!((y.iter().sum::<f32>() - 3.0).abs() < 1e-5);
//! println!("kernels: {}", hypersimplex_simd::active_path());
//! # Ok::<(), hypersimplex::Error>(())
//! ```
#![forbid(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

#[macro_use]
mod generic;

#[cfg(target_arch = "x86_64")]
#[allow(dead_code, missing_docs)]
pub(crate) mod avx2;
pub mod batch;
#[cfg(target_arch = "aarch64")]
#[allow(dead_code, missing_docs)]
pub(crate) mod neon;
pub mod passes;
pub mod platform;
pub mod portable;

use hypersimplex::forward::write_solution;
use hypersimplex::forward::{
    check_k_tau, classify_nonfinite, solve_lambda, SAMPLE_FROM, SAMPLE_SIZE,
};
use hypersimplex::kernel::{Reductions, ScalarPasses};
use hypersimplex::solve::solve;
use hypersimplex::solve::{Fill, Solution};
pub use hypersimplex::{ClassK, Error, Projection, Reduction};

pub use batch::{
    soft_binary_argmax_columns, soft_binary_argmax_rows, soft_binary_argmax_vjp_columns,
    soft_binary_argmax_vjp_rows, RowK,
};
pub use platform::{
    active_path, detected_path, scalar_forced, set_force_scalar, Element, Kernels, Path,
};

use passes::{merge_residual, reduce2, write, write2, write_in_place, SimdPasses, WritingPasses};

/// Inputs at least this long (on the vector paths) are solved on a working set: see
/// `Kernels::solve_working_set` (crate-private). Below it the whole input stays in cache, and plain
/// passes cost about as much as the split pass.
pub const WORKING_SET_FROM: usize = 1 << 15;

/// Outputs of at least this many bytes (forward `y`, backward `grad_x`) are written with
/// streaming (non-temporal) stores,
/// which skip reading the output's cache lines first: measured on the 2-core AMD EPYC test
/// machine (32 MiB L3), they write 10^7 `f32` about 20% faster, and 10^6 (4 MiB) about 30%
/// slower than plain stores, whose output then stays in the cache.
pub const STREAM_FROM_BYTES: usize = 16 << 20;

/// Half-width of the working-set bracket in standard deviations of the sample's estimate.
/// (A wider bracket keeps more elements; a narrower one fails the check more often, which
/// costs a pass.)
pub const WORKING_SET_SIGMAS: f64 = 4.0;

/// A solved sample of the input: the start point of the full solve.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sample<T> {
    /// The sample's λ.
    lambda: T,
    /// For inputs of at least [`WORKING_SET_FROM`] elements, a bracket `a < λ < b` that holds
    /// the input's root with high probability (see [`Kernels::sample`]).
    bracket: Option<(T, T)>,
}

/// `1/τ` for a backward pass: [`Error::InvalidTau`] unless `0 < τ < ∞`,
/// [`Error::ScaleOverflow`] if `1/τ` overflows.
pub(crate) fn check_tau<T: Element>(tau: T) -> Result<T, Error> {
    if !(tau > T::ZERO && tau.is_finite()) {
        return Err(Error::InvalidTau);
    }
    let s = T::ONE / tau;
    if s.is_finite() {
        Ok(s)
    } else {
        Err(Error::ScaleOverflow)
    }
}

/// `true` when every target lies in `[0, 1]` (branch-free, so it vectorizes).
pub(crate) fn valid_targets<T: Element>(t: &[T]) -> bool {
    t.iter()
        .fold(true, |ok, &v| ok & (v >= T::ZERO) & (v <= T::ONE))
}

fn merge_free(a: (usize, f64, bool), b: (usize, f64, bool)) -> (usize, f64, bool) {
    (a.0 + b.0, a.1 + b.1, a.2 & b.2)
}

impl Kernels {
    /// λ for `x` (validated `k`, `scale = 1/τ`) with these kernels and core's root finder.
    pub(crate) fn solve<T: Element>(self, x: &[T], k: f64, scale: T) -> Result<Solution<T>, Error> {
        self.solve_with(&mut SimdPasses::new(self, x, scale), x, k, scale)
    }

    /// `hypersimplex::forward::solve_lambda` (the core root finder `hypersimplex::solve::solve`
    /// from a sampled start point) with the start point computed by these kernels (see
    /// [`Kernels::sample`]), and, for inputs of at least [`WORKING_SET_FROM`] elements, the
    /// working-set solver ([`Kernels::solve_working_set`]). The scalar path and short inputs
    /// use the core function unchanged.
    pub(crate) fn solve_with<T: Element, R: Reductions<T>>(
        self,
        passes: &mut R,
        x: &[T],
        k: f64,
        scale: T,
    ) -> Result<Solution<T>, Error> {
        let n = x.len();
        if self.path() == Path::Scalar || n < SAMPLE_FROM {
            return solve_lambda(passes, x, k, scale);
        }
        let sample = self.sample(x, k, scale);
        if let Some(s) = sample.filter(|_| n >= WORKING_SET_FROM) {
            if let Some(sol) = self.solve_working_set(x, k, scale, &s)? {
                return Ok(sol);
            }
        }
        solve(passes, k, sample.map(|s| s.lambda)).map_err(|_| classify_nonfinite(x))
    }

    /// The λ of a strided sample of `x`: the core's `SAMPLE_SIZE` elements at stride
    /// `n / SAMPLE_SIZE` below n = 2^15, `4·√n` up to 16384 elements above, gathered into a
    /// contiguous buffer and solved for `k·m/n` with the vector passes. (The core crate solves
    /// its sample through a strided view with scalar passes, which costs a third of a whole
    /// projection at n = 8192.) `None` when the sample's solve fails (a non-finite element:
    /// the main solve reports it).
    pub(crate) fn sample<T: Element>(self, x: &[T], k: f64, scale: T) -> Option<Sample<T>> {
        let n = x.len();
        // Larger samples above 2^15: their λ is closer, so Newton's first step lands on the
        // final piece more often and the working set (whose size is proportional to the
        // sample's uncertainty) is smaller, for a few microseconds of sampling.
        let size = if n < WORKING_SET_FROM {
            SAMPLE_SIZE
        } else {
            (4 * (n as f64).sqrt() as usize).clamp(SAMPLE_SIZE, 16384)
        };
        let stride = (n / size).max(1);
        let mut stack = [T::ZERO; 2 * SAMPLE_SIZE];
        let mut heap = Vec::new();
        let buf: &mut [T] = if 2 * size <= stack.len() {
            &mut stack
        } else {
            heap.resize(2 * size, T::ZERO);
            &mut heap
        };
        let mut m = 0;
        for (b, &v) in buf
            .iter_mut()
            .zip(x.iter().skip(stride / 2).step_by(stride))
        {
            *b = v;
            m += 1;
        }
        let ks = k * m as f64 / n as f64;
        let mut passes = SimdPasses::new(self, &buf[..m], scale);
        let lambda = solve(&mut passes, ks, None).ok()?.lambda;
        // The bracket for the working-set solver: the sample's λ for k·m/n ± w, where
        // w = c·σ + 1 and σ = √(m·p(1 − p)), p = k/n, bounds the standard deviation of the
        // sample's Σy at a fixed λ (each y_i ∈ [0, 1] with mean about p). An end beyond the
        // sample's range is left open (±MAX): for k near 0 or n the sample cannot bound it.
        let bracket = (n >= WORKING_SET_FROM).then(|| {
            let mf = m as f64;
            let p = (ks / mf).clamp(0.0, 1.0);
            let w = WORKING_SET_SIGMAS * (mf * p * (1.0 - p)).sqrt() + 1.0;
            let below = T::from_ordered(lambda.to_ordered() - 1);
            let above = T::from_ordered(lambda.to_ordered() + 1);
            let a = if ks + w >= mf {
                T::LOWEST
            } else {
                solve(&mut passes, ks + w, Some(lambda)).map_or(T::LOWEST, |s| s.lambda)
            };
            let b = if ks - w <= 0.0 {
                T::MAX
            } else {
                solve(&mut passes, ks - w, Some(lambda)).map_or(T::MAX, |s| s.lambda)
            };
            (
                if a < below { a } else { below },
                if b > above { b } else { above },
            )
        });
        Some(Sample { lambda, bracket })
    }

    /// λ from the working-set passes ([`passes::WorkingSet`]): a bracket `[a, b]` around the
    /// sample's λ, wide enough to hold the root unless the sample is unrepresentative, one
    /// split pass over `x`, a check that `f(a) ≥ k ≥ f(b)`, and the core root finder on the
    /// working set inside `[a, b]`. `Ok(None)` when the check fails (or the bracket cannot be
    /// formed): the caller then solves over all of `x`, having spent one extra pass.
    ///
    /// The bracket comes from the sample ([`Kernels::sample`]): the sample's `f` at a fixed λ
    /// estimates `(m/n)·f(λ)` with a standard deviation of at most `σ = √(m·p(1 − p))`,
    /// `p = k/n`, so the sample's λ for `k·m/n ± (c·σ + 1)`, `c` = [`WORKING_SET_SIGMAS`],
    /// bracket the root with high probability for data without structure at the sample's
    /// stride; the check catches the rest.
    pub(crate) fn solve_working_set<T: Element>(
        self,
        x: &[T],
        k: f64,
        scale: T,
        s: &Sample<T>,
    ) -> Result<Option<Solution<T>>, Error> {
        let n = x.len();
        if !(k > 0.0 && k < n as f64) {
            return Ok(None);
        }
        let Some((a, b)) = s.bracket else {
            return Ok(None);
        };
        let lam = s.lambda;
        if !(a < lam && lam < b) {
            return Ok(None);
        }
        let Some(mut ws) = passes::WorkingSet::split(self, x, scale, a, b) else {
            // Some block kept too much (the bracket is too wide to pay off) or no scratch
            // memory. (Non-finite input is reported by the full solve.)
            return Ok(None);
        };
        if !ws.stats().finite {
            return Err(classify_nonfinite(x));
        }
        let (ga, gb) = (ws.piece(a).excess(k), ws.piece(b).excess(k));
        if ga < 0.0 || gb > 0.0 {
            return Ok(None);
        }
        // Start from the secant of f over the bracket, which on smooth data is closer than the
        // sample's λ (f is nearly linear across a narrow bracket), or from λ if it is not
        // strictly inside.
        let t = ga / (ga - gb);
        let secant = T::from_f64(a.to_f64() + t * (b.to_f64() - a.to_f64()));
        let start = if t.is_finite() && secant > a && secant < b {
            secant
        } else {
            lam
        };
        let mut sol = solve(&mut ws, k, Some(start)).map_err(|_| classify_nonfinite(x))?;
        sol.passes += 3; // the split pass and the two bracket checks
        Ok(Some(sol))
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
        let (count, sum, finite) =
            reduce2(y, g, |a, b| T::free_mean(self, a, b), merge_free).unwrap_or((0, 0.0, true));
        if !finite {
            return Err(Error::NonFiniteInput);
        }
        let mean = if count > 0 {
            T::from_f64(sum / count as f64)
        } else {
            T::ZERO
        };
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
        self.project(x, k, scale, y)
    }

    /// Solves for λ and writes `y` (validated `k` and `scale = 1/τ`). `y` is written only
    /// after the solver's first pass found every `x_i·s` finite, so on error it is untouched.
    pub(crate) fn project<T: Element>(
        self,
        x: &[T],
        k: f64,
        scale: T,
        y: &mut [T],
    ) -> Result<Projection, Error> {
        if x.len() < platform::VECTOR_MIN {
            // Short inputs (the kernels would run the scalar code anyway): exactly the core
            // crate's `soft_binary_argmax`, without the block and dispatch layers.
            let sol = solve_lambda(&mut ScalarPasses::new(x, scale), x, k, scale)?;
            write_solution(x, scale, &sol, y);
            return Ok(sol.into());
        }
        if self.path() == Path::Scalar {
            // The scalar path stays the core crate's computation, pass for pass.
            let sol = self.solve(x, k, scale)?;
            self.write_solution(x, scale, &sol, y);
            return Ok(sol.into());
        }
        let mut passes = WritingPasses::new(self, x, scale, y);
        let sol = self.solve_with(&mut passes, x, k, scale)?;
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
        let sol = self.solve(x, k, scale)?;
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
        if core::mem::size_of_val(grad_x) >= STREAM_FROM_BYTES {
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
        let n = x.len();
        if target.len() != n || grad_x.as_ref().is_some_and(|g| g.len() != n) {
            return Err(Error::LengthMismatch);
        }
        if !valid_targets(target) {
            return Err(Error::InvalidTarget);
        }
        let scale = check_k_tau(n, k, tau)?;
        let sol = self.solve(x, k, scale)?;
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
                T::grad(self, p, q, scale, lam, mean, scale, o)
            });
        }
        Ok(T::from_f64(0.5 * res.sq))
    }
}

/// Soft-Binary-Argmax@k on the [`active_path`]: `y = Π_Δ(n,k)(x/τ)`, i.e.
/// `y_i = clip(x_i/τ − λ, 0, 1)` with λ such that `Σy = k`, for real `k ∈ [0, n]`.
/// Vectors of at least [`passes::PAR_MIN`] elements also split each pass over the rayon pool.
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

/// The hard top-k mask `r_k(x)` (ties → lower index): forwards to
/// [`hypersimplex::binary_argmax`], which is a selection, not a streaming pass.
///
/// # Errors
/// As [`hypersimplex::binary_argmax`].
pub fn binary_argmax<T: Element>(x: &[T], k: f64, y: &mut [T]) -> Result<(), Error> {
    hypersimplex::binary_argmax(x, k, y)
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

/// Reduction helper re-exported for the batch module.
pub(crate) fn reduce_free<T: Element>(k: Kernels, y: &[T], g: &[T]) -> (usize, f64, bool) {
    reduce2(y, g, |a, b| T::free_mean(k, a, b), merge_free).unwrap_or((0, 0.0, true))
}
