//! The VJP of short rows across rows: the input check, the free-set sums in lanes and the
//! output written straight from the rows.

use super::*;

/// The rows of lane `i` of `idx[v]`: `(LANES·v + i)/n` for the `n` vectors of a block
/// ([`Ops::store_vjp`]; `n ≤ VJP_SHORT_MAX`), capped at `LANES − 1` (the first `min(n,
/// idx.len())` vectors).
#[inline(always)]
pub(super) fn row_index(n: usize, idx: &mut [ILane]) {
    // `⌊p·m/2^20⌋` with `m = ⌈2^20/n⌉` is `⌊p/n⌋` for the positions `p < 8·96`: the product
    // exceeds `p/n` by less than `p/2^20 < 1/96 ≤ 1/n`, which cannot reach the next integer
    // (`rows_of_lanes` checks every n); branch-free, so it vectorizes (this runs once per
    // call: counting with a branch per value was 40% of a two-row call at n = 10, and a
    // table returned by value another 20%, for its copy)
    let nn = n.clamp(1, VJP_SHORT_MAX) as u32;
    let m = (1u32 << 20).div_ceil(nn);
    for (v, iv) in idx.iter_mut().take(n).enumerate() {
        for (i, r) in iv.iter_mut().enumerate() {
            let p = (LANES * v + i) as u32;
            *r = ((p * m) >> 20).min(LANES as u32 - 1) as i32;
        }
    }
}

/// `true` when every `|y_i| ≤ MAX` and `|g_i| ≤ limit` (`validate::vjp_limit(scale)`): then
/// no short-row VJP can fail (`ops::vjp_mean` takes its one-pass reduction for every row).
/// A fold without early exit, so that it vectorizes.
pub(crate) fn vjp_inputs_small<T: Element>(kern: Kernels, y: &[T], g: &[T], limit: T) -> bool {
    match kern.path() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a `Kernels` with `Path::Avx2` or `Path::Avx512` (which implies AVX2) exists
        // only after `Path::is_supported` confirmed (with `is_x86_feature_detected!`) AVX2.
        Path::Avx2 | Path::Avx512 => unsafe { inputs_small_avx2(y, g, limit) },
        _ => inputs_small(y, g, limit),
    }
}

/// See [`vjp_inputs_small`].
#[inline(always)]
pub(super) fn inputs_small<T: Element>(y: &[T], g: &[T], limit: T) -> bool {
    y.iter().zip(g).fold(true, |ok, (&a, &b)| {
        ok & (a.abs() <= T::MAX) & (b.abs() <= limit)
    })
}

/// [`inputs_small`] compiled for AVX2 (the fold vectorizes to 8 lanes).
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
pub(super) unsafe fn inputs_small_avx2<T: Element>(y: &[T], g: &[T], limit: T) -> bool {
    inputs_small(y, g, limit)
}

/// The VJP of one short row whose inputs passed [`vjp_inputs_small`]: `ops::vjp_mean`'s
/// reduction (the same mean, bit for bit) and the entries `(g_i − mean)·scale` on the free set.
pub(crate) fn vjp_row<T: Element>(y: &[T], g: &[T], scale: T, out: &mut [T]) {
    let (count, sum, _) = crate::portable::free_mean(y, g, T::MAX);
    let mean = if count > 0 {
        T::from_f64(sum / count as f64)
    } else {
        T::ZERO
    };
    crate::portable::vjp(y, g, mean, scale, out);
}

dispatched! {
    /// The VJP of `rows × n` short rows (`rows = y.len()/n`; rows whose inputs passed
    /// [`vjp_inputs_small`]), [`LANES`] rows per vector, one row per lane: bitwise [`vjp_row`]
    /// of each row (the free-set sum of `g` in `f64` in the order of the row,
    /// `mean = fl₃₂(Σ/|F|)`, `out_i = (g_i − mean)·s` on the free set, `+0` elsewhere). `buf`
    /// holds at least `2n` lanes.
    pub(super) fn vjp_blocks / vjp_blocks_avx2 => vjp_blocks_body(
        y: &[T],
        g: &[T],
        n: usize,
        scale: T,
        out: &mut [T],
        buf: &mut [Lane]
    ) -> ()
}

/// See [`vjp_blocks`].
///
/// # Safety
/// The CPU features of `O`.
#[inline(always)]
pub(super) unsafe fn vjp_blocks_body<O: Ops, T: Element>(
    y: &[T],
    g: &[T],
    n: usize,
    scale: T,
    out: &mut [T],
    buf: &mut [Lane],
) {
    // SAFETY: the caller guarantees `O`'s features.
    unsafe { vjp_blocks_by::<O, T, false>(y, g, n, scale, out, buf) }
}

dispatched! {
    /// [`vjp_blocks`] loading through [`Ops::load_vjp_tiles`] (for the rows whose
    /// [`Ops::vjp_by_tiles`] holds: a function of its own, so that neither loop's code
    /// shapes the other's).
    pub(super) fn vjp_blocks_tiles / vjp_blocks_tiles_avx2 => vjp_blocks_tiles_body(
        y: &[T],
        g: &[T],
        n: usize,
        scale: T,
        out: &mut [T],
        buf: &mut [Lane]
    ) -> ()
}

/// See [`vjp_blocks_tiles`].
///
/// # Safety
/// The CPU features of `O`.
#[inline(always)]
pub(super) unsafe fn vjp_blocks_tiles_body<O: Ops, T: Element>(
    y: &[T],
    g: &[T],
    n: usize,
    scale: T,
    out: &mut [T],
    buf: &mut [Lane],
) {
    // SAFETY: the caller guarantees `O`'s features.
    unsafe { vjp_blocks_by::<O, T, true>(y, g, n, scale, out, buf) }
}

/// [`Ops::vjp_by_tiles`] of `kern`'s path.
pub(super) fn vjp_by_tiles(kern: Kernels, n: usize) -> bool {
    match kern.path() {
        #[cfg(target_arch = "x86_64")]
        Path::Avx2 | Path::Avx512 => <crate::isa::avx2::Small as Ops>::vjp_by_tiles(n),
        #[cfg(target_arch = "aarch64")]
        Path::Neon => <crate::isa::neon::Small as Ops>::vjp_by_tiles(n),
        _ => <Portable as Ops>::vjp_by_tiles(n),
    }
}

/// [`vjp_blocks_body`] with [`Ops::load_vjp_tiles`] (`TILES`) or [`Ops::load_vjp`].
///
/// # Safety
/// The CPU features of `O`.
#[inline(always)]
pub(super) unsafe fn vjp_blocks_by<O: Ops, T: Element, const TILES: bool>(
    y: &[T],
    g: &[T],
    n: usize,
    scale: T,
    out: &mut [T],
    buf: &mut [Lane],
) {
    let m = n * LANES;
    // (in two sizes: clearing the longest table took a tenth of a small call's time)
    let (mut short, long);
    let idx: &[ILane] = if n <= 16 {
        short = [[0i32; LANES]; 16];
        row_index(n, &mut short);
        &short
    } else {
        let mut l = [[0i32; LANES]; VJP_SHORT_MAX];
        row_index(n, &mut l);
        long = l;
        &long
    };
    // the tiles route, two blocks at a time (their sums are independent chains of `f64`
    // additions, and one block's division and output overlap the other's)
    let pairs = if TILES && buf.len() >= 3 * n {
        match (T::as_f32(y), T::as_f32(g), T::as_f32_mut(out)) {
            (Some(yf), Some(gf), Some(of)) => {
                let p = (yf.len().min(gf.len()).min(of.len()) / (2 * m)) * 2 * m;
                // SAFETY: the caller guarantees `O`'s features.
                unsafe {
                    vjp_pairs_tiles::<O>(
                        &yf[..p],
                        &gf[..p],
                        n,
                        scale.to_f64() as f32,
                        &mut of[..p],
                        buf,
                        idx,
                    )
                };
                p
            }
            _ => 0,
        }
    } else {
        0
    };
    let (y, g, out) = (&y[pairs..], &g[pairs..], &mut out[pairs..]);
    for ((yb, gb), ob) in y.chunks(m).zip(g.chunks(m)).zip(out.chunks_mut(m)) {
        // SAFETY: the caller guarantees `O`'s features; all memory is through references.
        unsafe {
            let sv = O::splat(scale.to_f64() as f32);
            let mut sums = VjpSums::<O>::new();
            match (T::as_f32(yb), T::as_f32(gb), T::as_f32_mut(ob)) {
                (Some(yf), Some(gf), Some(of)) => {
                    let rows = (yf.len().min(gf.len()) / n).min(LANES);
                    let (scratch, rest) = buf.split_at_mut(n);
                    let gt = &mut rest[..n];
                    if TILES {
                        O::load_vjp_tiles(yf, gf, rows, scratch, gt);
                    } else {
                        O::load_vjp(yf, gf, rows, scratch, gt);
                    }
                    for gi in gt.iter() {
                        sums.add_masked(gi);
                    }
                    if !TILES && O::vjp_store_masked() {
                        let gm = &scratch.as_flattened()[..rows * n];
                        O::store_vjp_masked(gm, n, idx, sums.mean(), sv, of, rows);
                        continue;
                    }
                    O::store_vjp(yf, gf, n, idx, sums.mean(), sv, of, rows)
                }
                // other element types (which `vjp_rows` does not send here): row by row
                _ => {
                    for ((yr, gr), o) in yb.chunks(n).zip(gb.chunks(n)).zip(ob.chunks_mut(n)) {
                        vjp_row(yr, gr, scale, o);
                    }
                }
            }
        }
    }
}

/// [`vjp_blocks_by`]'s tiles route over whole pairs of blocks (`y`, `g`, `out`: a multiple of
/// `2·LANES·n` values; `buf`: at least `3n` lanes): the same arithmetic per block, two blocks
/// interleaved.
///
/// # Safety
/// The CPU features of `O`.
#[inline(always)]
pub(super) unsafe fn vjp_pairs_tiles<O: Ops>(
    y: &[f32],
    g: &[f32],
    n: usize,
    scale: f32,
    out: &mut [f32],
    buf: &mut [Lane],
    idx: &[ILane],
) {
    let m = n * LANES;
    let (scratch, rest) = buf.split_at_mut(n);
    let (ga, rest) = rest.split_at_mut(n);
    let gb = &mut rest[..n];
    // SAFETY: the caller guarantees `O`'s features.
    let sv = unsafe { O::splat(scale) };
    for ((yp, gp), op) in y
        .chunks_exact(2 * m)
        .zip(g.chunks_exact(2 * m))
        .zip(out.chunks_exact_mut(2 * m))
    {
        let ((y0, y1), (g0, g1)) = (yp.split_at(m), gp.split_at(m));
        let (o0, o1) = op.split_at_mut(m);
        // SAFETY: the caller guarantees `O`'s features; all memory is through references.
        unsafe {
            O::load_vjp_tiles(y0, g0, LANES, scratch, ga);
            O::load_vjp_tiles(y1, g1, LANES, scratch, gb);
            let (mut s0, mut s1) = (VjpSums::<O>::new(), VjpSums::<O>::new());
            for (a, b) in ga.iter().zip(gb.iter()) {
                s0.add_masked(a);
                s1.add_masked(b);
            }
            O::store_vjp(y0, g0, n, idx, s0.mean(), sv, o0, LANES);
            O::store_vjp(y1, g1, n, idx, s1.mean(), sv, o1, LANES);
        }
    }
}

/// The free-set count and sum of `g` (in `f64`, in row order) of one block's lanes.
pub(super) struct VjpSums<O: Ops> {
    s0: O::D,
    s1: O::D,
    cnt: O::I,
}

impl<O: Ops> VjpSums<O> {
    /// # Safety
    /// The CPU features of `O`.
    #[inline(always)]
    unsafe fn new() -> Self {
        // SAFETY: the caller guarantees `O`'s features.
        unsafe {
            VjpSums {
                s0: O::splat_d(0.0),
                s1: O::splat_d(0.0),
                cnt: O::splat_i(0),
            }
        }
    }

    /// Adds element `i` of the lanes: `g` where free, NaN elsewhere ([`Ops::load_vjp`]; `g`
    /// itself is finite, as [`vjp_inputs_small`] checked, so NaN marks exactly the others).
    ///
    /// # Safety
    /// The CPU features of `O`.
    #[inline(always)]
    unsafe fn add_masked(&mut self, gm: &Lane) {
        // SAFETY: the caller guarantees `O`'s features.
        unsafe {
            let gv = O::load(gm);
            let free = O::eq(gv, gv);
            let gm = O::or_v(O::splat(0.0), free, gv);
            self.cnt = O::sub_i(self.cnt, free);
            self.s0 = O::add_d(self.s0, O::widen(gm, false));
            self.s1 = O::add_d(self.s1, O::widen(gm, true));
        }
    }

    /// `fl₃₂(Σ/max(|F|, 1))` per lane.
    ///
    /// # Safety
    /// The CPU features of `O`.
    #[inline(always)]
    unsafe fn mean(&self) -> O::V {
        // SAFETY: the caller guarantees `O`'s features.
        unsafe {
            let c = O::max_i(self.cnt, O::splat_i(1));
            O::narrow(
                O::div_d(self.s0, O::widen_i(c, false)),
                O::div_d(self.s1, O::widen_i(c, true)),
            )
        }
    }
}

/// Batches of fewer rows take [`vjp_row`] row by row in [`vjp_rows`] (the same bits): below
/// this count a block's fixed cost (the row-index table, the transposition, the lanes' `f64`
/// division) exceeds the rows' own (`callbench`, 8 Dec 2026: see the README's "Short rows").
pub(crate) const VJP_LANES_FROM: usize = 4;

/// [`vjp_blocks_body`] over `rows × n` row-major rows (all of whose inputs passed
/// [`vjp_inputs_small`]), block by block, for `f32` rows; other element types row by row
/// ([`vjp_row`]: the lanes are `f32`).
pub(crate) fn vjp_rows<T: Element>(
    kern: Kernels,
    y: &[T],
    g: &[T],
    n: usize,
    scale: T,
    out: &mut [T],
) {
    // (`f32` rows in lanes from `VJP_LANES_FROM` rows on: fewer are cheaper one by one)
    let rows = y.len().min(g.len()) / n.max(1);
    if core::mem::size_of::<T>() != 4 || rows < VJP_LANES_FROM {
        for ((yr, gr), o) in y.chunks(n).zip(g.chunks(n)).zip(out.chunks_mut(n)) {
            vjp_row(yr, gr, scale, o);
        }
        return;
    }
    if vjp_by_tiles(kern, n) {
        // three lanes per element for the pairs of blocks (see `vjp_pairs_tiles`), two
        // without a pair (a buffer cleared in vain had cost a fifth of a small call)
        let pairs = rows >= 2 * LANES;
        with_buffer(if pairs { 2 * n } else { n }, |buf| {
            vjp_blocks_tiles(kern, y, g, n, scale, out, buf)
        })
    } else {
        with_buffer(n, |buf| vjp_blocks(kern, y, g, n, scale, out, buf))
    }
}
