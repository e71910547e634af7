//! The half-precision forward `y = round(Π_Δ(n,k)(widen(x)/τ))`: the `f32` forward of the
//! exactly widened input, each output rounded once to nearest even, with the same λ bit for
//! bit as the `f32` forward on a widened copy (so every output is that forward's, rounded).
//!
//! * **Long vectors** (at least [`WORKING_SET_FROM`] elements, on the vector paths) are never
//!   widened as a whole: the working-set solver's passes read the 16-bit input. The sample
//!   gathers its elements widened; the split pass widens each block in chunks of
//!   [`SPLIT_CHUNK`] elements into a stack buffer (in L1) and runs the `f32` split kernel on
//!   each; the final pass is one fused kernel per block (`Conv::clip`: load and widen 8 or 16
//!   elements, the `f32` clip kernel's primitives, round, store; non-temporal stores for
//!   outputs of at least [`STREAM_FROM_BYTES`]). The blocks, the bracket, its checks and the
//!   fallback are those of the `f32` forward, and the split kernel's results do not depend on
//!   where its input is cut (counts, min/max, and the free-set sum in exact fixed point), so λ
//!   is the `f32` forward's bit for bit, on every path and for every number of threads.
//! * **Large λ** (issue 13: `|λ| > 3`, where the `f32` forward solves again in a shifted frame
//!   for accuracy at every scale of `x/τ`): the whole `f32` forward runs in place on a widened
//!   copy, which is then rounded.
//! * **Otherwise** (shorter vectors, the scalar path, a sample that misleads the bracket): the
//!   input is widened into the caller's scratch buffer, λ comes from the `f32` solver on it
//!   (`Kernels::solve_unmasked`, the `f32` forward's solve), and the fused kernel writes `y`
//!   from the copy while it is in the cache (below [`WORKING_SET_FROM`]) or from the input.
//!   Inputs with `±∞` masks (or NaN, an error), and inputs of at most `SMALL_MAX` = 128
//!   elements (the `f32` forward's short-row solver), run the whole `f32` forward in place on
//!   the copy, which is then rounded.
//!
//! Errors are found before anything is written (the `f32` rules), so on error `y` is untouched.

use hypersimplex::half::Half;
use hypersimplex::internal::frame::shift_for;
use hypersimplex::internal::solve::{Fill, Solution};
use hypersimplex::internal::validate::k_tau as check_k_tau;
use hypersimplex::{Error, Projection};

use super::Conv;
use crate::element::Element;
use crate::passes::{write, write_in_place, BLOCK};
use crate::platform::{Kernels, Path};
use crate::working_set::{empty_summary, merge_summary, split_block, WorkingSet, WORKING_SET_FROM};
use crate::STREAM_FROM_BYTES;

/// Elements widened at a time into the stack buffer of the final pass (8 KiB of `f32`, in L1
/// with its 4 KiB of input and output).
pub const CHUNK: usize = 2048;

/// Elements widened at a time for the split pass. Longer than [`CHUNK`]: each split kernel call
/// first computes two thresholds by bisection (`working_set::unit_threshold`), a fixed cost.
pub const SPLIT_CHUNK: usize = 4096;

/// A solved λ and how to write with it: the conversions, `1/τ`, and whether the output takes
/// non-temporal stores.
struct Finish {
    sol: Solution<f32>,
    conv: Conv,
    scale: f32,
    /// Non-temporal stores for the output (at least `STREAM_FROM_BYTES`).
    stream: bool,
}

/// The outcome of the solve: λ to write from the half input, λ to write from the widened copy
/// at the front of the scratch buffer (still in the cache: below [`WORKING_SET_FROM`]), or the
/// `f32` forward already computed on that copy (masks; inputs of at most `SMALL_MAX`).
enum Solved {
    Lambda(Finish),
    Wide(Finish),
    Copy(Projection),
}

impl Kernels {
    /// Soft-Binary-Argmax@k on half-precision storage: `y = round(Π_Δ(n,k)(widen(x)/τ))`,
    /// computed in `f32` (see the module documentation); bitwise the `f32` forward
    /// [`Kernels::soft_binary_argmax`] of the widened `x`, each output rounded once to nearest
    /// even. `scratch` holds the widened copy when one is needed (below [`WORKING_SET_FROM`],
    /// the scalar path, the fallbacks); it grows as needed and can be reused across calls.
    ///
    /// # Errors
    /// As [`Kernels::soft_binary_argmax`], and [`Error::OutOfMemory`] when the copy cannot be
    /// allocated; on error `y` is not modified.
    pub fn soft_binary_argmax_half<H: Half + Send + Sync>(
        self,
        x: &[H],
        k: f64,
        tau: f32,
        y: &mut [H],
        scratch: &mut Vec<f32>,
    ) -> Result<Projection, Error> {
        if y.len() != x.len() {
            return Err(Error::LengthMismatch);
        }
        match self.solve_half(x, k, tau, scratch)? {
            Solved::Lambda(f) => {
                write(x, y, |xb, yb| f.write(self, xb, yb));
                Ok(f.sol.into())
            }
            Solved::Wide(f) => {
                f.write_wide(self, scratch, y);
                Ok(f.sol.into())
            }
            Solved::Copy(p) => {
                Conv::new(self).narrow(scratch, y);
                Ok(p)
            }
        }
    }

    /// [`Kernels::soft_binary_argmax_half`] in place: `x ← round(Π_Δ(n,k)(widen(x)/τ))`.
    ///
    /// # Errors
    /// As [`Kernels::soft_binary_argmax_half`]; on error `x` is not modified.
    pub fn soft_binary_argmax_half_in_place<H: Half + Send + Sync>(
        self,
        x: &mut [H],
        k: f64,
        tau: f32,
        scratch: &mut Vec<f32>,
    ) -> Result<Projection, Error> {
        match self.solve_half(x, k, tau, scratch)? {
            Solved::Lambda(f) => {
                write_in_place(x, |b| f.write_in_place(self, b));
                Ok(f.sol.into())
            }
            Solved::Wide(f) => {
                f.write_wide(self, scratch, x);
                Ok(f.sol.into())
            }
            Solved::Copy(p) => {
                Conv::new(self).narrow(scratch, x);
                Ok(p)
            }
        }
    }

    /// λ for the half forward, computed as the `f32` forward of the widened `x` computes it:
    /// streamed when possible ([`Kernels::streamed`]); otherwise on a widened copy in `scratch`
    /// (its first `x.len()` elements) with the `f32` solver, or, for input with masks (`±∞`)
    /// and inputs of at most `small::SMALL_MAX` elements (the `f32` forward's short-row
    /// solver), the whole `f32` forward in place on the copy.
    fn solve_half<H: Half + Send + Sync>(
        self,
        x: &[H],
        k: f64,
        tau: f32,
        scratch: &mut Vec<f32>,
    ) -> Result<Solved, Error> {
        // Where λ is large or τ > MAX/64 (issue 13) the `f32` forward solves again in a shifted
        // frame: the half forward then runs it whole on the widened copy (bitwise its result,
        // rounded).
        let mut large = false;
        if let Some(f) = self.streamed(x, k, tau) {
            if shift_for(&f.sol, tau, f.scale).is_none() {
                return Ok(Solved::Lambda(f));
            }
            large = true;
        }
        let n = x.len();
        let conv = Conv::new(self);
        let buf = grow(scratch, n)?;
        conv.widen(x, buf);
        if n > crate::small::SMALL_MAX && !large {
            // the `f32` forward's solve (`Kernels::project`) without its write (short rows,
            // n ≤ SMALL_MAX, take the `f32` forward's short-row solver below instead)
            let scale = check_k_tau(n, k, tau)?;
            match self.solve_unmasked(buf, k, scale) {
                Ok(sol) if shift_for(&sol, tau, scale).is_some() => {} // λ large: the full forward
                Ok(sol) => {
                    let stream = core::mem::size_of_val(x) >= STREAM_FROM_BYTES;
                    let f = Finish {
                        sol,
                        conv,
                        scale,
                        stream,
                    };
                    // a copy still in the cache is cheaper to read than the input (no widening)
                    return Ok(match n < WORKING_SET_FROM {
                        true => Solved::Wide(f),
                        false => Solved::Lambda(f),
                    });
                }
                Err(Error::NonFiniteInput) => {} // masks, or NaN: the full forward decides
                Err(e) => return Err(e),
            }
        }
        Ok(Solved::Copy(self.soft_binary_argmax_in_place(buf, k, tau)?))
    }

    /// Test hook: `true` when [`Kernels::soft_binary_argmax_half`] of `x` streams the 16-bit
    /// input through the working-set solver (no widened copy).
    #[doc(hidden)]
    pub fn half_streams<H: Half + Send + Sync>(self, x: &[H], k: f64, tau: f32) -> bool {
        self.streamed(x, k, tau).is_some()
    }

    /// λ by the working-set solver reading `x` directly, when the `f32` forward of the widened
    /// `x` would take the working set and succeed with it (`None` otherwise).
    fn streamed<H: Half + Send + Sync>(self, x: &[H], k: f64, tau: f32) -> Option<Finish> {
        let n = x.len();
        if self.path() == Path::Scalar || n < WORKING_SET_FROM {
            return None;
        }
        let scale = check_k_tau(n, k, tau).ok()?;
        let conv = Conv::new(self);
        let sample = self.sample_with(n, k, scale, |buf: &mut [f32], stride| {
            let mut m = 0;
            for (b, v) in buf
                .iter_mut()
                .zip(x.iter().skip(stride / 2).step_by(stride))
            {
                *b = v.to_f32();
                m += 1;
            }
            m
        })?;
        let build = |a: f32, b: f32| {
            WorkingSet::build_with(self, n, a, b, |j, slot| {
                let c = x.get(j * BLOCK..).unwrap_or_default();
                let c = c.get(..BLOCK).unwrap_or(c);
                split_block(c.len(), slot, |r, out| {
                    // The kernel on the widened chunks of `c[r]`, each chunk's kept elements
                    // after the previous ones: the same as one call on `c[r]` widened.
                    let mut w = [0.0f32; SPLIT_CHUNK];
                    let mut acc = empty_summary();
                    for h in c.get(r)?.chunks(SPLIT_CHUNK) {
                        let w = w.get_mut(..h.len())?;
                        conv.widen(h, w);
                        let o = out.get_mut(acc.kept..)?;
                        acc = merge_summary(acc, f32::split(self, w, scale, a, b, o));
                    }
                    Some(acc)
                })
            })
        };
        // A failing working-set solve means non-finite input: the fallback reports it.
        let sol = self
            .solve_working_set_with(n, k, &sample, build, || Err(Error::NonFiniteInput))
            .ok()??;
        let stream = core::mem::size_of_val(x) >= STREAM_FROM_BYTES;
        Some(Finish {
            sol,
            conv,
            scale,
            stream,
        })
    }
}

impl Finish {
    /// Writes `y` for the block `x` (same length).
    fn write<H: Half>(&self, k: Kernels, x: &[H], y: &mut [H]) {
        if self.filled(y) {
            return;
        }
        let (s, lam) = (self.scale, self.sol.lambda);
        self.conv
            .clip(k, x, s, lam, y, self.stream, &mut [0.0f32; CHUNK]);
    }

    /// [`Finish::write`] in place.
    fn write_in_place<H: Half>(&self, k: Kernels, x: &mut [H]) {
        if self.filled(x) {
            return;
        }
        let (s, lam) = (self.scale, self.sol.lambda);
        self.conv
            .clip_in_place(k, x, s, lam, self.stream, &mut [0.0f32; CHUNK]);
    }

    /// Writes `y` from the widened input `w` (at least `y.len()` elements), in one block.
    fn write_wide<H: Half>(&self, k: Kernels, w: &[f32], y: &mut [H]) {
        if !self.filled(y) {
            let (s, lam) = (self.scale, self.sol.lambda);
            self.conv.clip_wide(k, w, s, lam, y);
        }
    }

    /// Fills `y` with 0 or 1 when λ says so (`k = 0`, `k = n`); `false` for the clip.
    fn filled<H: Half>(&self, y: &mut [H]) -> bool {
        let v = match self.sol.fill {
            Fill::Clip => return false,
            Fill::Zeros => H::ZERO,
            Fill::Ones => H::ONE,
        };
        y.iter_mut().for_each(|o| *o = v);
        true
    }
}

/// The first `n` elements of `scratch`, grown (zeroed) to at least `n`.
fn grow(scratch: &mut Vec<f32>, n: usize) -> Result<&mut [f32], Error> {
    if scratch.len() < n {
        scratch
            .try_reserve_exact(n - scratch.len())
            .map_err(|_| Error::OutOfMemory)?;
        scratch.resize(n, 0.0);
    }
    scratch.get_mut(..n).ok_or(Error::OutOfMemory)
}

/// [`Kernels::soft_binary_argmax_half`] on the [`active_path`](crate::active_path), with its
/// own scratch.
///
/// # Errors
/// As [`Kernels::soft_binary_argmax_half`].
pub fn soft_binary_argmax<H: Half + Send + Sync>(
    x: &[H],
    k: f64,
    tau: f32,
    y: &mut [H],
) -> Result<Projection, Error> {
    Kernels::active().soft_binary_argmax_half(x, k, tau, y, &mut Vec::new())
}

/// [`Kernels::soft_binary_argmax_half_in_place`] on the [`active_path`](crate::active_path),
/// with its own scratch.
///
/// # Errors
/// As [`Kernels::soft_binary_argmax_half_in_place`].
pub fn soft_binary_argmax_in_place<H: Half + Send + Sync>(
    x: &mut [H],
    k: f64,
    tau: f32,
) -> Result<Projection, Error> {
    Kernels::active().soft_binary_argmax_half_in_place(x, k, tau, &mut Vec::new())
}
