//! Backward-pass kernels: the free-set mean of `g`, and the VJP
//! `out_i = (g_i − m)·s` on the free set `A = {0 < y_i < 1}`, 0 elsewhere.

use hypersimplex::internal::vjp_entry;
use hypersimplex::Real;

use crate::isa::Lanes;

/// `(|A|, Σ_{i∈A} g_i, every |y_i| ≤ MAX and |g_i| ≤ limit)` with `A = {0 < y_i < 1}`, over
/// `min(y.len(), g.len())` elements (`limit` is `hypersimplex::internal::validate::vjp_limit`).
///
/// # Safety
/// The CPU must support `L`'s instruction set; length `< 2^31`.
#[inline(always)]
pub(crate) unsafe fn free_mean<L: Lanes>(
    y: &[L::T],
    g: &[L::T],
    limit: L::T,
) -> (usize, f64, bool) {
    let (n, w) = (y.len().min(g.len()), L::W);
    let (p, q) = (y.as_ptr(), g.as_ptr());
    let mut i = 0;
    // SAFETY: the caller guarantees the instruction set; loads stay below `n`.
    let (mut count, vsum, vfin) = unsafe {
        let (zero, one, big, lim) = (
            L::splat(L::T::ZERO),
            L::splat(L::T::ONE),
            L::splat(L::T::MAX),
            L::splat(limit),
        );
        let (mut a0, mut a1, mut a2, mut a3) =
            (L::sum_zero(), L::sum_zero(), L::sum_zero(), L::sum_zero());
        let mut cf = L::count_zero();
        let mut fin = L::all_set();
        while i + 2 * w <= n {
            let (y0, y1) = (L::load(p.add(i)), L::load(p.add(i + w)));
            let (g0, g1) = (L::load(q.add(i)), L::load(q.add(i + w)));
            let ok0 = L::and(L::le(L::abs(y0), big), L::le(L::abs(g0), lim));
            let ok1 = L::and(L::le(L::abs(y1), big), L::le(L::abs(g1), lim));
            fin = L::and(fin, L::and(ok0, ok1));
            let f0 = L::and(L::gt(y0, zero), L::lt(y0, one));
            let f1 = L::and(L::gt(y1, zero), L::lt(y1, one));
            cf = L::count(L::count(cf, f0), f1);
            L::sum_add(&mut a0, &mut a1, L::masked(f0, g0));
            L::sum_add(&mut a2, &mut a3, L::masked(f1, g1));
            i += 2 * w;
        }
        let sum = (L::sum_total(a0) + L::sum_total(a1)) + (L::sum_total(a2) + L::sum_total(a3));
        (L::count_total(cf), sum, L::all(fin))
    };
    let (mut sum, mut fin) = (0.0f64, vfin);
    let (yt, gt) = (y.get(i..n).unwrap_or(&[]), g.get(i..n).unwrap_or(&[]));
    for (&yi, &gi) in yt.iter().zip(gt) {
        fin &= (yi.abs() <= L::T::MAX) & (gi.abs() <= limit);
        let f = (yi > L::T::ZERO) & (yi < L::T::ONE);
        count += f as usize;
        sum += gi.keep_if(f).to_f64();
    }
    (count, vsum + sum, fin)
}

/// `out_i = (g_i − m)·s` where `0 < y_i < 1`, else `+0` whatever `g_i` holds (as the core
/// crate's `vjp_entry`).
///
/// # Safety
/// The CPU must support `L`'s instruction set.
#[inline(always)]
pub(crate) unsafe fn vjp<L: Lanes>(y: &[L::T], g: &[L::T], mean: L::T, s: L::T, out: &mut [L::T]) {
    // SAFETY: forwarded from the caller.
    unsafe { vjp_pass::<L, false>(y, g, mean, s, out) }
}

/// [`vjp`] with streaming (non-temporal) stores for the vector-aligned part of `out` (see
/// `clip_stream`); bitwise the same values.
///
/// # Safety
/// The CPU must support `L`'s instruction set.
#[inline(always)]
pub(crate) unsafe fn vjp_stream<L: Lanes>(
    y: &[L::T],
    g: &[L::T],
    mean: L::T,
    s: L::T,
    out: &mut [L::T],
) {
    // SAFETY: forwarded from the caller.
    unsafe { vjp_pass::<L, true>(y, g, mean, s, out) }
}

/// The VJP of one element (the scalar formula of the vector loops).
#[inline(always)]
fn entry<T: Real>(yi: T, gi: T, mean: T, s: T) -> T {
    vjp_entry(yi, gi, mean, s)
}

/// The scalar VJP over the elements before and after the vector part.
#[inline(always)]
fn vjp_tail<T: Real>(y: &[T], g: &[T], mean: T, s: T, out: &mut [T]) {
    for ((o, &yi), &gi) in out.iter_mut().zip(y).zip(g) {
        *o = entry(yi, gi, mean, s);
    }
}

/// [`vjp`]: with `STREAM`, one vector per iteration from the first vector-aligned slot of
/// `out` with streaming stores; else two per iteration with plain stores.
#[inline(always)]
unsafe fn vjp_pass<L: Lanes, const STREAM: bool>(
    y: &[L::T],
    g: &[L::T],
    mean: L::T,
    s: L::T,
    out: &mut [L::T],
) {
    let (n, w) = (y.len().min(g.len()).min(out.len()), L::W);
    let head = if STREAM {
        out.as_ptr()
            .align_offset(w * core::mem::size_of::<L::T>())
            .min(n)
    } else {
        0
    };
    let (yh, gh) = (y.get(..head).unwrap_or(&[]), g.get(..head).unwrap_or(&[]));
    vjp_tail(yh, gh, mean, s, out.get_mut(..head).unwrap_or(&mut []));
    let (p, q, o) = (y.as_ptr(), g.as_ptr(), out.as_mut_ptr());
    let mut i = head;
    // SAFETY: the caller guarantees the instruction set; `i + w <= n` (or `i + 2w <= n`) keeps
    // every access inside the slices; with `STREAM`, `o + i` is vector-aligned from `head` on,
    // as the streaming store requires, and the fence orders the streaming stores.
    unsafe {
        let (zero, one) = (L::splat(L::T::ZERO), L::splat(L::T::ONE));
        let (vm, vs) = (L::splat(mean), L::splat(s));
        if STREAM {
            while i + w <= n {
                let (yv, gv) = (L::load(p.add(i)), L::load(q.add(i)));
                let f = L::and(L::gt(yv, zero), L::lt(yv, one));
                L::stream(o.add(i), L::masked(f, L::mul(L::sub(gv, vm), vs)));
                i += w;
            }
            L::stream_fence();
        } else {
            while i + 2 * w <= n {
                let (y0, y1) = (L::load(p.add(i)), L::load(p.add(i + w)));
                let (g0, g1) = (L::load(q.add(i)), L::load(q.add(i + w)));
                let f0 = L::and(L::gt(y0, zero), L::lt(y0, one));
                let f1 = L::and(L::gt(y1, zero), L::lt(y1, one));
                L::store(o.add(i), L::masked(f0, L::mul(L::sub(g0, vm), vs)));
                L::store(o.add(i + w), L::masked(f1, L::mul(L::sub(g1, vm), vs)));
                i += 2 * w;
            }
        }
    }
    let (yt, gt) = (y.get(i..n).unwrap_or(&[]), g.get(i..n).unwrap_or(&[]));
    vjp_tail(yt, gt, mean, s, out.get_mut(i..n).unwrap_or(&mut []));
}

/// In-place [`vjp`]: `g ← Jᵀ g`.
///
/// # Safety
/// The CPU must support `L`'s instruction set.
#[inline(always)]
pub(crate) unsafe fn vjp_in_place<L: Lanes>(y: &[L::T], g: &mut [L::T], mean: L::T, s: L::T) {
    let (n, w) = (y.len().min(g.len()), L::W);
    let (p, q) = (y.as_ptr(), g.as_mut_ptr());
    let mut i = 0;
    // SAFETY: the caller guarantees the instruction set; accesses stay below `n`.
    unsafe {
        let (zero, one) = (L::splat(L::T::ZERO), L::splat(L::T::ONE));
        let (vm, vs) = (L::splat(mean), L::splat(s));
        while i + 2 * w <= n {
            let (y0, y1) = (L::load(p.add(i)), L::load(p.add(i + w)));
            let (g0, g1) = (L::load(q.add(i)), L::load(q.add(i + w)));
            let f0 = L::and(L::gt(y0, zero), L::lt(y0, one));
            let f1 = L::and(L::gt(y1, zero), L::lt(y1, one));
            L::store(q.add(i), L::masked(f0, L::mul(L::sub(g0, vm), vs)));
            L::store(q.add(i + w), L::masked(f1, L::mul(L::sub(g1, vm), vs)));
            i += 2 * w;
        }
    }
    let yt = y.get(i..n).unwrap_or(&[]);
    for (gi, &yi) in g.get_mut(i..n).unwrap_or(&mut []).iter_mut().zip(yt) {
        *gi = entry(yi, *gi, mean, s);
    }
}
