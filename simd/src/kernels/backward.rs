//! Backward-pass kernels: the free-set mean of `g`, and the VJP
//! `out_i = (g_i − m)·s` on the free set `A = {0 < y_i < 1}`, 0 elsewhere.
//!
//! [`free_mean_io`], [`vjp_io`] and [`vjp_in_place_io`] are generic over the storage of the
//! data ([`Io`]): [`Plain`] for the element type itself (the `f32`/`f64` kernels, `free_mean`,
//! `vjp`, `vjp_in_place`), or a half type widened as it is loaded and rounded as it is stored
//! (`crate::half`'s AVX2 VJP, issue 15). The loops, and so the order of the `f64` sums, are
//! the same for every storage: the half VJP is the `f32` VJP of the widened data, each output
//! rounded once.

use hypersimplex::internal::vjp_entry;
use hypersimplex::Real;

use crate::isa::Lanes;

/// How the backward kernels read and write one storage type `S` in `L`'s vectors.
///
/// # Safety
/// For implementors: `load` reads exactly `L::W` elements at `p` and converts each as `wide`
/// does (exactly); `store2` writes exactly `2·L::W` elements at `p`, `v0`'s lanes then `v1`'s,
/// each converted as `narrow` does, except that a NaN lane may be stored as any value (the
/// backward kernels store none: their callers check the data first). Callers need `L`'s CPU features and those of the
/// implementation.
pub(crate) unsafe trait Io<L: Lanes> {
    /// The storage type.
    type S: Copy;
    /// `L::W` elements at `p` (unaligned), converted.
    unsafe fn load(p: *const Self::S) -> L::V;
    /// `v0` then `v1`, converted, at `p` (unaligned, `2·L::W` elements).
    unsafe fn store2(p: *mut Self::S, v0: L::V, v1: L::V);
    /// One element, converted to `L::T` (exactly).
    fn wide(v: Self::S) -> L::T;
    /// One value, converted to the storage type.
    fn narrow(v: L::T) -> Self::S;
}

/// [`Io`] of the element type itself: plain loads and stores.
pub(crate) struct Plain;

// SAFETY: plain unaligned loads and stores of `W` (two stores: `2W`) elements, no conversion.
unsafe impl<L: Lanes> Io<L> for Plain {
    type S = L::T;
    #[inline(always)]
    unsafe fn load(p: *const L::T) -> L::V {
        // SAFETY: forwarded from the caller.
        unsafe { L::load(p) }
    }
    #[inline(always)]
    unsafe fn store2(p: *mut L::T, v0: L::V, v1: L::V) {
        // SAFETY: forwarded from the caller (`2W` writable elements).
        unsafe {
            L::store(p, v0);
            L::store(p.add(L::W), v1);
        }
    }
    #[inline(always)]
    fn wide(v: L::T) -> L::T {
        v
    }
    #[inline(always)]
    fn narrow(v: L::T) -> L::T {
        v
    }
}

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
    // SAFETY: forwarded from the caller.
    unsafe { free_mean_io::<L, Plain>(y, g, limit) }
}

/// [`free_mean`] of data stored as `I::S`, each element widened by `I` (the same loops, so
/// the same sums as [`free_mean`] of the widened data).
///
/// # Safety
/// The CPU must support `L`'s instruction set and `I`'s features; length `< 2^31`.
#[inline(always)]
pub(crate) unsafe fn free_mean_io<L: Lanes, I: Io<L>>(
    y: &[I::S],
    g: &[I::S],
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
            let (y0, y1) = (I::load(p.add(i)), I::load(p.add(i + w)));
            let (g0, g1) = (I::load(q.add(i)), I::load(q.add(i + w)));
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
        let (yi, gi) = (I::wide(yi), I::wide(gi));
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
    unsafe { vjp_io::<L, Plain>(y, g, mean, s, out) }
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
    let (n, w) = (y.len().min(g.len()).min(out.len()), L::W);
    let head = out
        .as_ptr()
        .align_offset(w * core::mem::size_of::<L::T>())
        .min(n);
    let (yh, gh) = (y.get(..head).unwrap_or(&[]), g.get(..head).unwrap_or(&[]));
    vjp_tail::<L, Plain>(yh, gh, mean, s, out.get_mut(..head).unwrap_or(&mut []));
    let (p, q, o) = (y.as_ptr(), g.as_ptr(), out.as_mut_ptr());
    let mut i = head;
    // SAFETY: the caller guarantees the instruction set; `i + w <= n` keeps every access
    // inside the slices; `o + i` is vector-aligned from `head` on, as the streaming store
    // requires, and the fence orders the streaming stores.
    unsafe {
        let (zero, one) = (L::splat(L::T::ZERO), L::splat(L::T::ONE));
        let (vm, vs) = (L::splat(mean), L::splat(s));
        while i + w <= n {
            let (yv, gv) = (L::load(p.add(i)), L::load(q.add(i)));
            let f = L::and(L::gt(yv, zero), L::lt(yv, one));
            L::stream(o.add(i), L::masked(f, L::mul(L::sub(gv, vm), vs)));
            i += w;
        }
        L::stream_fence();
    }
    let (yt, gt) = (y.get(i..n).unwrap_or(&[]), g.get(i..n).unwrap_or(&[]));
    vjp_tail::<L, Plain>(yt, gt, mean, s, out.get_mut(i..n).unwrap_or(&mut []));
}

/// The VJP of one element (the scalar formula of the vector loops).
#[inline(always)]
fn entry<T: Real>(yi: T, gi: T, mean: T, s: T) -> T {
    vjp_entry(yi, gi, mean, s)
}

/// The scalar VJP over the elements before and after the vector part (widened and narrowed
/// by `I`).
#[inline(always)]
fn vjp_tail<L: Lanes, I: Io<L>>(y: &[I::S], g: &[I::S], mean: L::T, s: L::T, out: &mut [I::S]) {
    for ((o, &yi), &gi) in out.iter_mut().zip(y).zip(g) {
        *o = I::narrow(entry(I::wide(yi), I::wide(gi), mean, s));
    }
}

/// [`vjp`] of data stored as `I::S`: each element widened by `I`, the `L::T` VJP, each
/// output narrowed by `I`; two vectors per iteration.
///
/// # Safety
/// The CPU must support `L`'s instruction set and `I`'s features.
#[inline(always)]
pub(crate) unsafe fn vjp_io<L: Lanes, I: Io<L>>(
    y: &[I::S],
    g: &[I::S],
    mean: L::T,
    s: L::T,
    out: &mut [I::S],
) {
    let n = y.len().min(g.len()).min(out.len());
    // SAFETY: the caller guarantees the instruction sets; three slices of at least `n`.
    let i = unsafe { vjp_vectors::<L, I>(y.as_ptr(), g.as_ptr(), out.as_mut_ptr(), n, mean, s) };
    let (yt, gt) = (y.get(i..n).unwrap_or(&[]), g.get(i..n).unwrap_or(&[]));
    vjp_tail::<L, I>(yt, gt, mean, s, out.get_mut(i..n).unwrap_or(&mut []));
}

/// The vector part of the VJP: `o[i] = (q[i] − m)·s` where `0 < p[i] < 1`, else `+0`, two
/// vectors per iteration while they fit in `n`; returns where the scalar tail starts. `o` may
/// be `q` (in place: each pair is loaded before it is stored).
///
/// # Safety
/// The CPU must support `L`'s instruction set and `I`'s features; `p`, `q` readable and `o`
/// writable for `n` elements, `o` either `q` or disjoint from `p` and `q`.
#[inline(always)]
unsafe fn vjp_vectors<L: Lanes, I: Io<L>>(
    p: *const I::S,
    q: *const I::S,
    o: *mut I::S,
    n: usize,
    mean: L::T,
    s: L::T,
) -> usize {
    let (w, mut i) = (L::W, 0);
    // SAFETY: the caller guarantees the instruction sets and the buffers; `i + 2w <= n`
    // keeps every access inside them.
    unsafe {
        let (zero, one) = (L::splat(L::T::ZERO), L::splat(L::T::ONE));
        let (vm, vs) = (L::splat(mean), L::splat(s));
        while i + 2 * w <= n {
            let (y0, y1) = (I::load(p.add(i)), I::load(p.add(i + w)));
            let (g0, g1) = (I::load(q.add(i)), I::load(q.add(i + w)));
            let f0 = L::and(L::gt(y0, zero), L::lt(y0, one));
            let f1 = L::and(L::gt(y1, zero), L::lt(y1, one));
            let o0 = L::masked(f0, L::mul(L::sub(g0, vm), vs));
            let o1 = L::masked(f1, L::mul(L::sub(g1, vm), vs));
            I::store2(o.add(i), o0, o1);
            i += 2 * w;
        }
    }
    i
}

/// In-place [`vjp`]: `g ← Jᵀ g`.
///
/// # Safety
/// The CPU must support `L`'s instruction set.
#[inline(always)]
pub(crate) unsafe fn vjp_in_place<L: Lanes>(y: &[L::T], g: &mut [L::T], mean: L::T, s: L::T) {
    // SAFETY: forwarded from the caller.
    unsafe { vjp_in_place_io::<L, Plain>(y, g, mean, s) }
}

/// [`vjp_in_place`] of data stored as `I::S` (see [`vjp_io`]).
///
/// # Safety
/// The CPU must support `L`'s instruction set and `I`'s features.
#[inline(always)]
pub(crate) unsafe fn vjp_in_place_io<L: Lanes, I: Io<L>>(
    y: &[I::S],
    g: &mut [I::S],
    mean: L::T,
    s: L::T,
) {
    let n = y.len().min(g.len());
    let q = g.as_mut_ptr();
    // SAFETY: the caller guarantees the instruction sets; `y` and `g` hold at least `n`
    // elements; `g` is read and written through the one pointer `q` (in place).
    let i = unsafe { vjp_vectors::<L, I>(y.as_ptr(), q, q, n, mean, s) };
    let yt = y.get(i..n).unwrap_or(&[]);
    for (gi, &yi) in g.get_mut(i..n).unwrap_or(&mut []).iter_mut().zip(yt) {
        *gi = I::narrow(entry(I::wide(yi), I::wide(*gi), mean, s));
    }
}
