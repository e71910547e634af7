//! The streaming passes the forward solver is built from, and their portable scalar kernels.
//!
//! Every pass reads the scaled input `z_i = x_i · s` (with `s = fl(1/τ)`), forms the shifted
//! value `d_i = fl(z_i − λ)` in the element type, and reduces. The projection is then
//! `y_i = clip(d_i, 0, 1)`, computed with the *same* `d_i`, so the partition a pass reports is
//! exactly the partition of the output that is finally written:
//!
//! * free set `F(λ) = { i : 0 < d_i < 1 }`, upper set `U(λ) = { i : d_i ≥ 1 }`;
//! * `f(λ) = Σ_{i∈F} d_i + |U|` is Σy for this λ (continuous, piecewise linear, non-increasing).
//!
//! [`Passes`] is the interface between the root finder in [`crate::solve`] and whoever
//! streams the data: [`ScalarPasses`] here, the vectorized and multi-threaded kernels of the
//! `hypersimplex-simd` crate elsewhere. The solver never touches the data itself.

use crate::real::{Real, SumAcc};

/// What one pass at a given λ learns: `|F(λ)|`, `|U(λ)|` and `Σ_{i∈F(λ)} d_i`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Piece {
    /// Number of free coordinates, `|{ i : 0 < d_i < 1 }|`.
    pub free: usize,
    /// Number of upper coordinates, `|{ i : d_i ≥ 1 }|`.
    pub upper: usize,
    /// `Σ_{i∈F} d_i`, accumulated with the element type's [`Real::Sum`].
    pub sum_free: f64,
}

impl Piece {
    /// `f(λ) − k = Σ_F d_i + |U| − k`: positive when λ must increase.
    #[inline]
    pub fn excess(&self, k: f64) -> f64 {
        // `|U| − k` first: near the root |U| ≤ k ≤ |U| + |F|, so this difference is exact
        // (Sterbenz) or small, and adding it to `Σ_F d` loses nothing (docs/design.md).
        self.sum_free + (self.upper as f64 - k)
    }
}

/// Summary statistics of the scaled input `z`, from the first pass over the data.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats<T> {
    /// `Σ z_i` (as `f64`). It only seeds the solver's start point, so implementations may
    /// sum in the element type within blocks (the fused `f32` pass sums 512-element blocks in
    /// `f32`): relative error up to about `64·ε_T` of `Σ|z_i|`.
    pub sum: f64,
    /// `min z_i`.
    pub min: T,
    /// `max z_i`.
    pub max: T,
    /// `true` when every `z_i` is finite (no NaN or infinite input, no overflow of `x_i · s`).
    pub finite: bool,
}

/// The passes the root finder needs, over one vector `z = x · s` of length [`Self::len`]: each
/// method is one streaming reduction over the data (formerly `Reductions`; its implementations
/// are [`ScalarPasses`] here and the `*Passes` types of the SIMD crate).
///
/// Implementations must compute `d_i = fl(fl(x_i · s) − λ)` in the element type, with no fused
/// multiply-add, so that every implementation agrees on the partition at a given λ.
pub trait Passes<T: Real> {
    /// Number of elements.
    fn len(&self) -> usize;
    /// `true` when there are no elements.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Σz, min z, max z and finiteness.
    fn stats(&mut self) -> Stats<T>;
    /// The piece at λ.
    fn piece(&mut self, lambda: T) -> Piece;
    /// The piece at λ and the statistics of z, in one pass. The default runs two passes.
    /// The solver calls it only with a start point, where it does not use `Stats::sum`, so
    /// implementations may leave that NaN.
    fn piece_and_stats(&mut self, lambda: T) -> (Piece, Stats<T>) {
        let s = self.stats();
        (self.piece(lambda), s)
    }
    /// The distances from λ to the nearest breakpoints of `f` on either side, for a λ on a
    /// flat piece (no free coordinate): `(min_{d_i ≥ 1} (d_i − 1), max_{d_i ≤ 0} d_i)`, with
    /// `+∞` / `−∞` for an empty set. The solver calls it only on flat pieces, which are rare on
    /// ordinary data but are all there is on data spread over many orders of magnitude; `None`
    /// (the default) makes the solver bisect instead.
    fn gaps(&mut self, lambda: T) -> Option<(f64, f64)> {
        let _ = lambda;
        None
    }
    /// A bracket `[a, b]` known to hold the root, `f(a) ≥ k ≥ f(b)`, for implementations
    /// that only answer for λ in such a bracket (the working-set passes of the
    /// `hypersimplex-simd` crate, which keep only the elements whose class can change inside
    /// it). The solver then evaluates `f` only inside `[a, b]`. `None` (the default): the
    /// solver's bracket is `[min z − 1, max z]`. Ignored on bare-metal targets
    /// (`target_os = "none"`), which have no such passes.
    fn bracket(&self) -> Option<(T, T)> {
        None
    }
}

/// [`Passes::gaps`] over any [`Source`] (a scalar pass).
pub fn gaps_scalar<T: Real, S: Source<T> + ?Sized>(src: &S, scale: T, lambda: T) -> (f64, f64) {
    let mut up = T::MAX;
    let mut down = T::LOWEST;
    let mut any_up = false;
    let mut any_down = false;
    src.for_each(|v| {
        let d = v * scale - lambda;
        if d >= T::ONE {
            any_up = true;
            let e = d - T::ONE;
            up = if e < up { e } else { up };
        } else if d <= T::ZERO {
            any_down = true;
            down = if d > down { d } else { down };
        }
    });
    (
        if any_up { up.to_f64() } else { f64::INFINITY },
        if any_down {
            down.to_f64()
        } else {
            f64::NEG_INFINITY
        },
    )
}

/// Read access to a vector of elements, contiguous or strided, without bounds panics.
pub trait Source<T: Real> {
    /// Number of elements.
    fn len(&self) -> usize;
    /// `true` when there are no elements.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Calls `f` on every element, in order.
    fn for_each<F: FnMut(T)>(&self, f: F);
    /// Calls `quad` on consecutive groups of four elements, in order, and returns the
    /// `len % 4` remaining elements (first `.1` entries of `.0`).
    fn for_each_quad<Q: FnMut([T; 4])>(&self, quad: Q) -> ([T; 4], usize);
    /// The elements as one contiguous slice, when they are (the fast paths use it).
    fn as_slice(&self) -> Option<&[T]> {
        None
    }
}

impl<T: Real> Source<T> for [T] {
    #[inline]
    fn len(&self) -> usize {
        <[T]>::len(self)
    }
    #[inline]
    fn as_slice(&self) -> Option<&[T]> {
        Some(self)
    }
    #[inline(always)]
    fn for_each<F: FnMut(T)>(&self, mut f: F) {
        for &v in self {
            f(v)
        }
    }
    #[inline(always)]
    fn for_each_quad<Q: FnMut([T; 4])>(&self, mut quad: Q) -> ([T; 4], usize) {
        let mut chunks = self.chunks_exact(4);
        for c in &mut chunks {
            if let [a, b, c, d] = *c {
                quad([a, b, c, d]);
            }
        }
        let mut rest = [T::ZERO; 4];
        let tail = chunks.remainder();
        for (r, &v) in rest.iter_mut().zip(tail) {
            *r = v;
        }
        (rest, tail.len())
    }
}

/// Every `stride`-th element of a slice, starting at `start`: a column of a row-major matrix,
/// or a sample of a vector.
#[derive(Clone, Copy, Debug)]
pub struct Strided<'a, T> {
    data: &'a [T],
    start: usize,
    stride: usize,
    len: usize,
}

impl<'a, T: Real> Strided<'a, T> {
    /// The elements `data[start + j·stride]` for `j = 0, 1, …` while the index is in range.
    /// A `stride` of 0 is treated as 1.
    pub fn new(data: &'a [T], start: usize, stride: usize) -> Self {
        let stride = if stride == 0 { 1 } else { stride };
        let len = if start < data.len() {
            (data.len() - start - 1) / stride + 1
        } else {
            0
        };
        Strided {
            data,
            start,
            stride,
            len,
        }
    }
}

impl<T: Real> Source<T> for Strided<'_, T> {
    #[inline]
    fn len(&self) -> usize {
        self.len
    }
    #[inline(always)]
    fn for_each<F: FnMut(T)>(&self, mut f: F) {
        let mut i = self.start;
        while let Some(&v) = self.data.get(i) {
            f(v);
            i = match i.checked_add(self.stride) {
                Some(j) => j,
                None => break,
            };
        }
    }
    #[inline(always)]
    fn for_each_quad<Q: FnMut([T; 4])>(&self, mut quad: Q) -> ([T; 4], usize) {
        let mut buf = [T::ZERO; 4];
        let mut fill = 0usize;
        self.for_each(|v| {
            if let Some(slot) = buf.get_mut(fill) {
                *slot = v;
            }
            fill += 1;
            if fill == 4 {
                quad(buf);
                fill = 0;
            }
        });
        (buf, fill)
    }
}

/// A slice of `E` read as `T` through `map`, element by element: half-precision data widened
/// exactly to `f32`, or values in a shifted frame (`crate::frame`).
#[derive(Clone, Copy, Debug)]
pub struct Mapped<'a, E, M> {
    /// The stored elements.
    pub x: &'a [E],
    /// What each element reads as.
    pub map: M,
}

impl<E: Copy, T: Real, M: Fn(E) -> T> Source<T> for Mapped<'_, E, M> {
    #[inline]
    fn len(&self) -> usize {
        self.x.len()
    }
    #[inline(always)]
    fn for_each<F: FnMut(T)>(&self, mut f: F) {
        for &v in self.x {
            f((self.map)(v))
        }
    }
    #[inline(always)]
    fn for_each_quad<Q: FnMut([T; 4])>(&self, mut quad: Q) -> ([T; 4], usize) {
        let mut s = self.x;
        while let Some((q, rest)) = s.split_first_chunk::<4>() {
            quad(q.map(&self.map));
            s = rest;
        }
        let mut out = [T::ZERO; 4];
        for (o, &v) in out.iter_mut().zip(s) {
            *o = (self.map)(v);
        }
        (out, s.len())
    }
}

/// Elements per block of [`MappedPasses`]: the block of the `f32` fixed-point pass
/// (`piece_fixed`, 8 lanes × 64 rounds), so that the blocks' results add up to exactly what
/// that pass computes over the whole mapped slice.
pub const MAP_BLOCK: usize = FX_LANES * FX_ROUNDS;

/// The solver's passes over a [`Mapped`] slice, for `f32` bit for bit those of
/// `ScalarPasses` over the mapped values as one slice: each 512-element block is mapped into
/// a stack buffer and reduced by the slice pass (fixed-point free-set sums, which vectorize);
/// counts and fixed-point sums add exactly across blocks, and `Σz` is accumulated across
/// blocks in the same order (for `f64` the blocks' sums are added in order).
#[derive(Clone, Copy, Debug)]
pub struct MappedPasses<'a, E, T, M> {
    src: Mapped<'a, E, M>,
    scale: T,
}

impl<'a, E: Copy, T: Real, M: Fn(E) -> T> MappedPasses<'a, E, T, M> {
    /// Passes over `z_i = map(x_i) · scale`.
    pub fn new(x: &'a [E], map: M, scale: T) -> Self {
        MappedPasses {
            src: Mapped { x, map },
            scale,
        }
    }

    /// Calls `f` on each mapped block, in order.
    #[inline(always)]
    fn blocks(&self, mut f: impl FnMut(&[T])) {
        let mut buf = [T::ZERO; MAP_BLOCK];
        for chunk in self.src.x.chunks(MAP_BLOCK) {
            for (b, &v) in buf.iter_mut().zip(chunk) {
                *b = (self.src.map)(v);
            }
            f(buf.get(..chunk.len()).unwrap_or(&[]));
        }
    }
}

/// `a` then `b`, as one piece.
fn add_piece(a: Piece, b: Piece) -> Piece {
    Piece {
        free: a.free + b.free,
        upper: a.upper + b.upper,
        sum_free: a.sum_free + b.sum_free,
    }
}

impl<E: Copy, T: Real, M: Fn(E) -> T> Passes<T> for MappedPasses<'_, E, T, M> {
    fn len(&self) -> usize {
        self.src.x.len()
    }
    fn stats(&mut self) -> Stats<T> {
        ScalarPasses::new(&self.src, self.scale).stats()
    }
    fn piece(&mut self, lambda: T) -> Piece {
        let mut total = Piece::default();
        self.blocks(|b| total = add_piece(total, ScalarPasses::new(b, self.scale).piece(lambda)));
        total
    }
    fn piece_and_stats(&mut self, lambda: T) -> (Piece, Stats<T>) {
        let mut total = Piece::default();
        let mut st = Stats {
            sum: 0.0,
            min: T::MAX,
            max: T::LOWEST,
            finite: true,
        };
        self.blocks(|b| {
            let (p, s) = ScalarPasses::new(b, self.scale).piece_and_stats(lambda);
            total = add_piece(total, p);
            st.sum += s.sum;
            st.min = if s.min < st.min { s.min } else { st.min };
            st.max = if s.max > st.max { s.max } else { st.max };
            st.finite &= s.finite;
        });
        (total, st)
    }
    fn gaps(&mut self, lambda: T) -> Option<(f64, f64)> {
        Some(gaps_scalar(&self.src, self.scale, lambda))
    }
}

/// Number of independent accumulators in the scalar passes: breaks the dependency chain of
/// the floating-point adds (4 cycles of latency each) so a pass runs near one element a cycle.
const LANES: usize = 4;

/// On 32-bit Arm (microcontrollers: in-order cores, a one-cycle single-precision add, few
/// registers) the passes use one accumulator: four would only spill to the stack (figures in
/// docs/design.md).
const ONE_LANE: bool = cfg!(target_arch = "arm");

/// The portable scalar implementation of [`Passes`] over any [`Source`].
#[derive(Clone, Copy, Debug)]
pub struct ScalarPasses<'a, T: Real, S: Source<T> + ?Sized> {
    src: &'a S,
    scale: T,
}

impl<'a, T: Real, S: Source<T> + ?Sized> ScalarPasses<'a, T, S> {
    /// Passes over `z = src · scale`.
    pub fn new(src: &'a S, scale: T) -> Self {
        ScalarPasses { src, scale }
    }

    /// [`Passes::piece`] with the branch-free `d·[free]` of [`Real::keep_if`]: NaN in the
    /// free-set sum when some `d = fl(z − λ)` overflows to `±∞` (`z` and λ at opposite ends
    /// of the range), which [`Passes::piece`] then redoes with [`ScalarPasses::piece_safe`].
    #[inline(always)]
    fn piece_fast(&mut self, lambda: T) -> Piece {
        let s = self.scale;
        if T::FIXED_SUM {
            if let Some(x) = self.src.as_slice() {
                return piece_fixed::<T, false>(x, s, lambda).0;
            }
        }
        if ONE_LANE {
            // microcontrollers: overflow-safe in the one pass (no second pass in flash)
            let mut acc = PieceAcc::<T>::EMPTY;
            self.src.for_each(|v| acc.push_safe(v * s - lambda));
            return acc.finish();
        }
        let mut acc = [PieceAcc::<T>::EMPTY; LANES];
        let (rest, m) = self.src.for_each_quad(|q| {
            for (a, v) in acc.iter_mut().zip(q) {
                a.push(v * s - lambda);
            }
        });
        for &v in rest.iter().take(m) {
            acc[0].push(v * s - lambda);
        }
        let [a, b, c, d] = acc;
        a.merge(b).merge(c.merge(d)).finish()
    }

    /// [`Passes::piece`] for data whose `d = fl(z − λ)` may overflow (`|z|` near `MAX`): the
    /// free-set sum by [`Real::free_part`], one lane. Taken only after [`Self::piece_fast`]
    /// found NaN, so ordinary data pay nothing for it. (On 32-bit Arm the one-lane pass is
    /// overflow-safe itself and this second pass is compiled out: flash.)
    #[cold]
    #[inline(never)]
    fn piece_safe(&mut self, lambda: T) -> Piece {
        let s = self.scale;
        let mut acc = PieceAcc::<T>::EMPTY;
        self.src.for_each(|v| acc.push_safe(v * s - lambda));
        acc.finish()
    }
}

impl<T: Real, S: Source<T> + ?Sized> Passes<T> for ScalarPasses<'_, T, S> {
    fn len(&self) -> usize {
        self.src.len()
    }

    // One out-of-line copy per pass kind on microcontrollers (flash), and the per-pass
    // bookkeeping of the solver stays outside the per-element loops.
    #[cfg_attr(target_arch = "arm", inline(never))]
    fn stats(&mut self) -> Stats<T> {
        let s = self.scale;
        if ONE_LANE {
            let mut st = ZStats::<T>::EMPTY;
            self.src.for_each(|v| st.push(v * s));
            return st.finish();
        }
        let mut st = [ZStats::<T>::EMPTY; LANES];
        let (rest, m) = self.src.for_each_quad(|q| {
            for (acc, v) in st.iter_mut().zip(q) {
                acc.push(v * s);
            }
        });
        for &v in rest.iter().take(m) {
            st[0].push(v * s);
        }
        let [a, b, c, d] = st;
        a.merge(b).merge(c.merge(d)).finish()
    }

    // One out-of-line copy per pass kind on microcontrollers (flash), and the per-pass
    // bookkeeping of the solver stays outside the per-element loops.
    #[cfg_attr(target_arch = "arm", inline(never))]
    fn piece(&mut self, lambda: T) -> Piece {
        let p = self.piece_fast(lambda);
        if !ONE_LANE && p.sum_free.is_nan() {
            return self.piece_safe(lambda);
        }
        p
    }
    // One out-of-line copy per pass kind on microcontrollers (flash), and the per-pass
    // bookkeeping of the solver stays outside the per-element loops.
    #[cfg_attr(target_arch = "arm", inline(never))]
    fn gaps(&mut self, lambda: T) -> Option<(f64, f64)> {
        Some(gaps_scalar(self.src, self.scale, lambda))
    }

    // One out-of-line copy per pass kind on microcontrollers (flash), and the per-pass
    // bookkeeping of the solver stays outside the per-element loops.
    #[cfg_attr(target_arch = "arm", inline(never))]
    fn piece_and_stats(&mut self, lambda: T) -> (Piece, Stats<T>) {
        let (p, st) = self.piece_and_stats_fast(lambda);
        if !ONE_LANE && p.sum_free.is_nan() {
            return (self.piece_safe(lambda), st);
        }
        (p, st)
    }
}

impl<'a, T: Real, S: Source<T> + ?Sized> ScalarPasses<'a, T, S> {
    /// [`Passes::piece_and_stats`] by [`Self::piece_fast`]'s method.
    #[inline(always)]
    fn piece_and_stats_fast(&mut self, lambda: T) -> (Piece, Stats<T>) {
        let s = self.scale;
        if T::FIXED_SUM {
            if let Some(x) = self.src.as_slice() {
                return piece_fixed::<T, true>(x, s, lambda);
            }
        }
        if ONE_LANE {
            let mut st = ZStats::<T>::EMPTY;
            let mut acc = PieceAcc::<T>::EMPTY;
            self.src.for_each(|v| {
                let z = v * s;
                st.push(z);
                acc.push_safe(z - lambda);
            });
            return (acc.finish(), st.finish());
        }
        let mut st = [ZStats::<T>::EMPTY; LANES];
        let mut acc = [PieceAcc::<T>::EMPTY; LANES];
        let (rest, m) = self.src.for_each_quad(|q| {
            for ((zs, a), v) in st.iter_mut().zip(acc.iter_mut()).zip(q) {
                let z = v * s;
                zs.push(z);
                a.push(z - lambda);
            }
        });
        for &v in rest.iter().take(m) {
            let z = v * s;
            st[0].push(z);
            acc[0].push(z - lambda);
        }
        let [a, b, c, d] = acc;
        let [e, f, g, h] = st;
        (
            a.merge(b).merge(c.merge(d)).finish(),
            e.merge(f).merge(g.merge(h)).finish(),
        )
    }
}

/// Lanes of the fixed-point piece pass.
const FX_LANES: usize = 8;
/// Rounds per block: each `i32` lane adds at most `FX_ROUNDS · 2^23 = 2^29` before the block
/// is flushed into the `i64` totals, so nothing overflows.
const FX_ROUNDS: usize = 64;

/// [`Passes::piece`] over a slice with the free-set sum in 2^-23 fixed point
/// ([`Real::FIXED_SUM`]): eight `i32` lanes of counts and sums, flushed every 512 elements.
/// Everything is integer or compare-and-mask, so the optimizer vectorizes it (about twice the
/// speed of `f64` accumulation); the counts are exact and `Σ_F d` errs by less than `|F|·2^-23`.
/// With `STATS` it also returns the [`Stats`] of z, with `Σz` summed in `T` within each
/// 512-element block and in `f64` across blocks (Σz only seeds the solver's start point).
#[inline(always)]
fn piece_fixed<T: Real, const STATS: bool>(x: &[T], s: T, lambda: T) -> (Piece, Stats<T>) {
    let mut free = 0u64;
    let mut upper = 0u64;
    let mut sum = 0i64;
    let mut zsum = 0.0f64;
    let mut mn = [T::MAX; FX_LANES];
    let mut mx = [T::LOWEST; FX_LANES];
    let mut fin = [true; FX_LANES];
    for block in x.chunks(FX_LANES * FX_ROUNDS) {
        let mut f = [0i32; FX_LANES];
        let mut u = [0i32; FX_LANES];
        let mut q = [0i32; FX_LANES];
        let mut zs = [T::ZERO; FX_LANES];
        let mut groups = block.chunks_exact(FX_LANES);
        for g in &mut groups {
            if let Ok(g) = <&[T; FX_LANES]>::try_from(g) {
                for j in 0..FX_LANES {
                    let z = g[j] * s;
                    let d = z - lambda;
                    let m = -(((d > T::ZERO) & (d < T::ONE)) as i32);
                    f[j] -= m;
                    u[j] += (d >= T::ONE) as i32;
                    q[j] += d.to_fixed() & m;
                    if STATS {
                        // `|z| <= MAX` is false for NaN and ±inf.
                        fin[j] &= z.abs() <= T::MAX;
                        mn[j] = if z < mn[j] { z } else { mn[j] };
                        mx[j] = if z > mx[j] { z } else { mx[j] };
                        zs[j] = zs[j] + z;
                    }
                }
            }
        }
        for &v in groups.remainder() {
            let z = v * s;
            let d = z - lambda;
            let m = -(((d > T::ZERO) & (d < T::ONE)) as i32);
            f[0] -= m;
            u[0] += (d >= T::ONE) as i32;
            q[0] += d.to_fixed() & m;
            if STATS {
                fin[0] &= z.abs() <= T::MAX;
                mn[0] = if z < mn[0] { z } else { mn[0] };
                mx[0] = if z > mx[0] { z } else { mx[0] };
                zs[0] = zs[0] + z;
            }
        }
        free += f.iter().map(|&c| c as u64).sum::<u64>();
        upper += u.iter().map(|&c| c as u64).sum::<u64>();
        sum += q.iter().map(|&c| c as i64).sum::<i64>();
        if STATS {
            zsum += zs.iter().map(|&v| v.to_f64()).sum::<f64>();
        }
    }
    let piece = Piece {
        free: free as usize,
        upper: upper as usize,
        sum_free: sum as f64 * (1.0 / 8_388_608.0),
    };
    let lo = mn.iter().fold(T::MAX, |a, &v| if v < a { v } else { a });
    let hi = mx.iter().fold(T::LOWEST, |a, &v| if v > a { v } else { a });
    let stats = Stats {
        sum: zsum,
        min: lo,
        max: hi,
        finite: fin.iter().all(|&b| b),
    };
    (piece, stats)
}

/// One lane of a [`Piece`] reduction.
#[derive(Clone, Copy, Debug)]
struct PieceAcc<T: Real> {
    free: usize,
    upper: usize,
    sum: T::Sum,
}

impl<T: Real> PieceAcc<T> {
    const EMPTY: Self = PieceAcc {
        free: 0,
        upper: 0,
        sum: <T::Sum as SumAcc<T>>::ZERO,
    };
    /// Classifies one shifted value `d`, branch-free.
    #[inline(always)]
    fn push(&mut self, d: T) {
        self.push_as::<false>(d);
    }
    /// [`PieceAcc::push`] for a `d` that may be `±∞` ([`Real::free_part`]).
    #[inline(always)]
    fn push_safe(&mut self, d: T) {
        self.push_as::<true>(d);
    }
    #[inline(always)]
    fn push_as<const SAFE: bool>(&mut self, d: T) {
        let is_free = (d > T::ZERO) & (d < T::ONE);
        self.free += is_free as usize;
        self.upper += (d >= T::ONE) as usize;
        self.sum.add(if SAFE {
            d.free_part(is_free)
        } else {
            d.keep_if(is_free)
        });
    }
    #[inline(always)]
    fn merge(mut self, o: Self) -> Self {
        self.free += o.free;
        self.upper += o.upper;
        self.sum.merge(o.sum);
        self
    }
    #[inline]
    fn finish(self) -> Piece {
        Piece {
            free: self.free,
            upper: self.upper,
            sum_free: self.sum.value(),
        }
    }
}

/// One lane of a [`Stats`] reduction.
#[derive(Clone, Copy, Debug)]
struct ZStats<T: Real> {
    sum: T::Sum,
    min: T,
    max: T,
    finite: bool,
}

impl<T: Real> ZStats<T> {
    const EMPTY: Self = ZStats {
        sum: <T::Sum as SumAcc<T>>::ZERO,
        min: T::MAX,
        max: T::LOWEST,
        finite: true,
    };
    #[inline(always)]
    fn push(&mut self, z: T) {
        // `|z| <= MAX` is false for NaN and ±inf.
        self.finite &= z.abs() <= T::MAX;
        self.min = if z < self.min { z } else { self.min };
        self.max = if z > self.max { z } else { self.max };
        self.sum.add(z);
    }
    #[inline(always)]
    fn merge(mut self, o: Self) -> Self {
        self.finite &= o.finite;
        self.min = if o.min < self.min { o.min } else { self.min };
        self.max = if o.max > self.max { o.max } else { self.max };
        self.sum.merge(o.sum);
        self
    }
    #[inline]
    fn finish(self) -> Stats<T> {
        Stats {
            sum: self.sum.value(),
            min: self.min,
            max: self.max,
            finite: self.finite,
        }
    }
}

/// Writes `y_i = clip(fl(x_i · s) − λ, 0, 1)` (the final pass of the forward projection).
#[inline]
pub fn write_clip<T: Real>(x: &[T], scale: T, lambda: T, y: &mut [T]) {
    for (yi, &xi) in y.iter_mut().zip(x) {
        *yi = (xi * scale - lambda).clip01();
    }
}

/// In-place [`write_clip`]: `x_i ← clip(fl(x_i · s) − λ, 0, 1)`.
#[inline]
pub fn write_clip_in_place<T: Real>(x: &mut [T], scale: T, lambda: T) {
    for xi in x.iter_mut() {
        *xi = (*xi * scale - lambda).clip01();
    }
}
