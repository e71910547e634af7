//! Batched entry points: the rows of a row-major matrix, its columns (the multiclass layout,
//! without the caller transposing), the backward pass for both, and the multiclass loss.
//!
//! Every entry point works in two phases: first it validates the arguments and runs every
//! reduction (solving λ for each line, or the free-set mean for each line), and only when all
//! lines succeeded does it write the outputs. So on any error no output is modified.
//! Batches of at least [`BATCH_PAR_MIN`] elements run on the current rayon pool; each line is
//! computed exactly as it would be alone, so the results do not depend on the thread count.

use hypersimplex::internal::frame::{refine, shift_for, shift_in_place, Refined, Replay, Shift};
use hypersimplex::internal::loss_shifted;
use hypersimplex::internal::mask::{check_columns, check_rows};
use hypersimplex::internal::real::SumAcc;
use hypersimplex::internal::solve::{solve as core_solve, Fill, Solution};
use hypersimplex::internal::validate::{
    k_tau as check_k_tau, multiclass_args, shape, tau_scale as check_tau, vjp_limit,
};
use hypersimplex::internal::{grad_entry, vjp_entry, vjp_mean_checked};
use hypersimplex::{ClassK, Error, Reduction};
use rayon::prelude::*;

use crate::element::Element;
use crate::ops::vjp_mean;
use crate::passes::{merge_residual, SimdPasses, BLOCK};
use crate::platform::Kernels;
use crate::small;

/// Batches with at least this many elements run on the rayon pool.
pub const BATCH_PAR_MIN: usize = 1 << 14;
/// Elements per rayon task, at least (rows or columns are grouped up to this size).
const TASK_MIN: usize = 1 << 13;
/// Rows per block in the column-wise backward reduction (fixed: results do not depend on the
/// number of threads).
const COL_BLOCK_ROWS: usize = 1 << 10;
/// Elements (whole rows, at least one) per block of the multiclass gradient, whose λ and
/// mean patterns are this long.
const MC_PATTERN: usize = 1 << 10;

/// The `k` of each line of a batch: one for all, or one per line.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RowK<'a> {
    /// The same `k` for every line.
    All(f64),
    /// `k[i]` for line `i` (the slice must have one entry per line).
    PerRow(&'a [f64]),
}

impl RowK<'_> {
    /// Line `i`'s k (NaN past the end of a `PerRow` slice).
    pub(crate) fn get(&self, i: usize) -> f64 {
        match *self {
            RowK::All(k) => k,
            RowK::PerRow(ks) => ks.get(i).copied().unwrap_or(f64::NAN),
        }
    }
}

pub(crate) fn use_pool(total: usize) -> bool {
    total >= BATCH_PAR_MIN && crate::pool::current_threads() > 1
}

/// Lines per rayon task for lines of `len` elements.
pub(crate) fn lines_per_task(len: usize) -> usize {
    (TASK_MIN / len.max(1)).max(1)
}

/// Validates a `lines × len` batch's k and τ (and the `PerRow` length); returns `1/τ` and the
/// batch's k, where a `PerRow` array whose entries are all the same value (bit for bit)
/// becomes `All` of it: a scalar k broadcast to every row, as the Python binding passes it,
/// then has its lanes' k built once instead of compared block by block (the same k for every
/// row either way, so the same results).
fn check_lines<'a, T: Element>(
    lines: usize,
    len: usize,
    k: RowK<'a>,
    tau: T,
) -> Result<(T, RowK<'a>), Error> {
    if let RowK::PerRow(ks) = k {
        if ks.len() != lines {
            return Err(Error::LengthMismatch);
        }
    }
    // τ (and 1/τ) first, as the core crate does, then every k (`check_k_tau`'s test, once
    // for a shared k; a fold without early exit over a per-row array, which vectorizes: a
    // call per row cost a serial division per row, ~0.1 ms at 65536 rows)
    let scale = check_k_tau(len, 0.0, tau)?;
    let n = len as f64;
    // on the pool for a batch that runs there (a serial pass over 65536 k cost 2 threads
    // 13% at 65536 × 10)
    let par = use_pool(lines.saturating_mul(len));
    let k = match k {
        RowK::PerRow(ks) => match ks.first() {
            Some(&k0)
                if crate::passes::all_blocks(ks, par, |c| {
                    c.iter()
                        .fold(true, |a, &k| a & (k.to_bits() == k0.to_bits()))
                }) =>
            {
                RowK::All(k0)
            }
            _ => k,
        },
        all => all,
    };
    let ok = match k {
        RowK::All(k) => lines == 0 || check_k_tau(len, k, tau).is_ok(),
        RowK::PerRow(ks) => crate::passes::all_blocks(ks, par, |c| {
            c.iter().fold(true, |a, &k| a & (k >= 0.0) & (k <= n))
        }),
    };
    if ok {
        Ok((scale, k))
    } else {
        Err(Error::InvalidK)
    }
}

/// The first error of a batch of results, in line order, or the values.
fn first_error<R: Copy>(v: &[Result<R, Error>]) -> Result<Vec<R>, Error> {
    if let Some(e) = v.iter().find_map(|r| r.err()) {
        return Err(e);
    }
    let mut out = with_room(v.len())?;
    out.extend(v.iter().filter_map(|r| r.ok()));
    Ok(out)
}

/// An empty vector with room for `n` elements, or [`Error::OutOfMemory`]: every buffer of
/// this module is allocated this way, so that running out of memory is an error, not an abort.
pub(crate) fn with_room<T>(n: usize) -> Result<Vec<T>, Error> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| Error::OutOfMemory)?;
    Ok(v)
}

/// `n` zeros of an element type, or [`Error::OutOfMemory`]: the allocator's zeroed memory
/// (`calloc`: large blocks come as fresh zero pages, not written twice), as `vec![0.0; n]`
/// does, but fallible.
pub(crate) fn zeroed<T: Element>(n: usize) -> Result<Vec<T>, Error> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let layout = std::alloc::Layout::array::<T>(n).map_err(|_| Error::OutOfMemory)?;
    // SAFETY: `layout` has a non-zero size (n ≥ 1, T is f32 or f64).
    let p = unsafe { std::alloc::alloc_zeroed(layout) }.cast::<T>();
    if p.is_null() {
        return Err(Error::OutOfMemory);
    }
    // SAFETY: `p` was allocated by the global allocator with the layout of `[T; n]` (the
    // layout `Vec<T>` uses for capacity n), and all-zero bits are the value 0.0 of f32 and f64,
    // so all n elements are initialized.
    Ok(unsafe { Vec::from_raw_parts(p, n, n) })
}

/// `n` copies of `value` ([`with_room`]).
pub(crate) fn filled<T: Clone>(n: usize, value: T) -> Result<Vec<T>, Error> {
    let mut v = with_room(n)?;
    v.resize(n, value);
    Ok(v)
}

/// One class column of the multiclass loss, solved.
#[derive(Clone, Copy, Debug)]
struct Class<T> {
    /// The threshold the column's projection is written with (in `frame`).
    lam: T,
    /// `mean_{A} r` of the column.
    mean: T,
    /// `Σ r²` of the column.
    sq: f64,
    /// λ as first solved (what `lambda` reports).
    first: T,
    /// The shifted frame, where λ is large (issue 13).
    frame: Option<Replay<T>>,
}

/// Collects `lines` results of a (parallel or sequential) map into a vector allocated with
/// [`with_room`] (the collection then never reallocates).
fn collect_lines<R: Send>(
    lines: usize,
    par: impl FnOnce(&mut Vec<R>),
    seq: impl FnOnce(&mut Vec<R>),
    pool: bool,
) -> Result<Vec<R>, Error> {
    let mut v = with_room(lines)?;
    if pool {
        par(&mut v);
    } else {
        seq(&mut v);
    }
    Ok(v)
}

/// The λ that makes `clip(z − λ, 0, 1)` write what `sol.fill` asks for (±∞ for the flat
/// cases: `z − ∞ = −∞ → 0`, `z + ∞ = ∞ → 1`, for every finite z).
fn effective_lambda<T: Element>(sol: &Solution<T>) -> T {
    match sol.fill {
        Fill::Clip => sol.lambda,
        Fill::Zeros => T::from_f64(f64::INFINITY),
        Fill::Ones => T::from_f64(f64::NEG_INFINITY),
    }
}

/// Gathers column `c` of a row-major matrix with `cols` columns into `buf`.
fn gather<T: Element>(x: &[T], cols: usize, c: usize, buf: &mut Vec<T>) {
    buf.clear();
    buf.extend(x.iter().skip(c).step_by(cols.max(1)).copied());
}

impl Kernels {
    /// Soft-Binary-Argmax@k of each row: see [`soft_binary_argmax_rows`].
    ///
    /// # Errors
    /// See [`soft_binary_argmax_rows`].
    pub fn soft_binary_argmax_rows<T: Element>(
        self,
        x: &[T],
        rows: usize,
        n: usize,
        k: RowK<'_>,
        tau: T,
        y: &mut [T],
    ) -> Result<(), Error> {
        let total = shape(rows, n)?;
        if x.len() != total || y.len() != total {
            return Err(Error::LengthMismatch);
        }
        let (scale, k) = check_lines(rows, n, k, tau)?;
        if total == 0 {
            return Ok(());
        }
        if rows == 1 {
            // One row: the single-vector route (the same bits, see `small`'s module docs;
            // its own first pass is the check), without a block of 16 lanes to fill: a row
            // of 10 took 200 ns through the block, 60 ns this way (`callbench`).
            let k0 = k.get(0);
            if small::single(self, x, k0, scale, tau, y).is_some() {
                return Ok(());
            }
            return self.project(x, k0, tau, scale, y).map(|_| ());
        }
        // Every row must be known finite before any row is written: then no row's solve can
        // fail, and each row is solved and written in one go (its last pass usually writing
        // it, see `passes::WritingPasses`).
        if !crate::passes::all_blocks(x, use_pool(total), |c| T::all_finite(self, c, scale)) {
            // NaN, an overflowing x/τ, or ±∞ masks: the first line that cannot be projected
            // names the error (masks with a feasible k are fine).
            check_rows(x, n, |i| k.get(i), scale)?;
        }
        let project = |(i, (xr, yr)): (usize, (&[T], &mut [T]))| {
            self.project(xr, k.get(i), tau, scale, yr).map(|_| ())
        };
        if small::applies::<T>(n, tau) {
            return self.small_rows(x, n, k, scale, tau, y, use_pool(total));
        }
        // After the checks above no row can fail (the solver fails only on non-finite input),
        // so the `Err` arms below are unreachable; they only pass the error on.
        if use_pool(total) {
            x.par_chunks(n)
                .zip(y.par_chunks_mut(n))
                .with_min_len(lines_per_task(n))
                .enumerate()
                .try_for_each(project)
        } else {
            x.chunks(n)
                .zip(y.chunks_mut(n))
                .enumerate()
                .try_for_each(project)
        }
    }

    /// Rows of `n ≤ small::SMALL_MAX` `f32` elements (validated `k` and `scale = 1/τ`): blocks of rows
    /// across lanes (`crate::small`), each task whole blocks; rows the short-row solver
    /// leaves (non-finite input) take [`Kernels::project`], which reports their error.
    #[allow(clippy::too_many_arguments)]
    fn small_rows<T: Element>(
        self,
        x: &[T],
        n: usize,
        k: RowK<'_>,
        scale: T,
        tau: T,
        y: &mut [T],
        pool: bool,
    ) -> Result<(), Error> {
        let task = small::BLOCK * lines_per_task(n * small::BLOCK);
        let run = |(t, (xb, yb)): (usize, (&[T], &mut [T]))| {
            let fallback =
                |i, xr: &[T], yr: &mut [T]| self.project(xr, k.get(i), tau, scale, yr).map(|_| ());
            small::rows(self, xb, n, t * task, k, scale, yb, fallback)
        };
        if pool {
            let (xs, ys) = (x.par_chunks(n * task), y.par_chunks_mut(n * task));
            xs.zip(ys).enumerate().try_for_each(run)
        } else {
            let (xs, ys) = (x.chunks(n * task), y.chunks_mut(n * task));
            xs.zip(ys).enumerate().try_for_each(run)
        }
    }

    /// Soft-Binary-Argmax@k of each column: see [`soft_binary_argmax_columns`].
    ///
    /// # Errors
    /// See [`soft_binary_argmax_columns`].
    pub fn soft_binary_argmax_columns<T: Element>(
        self,
        x: &[T],
        rows: usize,
        cols: usize,
        k: RowK<'_>,
        tau: T,
        y: &mut [T],
    ) -> Result<(), Error> {
        let total = shape(rows, cols)?;
        if x.len() != total || y.len() != total {
            return Err(Error::LengthMismatch);
        }
        let (scale, k) = check_lines(cols, rows, k, tau)?;
        if total == 0 {
            return Ok(());
        }
        if small::applies::<T>(rows, tau) {
            // Short columns: transposed into rows for the short-row solver (the same bits as
            // each column alone), solved into scratch, then written.
            // Both ways by the blocked register-tile transpose of the multiclass loss (its
            // finiteness answer unused: the solve reports bad columns); it replaced two scalar
            // strided loops.
            let (mut xt, mut yt) = (zeroed(total)?, zeroed(total)?);
            T::transpose(self, x, cols, scale, &mut xt, rows);
            self.small_rows(&xt, rows, k, scale, tau, &mut yt, use_pool(total))?;
            T::transpose(self, &yt, rows, T::ONE, y, cols);
            return Ok(());
        }
        // Each column's λ, and its shifted frame where λ is large (`internal::frame`; the
        // gathered column is shifted in its buffer, the write replays the shifts).
        let solve = |buf: &mut Vec<T>, c: usize| -> Result<(T, Option<Refined<T>>), Error> {
            gather(x, cols, c, buf);
            let kc = k.get(c);
            let sol = self.solve(buf, kc, scale)?;
            let Some(sh) = shift_for(&sol, tau, scale) else {
                return Ok((effective_lambda(&sol), None));
            };
            let inf = T::from_f64(f64::INFINITY);
            shift_in_place(buf, &sh, -inf, inf);
            let r = refine(buf, &sol, &sh, |v, s, g| {
                core_solve(&mut SimdPasses::new(self, v, s), kc, g)
            })?;
            Ok((effective_lambda(&r.sol), Some(r)))
        };
        // Each task's gather buffer; a failed allocation becomes that column's error.
        let solve_in = |buf: &mut Result<Vec<T>, Error>, c: usize| match buf {
            Ok(b) => solve(b, c),
            Err(e) => Err(*e),
        };
        let lams = collect_lines(
            cols,
            |v| {
                (0..cols)
                    .into_par_iter()
                    .map_init(|| with_room(rows), solve_in)
                    .collect_into_vec(v)
            },
            |v| {
                let mut buf = with_room(rows);
                v.extend((0..cols).map(|c| solve_in(&mut buf, c)))
            },
            use_pool(total),
        )?;
        let lams = first_error(&lams)?;
        let put = |(yb, xb): (&mut [T], &[T])| {
            for (yr, xr) in yb.chunks_exact_mut(cols).zip(xb.chunks_exact(cols)) {
                for ((o, &v), (l, fr)) in yr.iter_mut().zip(xr).zip(&lams) {
                    let (v, s) = match fr {
                        Some(r) => (r.value(v), r.scale()),
                        None => (v, scale),
                    };
                    *o = (v * s - *l).clip01();
                }
            }
        };
        let block = cols * lines_per_task(cols);
        if use_pool(total) {
            y.par_chunks_mut(block)
                .zip(x.par_chunks(block))
                .for_each(put);
        } else {
            y.chunks_mut(block).zip(x.chunks(block)).for_each(put);
        }
        Ok(())
    }

    /// VJP of each row: see [`soft_binary_argmax_vjp_rows`].
    ///
    /// # Errors
    /// See [`soft_binary_argmax_vjp_rows`].
    pub fn soft_binary_argmax_vjp_rows<T: Element>(
        self,
        y: &[T],
        g: &[T],
        rows: usize,
        n: usize,
        tau: T,
        grad_x: &mut [T],
    ) -> Result<(), Error> {
        let total = shape(rows, n)?;
        if y.len() != total || g.len() != total || grad_x.len() != total {
            return Err(Error::LengthMismatch);
        }
        let scale = check_tau(tau)?;
        if total == 0 {
            return Ok(());
        }
        if rows == 1 {
            // One row: the single-vector VJP (the same mean and entries, bit for bit), without
            // the block machinery: a row of 10 took 156 ns through it, 14 ns this way
            // (`callbench`).
            return self.soft_binary_argmax_vjp(y, g, tau, grad_x);
        }
        let limit = vjp_limit(scale);
        let small_inputs = |a: &[T], b: &[T]| small::vjp_inputs_small(self, a, b, limit);
        if n <= small::VJP_SHORT_MAX
            && crate::passes::all_blocks2(y, g, use_pool(total), small_inputs)
        {
            // Short rows whose every |y_i| ≤ MAX and |g_i| ≤ limit: no row can fail, so each
            // row's mean and entries in one go (rows in cache), no table of means.
            // blocks of rows across lanes (`small::vjp_rows`), each task whole blocks
            let block = n * small::LANES * lines_per_task(n * small::LANES);
            let rows_of = |(o, (yr, gr)): (&mut [T], (&[T], &[T]))| {
                small::vjp_rows(self, yr, gr, n, scale, o)
            };
            if use_pool(total) {
                grad_x
                    .par_chunks_mut(block)
                    .zip(y.par_chunks(block).zip(g.par_chunks(block)))
                    .for_each(rows_of);
            } else {
                rows_of((grad_x, (y, g)));
            }
            return Ok(());
        }
        let mean = |(yr, gr): (&[T], &[T])| vjp_mean(self, yr, gr, scale);
        let means = collect_lines(
            rows,
            |v| {
                y.par_chunks(n)
                    .zip(g.par_chunks(n))
                    .with_min_len(lines_per_task(n))
                    .map(mean)
                    .collect_into_vec(v)
            },
            |v| v.extend(y.chunks(n).zip(g.chunks(n)).map(mean)),
            use_pool(total),
        )?;
        let means = first_error(&means)?;
        #[allow(clippy::type_complexity)]
        let put = |((o, (yr, gr)), &m): ((&mut [T], (&[T], &[T])), &T)| {
            if n <= small::VJP_SHORT_MAX {
                crate::portable::vjp(yr, gr, m, scale, o)
            } else {
                crate::passes::write2(yr, gr, o, |a, b, out| T::vjp(self, a, b, m, scale, out))
            }
        };
        if use_pool(total) {
            grad_x
                .par_chunks_mut(n)
                .zip(y.par_chunks(n).zip(g.par_chunks(n)))
                .zip(means.par_iter())
                .with_min_len(lines_per_task(n))
                .for_each(put);
        } else {
            grad_x
                .chunks_mut(n)
                .zip(y.chunks(n).zip(g.chunks(n)))
                .zip(means.iter())
                .for_each(put);
        }
        Ok(())
    }

    /// VJP of each column: see [`soft_binary_argmax_vjp_columns`].
    ///
    /// # Errors
    /// See [`soft_binary_argmax_vjp_columns`].
    pub fn soft_binary_argmax_vjp_columns<T: Element>(
        self,
        y: &[T],
        g: &[T],
        rows: usize,
        cols: usize,
        tau: T,
        grad_x: &mut [T],
    ) -> Result<(), Error> {
        let total = shape(rows, cols)?;
        if y.len() != total || g.len() != total || grad_x.len() != total {
            return Err(Error::LengthMismatch);
        }
        let scale = check_tau(tau)?;
        if total == 0 {
            return Ok(());
        }
        // Per-column (count, Σ_A g) over fixed blocks of rows, folded in block order.
        let block = cols * COL_BLOCK_ROWS;
        let limit = vjp_limit(scale);
        // (Sums in the element type's accumulator, as the core's VJP: compensated for f64.)
        let zero = <T::Sum as SumAcc<T>>::ZERO;
        let partial = |(yb, gb): (&[T], &[T])| -> Result<_, Error> {
            let (mut count, mut sum) = (filled(cols, 0usize)?, filled(cols, zero)?);
            let mut finite = true;
            for (yr, gr) in yb.chunks_exact(cols).zip(gb.chunks_exact(cols)) {
                for (((c, s), &yi), &gi) in count.iter_mut().zip(sum.iter_mut()).zip(yr).zip(gr) {
                    finite &= (yi.abs() <= T::MAX) & (gi.abs() <= limit);
                    let f = (yi > T::ZERO) & (yi < T::ONE);
                    *c += f as usize;
                    s.add(gi.keep_if(f));
                }
            }
            Ok((count, sum, finite))
        };
        let parts = collect_lines(
            total.div_ceil(block),
            |v| {
                y.par_chunks(block)
                    .zip(g.par_chunks(block))
                    .map(partial)
                    .collect_into_vec(v)
            },
            |v| v.extend(y.chunks(block).zip(g.chunks(block)).map(partial)),
            use_pool(total),
        )?;
        let (mut count, mut sum) = (filled(cols, 0usize)?, filled(cols, zero)?);
        let mut finite = true;
        for part in parts {
            let (c, s, f) = part?;
            count.iter_mut().zip(&c).for_each(|(a, b)| *a += b);
            sum.iter_mut().zip(&s).for_each(|(a, b)| a.merge(*b));
            finite &= f;
        }
        let mut means = with_room(cols)?;
        if finite {
            means.extend(count.iter().zip(&sum).map(|(&c, s)| {
                let s = s.value();
                if c > 0 {
                    T::from_f64(s / c as f64)
                } else {
                    T::ZERO
                }
            }));
        } else {
            // Some |g| above the limit: the checking pass (NaN/±∞, overflow) column by column.
            let (mut yc, mut gc) = (with_room(rows)?, with_room(rows)?);
            for c in 0..cols {
                gather(y, cols, c, &mut yc);
                gather(g, cols, c, &mut gc);
                means.push(vjp_mean_checked(&yc, &gc, scale)?);
            }
        }
        let put = |(ob, (yb, gb)): (&mut [T], (&[T], &[T]))| {
            for ((or, yr), gr) in ob
                .chunks_exact_mut(cols)
                .zip(yb.chunks_exact(cols))
                .zip(gb.chunks_exact(cols))
            {
                for (((o, &yi), &gi), &m) in or.iter_mut().zip(yr).zip(gr).zip(&means) {
                    *o = vjp_entry(yi, gi, m, scale);
                }
            }
        };
        let wblock = cols * lines_per_task(cols);
        if use_pool(total) {
            grad_x
                .par_chunks_mut(wblock)
                .zip(y.par_chunks(wblock).zip(g.par_chunks(wblock)))
                .for_each(put);
        } else {
            grad_x
                .chunks_mut(wblock)
                .zip(y.chunks(wblock).zip(g.chunks(wblock)))
                .for_each(put);
        }
        Ok(())
    }

    /// Multiclass HyperSimplex loss: see [`crate::hypersimplex_loss_multiclass`].
    ///
    /// # Errors
    /// See [`crate::hypersimplex_loss_multiclass`].
    #[allow(clippy::too_many_arguments)]
    pub fn hypersimplex_loss_multiclass<T: Element>(
        self,
        logits: &[T],
        labels: &[u32],
        classes: usize,
        k: ClassK<'_>,
        tau: T,
        reduction: Reduction,
        grad: Option<&mut [T]>,
    ) -> Result<T, Error> {
        self.multiclass(logits, labels, classes, k, tau, reduction, grad, None)
    }

    /// [`Kernels::hypersimplex_loss_multiclass`] that also reports each class column's λ_c in
    /// `lambda` (see [`crate::hypersimplex_loss_multiclass_lambda`]).
    ///
    /// # Errors
    /// See [`crate::hypersimplex_loss_multiclass_lambda`].
    #[allow(clippy::too_many_arguments)]
    pub fn hypersimplex_loss_multiclass_lambda<T: Element>(
        self,
        logits: &[T],
        labels: &[u32],
        classes: usize,
        k: ClassK<'_>,
        tau: T,
        reduction: Reduction,
        grad: Option<&mut [T]>,
        lambda: &mut [f64],
    ) -> Result<T, Error> {
        if lambda.len() != classes {
            return Err(Error::LengthMismatch);
        }
        let lambda = Some(lambda);
        self.multiclass(logits, labels, classes, k, tau, reduction, grad, lambda)
    }

    /// [`Kernels::hypersimplex_loss_multiclass`], writing each class's λ into `lambda` when
    /// given (length checked by the caller).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn multiclass<T: Element, S: McStore<T>>(
        self,
        logits: &[S],
        labels: &[u32],
        classes: usize,
        k: ClassK<'_>,
        tau: T,
        reduction: Reduction,
        grad: Option<&mut [S]>,
        lambda: Option<&mut [f64]>,
    ) -> Result<T, Error> {
        // The same checks, in the same order, as `hypersimplex::hypersimplex_loss_multiclass`.
        let batch = labels.len();
        let grad_len = grad.as_ref().map(|g| g.len());
        let (total, scale) = multiclass_args(logits.len(), labels, classes, k, tau, grad_len)?;
        if total == 0 {
            // No entries: every (empty) column has λ = 0, as in the core crate.
            if let Some(l) = lambda {
                l.iter_mut().for_each(|v| *v = 0.0);
            }
            return Ok(T::ZERO);
        }
        // One blocked transpose into per-class columns (contiguous for the solves), which
        // also checks that every logit is finite.
        let mut xt = zeroed(total)?;
        if !S::transpose(self, logits, classes, scale, &mut xt, batch) {
            // NaN, overflow, or ±∞ masks (fine where every column's k_c allows them)
            S::check_columns(logits, labels, classes, k, scale)?;
        }
        let factor = match reduction {
            Reduction::Sum => scale,
            Reduction::Mean => T::from_f64(2.0 / total as f64) * scale,
        };
        let mut counts = filled(
            if matches!(k, ClassK::LabelCounts) {
                classes
            } else {
                0
            },
            0,
        )?;
        if matches!(k, ClassK::LabelCounts) {
            for &l in labels {
                if let Some(n) = counts.get_mut(l as usize) {
                    *n += 1;
                }
            }
        }
        // Per class: solve, and the residual against the one-hot targets read from `labels`.
        // Where λ is large (issue 13) the column is shifted in place and solved again: the
        // residual and (below) the gradient come from that frame, λ_c reported is the first.
        let class = |(c, col): (usize, &mut [T])| -> Result<Class<T>, Error> {
            let kc = match k {
                ClassK::LabelCounts => counts.get(c).copied().unwrap_or(0) as f64,
                ClassK::Fixed(kc) => kc,
                ClassK::PerClass(ks) => ks.get(c).copied().unwrap_or(0.0),
            };
            let sol = self.solve(col, kc, scale)?;
            let (lam, frame) = match shift_for(&sol, tau, scale) {
                Some(sh) => {
                    let inf = T::from_f64(f64::INFINITY);
                    shift_in_place(col, &sh, -inf, inf);
                    let r = refine(col, &sol, &sh, |v, s, g| {
                        core_solve(&mut SimdPasses::new(self, v, s), kc, g)
                    })?;
                    (r.sol.lambda, Some((r.replay, r.first_lambda(&sol))))
                }
                None => (sol.lambda, None),
            };
            let (frame, first) = match frame {
                Some((r, f)) => (Some(r), f),
                None => (None, sol.lambda),
            };
            // the frame's scale (`fl(1/(τ·pre))` where τ > MAX/64)
            let scale = frame.map_or(scale, |r: Replay<T>| r.scale);
            let col = &*col;
            let res = col
                .chunks(BLOCK)
                .zip(labels.chunks(BLOCK))
                .map(|(p, q)| match u32::try_from(c) {
                    Ok(id) => T::residual_labels(self, p, q, id, scale, lam),
                    // No u32 label names this class: every target is 0.
                    Err(_) => {
                        let zeros = [T::ZERO; 1024];
                        p.chunks(zeros.len())
                            .map(|q| T::residual(self, q, &zeros[..q.len()], scale, lam))
                            .reduce(merge_residual)
                            .unwrap_or_default()
                    }
                })
                .reduce(merge_residual)
                .unwrap_or_default();
            Ok(Class {
                lam,
                mean: res.mean::<T>(),
                sq: res.sq,
                first,
                frame,
            })
        };
        let mut per_class = with_room(classes)?;
        if use_pool(total) {
            xt.par_chunks_mut(batch)
                .enumerate()
                .map(class)
                .collect_into_vec(&mut per_class);
        } else {
            per_class.extend(xt.chunks_mut(batch).enumerate().map(class));
        }
        drop(xt);
        let per_class = first_error(&per_class)?;
        if let Some(l) = lambda {
            for (o, p) in l.iter_mut().zip(&per_class) {
                *o = p.first.to_f64();
            }
        }
        let sq: f64 = per_class.iter().fold(0.0, |a, p| a + p.sq);
        // Every class succeeded: the gradient, written row-major straight into `grad`, block
        // by block of whole rows, with each class's λ and mean repeated along the block and
        // the block's one-hot targets set in a zeroed buffer (and cleared again after).
        if let Some(g) = grad {
            let rows = (MC_PATTERN / classes).max(1);
            let width = rows * classes;
            let (mut lam, mut mean) = (with_room(width)?, with_room(width)?);
            lam.extend(per_class.iter().map(|p| p.lam).cycle().take(width));
            mean.extend(per_class.iter().map(|p| p.mean).cycle().take(width));
            let block = |t: &mut Option<Vec<T>>, (b, (xb, gb)): (usize, (&[S], &mut [S]))| {
                let n = xb.len().min(gb.len());
                let lb = labels.get(b * rows..).unwrap_or(&[]);
                let Some(t) = t else {
                    // No memory for the targets buffer: the same values, element by element.
                    let rows_b = xb.chunks(classes).zip(gb.chunks_mut(classes)).zip(lb);
                    for ((xr, gr), &l) in rows_b {
                        for (c, ((o, &xv), p)) in gr.iter_mut().zip(xr).zip(&per_class).enumerate()
                        {
                            let t = T::ONE.keep_if(l as usize == c);
                            *o = S::narrow(grad_entry(xv.wide(), t, scale, p.lam, p.mean, factor));
                        }
                    }
                    return;
                };
                let hot = lb.iter().take(n / classes).enumerate();
                let at = |(r, &l): (usize, &u32)| r * classes + l as usize;
                hot.clone().map(at).for_each(|i| {
                    if let Some(v) = t.get_mut(i) {
                        *v = T::ONE;
                    }
                });
                let (tp, lp, mp) = (
                    t.get(..n).unwrap_or(&[]),
                    lam.get(..n).unwrap_or(&[]),
                    mean.get(..n).unwrap_or(&[]),
                );
                S::grad_pattern(self, xb, tp, lp, mp, scale, factor, gb);
                hot.map(at).for_each(|i| {
                    if let Some(v) = t.get_mut(i) {
                        *v = T::ZERO;
                    }
                });
            };
            let zeros = || zeroed(width).ok();
            if use_pool(total) {
                logits
                    .par_chunks(width)
                    .zip(g.par_chunks_mut(width))
                    .enumerate()
                    .with_min_len((TASK_MIN / width).max(1))
                    .for_each_init(zeros, block);
            } else {
                let mut t = zeros();
                logits
                    .chunks(width)
                    .zip(g.chunks_mut(width))
                    .enumerate()
                    .for_each(|item| block(&mut t, item));
            }
            // The classes solved in a shifted frame: their gradient entries again, from the
            // shifted logits (the pattern above used the original ones).
            for (c, p) in per_class.iter().enumerate() {
                let Some(r) = p.frame else { continue };
                let rows = g
                    .chunks_exact_mut(classes)
                    .zip(logits.chunks_exact(classes));
                for ((gr, xr), &l) in rows.zip(labels) {
                    if let (Some(o), Some(&xv)) = (gr.get_mut(c), xr.get(c)) {
                        let t = T::ONE.keep_if(l as usize == c);
                        let v = grad_entry(r.apply(xv.wide()), t, r.scale, p.lam, p.mean, factor);
                        *o = S::narrow(v);
                    }
                }
            }
        }
        let loss = match reduction {
            Reduction::Sum => 0.5 * sq,
            Reduction::Mean => sq / total as f64,
        };
        Ok(T::from_f64(loss))
    }
}

/// Soft-Binary-Argmax@k of every row of the row-major `rows × n` matrix `x`, on the
/// [`crate::active_path`]: `y[i,:] = Π_Δ(n,k_i)(x[i,:]/τ)`.
///
/// Rows run in parallel on the rayon pool for batches of at least [`BATCH_PAR_MIN`] elements;
/// each row's result is bitwise the same as [`crate::soft_binary_argmax`] on that row alone.
///
/// # Errors
/// [`Error::LengthMismatch`] unless `x.len() == y.len() == rows·n` (or if the product
/// overflows) and a `PerRow` slice has `rows` entries; [`Error::InvalidTau`],
/// [`Error::ScaleOverflow`], [`Error::InvalidK`] (any row); [`Error::NonFiniteInput`] (any
/// row). On error `y` is not modified (no row is written).
pub fn soft_binary_argmax_rows<T: Element>(
    x: &[T],
    rows: usize,
    n: usize,
    k: RowK<'_>,
    tau: T,
    y: &mut [T],
) -> Result<(), Error> {
    Kernels::active().soft_binary_argmax_rows(x, rows, n, k, tau, y)
}

/// Soft-Binary-Argmax@k of every column of the row-major `rows × cols` matrix `x` (the
/// multiclass layout, one projection per class down the batch):
/// `y[:,c] = Π_Δ(rows,k_c)(x[:,c]/τ)`. `k` has one entry per column (`PerRow` of length
/// `cols`) or one for all. Columns are gathered into per-thread scratch; the output is written
/// row by row.
///
/// # Errors
/// As [`soft_binary_argmax_rows`], with columns for rows. On error `y` is not modified.
pub fn soft_binary_argmax_columns<T: Element>(
    x: &[T],
    rows: usize,
    cols: usize,
    k: RowK<'_>,
    tau: T,
    y: &mut [T],
) -> Result<(), Error> {
    Kernels::active().soft_binary_argmax_columns(x, rows, cols, k, tau, y)
}

/// The VJP of every row: `grad_x[i,:] = J_iᵀ g[i,:]`, `(J_iᵀg)_j = (1/τ)(g_ij − mean_{A_i} g_i)`
/// on `A_i = {j : 0 < y_ij < 1}`, 0 elsewhere.
///
/// # Errors
/// [`Error::LengthMismatch`] unless `y`, `g`, `grad_x` all have `rows·n` elements;
/// [`Error::InvalidTau`], [`Error::ScaleOverflow`], [`Error::NonFiniteInput`] (any row). On
/// error `grad_x` is not modified.
pub fn soft_binary_argmax_vjp_rows<T: Element>(
    y: &[T],
    g: &[T],
    rows: usize,
    n: usize,
    tau: T,
    grad_x: &mut [T],
) -> Result<(), Error> {
    Kernels::active().soft_binary_argmax_vjp_rows(y, g, rows, n, tau, grad_x)
}

/// The VJP of every column of a row-major `rows × cols` matrix (the backward pass of
/// [`soft_binary_argmax_columns`]): `(J_cᵀg)_i = (1/τ)(g_ic − mean_{A_c} g_{·c})` on
/// `A_c = {i : 0 < y_ic < 1}`. The per-column means are reduced over fixed blocks of rows,
/// so they do not depend on the thread count.
///
/// # Errors
/// As [`soft_binary_argmax_vjp_rows`]. On error `grad_x` is not modified.
pub fn soft_binary_argmax_vjp_columns<T: Element>(
    y: &[T],
    g: &[T],
    rows: usize,
    cols: usize,
    tau: T,
    grad_x: &mut [T],
) -> Result<(), Error> {
    Kernels::active().soft_binary_argmax_vjp_columns(y, g, rows, cols, tau, grad_x)
}

/// How the multiclass loss reads its logits and writes its gradient: in the arithmetic type
/// itself (`T`), or in a 16-bit storage type with `f32` arithmetic (`crate::half`), where each
/// value is widened exactly when read and the gradient rounded once when written, so that the
/// result is the `T` loss of the widened logits, rounded.
pub trait McStore<T: Element>: Copy + Send + Sync + 'static {
    /// The value as `T`, exactly.
    fn wide(self) -> T;
    /// `v` rounded to this type.
    fn narrow(v: T) -> Self;
    /// The columns of the row-major `x` (`cols` per row), times nothing (see
    /// `kernels::transpose`: `out[c·stride + r] = x[r·cols + c]`), and whether every
    /// `fl(x·s)` is finite.
    fn transpose(k: Kernels, x: &[Self], cols: usize, s: T, out: &mut [T], stride: usize) -> bool;
    /// The multiclass loss's check of logits whose finiteness check failed
    /// (`hypersimplex::internal::mask::check_columns`).
    fn check_columns(
        logits: &[Self],
        labels: &[u32],
        classes: usize,
        k: ClassK<'_>,
        scale: T,
    ) -> Result<(), Error>;
    /// The binary loss's gradient `out_i = grad_entry(x_i, t_i, s, λ, m, factor)` of the
    /// arithmetic type's values (`kernels::grad`), rounded to this type.
    #[allow(clippy::too_many_arguments)]
    fn grad(k: Kernels, x: &[T], t: &[T], s: T, lam: T, mean: T, factor: T, out: &mut [Self]);
    /// The binary loss in the shifted frame (`hypersimplex::internal::loss_shifted`), its
    /// gradient rounded to this type.
    ///
    /// # Errors
    /// As `loss_shifted`, and [`Error::OutOfMemory`]; on error `grad` is not modified.
    fn loss_shifted(
        x: &[T],
        target: &[T],
        k: f64,
        scale: T,
        sol: &Solution<T>,
        sh: &Shift<T>,
        grad: Option<&mut [Self]>,
    ) -> Result<T, Error>;
    /// The gradient entries `out_i = grad_entry(x_i, t_i, s, λ_i, m_i, factor)`
    /// (`kernels::grad_pattern`).
    #[allow(clippy::too_many_arguments)]
    fn grad_pattern(
        k: Kernels,
        x: &[Self],
        t: &[T],
        lam: &[T],
        mean: &[T],
        s: T,
        factor: T,
        out: &mut [Self],
    );
}

impl<T: Element> McStore<T> for T {
    #[inline(always)]
    fn wide(self) -> T {
        self
    }
    #[inline(always)]
    fn narrow(v: T) -> Self {
        v
    }
    fn transpose(k: Kernels, x: &[T], cols: usize, s: T, out: &mut [T], stride: usize) -> bool {
        T::transpose(k, x, cols, s, out, stride)
    }
    fn check_columns(
        logits: &[T],
        labels: &[u32],
        classes: usize,
        k: ClassK<'_>,
        scale: T,
    ) -> Result<(), Error> {
        check_columns(logits, labels, classes, k, scale)
    }
    fn grad(k: Kernels, x: &[T], t: &[T], s: T, lam: T, mean: T, factor: T, out: &mut [T]) {
        T::grad(k, x, t, s, lam, mean, factor, out)
    }
    fn loss_shifted(
        x: &[T],
        target: &[T],
        k: f64,
        scale: T,
        sol: &Solution<T>,
        sh: &Shift<T>,
        grad: Option<&mut [T]>,
    ) -> Result<T, Error> {
        loss_shifted(x, target, k, scale, sol, sh, grad)
    }
    fn grad_pattern(
        k: Kernels,
        x: &[T],
        t: &[T],
        lam: &[T],
        mean: &[T],
        s: T,
        factor: T,
        out: &mut [T],
    ) {
        T::grad_pattern(k, x, t, lam, mean, s, factor, out)
    }
}
