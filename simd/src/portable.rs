//! The scalar path: `hypersimplex`'s own kernels where it exports them (`ScalarPasses`,
//! `write_clip`, `loss::residual`, `loss::grad_entry`), and the same formulas written out
//! here for the backward pass (whose per-element helpers the core crate keeps private).
//!
//! These functions define the semantics every vectorized kernel must reproduce:
//! `d_i = fl(fl(x_i·s) − λ)` with no fused multiply-add, the free set `0 < d_i < 1`, sums in
//! the element type's `Real::Sum` (an `f64` accumulator for `f32` on every target with
//! double-precision hardware).

use hypersimplex::internal::kernel::{write_clip, write_clip_in_place};
use hypersimplex::internal::real::SumAcc;
use hypersimplex::internal::{grad_entry, Residual};
use hypersimplex::internal::{is_free, vjp_entry};
use hypersimplex::Real;

/// `y_i = clip(fl(x_i·s) − λ, 0, 1)`.
pub fn clip<T: Real>(x: &[T], s: T, lam: T, y: &mut [T]) {
    write_clip(x, s, lam, y)
}

/// In-place [`clip`].
pub fn clip_in_place<T: Real>(x: &mut [T], s: T, lam: T) {
    write_clip_in_place(x, s, lam)
}

/// `(|A|, Σ_{i∈A} g_i, every |y_i| ≤ MAX and |g_i| ≤ limit)` with `A = {0 < y_i < 1}`.
pub fn free_mean<T: Real>(y: &[T], g: &[T], limit: T) -> (usize, f64, bool) {
    let mut count = 0usize;
    let mut sum = <T::Sum as SumAcc<T>>::ZERO;
    let mut finite = true;
    for (&yi, &gi) in y.iter().zip(g) {
        finite &= (yi.abs() <= T::MAX) & (gi.abs() <= limit);
        let f = is_free(yi);
        count += f as usize;
        sum.add(gi.keep_if(f)); // branch-free: a branch here is mispredicted half the time
    }
    (count, sum.value(), finite)
}

/// `out_i = (g_i − m)·s` on the free set `0 < y_i < 1`, `+0` elsewhere (the core crate's
/// VJP entry, `hypersimplex::internal::vjp_entry`).
pub fn vjp<T: Real>(y: &[T], g: &[T], mean: T, s: T, out: &mut [T]) {
    for ((o, &yi), &gi) in out.iter_mut().zip(y).zip(g) {
        *o = vjp_entry(yi, gi, mean, s);
    }
}

/// In-place [`vjp`].
pub fn vjp_in_place<T: Real>(y: &[T], g: &mut [T], mean: T, s: T) {
    for (gi, &yi) in g.iter_mut().zip(y) {
        *gi = vjp_entry(yi, *gi, mean, s);
    }
}

/// The loss residual at λ over `(x_i, t_i)`.
pub fn residual<T: Real>(x: &[T], t: &[T], s: T, lam: T) -> Residual {
    hypersimplex::internal::residual(x.iter().copied().zip(t.iter().copied()), s, lam)
}

/// `out_i = grad_entry(x_i, t_i, s, λ, m, factor)`.
#[allow(clippy::too_many_arguments)]
pub fn grad<T: Real>(x: &[T], t: &[T], s: T, lam: T, mean: T, factor: T, out: &mut [T]) {
    for ((o, &xi), &ti) in out.iter_mut().zip(x).zip(t) {
        *o = grad_entry(xi, ti, s, lam, mean, factor);
    }
}

/// `true` when every `fl(x_i·s)` is finite.
pub fn all_finite<T: Real>(x: &[T], s: T) -> bool {
    x.iter().fold(true, |ok, &v| ok & ((v * s).abs() <= T::MAX))
}

/// The working-set split of `z = x·s` for the bracket `[a, b]` (see
/// [`crate::working_set::SplitSummary`]): the kept `z_i` go to the front of `out`, in order.
pub fn split<T: Real>(
    x: &[T],
    s: T,
    a: T,
    b: T,
    out: &mut [core::mem::MaybeUninit<T>],
) -> crate::working_set::SplitSummary<T> {
    let n = x.len().min(out.len());
    let (mut upper, mut free, mut kept) = (0usize, 0usize, 0usize);
    let (mut fixed, mut wide) = (0i64, <T::Sum as SumAcc<T>>::ZERO);
    let (mut mn, mut mx) = (T::MAX, T::LOWEST);
    for &v in x.get(..n).unwrap_or(&[]) {
        let z = v * s;
        mn = if z < mn { z } else { mn };
        mx = if z > mx { z } else { mx };
        let (da, db) = (z - a, z - b);
        if db >= T::ONE {
            upper += 1;
        } else if (db > T::ZERO) & (da < T::ONE) {
            free += 1;
            if T::FIXED_SUM {
                // Round to nearest, ties to even, as the vector kernels' `qacc_unit`.
                fixed += (db.to_f64() * 8_388_608.0).round_ties_even() as i64;
            } else {
                wide.add(db);
            }
        } else if da <= T::ZERO {
            // lower throughout
        } else {
            // kept (NaN included: it fails every comparison)
            if let Some(slot) = out.get_mut(kept) {
                slot.write(z);
            }
            kept += 1;
        }
    }
    crate::working_set::SplitSummary {
        stats: hypersimplex::internal::kernel::Stats {
            sum: f64::NAN,
            min: mn,
            max: mx,
            finite: mn.is_finite() & mx.is_finite(),
        },
        upper,
        free,
        free_sum: if T::FIXED_SUM {
            fixed as f64 * (1.0 / 8_388_608.0)
        } else {
            wide.value()
        },
        kept,
    }
}

/// `out[c·stride + r] = x[r·cols + c]` for the `rows = x.len() / cols` rows of the row-major
/// `x` (entries past the end of `out` are skipped); `true` when every `fl(x_i·s)` of those
/// rows is finite.
pub fn transpose<T: Real>(x: &[T], cols: usize, s: T, out: &mut [T], stride: usize) -> bool {
    let mut ok = true;
    if cols == 0 {
        return ok;
    }
    for (r, row) in x.chunks_exact(cols).enumerate() {
        for (c, &v) in row.iter().enumerate() {
            ok &= (v * s).abs() <= T::MAX;
            if let Some(d) = out.get_mut(c * stride + r) {
                *d = v;
            }
        }
    }
    ok
}

/// [`residual`] against the one-hot targets of `class` (`t_i = 1` where `labels[i] == class`).
pub fn residual_labels<T: Real>(x: &[T], labels: &[u32], class: u32, s: T, lam: T) -> Residual {
    let pairs = x
        .iter()
        .zip(labels)
        .map(|(&xi, &l)| (xi, T::ONE.keep_if(l == class)));
    hypersimplex::internal::residual(pairs, s, lam)
}

/// `out_i = grad_entry(x_i, t_i, s, λ_i, m_i, factor)` (a λ and a mean per element).
#[allow(clippy::too_many_arguments)]
pub fn grad_pattern<T: Real>(
    x: &[T],
    t: &[T],
    lam: &[T],
    mean: &[T],
    s: T,
    factor: T,
    out: &mut [T],
) {
    let it = out.iter_mut().zip(x).zip(t).zip(lam).zip(mean);
    for ((((o, &xi), &ti), &li), &mi) in it {
        *o = grad_entry(xi, ti, s, li, mi, factor);
    }
}
