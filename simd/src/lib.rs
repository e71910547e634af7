//! # hypersimplex-simd
//!
//! Vectorized (AVX2 on x86-64, NEON on aarch64) and multi-threaded (rayon) versions of the
//! [`hypersimplex`] operators, with run-time dispatch and the same results contract.
//!
//! The operator is the projection onto the hypersimplex `Δ(n,k) = {y ∈ [0,1]^n : Σy = k}`:
//! `y = Π_Δ(n,k)(x/τ)`, `y_i = clip(x_i/τ − λ, 0, 1)` with the scalar λ for which `Σy = k`;
//! its vector-Jacobian product is `(Jᵀg)_i = (1/τ)(g_i − mean_{j∈A} g_j)` on the free set
//! `A = {0 < y_i < 1}` and 0 elsewhere. See the `hypersimplex` crate for the math.
//!
//! ## How it is built
//! Data flows one way: λ is found by the core crate's root finder
//! (`hypersimplex::internal::solve_lambda`, safeguarded Newton with an exact finish), driven by
//! `passes::SimdPasses`, this crate's implementation of `hypersimplex::internal::kernel::Passes`.
//! Each pass is one streaming reduction computed by a vector kernel (`avx2`, `neon`, or the
//! scalar [`portable`] code), split into fixed blocks that run on the rayon pool for long
//! vectors. The final clip, the backward pass and the loss passes are vectorized the same way.
//!
//! Inputs of at least [`WORKING_SET_FROM`] elements (on the vector paths) take the
//! *working-set* solver: a strided sample gives λ and a bracket `[a, b]` that holds the root
//! with high probability; one split pass over the data (`working_set::WorkingSet`) summarizes the
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
//!   (`tests/kernels/paths.rs`, `tests/kernels/working_set.rs`): with `M = max(1, max_i |x_i/τ|, |λ|)` and ε
//!   the element type's epsilon, `|y_i − y_i^core| ≤ 16·ε·M` (the core crate's own accuracy
//!   bound is `8·ε·M`, which the working-set results also meet against an independent `f64`
//!   reference), and the piece counts at a given λ are identical.
//! * Accuracy (issue 13): whatever the scale of `x/τ`, every path's `y_i` is within `4·ε` of
//!   the exact projection of the real numbers `x_i/τ` (`|Σy − k| ≤ (n + 1)·4·ε`), as the core
//!   crate's (`hypersimplex::soft_binary_argmax`, "Accuracy"): where λ is large the input is
//!   shifted by a float near `τ·λ` and solved again with these kernels' passes (for τ >
//!   `MAX/64` always, in a frame pre-scaled by `2^-8`); the `f64`
//!   free-set sums are compensated (TwoSum). The losses compute `ŷ` and the gradient in that
//!   frame too. Tested in `tests/kernels/scale.rs` against a double-double reference (every path, in
//!   place, masks, rows, columns, the working set, the losses, beyond `|x/τ| = 2/ε`, τ from
//!   `MAX/60` to `MAX`).
//! * Results are bitwise identical for every number of threads.
//! * On any error nothing is written: batched entry points validate every row before writing
//!   any.
//!
//! ## Paths
//! [`active_path`] reports the kernels in use (`"avx512"`, `"avx2"`, `"neon"` or `"scalar"`);
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

// Layout (data flows down): `ops` and `batch` (entry points) → `working_set` and `passes`
// (block reductions driving the core root finder) → `element` (dispatch per element type) →
// `isa/*` (`#[target_feature]` entry points and primitives) → `kernels/*` (generic bodies).
mod batch;
mod element;
pub mod half;
mod isa;
mod kernels;
mod ops;
mod platform;
pub mod pool;
mod small;
mod topk;

#[doc(hidden)]
pub mod passes;
#[doc(hidden)]
pub mod portable;
#[doc(hidden)]
pub mod working_set;

pub use hypersimplex::{ClassK, Error, Projection, Reduction};

pub use batch::{
    soft_binary_argmax_columns, soft_binary_argmax_rows, soft_binary_argmax_vjp_columns,
    soft_binary_argmax_vjp_rows, McStore, RowK, BATCH_PAR_MIN,
};
pub use element::{Element, VECTOR_MIN};
pub use ops::{
    hypersimplex_loss, hypersimplex_loss_multiclass, hypersimplex_loss_multiclass_lambda,
    soft_binary_argmax, soft_binary_argmax_in_place, soft_binary_argmax_vjp,
    soft_binary_argmax_vjp_in_place, STREAM_FROM_BYTES,
};
pub use platform::{active_path, detected_path, scalar_forced, set_force_scalar, Kernels, Path};
pub use topk::{
    binary_argmax, binary_argmax_in_place, binary_argmax_rows, binary_argmax_rows_in_place,
    SAMPLED_MIN as TOPK_SAMPLED_MIN,
};
pub use working_set::{WORKING_SET_FROM, WORKING_SET_SIGMAS};
