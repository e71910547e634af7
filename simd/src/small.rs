//! Short rows (`n ≤ SMALL_MAX`): several rows solved at once, one row per lane.
//!
//! The general solver costs about 100 ns of fixed work per call (dispatch, sample, one call of
//! the core root finder per row), which dominates rows of a few dozen elements. Here a block of
//! [`LANES`] rows is transposed into a stack buffer of `f64` (`zt[i][r] = x[r, i]/τ`), and the
//! same safeguarded Newton iteration as the core's (`hypersimplex::internal::solve`) runs on
//! all rows together: each pass over the buffer computes, per lane, the piece at that lane's
//! λ (`|F|`, `|U|`, `Σ_F z`) and the distances to the nearest breakpoints above and below λ.
//! The Newton point `λ' = (Σ_F z + |U| − k)/|F|` is the exact root when it lies on that piece
//! (between the two breakpoints), so one pass usually both checks and finishes a row. Otherwise
//! the bracket `[lo, hi]` (`f(lo) ≥ k ≥ f(hi)`) moves past the piece, and the next trial point is
//! the Newton point if it lies strictly inside the bracket, else the bracket's midpoint. Lanes
//! that have finished keep their values while the others go on; a row not finished after
//! [`MAX_STEPS`] passes, or with a non-finite `x_i/τ`, is reported for the general solver.
//!
//! The code is plain Rust on fixed-size arrays, with no fused multiply-add and the same
//! operations in the same order on every path: the compiler vectorizes the lane loops (AVX2
//! through a `#[target_feature]` copy, SSE2/NEON in the baseline build), and every path and
//! thread count writes bitwise the same output. Each lane's arithmetic depends only on its
//! own row, so a row gives the same result in any block, alone or in a batch.
//!
//! Accuracy: `z_i = x_i·(1/τ)` in `f64`, λ from the piece's sums in `f64`, `y_i = clip(z_i − λ)`
//! in `f64`, rounded once to the element type.

use hypersimplex::Projection;

use crate::element::Element;
use crate::platform::{Kernels, Path};

/// Rows of at most this many elements take the short-row solver.
pub const SMALL_MAX: usize = 128;
/// Whether rows of `n` elements of `T` take the short-row solver: `n ≤ SMALL_MAX`, and `f32`
/// (or half storage, which solves in `f32`) only. Its `f64` arithmetic is far more precise than
/// `f32` needs, but for `f64` elements `z = x·fl(1/τ)` and `clip(z − λ)` in `f64` miss the
/// 4ε-at-every-scale contract (`tests/scale.rs`) that the general path keeps with its shifted
/// frame, so `f64` rows take the general path.
///
/// Rows whose λ ends outside [`LAMBDA_WINDOW`] are handed back to the general path (with its
/// shifted frame), so the 4ε contract holds at every scale of `x/τ`.
pub(crate) fn applies<T: Element>(n: usize) -> bool {
    ENABLED && n <= SMALL_MAX && core::mem::size_of::<T>() == 4
}

/// Whether the short-row solver runs at all (see [`applies`]).
pub(crate) const ENABLED: bool = true;

/// A row whose λ (in units of `x/τ`) ends outside `[−W, W]` goes to the general path. Inside,
/// `f64` arithmetic keeps every rounding far below the `f32` output's ε: `z_i = x_i·(1/τ)` is
/// within `2^-52·|z_i|`, the free entries (within 1 of λ) within `2^-35`, λ from a sum of at
/// most 128 of them within `2^-27`, so `y_i` within `2^-26 < ε₃₂/8` before the final rounding.
/// Outside, `|λ|` reaches the scale where `f64`'s own spacing matters (the fuzzer found rows
/// with ties at `λ ≈ −1.3e15` whose `f64` Newton point missed the piece: Σy = 7 for k = 8);
/// the general path re-solves those in its shifted frame.
pub(crate) const LAMBDA_WINDOW: f64 = 65536.0;

/// VJPs of rows of at most this many elements run the scalar code row by row (mean and
/// entries in one go, `vjp_row`); longer ones the vector kernels (measured, one thread: at
/// n = 10 the scalar rows took 3.8 against 6.6 ns per element for the kernels, at n = 32 2.3
/// against 1.5, at n = 64 2.2 against 1.2).
pub const VJP_SHORT_MAX: usize = 16;
/// Rows per block (the lanes of the iteration).
pub const LANES: usize = 8;
/// Passes after which a row that has not finished goes to the general solver.
const MAX_STEPS: u32 = 48;

pub(crate) type Lane = [f64; LANES];

/// The solution of one row of a block.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Row {
    /// λ in units of `x/τ`.
    pub lambda: f64,
    /// `|F|` and `|U|` at the last pass.
    pub free: u32,
    pub upper: u32,
    /// Passes over the row, the write included.
    pub passes: u32,
    /// `false`: non-finite input or no convergence; the row was not written.
    pub ok: bool,
}

impl Row {
    pub(crate) fn projection(&self) -> Projection {
        Projection {
            lambda: self.lambda,
            free: self.free as usize,
            upper: self.upper as usize,
            passes: self.passes,
        }
    }
}

/// Solves and writes rows `x[r·n..(r+1)·n]` for `r < rows` (`rows ≤ LANES`, `1 ≤ n ≤ SMALL_MAX`),
/// with `k(r)` already validated and `scale = 1/τ` in `T`, `inv = 1/τ` in `f64`. Rows whose
/// result has `ok == false` are not written.
pub(crate) fn block<T: Element>(
    kern: Kernels,
    x: &[T],
    n: usize,
    ks: &Lane,
    scale: T,
    inv: f64,
    y: &mut [T],
    zt: &mut [Lane],
) -> [Row; LANES] {
    match kern.path() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a `Kernels` with `Path::Avx2` exists only after `Path::is_supported`
        // confirmed (with `is_x86_feature_detected!`) that this CPU has AVX2.
        Path::Avx2 => unsafe { block_avx2(x, n, ks, scale, inv, y, zt) },
        _ => block_body(x, n, ks, scale, inv, y, zt, pass_portable),
    }
}

/// [`block_body`] compiled for AVX2.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn block_avx2<T: Element>(
    x: &[T],
    n: usize,
    ks: &Lane,
    scale: T,
    inv: f64,
    y: &mut [T],
    zt: &mut [Lane],
) -> [Row; LANES] {
    // SAFETY: the caller guarantees AVX2.
    let pass = |zt: &[Lane], lam: &Lane| unsafe { crate::isa::avx2::small_pass(zt, lam) };
    block_body(x, n, ks, scale, inv, y, zt, pass)
}

/// One pass over a transposed block at the lanes' λ: per lane `Σ_F z`, `|F|`, `|U|` (as `f64`)
/// and the distances from λ to the nearest breakpoints above and below (`+∞` when none).
/// The scalar twin of `isa::avx2::small_pass`, with the same operations in the same order
/// (`min(a, b)` as `a < b ? a : b`, `−d` as a sign flip), hence the same bits.
pub(crate) fn pass_portable(zt: &[Lane], lam: &Lane) -> [Lane; 5] {
    let (mut sf, mut cf, mut cu) = ([0.0f64; LANES], [0.0f64; LANES], [0.0f64; LANES]);
    let (mut gu, mut gd) = ([f64::INFINITY; LANES], [f64::INFINITY; LANES]);
    for zi in zt {
        for r in 0..LANES {
            let z = zi[r];
            let d = z - lam[r];
            let up = d >= 1.0;
            let pos = d > 0.0;
            let fr = bsel(pos & !up, 1.0, 0.0);
            sf[r] += fr * z;
            cf[r] += fr;
            cu[r] += bsel(up, 1.0, 0.0);
            let a = bsel(up, d - 1.0, bsel(pos, d, f64::INFINITY));
            let b = bsel(pos, bsel(up, f64::INFINITY, 1.0 - d), -d);
            gu[r] = bsel(a < gu[r], a, gu[r]);
            gd[r] = bsel(b < gd[r], b, gd[r]);
        }
    }
    [sf, cf, cu, gu, gd]
}

/// `c ? a : b` with bit operations (a branch here would be mispredicted half the time).
#[inline(always)]
fn bsel(c: bool, a: f64, b: f64) -> f64 {
    let m = (c as u64).wrapping_neg();
    f64::from_bits((a.to_bits() & m) | (b.to_bits() & !m))
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn block_body<T: Element>(
    x: &[T],
    n: usize,
    ks: &Lane,
    scale: T,
    inv: f64,
    y: &mut [T],
    zt: &mut [Lane],
    pass: impl Fn(&[Lane], &Lane) -> [Lane; 5],
) -> [Row; LANES] {
    let rows = (x.len() / n.max(1)).min(LANES);
    let zt = &mut zt[..n];
    let mut out = [Row::default(); LANES];
    // Load and transpose; per lane: Σz, min z, max z, finiteness of x_i·s in T.
    let mut finite = [true; LANES];
    for (r, xr) in x.chunks_exact(n).take(rows).enumerate() {
        for (zi, &v) in zt.iter_mut().zip(xr) {
            zi[r] = v.to_f64() * inv;
            finite[r] &= (v * scale).is_finite();
        }
    }
    let (mut sum, mut lo, mut hi) = ([0.0f64; LANES], [f64::INFINITY; LANES], [0.0; LANES]);
    hi.iter_mut().for_each(|h| *h = f64::NEG_INFINITY);
    for zi in zt.iter() {
        for r in 0..LANES {
            sum[r] += zi[r];
            lo[r] = lo[r].min(zi[r]);
            hi[r] = hi[r].max(zi[r]);
        }
    }
    let nf = n as f64;
    let mut lam = [0.0f64; LANES];
    // Lanes still iterating; finished lanes hold their final λ in `lam`.
    let mut active = [false; LANES];
    // k ≤ 0 and k ≥ n are the flat ends (written as exact 0s and 1s below).
    let mut fill = [0u8; LANES]; // 0: clip, 1: zeros, 2: ones
    let (mut free, mut upper) = ([0.0f64; LANES], [0.0f64; LANES]);
    for r in 0..LANES {
        lo[r] -= 1.0;
        lam[r] = (sum[r] - ks[r]) / nf;
        let live = r < rows && finite[r];
        out[r].ok = live;
        out[r].passes = 2;
        if live && ks[r] <= 0.0 {
            fill[r] = 1;
            lam[r] = hi[r];
        } else if live && ks[r] >= nf {
            fill[r] = 2;
            lam[r] = lo[r];
            upper[r] = nf;
        } else {
            active[r] = live;
        }
    }
    let mut steps = 0u32;
    while active.iter().any(|&a| a) {
        if steps == MAX_STEPS {
            for r in 0..LANES {
                out[r].ok &= !active[r];
            }
            break;
        }
        steps += 1;
        let [sf, cf, cu, gu, gd] = pass(zt, &lam);
        for r in 0..LANES {
            let (l, k, act) = (lam[r], ks[r], active[r]);
            let (above, below) = (l + gu[r], l - gd[r]);
            let sloped = cf[r] > 0.0;
            // the root of the piece (exact when it lies on the piece)
            let newton = (sf[r] + cu[r] - k) / cf[r].max(1.0);
            let on_piece = sloped & (newton <= above) & (newton >= below);
            let flat_root = !sloped & (cu[r] == k);
            // otherwise the root lies beyond the piece, on this side
            let up = bsel(sloped, newton - l, cu[r] - k) > 0.0;
            let nlo = bsel(up, lo[r].max(above), lo[r]);
            let nhi = bsel(up, hi[r], hi[r].min(below));
            let inside = sloped & (newton > nlo) & (newton < nhi);
            let next = bsel(inside, newton, 0.5 * nlo + 0.5 * nhi);
            let lam_new = bsel(on_piece, newton, bsel(flat_root, l, next));
            lam[r] = bsel(act, lam_new, l);
            lo[r] = bsel(act, nlo, lo[r]);
            hi[r] = bsel(act, nhi, hi[r]);
            free[r] = bsel(act, cf[r], free[r]);
            upper[r] = bsel(act, cu[r], upper[r]);
            active[r] = act & !(on_piece | flat_root);
        }
    }
    for r in 0..LANES {
        out[r].free = free[r] as u32;
        out[r].upper = upper[r] as u32;
        out[r].passes = out[r].passes.max(steps + 1);
    }
    // Write the rows that finished (and whose λ lies in the window; the ends `k ≤ 0`, `k ≥ n`
    // write exact 0s and 1s whatever λ is).
    for (r, yr) in y.chunks_exact_mut(n).take(rows).enumerate() {
        out[r].ok &= fill[r] != 0 || lam[r].abs() <= LAMBDA_WINDOW;
        if !out[r].ok {
            continue;
        }
        out[r].lambda = lam[r];
        let l = lam[r];
        match fill[r] {
            1 => yr.iter_mut().for_each(|v| *v = T::ZERO),
            2 => yr.iter_mut().for_each(|v| *v = T::ONE),
            _ => {
                for (o, zi) in yr.iter_mut().zip(zt.iter()) {
                    let d = zi[r] - l;
                    *o = T::from_f64(bsel(d > 0.0, bsel(d < 1.0, d, 1.0), 0.0));
                }
            }
        }
    }
    out
}

/// Solves `rows × n` row-major rows (`n ≤ SMALL_MAX`) block by block, `k(r)` for row `r`;
/// calls `fallback(r)` for each row that needs the general solver (after the block is done).
pub(crate) fn rows<T: Element, E>(
    kern: Kernels,
    x: &[T],
    n: usize,
    first_row: usize,
    k: impl Fn(usize) -> f64,
    scale: T,
    inv: f64,
    y: &mut [T],
    mut fallback: impl FnMut(usize, &[T], &mut [T]) -> Result<(), E>,
) -> Result<(), E> {
    with_buffer(n, |zt| {
        for (b, (xb, yb)) in x.chunks(n * LANES).zip(y.chunks_mut(n * LANES)).enumerate() {
            let base = first_row + b * LANES;
            let mut ks = [0.0; LANES];
            let m = xb.len() / n;
            for (r, kr) in ks.iter_mut().enumerate().take(m) {
                *kr = k(base + r);
            }
            let res = block(kern, xb, n, &ks, scale, inv, yb, zt);
            for (r, (xr, yr)) in xb.chunks_exact(n).zip(yb.chunks_exact_mut(n)).enumerate() {
                if !res[r].ok {
                    fallback(base + r, xr, yr)?;
                }
            }
        }
        Ok(())
    })
}

/// Runs `f` on a zeroed transposition buffer of `n ≤ SMALL_MAX` lanes on the stack (sized in
/// three steps, so that short rows do not clear the longest buffer).
pub(crate) fn with_buffer<R>(n: usize, f: impl FnOnce(&mut [Lane]) -> R) -> R {
    if n <= 16 {
        f(&mut [[0.0; LANES]; 16][..n])
    } else if n <= 64 {
        f(&mut [[0.0; LANES]; 64][..n])
    } else {
        f(&mut [[0.0; LANES]; SMALL_MAX][..n.min(SMALL_MAX)])
    }
}

/// One vector of `1 ≤ n ≤ SMALL_MAX` elements (validated `k`, `scale = 1/τ`) as a block of
/// one row, so that it gets the same bits as in a batch; `None` (nothing written) when it
/// needs the general solver or is of another length.
pub(crate) fn single<T: Element>(
    kern: Kernels,
    x: &[T],
    k: f64,
    scale: T,
    tau: T,
    y: &mut [T],
) -> Option<Projection> {
    let n = x.len();
    if n == 0 || !applies::<T>(n) || y.len() != n {
        return None;
    }
    let mut ks = [0.0; LANES];
    ks[0] = k;
    let inv = 1.0 / tau.to_f64();
    let res = with_buffer(n, |zt| block(kern, x, n, &ks, scale, inv, y, zt));
    res[0].ok.then(|| res[0].projection())
}

/// [`single`] in place (through a copy of `x` on the stack).
pub(crate) fn single_in_place<T: Element>(
    kern: Kernels,
    x: &mut [T],
    k: f64,
    scale: T,
    tau: T,
) -> Option<Projection> {
    let n = x.len();
    if n == 0 || !applies::<T>(n) {
        return None;
    }
    let mut copy = [T::ZERO; SMALL_MAX];
    let c = &mut copy[..n];
    c.copy_from_slice(x);
    single(kern, c, k, scale, tau, x)
}

/// `true` when every `|y_i| ≤ MAX` and `|g_i| ≤ limit` (`validate::vjp_limit(scale)`): then
/// no short-row VJP can fail (`ops::vjp_mean` takes its one-pass reduction for every row).
/// A fold without early exit, so that it vectorizes.
pub(crate) fn vjp_inputs_small<T: Element>(y: &[T], g: &[T], limit: T) -> bool {
    y.iter().zip(g).fold(true, |ok, (&a, &b)| {
        ok & (a.abs() <= T::MAX) & (b.abs() <= limit)
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The AVX2 pass and its scalar twin give the same bits, on data with values exactly at
    /// the breakpoints (`d = 0`, `d = 1`), signed zeros and a spread of magnitudes.
    #[test]
    fn pass_matches_its_scalar_twin() {
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        for n in [1usize, 2, 7, 10, 33, 256] {
            for _ in 0..50 {
                let lam: Lane = core::array::from_fn(|_| (next() % 7) as f64 * 0.5 - 1.5);
                let zt: Vec<Lane> = (0..n)
                    .map(|_| {
                        core::array::from_fn(|r| match next() % 4 {
                            0 => lam[r],
                            1 => lam[r] + 1.0,
                            2 => -0.0,
                            _ => ((next() >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 8.0,
                        })
                    })
                    .collect();
                let want = pass_portable(&zt, &lam);
                for k in crate::platform::Path::supported() {
                    #[cfg(target_arch = "x86_64")]
                    if k == Path::Avx2 {
                        // SAFETY: `Path::supported` lists AVX2 only when the CPU has it.
                        let got = unsafe { crate::isa::avx2::small_pass(&zt, &lam) };
                        let bits = |v: [Lane; 5]| v.map(|l| l.map(f64::to_bits));
                        assert_eq!(bits(got), bits(want), "n = {n}");
                    }
                    let _ = k;
                }
            }
        }
    }
}
