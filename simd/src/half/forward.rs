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
//!   input is widened into the caller's scratch buffer and λ comes from the `f32` solver on
//!   that copy, pass for pass the `f32` forward's (`Kernels::project`). On the vector paths
//!   the copy costs no pass of its own and the final write none either, as in the `f32`
//!   forward: the solver's sample is gathered from the 16-bit input, its first pass widens the
//!   input into the copy as it reads it (`Conv::piece_stats_widen`: the `f32` `piece_stats`
//!   kernel over a widening source), and the pass predicted to be the last also writes the
//!   rounded `y` (`Conv::piece_writer`, through `passes::WritingPasses`). Otherwise the fused
//!   kernel writes `y` from the copy. Inputs with `±∞` masks (or NaN, an error), and inputs of
//!   at most `SMALL_MAX` = 128 elements (the `f32` forward's short-row solver), run the whole
//!   `f32` forward in place on the copy, which is then rounded.
//!
//! Errors are found before anything is written (the `f32` rules), so on error `y` is untouched.

use hypersimplex::half::Half;
use hypersimplex::internal::frame::shift_for;
use hypersimplex::internal::solve::{Fill, Solution};
use hypersimplex::internal::validate::k_tau as check_k_tau;
use hypersimplex::{Error, Projection};

use super::Conv;
use crate::element::Element;
use crate::passes::{write, write_in_place, WritingPasses, BLOCK};
use crate::platform::{Kernels, Path};
use crate::working_set::{empty_summary, merge_summary, split_block, WorkingSet, WORKING_SET_FROM};
use crate::STREAM_FROM_BYTES;
use hypersimplex::internal::SAMPLE_FROM;

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

/// The outcome of the first stage: λ to write from the half input (streamed), or the input
/// widened into the front of the scratch buffer (`large`: the streamed solve found λ large).
enum Begun {
    Lambda(Finish),
    Widened { large: bool },
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
        let large = match self.begin_half(x, k, tau, scratch)? {
            Begun::Lambda(f) => {
                write(x, y, |xb, yb| f.write(self, xb, yb));
                return Ok(f.sol.into());
            }
            Begun::Widened { large } => large,
        };
        let buf = scratch.get_mut(..x.len()).unwrap_or_default();
        self.finish_wide(Some(x), buf, k, tau, large, y)
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
        let large = match self.begin_half(x, k, tau, scratch)? {
            Begun::Lambda(f) => {
                write_in_place(x, |b| f.write_in_place(self, b));
                return Ok(f.sol.into());
            }
            Begun::Widened { large } => large,
        };
        let buf = scratch.get_mut(..x.len()).unwrap_or_default();
        self.finish_wide(None, buf, k, tau, large, x)
    }

    /// The first stage of the half forward: λ by the working-set solver streaming the 16-bit
    /// input ([`Kernels::streamed`]) where the `f32` forward would take the working set, else
    /// `scratch` grown to `x.len()` elements for [`Kernels::finish_wide`].
    fn begin_half<H: Half + Send + Sync>(
        self,
        x: &[H],
        k: f64,
        tau: f32,
        scratch: &mut Vec<f32>,
    ) -> Result<Begun, Error> {
        // Where λ is large or τ > MAX/64 (issue 13) the `f32` forward solves again in a shifted
        // frame: the half forward then runs it whole on the widened copy (bitwise its result,
        // rounded).
        let mut large = false;
        if let Some(f) = self.streamed(x, k, tau) {
            if shift_for(&f.sol, tau, f.scale).is_none() {
                return Ok(Begun::Lambda(f));
            }
            large = true;
        }
        grow(scratch, x.len())?;
        Ok(Begun::Widened { large })
    }

    /// The half forward through a widened copy `buf` of the input `x` (`None`: the input is
    /// `y`, in place), into `y` (the same length): λ by the `f32` forward's solve on the copy
    /// (`Kernels::project` without its write). On the vector paths the solver's sample is
    /// gathered from `x` and its first pass is fused with the widening (`Conv::piece_stats_widen`),
    /// and its last pass usually writes `y` too (`Conv::piece_writer`); else `y` is written
    /// from the copy. Input with masks (`±∞`, or NaN: an error), inputs of at most
    /// `small::SMALL_MAX` elements (the `f32` forward's short-row solver) and large λ
    /// (`large`, or found here) take the whole `f32` forward in place on the copy, rounded
    /// into `y`. On error `y` is untouched.
    fn finish_wide<H: Half + Send + Sync>(
        self,
        x: Option<&[H]>,
        buf: &mut [f32],
        k: f64,
        tau: f32,
        large: bool,
        y: &mut [H],
    ) -> Result<Projection, Error> {
        let n = buf.len();
        let conv = Conv::new(self);
        let scale = check_k_tau(n, k, tau)?;
        if n <= crate::small::SMALL_MAX || large {
            conv.widen(x.unwrap_or(y), buf);
            return self.copy_forward(conv, buf, k, tau, y);
        }
        // The solver's sample and first pass from the 16-bit input where the path fuses the
        // widening with that pass (the `f32` forward's `solve_with`, bit for bit).
        let vector = self.path() != Path::Scalar && n >= SAMPLE_FROM;
        let mut first = None;
        let sample = match vector {
            true => {
                let input = x.unwrap_or(y);
                let sample = self.sample_with(n, k, scale, gather(input));
                if let Some(sm) = &sample {
                    first = conv
                        .piece_stats_widen(input, scale, sm.lambda, buf)
                        .map(|r| (sm.lambda, r));
                }
                sample
            }
            false => None,
        };
        if first.is_none() {
            conv.widen(x.unwrap_or(y), buf);
        }
        let wide: &[f32] = buf;
        // the fused last pass needs the vector kernels (the scalar path's `f32` forward has no
        // writing passes either)
        let writer = conv
            .piece_writer::<H>()
            .filter(|_| self.path() != Path::Scalar);
        let mut passes = WritingPasses::with_writer(self, wide, scale, y, writer);
        if let Some((lam, r)) = first {
            passes.prime(lam, r);
        }
        let solved = match vector {
            true => self.solve_sampled::<f32, _, false>(&mut passes, wide, k, scale, sample),
            false => self.solve_with::<f32, _, false>(&mut passes, wide, k, scale),
        };
        let written = passes.written();
        match solved {
            Ok(sol) if shift_for(&sol, tau, scale).is_some() => {} // λ large: the full forward
            Ok(sol) => {
                let stream = core::mem::size_of_val(y) >= STREAM_FROM_BYTES;
                let done = sol.fill == Fill::Clip && written == Some(sol.lambda);
                let f = Finish {
                    sol,
                    conv,
                    scale,
                    stream,
                };
                if !done {
                    // from the copy: no widening, and `y` may be the input, already
                    // overwritten by a speculative write
                    f.write_wide(self, wide, y);
                }
                return Ok(f.sol.into());
            }
            Err(Error::NonFiniteInput) => {} // masks, or NaN: the full forward decides
            Err(e) => return Err(e),
        }
        self.copy_forward(conv, buf, k, tau, y)
    }

    /// The whole `f32` forward in place on the widened copy `buf`, rounded into `y`.
    fn copy_forward<H: Half>(
        self,
        conv: Conv,
        buf: &mut [f32],
        k: f64,
        tau: f32,
        y: &mut [H],
    ) -> Result<Projection, Error> {
        let p = self.soft_binary_argmax_in_place(buf, k, tau)?;
        conv.narrow(buf, y);
        Ok(p)
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
        let sample = self.sample_with(n, k, scale, gather(x))?;
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
            self.conv.clip_wide(k, w, s, lam, y, self.stream);
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

/// The sampler's gather (`Kernels::sample_with`) from a half input: the elements `stride/2,
/// stride/2 + stride, …` widened, as `Kernels::sample` reads them from the widened copy.
fn gather<H: Half>(x: &[H]) -> impl FnOnce(&mut [f32], usize) -> usize + '_ {
    move |buf, stride| {
        let mut m = 0;
        for (b, v) in buf
            .iter_mut()
            .zip(x.iter().skip(stride / 2).step_by(stride))
        {
            *b = v.to_f32();
            m += 1;
        }
        m
    }
}

/// The first `n` elements of `scratch`, grown (zeroed) to at least `n`.
pub(super) fn grow(scratch: &mut Vec<f32>, n: usize) -> Result<&mut [f32], Error> {
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
