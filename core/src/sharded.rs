//! Sharded projection: one global vector (or batch) split over processes ("ranks"), with the
//! λ of the *global* problem found through an integer sum-allreduce the caller supplies
//! (MPI, `torch.distributed`, …).
//!
//! # Method
//!
//! λ depends on the data only through `|F(λ)|`, `|U(λ)|` and `Σ_F d_i` (see [`crate::solve`]).
//! Each rank computes them over its rows, each term `d_i ∈ (0, 1)` put on the fixed-point
//! grid `2^-90` (`2^-60` for `f32` data) by itself and summed as integers ([`GridSum`]; the
//! VJP's `g` is first scaled by
//! a power of two that bounds `max|g|` on every rank, the loss's residuals lie in `[−1, 1]`),
//! and sends the sum as an integer part and three 30-bit limbs of the fraction, so the
//! allreduce adds them exactly, whatever order the engine adds in. The global integer sums
//! are then the same for any number of ranks and any split of the data, and every rank
//! decodes them to the same `f64` ([`decode`]): the projection, the VJP, the loss and its
//! gradient are bitwise the same on every rank and for every number of ranks (the grid's
//! rounding, under `2^-90` per term, `2^-60` for `f32`, is far below the contract's 4ε).
//! The root finder is safeguarded
//! Newton on a bracket (at most [`MAX_NEWTON_SHARDED`] trial points), then bisection over
//! the representable values of the element type (at most 64 more), so every call makes a
//! bounded number of allreduce calls ([`max_allreduces`]). A Newton step that lands on the
//! piece it was computed from is that piece's root, as in the unsharded solver.
//!
//! One extra allreduce first checks that every rank passes the same parameters (`k`, τ,
//! classes, reduction: a 64-bit digest in 16-bit chunks `c`, with `Σc² · P = (Σc)²` exactly
//! when all `P` ranks agree) and agrees on local errors (a one-hot slot per error code), so
//! that every rank returns the same status and none is left waiting in a collective.
//!
//! Allocation-free: the multiclass form takes caller buffers ([`multiclass_buf_len`]).

use crate::error::Error;
#[cfg(not(target_os = "none"))]
use crate::frame::Replay;
use crate::kernel::write_clip;
use crate::loss::{ClassK, Reduction};
use crate::real::{ordered_gap, ordered_mid, Real};
use crate::validate;

/// A sum-allreduce over all ranks: adds `values` element-wise across ranks, in place, and
/// returns `true` on success. Every rank must call it the same number of times with the same
/// lengths (the functions here guarantee that when every rank passes agreeing parameters).
pub trait Allreduce {
    /// Sums `values` across ranks in place; `false` on failure.
    fn sum_i64(&mut self, values: &mut [i64]) -> bool;
}

impl<F: FnMut(&mut [i64]) -> bool + ?Sized> Allreduce for F {
    fn sum_i64(&mut self, values: &mut [i64]) -> bool {
        self(values)
    }
}

/// Newton trial points before the sharded solver bisects over the representable values.
pub const MAX_NEWTON_SHARDED: u32 = 40;

/// The most allreduce calls one sharded call makes: the check, the solver (Newton then
/// bisection over the `T::BITS`-bit representation) and, for the loss, the final sums.
pub const fn max_allreduces(bits: u32) -> u32 {
    1 + solves(bits) * (MAX_NEWTON_SHARDED + bits + 2) + 1
}

/// Solves per call: the first, and one per shifted frame (issue 13: where λ is large the
/// values are shifted by a float near τλ and solved again, as in the unsharded functions;
/// more than one only where `|x/τ|` exceeds about 1/ε).
const fn solves(bits: u32) -> u32 {
    #[cfg(not(target_os = "none"))]
    return 1 + crate::frame::max_shifts(bits) as u32;
    #[cfg(target_os = "none")]
    {
        let _ = bits;
        1
    }
}

/// What a sharded call reports.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ShardedInfo {
    /// Allreduce calls made.
    pub allreduces: u32,
    /// Number of elements (forward, VJP) or batch rows (loss) over all ranks.
    pub global_len: u64,
}

const LIMB: f64 = 1073741824.0; // 2^30
/// An integer limb and three 30-bit fractional limbs.
const LIMBS: usize = 4;
/// One-hot error slots (error codes 1..=15).
const ERR_SLOTS: usize = 16;
const DIGEST_CHUNKS: usize = 4;
/// `[ranks, rows, errors…, digest (chunk, chunk²)…, extra…]`.
const HEADER: usize = 2 + ERR_SLOTS + 2 * DIGEST_CHUNKS;

/// `2^60`.
const P60: f64 = 1152921504606846976.0;
/// `2^30 − 1`: the bits of a 30-bit limb.
const MASK30: i128 = (1 << 30) - 1;

/// An exact sum of terms `|v| < 2` on the fixed-point grid `2^-90`: each term is put on the
/// grid by itself (an error below `2^-90`) and the integers are summed
/// exactly, so the total does not depend on the order of the terms or on how they are split
/// over ranks. (A rank's compensated `f64` sum, encoded once, rounded differently for
/// different splits: the `sharded` fuzz target found forward outputs 1 ulp apart between one
/// and two ranks.)
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct GridSum {
    /// In units of `2^-30`: each term's part on that grid ([`GridSum::add`]; `|·| ≤ 2^30` per
    /// term of `|v| ≤ 1`, as every path here passes, so that `2^32` terms add exactly).
    top: i64,
    /// In units of `2^-60`: the terms of [`GridSum::add_coarse`].
    hi: i128,
    /// In units of `2^-90`: the rest of each term ([`GridSum::add`]; `|·| ≤ 2^59` per term).
    lo: i128,
}

impl GridSum {
    /// Adds `v` (`|v| < 2`; NaN adds 0; larger values are not summed exactly, and no path here
    /// passes them).
    #[inline(always)]
    pub(crate) fn add(&mut self, v: f64) {
        // v = q + r: q is v rounded to the grid 2^-30 (adding and subtracting C rounds there:
        // ulp(C) = 2^-30, and C ± 2 stays in C's binade), r = v − q is exact (|r| ≤ 2^-31;
        // v and q are multiples of ulp(v) or of 2^-30, within 53 bits of each other)
        const C: f64 = 1.5 * 4194304.0; // 1.5·2^22
        let q = (v + C) - C;
        let r = v - q;
        // q·2^30 is an integer (|·| ≤ 2^31), r·2^90 is truncated toward zero (|·| ≤ 2^59):
        // two independent conversions
        self.top = self.top.wrapping_add((q * LIMB) as i64);
        self.lo += (r * (P60 * LIMB)) as i64 as i128;
    }

    /// [`GridSum::add`] on the coarser grid `2^-60` (one conversion instead of two): for the
    /// terms of `f32` data, where the error, below `2^-60` per term, stays far below `f32`'s ε
    /// (`n·2^-60` in Σ, so λ moves by at most `n·2^-60/|F|`).
    #[inline(always)]
    pub(crate) fn add_coarse(&mut self, v: f64) {
        self.hi += (v * P60) as i64 as i128;
    }

    /// [`GridSum::add`] for terms of `T` data: [`GridSum::add_coarse`] for `f32` (and
    /// narrower), the full grid for `f64`.
    #[inline(always)]
    pub(crate) fn add_for<T: Real>(&mut self, v: f64) {
        if T::BITS <= 32 {
            self.add_coarse(v)
        } else {
            self.add(v)
        }
    }

    /// Adds the sum to `out` as an integer part and three 30-bit fractional limbs (each in
    /// `[0, 2^30)`): `[⌊S⌋, a, b, c]` with `S = ⌊S⌋ + a·2^-30 + b·2^-60 + c·2^-90`.
    #[inline]
    pub(crate) fn emit(&self, out: &mut [i64]) {
        // carry the low part's whole units of 2^-60 up (floor, so that 0 ≤ c < 2^30)
        let hi = self.hi + ((self.top as i128) << 30) + (self.lo >> 30);
        let c = self.lo & MASK30;
        let int = hi >> 60;
        let frac = hi & ((1 << 60) - 1);
        if let [o, o0, o1, o2, ..] = out {
            *o = o.wrapping_add(int as i64);
            *o0 = o0.wrapping_add((frac >> 30) as i64);
            *o1 = o1.wrapping_add((frac & MASK30) as i64);
            *o2 = o2.wrapping_add(c as i64);
        }
    }
}

/// The value of summed limbs `[i, a, b, c]` (`i + a·2^-30 + b·2^-60 + c·2^-90`, as
/// [`GridSum::emit`] writes them, added over ranks): the carries are propagated first, so that
/// equal sums decode to the same bits whatever limbs they were added from, then the exact
/// value is rounded once to `f64`.
#[inline]
fn decode(l: &[i64]) -> f64 {
    let [i, a, b, c, ..] = *l else {
        return 0.0;
    };
    let (i, a, b, c) = (i as i128, a as i128, b as i128, c as i128);
    let b = b + (c >> 30);
    let a = a + (b >> 30);
    let i = i + (a >> 30);
    let frac = ((a & MASK30) << 60) | ((b & MASK30) << 30) | (c & MASK30);
    // |i| < 2^37 on every path here (a rank's terms are below 2 in magnitude); else two roundings
    match i.checked_mul(1 << 90).and_then(|v| v.checked_add(frac)) {
        Some(v) if i.unsigned_abs() < 1 << 36 => v as f64 * pow2(-90),
        _ => i as f64 + frac as f64 * pow2(-90),
    }
}

/// FNV-1a over 64-bit words.
fn digest(words: impl IntoIterator<Item = u64>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for w in words {
        for i in 0..8 {
            h ^= (w >> (8 * i)) & 0xff;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// Fills the header of an allreduce buffer: one rank, its rows, its local error, the digest.
fn header(buf: &mut [i64], rows: usize, err: Option<Error>, dig: u64) {
    buf.iter_mut().for_each(|v| *v = 0);
    if let [ranks, r, ..] = buf {
        *ranks = 1;
        *r = rows as i64;
    }
    if let Some(e) = err {
        let slot = (e.code() as usize).min(ERR_SLOTS - 1);
        if let Some(v) = buf.get_mut(2 + slot) {
            *v = 1;
        }
    }
    for i in 0..DIGEST_CHUNKS {
        let c = ((dig >> (16 * i)) & 0xffff) as i64;
        if let Some(p) = buf.get_mut(2 + ERR_SLOTS + 2 * i..2 + ERR_SLOTS + 2 * i + 2) {
            p[0] = c;
            p[1] = c * c;
        }
    }
}

/// What the summed header says: the global rows, or the agreed error. Length and τ errors
/// come first, then (checked by the caller) k, then the data errors by code.
struct Agreed {
    rows: u64,
    first_err: Option<Error>,
    early_err: Option<Error>,
}

fn read_header(buf: &[i64], early: &[Error]) -> Result<Agreed, Error> {
    let ranks = buf.first().copied().unwrap_or(0);
    let rows = buf.get(1).copied().unwrap_or(-1);
    if ranks < 1 || rows < 0 {
        return Err(Error::Collective);
    }
    for i in 0..DIGEST_CHUNKS {
        let at = 2 + ERR_SLOTS + 2 * i;
        let (s, s2) = match buf.get(at..at + 2) {
            Some(p) => (p[0] as i128, p[1] as i128),
            None => return Err(Error::Collective),
        };
        if s2 * ranks as i128 != s * s {
            return Err(Error::Collective);
        }
    }
    let seen = |e: Error| buf.get(2 + e.code() as usize).is_some_and(|&v| v > 0);
    let early_err = early.iter().copied().find(|&e| seen(e));
    let first_err = (1..ERR_SLOTS)
        .find(|&i| buf.get(2 + i).is_some_and(|&v| v > 0))
        .map(|i| error_of(i as i32));
    Ok(Agreed {
        rows: rows as u64,
        first_err,
        early_err,
    })
}

fn error_of(code: i32) -> Error {
    Error::from_code(code).unwrap_or(Error::Collective)
}

/// One rank's sums at λ for one column: `[free, upper, Σ_F d (3 limbs)]`.
const PIECE: usize = 2 + LIMBS;

fn local_piece<T: Real>(col: impl Iterator<Item = T>, scale: T, lambda: T, out: &mut [i64]) {
    out.iter_mut().for_each(|v| *v = 0);
    let (mut free, mut upper) = (0i64, 0i64);
    // each term on the grid by itself: the global sum does not depend on the split
    let mut sum = GridSum::default();
    for x in col {
        // Branch-free (a branch on the set is mispredicted on mixed data); 0 adds 0.
        let d = x * scale - lambda;
        let f = (d > T::ZERO) & (d < T::ONE);
        upper += (d >= T::ONE) as i64;
        free += f as i64;
        sum.add_for::<T>(d.free_part(f).to_f64());
    }
    let mut acc = [0i64; LIMBS];
    sum.emit(&mut acc);
    if let [f, u, rest @ ..] = out {
        *f = free;
        *u = upper;
        rest.iter_mut().zip(acc).for_each(|(o, a)| *o = a);
    }
}

/// The root finder's state for one column.
#[derive(Clone, Copy, Debug)]
pub struct ColumnState<T> {
    k: f64,
    lam: T,
    lo: T,
    hi: T,
    ex_lo: f64,
    ex_hi: f64,
    prev: (i64, i64),
    newton: bool,
    done: bool,
    iters: u32,
    /// Whether free entries are possible (`0 < k < n`): only then is λ a root to refine.
    clip: bool,
    /// The shifted frame the column is solved in (issue 13; no shifts at first).
    #[cfg(not(target_os = "none"))]
    frame: Replay<T>,
}

impl<T: Real> Default for ColumnState<T> {
    fn default() -> Self {
        ColumnState {
            k: 0.0,
            lam: T::ZERO,
            lo: T::LOWEST,
            hi: T::MAX,
            ex_lo: f64::INFINITY,
            ex_hi: f64::NEG_INFINITY,
            prev: (-1, -1),
            newton: false,
            done: true,
            iters: 0,
            clip: false,
            #[cfg(not(target_os = "none"))]
            frame: Replay::none(T::ZERO),
        }
    }
}

impl<T: Real> ColumnState<T> {
    /// A column of `n` global elements with target `k` and `Σ round(z)` = `zsum`.
    fn start(n: u64, k: f64, zsum: i64) -> Self {
        let mut s = Self {
            k,
            ..Self::default()
        };
        if n == 0 || k <= 0.0 {
            s.lam = T::MAX; // every y = 0 (d = z − MAX ≤ 0)
        } else if k >= n as f64 {
            s.lam = T::from_f64(f64::NEG_INFINITY); // every y = 1
        } else {
            // All-free estimate from the rounded sum; a safe start elsewhere.
            let l = T::from_f64((zsum as f64 - k) / n as f64);
            s.lam = if l.is_finite() { l } else { T::ZERO };
            s.done = false;
            s.clip = true;
        }
        s
    }

    /// After a solve: where λ is large or τ > `MAX/64` (issue 13, [`crate::frame::shift_at`],
    /// the same on every rank), one more shift of the column's frame (the first one also
    /// pre-scales where τ > `MAX/64`), and the solver restarted from the translated λ; `false`
    /// when λ is accurate as solved or the shifts are used up. `scale = fl(1/τ)`.
    #[cfg(not(target_os = "none"))]
    fn shift(&mut self, tau: T, scale: T) -> bool {
        if !self.clip {
            return false;
        }
        let c = if self.frame.count == 0 {
            let Some(sh) = crate::frame::shift_at(self.lam, tau, scale) else {
                return false;
            };
            (self.frame.b, self.frame.pre, self.frame.scale) = (sh.b, sh.pre, sh.scale);
            sh.c
        } else {
            // later shifts in the frame's units (τ·pre, exact)
            let Some(c) = crate::frame::offset(self.lam, tau * self.frame.pre) else {
                return false;
            };
            c
        };
        let Some(slot) = self.frame.shifts.get_mut(self.frame.count) else {
            return false;
        };
        *slot = c;
        self.frame.count += 1;
        let t = (tau * self.frame.pre).to_f64();
        *self = Self {
            k: self.k,
            lam: T::from_f64(self.lam.to_f64() - c.to_f64() / t),
            done: false,
            clip: true,
            frame: self.frame,
            ..Self::default()
        };
        true
    }

    /// The scale of the frame λ was solved in (`scale = fl(1/τ)` unless shifted).
    #[inline(always)]
    fn scale(&self, scale: T) -> T {
        #[cfg(not(target_os = "none"))]
        if self.frame.count > 0 {
            return self.frame.scale;
        }
        scale
    }

    /// Whether the column is solved in a shifted frame.
    #[inline(always)]
    fn shifted(&self) -> bool {
        #[cfg(not(target_os = "none"))]
        return self.frame.count > 0;
        #[cfg(target_os = "none")]
        false
    }

    /// The value of an entry `x` of the column in the frame λ was solved in.
    #[inline(always)]
    fn value(&self, x: T) -> T {
        #[cfg(not(target_os = "none"))]
        if self.frame.count > 0 {
            return self.frame.apply(x);
        }
        x
    }

    /// One step from the summed piece at `lam`; sets `done` when λ is found.
    fn step(&mut self, p: &[i64]) {
        let (free, upper) = (
            p.first().copied().unwrap_or(0),
            p.get(1).copied().unwrap_or(0),
        );
        let ex = decode(p.get(2..).unwrap_or(&[])) + (upper as f64 - self.k);
        self.iters += 1;
        if ex == 0.0 || (self.newton && self.prev == (free, upper)) {
            self.done = true;
            return;
        }
        self.prev = (free, upper);
        if ex > 0.0 {
            self.lo = self.lam;
            self.ex_lo = ex;
        } else {
            self.hi = self.lam;
            self.ex_hi = ex;
        }
        if ordered_gap(self.lo, self.hi) <= 1 || self.iters >= MAX_NEWTON_SHARDED + T::BITS + 2 {
            self.lam = if self.ex_lo.abs() <= self.ex_hi.abs() {
                self.lo
            } else {
                self.hi
            };
            self.done = true;
            return;
        }
        self.newton = false;
        if self.iters <= MAX_NEWTON_SHARDED && free > 0 {
            let c = T::from_f64(self.lam.to_f64() + ex / free as f64);
            if c == self.lam {
                // The root of this piece rounds to λ itself.
                self.done = true;
                return;
            }
            if c > self.lo && c < self.hi {
                self.lam = c;
                self.newton = true;
                return;
            }
        }
        self.lam = ordered_mid(self.lo, self.hi);
    }
}

/// Runs the root finder for `cols` columns at once (one allreduce per iteration for all of
/// them); `column(c)` yields this rank's entries of column c.
fn solve_columns<T: Real, A: Allreduce + ?Sized, I: Iterator<Item = T>>(
    states: &mut [ColumnState<T>],
    column: impl Fn(usize) -> I,
    scale: T,
    ar: &mut A,
    buf: &mut [i64],
    calls: &mut u32,
) -> Result<(), Error> {
    for _ in 0..MAX_NEWTON_SHARDED + T::BITS + 3 {
        if states.iter().all(|s| s.done) {
            return Ok(());
        }
        let len = states.len() * PIECE;
        let b = buf.get_mut(..len).ok_or(Error::ScratchTooSmall)?;
        for (c, (s, out)) in states.iter().zip(b.chunks_exact_mut(PIECE)).enumerate() {
            if s.done {
                out.iter_mut().for_each(|v| *v = 0);
            } else if s.shifted() {
                local_piece(column(c).map(|v| s.value(v)), s.scale(scale), s.lam, out);
            } else {
                local_piece(column(c), scale, s.lam, out);
            }
        }
        *calls += 1;
        if !ar.sum_i64(b) {
            return Err(Error::Collective);
        }
        for (s, p) in states.iter_mut().zip(b.chunks_exact(PIECE)) {
            if !s.done {
                s.step(p);
            }
        }
    }
    Ok(())
}

/// [`solve_columns`], then again for the columns whose λ is large, in shifted frames (issue 13;
/// at most `crate::frame::max_shifts` more solves, every rank shifting alike).
fn solve_refined<T: Real, A: Allreduce + ?Sized, I: Iterator<Item = T>>(
    states: &mut [ColumnState<T>],
    column: impl Fn(usize) -> I + Copy,
    tau: T,
    scale: T,
    ar: &mut A,
    buf: &mut [i64],
    calls: &mut u32,
) -> Result<(), Error> {
    let mut round = 1;
    loop {
        solve_columns(states, column, scale, ar, buf, calls)?;
        if round >= solves(T::BITS) {
            break;
        }
        round += 1;
        // (the columns shift alike on every rank: λ and τ are agreed)
        #[cfg(not(target_os = "none"))]
        if !states
            .iter_mut()
            .fold(false, |any, s| s.shift(tau, scale) | any)
        {
            break;
        }
    }
    let _ = tau;
    Ok(())
}

/// `Σ round(clamp(z_i, ±2^31))`, for the all-free start point.
fn rounded_sum<T: Real>(col: impl Iterator<Item = T>, scale: T) -> i64 {
    const C: f64 = 2147483648.0;
    col.map(|x| {
        let z = (x * scale).to_f64();
        let z = z.clamp(-C, C);
        (if z < 0.0 { z - 0.5 } else { z + 0.5 }) as i64
    })
    .fold(0i64, |a, b| a.saturating_add(b))
}

fn call<A: Allreduce + ?Sized>(ar: &mut A, buf: &mut [i64], calls: &mut u32) -> Result<(), Error> {
    *calls += 1;
    if ar.sum_i64(buf) {
        Ok(())
    } else {
        Err(Error::Collective)
    }
}

/// Tag words that keep the digests of different functions apart.
const TAG_FORWARD: u64 = 1;
const TAG_VJP: u64 = 2;
const TAG_LOSS: u64 = 3;

/// Sharded [`soft_binary_argmax`](crate::soft_binary_argmax): `x` is this rank's part of the
/// global vector, `k` the global k; writes this rank's part of `y = Π_Δ(n,k)(x/τ)`.
/// Accurate as the unsharded function (within `4·ε` of the exact projection at every scale:
/// where λ is large every rank shifts its entries by the same float and the solve repeats;
/// the free-set sums are exact sums on a fixed-point grid), and bitwise the
/// same for any number of ranks and any split of the vector.
///
/// # Errors
/// As the unsharded function (agreed across ranks: every rank returns the same error), and
/// [`Error::Collective`] when the allreduce fails or the ranks' `k` or τ differ. On error `y`
/// is not modified.
pub fn soft_binary_argmax_sharded<T: Real, A: Allreduce + ?Sized>(
    x: &[T],
    k: f64,
    tau: T,
    ar: &mut A,
    y: &mut [T],
) -> Result<ShardedInfo, Error> {
    let mut calls = 0u32;
    let local = if y.len() != x.len() {
        Err(Error::LengthMismatch)
    } else {
        validate::tau_scale(tau).and_then(|s| validate::scaled_finite(x, s).map(|_| s))
    };
    let dig = digest([TAG_FORWARD, k.to_bits(), tau.to_f64().to_bits()]);
    let mut buf = [0i64; HEADER + 1];
    header(&mut buf, x.len(), local.err(), dig);
    if let (Ok(s), Some(v)) = (local, buf.get_mut(HEADER)) {
        *v = rounded_sum(x.iter().copied(), s);
    }
    call(ar, &mut buf, &mut calls)?;
    let agreed = read_header(&buf, &[Error::LengthMismatch, Error::InvalidTau])?;
    if let Some(e) = agreed.early_err {
        return Err(e);
    }
    let n = agreed.rows;
    if !(k >= 0.0 && k <= n as f64) {
        return Err(Error::InvalidK);
    }
    if let Some(e) = agreed.first_err {
        return Err(e);
    }
    let scale = local?;
    let zsum = buf.get(HEADER).copied().unwrap_or(0);
    let mut st = [ColumnState::<T>::start(n, k, zsum)];
    let mut pbuf = [0i64; PIECE];
    solve_refined(
        &mut st,
        |_| x.iter().copied(),
        tau,
        scale,
        ar,
        &mut pbuf,
        &mut calls,
    )?;
    let [s0] = st;
    if s0.shifted() {
        let fs = s0.scale(scale);
        for (o, &v) in y.iter_mut().zip(x) {
            *o = (s0.value(v) * fs - s0.lam).clip01();
        }
    } else {
        write_clip(x, scale, s0.lam, y);
    }
    Ok(ShardedInfo {
        allreduces: calls,
        global_len: n,
    })
}

/// The binade bins of `max |g|` sent by the sharded VJP (16 exponents per bin).
const VJP_BINS: usize = 128;

/// Sharded [`soft_binary_argmax_vjp`](crate::soft_binary_argmax_vjp): `y`, `g` are this
/// rank's parts of the global forward output and upstream gradient; writes this rank's part
/// of `Jᵀg`. Two allreduce calls: the check (with the binade of `max |g|`, the reference
/// point of the fixed-point sums) and `(|A|, Σ_A g)`, each `g_i` put on the fixed-point grid
/// (`2^-90` of that binade) by itself, so the result is bitwise the same for any number of
/// ranks and any split.
///
/// # Errors
/// As the unsharded function, agreed across ranks, except that [`Error::ScaleOverflow`] is
/// returned as soon as `2·max|g|/τ` could overflow; [`Error::Collective`]. On error `grad_x`
/// is not modified.
pub fn soft_binary_argmax_vjp_sharded<T: Real, A: Allreduce + ?Sized>(
    y: &[T],
    g: &[T],
    tau: T,
    ar: &mut A,
    grad_x: &mut [T],
) -> Result<ShardedInfo, Error> {
    use crate::backward::{is_free, vjp_entry};
    let mut calls = 0u32;
    let local = if g.len() != y.len() || grad_x.len() != y.len() {
        Err(Error::LengthMismatch)
    } else {
        validate::tau_scale(tau).and_then(|s| {
            let ok = y.iter().chain(g).all(|v| v.is_finite());
            if ok {
                Ok(s)
            } else {
                Err(Error::NonFiniteInput)
            }
        })
    };
    let dig = digest([TAG_VJP, tau.to_f64().to_bits()]);
    let mut buf = [0i64; HEADER + VJP_BINS];
    header(&mut buf, y.len(), local.err(), dig);
    if local.is_ok() {
        let amax = y
            .iter()
            .zip(g)
            .filter(|&(&a, _)| is_free(a))
            .map(|(_, &b)| b.abs().to_f64())
            .fold(0.0f64, |m, v| if v > m { v } else { m });
        if amax > 0.0 {
            let e = ((amax.to_bits() >> 52) & 0x7ff) as usize;
            if let Some(v) = buf.get_mut(HEADER + e / 16) {
                *v = 1;
            }
        }
    }
    call(ar, &mut buf, &mut calls)?;
    let agreed = read_header(&buf, &[Error::LengthMismatch, Error::InvalidTau])?;
    if let Some(e) = agreed.early_err.or(agreed.first_err) {
        return Err(e);
    }
    let scale = local?;
    // Every |g_i| on the free set is below 2^ref.
    let top = (0..VJP_BINS)
        .rev()
        .find(|&b| buf.get(HEADER + b).is_some_and(|&v| v > 0));
    let mean = match top {
        None => T::ZERO,
        Some(b) => {
            let rexp = (16 * (b as i32 + 1)) - 1023;
            let bound = T::from_f64(pow2(rexp + 1));
            if !(bound.is_finite() && (bound * scale).is_finite()) {
                return Err(Error::ScaleOverflow);
            }
            let mut sums = [0i64; 1 + LIMBS];
            let inv = pow2(-rexp);
            // each term (|g_i|·2^-rexp < 1) on the fixed-point grid by itself: the integer
            // sums, and so the mean, do not depend on how the vector is split over ranks (a
            // running f64 sum per rank did, by its roundings: found by the `sharded` fuzz target)
            let mut acc = GridSum::default();
            for (&a, &b) in y.iter().zip(g) {
                let f = is_free(a);
                sums[0] += f as i64;
                acc.add(b.keep_if(f).to_f64() * inv);
            }
            acc.emit(&mut sums[1..]);
            call(ar, &mut sums, &mut calls)?;
            if sums[0] > 0 {
                T::from_f64(decode(&sums[1..]) * pow2(rexp) / sums[0] as f64)
            } else {
                T::ZERO
            }
        }
    };
    for ((o, &a), &b) in grad_x.iter_mut().zip(y).zip(g) {
        *o = vjp_entry(a, b, mean, scale);
    }
    Ok(ShardedInfo {
        allreduces: calls,
        global_len: agreed.rows,
    })
}

/// `2^e` for `−1074 ≤ e ≤ 1023` (saturating outside).
fn pow2(e: i32) -> f64 {
    if e > 1023 {
        f64::INFINITY
    } else if e >= -1022 {
        f64::from_bits(((e + 1023) as u64) << 52)
    } else if e >= -1074 {
        f64::from_bits(1u64 << (e + 1074))
    } else {
        0.0
    }
}

/// Words per class in the multiclass loss's final allreduce: `|A|`, `Σ_A r`, `Σ r²/2`.
const FINAL: usize = 1 + 2 * LIMBS;

/// Length of the `i64` buffer [`hypersimplex_loss_multiclass_sharded`] needs for `classes`.
pub const fn multiclass_buf_len(classes: usize) -> usize {
    let a = HEADER.saturating_add(classes.saturating_mul(2));
    let b = classes.saturating_mul(FINAL);
    if a > b {
        a
    } else {
        b
    }
}

/// Sharded [`hypersimplex_loss_multiclass`](crate::hypersimplex_loss_multiclass): `logits`
/// (`labels.len() × classes`, row-major) are this rank's rows of the global batch; `k` is
/// global ([`ClassK::LabelCounts`]: the global label counts); the loss returned is the global
/// loss (the mean divides by the global batch × classes), the same on every rank; `grad` gets
/// this rank's rows of the global gradient. All classes share one allreduce per solver
/// iteration. `states` must hold `classes` entries and `buf` [`multiclass_buf_len`] values.
///
/// # Errors
/// As the unsharded function, agreed across ranks; [`Error::ScratchTooSmall`] for short
/// `states`/`buf`; [`Error::Collective`]. On error `grad` is not modified.
#[allow(clippy::too_many_arguments)]
pub fn hypersimplex_loss_multiclass_sharded<T: Real, A: Allreduce + ?Sized>(
    logits: &[T],
    labels: &[u32],
    classes: usize,
    k: ClassK<'_>,
    tau: T,
    reduction: Reduction,
    grad: Option<&mut [T]>,
    ar: &mut A,
    states: &mut [ColumnState<T>],
    buf: &mut [i64],
) -> Result<(T, ShardedInfo), Error> {
    let mut calls = 0u32;
    let batch = labels.len();
    let grad_len = grad.as_ref().map(|g| g.len());
    if states.len() < classes || buf.len() < multiclass_buf_len(classes) {
        return Err(Error::ScratchTooSmall);
    }
    // The shape, labels and τ locally; k against the global batch after the check.
    let local = validate::multiclass_args(
        logits.len(),
        labels,
        classes,
        ClassK::Fixed(0.0),
        tau,
        grad_len,
    )
    .and_then(|(_, s)| validate::scaled_finite(logits, s).map(|_| s));
    let kwords = match k {
        ClassK::LabelCounts => [0u64, 0],
        ClassK::Fixed(v) => [1, v.to_bits()],
        ClassK::PerClass(ks) => [2, digest(ks.iter().map(|v| v.to_bits()))],
    };
    let red = match reduction {
        Reduction::Sum => 0u64,
        Reduction::Mean => 1,
    };
    let dig = digest([
        TAG_LOSS,
        classes as u64,
        tau.to_f64().to_bits(),
        red,
        kwords[0],
        kwords[1],
    ]);
    let per_class = matches!(k, ClassK::PerClass(ks) if ks.len() != classes);
    let err = match local {
        Err(e) => Some(e),
        Ok(_) if per_class => Some(Error::LengthMismatch),
        Ok(_) => None,
    };
    let head = buf
        .get_mut(..HEADER.saturating_add(classes.saturating_mul(2)))
        .ok_or(Error::ScratchTooSmall)?;
    header(head, batch, err, dig);
    let column = |c: usize| logits.iter().skip(c).step_by(classes.max(1)).copied();
    if let (Ok(s), None, Some(rest)) = (local, err, head.get_mut(HEADER..)) {
        let (counts, sums) = rest.split_at_mut(classes.min(rest.len()));
        for &l in labels {
            if let Some(v) = counts.get_mut(l as usize) {
                *v += 1;
            }
        }
        for (c, v) in sums.iter_mut().enumerate() {
            *v = rounded_sum(column(c), s);
        }
    }
    call(ar, head, &mut calls)?;
    let agreed = read_header(
        head,
        &[
            Error::LengthMismatch,
            Error::LabelOutOfRange,
            Error::InvalidTau,
        ],
    )?;
    if let Some(e) = agreed.early_err {
        return Err(e);
    }
    let n = agreed.rows;
    for c in 0..classes {
        let kc = match k {
            ClassK::LabelCounts => head.get(HEADER + c).copied().unwrap_or(0) as f64,
            ClassK::Fixed(v) => v,
            ClassK::PerClass(ks) => ks.get(c).copied().unwrap_or(f64::NAN),
        };
        if !(kc >= 0.0 && kc <= n as f64) {
            return Err(Error::InvalidK);
        }
        let zsum = head.get(HEADER + classes + c).copied().unwrap_or(0);
        if let Some(s) = states.get_mut(c) {
            *s = ColumnState::start(n, kc, zsum);
        }
    }
    if let Some(e) = agreed.first_err {
        return Err(e);
    }
    let scale = local?;
    let states = states.get_mut(..classes).ok_or(Error::ScratchTooSmall)?;
    solve_refined(states, column, tau, scale, ar, buf, &mut calls)?;
    // Final sums: |A|, Σ_A r, Σ r²/2 per class (r = ŷ − y, |r| ≤ 1).
    let fin = buf
        .get_mut(..FINAL * classes)
        .ok_or(Error::ScratchTooSmall)?;
    fin.iter_mut().for_each(|v| *v = 0);
    for (c, (s, out)) in states.iter().zip(fin.chunks_exact_mut(FINAL)).enumerate() {
        let mut free = 0i64;
        // (|r| ≤ 1: each term on the grid by itself, as in `local_piece`)
        let (mut sr, mut sq) = (GridSum::default(), GridSum::default());
        let fs = s.scale(scale);
        for (x, &l) in column(c).zip(labels) {
            let d = s.value(x) * fs - s.lam;
            let r = d.clip01() - if l as usize == c { T::ONE } else { T::ZERO };
            let f = (d > T::ZERO) & (d < T::ONE);
            free += f as i64;
            sr.add_for::<T>(r.keep_if(f).to_f64());
            let r = r.to_f64();
            sq.add_for::<T>(0.5 * (r * r));
        }
        out[0] = free;
        sr.emit(&mut out[1..1 + LIMBS]);
        sq.emit(&mut out[1 + LIMBS..]);
    }
    call(ar, fin, &mut calls)?;
    let total = n as f64 * classes as f64;
    let mut half_sq = 0.0f64;
    for out in fin.chunks_exact(FINAL) {
        half_sq += decode(&out[1 + LIMBS..]);
    }
    let loss = match reduction {
        Reduction::Sum => half_sq,
        Reduction::Mean if total > 0.0 => 2.0 * half_sq / total,
        Reduction::Mean => 0.0,
    };
    if let Some(gr) = grad {
        let factor = match reduction {
            Reduction::Sum => scale,
            Reduction::Mean => T::from_f64(2.0 / total) * scale,
        };
        for (c, (s, out)) in states.iter().zip(fin.chunks_exact(FINAL)).enumerate() {
            let mean = if out[0] > 0 {
                T::from_f64(decode(&out[1..1 + LIMBS]) / out[0] as f64)
            } else {
                T::ZERO
            };
            let onehot = |l: u32| if l as usize == c { T::ONE } else { T::ZERO };
            let fs = s.scale(scale);
            for ((grow, x), &l) in gr
                .chunks_exact_mut(classes.max(1))
                .zip(column(c))
                .zip(labels)
            {
                if let Some(gi) = grow.get_mut(c) {
                    *gi = crate::loss::grad_entry(s.value(x), onehot(l), fs, s.lam, mean, factor);
                }
            }
        }
    }
    Ok((
        T::from_f64(loss),
        ShardedInfo {
            allreduces: calls,
            global_len: n,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Terms that are multiples of `2^-80` (exact on the grid) in `[−1, 1)`, from a seed.
    fn terms(seed: u64, n: usize) -> Vec<i128> {
        let mut s = seed | 1;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                // a random magnitude: the low bits of a 2^80-scaled term, or small ones
                let m = ((s as i128) << 16) >> (s % 64);
                let m = m % (1i128 << 80);
                if s & 1 == 1 {
                    -m
                } else {
                    m
                }
            })
            .collect()
    }

    fn emit_of(t: &[i128]) -> [i64; LIMBS] {
        let mut acc = GridSum::default();
        for &v in t {
            acc.add(v as f64 * pow2(-80));
        }
        let mut out = [0i64; LIMBS];
        acc.emit(&mut out);
        out
    }

    /// Exact sums of grid terms, whatever the split: the limbs of the parts, added, decode to
    /// the exact sum rounded once (also where the limbs carry differently).
    #[test]
    fn grid_sums_are_exact_and_independent_of_the_split() {
        for seed in 1..50u64 {
            let t = terms(seed, 1 + (seed as usize * 7) % 97);
            // only terms exact in f64 (53 bits) are exact on input
            let t: Vec<i128> = t.into_iter().map(|v| (v as f64) as i128).collect();
            let exact: i128 = t.iter().sum();
            let want = exact as f64 * pow2(-80);
            let whole = emit_of(&t);
            assert_eq!(decode(&whole).to_bits(), want.to_bits(), "seed {seed}");
            for cut in 0..=t.len() {
                let (a, b) = t.split_at(cut);
                let (ea, eb) = (emit_of(a), emit_of(b));
                let sum: Vec<i64> = ea.iter().zip(&eb).map(|(x, y)| x + y).collect();
                assert_eq!(
                    decode(&sum).to_bits(),
                    want.to_bits(),
                    "seed {seed} cut {cut}"
                );
            }
        }
    }

    /// Each term goes onto the grid `2^-90` with an error below `2^-90`.
    #[test]
    fn grid_truncation_is_below_the_grid() {
        for &v in &[
            1e-30f64,
            -1e-30,
            0.1,
            -0.1,
            1.0 - f64::EPSILON,
            -(1.0 - f64::EPSILON),
            1.5,
            3.0f64.powi(-40),
        ] {
            let mut acc = GridSum::default();
            acc.add(v);
            let mut out = [0i64; LIMBS];
            acc.emit(&mut out);
            let got = decode(&out);
            let err = v - got;
            assert!(err.abs() < pow2(-90), "{v}: {got}");
        }
        // equal values with other carries decode alike
        assert_eq!(decode(&[0, 1 << 30, 0, 0]), decode(&[1, 0, 0, 0]));
        assert_eq!(decode(&[2, -(1 << 30), 5, 0]), decode(&[1, 0, 4, 1 << 30]));
        assert_eq!(decode(&[0, 0, 0, -1]), -pow2(-90));
        // an integer part beyond 2^36 (more than 2^35 terms over all ranks): the integer and
        // the fraction rounded apart, then added
        assert_eq!(decode(&[1 << 40, 1 << 29, 0, 0]), pow2(40) + 0.5);
        assert_eq!(decode(&[-(1 << 40), 0, 1 << 29, 0]), -pow2(40) + pow2(-31));
        // NaN adds nothing and panics nowhere
        let mut acc = GridSum::default();
        acc.add(f64::NAN);
        let mut out = [0i64; LIMBS];
        acc.emit(&mut out);
        assert_eq!(out, [0; LIMBS]);
    }

    /// `f64` terms go onto the grid `2^-90`, `f32` ones (and narrower) onto `2^-60`: of a term
    /// `2^-80 + 2^-58`, the fine grid keeps both bits and the coarse one `2^-58` only.
    #[test]
    fn each_element_type_takes_its_grid() {
        let v = pow2(-80) + pow2(-58);
        let sum_for = |fine: bool| {
            let mut acc = GridSum::default();
            if fine {
                acc.add_for::<f64>(v);
            } else {
                acc.add_for::<f32>(v);
            }
            let mut out = [0i64; LIMBS];
            acc.emit(&mut out);
            decode(&out)
        };
        assert_eq!(sum_for(true), v);
        assert_eq!(sum_for(false), pow2(-58));
        // the coarse grid truncates toward zero, as the fine one does below 2^-90
        let mut acc = GridSum::default();
        acc.add_coarse(-(pow2(-59) + pow2(-70)));
        let mut out = [0i64; LIMBS];
        acc.emit(&mut out);
        assert_eq!(decode(&out), -pow2(-59));
    }

    /// `pow2` against powers of two built by exact doubling and halving from 1, over and past
    /// the whole range (normal, subnormal, 0 below `2^-1074`, ∞ above `2^1023`).
    #[test]
    fn pow2_is_exact_over_the_range() {
        let mut up = 1.0f64;
        for e in 0..=1100 {
            assert_eq!(pow2(e).to_bits(), up.to_bits(), "2^{e}");
            up *= 2.0;
        }
        let mut down = 1.0f64;
        for e in 0..=1100 {
            assert_eq!(pow2(-e).to_bits(), down.to_bits(), "2^-{e}");
            down /= 2.0;
        }
    }

    /// The bound on allreduce calls, from its parts: the parameter check, per solve (the first
    /// and one per shifted frame: 8 for `f32`, 24 for `f64`) 40 Newton trial points, a
    /// bisection over the element's bits and two final evaluations, and the loss's final sums.
    #[test]
    fn allreduce_bound_is_the_sum_of_its_parts() {
        #[cfg(not(target_os = "none"))]
        {
            assert_eq!(max_allreduces(32), 1 + 9 * (40 + 32 + 2) + 1);
            assert_eq!(max_allreduces(64), 1 + 25 * (40 + 64 + 2) + 1);
        }
        assert_eq!(MAX_NEWTON_SHARDED, 40);
    }
}
