//! Rows of half-precision data (issue 15 with issue 14's short-row solver): every row of a
//! row-major `rows × n` matrix, each bitwise [`Kernels::soft_binary_argmax_half`] of that row
//! alone (the `f32` forward of the widened row, rounded once).
//!
//! Short rows (`n ≤ small::SMALL_MAX`, where the `f32` rows run the short-row solver across
//! SIMD lanes) are widened a block of rows at a time into scratch, solved by the `f32` rows
//! function (`Kernels::soft_binary_argmax_rows`, whose rows are bitwise the single-row
//! forward), and rounded back; blocks run on the rayon pool for large batches. Longer rows run
//! one at a time through the half forward, with one scratch buffer for all of them.

use hypersimplex::half::{check_rows_half, Half};
use hypersimplex::internal::validate::tau_scale;
use hypersimplex::Error;
use rayon::prelude::*;

use super::forward::grow;
use super::Conv;
use crate::batch::RowK;
use crate::element::Element;
use crate::platform::Kernels;

/// Elements per block of short rows (two `f32` buffers of this size per task: 64 KiB).
const ROWS_BLOCK: usize = 1 << 13;

impl Kernels {
    /// Soft-Binary-Argmax@k of every row of the row-major half-precision `x` (`k.len()` rows
    /// of `n`): `y[i,:] = round(Π_Δ(n,k_i)(widen(x[i,:])/τ))`, each row bitwise
    /// [`Kernels::soft_binary_argmax_half`] of that row (see the module documentation).
    /// `scratch` is grown as needed and can be reused across calls.
    ///
    /// # Errors
    /// As `hypersimplex::half::soft_binary_argmax_half_rows` (every row is checked before any
    /// is written: lengths, τ, every `k_i`, then the rows' data), and [`Error::OutOfMemory`].
    /// On error `y` is not modified.
    pub fn soft_binary_argmax_half_rows<H: Half + Send + Sync>(
        self,
        x: &[H],
        n: usize,
        k: &[f64],
        tau: f32,
        y: &mut [H],
        scratch: &mut Vec<f32>,
    ) -> Result<(), Error> {
        self.check_half_rows(x, y.len(), n, k, tau)?;
        self.half_rows(Some(x), n, k, tau, y, scratch)
    }

    /// [`Kernels::soft_binary_argmax_half_rows`] in place: `x[i,:] ←
    /// round(Π_Δ(n,k_i)(widen(x[i,:])/τ))`.
    ///
    /// # Errors
    /// As [`Kernels::soft_binary_argmax_half_rows`]; on error `x` is not modified.
    pub fn soft_binary_argmax_half_rows_in_place<H: Half + Send + Sync>(
        self,
        x: &mut [H],
        n: usize,
        k: &[f64],
        tau: f32,
        scratch: &mut Vec<f32>,
    ) -> Result<(), Error> {
        self.check_half_rows(x, x.len(), n, k, tau)?;
        self.half_rows(None, n, k, tau, x, scratch)
    }

    /// `check_rows_half` (lengths, τ, every k, then every row's data), with its k and data
    /// passes vectorized and, for a batch that runs on the pool, split over it: every k by a
    /// fold, every `fl(widen(x)·s)` finite by blocks widened with the vector conversion. When
    /// any of it fails, the core's check runs and names the error (so the errors and their
    /// order are the core's). The core's passes are serial and scalar: 72 µs (bf16) and
    /// 200 µs (f16) at 65536 × 10, against about 560 µs for the `f32` solve on one thread.
    fn check_half_rows<H: Half + Sync>(
        self,
        x: &[H],
        y_len: usize,
        n: usize,
        ks: &[f64],
        tau: f32,
    ) -> Result<f32, Error> {
        let fast = || -> Option<f32> {
            let total = ks.len().checked_mul(n)?;
            if x.len() != total || y_len != total {
                return None;
            }
            let scale = tau_scale(tau).ok()?;
            let par = total >= crate::BATCH_PAR_MIN && crate::pool::current_threads() > 1;
            let nf = n as f64;
            let ks_ok = crate::passes::all_blocks(ks, par, |c| {
                c.iter().fold(true, |a, &k| a & (k >= 0.0) & (k <= nf))
            });
            let conv = Conv::new(self);
            let data_ok = || {
                crate::passes::all_blocks(x, par, |c| {
                    let mut buf = [0.0f32; 1024];
                    c.chunks(buf.len()).all(|p| {
                        let b = &mut buf[..p.len()];
                        conv.widen(p, b);
                        <f32 as Element>::all_finite(self, b, scale)
                    })
                })
            };
            (ks_ok && data_ok()).then_some(scale)
        };
        match fast() {
            Some(scale) => Ok(scale),
            None => check_rows_half(x, y_len, n, ks, tau),
        }
    }

    /// The rows after the checks (no row can fail then, except for memory): from `x`, or from
    /// `y` itself (`None`).
    fn half_rows<H: Half + Send + Sync>(
        self,
        x: Option<&[H]>,
        n: usize,
        k: &[f64],
        tau: f32,
        y: &mut [H],
        scratch: &mut Vec<f32>,
    ) -> Result<(), Error> {
        if n == 0 || y.is_empty() {
            return Ok(());
        }
        if n <= crate::small::SMALL_MAX && crate::small::applies::<f32>(n, tau) {
            let per = (ROWS_BLOCK / n).max(1) * n;
            let conv = Conv::new(self);
            let block = |buf: &mut Vec<f32>, (i, yb): (usize, &mut [H])| {
                let m = yb.len();
                let xb = x.map(|x| x.get(i * per..i * per + m).unwrap_or_default());
                let ks = k.get(i * per / n..(i * per + m) / n).unwrap_or_default();
                let Ok(w) = grow(buf, 2 * m) else {
                    // no memory for the block: the core's half forward, row by row (the same
                    // bits, no allocation; after the checks no row can fail)
                    return core_rows(xb, n, ks, tau, yb);
                };
                let (a, b) = w.split_at_mut(m);
                conv.widen(xb.unwrap_or(yb), a);
                // checked: no row can fail
                let _ = self.soft_binary_argmax_rows(a, m / n, n, RowK::PerRow(ks), tau, b);
                conv.narrow(b, yb);
            };
            if y.len() >= crate::BATCH_PAR_MIN && crate::pool::current_threads() > 1 {
                y.par_chunks_mut(per)
                    .enumerate()
                    .for_each_init(Vec::new, block);
            } else {
                y.chunks_mut(per)
                    .enumerate()
                    .for_each(|item| block(scratch, item));
            }
            return Ok(());
        }
        let mut rows = y.chunks_mut(n).zip(k);
        match x {
            Some(x) => rows.zip(x.chunks(n)).try_for_each(|((yr, &kr), xr)| {
                self.soft_binary_argmax_half(xr, kr, tau, yr, scratch)
                    .map(|_| ())
            }),
            None => rows.try_for_each(|(yr, &kr)| {
                self.soft_binary_argmax_half_in_place(yr, kr, tau, scratch)
                    .map(|_| ())
            }),
        }
    }
}

/// Rows by the core crate's scalar half forward (bitwise the SIMD one), for a block without
/// memory for its `f32` buffers; the rows are checked, so none fails.
fn core_rows<H: Half>(x: Option<&[H]>, n: usize, k: &[f64], tau: f32, y: &mut [H]) {
    let rows = y.chunks_mut(n).zip(k);
    match x {
        Some(x) => rows.zip(x.chunks(n)).for_each(|((yr, &kr), xr)| {
            let _ = hypersimplex::half::soft_binary_argmax_half(xr, kr, tau, yr);
        }),
        None => rows.for_each(|(yr, &kr)| {
            let _ = hypersimplex::half::soft_binary_argmax_half_in_place(yr, kr, tau);
        }),
    }
}
