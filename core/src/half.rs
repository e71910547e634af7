//! Half-precision storage (issue 15): `bf16` and `f16` data with `f32` arithmetic.
//!
//! The functions here read [`Bf16`] or [`F16`] slices, widen every element exactly to `f32`
//! on the fly (a [`Source`] over the 16-bit data, so the unchanged `f32` solver runs without a
//! widened copy), and round each output to the storage type once, to nearest even. The result
//! is the `f32` result of the widened input, rounded (the solver's passes are those of the `f32`
//! slice functions bit for bit, see `kernel::MappedPasses`): each output is within one rounding of
//! the storage type (half an ulp) plus the `f32` bound of [`crate::soft_binary_argmax`], so
//! within 1 ulp of the exact projection — at most 2^-8 for `bf16` and 2^-11 for `f16` on
//! `y ∈ [0, 1]`. `Σ y` equals `k` only to that precision (n roundings of the outputs).
//!
//! Rules as for `f32`: the same errors in the same order, `±∞` entries are masks (`−∞ → 0`,
//! `+∞ → 1`; not on bare-metal targets), NaN patterns are [`Error::NonFiniteInput`], and on
//! error no output is modified. One rule is new: an output that is finite in `f32` but too
//! large for the storage type (a VJP or loss gradient entry of magnitude ≥ 65520 in `f16`)
//! is [`Error::ScaleOverflow`], checked before anything is written.
//!
//! ```
//! use hypersimplex::half::{soft_binary_argmax_half, Bf16, Half};
//! let x: Vec<Bf16> = [1.5f32, 0.25, -1.0, 0.75].iter().map(|&v| Bf16::from_f32(v)).collect();
//! let mut y = vec![Bf16::default(); 4];
//! soft_binary_argmax_half(&x, 2.0, 1.0, &mut y)?;
//! let sum: f32 = y.iter().map(|v| v.to_f32()).sum();
//! assert!((sum - 2.0).abs() <= 4.0 / 256.0);
//! # Ok::<(), hypersimplex::Error>(())
//! ```

mod convert;

pub use convert::{bf16_to_f32, f16_to_f32, f32_to_bf16, f32_to_f16, F16_OVERFLOW};

use crate::error::Error;
use crate::forward::{Projection, SAMPLE_FROM, SAMPLE_SIZE};
#[cfg(not(target_os = "none"))]
use crate::frame::{refine_mapped, Refined};
use crate::kernel::{MappedPasses, ScalarPasses, Source};
use crate::loss::{grad_entry, residual, ClassK, Reduction};
use crate::real::{Real, SolverFloat, SumAcc};
use crate::solve::{solve, Fill, Solution};
use crate::validate;

mod sealed {
    pub trait Sealed {}
}

/// A 16-bit floating-point storage format: [`Bf16`] or [`F16`] (sealed).
pub trait Half: Copy + Default + core::fmt::Debug + PartialEq + sealed::Sealed + 'static {
    /// `+0`.
    const ZERO: Self;
    /// `1`.
    const ONE: Self;
    /// The smallest `f32` magnitude that rounds to infinity in this format.
    const OVERFLOW: f32;
    /// The bit pattern.
    fn to_bits(self) -> u16;
    /// From a bit pattern.
    fn from_bits(bits: u16) -> Self;
    /// The exact `f32` value.
    fn to_f32(self) -> f32;
    /// `v` rounded to nearest even (NaN → a quiet NaN, overflow → `±∞`).
    fn from_f32(v: f32) -> Self;
    /// `true` for the NaN patterns.
    fn is_nan(self) -> bool;
}

/// bfloat16: 1 sign, 8 exponent and 7 mantissa bits (the upper half of an `f32`). Equality
/// is bitwise.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Bf16(pub u16);

/// IEEE 754 binary16: 1 sign, 5 exponent and 10 mantissa bits. Equality is bitwise.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct F16(pub u16);

/// `impl Half` for a 16-bit storage type: `ONE`'s bit pattern, `OVERFLOW`, the `+∞` pattern
/// (NaN patterns have a larger magnitude) and the two conversions of `convert`.
macro_rules! impl_half {
    ($t:ident, one: $one:expr, overflow: $overflow:expr, inf: $inf:expr,
     widen: $widen:ident, round: $round:ident) => {
        impl sealed::Sealed for $t {}

        impl Half for $t {
            const ZERO: Self = $t(0);
            const ONE: Self = $t($one);
            const OVERFLOW: f32 = $overflow;
            #[inline(always)]
            fn to_bits(self) -> u16 {
                self.0
            }
            #[inline(always)]
            fn from_bits(bits: u16) -> Self {
                $t(bits)
            }
            #[inline(always)]
            fn to_f32(self) -> f32 {
                $widen(self.0)
            }
            #[inline(always)]
            fn from_f32(v: f32) -> Self {
                $t($round(v))
            }
            #[inline(always)]
            fn is_nan(self) -> bool {
                self.0 & 0x7fff > $inf
            }
        }
    };
}

// OVERFLOW: the midpoint between the largest finite bf16 and 2^128 ties to the even pattern,
// ∞ (2 − 2^-8)·2^127, the f32 pattern 0x7f7f_8000 (checked in the tests)
impl_half!(Bf16, one: 0x3f80, overflow: 3.396_177_5e38, inf: 0x7f80,
    widen: bf16_to_f32, round: f32_to_bf16);
impl_half!(F16, one: 0x3c00, overflow: F16_OVERFLOW, inf: 0x7c00,
    widen: f16_to_f32, round: f32_to_f16);

/// Widens `src` into `dst` (exact; the common length), a loop the compiler vectorizes.
pub fn widen<H: Half>(src: &[H], dst: &mut [f32]) {
    for (d, &v) in dst.iter_mut().zip(src) {
        *d = v.to_f32();
    }
}

/// Rounds `src` into `dst` (nearest even; the common length), a loop the compiler vectorizes.
pub fn narrow<H: Half>(src: &[f32], dst: &mut [H]) {
    for (d, &v) in dst.iter_mut().zip(src) {
        *d = H::from_f32(v);
    }
}

/// A half-precision slice read as `f32` (each element widened exactly): the [`Source`] the
/// unchanged `f32` solver runs on.
#[derive(Clone, Copy, Debug)]
pub struct HalfSlice<'a, H>(pub &'a [H]);

impl<H: Half> Source<f32> for HalfSlice<'_, H> {
    #[inline]
    fn len(&self) -> usize {
        self.0.len()
    }
    #[inline(always)]
    fn for_each<F: FnMut(f32)>(&self, mut f: F) {
        for &v in self.0 {
            f(v.to_f32())
        }
    }
    #[inline(always)]
    fn for_each_quad<Q: FnMut([f32; 4])>(&self, mut quad: Q) -> ([f32; 4], usize) {
        let mut s = self.0;
        while let Some((q, rest)) = s.split_first_chunk::<4>() {
            quad(q.map(H::to_f32));
            s = rest;
        }
        let mut out = [0.0f32; 4];
        for (o, &v) in out.iter_mut().zip(s) {
            *o = v.to_f32();
        }
        (out, s.len())
    }
}

/// The solver's passes over half data ([`MappedPasses`] widening each element exactly), bit
/// for bit those of `ScalarPasses` over the widened `f32` slice.
#[inline(always)]
fn half_passes<H: Half>(x: &[H], scale: f32) -> MappedPasses<'_, H, f32, impl Fn(H) -> f32> {
    MappedPasses::new(x, |v: H| v.to_f32(), scale)
}

/// The sampled start point of `crate::forward::initial_guess`, over half data (the same
/// sample, widened).
fn initial_guess_half<H: Half>(x: &[H], scale: f32, k: f64) -> Option<f32> {
    let n = x.len();
    if n < SAMPLE_FROM {
        return None;
    }
    let stride = n / SAMPLE_SIZE;
    let mut buf = [0.0f32; SAMPLE_SIZE];
    let mut m = 0usize;
    for (slot, &v) in buf
        .iter_mut()
        .zip(x.iter().skip(stride / 2).step_by(stride.max(1)))
    {
        *slot = v.to_f32();
        m += 1;
    }
    let sample = buf.get(..m)?;
    let ks = k * m as f64 / n as f64;
    solve(&mut ScalarPasses::new(sample, scale), ks, None)
        .ok()
        .map(|s| s.lambda)
}

/// τ, k and the solve over the widened `x`; input with `±∞` takes the masked solve
/// (`crate::mask`), NaN is [`Error::NonFiniteInput`].
fn solved_half<H: Half>(x: &[H], k: f64, tau: f32) -> Result<(Solution<f32>, f32), Error> {
    let scale = validate::k_tau(x.len(), k, tau)?;
    let src = HalfSlice(x);
    match solve(
        &mut half_passes(x, scale),
        k,
        initial_guess_half(x, scale, k),
    ) {
        Ok(sol) => Ok((sol, scale)),
        Err(_) => nonfinite_fallback(&src, k, scale).map(|sol| (sol, scale)),
    }
}

/// Where the solved λ is large (issue 13): the solve again in the shifted frame
/// ([`crate::frame`]) over the widened, shifted blocks, so bit for bit what the `f32` functions
/// find on the widened input; `None` where λ is accurate as solved.
///
/// # Errors
/// None for input the first solve accepted.
#[cfg(not(target_os = "none"))]
fn refined_half<H: Half>(
    x: &[H],
    k: f64,
    tau: f32,
    scale: f32,
    sol: &Solution<f32>,
) -> Result<Option<Refined<f32>>, Error> {
    match crate::frame::shift_for(sol, tau, scale) {
        Some(sh) => refine_mapped(x, |v: H| v.to_f32(), k, sol, &sh).map(Some),
        None => Ok(None),
    }
}

/// `validate::nonfinite_fallback` over half data.
fn nonfinite_fallback<H: Half>(
    src: &HalfSlice<'_, H>,
    k: f64,
    scale: f32,
) -> Result<Solution<f32>, Error> {
    #[cfg(not(target_os = "none"))]
    {
        crate::mask::solve_masked(src, k, scale)
    }
    #[cfg(target_os = "none")]
    {
        let _ = (k, scale);
        Err(if src.0.iter().all(|v| v.to_f32().is_finite()) {
            Error::ScaleOverflow
        } else {
            Error::NonFiniteInput
        })
    }
}

/// One output of the forward pass: `clip(fl(x·s) − λ, 0, 1)` in `f32` (`±∞` give exact 0
/// and 1), rounded to the storage type.
#[inline(always)]
fn project_one<H: Half>(x: H, scale: f32, fill: Fill, lambda: f32) -> H {
    match fill {
        Fill::Clip => H::from_f32((x.to_f32() * scale - lambda).clip01()),
        Fill::Zeros => H::ZERO,
        Fill::Ones => H::ONE,
    }
}

/// One output in the shifted frame: `clip(fl(v·s) − λ, 0, 1)` with `v` the shifted widened
/// input (`±∞` masks map to sentinels that give exact 0 and 1) and `s` the frame's scale,
/// rounded to the storage type.
#[cfg(not(target_os = "none"))]
#[inline(always)]
fn project_shifted<H: Half>(x: H, r: &Refined<f32>) -> H {
    H::from_f32((r.value(x.to_f32()) * r.scale() - r.sol.lambda).clip01())
}

/// [`crate::soft_binary_argmax`] on half-precision data: `y = round(Π_Δ(n,k)(widen(x)/τ))`,
/// computed in `f32` (see the [module docs](self) for the accuracy and the rules).
///
/// # Errors
/// As [`crate::soft_binary_argmax`]; on error `y` is not modified.
pub fn soft_binary_argmax_half<H: Half>(
    x: &[H],
    k: f64,
    tau: f32,
    y: &mut [H],
) -> Result<Projection, Error> {
    if y.len() != x.len() {
        return Err(Error::LengthMismatch);
    }
    let (sol, scale) = solved_half(x, k, tau)?;
    #[cfg(not(target_os = "none"))]
    if let Some(r) = refined_half(x, k, tau, scale, &sol)? {
        for (o, &v) in y.iter_mut().zip(x) {
            *o = project_shifted(v, &r);
        }
        return Ok(r.projection(&sol));
    }
    for (o, &v) in y.iter_mut().zip(x) {
        *o = project_one(v, scale, sol.fill, sol.lambda);
    }
    Ok(sol.into())
}

/// [`soft_binary_argmax_half`] in place: `x ← round(Π_Δ(n,k)(widen(x)/τ))`.
///
/// # Errors
/// As [`soft_binary_argmax_half`]; on error `x` is not modified.
pub fn soft_binary_argmax_half_in_place<H: Half>(
    x: &mut [H],
    k: f64,
    tau: f32,
) -> Result<Projection, Error> {
    let (sol, scale) = solved_half(x, k, tau)?;
    #[cfg(not(target_os = "none"))]
    if let Some(r) = refined_half(x, k, tau, scale, &sol)? {
        for v in x.iter_mut() {
            *v = project_shifted(*v, &r);
        }
        return Ok(r.projection(&sol));
    }
    for v in x.iter_mut() {
        *v = project_one(*v, scale, sol.fill, sol.lambda);
    }
    Ok(sol.into())
}

/// `true` when `v` rounds to a finite value of the storage type (false for NaN).
#[inline(always)]
fn fits<H: Half>(v: f32) -> bool {
    v.abs() < H::OVERFLOW
}

/// `crate::backward::vjp_mean_checked` over half data: the mean of `g` on the free set of
/// `y`, after checking that every output `(g_i − mean)·s` is finite in the storage type.
fn vjp_mean_half<H: Half>(y: &[H], g: &[H], scale: f32) -> Result<f32, Error> {
    match vjp_mean_levels::<H>(y, g, scale)? {
        (mean, true) => Ok(mean),
        (_, false) => Err(Error::ScaleOverflow),
    }
}

/// [`vjp_mean_half`]'s checks in two levels: `Err` for what the `f32` VJP of the widened data
/// refuses (a non-finite input, an output that overflows `f32`), else the mean and whether
/// every output `(g_i − mean)·s` fits the storage type (the rows' order of errors needs the
/// two apart, see [`check_vjp_rows_half`]).
fn vjp_mean_levels<H: Half>(y: &[H], g: &[H], scale: f32) -> Result<(f32, bool), Error> {
    let mut count = 0usize;
    let mut sum = <<f32 as Real>::Sum as SumAcc<f32>>::ZERO;
    let mut finite = true;
    let mut amax = 0.0f32;
    for (&yi, &gi) in y.iter().zip(g) {
        let (yv, gv) = (yi.to_f32(), gi.to_f32());
        let a = gv.abs();
        finite &= (yv.abs() <= f32::MAX) & (a <= f32::MAX);
        amax = if a > amax { a } else { amax };
        let free = (yv > 0.0) & (yv < 1.0);
        count += free as usize;
        sum.add(gv.keep_if(free));
    }
    if !finite {
        return Err(Error::NonFiniteInput);
    }
    if count == 0 {
        return Ok((0.0, true));
    }
    type S = <f32 as Real>::Solver;
    let mean = f32::from_solver(
        <S as SolverFloat>::from_f64(SumAcc::<f32>::value(&sum))
            / <S as SolverFloat>::from_usize(count),
    );
    if !mean.is_finite() {
        return Err(Error::ScaleOverflow);
    }
    // every free output passes `ok` (one comparison settles ordinary inputs)
    let all = |ok: fn(f32) -> bool| {
        ok((amax + mean.abs()) * scale)
            || y.iter().zip(g).all(|(&a, &b)| {
                let a = a.to_f32();
                !((a > 0.0) & (a < 1.0)) || ok((b.to_f32() - mean) * scale)
            })
    };
    if !all(f32::is_finite) {
        return Err(Error::ScaleOverflow);
    }
    Ok((mean, all(fits::<H>)))
}

/// One VJP output: `(g − mean)·s` on the free set, 0 elsewhere, rounded.
#[inline(always)]
fn vjp_one<H: Half>(y: H, g: H, mean: f32, scale: f32) -> H {
    let y = y.to_f32();
    if (y > 0.0) & (y < 1.0) {
        H::from_f32((g.to_f32() - mean) * scale)
    } else {
        H::ZERO
    }
}

/// [`crate::soft_binary_argmax_vjp`] on half-precision data, in `f32`, each output rounded.
///
/// # Errors
/// As [`crate::soft_binary_argmax_vjp`], plus [`Error::ScaleOverflow`] when an output is too
/// large for the storage type; on error `grad_x` is not modified.
pub fn soft_binary_argmax_vjp_half<H: Half>(
    y: &[H],
    g: &[H],
    tau: f32,
    grad_x: &mut [H],
) -> Result<(), Error> {
    if grad_x.len() != y.len() || g.len() != y.len() {
        return Err(Error::LengthMismatch);
    }
    let scale = validate::tau_scale(tau)?;
    let mean = vjp_mean_half(y, g, scale)?;
    for ((o, &yi), &gi) in grad_x.iter_mut().zip(y).zip(g) {
        *o = vjp_one(yi, gi, mean, scale);
    }
    Ok(())
}

/// [`soft_binary_argmax_vjp_half`] in place: `g ← Jᵀg`.
///
/// # Errors
/// As [`soft_binary_argmax_vjp_half`]; on error `g` is not modified.
pub fn soft_binary_argmax_vjp_half_in_place<H: Half>(
    y: &[H],
    g: &mut [H],
    tau: f32,
) -> Result<(), Error> {
    if g.len() != y.len() {
        return Err(Error::LengthMismatch);
    }
    let scale = validate::tau_scale(tau)?;
    let mean = vjp_mean_half(y, g, scale)?;
    for (gi, &yi) in g.iter_mut().zip(y) {
        *gi = vjp_one(yi, *gi, mean, scale);
    }
    Ok(())
}

/// The order-preserving key of a non-NaN half value (`−0` and `+0` share one key).
#[inline(always)]
fn order_key<H: Half>(v: H) -> u16 {
    let b = v.to_bits();
    let b = if b == 0x8000 { 0 } else { b };
    if b & 0x8000 != 0 {
        !b
    } else {
        b | 0x8000
    }
}

/// The checks of the top-k mask: `k` an integer in `[0, n]`, NaN an error, `±∞` masks that
/// `k` must respect (as `crate::topk`).
fn topk_k<H: Half>(x: &[H], k: f64) -> Result<usize, Error> {
    let kk = validate::integer_k(x.len(), k)?;
    if !x.iter().all(|v| v.to_f32().is_finite()) {
        #[cfg(not(target_os = "none"))]
        crate::mask::mask_counts(&HalfSlice(x)).check(x.len(), k)?;
        #[cfg(target_os = "none")]
        return Err(Error::NonFiniteInput);
    }
    Ok(kk)
}

/// The key of the k-th largest value (`1 ≤ k ≤ n`) and how many entries equal to it are
/// selected, by a two-digit radix selection (two counting passes, no scratch).
fn kth_key<H: Half>(x: &[H], k: usize) -> (u16, usize) {
    let mut hist = [0usize; 256];
    for &v in x {
        if let Some(c) = hist.get_mut((order_key(v) >> 8) as usize) {
            *c += 1;
        }
    }
    let (hi, rest) = pick(&hist, k);
    hist = [0usize; 256];
    for &v in x {
        let key = order_key(v);
        if key >> 8 == hi as u16 {
            if let Some(c) = hist.get_mut((key & 0xff) as usize) {
                *c += 1;
            }
        }
    }
    let (lo, take) = pick(&hist, rest);
    (((hi as u16) << 8) | lo as u16, take)
}

/// The bucket, from the top, that holds the `r`-th largest count, and the rank inside it.
fn pick(hist: &[usize; 256], mut r: usize) -> (u8, usize) {
    for (b, &c) in hist.iter().enumerate().rev() {
        if c >= r {
            return (b as u8, r);
        }
        r -= c;
    }
    (0, r)
}

/// The top-k mask of `x` (as keys) written by `put(i, selected)`.
fn topk_write<H: Half>(x: &[H], k: usize, mut put: impl FnMut(usize, bool)) {
    let n = x.len();
    if k == 0 || k == n {
        (0..n).for_each(|i| put(i, k != 0));
        return;
    }
    let (t, mut ties) = kth_key(x, k);
    for (i, &v) in x.iter().enumerate() {
        let key = order_key(v);
        let tie = key == t && ties > 0;
        ties -= tie as usize;
        put(i, key > t || tie);
    }
}

/// [`crate::binary_argmax`] on half-precision data: the top-k 0/1 mask (ties toward the lower
/// index, `±0` equal), found by radix selection on the 16-bit patterns (three passes, no
/// scratch).
///
/// # Errors
/// As [`crate::binary_argmax`]; on error `y` is not modified.
pub fn binary_argmax_half<H: Half>(x: &[H], k: f64, y: &mut [H]) -> Result<(), Error> {
    if y.len() != x.len() {
        return Err(Error::LengthMismatch);
    }
    let k = topk_k(x, k)?;
    topk_write(x, k, |i, on| {
        if let Some(o) = y.get_mut(i) {
            *o = if on { H::ONE } else { H::ZERO };
        }
    });
    Ok(())
}

/// [`binary_argmax_half`] in place, `x ← r_k(x)` (the same three passes).
///
/// # Errors
/// As [`binary_argmax_half`]; on error `x` is not modified.
pub fn binary_argmax_half_in_place<H: Half>(x: &mut [H], k: f64) -> Result<(), Error> {
    let k = topk_k(x, k)?;
    let n = x.len();
    if k == 0 || k == n {
        let fill = if k == 0 { H::ZERO } else { H::ONE };
        x.iter_mut().for_each(|v| *v = fill);
        return Ok(());
    }
    let (t, mut ties) = kth_key(x, k);
    for v in x.iter_mut() {
        let key = order_key(*v);
        let tie = key == t && ties > 0;
        ties -= tie as usize;
        *v = if key > t || tie { H::ONE } else { H::ZERO };
    }
    Ok(())
}

/// [`binary_argmax_half`] of each row of a row-major matrix of `ks.len()` rows of `n` (row `r`
/// with `k = ks[r]`), every row checked before any is written.
///
/// # Errors
/// [`Error::LengthMismatch`] (`x` or `y` not `ks.len()·n` long), then the first failing row's
/// error as [`binary_argmax_half`]'s; on error `y` is not modified.
pub fn binary_argmax_half_rows<H: Half>(
    x: &[H],
    n: usize,
    ks: &[usize],
    y: &mut [H],
) -> Result<(), Error> {
    if y.len() != x.len() {
        return Err(Error::LengthMismatch);
    }
    crate::topk::rows_checked(x, n, ks, topk_k)?;
    let (mut xr, mut yr) = (x, y);
    for &k in ks {
        let ((a, xt), (b, yt)) = match (xr.split_at_checked(n), yr.split_at_mut_checked(n)) {
            (Some(xs), Some(ys)) => (xs, ys),
            _ => break,
        };
        topk_write(a, k, |i, on| {
            if let Some(o) = b.get_mut(i) {
                *o = if on { H::ONE } else { H::ZERO };
            }
        });
        (xr, yr) = (xt, yt);
    }
    Ok(())
}

/// [`binary_argmax_half_rows`] written over `x` (each row as [`binary_argmax_half_in_place`]).
///
/// # Errors
/// As [`binary_argmax_half_rows`]; on error `x` is not modified.
pub fn binary_argmax_half_rows_in_place<H: Half>(
    x: &mut [H],
    n: usize,
    ks: &[usize],
) -> Result<(), Error> {
    crate::topk::rows_checked(x, n, ks, topk_k)?;
    let mut rest = x;
    for &k in ks {
        let Some((row, tail)) = rest.split_at_mut_checked(n) else {
            break;
        };
        // checked above: cannot fail
        let _ = binary_argmax_half_in_place(row, k as f64);
        rest = tail;
    }
    Ok(())
}

/// [`Error::ScaleOverflow`] unless every loss gradient entry (magnitude ≤ `2s`) is finite in
/// the storage type (after the `f32` check, `validate::grad_scale`).
#[doc(hidden)]
pub fn grad_scale_half<H: Half>(scale: f32) -> Result<(), Error> {
    validate::grad_scale(scale)?;
    if fits::<H>(scale + scale) {
        Ok(())
    } else {
        Err(Error::ScaleOverflow)
    }
}

/// `½·sq` (or the mean) as the loss value.
fn loss_value(sq: <f32 as Real>::Solver) -> f32 {
    f32::from_solver(<<f32 as Real>::Solver as SolverFloat>::HALF * sq)
}

/// [`crate::hypersimplex_loss`] on half-precision data: the loss of the widened input and
/// target in `f32` (returned as `f32`), its gradient rounded to the storage type.
///
/// # Errors
/// As [`crate::hypersimplex_loss`]; [`Error::ScaleOverflow`] also when `2/τ` does not fit the
/// storage type and a gradient is asked for. On error `grad_x` is not modified.
pub fn hypersimplex_loss_half<H: Half>(
    x: &[H],
    target: &[H],
    k: f64,
    tau: f32,
    grad_x: Option<&mut [H]>,
) -> Result<f32, Error> {
    let n = x.len();
    if target.len() != n || grad_x.as_ref().is_some_and(|g| g.len() != n) {
        return Err(Error::LengthMismatch);
    }
    if !target.iter().fold(true, |ok, &t| {
        ok & (t.to_f32() >= 0.0) & (t.to_f32() <= 1.0)
    }) {
        return Err(Error::InvalidTarget);
    }
    let (sol, scale) = solved_half(x, k, tau)?;
    if grad_x.is_some() {
        grad_scale_half::<H>(scale)?;
    }
    // In the shifted frame where λ is large (issue 13), as the `f32` loss computes it.
    #[cfg(not(target_os = "none"))]
    let (lam, frame) = match refined_half(x, k, tau, scale, &sol)? {
        Some(r) => (r.sol.lambda, Some(r.replay)),
        None => (sol.lambda, None),
    };
    #[cfg(not(target_os = "none"))]
    let vscale = frame.map_or(scale, |r| r.scale);
    #[cfg(not(target_os = "none"))]
    let widen1 = |a: H| match frame {
        Some(r) => r.apply(a.to_f32()),
        None => a.to_f32(),
    };
    #[cfg(target_os = "none")]
    let (lam, widen1, vscale) = (sol.lambda, |a: H| a.to_f32(), scale);
    let pairs = x.iter().zip(target).map(|(&a, &b)| (widen1(a), b.to_f32()));
    let res = residual(pairs, vscale, lam);
    if let Some(g) = grad_x {
        let mean = res.mean::<f32>();
        for ((gi, &xi), &ti) in g.iter_mut().zip(x).zip(target) {
            *gi = H::from_f32(grad_entry(
                widen1(xi),
                ti.to_f32(),
                vscale,
                lam,
                mean,
                scale,
            ));
        }
    }
    Ok(loss_value(
        <<f32 as Real>::Solver as SolverFloat>::from_f64(res.sq),
    ))
}

/// Gathers column `c` of the row-major `logits` (widened) into `col`.
fn gather<H: Half>(logits: &[H], classes: usize, c: usize, col: &mut [f32]) {
    for (dst, v) in col
        .iter_mut()
        .zip(logits.iter().skip(c).step_by(classes.max(1)))
    {
        *dst = v.to_f32();
    }
}

/// [`crate::hypersimplex_loss_multiclass`] on half-precision logits: each column is widened
/// into `scratch` (`f32`, at least `labels.len()` elements) and solved as the `f32` loss
/// solves it, so the loss (returned as `f32`) is the `f32` loss of the widened logits and
/// each gradient entry is its `f32` value rounded to the storage type.
///
/// # Errors
/// As [`crate::hypersimplex_loss_multiclass`] ([`Error::ScratchTooSmall`] for a short `f32`
/// scratch); [`Error::ScaleOverflow`] also when `2/τ` does not fit the storage type and a
/// gradient is asked for. On error `grad` is not modified.
#[allow(clippy::too_many_arguments)]
pub fn hypersimplex_loss_multiclass_half<H: Half>(
    logits: &[H],
    labels: &[u32],
    classes: usize,
    k: ClassK<'_>,
    tau: f32,
    reduction: Reduction,
    grad: Option<&mut [H]>,
    scratch: &mut [f32],
) -> Result<f32, Error> {
    multiclass_half(
        logits, labels, classes, k, tau, reduction, grad, scratch, None,
    )
}

/// [`hypersimplex_loss_multiclass_half`] that also reports each class column's threshold, as
/// [`crate::hypersimplex_loss_multiclass_lambda`] does: `lambda[c] = λ_c` of the widened
/// column (the `f32` threshold, widened to `f64`).
///
/// # Errors
/// As [`hypersimplex_loss_multiclass_half`], and [`Error::LengthMismatch`] unless
/// `lambda.len() == classes`. On error `grad` and `lambda` are not modified.
#[allow(clippy::too_many_arguments)]
pub fn hypersimplex_loss_multiclass_lambda_half<H: Half>(
    logits: &[H],
    labels: &[u32],
    classes: usize,
    k: ClassK<'_>,
    tau: f32,
    reduction: Reduction,
    grad: Option<&mut [H]>,
    scratch: &mut [f32],
    lambda: &mut [f64],
) -> Result<f32, Error> {
    if lambda.len() != classes {
        return Err(Error::LengthMismatch);
    }
    multiclass_half(
        logits,
        labels,
        classes,
        k,
        tau,
        reduction,
        grad,
        scratch,
        Some(lambda),
    )
}

#[allow(clippy::too_many_arguments)]
fn multiclass_half<H: Half>(
    logits: &[H],
    labels: &[u32],
    classes: usize,
    k: ClassK<'_>,
    tau: f32,
    reduction: Reduction,
    grad: Option<&mut [H]>,
    scratch: &mut [f32],
    lambda: Option<&mut [f64]>,
) -> Result<f32, Error> {
    let batch = labels.len();
    let grad_len = grad.as_ref().map(|g| g.len());
    let (total, scale) =
        validate::multiclass_args(logits.len(), labels, classes, k, tau, grad_len)?;
    if grad.is_some() {
        grad_scale_half::<H>(scale)?;
    }
    let col = scratch.get_mut(..batch).ok_or(Error::ScratchTooSmall)?;
    if !logits.iter().all(|&v| (v.to_f32() * scale).is_finite()) {
        // masks: NaN anywhere first, then each column's k against its masks
        if logits.iter().any(|v| v.is_nan()) {
            return Err(Error::NonFiniteInput);
        }
        #[cfg(target_os = "none")]
        return Err(if logits.iter().all(|v| v.to_f32().is_finite()) {
            Error::ScaleOverflow
        } else {
            Error::NonFiniteInput
        });
        #[cfg(not(target_os = "none"))]
        for c in 0..classes {
            gather(logits, classes, c, col);
            crate::mask::check_line(&*col, k.of_class(labels, c), scale)?;
        }
    }
    crate::loss::columns(
        logits,
        H::to_f32,
        labels,
        classes,
        k,
        (tau, scale, total),
        reduction,
        grad,
        H::from_f32,
        col,
        lambda,
    )
}

/// The checks of [`soft_binary_argmax_half_rows`] (the order of the C ABI's row functions):
/// lengths, τ, every row's `k`, then every row's data (NaN, masks against `k`, overflow);
/// returns `fl(1/τ)`. After it, no row of the forward can fail.
///
/// # Errors
/// As [`soft_binary_argmax_half_rows`].
#[doc(hidden)]
pub fn check_rows_half<H: Half>(
    x: &[H],
    y_len: usize,
    n: usize,
    ks: &[f64],
    tau: f32,
) -> Result<f32, Error> {
    let total = validate::shape(ks.len(), n)?;
    if x.len() != total || y_len != total {
        return Err(Error::LengthMismatch);
    }
    let scale = validate::tau_scale(tau)?;
    for &k in ks {
        validate::k_in_range(n, k)?;
    }
    // a fold, not `all`: no early exit, so the loop vectorizes (the rare failure is rechecked)
    let finite = x
        .iter()
        .fold(true, |ok, v| ok & (v.to_f32() * scale).is_finite());
    if n > 0 && !finite {
        #[cfg(target_os = "none")]
        return Err(if x.iter().all(|v| v.to_f32().is_finite()) {
            Error::ScaleOverflow
        } else {
            Error::NonFiniteInput
        });
        #[cfg(not(target_os = "none"))]
        {
            let mut rest = x;
            for &k in ks {
                let Some((row, tail)) = rest.split_at_checked(n) else {
                    break;
                };
                crate::mask::check_line(&HalfSlice(row), k, scale)?;
                rest = tail;
            }
        }
    }
    Ok(scale)
}

/// [`soft_binary_argmax_half`] of each row of a row-major `ks.len() × n` matrix, row `r` with
/// target `ks[r]`. Every row is validated before any row is written.
///
/// # Errors
/// [`Error::LengthMismatch`] (`x`, `y` not `ks.len()·n` long), then as
/// [`soft_binary_argmax_half`] for any row; on error `y` is not modified.
pub fn soft_binary_argmax_half_rows<H: Half>(
    x: &[H],
    n: usize,
    ks: &[f64],
    tau: f32,
    y: &mut [H],
) -> Result<(), Error> {
    check_rows_half(x, y.len(), n, ks, tau)?;
    crate::rows::with_k(x, n, ks, y, |xr, k, yr| {
        soft_binary_argmax_half(xr, k, tau, yr)
    })
}

/// [`soft_binary_argmax_half_rows`] in place.
///
/// # Errors
/// As [`soft_binary_argmax_half_rows`]; on error `x` is not modified.
pub fn soft_binary_argmax_half_rows_in_place<H: Half>(
    x: &mut [H],
    n: usize,
    ks: &[f64],
    tau: f32,
) -> Result<(), Error> {
    check_rows_half(x, x.len(), n, ks, tau)?;
    crate::rows::with_k_in_place(x, n, ks, |xr, k| {
        soft_binary_argmax_half_in_place(xr, k, tau)
    })
}

/// The checks of the row-wise VJP: lengths, τ, then every row's data as the `f32` VJP of the
/// widened rows checks it (its first failing row's status), then the format's overflow.
fn check_vjp_rows_half<H: Half>(
    y: &[H],
    g: &[H],
    out_len: usize,
    n: usize,
    tau: f32,
) -> Result<(), Error> {
    if g.len() != y.len()
        || out_len != y.len()
        || (n == 0 && !y.is_empty())
        || (n > 0 && y.len() % n != 0)
    {
        return Err(Error::LengthMismatch);
    }
    let scale = validate::tau_scale(tau)?;
    // The f32 VJP's status on the widened rows first (its first failing row's), then the
    // format's: a row whose outputs fit f32 but not `H` fails only where no row fails in f32.
    let mut fits = true;
    crate::rows::pairs(y, g, n, |yr, gr| {
        fits &= vjp_mean_levels::<H>(yr, gr, scale)?.1;
        Ok::<(), Error>(())
    })?;
    if fits {
        Ok(())
    } else {
        Err(Error::ScaleOverflow)
    }
}

/// [`soft_binary_argmax_vjp_half`] of each row of row-major `y`, `g` (rows of `n`). Every row
/// is validated before any row is written.
///
/// # Errors
/// [`Error::LengthMismatch`] (lengths not equal multiples of `n`), then as
/// [`soft_binary_argmax_vjp_half`] for any row; on error `grad_x` is not modified.
pub fn soft_binary_argmax_vjp_half_rows<H: Half>(
    y: &[H],
    g: &[H],
    n: usize,
    tau: f32,
    grad_x: &mut [H],
) -> Result<(), Error> {
    check_vjp_rows_half(y, g, grad_x.len(), n, tau)?;
    crate::rows::triples(y, g, grad_x, n, |yr, gr, or| {
        soft_binary_argmax_vjp_half(yr, gr, tau, or)
    })
}

/// [`soft_binary_argmax_vjp_half_rows`] in place over `g`.
///
/// # Errors
/// As [`soft_binary_argmax_vjp_half_rows`]; on error `g` is not modified.
pub fn soft_binary_argmax_vjp_half_rows_in_place<H: Half>(
    y: &[H],
    g: &mut [H],
    n: usize,
    tau: f32,
) -> Result<(), Error> {
    check_vjp_rows_half(y, g, g.len(), n, tau)?;
    crate::rows::pairs_mut(y, g, n, |yr, gr| {
        soft_binary_argmax_vjp_half_in_place(yr, gr, tau)
    })
}
