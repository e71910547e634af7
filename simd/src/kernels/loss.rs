//! Loss kernels: the residual `r = clip(d) − t` at λ (sums for the loss and the free-set mean),
//! the gradient `((clip(d) − t) − m)·factor` on the free set, and the blocked transpose that
//! turns the multiclass logits into class columns.

use hypersimplex::internal::{grad_entry, Residual};
use hypersimplex::Real;

use crate::isa::Lanes;

/// Per-element values a kernel reads: a slice, or one value for every element.
trait Operand<L: Lanes> {
    /// `W` values from element `i` on (`i + W` within the kernel's length).
    unsafe fn vector(&self, i: usize) -> L::V;
    /// The value of element `i` (`i` within the kernel's length).
    fn scalar(&self, i: usize) -> L::T;
    /// Elements available.
    fn len(&self) -> usize;
}

/// The same value everywhere.
struct Splat<L: Lanes>(L::T, L::V);

impl<L: Lanes> Operand<L> for Splat<L> {
    #[inline(always)]
    unsafe fn vector(&self, _: usize) -> L::V {
        self.1
    }
    #[inline(always)]
    fn scalar(&self, _: usize) -> L::T {
        self.0
    }
    #[inline(always)]
    fn len(&self) -> usize {
        usize::MAX
    }
}

/// One value per element.
struct Dense<'a, T>(&'a [T]);

impl<L: Lanes> Operand<L> for Dense<'_, L::T> {
    #[inline(always)]
    unsafe fn vector(&self, i: usize) -> L::V {
        // SAFETY: the caller keeps `i + W` within the length, and has the instruction set.
        unsafe { L::load(self.0.as_ptr().add(i)) }
    }
    #[inline(always)]
    fn scalar(&self, i: usize) -> L::T {
        self.0.get(i).copied().unwrap_or(L::T::ZERO)
    }
    #[inline(always)]
    fn len(&self) -> usize {
        self.0.len()
    }
}

/// The one-hot targets of `class`: 1 where `labels[i] == class`, else 0.
struct OneHot<'a> {
    labels: &'a [u32],
    class: u32,
}

impl<L: Lanes> Operand<L> for OneHot<'_> {
    #[inline(always)]
    unsafe fn vector(&self, i: usize) -> L::V {
        // SAFETY: the caller keeps `i + W` within the length, and has the instruction set.
        unsafe {
            let m = L::label_mask(self.labels.as_ptr().add(i), self.class);
            L::masked(m, L::splat(L::T::ONE))
        }
    }
    #[inline(always)]
    fn scalar(&self, i: usize) -> L::T {
        L::T::ONE.keep_if(self.labels.get(i) == Some(&self.class))
    }
    #[inline(always)]
    fn len(&self) -> usize {
        self.labels.len()
    }
}

/// The loss residual at λ: `Σ r_i²`, `|A|`, `Σ_A r_i` with `r_i = clip(d_i) − t_i`.
///
/// # Safety
/// The CPU must support `L`'s instruction set; length `< 2^31`.
#[inline(always)]
pub(crate) unsafe fn residual<L: Lanes>(x: &[L::T], t: &[L::T], s: L::T, lam: L::T) -> Residual {
    // SAFETY: forwarded from the caller.
    unsafe { residual_of::<L, _>(x, &Dense(t), s, lam) }
}

/// [`residual`] against the one-hot targets of `class`: `t_i = 1` where `labels[i] == class`,
/// else 0.
///
/// # Safety
/// As [`residual`].
#[inline(always)]
pub(crate) unsafe fn residual_labels<L: Lanes>(
    x: &[L::T],
    labels: &[u32],
    class: u32,
    s: L::T,
    lam: L::T,
) -> Residual {
    // SAFETY: forwarded from the caller.
    unsafe { residual_of::<L, _>(x, &OneHot { labels, class }, s, lam) }
}

#[inline(always)]
unsafe fn residual_of<L: Lanes, O: Operand<L>>(x: &[L::T], t: &O, s: L::T, lam: L::T) -> Residual {
    let (n, w) = (x.len().min(t.len()), L::W);
    let p = x.as_ptr();
    let mut i = 0;
    // SAFETY: the caller guarantees the instruction set; loads stay below `n`.
    let (mut free, vsq, vsum) = unsafe {
        let (vs, vl) = (L::splat(s), L::splat(lam));
        let (zero, one) = (L::splat(L::T::ZERO), L::splat(L::T::ONE));
        let (mut q0, mut q1, mut a0, mut a1) =
            (L::sum_zero(), L::sum_zero(), L::sum_zero(), L::sum_zero());
        let mut cf = L::count_zero();
        while i + 2 * w <= n {
            let d0 = L::sub(L::mul(L::load(p.add(i)), vs), vl);
            let d1 = L::sub(L::mul(L::load(p.add(i + w)), vs), vl);
            let r0 = L::sub(L::clip01(d0), t.vector(i));
            let r1 = L::sub(L::clip01(d1), t.vector(i + w));
            L::sum_add(&mut q0, &mut q1, L::mul(r0, r0));
            L::sum_add(&mut q0, &mut q1, L::mul(r1, r1));
            let f0 = L::and(L::gt(d0, zero), L::lt(d0, one));
            let f1 = L::and(L::gt(d1, zero), L::lt(d1, one));
            cf = L::count(L::count(cf, f0), f1);
            L::sum_add(&mut a0, &mut a1, L::masked(f0, r0));
            L::sum_add(&mut a0, &mut a1, L::masked(f1, r1));
            i += 2 * w;
        }
        let sq = L::sum_total(q0) + L::sum_total(q1);
        (L::count_total(cf), sq, L::sum_total(a0) + L::sum_total(a1))
    };
    let (mut sq, mut sum) = (0.0f64, 0.0f64);
    for (j, &xj) in x.get(i..n).unwrap_or(&[]).iter().enumerate() {
        let d = xj * s - lam;
        let r = d.clip01() - t.scalar(i + j);
        let f = (d > L::T::ZERO) & (d < L::T::ONE);
        sq += (r * r).to_f64();
        free += f as usize;
        sum += r.keep_if(f).to_f64();
    }
    Residual {
        sq: vsq + sq,
        free,
        sum_free: vsum + sum,
    }
}

/// `out_i = ((clip(d_i) − t_i) − m)·factor` where `0 < d_i < 1`, else that times 0
/// (`hypersimplex::internal::grad_entry`, including the sign of its zeros).
///
/// # Safety
/// The CPU must support `L`'s instruction set.
#[inline(always)]
pub(crate) unsafe fn grad<L: Lanes>(
    x: &[L::T],
    t: &[L::T],
    s: L::T,
    lam: L::T,
    mean: L::T,
    factor: L::T,
    out: &mut [L::T],
) {
    // SAFETY: forwarded from the caller (the splats need the instruction set).
    unsafe {
        let (l, m) = (
            Splat::<L>(lam, L::splat(lam)),
            Splat::<L>(mean, L::splat(mean)),
        );
        grad_of::<L, _>(x, t, &l, &m, s, factor, out)
    }
}

/// [`grad`] with a λ and a mean per element:
/// `out_i = hypersimplex::internal::grad_entry(x_i, t_i, s, λ_i, m_i, factor)`.
///
/// # Safety
/// The CPU must support `L`'s instruction set.
#[inline(always)]
pub(crate) unsafe fn grad_pattern<L: Lanes>(
    x: &[L::T],
    t: &[L::T],
    lam: &[L::T],
    mean: &[L::T],
    s: L::T,
    factor: L::T,
    out: &mut [L::T],
) {
    // SAFETY: forwarded from the caller.
    unsafe { grad_of::<L, _>(x, t, &Dense(lam), &Dense(mean), s, factor, out) }
}

#[inline(always)]
unsafe fn grad_of<L: Lanes, O: Operand<L>>(
    x: &[L::T],
    t: &[L::T],
    lam: &O,
    mean: &O,
    s: L::T,
    factor: L::T,
    out: &mut [L::T],
) {
    let n = x
        .len()
        .min(t.len())
        .min(lam.len())
        .min(mean.len())
        .min(out.len());
    let w = L::W;
    let (p, q, o) = (x.as_ptr(), t.as_ptr(), out.as_mut_ptr());
    let mut i = 0;
    // SAFETY: the caller guarantees the instruction set; accesses stay below `n`.
    unsafe {
        let (vs, vf) = (L::splat(s), L::splat(factor));
        let (zero, one) = (L::splat(L::T::ZERO), L::splat(L::T::ONE));
        while i + 2 * w <= n {
            let d0 = L::sub(L::mul(L::load(p.add(i)), vs), lam.vector(i));
            let d1 = L::sub(L::mul(L::load(p.add(i + w)), vs), lam.vector(i + w));
            let f0 = L::and(L::gt(d0, zero), L::lt(d0, one));
            let f1 = L::and(L::gt(d1, zero), L::lt(d1, one));
            let r0 = L::sub(L::clip01(d0), L::load(q.add(i)));
            let r1 = L::sub(L::clip01(d1), L::load(q.add(i + w)));
            let g0 = L::mul(L::sub(r0, mean.vector(i)), vf);
            let g1 = L::mul(L::sub(r1, mean.vector(i + w)), vf);
            L::store(o.add(i), L::mul(g0, L::masked(f0, one)));
            L::store(o.add(i + w), L::mul(g1, L::masked(f1, one)));
            i += 2 * w;
        }
    }
    let (xt, tt) = (x.get(i..n).unwrap_or(&[]), t.get(i..n).unwrap_or(&[]));
    let ot = out.get_mut(i..n).unwrap_or(&mut []);
    for (j, ((o, &xj), &tj)) in ot.iter_mut().zip(xt).zip(tt).enumerate() {
        *o = grad_entry(xj, tj, s, lam.scalar(i + j), mean.scalar(i + j), factor);
    }
}

/// Transposes the row-major `rows × cols` matrix `x` (`rows = x.len() / cols`) into columns,
/// `out[c·stride + r] = x[r·cols + c]`, and returns whether every `fl(x_i·s)` of those rows is
/// finite (the `all_finite` test, fused). Tiles of `W` rows × `W` columns go through registers
/// (the last column tile overlaps the one before it when `W` does not divide `cols`); fewer
/// than `W` columns, the last `rows mod W` rows, or an `out` too short for the tiles take the
/// scalar code.
///
/// # Safety
/// The CPU must support `L`'s instruction set.
#[inline(always)]
pub(crate) unsafe fn transpose<L: Lanes>(
    x: &[L::T],
    cols: usize,
    s: L::T,
    out: &mut [L::T],
    stride: usize,
) -> bool {
    let w = L::W;
    let rows = x.len().checked_div(cols).unwrap_or(0);
    let need = (cols.max(1) - 1)
        .checked_mul(stride)
        .and_then(|v| v.checked_add(rows));
    let fits = cols >= w && stride >= rows && need.is_some_and(|v| v <= out.len());
    let mut r0 = 0;
    let mut fin = true;
    if fits {
        let (p, o) = (x.as_ptr(), out.as_mut_ptr());
        // SAFETY: the caller guarantees the instruction set. Loads read
        // `x[(r0 + j)·cols + c ..][..w]` with `r0 + j < rows` and `c + w <= cols`, so below
        // `rows·cols <= x.len()`; stores write `out[(c + j)·stride + r0 ..][..w]` with
        // `c + j < cols` and `r0 + w <= rows`, so below `(cols − 1)·stride + rows <= out.len()`
        // (checked in `fits`).
        fin = unsafe {
            let (vs, big) = (L::splat(s), L::splat(L::T::MAX));
            let mut ok = L::all_set();
            while r0 + w <= rows {
                let mut c0 = 0;
                loop {
                    let c = c0.min(cols - w);
                    let mut tile = L::tile();
                    for (j, v) in tile.as_mut().iter_mut().enumerate() {
                        *v = L::load(p.add((r0 + j) * cols + c));
                        ok = L::and(ok, L::le(L::abs(L::mul(*v, vs)), big));
                    }
                    L::transpose_tile(&mut tile);
                    for (j, v) in tile.as_ref().iter().enumerate() {
                        L::store(o.add((c + j) * stride + r0), *v);
                    }
                    if c + w >= cols {
                        break;
                    }
                    c0 += w;
                }
                r0 += w;
            }
            L::all(ok)
        };
    }
    if cols > 0 {
        for (r, row) in x.chunks_exact(cols).enumerate().skip(r0) {
            for (c, &v) in row.iter().enumerate() {
                fin &= (v * s).abs() <= L::T::MAX;
                if let Some(d) = out.get_mut(c * stride + r) {
                    *d = v;
                }
            }
        }
    }
    fin
}
