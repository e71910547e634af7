//! Short rows (`n ≤ SMALL_MAX`): several rows solved at once, one row per lane.
//!
//! The general solver costs about 100 ns of fixed work per call (dispatch, sample, one call of
//! the core root finder per row), which dominates rows of a few dozen elements. Here a block of
//! [`LANES`] rows is transposed into a stack buffer of `f32` lanes (`zt[i][r] = fl(x[r, i]·s)·u`,
//! `s = fl(1/τ)`, the general path's `z` in fixed-point units, `u = 2^24`, or `2^23` for rows
//! longer than 128 (see [`Unit`]), so that the fixed-point sums
//! below need no multiplication), and a safeguarded Newton iteration runs on all rows
//! together, in `f32` lanes (8 rows per AVX2 vector). One pass at the lanes' λ gives per lane
//! the piece there: `|F|` (`0 < d < 1`, `d = z − λ`), `f(λ) = Σ_i clip(d_i, 0, 1)` in fixed
//! point (`round(d·u)` on F, `0` or `u` elsewhere, summed as integers: exact, so independent
//! of the order) and `R`, the distance from λ to the nearest breakpoint
//! (`min_i min(|d_i|, |d_i − 1|)`). (The lanes hold `μ = λ + ½` rather than λ, and a pass
//! computes `h = fl(z − μ)`, `d = h + ½`: then `F = {|h| < ½}` and `R = min_i ||h_i| − ½|`
//! share one `|h|`, and `round(clamp(h, −½, ½))` summed over every entry is `f(λ)` less a
//! constant: 11 vector operations per entry, against 15 for the plain formulas; see
//! [`pass`].) `f(λ) − k` is
//! then an exact integer in units of `2^-24`, and the piece's root `λ + δ`,
//! `δ = (f(λ) − k)/|F|`, is evaluated in `f32`; it is the next point if it lies strictly inside
//! the bracket `(lo, hi)` that the signs of `f(λ) − k` have built (else the bracket's
//! midpoint). A lane has converged when
//! - `|δ| < R`, tested as `|f(λ) − k| < R·|F|` (products, with a margin for their rounding,
//!   so the test does not wait for the division that gives δ): no breakpoint lies between λ
//!   and the root, so the sets at λ are the root's (most rows stop here). The first pass
//!   does not compute `R` (8 operations per entry instead of 11): 41% of Gaussian rows of 10
//!   would stop there, but a group stops only when all its 8 rows do (almost never), and a
//!   row on its root's piece lands on the root and stops at the second pass;
//! - `f(λ) = k` exactly, or the Newton point rounds to λ itself.
//!
//! The root of the piece is then `λ + δ` with δ recomputed in `f64` from the pass's exact
//! sums, and the rows are written as `y_i = clip(fl(z_i − μ) − fl₃₂(δ − ½))`, which carries
//! the correction δ instead of rounding `λ + δ` to `f32`. Finished lanes keep their values while
//! the others go on (a lane's result never depends on its neighbours, so a row gets the same
//! bits alone, in any block, in place or as a column); a row that has not converged after
//! [`MAX_STEPS`] passes, whose λ lies outside [`LAMBDA_WINDOW`], or with a non-finite `x_i·s`,
//! is left to the general solver (which reports errors and takes its shifted frame for large
//! λ).
//!
//! The operations are the [`Ops`] primitives, implemented by [`Portable`] (plain Rust on
//! `[f32; 8]`, the scalar path and the definitions), `isa::avx2::Small` and
//! `isa::neon::Small` (intrinsics; NEON holds a block's 8 lanes in two 128-bit vectors), with
//! the same IEEE operations in the same order and no fused multiply-add: every path and thread
//! count writes bitwise the same output (tested against each other, primitive by primitive on
//! NaN, signed zeros and range ends, and block by block).
//!
//! Rows go in through [`Ops::load_rows`], which scales them and gathers the start's statistics
//! (`Σz`, `min z`, `max z`) in the same sweep (on AVX2: 4-column tiles, two 4×4 transposes
//! with rows `j` and `j + 4` in the two halves of a vector; NEON: 4×4 transposes), and out
//! through [`Ops::store_rows`], which applies the last step on the way (AVX2: 8×8 tiles, then
//! the 4-column tile ending at `n`; NEON: 4×4). The loop over blocks runs inside one call compiled for the
//! path ([`rows`]), and a batch's k goes into lanes once per distinct block of k ([`KLanes`]).
//! Rows of at least [`ROWWISE_FROM`] (112) elements are not transposed: each is scaled and
//! written where it lies, and a pass runs over one row at its own μ, its exact sums added
//! across the lanes into the row's lane of its group, so the update above is unchanged and a
//! row that has converged skips its group's later passes (`rowwise.rs`; their start's `Σz` is
//! summed in 8 partial sums, as a single vector of that length sums it).
//! The VJP of short rows ([`vjp_rows`]) masks `g` by the free set (NaN outside it; `g` is
//! finite, checked first), either in one sweep over the rows ([`Ops::load_vjp`]) or, on AVX2
//! for rows of at most 64, tile by tile in registers ([`Ops::load_vjp_tiles`]), transposes only
//! that into lanes for the free-set sums (`f64`, in row order), and writes the output
//! straight from the rows, each value's row mean put in place by a lane permute
//! ([`Ops::store_vjp`]: `vpermps`, NEON's `tbl`; after the sweep, from its masked copy).
//!
//! Accuracy (inside the window `|λ| ≤ 3`, the core's `frame::WINDOW`, so the free entries have
//! `|z| < 4`): `z_i` is the general path's (half an ulp of `|z| < 4`, at most ε, plus the common
//! rounding of `s`, at most ε/2 in `y`), `h_i = fl(z_i − μ)` adds at most `2^-26` on the free
//! set (`|h| < ½`) and `round(d·2^24)` at most `2^-25` (`round(d·2^23)`: `2^-24`), a breakpoint
//! between `λ` and `λ + δ` at most `|δ|` (by the stopping tests: about an ulp of λ when the
//! Newton point rounds to λ, at most `2^-25` when `|δ| < R` stopped it, as that test's δ takes
//! k rounded to the unit), half an ulp of μ (at most ε), `fl₃₂(δ − ½)` `2^-25`, the last
//! subtraction `2^-25`: within about `3·ε` of the exact projection (`3.3·ε` with the `2^23`
//! unit; the contract: 4ε; the worst measured, `tests/kernels/accuracy_table.rs`: 2.1ε).
//!
//! The files: `ops.rs` the primitives ([`Ops`], [`Portable`] and the one-value-at-a-time forms
//! the vector implementations share), `solve.rs` the iteration on lanes (a pass, a group's
//! update, the start, a block's interleaved groups, the last step and the write; single
//! vectors too), `rowwise.rs` the rows solved where they lie, `rows.rs` the entry points
//! (batches of rows and single vectors), `vjp.rs` the
//! VJP across rows; the tests beside them (`tests.rs`, `convergence.rs`).

use hypersimplex::Projection;

use crate::element::Element;
use crate::platform::Kernels;
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
use crate::platform::Path;
use crate::RowK;

/// Rows of at most this many elements take the short-row solver (the fixed-point sums of
/// `round(d·unit)`, `d < 1`, over at most 256 entries fit an `u32`, and `f(λ) − k` in units an
/// `i32`: see [`Unit`]). Measured (one thread, `cargo bench --bench simd -- simd-forward`,
/// 2-core AMD): 8192 × 128 0.95 ms against 1.85 ms for the general path row by row.
pub const SMALL_MAX: usize = 256;
/// Whether rows of `n` elements of `T` take the short-row solver: `n ≤ SMALL_MAX`, and `f32`
/// (or half storage, which solves in `f32`) only; `f64` rows take the general path.
/// Rows whose λ ends outside [`LAMBDA_WINDOW`] are handed back to the general path (with its
/// shifted frame), so the 4ε contract holds at every scale of `x/τ`.
///
/// τ > `MAX/64` (`hypersimplex::internal::frame::HUGE_TAU`) takes the general path too: there
/// `fl(1/τ)` may be subnormal (relative error up to `2^-21`), beyond this solver's accuracy
/// budget, and the general path re-solves in its pre-scaled frame.
pub(crate) fn applies<T: Element>(n: usize, tau: T) -> bool {
    ENABLED
        && n <= SMALL_MAX
        && core::mem::size_of::<T>() == 4
        && tau.to_f64() <= T::MAX.to_f64() * hypersimplex::internal::frame::HUGE_TAU
}

/// Whether the short-row solver runs at all (see [`applies`]).
pub(crate) const ENABLED: bool = true;

/// A row whose λ (in units of `x/τ`) ends outside `[−W, W]` goes to the general path: inside,
/// the free entries have `|z| < W + 1` and `z`'s own rounding stays within the 4ε contract
/// (see the module docs); outside, the general path re-solves in its shifted frame. (The
/// fuzzer found rows with ties at `λ ≈ −1.3e15` where an earlier `f64` version of this solver,
/// without a window, missed the piece: Σy = 7 for k = 8.)
pub(crate) const LAMBDA_WINDOW: f32 = 3.0;

/// VJPs of rows of at most this many elements run across rows, 8 rows per vector
/// ([`vjp_rows`]; a single vector: the same arithmetic row by row, [`vjp_row`]); longer ones the
/// vector kernels row by row. Measured (one thread, f32, `cargo run --release -p
/// hypersimplex-simd --example rowsbench -- rows n`, 2-core AMD, 4 Dec 2026): across rows
/// against the vector kernels, 16384 × 40 0.33 against 0.73 ms, 16384 × 64 0.54 against 0.73 ms,
/// 8192 × 96 0.40 against 0.46 ms, 8192 × 128 0.59 against 0.55 ms.
pub const VJP_SHORT_MAX: usize = 96;
/// Rows per group (the lanes of one vector).
pub const LANES: usize = 8;
/// Groups per block: their iterations interleave, so that one group's passes run while
/// another's Newton step (a chain of dependent conversions and a division) completes.
pub const GROUPS: usize = 2;
/// Rows per block.
pub const BLOCK: usize = LANES * GROUPS;
// `with_buffer`'s `GROUPS·n` lanes also hold the VJP's transposed `y` and `g`.
const _: () = assert!(GROUPS >= 2);
/// Passes after which a row that has not converged goes to the general solver.
const MAX_STEPS: u32 = 40;
/// The fixed-point unit of the free-set sums: `2^24` for rows of at most 128 elements, `2^23`
/// for longer ones (so that `Σ_F round(d·unit) ≤ n·unit ≤ 2^31` and `f(λ) − k` in units fit
/// an `i32`, see `Group::new`).
#[derive(Clone, Copy)]
struct Unit {
    /// `log2(unit)`.
    shift: u32,
    /// `unit` (a power of two: multiplying by it or its inverse is exact).
    f: f32,
}

impl Unit {
    /// The unit of rows of `n` elements.
    #[inline(always)]
    const fn for_len(n: usize) -> Self {
        Unit::new(if n <= 128 { 24 } else { 23 })
    }
    #[inline(always)]
    const fn new(shift: u32) -> Self {
        Unit {
            shift,
            f: (1u32 << shift) as f32,
        }
    }
    #[inline(always)]
    fn d(self) -> f64 {
        self.f as f64
    }
}

/// One lane per row of a block.
pub(crate) type Lane = [f32; LANES];
/// Integer lanes (counts, fixed-point sums; masks are all ones or zero).
pub(crate) type ILane = [i32; LANES];

/// The solution of one row of a block.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Row {
    /// λ in units of `x/τ` (`λ + δ`).
    pub lambda: f64,
    /// `|F|` and `|U|` at the last pass.
    pub free: u32,
    pub upper: u32,
    /// Passes over the row, the write included.
    pub passes: u32,
    /// `false`: non-finite input, no convergence or λ outside the window; the row was not
    /// written.
    pub ok: bool,
}

impl Row {
    pub(crate) fn projection(&self) -> Projection {
        Projection {
            lambda: self.lambda,
            free: self.free as usize,
            upper: self.upper as usize,
            passes: self.passes,
        }
    }
}

/// Defines `$name(kern, args…)`: runs the generic body `$body::<O, T>(args…)` with the
/// [`Ops`] of `kern`'s path: `isa::avx2::Small` through `$avx`, a `#[target_feature(enable =
/// "avx2")]` copy (x86-64; also for `Path::Avx512` unless a second name `$avx512` asks for an
/// AVX-512 copy with `isa::avx2::Small512`), else [`Portable`].
macro_rules! dispatched {
    ($(#[$m:meta])* $vis:vis fn $name:ident / $avx:ident $(, $avx512:ident)? => $body:ident (
        $($a:ident : $t:ty),* $(,)?
    ) -> $r:ty) => {
        $(#[$m])*
        $vis fn $name<T: Element>(kern: Kernels, $($a: $t),*) -> $r {
            /// The generic body in a frame of its own in debug builds: inlined here, they would
            /// keep the stack slots of every instance in the dispatcher's frame (hundreds of KB
            /// each) beneath the AVX2 copy's. (Optimized builds inline it: one call less.)
            ///
            /// # Safety
            /// The CPU features of `O`.
            #[cfg_attr(debug_assertions, inline(never))]
            unsafe fn plain<O: Ops, T: Element>($($a: $t),*) -> $r {
                // SAFETY: the caller guarantees `O`'s features.
                unsafe { $body::<O, T>($($a),*) }
            }
            match kern.path() {
                #[cfg(all(target_arch = "x86_64", hs_avx512))]
                // SAFETY: a `Kernels` with `Path::Avx512` exists only after `Path::is_supported`
                // confirmed AVX2 and AVX-512 F, VL and DQ (the AVX-512 copy, else AVX2's).
                Path::Avx512 => unsafe { (dispatched!(@first $($avx512)? $avx))($($a),*) },
                #[cfg(target_arch = "x86_64")]
                // SAFETY: a `Kernels` with `Path::Avx2` exists only after `Path::is_supported`
                // confirmed (with `is_x86_feature_detected!`) that this CPU has AVX2.
                Path::Avx2 => unsafe { $avx($($a),*) },
                #[cfg(target_arch = "aarch64")]
                // SAFETY: NEON is in the aarch64 baseline, all `isa::neon::Small` needs.
                Path::Neon => unsafe { plain::<crate::isa::neon::Small, T>($($a),*) },
                // SAFETY: `Portable` needs no CPU feature.
                _ => unsafe { plain::<Portable, T>($($a),*) },
            }
        }

        /// The generic body compiled for AVX2.
        ///
        /// # Safety
        /// The CPU must support AVX2.
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2")]
        $(#[$m])*
        unsafe fn $avx<T: Element>($($a: $t),*) -> $r {
            // SAFETY: the caller guarantees AVX2, all `isa::avx2::Small` needs.
            unsafe { $body::<crate::isa::avx2::Small, T>($($a),*) }
        }

        dispatched!(@avx512 $($avx512)? ; $body ; ($($a : $t),*) ; $r ; $(#[$m])*);
    };
    (@first $f:ident $($rest:ident)?) => { $f };
    (@avx512 ; $($rest:tt)*) => {};
    (@avx512 $avx512:ident ; $body:ident ; ($($a:ident : $t:ty),*) ; $r:ty ; $(#[$m:meta])*) => {
        /// The generic body compiled for AVX-512 (`isa::avx2::Small512`).
        ///
        /// # Safety
        /// The CPU must support AVX2 and AVX-512 F, VL and DQ.
        #[cfg(all(target_arch = "x86_64", hs_avx512))]
        #[target_feature(enable = "avx2,avx512f,avx512vl,avx512dq")]
        $(#[$m])*
        unsafe fn $avx512<T: Element>($($a: $t),*) -> $r {
            // SAFETY: the caller guarantees AVX-512, all `isa::avx2::Small512` needs.
            unsafe { $body::<crate::isa::avx2::Small512, T>($($a),*) }
        }
    };
}

/// Runs `f` on a zeroed transposition buffer of `GROUPS·n` lanes on the stack (`n ≤
/// 2·SMALL_MAX`: two blocks of rows of up to `SMALL_MAX`; sized in steps, so that short rows
/// do not clear the longest buffer).
pub(crate) fn with_buffer<R>(n: usize, f: impl FnOnce(&mut [Lane]) -> R) -> R {
    if n <= 16 {
        f(&mut [[0.0; LANES]; 16 * GROUPS][..n * GROUPS])
    } else if n <= 64 {
        f(&mut [[0.0; LANES]; 64 * GROUPS][..n * GROUPS])
    } else if n <= 128 {
        f(&mut [[0.0; LANES]; 128 * GROUPS][..n * GROUPS])
    } else if n <= SMALL_MAX {
        f(&mut [[0.0; LANES]; SMALL_MAX * GROUPS][..n * GROUPS])
    } else {
        f(&mut [[0.0; LANES]; 2 * SMALL_MAX * GROUPS][..n.min(2 * SMALL_MAX) * GROUPS])
    }
}

#[cfg(test)]
mod convergence;
mod ops;
mod rows;
mod rowwise;
mod solve;
#[cfg(test)]
mod tests;
mod vjp;

pub(crate) use ops::*;
pub(crate) use rows::*;
pub(crate) use rowwise::*;
pub(crate) use solve::*;
pub(crate) use vjp::*;
