//! The vector kernels, each written once as a generic `#[inline(always)]` function over
//! [`Lanes`](crate::isa::Lanes) and compiled per instruction set by the entry points that
//! [`entry_points!`] defines in each `isa` module.
//!
//! | file | kernels |
//! |---|---|
//! | [`forward`] | statistics, pieces (optionally writing `y`), finiteness, clips |
//! | [`backward`] | free-set mean of `g`, VJP (plain, streaming, in place) |
//! | [`loss`] | residuals (targets or labels), gradients, the multiclass transpose |
//! | [`split`] | the working-set split pass |
//!
//! Every kernel has the semantics of its scalar twin in [`crate::portable`] (the tests compare
//! them on every path), processes two vectors per iteration where it pays, and finishes the
//! last elements with the scalar formula, so any length and alignment is handled. Values are
//! computed as `d = fl(fl(x·s) − λ)` (never a fused multiply-add), so every written value and
//! every count equals the scalar code's bit for bit; `f32` free-set sums are exact fixed-point
//! integers; other sums are `f64` lanes in an order fixed by the length.

pub(crate) mod backward;
pub(crate) mod forward;
pub(crate) mod loss;
pub(crate) mod split;

pub(crate) use backward::*;
pub(crate) use forward::*;
pub(crate) use loss::*;
pub(crate) use split::*;

use hypersimplex::Real;

/// Iterations of a two-vector main loop between flushes of a fixed-point sum: each adds at
/// most 2^23 to a lane, so a lane stays below 2^30.
pub(crate) const FX_FLUSH: usize = 64;

/// The scalar remainder's free-set sum, in fixed point or `f64` like the core crate's passes.
pub(crate) struct Tail {
    fixed: i64,
    wide: f64,
}

impl Tail {
    #[inline(always)]
    pub(crate) fn new() -> Self {
        Tail {
            fixed: 0,
            wide: 0.0,
        }
    }
    #[inline(always)]
    pub(crate) fn add<T: Real>(&mut self, d: T, free: bool) {
        if T::FIXED_SUM {
            self.fixed += (d.to_fixed() & -(free as i32)) as i64;
        } else {
            self.wide += d.free_part(free).to_f64();
        }
    }
    /// Adds `round(d·2^23)` to nearest, ties to even (the split pass's rounding).
    #[inline(always)]
    pub(crate) fn add_nearest<T: Real>(&mut self, d: T) {
        if T::FIXED_SUM {
            // `d·2^23` is exact in `f64` (and in `T`), so this rounds the same value.
            self.fixed += (d.to_f64() * 8_388_608.0).round_ties_even() as i64;
        } else {
            self.wide += d.to_f64();
        }
    }
    #[inline(always)]
    pub(crate) fn value<T: Real>(&self) -> f64 {
        if T::FIXED_SUM {
            self.fixed as f64 * (1.0 / 8_388_608.0)
        } else {
            self.wide
        }
    }
}

/// Defines, inside an instruction-set module, one `#[target_feature(enable = $feature)]`
/// function per kernel below, generic over the module's [`Lanes`](crate::isa::Lanes) types:
/// the only place where kernels are compiled for an instruction set. A new kernel is one
/// generic function in this folder, one line here, its scalar twin in `portable`, and its
/// dispatch in `element`.
macro_rules! entry_points {
    ($feature:literal) => {
        $crate::kernels::entry_points!(@each $feature;
            stats(x: &[L::T], s: L::T) -> Stats<L::T>;
            piece(x: &[L::T], s: L::T, lam: L::T) -> Piece;
            piece_stats(x: &[L::T], s: L::T, lam: L::T) -> (Piece, Stats<L::T>);
            piece_write(x: &[L::T], s: L::T, lam: L::T, y: &mut [L::T]) -> Piece;
            all_finite(x: &[L::T], s: L::T) -> bool;
            clip(x: &[L::T], s: L::T, lam: L::T, y: &mut [L::T]) -> ();
            clip_stream(x: &[L::T], s: L::T, lam: L::T, y: &mut [L::T]) -> ();
            clip_in_place(x: &mut [L::T], s: L::T, lam: L::T) -> ();
            split(x: &[L::T], s: L::T, a: L::T, b: L::T, out: &mut [MaybeUninit<L::T>]) -> SplitSummary<L::T>;
            free_mean(y: &[L::T], g: &[L::T], limit: L::T) -> (usize, f64, bool);
            vjp(y: &[L::T], g: &[L::T], mean: L::T, s: L::T, out: &mut [L::T]) -> ();
            vjp_stream(y: &[L::T], g: &[L::T], mean: L::T, s: L::T, out: &mut [L::T]) -> ();
            vjp_in_place(y: &[L::T], g: &mut [L::T], mean: L::T, s: L::T) -> ();
            residual(x: &[L::T], t: &[L::T], s: L::T, lam: L::T) -> Residual;
            residual_labels(x: &[L::T], labels: &[u32], class: u32, s: L::T, lam: L::T) -> Residual;
            grad(x: &[L::T], t: &[L::T], s: L::T, lam: L::T, mean: L::T, factor: L::T, out: &mut [L::T]) -> ();
            grad_pattern(x: &[L::T], t: &[L::T], lam: &[L::T], mean: &[L::T], s: L::T, factor: L::T, out: &mut [L::T]) -> ();
            transpose(x: &[L::T], cols: usize, s: L::T, out: &mut [L::T], stride: usize) -> bool;
        );
    };
    (@each $feature:literal; $($name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)*) => {
        #[allow(unused_imports)]
        use {
            core::mem::MaybeUninit,
            hypersimplex::internal::kernel::{Piece, Stats},
            hypersimplex::internal::Residual,
            $crate::isa::Lanes,
            $crate::working_set::SplitSummary,
        };
        $(
            /// The kernel of the same name in `crate::kernels`, compiled for this
            /// instruction set.
            ///
            /// # Safety
            /// The CPU must have this instruction set's features (the dispatcher checks).
            // Never inlined (on x86-64 it cannot be: its callers lack the feature; on aarch64,
            // where NEON is the baseline, this keeps one symbol per kernel for the
            // disassembly checks, at the cost of one call per block).
            #[target_feature(enable = $feature)]
            #[inline(never)]
            #[allow(clippy::too_many_arguments, clippy::unused_unit)]
            pub(crate) unsafe fn $name<L: Lanes>($($arg: $ty),*) -> $ret {
                // SAFETY: this function runs with the features the caller guaranteed.
                unsafe { $crate::kernels::$name::<L>($($arg),*) }
            }
        )*
    };
}
pub(crate) use entry_points;
