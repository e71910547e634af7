//! The half-precision VJP `out_i = round((widen(g_i) − m)·s)` on the free set `A = {0 <
//! widen(y_i) < 1}`, `+0` elsewhere, with `m = mean_A widen(g)` and `s = 1/τ`: bitwise the
//! `f32` VJP [`Kernels::soft_binary_argmax_vjp`] of the exactly widened `y` and `g`, each
//! output rounded once to nearest even.
//!
//! * **On the AVX2 path** (`bf16`; `f16` with F16C) the backward kernels of `crate::kernels`
//!   (`free_mean_io`, `vjp_io`, `vjp_in_place_io`) run with the half loads and stores of
//!   `x86.rs` (`HalfIo`: 8 elements widened per load, 16 rounded per store): the `f32` loops
//!   themselves, so the free-set sum is taken in the same `f64` lanes in the same order, over
//!   the same blocks (`reduce2`, `write2`), as the `f32` VJP of the widened data, whatever the
//!   number of threads.
//! * **Elsewhere** (the scalar path, NEON, `f16` without F16C, vectors and rows of at most
//!   `VJP_SHORT_MAX` = 96 elements, and inputs where the `f32` VJP takes its checking pass):
//!   `y` and `g` are widened into `f32` buffers, this path's `f32` VJP (single or rows) runs on
//!   them, and the result is rounded: bitwise the `f32` function's on the same path, whatever
//!   its free-set sum order (the core's scalar half VJP sums sequentially, which the NEON `f32`
//!   kernels do not; it remains the fallback when the buffers cannot be allocated).
//!
//! The checks are the `f32` VJP's, in its order (lengths, τ, then `NonFiniteInput` and
//! `ScaleOverflow` from the data), plus the half rule of the core crate: an output that is
//! finite in `f32` but rounds to infinity in the storage type is [`Error::ScaleOverflow`].
//! Everything is checked before anything is written, so on error the output is untouched.
//! The finiteness check rides on the free-mean kernel: every `|g_i|` at most
//! `min(vjp_limit(s), OVERFLOW/(4·max(s, 1)))` proves every output finite in the format;
//! otherwise a scalar pass decides (every output's own check, or, where the `f32` VJP itself
//! takes its checking pass, the widened route above).

use hypersimplex::half::{self as core_half, Half};
use hypersimplex::internal::validate::{tau_scale as check_tau, vjp_limit};
use hypersimplex::{Error, Real};

use crate::ops::merge_free;
use crate::passes::{reduce2, write, write2};
use crate::platform::Kernels;
use crate::small::VJP_SHORT_MAX;

use super::Conv;
#[cfg(target_arch = "x86_64")]
use super::{cast, cast_mut, x86};
#[cfg(target_arch = "x86_64")]
use hypersimplex::half::{Bf16, F16};

/// The half VJP kernels of one format (only on a path and CPU that runs them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fmt {
    /// `bf16` with AVX2.
    #[cfg(target_arch = "x86_64")]
    Bf16,
    /// `f16` with AVX2 and F16C.
    #[cfg(target_arch = "x86_64")]
    F16,
}

/// The kernels for `H` on the path of `k`, if it has them.
fn kernels_for<H: Half>(k: Kernels) -> Option<Fmt> {
    #[cfg(target_arch = "x86_64")]
    {
        use core::any::TypeId;
        let (conv, h) = (Conv::new(k), TypeId::of::<H>());
        if h == TypeId::of::<Bf16>() && (conv == Conv::Avx2 || conv == Conv::F16c) {
            return Some(Fmt::Bf16);
        }
        if h == TypeId::of::<F16>() && conv == Conv::F16c {
            return Some(Fmt::F16);
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = k;
    None
}

impl Fmt {
    /// `(|A|, Σ_A widen(g), every |widen(y_i)| ≤ MAX and |widen(g_i)| ≤ limit)`.
    #[allow(unused_variables)]
    fn free_mean<H: Half>(self, y: &[H], g: &[H], limit: f32) -> (usize, f64, bool) {
        #[cfg(target_arch = "x86_64")]
        match self {
            // SAFETY (both): `Fmt::Bf16` exists only on the AVX2 path, `Fmt::F16` only with
            // AVX2 and F16C (`kernels_for`); the casts check the type.
            Fmt::Bf16 => {
                if let (Some(y), Some(g)) = (cast::<H, Bf16>(y), cast::<H, Bf16>(g)) {
                    return unsafe { x86::free_mean_bf16(y, g, limit) };
                }
            }
            Fmt::F16 => {
                if let (Some(y), Some(g)) = (cast::<H, F16>(y), cast::<H, F16>(g)) {
                    return unsafe { x86::free_mean_f16(y, g, limit) };
                }
            }
        }
        (0, 0.0, false) // unreachable: the checking pass decides
    }

    /// `out_i = round((widen(g_i) − mean)·s)` on the free set, `+0` elsewhere.
    #[allow(unused_variables)]
    fn vjp<H: Half>(self, y: &[H], g: &[H], mean: f32, s: f32, out: &mut [H]) {
        #[cfg(target_arch = "x86_64")]
        match self {
            // SAFETY (both): as in `free_mean`.
            Fmt::Bf16 => {
                if let (Some(y), Some(g)) = (cast::<H, Bf16>(y), cast::<H, Bf16>(g)) {
                    if let Some(o) = cast_mut::<H, Bf16>(out) {
                        return unsafe { x86::vjp_bf16(y, g, mean, s, o) };
                    }
                }
            }
            Fmt::F16 => {
                if let (Some(y), Some(g)) = (cast::<H, F16>(y), cast::<H, F16>(g)) {
                    if let Some(o) = cast_mut::<H, F16>(out) {
                        return unsafe { x86::vjp_f16(y, g, mean, s, o) };
                    }
                }
            }
        }
        for ((o, &yi), &gi) in out.iter_mut().zip(y).zip(g) {
            *o = entry(yi, gi, mean, s); // unreachable: the same values in scalar code
        }
    }

    /// [`Fmt::vjp`] in place over `g`.
    #[allow(unused_variables)]
    fn vjp_in_place<H: Half>(self, y: &[H], g: &mut [H], mean: f32, s: f32) {
        #[cfg(target_arch = "x86_64")]
        match self {
            // SAFETY (both): as in `free_mean`.
            Fmt::Bf16 => {
                if let (Some(y), Some(g)) = (cast::<H, Bf16>(y), cast_mut::<H, Bf16>(g)) {
                    return unsafe { x86::vjp_in_place_bf16(y, g, mean, s) };
                }
            }
            Fmt::F16 => {
                if let (Some(y), Some(g)) = (cast::<H, F16>(y), cast_mut::<H, F16>(g)) {
                    return unsafe { x86::vjp_in_place_f16(y, g, mean, s) };
                }
            }
        }
        for (gi, &yi) in g.iter_mut().zip(y) {
            *gi = entry(yi, *gi, mean, s); // unreachable: the same values in scalar code
        }
    }
}

/// One output: `round((widen(g) − mean)·s)` where `0 < widen(y) < 1`, else `+0`.
#[inline(always)]
fn entry<H: Half>(y: H, g: H, mean: f32, s: f32) -> H {
    H::from_f32(hypersimplex::internal::vjp_entry(
        y.to_f32(),
        g.to_f32(),
        mean,
        s,
    ))
}

/// The mean of a vector, or the core's half VJP to run instead.
enum Mean {
    /// `mean_A widen(g)`, every output checked finite in the format.
    Ready(f32),
    /// The `f32` VJP takes its checking pass here (`NonFiniteInput`, or some `|g_i|` above
    /// `vjp_limit(s)`): the core's half VJP computes that pass's mean and errors.
    Core,
}

/// The bound on `|g_i|` below which no output `(g_i − mean)·s` rounds to infinity in `H`
/// (as `vjp_limit` for `f32`: `2L·s ≤ OVERFLOW/2`).
fn half_limit<H: Half>(scale: f32) -> f32 {
    if scale > 1.0 {
        H::OVERFLOW / (4.0 * scale)
    } else {
        H::OVERFLOW / 4.0
    }
}

/// [`Mean`] of one vector longer than `VJP_SHORT_MAX` (validated `scale`): the sum of the
/// `f32` VJP's `ops::vjp_mean` (blocks and kernel lanes), then, unless the kernel's bound
/// proved it, every free output's own check in the format.
fn half_mean<H: Half + Sync>(f: Fmt, y: &[H], g: &[H], scale: f32) -> Result<Mean, Error> {
    let limit = vjp_limit(scale);
    let lim = limit.min(half_limit::<H>(scale));
    let (count, sum, small) =
        reduce2(y, g, |a, b| f.free_mean(a, b, lim), merge_free).unwrap_or((0, 0.0, true));
    if !small {
        let f32_small = y.iter().zip(g).fold(true, |ok, (a, b)| {
            ok & (a.to_f32().abs() <= f32::MAX) & (b.to_f32().abs() <= limit)
        });
        if !f32_small {
            return Ok(Mean::Core);
        }
    }
    let mean = if count > 0 {
        <f32 as Real>::from_f64(sum / count as f64)
    } else {
        0.0
    };
    if !small {
        let fits = y.iter().zip(g).all(|(a, b)| {
            let a = a.to_f32();
            !((a > 0.0) & (a < 1.0)) || ((b.to_f32() - mean) * scale).abs() < H::OVERFLOW
        });
        if !fits {
            return Err(Error::ScaleOverflow);
        }
    }
    Ok(Mean::Ready(mean))
}

/// The length checks of the row-wise VJP (as the core crate's).
fn rows_shape(y: usize, g: usize, out: usize, n: usize) -> Result<(), Error> {
    if g != y || out != y || (n == 0 && y != 0) || (n > 0 && y % n != 0) {
        return Err(Error::LengthMismatch);
    }
    Ok(())
}

impl Kernels {
    /// The VJP through widened copies, where the half kernels do not run (no kernels for `H`
    /// on this path, short vectors and rows, a vector or row that takes the `f32` VJP's
    /// checking pass): `y` and `g` widened into `f32` buffers, this path's `f32` VJP (of one
    /// vector, or of the rows of `n` with `rows`), then the half rule (an output that rounds to
    /// infinity in `H` is [`Error::ScaleOverflow`]) and the rounding into `out`. Bitwise the
    /// `f32` function's result on this path whatever its sum order. `g` `None`: the gradient
    /// is `out` itself (in place). Without memory for the buffers, the core's half VJP (the same
    /// values but for the order of the free-set sum).
    fn widened_vjp<H: Half + Send + Sync>(
        self,
        y: &[H],
        g: Option<&[H]>,
        rows: Option<usize>,
        tau: f32,
        out: &mut [H],
    ) -> Result<(), Error> {
        let n = y.len();
        let g_len = g.map_or(out.len(), |g| g.len());
        match rows {
            Some(r) => rows_shape(n, g_len, out.len(), r)?,
            None if g_len != n || out.len() != n => return Err(Error::LengthMismatch),
            None => {}
        }
        let mut buf = Vec::new();
        if buf.try_reserve_exact(3 * n).is_err() {
            return match (rows, g) {
                (None, Some(g)) => core_half::soft_binary_argmax_vjp_half(y, g, tau, out),
                (None, None) => core_half::soft_binary_argmax_vjp_half_in_place(y, out, tau),
                (Some(r), Some(g)) => {
                    core_half::soft_binary_argmax_vjp_half_rows(y, g, r, tau, out)
                }
                (Some(r), None) => {
                    core_half::soft_binary_argmax_vjp_half_rows_in_place(y, out, r, tau)
                }
            };
        }
        buf.resize(3 * n, 0.0f32);
        let (yw, rest) = buf.split_at_mut(n);
        let (gw, ow) = rest.split_at_mut(n);
        let conv = Conv::new(self);
        conv.widen(y, yw);
        conv.widen(g.unwrap_or(out), gw);
        match rows {
            Some(r) if r > 0 => self.soft_binary_argmax_vjp_rows(yw, gw, n / r, r, tau, ow)?,
            // rows of no elements: nothing to compute, but τ is checked as the f32 function
            // checks it (a fuzzer found `n = 0` with τ = 0 accepted here, refused in f32)
            Some(_) => {
                check_tau(tau)?;
            }
            None => self.soft_binary_argmax_vjp(yw, gw, tau, ow)?,
        }
        if ow.iter().any(|v| v.abs() >= H::OVERFLOW) {
            return Err(Error::ScaleOverflow);
        }
        conv.narrow(ow, out);
        Ok(())
    }

    /// The VJP on half-precision storage: `grad_x_i = round((widen(g_i) − m)·s)` on `A = {0 <
    /// widen(y_i) < 1}`, `+0` elsewhere, `m = mean_A widen(g)`, `s = 1/τ`; bitwise the `f32`
    /// VJP [`Kernels::soft_binary_argmax_vjp`] of the widened `y` and `g`, each output rounded
    /// once to nearest even (see the module documentation for where it runs).
    ///
    /// # Errors
    /// As [`Kernels::soft_binary_argmax_vjp`], plus [`Error::ScaleOverflow`] when an output
    /// rounds to infinity in `H`; on error `grad_x` is not modified.
    pub fn soft_binary_argmax_vjp_half<H: Half + Send + Sync>(
        self,
        y: &[H],
        g: &[H],
        tau: f32,
        grad_x: &mut [H],
    ) -> Result<(), Error> {
        let f = match kernels_for::<H>(self) {
            Some(f) if y.len() > VJP_SHORT_MAX => f,
            _ => return self.widened_vjp(y, Some(g), None, tau, grad_x),
        };
        if grad_x.len() != y.len() || g.len() != y.len() {
            return Err(Error::LengthMismatch);
        }
        let scale = check_tau(tau)?;
        match half_mean(f, y, g, scale)? {
            Mean::Ready(m) => write2(y, g, grad_x, |a, b, o| f.vjp(a, b, m, scale, o)),
            Mean::Core => return self.widened_vjp(y, Some(g), None, tau, grad_x),
        }
        Ok(())
    }

    /// [`Kernels::soft_binary_argmax_vjp_half`] in place: `g ← Jᵀg`.
    ///
    /// # Errors
    /// As [`Kernels::soft_binary_argmax_vjp_half`]; on error `g` is not modified.
    pub fn soft_binary_argmax_vjp_half_in_place<H: Half + Send + Sync>(
        self,
        y: &[H],
        g: &mut [H],
        tau: f32,
    ) -> Result<(), Error> {
        let f = match kernels_for::<H>(self) {
            Some(f) if y.len() > VJP_SHORT_MAX => f,
            _ => return self.widened_vjp(y, None, None, tau, g),
        };
        if g.len() != y.len() {
            return Err(Error::LengthMismatch);
        }
        let scale = check_tau(tau)?;
        match half_mean(f, y, g, scale)? {
            // `write` pairs blocks of `y` with blocks of `g`, which it overwrites in place.
            Mean::Ready(m) => write(y, g, |a, o| f.vjp_in_place(a, o, m, scale)),
            Mean::Core => return self.widened_vjp(y, None, None, tau, g),
        }
        Ok(())
    }

    /// [`Kernels::soft_binary_argmax_vjp_half`] of each row of the row-major `y`, `g` (rows of
    /// `n`), as `hypersimplex::half::soft_binary_argmax_vjp_half_rows`: every row is checked
    /// (its mean computed) before any row is written. Rows run one after the other, each split
    /// over the rayon pool when long.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] (lengths not equal multiples of `n`), then as
    /// [`Kernels::soft_binary_argmax_vjp_half`] for any row (the first failing one), and
    /// [`Error::OutOfMemory`] when the table of row means cannot be allocated; on error
    /// `grad_x` is not modified.
    pub fn soft_binary_argmax_vjp_half_rows<H: Half + Send + Sync>(
        self,
        y: &[H],
        g: &[H],
        n: usize,
        tau: f32,
        grad_x: &mut [H],
    ) -> Result<(), Error> {
        let Some((f, scale, means)) = self.half_row_means(y, g, grad_x.len(), n, tau)? else {
            return self.widened_vjp(y, Some(g), Some(n), tau, grad_x);
        };
        let rows = grad_x.chunks_mut(n).zip(y.chunks(n).zip(g.chunks(n)));
        for ((o, (yr, gr)), &m) in rows.zip(&means) {
            write2(yr, gr, o, |a, b, out| f.vjp(a, b, m, scale, out));
        }
        Ok(())
    }

    /// [`Kernels::soft_binary_argmax_vjp_half_rows`] in place over `g`.
    ///
    /// # Errors
    /// As [`Kernels::soft_binary_argmax_vjp_half_rows`]; on error `g` is not modified.
    pub fn soft_binary_argmax_vjp_half_rows_in_place<H: Half + Send + Sync>(
        self,
        y: &[H],
        g: &mut [H],
        n: usize,
        tau: f32,
    ) -> Result<(), Error> {
        let Some((f, scale, means)) = self.half_row_means(y, g, g.len(), n, tau)? else {
            return self.widened_vjp(y, None, Some(n), tau, g);
        };
        for ((gr, yr), &m) in g.chunks_mut(n).zip(y.chunks(n)).zip(&means) {
            write(yr, gr, |a, o| f.vjp_in_place(a, o, m, scale));
        }
        Ok(())
    }

    /// The checks and means of every row for the kernels (`None`: the core's row-wise half
    /// VJP runs instead: no kernels for `H` here, rows of at most `VJP_SHORT_MAX`, or a row
    /// where the `f32` VJP takes its checking pass).
    #[allow(clippy::type_complexity)]
    fn half_row_means<H: Half + Sync>(
        self,
        y: &[H],
        g: &[H],
        out_len: usize,
        n: usize,
        tau: f32,
    ) -> Result<Option<(Fmt, f32, Vec<f32>)>, Error> {
        let f = match kernels_for::<H>(self) {
            Some(f) if n > VJP_SHORT_MAX => f,
            _ => return Ok(None),
        };
        rows_shape(y.len(), g.len(), out_len, n)?;
        let scale = check_tau(tau)?;
        let mut means = Vec::new();
        means
            .try_reserve_exact(y.len() / n)
            .map_err(|_| Error::OutOfMemory)?;
        for (yr, gr) in y.chunks(n).zip(g.chunks(n)) {
            match half_mean(f, yr, gr, scale) {
                Ok(Mean::Ready(m)) => means.push(m),
                // the core's checking pass, or an output that does not fit the format: the
                // widened path decides, with the f32 VJP's status over every row first (its
                // first failing row's) and the format's overflow only where that succeeds
                Ok(Mean::Core) | Err(Error::ScaleOverflow) => return Ok(None),
                Err(e) => return Err(e),
            }
        }
        Ok(Some((f, scale, means)))
    }
}
