//! The element types with vectorized kernels (`f32`, `f64`) and the dispatch of every
//! per-block kernel to the path a [`Kernels`] token names.

use std::mem::MaybeUninit;

use hypersimplex::internal::kernel::{Passes, Piece, ScalarPasses, Stats};
use hypersimplex::internal::Residual;
use hypersimplex::Real;

use crate::platform::{Kernels, Path};
use crate::portable;
use crate::working_set::SplitSummary;

/// Inputs shorter than this run the scalar code on every path: the vector kernels' fixed
/// costs (horizontal reductions) exceed their gain, and the scalar code computes the same
/// values.
pub const VECTOR_MIN: usize = 32;

/// Expands to the dispatch of one kernel: the `#[target_feature]` entry point of the
/// token's instruction set for this element type's lanes, or the scalar twin.
macro_rules! dispatch {
    ($k:expr, $f:ident($x:expr $(, $a:expr)*), $scalar:expr) => {
        match $k.path() {
            _ if $x.len() < VECTOR_MIN => $scalar,
            #[cfg(target_arch = "x86_64")]
            // SAFETY: a `Kernels` with `Path::Avx2` or `Path::Avx512` (which implies AVX2) exists
            // only after `Path::is_supported` confirmed (with `is_x86_feature_detected!`) AVX2.
            Path::Avx2 | Path::Avx512 => unsafe { crate::isa::avx2::$f::<Self::Avx2>($x $(, $a)*) },
            #[cfg(target_arch = "aarch64")]
            // SAFETY: a `Kernels` with `Path::Neon` exists only after `Path::is_supported`
            // confirmed that this CPU has NEON (always true on aarch64).
            Path::Neon => unsafe { crate::isa::neon::$f::<Self::Neon>($x $(, $a)*) },
            _ => $scalar,
        }
    };
}

/// The element types with vectorized kernels (`f32`, `f64`): the per-block kernels behind
/// [`Kernels`]. Each function works on one block of at most [`crate::passes::BLOCK`]
/// elements (the callers split longer inputs) and has the semantics of the scalar code in
/// `hypersimplex` (see `crate::portable`, the scalar twins), where `z_i = fl(x_i·s)` and
/// `d_i = fl(z_i − λ)`.
pub trait Element: Real {
    /// The AVX2 lanes of this type.
    #[doc(hidden)]
    #[cfg(target_arch = "x86_64")]
    type Avx2: crate::isa::Lanes<T = Self>;
    /// The NEON lanes of this type.
    #[doc(hidden)]
    #[cfg(target_arch = "aarch64")]
    type Neon: crate::isa::Lanes<T = Self>;

    /// `Some(x)` when this is `f32` (the short-row solver's vector loads and stores).
    #[doc(hidden)]
    fn as_f32(_x: &[Self]) -> Option<&[f32]> {
        None
    }
    /// `Some(x)` when this is `f32`.
    #[doc(hidden)]
    fn as_f32_mut(_x: &mut [Self]) -> Option<&mut [f32]> {
        None
    }

    /// Σz, min z, max z, finiteness of `z`.
    fn stats(k: Kernels, x: &[Self], s: Self) -> Stats<Self> {
        dispatch!(k, stats(x, s), ScalarPasses::new(x, s).stats())
    }
    /// The piece at λ: `|F|`, `|U|`, `Σ_F d_i`.
    fn piece(k: Kernels, x: &[Self], s: Self, lam: Self) -> Piece {
        dispatch!(k, piece(x, s, lam), ScalarPasses::new(x, s).piece(lam))
    }
    /// [`Element::piece`] and [`Element::stats`] in one pass, except that the vector paths do
    /// not compute `Stats::sum` (NaN): the core solver runs this pass only from a start point,
    /// where it does not use Σz.
    fn piece_stats(k: Kernels, x: &[Self], s: Self, lam: Self) -> (Piece, Stats<Self>) {
        let scalar = || ScalarPasses::new(x, s).piece_and_stats(lam);
        dispatch!(k, piece_stats(x, s, lam), scalar())
    }
    /// The working-set split of `z` for the bracket `[a, b]` (see [`SplitSummary`]); the kept
    /// `z_i` are written to the front of `out` (`out.len() ≥ x.len()`).
    fn split(
        k: Kernels,
        x: &[Self],
        s: Self,
        a: Self,
        b: Self,
        out: &mut [MaybeUninit<Self>],
    ) -> SplitSummary<Self> {
        dispatch!(k, split(x, s, a, b, out), portable::split(x, s, a, b, out))
    }
    /// `true` when every `z_i` is finite.
    fn all_finite(k: Kernels, x: &[Self], s: Self) -> bool {
        dispatch!(k, all_finite(x, s), portable::all_finite(x, s))
    }
    /// [`Element::piece`], also writing `y_i = clip(d_i, 0, 1)` like [`Element::clip`].
    fn piece_write(k: Kernels, x: &[Self], s: Self, lam: Self, y: &mut [Self]) -> Piece {
        dispatch!(k, piece_write(x, s, lam, y), {
            portable::clip(x, s, lam, y);
            ScalarPasses::new(x, s).piece(lam)
        })
    }
    /// `y_i = clip(d_i, 0, 1)` over `min(x.len(), y.len())` elements.
    fn clip(k: Kernels, x: &[Self], s: Self, lam: Self, y: &mut [Self]) {
        dispatch!(k, clip(x, s, lam, y), portable::clip(x, s, lam, y))
    }
    /// [`Element::clip`] with streaming (non-temporal) stores where the path has them, for
    /// outputs much larger than the caches; bitwise the same values.
    fn clip_stream(k: Kernels, x: &[Self], s: Self, lam: Self, y: &mut [Self]) {
        dispatch!(k, clip_stream(x, s, lam, y), portable::clip(x, s, lam, y))
    }
    /// In-place [`Element::clip`].
    fn clip_in_place(k: Kernels, x: &mut [Self], s: Self, lam: Self) {
        dispatch!(
            k,
            clip_in_place(x, s, lam),
            portable::clip_in_place(x, s, lam)
        )
    }
    /// `(|A|, Σ_{A} g_i, every |y_i| ≤ MAX and |g_i| ≤ limit)` over `A = {0 < y_i < 1}`.
    fn free_mean(k: Kernels, y: &[Self], g: &[Self], limit: Self) -> (usize, f64, bool) {
        dispatch!(k, free_mean(y, g, limit), portable::free_mean(y, g, limit))
    }
    /// `out_i = (g_i − m)·s` where `0 < y_i < 1`, else `+0`.
    fn vjp(k: Kernels, y: &[Self], g: &[Self], mean: Self, s: Self, out: &mut [Self]) {
        dispatch!(
            k,
            vjp(y, g, mean, s, out),
            portable::vjp(y, g, mean, s, out)
        )
    }
    /// [`Element::vjp`] with streaming (non-temporal) stores where the path has them, for
    /// outputs much larger than the caches; bitwise the same values.
    fn vjp_stream(k: Kernels, y: &[Self], g: &[Self], mean: Self, s: Self, out: &mut [Self]) {
        dispatch!(
            k,
            vjp_stream(y, g, mean, s, out),
            portable::vjp(y, g, mean, s, out)
        )
    }
    /// In-place [`Element::vjp`] (`g ← out`).
    fn vjp_in_place(k: Kernels, y: &[Self], g: &mut [Self], mean: Self, s: Self) {
        dispatch!(
            k,
            vjp_in_place(y, g, mean, s),
            portable::vjp_in_place(y, g, mean, s)
        )
    }
    /// The loss residual at λ (see `hypersimplex::internal::residual`).
    fn residual(k: Kernels, x: &[Self], t: &[Self], s: Self, lam: Self) -> Residual {
        dispatch!(k, residual(x, t, s, lam), portable::residual(x, t, s, lam))
    }
    /// `out_i = hypersimplex::internal::grad_entry(x_i, t_i, s, λ, m, factor)`.
    #[allow(clippy::too_many_arguments)]
    fn grad(
        k: Kernels,
        x: &[Self],
        t: &[Self],
        s: Self,
        lam: Self,
        mean: Self,
        factor: Self,
        out: &mut [Self],
    ) {
        let scalar = |out: &mut [Self]| portable::grad(x, t, s, lam, mean, factor, out);
        dispatch!(k, grad(x, t, s, lam, mean, factor, out), scalar(out))
    }
    /// `out[c·stride + r] = x[r·cols + c]` for the `x.len() / cols` rows of the row-major
    /// `x`; `true` when every `z_i` of those rows is finite.
    fn transpose(
        k: Kernels,
        x: &[Self],
        cols: usize,
        s: Self,
        out: &mut [Self],
        stride: usize,
    ) -> bool {
        let scalar = |out: &mut [Self]| portable::transpose(x, cols, s, out, stride);
        dispatch!(k, transpose(x, cols, s, out, stride), scalar(out))
    }
    /// [`Element::residual`] against the one-hot targets of `class`
    /// (`t_i = 1` where `labels[i] == class`, else 0).
    fn residual_labels(
        k: Kernels,
        x: &[Self],
        labels: &[u32],
        class: u32,
        s: Self,
        lam: Self,
    ) -> Residual {
        let scalar = || portable::residual_labels(x, labels, class, s, lam);
        dispatch!(k, residual_labels(x, labels, class, s, lam), scalar())
    }
    /// `out_i = hypersimplex::internal::grad_entry(x_i, t_i, s, λ_i, m_i, factor)`:
    /// [`Element::grad`] with a λ and a mean per element.
    #[allow(clippy::too_many_arguments)]
    fn grad_pattern(
        k: Kernels,
        x: &[Self],
        t: &[Self],
        lam: &[Self],
        mean: &[Self],
        s: Self,
        factor: Self,
        out: &mut [Self],
    ) {
        let scalar = |out: &mut [Self]| portable::grad_pattern(x, t, lam, mean, s, factor, out);
        dispatch!(
            k,
            grad_pattern(x, t, lam, mean, s, factor, out),
            scalar(out)
        )
    }
}

impl Element for f32 {
    #[cfg(target_arch = "x86_64")]
    type Avx2 = crate::isa::avx2::F32x8;
    #[cfg(target_arch = "aarch64")]
    type Neon = crate::isa::neon::F32x4;
    fn as_f32(x: &[f32]) -> Option<&[f32]> {
        Some(x)
    }
    fn as_f32_mut(x: &mut [f32]) -> Option<&mut [f32]> {
        Some(x)
    }
}

impl Element for f64 {
    #[cfg(target_arch = "x86_64")]
    type Avx2 = crate::isa::avx2::F64x4;
    #[cfg(target_arch = "aarch64")]
    type Neon = crate::isa::neon::F64x2;
}
