//! Forward-pass kernels: the statistics of `z = x·s`, the piece at a trial λ (the solver's
//! pass, optionally fused with the write of `y`), finiteness, and the clips that write `y`.

use hypersimplex::internal::kernel::{Piece, Stats};
use hypersimplex::Real;

use super::{Tail, FX_FLUSH};
use crate::isa::{FreeSum, Lanes};

/// Σz, min z, max z and finiteness of `z = x·s`.
///
/// # Safety
/// The CPU must support `L`'s instruction set; `x.len() < 2^31`.
#[inline(always)]
pub(crate) unsafe fn stats<L: Lanes>(x: &[L::T], s: L::T) -> Stats<L::T> {
    let (n, w) = (x.len(), L::W);
    let p = x.as_ptr();
    let mut i = 0;
    // SAFETY: the caller guarantees the instruction set; every load reads
    // `p.add(i)..p.add(i + 2w)` with `i + 2w <= n`, inside `x`.
    let (vsum, vmn, vmx, vfin) = unsafe {
        let vs = L::splat(s);
        let big = L::splat(L::T::MAX);
        let (mut a0, mut a1, mut a2, mut a3) =
            (L::sum_zero(), L::sum_zero(), L::sum_zero(), L::sum_zero());
        let mut mn = L::splat(L::T::MAX);
        let mut mx = L::splat(L::T::LOWEST);
        let mut fin = L::all_set();
        while i + 2 * w <= n {
            let z0 = L::mul(L::load(p.add(i)), vs);
            let z1 = L::mul(L::load(p.add(i + w)), vs);
            if !L::SUM_FLAGS_NONFINITE {
                let ok = L::and(L::le(L::abs(z0), big), L::le(L::abs(z1), big));
                fin = L::and(fin, ok);
            }
            mn = L::min(mn, L::min(z0, z1));
            mx = L::max(mx, L::max(z0, z1));
            L::sum_add(&mut a0, &mut a1, z0);
            L::sum_add(&mut a2, &mut a3, z1);
            i += 2 * w;
        }
        let sum = (L::sum_total(a0) + L::sum_total(a1)) + (L::sum_total(a2) + L::sum_total(a3));
        let fin = if L::SUM_FLAGS_NONFINITE {
            sum.is_finite()
        } else {
            L::all(fin)
        };
        (sum, L::reduce_min(mn), L::reduce_max(mx), fin)
    };
    let (mut sum, mut mn, mut mx, mut fin) = (0.0f64, vmn, vmx, vfin);
    for &v in x.get(i..).unwrap_or(&[]) {
        let z = v * s;
        fin &= z.abs() <= L::T::MAX;
        mn = if z < mn { z } else { mn };
        mx = if z > mx { z } else { mx };
        sum += z.to_f64();
    }
    Stats {
        sum: vsum + sum,
        min: mn,
        max: mx,
        finite: fin,
    }
}

/// The piece at λ: `|F|`, `|U|`, `Σ_F d_i` with `d_i = fl(fl(x_i·s) − λ)`.
///
/// # Safety
/// As [`stats`].
#[inline(always)]
pub(crate) unsafe fn piece<L: Lanes>(x: &[L::T], s: L::T, lam: L::T) -> Piece {
    // SAFETY: forwarded from the caller.
    unsafe { piece_pass::<L, _>(x, s, lam, NoSink) }
}

/// [`piece`] at λ, also writing `y_i = clip(d_i, 0, 1)` (the final write of the forward pass,
/// fused with the pass that may turn out to be the last one), over `min(x.len(), y.len())`.
///
/// # Safety
/// As [`stats`].
#[inline(always)]
pub(crate) unsafe fn piece_write<L: Lanes>(
    x: &[L::T],
    s: L::T,
    lam: L::T,
    y: &mut [L::T],
) -> Piece {
    // SAFETY: forwarded from the caller.
    unsafe { piece_pass::<L, _>(x, s, lam, Plain(y)) }
}

/// Where a piece pass writes `y_i = clip(d_i, 0, 1)`: nowhere ([`NoSink`]), into a slice of
/// the lane type ([`Plain`]), or into a 16-bit storage type (the half forward, `half::x86`).
///
/// # Safety
/// For implementors: `put2` writes only the `2·L::W` elements at `i..`, and only for
/// `i + 2·L::W ≤ len()`; `put_tail` writes only the elements at `i..i + v.len()` that exist.
pub(crate) unsafe trait Sink<L: Lanes> {
    /// `false` for a pass that writes nothing (the loop then stores nothing).
    const WRITE: bool;
    /// Elements that may be written.
    fn len(&self) -> usize;
    /// Writes `clip01(d0)` and `clip01(d1)` at `i` and `i + L::W`.
    ///
    /// # Safety
    /// `i + 2·L::W ≤ len()`; the CPU supports `L`'s instruction set (and the sink's).
    unsafe fn put2(&mut self, i: usize, d0: L::V, d1: L::V);
    /// Writes `clip(fl(fl(v_j·s) − λ), 0, 1)` at `i + j` for the scalar remainder `v`.
    fn put_tail(&mut self, i: usize, v: &[L::T], s: L::T, lam: L::T);
}

/// A pass that writes nothing.
pub(crate) struct NoSink;

// SAFETY: writes nothing.
unsafe impl<L: Lanes> Sink<L> for NoSink {
    const WRITE: bool = false;
    #[inline(always)]
    fn len(&self) -> usize {
        usize::MAX
    }
    #[inline(always)]
    unsafe fn put2(&mut self, _: usize, _: L::V, _: L::V) {}
    #[inline(always)]
    fn put_tail(&mut self, _: usize, _: &[L::T], _: L::T, _: L::T) {}
}

/// A pass that writes into a slice of the lane type.
pub(crate) struct Plain<'a, T>(pub(crate) &'a mut [T]);

// SAFETY: `put2` stores two vectors inside the slice (`i + 2w ≤ len`, the caller's promise);
// `put_tail` goes through checked slice accesses.
unsafe impl<L: Lanes> Sink<L> for Plain<'_, L::T> {
    const WRITE: bool = true;
    #[inline(always)]
    fn len(&self) -> usize {
        self.0.len()
    }
    #[inline(always)]
    unsafe fn put2(&mut self, i: usize, d0: L::V, d1: L::V) {
        let q = self.0.as_mut_ptr();
        // SAFETY: `i + 2w ≤ len` (the caller's promise) and the instruction set.
        unsafe {
            L::store(q.add(i), L::clip01(d0));
            L::store(q.add(i + L::W), L::clip01(d1));
        }
    }
    #[inline(always)]
    fn put_tail(&mut self, i: usize, v: &[L::T], s: L::T, lam: L::T) {
        clip_tail(v, s, lam, self.0.get_mut(i..).unwrap_or(&mut []));
    }
}

/// [`piece`], writing into `out` (see [`Sink`]) over `min(x.len(), out.len())` elements.
///
/// # Safety
/// As [`stats`], and the CPU must support the sink's instructions.
#[inline(always)]
pub(crate) unsafe fn piece_pass<L: Lanes, O: Sink<L>>(
    x: &[L::T],
    s: L::T,
    lam: L::T,
    mut out: O,
) -> Piece {
    let (n, w) = (x.len().min(out.len()), L::W);
    let p = x.as_ptr();
    let mut i = 0;
    // SAFETY: the caller guarantees the instruction set; `i + 2w <= n` keeps every load inside
    // `x` and (where `O` writes, `n <= out.len()`) every store inside `out`.
    let (mut free, mut upper, vsum) = unsafe {
        let (vs, vl) = (L::splat(s), L::splat(lam));
        let (zero, one) = (L::splat(L::T::ZERO), L::splat(L::T::ONE));
        let (mut cf, mut cu) = (L::count_zero(), L::count_zero());
        let mut fs = L::FreeSum::new();
        while i + 2 * w <= n {
            let end = n.min(i + FX_FLUSH * 2 * w);
            while i + 2 * w <= end {
                let d0 = L::sub(L::mul(L::load(p.add(i)), vs), vl);
                let d1 = L::sub(L::mul(L::load(p.add(i + w)), vs), vl);
                if O::WRITE {
                    out.put2(i, d0, d1);
                }
                let (p0, p1) = (L::gt(d0, zero), L::gt(d1, zero));
                let f0 = L::and(p0, L::lt(d0, one));
                let f1 = L::and(p1, L::lt(d1, one));
                cf = L::count(L::count(cf, f0), f1);
                // |U| = |{d > 0}| − |F| (d ≥ 1 iff d > 0 and not d < 1; NaN in neither)
                cu = L::count(L::count(cu, p0), p1);
                fs.add_two(f0, d0, f1, d1);
                i += 2 * w;
            }
            fs.flush();
        }
        let free = L::count_total(cf);
        (free, L::count_total(cu) - free, fs.total())
    };
    let xt = x.get(i..n).unwrap_or(&[]);
    if O::WRITE {
        out.put_tail(i, xt, s, lam);
    }
    let mut tail = Tail::new();
    for &v in xt {
        let d = v * s - lam;
        let f = (d > L::T::ZERO) & (d < L::T::ONE);
        free += f as usize;
        upper += (d >= L::T::ONE) as usize;
        tail.add(d, f);
    }
    Piece {
        free,
        upper,
        sum_free: vsum + tail.value::<L::T>(),
    }
}

/// [`piece`] and [`stats`] in one pass, except for `Stats::sum` (NaN): the solver runs this
/// pass only from a start point, and then does not use Σz. Finiteness: NaN fails `z ≤ z`, ±∞
/// shows in min/max.
///
/// # Safety
/// As [`stats`].
#[inline(always)]
pub(crate) unsafe fn piece_stats<L: Lanes>(x: &[L::T], s: L::T, lam: L::T) -> (Piece, Stats<L::T>) {
    // SAFETY: forwarded from the caller.
    unsafe { piece_stats_from::<L, _>(Slice(x), s, lam) }
}

/// What a pass reads: a slice of the lane type ([`Slice`]), or a 16-bit storage type widened
/// as it is read (the half forward's first pass, which also keeps the widened copy,
/// `half::x86`).
///
/// # Safety
/// For implementors: `load` reads (and may copy) only the `L::W` elements at `i..`, and only
/// for `i + L::W ≤ len()`; `get` returns element `i` for `i < len()`, exactly as `load` would.
pub(crate) unsafe trait Source<L: Lanes> {
    /// Elements.
    fn len(&self) -> usize;
    /// The vector at `i`.
    ///
    /// # Safety
    /// `i + L::W ≤ len()`; the CPU supports `L`'s instruction set (and the source's).
    unsafe fn load(&mut self, i: usize) -> L::V;
    /// The element at `i < len()` (the scalar remainder).
    fn get(&mut self, i: usize) -> L::T;
}

/// A slice read as it is.
pub(crate) struct Slice<'a, T>(pub(crate) &'a [T]);

// SAFETY: `load` reads `L::W` elements inside the slice (`i + w ≤ len`, the caller's promise);
// `get` is a checked access.
unsafe impl<L: Lanes> Source<L> for Slice<'_, L::T> {
    #[inline(always)]
    fn len(&self) -> usize {
        self.0.len()
    }
    #[inline(always)]
    unsafe fn load(&mut self, i: usize) -> L::V {
        // SAFETY: `i + w ≤ len` and the instruction set (the caller's promise).
        unsafe { L::load(self.0.as_ptr().add(i)) }
    }
    #[inline(always)]
    fn get(&mut self, i: usize) -> L::T {
        self.0.get(i).copied().unwrap_or(L::T::ZERO)
    }
}

/// [`piece_stats`] over any [`Source`].
///
/// # Safety
/// As [`stats`], and the CPU must support the source's instructions.
#[inline(always)]
pub(crate) unsafe fn piece_stats_from<L: Lanes, S: Source<L>>(
    mut x: S,
    s: L::T,
    lam: L::T,
) -> (Piece, Stats<L::T>) {
    let (n, w) = (x.len(), L::W);
    let mut i = 0;
    // SAFETY: as in `stats` (`i + 2w ≤ n` for every load).
    let (mut free, mut upper, psum, vmn, vmx, vfin) = unsafe {
        let (vs, vl) = (L::splat(s), L::splat(lam));
        let (zero, one) = (L::splat(L::T::ZERO), L::splat(L::T::ONE));
        let (mut cf, mut cu) = (L::count_zero(), L::count_zero());
        let mut fs = L::FreeSum::new();
        let mut mn = L::splat(L::T::MAX);
        let mut mx = L::splat(L::T::LOWEST);
        let mut fin = L::all_set();
        while i + 2 * w <= n {
            let end = n.min(i + FX_FLUSH * 2 * w);
            while i + 2 * w <= end {
                let z0 = L::mul(x.load(i), vs);
                let z1 = L::mul(x.load(i + w), vs);
                fin = L::and(fin, L::and(L::le(z0, z0), L::le(z1, z1)));
                mn = L::min(mn, L::min(z0, z1));
                mx = L::max(mx, L::max(z0, z1));
                let d0 = L::sub(z0, vl);
                let d1 = L::sub(z1, vl);
                let f0 = L::and(L::gt(d0, zero), L::lt(d0, one));
                let f1 = L::and(L::gt(d1, zero), L::lt(d1, one));
                cf = L::count(L::count(cf, f0), f1);
                cu = L::count(L::count(cu, L::ge(d0, one)), L::ge(d1, one));
                fs.add_two_joint(f0, d0, f1, d1);
                i += 2 * w;
            }
            fs.flush();
        }
        let (mn, mx) = (L::reduce_min(mn), L::reduce_max(mx));
        (
            L::count_total(cf),
            L::count_total(cu),
            fs.total(),
            mn,
            mx,
            L::all(fin),
        )
    };
    let (mut tail, mut mn, mut mx, mut fin) = (Tail::new(), vmn, vmx, vfin);
    for j in i..n {
        let z = x.get(j) * s;
        fin &= z.abs() <= L::T::MAX;
        mn = if z < mn { z } else { mn };
        mx = if z > mx { z } else { mx };
        let d = z - lam;
        let f = (d > L::T::ZERO) & (d < L::T::ONE);
        free += f as usize;
        upper += (d >= L::T::ONE) as usize;
        tail.add(d, f);
    }
    let finite = fin & mn.is_finite() & mx.is_finite();
    (
        Piece {
            free,
            upper,
            sum_free: psum + tail.value::<L::T>(),
        },
        Stats {
            sum: f64::NAN,
            min: mn,
            max: mx,
            finite,
        },
    )
}

/// `true` when every `fl(x_i·s)` is finite.
///
/// # Safety
/// The CPU must support `L`'s instruction set.
#[inline(always)]
pub(crate) unsafe fn all_finite<L: Lanes>(x: &[L::T], s: L::T) -> bool {
    let (n, w) = (x.len(), L::W);
    let p = x.as_ptr();
    let mut i = 0;
    // SAFETY: as in `stats`.
    let vfin = unsafe {
        let (vs, big) = (L::splat(s), L::splat(L::T::MAX));
        let mut fin = L::all_set();
        while i + 2 * w <= n {
            let z0 = L::mul(L::load(p.add(i)), vs);
            let z1 = L::mul(L::load(p.add(i + w)), vs);
            fin = L::and(fin, L::and(L::le(L::abs(z0), big), L::le(L::abs(z1), big)));
            i += 2 * w;
        }
        L::all(fin)
    };
    x.get(i..)
        .unwrap_or(&[])
        .iter()
        .fold(vfin, |ok, &v| ok & ((v * s).abs() <= L::T::MAX))
}

/// `y_i = clip(fl(x_i·s) − λ, 0, 1)` for `i < min(x.len(), y.len())`.
///
/// # Safety
/// The CPU must support `L`'s instruction set.
#[inline(always)]
pub(crate) unsafe fn clip<L: Lanes>(x: &[L::T], s: L::T, lam: L::T, y: &mut [L::T]) {
    let (n, w) = (x.len().min(y.len()), L::W);
    let (p, q) = (x.as_ptr(), y.as_mut_ptr());
    let mut i = 0;
    // SAFETY: the caller guarantees the instruction set; `i + 2w <= n` keeps every load inside
    // `x` and every store inside `y` (distinct borrows, no overlap).
    unsafe {
        let (vs, vl) = (L::splat(s), L::splat(lam));
        while i + 2 * w <= n {
            let y0 = L::clip01(L::sub(L::mul(L::load(p.add(i)), vs), vl));
            let y1 = L::clip01(L::sub(L::mul(L::load(p.add(i + w)), vs), vl));
            L::store(q.add(i), y0);
            L::store(q.add(i + w), y1);
            i += 2 * w;
        }
    }
    clip_tail(
        x.get(i..n).unwrap_or(&[]),
        s,
        lam,
        y.get_mut(i..n).unwrap_or(&mut []),
    );
}

/// [`clip`] with non-temporal (streaming) stores for the vector-aligned part of `y`, for
/// outputs much larger than the caches: the stores then skip the read of `y`'s cache lines
/// that a plain store costs. The values are [`clip`]'s, bit for bit.
///
/// # Safety
/// The CPU must support `L`'s instruction set.
#[inline(always)]
pub(crate) unsafe fn clip_stream<L: Lanes>(x: &[L::T], s: L::T, lam: L::T, y: &mut [L::T]) {
    let (n, w) = (x.len().min(y.len()), L::W);
    // Elements before the first slot of `y` aligned for a vector store.
    let head = y
        .as_ptr()
        .align_offset(w * core::mem::size_of::<L::T>())
        .min(n);
    clip_tail(
        x.get(..head).unwrap_or(&[]),
        s,
        lam,
        y.get_mut(..head).unwrap_or(&mut []),
    );
    let (p, q) = (x.as_ptr(), y.as_mut_ptr());
    let mut i = head;
    // SAFETY: the caller guarantees the instruction set; `i + w <= n` keeps every load inside
    // `x` and every store inside `y` (distinct borrows), and `q + i` is aligned to the vector
    // size from `head` on (`i − head` is a multiple of `w`), as the streaming store requires.
    // The fence orders the streaming stores before any later store or load.
    unsafe {
        let (vs, vl) = (L::splat(s), L::splat(lam));
        while i + w <= n {
            L::stream(
                q.add(i),
                L::clip01(L::sub(L::mul(L::load(p.add(i)), vs), vl)),
            );
            i += w;
        }
        L::stream_fence();
    }
    clip_tail(
        x.get(i..n).unwrap_or(&[]),
        s,
        lam,
        y.get_mut(i..n).unwrap_or(&mut []),
    );
}

/// The scalar clip of the elements before and after the vector part.
#[inline(always)]
fn clip_tail<T: Real>(x: &[T], s: T, lam: T, y: &mut [T]) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o = (v * s - lam).clip01();
    }
}

/// In-place [`clip`].
///
/// # Safety
/// The CPU must support `L`'s instruction set.
#[inline(always)]
pub(crate) unsafe fn clip_in_place<L: Lanes>(x: &mut [L::T], s: L::T, lam: L::T) {
    let (n, w) = (x.len(), L::W);
    let p = x.as_mut_ptr();
    let mut i = 0;
    // SAFETY: the caller guarantees the instruction set; `i + 2w <= n` keeps every access
    // inside `x`, and each vector is read before it is written.
    unsafe {
        let (vs, vl) = (L::splat(s), L::splat(lam));
        while i + 2 * w <= n {
            let y0 = L::clip01(L::sub(L::mul(L::load(p.add(i)), vs), vl));
            let y1 = L::clip01(L::sub(L::mul(L::load(p.add(i + w)), vs), vl));
            L::store(p.add(i), y0);
            L::store(p.add(i + w), y1);
            i += 2 * w;
        }
    }
    for v in x.get_mut(i..).unwrap_or(&mut []) {
        *v = (*v * s - lam).clip01();
    }
}
