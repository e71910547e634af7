//! # hypersimplex
//!
//! Exact, linear-time, allocation-free Soft-Binary-Argmax@k and HyperSimplex losses
//! (Gomez, Wang, Tang, *Differentiable Zero-One Loss via Hypersimplex Projections*, 2026).
//!
//! The hypersimplex is `Δ(n,k) = { y ∈ [0,1]^n : Σ y_i = k }`. For logits `x` and a
//! temperature `τ > 0`:
//!
//! | function | computes |
//! |---|---|
//! | [`soft_binary_argmax`] | `y = Π_Δ(n,k)(x/τ)`, i.e. `y_i = clip(x_i/τ − λ, 0, 1)` with `Σy = k` |
//! | [`binary_argmax`] | the top-k 0/1 mask `r_k(x)`, the τ → 0 limit |
//! | [`soft_binary_argmax_vjp`] | `Jᵀg = (1/τ)(g − mean_A g)` on the free set `A = {0<y<1}` |
//! | [`soft_binary_argmax_jacobian`] | `J = (1/τ)(diag(a) − a aᵀ/|A|)` |
//! | [`hypersimplex_loss`] | `½‖Π_Δ(n,k)(x/τ) − t‖²` and its gradient |
//! | [`hypersimplex_loss_multiclass`] | `Σ_c ½‖Π_Δ(B,k_c)(X[:,c]/τ) − Y[:,c]‖²` (or the mean) and its gradient |
//!
//! Everything works on caller-provided slices of `f32` or `f64` ([`Real`]) (and `bf16`/`f16`
//! storage with `f32` arithmetic, in [`half`]), with real-valued
//! `k ∈ [0, n]`. The crate is `#![no_std]`, never allocates, and its public functions do not
//! panic: bad input returns an [`Error`] and leaves every output buffer untouched.
//!
//! The solver's building blocks (the streaming passes, the root finder, validation), which the
//! `hypersimplex-simd` crate and the C ABI build on, are not public API; how the code is laid
//! out and why is in the repository's `docs/design.md`.
//!
//! ```
//! use hypersimplex::{soft_binary_argmax, soft_binary_argmax_vjp};
//! let x = [1.2f32, -0.3, 0.8, 0.1, -2.0];
//! let (k, tau) = (2.0, 0.5);
//! let mut y = [0.0f32; 5];
//! let info = soft_binary_argmax(&x, k, tau, &mut y)?;
//! assert!((y.iter().sum::<f32>() - 2.0).abs() < 1e-6);
//! // backward: gradient of <w, y> with respect to x
//! let w = [1.0f32, 0.0, 0.0, 0.0, 0.0];
//! let mut gx = [0.0f32; 5];
//! soft_binary_argmax_vjp(&y, &w, tau, &mut gx)?;
//! assert!(gx.iter().sum::<f32>().abs() < 1e-6); // J has zero row sums
//! # let _ = info;
//! # Ok::<(), hypersimplex::Error>(())
//! ```
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

mod backward;
mod error;
mod forward;
#[cfg(not(target_os = "none"))]
mod frame;
pub mod half;
mod kernel;
mod loss;
#[cfg(not(target_os = "none"))]
mod mask;
mod predict;
mod real;
mod rows;
mod sharded;
mod solve;
mod topk;
mod validate;

pub use backward::{
    soft_binary_argmax_jacobian, soft_binary_argmax_jvp, soft_binary_argmax_vjp,
    soft_binary_argmax_vjp_in_place,
};
pub use error::Error;
pub use forward::{soft_binary_argmax, soft_binary_argmax_in_place, Projection};
pub use loss::{
    hypersimplex_loss, hypersimplex_loss_multiclass, hypersimplex_loss_multiclass_lambda,
    multiclass_scratch_len, target_k, ClassK, Reduction,
};
pub use predict::calibrated_argmax;
pub use real::Real;
pub use sharded::{
    hypersimplex_loss_multiclass_sharded, max_allreduces, multiclass_buf_len,
    soft_binary_argmax_sharded, soft_binary_argmax_vjp_sharded, Allreduce, ColumnState,
    ShardedInfo, MAX_NEWTON_SHARDED,
};
pub use topk::{binary_argmax, binary_argmax_in_place};

/// What the `hypersimplex-simd` crate and the C ABI build on: the solver, its streaming
/// passes, the shared input validation, the numeric building blocks. Not public API (no
/// semver guarantee); `docs/design.md` explains each piece.
#[doc(hidden)]
pub mod internal {
    /// The streaming passes the root finder is built from ([`kernel::Passes`]), the scalar
    /// implementation, the data sources, the final write.
    pub mod kernel {
        pub use crate::kernel::*;
    }
    /// The root finder for λ.
    pub mod solve {
        pub use crate::solve::*;
    }
    /// Input validation shared by every entry point.
    pub mod validate {
        pub use crate::validate::*;
    }
    /// `±∞` entries as masks (not on bare-metal targets).
    #[cfg(not(target_os = "none"))]
    pub mod mask {
        pub use crate::mask::*;
    }
    /// The re-solve in a shifted frame that makes the accuracy independent of `|x/τ|` (not on
    /// bare-metal targets).
    #[cfg(not(target_os = "none"))]
    pub mod frame {
        pub use crate::frame::*;
    }
    /// Row loops over row-major buffers without indexing (the row-wise functions).
    pub mod rows {
        pub use crate::rows::*;
    }
    /// The top-k mask's input checks.
    pub mod topk {
        pub use crate::topk::{prepare, prepare_rows};
    }
    /// Element types, the solver arithmetic and the accumulators.
    pub mod real {
        pub use crate::real::*;
    }
    pub use crate::backward::{is_free, vjp_entry, vjp_mean_checked};
    pub use crate::forward::{
        initial_guess, solve_lambda, solve_lambda_unmasked, write_solution, SAMPLE_FROM,
        SAMPLE_SIZE,
    };
    #[cfg(not(target_os = "none"))]
    pub use crate::loss::loss_shifted;
    pub use crate::loss::{column_frame, grad_entry, residual, Residual};
}

/// The README's Rust example, compiled and run as a doctest so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
