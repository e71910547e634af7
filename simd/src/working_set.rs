//! The working-set solver for long vectors (at least [`WORKING_SET_FROM`] elements on the
//! vector paths).
//!
//! 1. **Sample** (`Kernels::sample`): a strided sample of `4·√n` elements gives a start λ and
//!    a *bracket* `[a, b]` that holds the root with high probability.
//! 2. **Split** (the kernel `kernels::split`, driven by [`WorkingSet::build`]): one streaming
//!    pass classifies every `z_i = x_i·s` by its class over the whole bracket: lower, free or
//!    upper throughout (summarized in a [`SplitSummary`]), or *kept* (its class can change
//!    inside the bracket: copied into the working set).
//! 3. **Solve** (`Kernels::solve_working_set`): check `f(a) ≥ k ≥ f(b)`, then run the core
//!    root finder with the passes of [`WorkingSet`], which read only the kept elements and add
//!    the summary. If the check fails (a misleading sample) the caller falls back to full passes.
//!
//! So the data is read about twice (split, final write) instead of 4–6 times.

use std::mem::MaybeUninit;

use hypersimplex::internal::kernel::{gaps_scalar, Passes, Piece, Stats};
use hypersimplex::internal::solve::{solve, Solution};
use hypersimplex::internal::validate::nonfinite_fallback;
use hypersimplex::internal::SAMPLE_SIZE;
use hypersimplex::{Error, Real};
use rayon::prelude::*;

use crate::element::Element;
use crate::passes::{empty_stats, merge_piece, merge_stats, parallel, SimdPasses, BLOCK};
use crate::platform::Kernels;

/// Inputs at least this long (on the vector paths) are solved on a working set: see
/// `Kernels::solve_working_set` (crate-private). Below it the whole input stays in cache, and plain
/// passes cost about as much as the split pass.
pub const WORKING_SET_FROM: usize = 1 << 15;

/// Half-width of the working-set bracket in standard deviations of the sample's estimate.
/// (A wider bracket keeps more elements; a narrower one fails the check more often, which
/// costs a pass.)
pub const WORKING_SET_SIGMAS: f64 = 4.0;

/// A solved sample of the input: the start point of the full solve.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sample<T> {
    /// The sample's λ.
    pub(crate) lambda: T,
    /// For inputs of at least [`WORKING_SET_FROM`] elements, a bracket `a < λ < b` that holds
    /// the input's root with high probability (see [`Kernels::sample`]).
    bracket: Option<(T, T)>,
}

/// What the split pass ([`Element::split`](crate::Element::split)) learns about `z = x·s` relative to a bracket
/// `a < b` of λ: the elements whose class is the same for every `λ ∈ [a, b]`, summarized,
/// and how many others (*kept*) it wrote out. Because `fl(z − λ)` is monotone in λ, an element
/// is upper throughout when `fl(z − b) ≥ 1`, lower throughout when `fl(z − a) ≤ 0`, and free
/// throughout when `fl(z − b) > 0` and `fl(z − a) < 1`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SplitSummary<T> {
    /// min and max of `z`, and `finite` when neither is infinite. Not computed: `sum`
    /// (NaN; the working-set solver always has a start point) and NaN inputs, which are
    /// never classified (every comparison with NaN is false) and so are always kept: the
    /// caller checks the kept elements.
    pub stats: Stats<T>,
    /// Elements upper throughout the bracket.
    pub upper: usize,
    /// Elements free throughout the bracket.
    pub free: usize,
    /// `Σ fl(z_i − b)` over the elements free throughout, in the element type's free-set sum
    /// (the `f32` 2^-23 fixed point, or `f64`).
    pub free_sum: f64,
    /// Elements whose class can change inside the bracket, written to `out`.
    pub kept: usize,
}

/// The least `t` with `fl(t − c) ≥ 1` (`+∞` when only `+∞` qualifies), for finite `c`: by
/// the monotonicity of `fl(z − c)` in `z`, `fl(z − c) ≥ 1` exactly when `z ≥ t`. Found by
/// bisection over the representable values between `c` (where it fails) and `fl(c + 1)`
/// rounded up (where it holds): at most 64 steps, where a linear search can meet billions of
/// values (for `c = −1` the threshold is about `−2^-54`, far below `fl(c + 1) = 0` in
/// representable values).
pub fn unit_threshold<T: Real>(c: T) -> T {
    let reaches = |t: T| t - c >= T::ONE;
    let mut hi = c + T::ONE;
    for _ in 0..4 {
        if reaches(hi) {
            break;
        }
        hi = T::from_ordered(hi.to_ordered() + 1);
    }
    if !reaches(hi) {
        return T::from_f64(f64::INFINITY); // not reached for finite c
    }
    // Usually the value below `hi` already fails, so `hi` is the least (monotonicity); this
    // check makes the common case two comparisons instead of a bisection (the half-precision
    // forward calls the split kernel, and so this function, once per chunk of 4096 elements).
    if !reaches(T::from_ordered(hi.to_ordered() - 1)) {
        return hi;
    }
    // Ordered integers (`Real::to_ordered`), widened so that the difference cannot overflow.
    let (mut lo, mut up) = (c.to_ordered() as i128, hi.to_ordered() as i128);
    while up - lo > 1 {
        let mid = lo + (up - lo) / 2;
        if reaches(T::from_ordered(mid as i64)) {
            up = mid;
        } else {
            lo = mid;
        }
    }
    T::from_ordered(up as i64)
}

pub(crate) fn merge_summary<T: Element>(a: SplitSummary<T>, b: SplitSummary<T>) -> SplitSummary<T> {
    SplitSummary {
        stats: merge_stats(a.stats, b.stats),
        upper: a.upper + b.upper,
        free: a.free + b.free,
        free_sum: a.free_sum + b.free_sum,
        kept: a.kept + b.kept,
    }
}

pub(crate) fn empty_summary<T: Element>() -> SplitSummary<T> {
    SplitSummary {
        stats: empty_stats(),
        upper: 0,
        free: 0,
        free_sum: 0.0,
        kept: 0,
    }
}

/// The working set kept by the split pass makes the solver's passes run on a rayon pool when it
/// has at least this many elements.
pub const WORKING_SET_PAR_MIN: usize = 1 << 16;

/// The solver's passes restricted to a bracket `[a, b]` of λ known to hold the root: one
/// streaming *split* pass ([`Element::split`](crate::Element::split)) over `z = x·s` summarizes the elements whose
/// class (lower, free, upper) is the same for every λ in the bracket, and copies out the few
/// whose class can change there (the *working set*, typically a few percent of `x` when the
/// bracket comes from a good sample). Every later pass of the root finder reads only the
/// working set, and adds the summary:
///
/// `|F(λ)| = |F_ws(λ)| + m`, `|U(λ)| = |U_ws(λ)| + u`,
/// `Σ_{F(λ)} d_i = Σ_{F_ws(λ)} d_i + Σ_{fixed free} fl(z_i − b) + m·(b − λ)`,
///
/// where `m` and `u` count the elements free and upper throughout. The counts (the partition)
/// are exactly those of a full pass at the same λ; the free-set sum differs from a full pass's
/// only by the rounding of `fl(z_i − λ)` against `fl(z_i − b) + (b − λ)` (at most about one
/// unit of `ε` per free element, which moves λ by less than an ulp of the data's scale).
///
/// The working set is stored block by block (the blocks of [`BLOCK`] elements of `x`, each
/// block's kept elements at the front of its own slot of one buffer), so the split runs on the
/// rayon pool without coordination and every result is independent of the thread count.
#[derive(Debug)]
pub struct WorkingSet<T> {
    kernels: Kernels,
    /// Capacity `SLOT` per block, length 0: block `j`'s kept elements are initialized in
    /// `buf[j·SLOT .. j·SLOT + len_j]`, recorded in `parts`.
    buf: Vec<T>,
    parts: Vec<(usize, usize)>,
    /// The split pass's summary of all of `x` (fixed classes, kept count, statistics).
    sum: SplitSummary<T>,
    a: T,
    b: T,
    n: usize,
}

impl<T: Element> WorkingSet<T> {
    /// Runs the split pass over `z = x·scale` for the bracket `a < b`. `None` when some block
    /// of `x` keeps more than [`SLOT`] elements (the bracket is too wide to pay off) or the
    /// buffer (`SLOT` elements per block, about `n/4`) cannot be allocated.
    pub fn build(kernels: Kernels, x: &[T], scale: T, a: T, b: T) -> Option<Self> {
        Self::build_with(kernels, x.len(), a, b, |j, o| {
            let c = x.get(j * BLOCK..).unwrap_or_default();
            let c = c.get(..BLOCK).unwrap_or(c);
            split_block(c.len(), o, |r, out| {
                Some(T::split(kernels, c.get(r)?, scale, a, b, out))
            })
        })
    }

    /// [`WorkingSet::build`] over a source of `n` elements that `split(j, slot)` splits block
    /// by block: block `j` (elements `j·BLOCK ..`, at most [`BLOCK`]) into its slot of [`SLOT`]
    /// elements, as [`split_block`] does (`None` when the slot fills up). For sources that are
    /// not `&[T]` (the half-precision forward widens its blocks on the fly, `crate::half`); the
    /// result is the same as `build` on the values the source yields.
    pub(crate) fn build_with(
        kernels: Kernels,
        n: usize,
        a: T,
        b: T,
        split: impl Fn(usize, &mut [MaybeUninit<T>]) -> Option<SplitSummary<T>> + Sync,
    ) -> Option<Self> {
        let blocks = n.div_ceil(BLOCK);
        let mut buf: Vec<T> = Vec::new();
        // Without the scratch memory the caller solves over all of `x` instead.
        buf.try_reserve_exact(blocks * SLOT).ok()?;
        let out = buf
            .spare_capacity_mut()
            .get_mut(..blocks * SLOT)
            .unwrap_or_default();
        let f = |(j, o): (usize, &mut [MaybeUninit<T>])| split(j, o);
        let blocks: Vec<Option<SplitSummary<T>>> = if parallel(n) {
            out.par_chunks_mut(SLOT).enumerate().map(f).collect()
        } else {
            out.chunks_mut(SLOT).enumerate().map(f).collect()
        };
        let mut ws = WorkingSet {
            kernels,
            buf: Vec::new(),
            parts: Vec::new(),
            sum: empty_summary(),
            a,
            b,
            n,
        };
        for (j, s) in blocks.iter().enumerate() {
            let s = (*s)?;
            ws.sum = merge_summary(ws.sum, s);
            if s.kept > 0 {
                ws.parts.push((j * SLOT, s.kept.min(SLOT)));
            }
        }
        ws.buf = buf;
        // NaN inputs are never classified, so they are kept: check the kept elements.
        if ws.sum.stats.finite {
            let k = ws.kernels;
            ws.sum.stats.finite =
                ws.over_parts(|c| T::all_finite(k, c, T::ONE), true, |a, b| a & b);
        }
        Some(ws)
    }

    /// Number of kept elements (whose class can change inside the bracket).
    pub fn kept(&self) -> usize {
        self.sum.kept
    }

    /// The statistics of all of `z`, from the split pass.
    pub fn stats(&self) -> Stats<T> {
        self.sum.stats
    }

    fn part(&self, (start, len): (usize, usize)) -> &[T] {
        // SAFETY: `parts` only holds ranges `start + len ≤ capacity` of `buf` whose
        // elements the split kernel wrote (it writes its `kept` elements to the front of its
        // block's slot), and `buf` is not modified after `split`.
        unsafe { std::slice::from_raw_parts(self.buf.as_ptr().add(start), len) }
    }

    fn over_parts<R: Send>(
        &self,
        f: impl Fn(&[T]) -> R + Sync + Send,
        init: R,
        merge: impl Fn(R, R) -> R,
    ) -> R {
        if self.sum.kept >= WORKING_SET_PAR_MIN && crate::pool::current_threads() > 1 {
            let parts: Vec<R> = self.parts.par_iter().map(|&p| f(self.part(p))).collect();
            parts.into_iter().fold(init, merge)
        } else {
            self.parts
                .iter()
                .map(|&p| f(self.part(p)))
                .fold(init, merge)
        }
    }
}

/// Room for kept elements per block of [`BLOCK`] elements: a quarter of it. (A good bracket
/// keeps a few percent; the working-set buffer is allocated for `n/4` elements.)
pub const SLOT: usize = BLOCK / 4;

/// The split of one block of `len` elements, in sub-chunks no longer than the room left in the
/// block's slot `out` (the kernel needs room for every element it reads): `split(r, rest)`
/// splits the block's elements `r` into the free part `rest` of the slot. `None` when the slot
/// fills up (or `split` fails).
pub(crate) fn split_block<T: Element>(
    len: usize,
    out: &mut [MaybeUninit<T>],
    mut split: impl FnMut(core::ops::Range<usize>, &mut [MaybeUninit<T>]) -> Option<SplitSummary<T>>,
) -> Option<SplitSummary<T>> {
    let mut acc = empty_summary();
    let mut done = 0usize;
    while done < len {
        let room = out.len() - acc.kept;
        if room < 64 {
            return None;
        }
        let take = room.min(len - done);
        let r = split(done..done + take, out.get_mut(acc.kept..)?)?;
        done += take;
        acc = merge_summary(acc, r);
    }
    Some(acc)
}

impl<T: Element> Passes<T> for WorkingSet<T> {
    fn len(&self) -> usize {
        self.n
    }
    fn stats(&mut self) -> Stats<T> {
        self.sum.stats
    }
    fn piece(&mut self, lambda: T) -> Piece {
        let k = self.kernels;
        // `z·1 = z` exactly, so the kernel's `d = fl(fl(z·1) − λ)` is the full pass's `d`.
        let p = self.over_parts(
            |c| T::piece(k, c, T::ONE, lambda),
            Piece::default(),
            merge_piece,
        );
        // (`free` is 0 when `b` is the open end MAX, where `b − λ` could overflow.)
        let f = &self.sum;
        let fixed = if f.free == 0 {
            0.0
        } else {
            f.free_sum + f.free as f64 * (self.b.to_f64() - lambda.to_f64())
        };
        Piece {
            free: p.free + f.free,
            upper: p.upper + f.upper,
            sum_free: p.sum_free + fixed,
        }
    }
    fn piece_and_stats(&mut self, lambda: T) -> (Piece, Stats<T>) {
        (self.piece(lambda), self.sum.stats)
    }
    fn gaps(&mut self, lambda: T) -> Option<(f64, f64)> {
        // Breakpoints of the kept elements only: the others have theirs outside the bracket,
        // which the solver never leaves.
        Some(self.over_parts(
            |c| gaps_scalar(c, T::ONE, lambda),
            (f64::INFINITY, f64::NEG_INFINITY),
            |a, b| (a.0.min(b.0), a.1.max(b.1)),
        ))
    }
    fn bracket(&self) -> Option<(T, T)> {
        Some((self.a, self.b))
    }
}

impl Kernels {
    /// The λ of a strided sample of `x`: the core's `SAMPLE_SIZE` elements at stride
    /// `n / SAMPLE_SIZE` below n = 2^15, `4·√n` up to 16384 elements above, gathered into a
    /// contiguous buffer and solved for `k·m/n` with the vector passes. (The core crate solves
    /// its sample through a strided view with scalar passes, which costs a third of a whole
    /// projection at n = 8192.) `None` when the sample's solve fails (a non-finite element:
    /// the main solve reports it).
    pub(crate) fn sample<T: Element>(self, x: &[T], k: f64, scale: T) -> Option<Sample<T>> {
        self.sample_with(x.len(), k, scale, |buf, stride| {
            let mut m = 0;
            for (b, &v) in buf
                .iter_mut()
                .zip(x.iter().skip(stride / 2).step_by(stride))
            {
                *b = v;
                m += 1;
            }
            m
        })
    }

    /// [`Kernels::sample`] of a source of `n` elements that `gather(buf, stride)` reads: it
    /// writes the elements `stride/2, stride/2 + stride, …` to the front of `buf` (as many as
    /// fit) and returns their number. (The half-precision forward widens them, `crate::half`.)
    pub(crate) fn sample_with<T: Element>(
        self,
        n: usize,
        k: f64,
        scale: T,
        gather: impl FnOnce(&mut [T], usize) -> usize,
    ) -> Option<Sample<T>> {
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
            // Without memory for the sample, the caller solves without a start point.
            heap.try_reserve_exact(2 * size).ok()?;
            heap.resize(2 * size, T::ZERO);
            &mut heap
        };
        let m = gather(buf, stride).min(buf.len());
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

    /// λ from the working-set passes ([`WorkingSet`]): a bracket `[a, b]` around the
    /// sample's λ, wide enough to hold the root unless the sample is unrepresentative, one
    /// split pass over `x`, a check that `f(a) ≥ k ≥ f(b)`, and the core root finder on the
    /// working set inside `[a, b]`. `Ok(None)` when the check fails (or the bracket cannot be
    /// formed): the caller then solves over all of `x`, having spent one extra pass.
    ///
    /// The bracket comes from the sample (`Kernels::sample`): the sample's `f` at a fixed λ
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
        self.solve_working_set_with(
            x.len(),
            k,
            s,
            |a, b| WorkingSet::build(self, x, scale, a, b),
            || nonfinite_fallback(x, k, scale),
        )
    }

    /// [`Kernels::solve_working_set`] over a source of `n` elements: `build(a, b)` runs the
    /// split pass for the bracket, `fallback()` answers when the working-set solve fails (the
    /// input's non-finite case). (The half-precision forward splits its widened blocks,
    /// `crate::half`.)
    pub(crate) fn solve_working_set_with<T: Element>(
        self,
        n: usize,
        k: f64,
        s: &Sample<T>,
        build: impl FnOnce(T, T) -> Option<WorkingSet<T>>,
        fallback: impl FnOnce() -> Result<Solution<T>, Error>,
    ) -> Result<Option<Solution<T>>, Error> {
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
        let Some(mut ws) = build(a, b) else {
            // Some block kept too much (the bracket is too wide to pay off) or no scratch
            // memory. (Non-finite input is reported by the full solve.)
            return Ok(None);
        };
        if !ws.stats().finite {
            return Ok(None); // ±∞ masks or errors: the full solve handles them
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
        let mut sol = solve(&mut ws, k, Some(start)).or_else(|_| fallback())?;
        sol.passes += 3; // the split pass and the two bracket checks
        Ok(Some(sol))
    }
}
