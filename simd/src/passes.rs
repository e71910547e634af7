//! Fixed-block reductions and writes over one vector, sequential or on rayon, and the
//! [`Passes`] implementation the core root finder drives.
//!
//! Every reduction splits its input into blocks of [`BLOCK`] elements (the last one shorter),
//! reduces each block with one kernel call, and folds the block results left to right. The
//! blocks depend only on the length, never on the number of threads, so the result is bitwise
//! identical whether the blocks run on one thread or on many. Vectors of at least [`PAR_MIN`]
//! elements run their blocks on the current rayon pool (when it has more than one thread).

use hypersimplex::internal::kernel::{gaps_scalar, Passes, Piece, Stats};
use hypersimplex::internal::Residual;
use rayon::prelude::*;

use crate::element::Element;
use crate::platform::Kernels;

/// Elements per reduction block.
pub const BLOCK: usize = 1 << 16;
/// A single vector at least this long splits its passes over the rayon pool.
pub const PAR_MIN: usize = 1 << 20;

pub(crate) fn parallel(n: usize) -> bool {
    n >= PAR_MIN && crate::pool::current_threads() > 1
}

/// Reduces `x` block by block with `f` and folds the results in block order with `merge`.
pub(crate) fn reduce<T: Sync, R: Send>(
    x: &[T],
    f: impl Fn(&[T]) -> R + Sync,
    merge: impl Fn(R, R) -> R,
) -> Option<R> {
    if x.len() <= BLOCK {
        Some(f(x))
    } else if parallel(x.len()) {
        let parts: Vec<R> = x.par_chunks(BLOCK).map(&f).collect();
        parts.into_iter().reduce(merge)
    } else {
        x.chunks(BLOCK).map(f).reduce(merge)
    }
}

/// Elements per block of [`all_blocks`] and [`all_blocks2`] when they run on the pool: small
/// enough that a batch of a few hundred thousand elements spreads over 16 threads.
const CHECK_BLOCK: usize = 1 << 14;

/// Whether `f` holds on every block of `x`: a batch's input check, on the rayon pool when
/// `par` (a conjunction has no order, so every split gives the same answer). A batch runs
/// it before its first write, so a serial check here is the serial part that limits the
/// batch's scaling (65536 × 10 `f32` rows on 2 threads: 1.55× before, see `batch.rs`).
pub(crate) fn all_blocks<T: Sync>(x: &[T], par: bool, f: impl Fn(&[T]) -> bool + Sync) -> bool {
    if par && x.len() > CHECK_BLOCK {
        x.par_chunks(CHECK_BLOCK).all(&f)
    } else {
        x.chunks(BLOCK).all(f)
    }
}

/// [`all_blocks`] over two slices of equal length.
pub(crate) fn all_blocks2<T: Sync>(
    a: &[T],
    b: &[T],
    par: bool,
    f: impl Fn(&[T], &[T]) -> bool + Sync,
) -> bool {
    if par && a.len() > CHECK_BLOCK {
        a.par_chunks(CHECK_BLOCK)
            .zip(b.par_chunks(CHECK_BLOCK))
            .all(|(p, q)| f(p, q))
    } else {
        a.chunks(BLOCK).zip(b.chunks(BLOCK)).all(|(p, q)| f(p, q))
    }
}

/// [`reduce`] over two slices of equal length, block by block.
pub(crate) fn reduce2<T: Sync, R: Send>(
    a: &[T],
    b: &[T],
    f: impl Fn(&[T], &[T]) -> R + Sync,
    merge: impl Fn(R, R) -> R,
) -> Option<R> {
    if a.len() <= BLOCK {
        Some(f(a, b))
    } else if parallel(a.len()) {
        let parts: Vec<R> = a
            .par_chunks(BLOCK)
            .zip(b.par_chunks(BLOCK))
            .map(|(p, q)| f(p, q))
            .collect();
        parts.into_iter().reduce(merge)
    } else {
        a.chunks(BLOCK)
            .zip(b.chunks(BLOCK))
            .map(|(p, q)| f(p, q))
            .reduce(merge)
    }
}

/// Applies `f` to matching blocks of `x` and `out`, in parallel for long vectors.
pub(crate) fn write<T: Sync + Send>(x: &[T], out: &mut [T], f: impl Fn(&[T], &mut [T]) + Sync) {
    if x.len() <= BLOCK {
        f(x, out)
    } else if parallel(x.len()) {
        out.par_chunks_mut(BLOCK)
            .zip(x.par_chunks(BLOCK))
            .for_each(|(o, p)| f(p, o));
    } else {
        out.chunks_mut(BLOCK)
            .zip(x.chunks(BLOCK))
            .for_each(|(o, p)| f(p, o));
    }
}

/// Applies `f` to matching blocks of `a`, `b` and `out`.
pub(crate) fn write2<T: Sync + Send, O: Send>(
    a: &[T],
    b: &[T],
    out: &mut [O],
    f: impl Fn(&[T], &[T], &mut [O]) + Sync,
) {
    if a.len() <= BLOCK {
        f(a, b, out)
    } else if parallel(a.len()) {
        out.par_chunks_mut(BLOCK)
            .zip(a.par_chunks(BLOCK).zip(b.par_chunks(BLOCK)))
            .for_each(|(o, (p, q))| f(p, q, o));
    } else {
        out.chunks_mut(BLOCK)
            .zip(a.chunks(BLOCK).zip(b.chunks(BLOCK)))
            .for_each(|(o, (p, q))| f(p, q, o));
    }
}

/// Applies `f` to the blocks of `x` in place.
pub(crate) fn write_in_place<T: Send>(x: &mut [T], f: impl Fn(&mut [T]) + Sync) {
    if x.len() <= BLOCK {
        f(x)
    } else if parallel(x.len()) {
        x.par_chunks_mut(BLOCK).for_each(&f);
    } else {
        x.chunks_mut(BLOCK).for_each(f);
    }
}

pub(crate) fn merge_piece(a: Piece, b: Piece) -> Piece {
    Piece {
        free: a.free + b.free,
        upper: a.upper + b.upper,
        sum_free: a.sum_free + b.sum_free,
    }
}

pub(crate) fn merge_stats<T: Element>(a: Stats<T>, b: Stats<T>) -> Stats<T> {
    Stats {
        sum: a.sum + b.sum,
        min: if b.min < a.min { b.min } else { a.min },
        max: if b.max > a.max { b.max } else { a.max },
        finite: a.finite & b.finite,
    }
}

pub(crate) fn merge_residual(a: Residual, b: Residual) -> Residual {
    Residual {
        sq: a.sq + b.sq,
        free: a.free + b.free,
        sum_free: a.sum_free + b.sum_free,
    }
}

pub(crate) fn empty_stats<T: Element>() -> Stats<T> {
    Stats {
        sum: 0.0,
        min: T::MAX,
        max: T::LOWEST,
        finite: true,
    }
}

/// The vectorized (and, for long vectors, multi-threaded) passes over `z = x·s`: the
/// [`Passes`] the core root finder `hypersimplex::internal::solve::solve` runs on.
#[derive(Clone, Copy, Debug)]
pub struct SimdPasses<'a, T> {
    kernels: Kernels,
    x: &'a [T],
    scale: T,
}

impl<'a, T: Element> SimdPasses<'a, T> {
    /// Passes over `z = x · scale` with the given kernels.
    pub fn new(kernels: Kernels, x: &'a [T], scale: T) -> Self {
        SimdPasses { kernels, x, scale }
    }
}

impl<T: Element> Passes<T> for SimdPasses<'_, T> {
    fn len(&self) -> usize {
        self.x.len()
    }
    fn stats(&mut self) -> Stats<T> {
        let (k, s) = (self.kernels, self.scale);
        reduce(self.x, |c| T::stats(k, c, s), merge_stats).unwrap_or_else(empty_stats)
    }
    fn piece(&mut self, lambda: T) -> Piece {
        let (k, s) = (self.kernels, self.scale);
        reduce(self.x, |c| T::piece(k, c, s, lambda), merge_piece).unwrap_or_default()
    }
    fn piece_and_stats(&mut self, lambda: T) -> (Piece, Stats<T>) {
        let (k, s) = (self.kernels, self.scale);
        reduce(
            self.x,
            |c| T::piece_stats(k, c, s, lambda),
            |a, b| (merge_piece(a.0, b.0), merge_stats(a.1, b.1)),
        )
        .unwrap_or_else(|| (Piece::default(), empty_stats()))
    }
    fn gaps(&mut self, lambda: T) -> Option<(f64, f64)> {
        // Rare (flat pieces only): the core's scalar pass, block by block.
        let s = self.scale;
        reduce(
            self.x,
            |c| gaps_scalar(c, s, lambda),
            |a, b| (a.0.min(b.0), a.1.max(b.1)),
        )
        .or(Some((f64::INFINITY, f64::NEG_INFINITY)))
    }
}

/// [`SimdPasses`] that also writes the projection during a pass that is predicted to be the
/// solver's last one, so that the final write pass can usually be skipped.
///
/// The core solver stops when a Newton step lands on the piece it started from, and then
/// returns the λ of that very pass. Before each pass this wrapper predicts how many
/// breakpoints lie between the previous λ and the new one (from the count changes per unit λ
/// seen on the previous step); when fewer than `SPECULATE_BELOW` (1.4) are expected, the pass runs the fused
/// kernel that also writes `y_i = clip(d_i, 0, 1)`. If the solver then returns that λ, `y` is
/// complete ([`WritingPasses::written`]); otherwise the caller writes `y` as usual. The
/// values written are the same, bit for bit, as those of the separate write.
///
/// Writes happen only after the first pass (which checks that every `z_i` is finite), so a
/// failing solve never touches `y`.
///
/// `y` may have another element type than `x` (`Y`): the half-precision forward solves on a
/// widened `f32` copy and writes the rounded `bf16`/`f16` output with a fused kernel
/// ([`WritingPasses::with_writer`]); its counts and sums are those of the plain pass.
#[derive(Debug)]
pub struct WritingPasses<'a, 'b, T, Y = T> {
    inner: SimdPasses<'a, T>,
    y: &'b mut [Y],
    /// The fused kernel: the piece at λ of a block of `x`, writing the matching block of `y`
    /// (`None`: no kernel on this path, no speculation).
    writer: Option<Writer<T, Y>>,
    /// The first pass, already run by the caller: `(λ, its piece and statistics)`.
    primed: Option<(T, (Piece, Stats<T>))>,
    written: Option<T>,
    last: Option<(T, Piece)>,
    density: Option<f64>,
}

/// A fused piece-and-write kernel: `(kernels, x, s, λ, y) ↦` the piece of `x` at λ, having
/// written `y_i = clip(fl(fl(x_i·s) − λ), 0, 1)` (converted to `Y`).
pub type Writer<T, Y> = fn(Kernels, &[T], T, T, &mut [Y]) -> Piece;

impl<'a, 'b, T: Element> WritingPasses<'a, 'b, T> {
    /// Passes over `z = x · scale` that may write `y` (same length as `x`).
    pub fn new(kernels: Kernels, x: &'a [T], scale: T, y: &'b mut [T]) -> Self {
        Self::with_writer(kernels, x, scale, y, Some(T::piece_write))
    }
}

impl<'a, 'b, T: Element, Y: Send> WritingPasses<'a, 'b, T, Y> {
    /// Passes over `z = x · scale` that may write `y` (same length as `x`) with `writer`,
    /// whose pieces must equal those of [`Element::piece`] bit for bit.
    pub fn with_writer(
        kernels: Kernels,
        x: &'a [T],
        scale: T,
        y: &'b mut [Y],
        writer: Option<Writer<T, Y>>,
    ) -> Self {
        WritingPasses {
            inner: SimdPasses::new(kernels, x, scale),
            y,
            writer,
            primed: None,
            written: None,
            last: None,
            density: None,
        }
    }

    /// Hands over the solver's first pass, run by the caller at the start point `lam` (the
    /// half forward fuses it with the widening of its input): the first `piece_and_stats`
    /// call at that very λ returns `first` instead of reading `x` again. `first` must be what
    /// [`Passes::piece_and_stats`] would return.
    pub(crate) fn prime(&mut self, lam: T, first: (Piece, Stats<T>)) {
        self.primed = Some((lam, first));
    }

    /// The λ whose projection `y` currently holds, if any.
    pub fn written(&self) -> Option<T> {
        self.written
    }

    fn record(&mut self, lam: T, p: Piece) {
        if let Some((l0, p0)) = self.last {
            let dl = (lam.to_f64() - l0.to_f64()).abs();
            if dl > 0.0 {
                let du = p.upper as f64 - p0.upper as f64;
                let df = p.free as f64 - p0.free as f64;
                self.density = Some(((df + du).abs() + du.abs()) / dl);
            }
        }
        self.last = Some((lam, p));
    }
}

impl<T: Element, Y: Send> Passes<T> for WritingPasses<'_, '_, T, Y> {
    fn len(&self) -> usize {
        self.inner.x.len()
    }
    fn stats(&mut self) -> Stats<T> {
        self.inner.stats()
    }
    fn piece(&mut self, lambda: T) -> Piece {
        let speculate = match (self.writer, self.last, self.density) {
            (Some(_), Some((l0, _)), Some(d)) => {
                d * (lambda.to_f64() - l0.to_f64()).abs() < SPECULATE_BELOW
            }
            _ => false,
        };
        let p = match self.writer {
            Some(f) if speculate => {
                let (k, s, x) = (self.inner.kernels, self.inner.scale, self.inner.x);
                self.written = Some(lambda);
                reduce_write(x, self.y, |c, o| f(k, c, s, lambda, o))
            }
            _ => self.inner.piece(lambda),
        };
        self.record(lambda, p);
        p
    }
    fn gaps(&mut self, lambda: T) -> Option<(f64, f64)> {
        self.inner.gaps(lambda)
    }
    fn piece_and_stats(&mut self, lambda: T) -> (Piece, Stats<T>) {
        let r = match self.primed.take() {
            Some((l0, r)) if l0 == lambda => r,
            _ => self.inner.piece_and_stats(lambda),
        };
        self.record(lambda, r.0);
        r
    }
}

/// Speculate when fewer breakpoints than this are expected between the previous λ and the
/// new one. With Poisson-like crossings the chance that the pass is the last is about
/// `exp(−μ)`; a wrong guess costs the writes of one pass (about a third of a pass), a right
/// one saves a whole read-and-write pass, so speculating pays from about `exp(−μ) > 0.25`.
const SPECULATE_BELOW: f64 = 1.4;

/// Block-wise reduction that also writes the matching blocks of `out`.
fn reduce_write<T: Sync + Send, Y: Send>(
    x: &[T],
    out: &mut [Y],
    f: impl Fn(&[T], &mut [Y]) -> Piece + Sync,
) -> Piece {
    if x.len() <= BLOCK {
        return f(x, out);
    }
    if parallel(x.len()) {
        let parts: Vec<Piece> = x
            .par_chunks(BLOCK)
            .zip(out.par_chunks_mut(BLOCK))
            .map(|(c, o)| f(c, o))
            .collect();
        parts.into_iter().reduce(merge_piece)
    } else {
        x.chunks(BLOCK)
            .zip(out.chunks_mut(BLOCK))
            .map(|(c, o)| f(c, o))
            .reduce(merge_piece)
    }
    .unwrap_or_default()
}
