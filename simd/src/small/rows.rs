//! The entry points: batches of rows ([`rows`], block by block inside one call compiled for
//! the path) and single vectors ([`single`]).

use super::*;

/// Solves `rows × n` row-major rows (`n ≤ SMALL_MAX`) block by block, `k.get(r)` for row `r`;
/// calls `fallback(r)` for each row that needs the general solver (after the block is done).
/// The loop over blocks runs inside one call compiled for the path (no dispatch per block).
#[allow(clippy::too_many_arguments)]
pub(crate) fn rows<T: Element, E>(
    kern: Kernels,
    x: &[T],
    n: usize,
    first_row: usize,
    k: RowK<'_>,
    scale: T,
    y: &mut [T],
    fallback: impl FnMut(usize, &[T], &mut [T]) -> Result<(), E>,
) -> Result<(), E> {
    if n == 0 {
        return Ok(());
    }
    let mut fallback = fallback;
    // Blocks without an accelerated row ([`accelerated`]) run in a copy of the loop without the
    // accelerated step, which stops at the first block with one; the rest runs in the copy
    // with it. (One loop for both slowed k = n/2 by 4–8% in an earlier change of this kind:
    // the code layout of the loop.)
    let accel = match k {
        // `KLanes::splat(v, n).accel`, without building the lanes
        RowK::All(v) => {
            let unit = Unit::for_len(n);
            accelerated((v * unit.d()) as f32, n, unit)
        }
        RowK::PerRow(_) => false,
    };
    let total = x.len().min(y.len()) / n;
    // Rows solved where they lie ([`rowwise`]) run in their own copy of the loop (each block
    // picks its step), so the loop of rows in lanes keeps its code (with both in one loop,
    // n = 10 and 32 measured 4–8% slower).
    let rw = rowwise(n);
    // `Path::Avx512` takes two blocks of rows in lanes at a time (`Small512`, `O::PAIRED`);
    // a batch of one block runs `Small`'s iteration instead (the same bits): two blocks'
    // buffer and a second block loaded only to be left idle had made batches of 2–16 rows of
    // 10 take 1.6× the time (0.43 against 0.26 µs, `rowsbench 2 10`, 8 Dec). The row layout
    // has no paired iteration.
    let paired = kern.path() == Path::Avx512 && !rw && total > BLOCK;
    let blocks = if paired { 2 } else { 1 };
    let accel = accel || rw;
    // (`with_buffer(m)` holds `GROUPS·m` lanes)
    with_buffer(blocks * block_lanes(n) / GROUPS, |zt| {
        let mut from = 0;
        for accel in [accel, true] {
            let (xr, yr) = (&x[from * n..total * n], &mut y[from * n..total * n]);
            let (first, f) = (first_row + from, &mut fallback);
            macro_rules! run {
                ($body:ident, $o:ty) => {
                    match (rw, accel) {
                        (true, _) => {
                            $body::<$o, T, E, true, true>(xr, n, first, k, scale, yr, f, zt)
                        }
                        (false, false) => {
                            $body::<$o, T, E, false, false>(xr, n, first, k, scale, yr, f, zt)
                        }
                        (false, true) => {
                            $body::<$o, T, E, true, false>(xr, n, first, k, scale, yr, f, zt)
                        }
                    }
                };
            }
            from += match kern.path() {
                #[cfg(all(target_arch = "x86_64", hs_avx512))]
                // SAFETY: a `Kernels` with `Path::Avx512` exists only after `Path::is_supported`
                // confirmed AVX2 and AVX-512 F, VL and DQ.
                Path::Avx512 if paired => unsafe { run!(rows_avx2, crate::isa::avx2::Small512) },
                #[cfg(target_arch = "x86_64")]
                // SAFETY: a `Kernels` with `Path::Avx2`, or `Path::Avx512` (which implies it),
                // exists only after `Path::is_supported` confirmed (with
                // `is_x86_feature_detected!`) that this CPU has AVX2.
                Path::Avx2 | Path::Avx512 => unsafe { run!(rows_avx2, crate::isa::avx2::Small) },
                #[cfg(target_arch = "aarch64")]
                // SAFETY: NEON is in the aarch64 baseline, all `isa::neon::Small` needs.
                Path::Neon => unsafe { run!(rows_plain, crate::isa::neon::Small) },
                // SAFETY: `Portable` needs no CPU feature.
                _ => unsafe { run!(rows_plain, Portable) },
            }?;
            if accel || from >= total {
                break;
            }
        }
        Ok(())
    })
}

/// [`rows_body`] compiled for AVX2, with `isa::avx2::Small` or (`Path::Avx512`, whose
/// iteration runs in its own AVX-512 function, `Ops::iterate2`) `isa::avx2::Small512`.
///
/// # Safety
/// The CPU must support AVX2, and whatever `O` needs besides.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn rows_avx2<O: Ops, T: Element, E, const ACCEL: bool, const RW: bool>(
    x: &[T],
    n: usize,
    first_row: usize,
    k: RowK<'_>,
    scale: T,
    y: &mut [T],
    fallback: impl FnMut(usize, &[T], &mut [T]) -> Result<(), E>,
    zt: &mut [Lane],
) -> Result<usize, E> {
    // SAFETY: the caller guarantees AVX2 and `O`'s features.
    unsafe { rows_body::<O, T, E, ACCEL, RW>(x, n, first_row, k, scale, y, fallback, zt) }
}

/// [`rows_body`] in a frame of its own in debug builds (the paths without a `#[target_feature]`
/// copy): inlined into [`rows`], a debug build would keep the stack slots of its three
/// instances in `rows`' frame (about 900 KB) beneath the AVX2 copy's (about 800 KB), near a
/// 2 MB thread's limit. (Optimized builds inline it.)
///
/// # Safety
/// The CPU features of `O`.
#[cfg_attr(debug_assertions, inline(never))]
#[allow(clippy::too_many_arguments)]
unsafe fn rows_plain<O: Ops, T: Element, E, const ACCEL: bool, const RW: bool>(
    x: &[T],
    n: usize,
    first_row: usize,
    k: RowK<'_>,
    scale: T,
    y: &mut [T],
    fallback: impl FnMut(usize, &[T], &mut [T]) -> Result<(), E>,
    zt: &mut [Lane],
) -> Result<usize, E> {
    // SAFETY: the caller guarantees `O`'s features.
    unsafe { rows_body::<O, T, E, ACCEL, RW>(x, n, first_row, k, scale, y, fallback, zt) }
}

/// See [`rows`] (`n ≥ 1`; `zt` from [`with_buffer`]). Returns the rows done: all of them, or
/// without `ACCEL` those before the first block with an accelerated row ([`KLanes`]`::accel`).
///
/// # Safety
/// The CPU features of `O`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn rows_body<O: Ops, T: Element, E, const ACCEL: bool, const RW: bool>(
    x: &[T],
    n: usize,
    first_row: usize,
    k: RowK<'_>,
    scale: T,
    y: &mut [T],
    mut fallback: impl FnMut(usize, &[T], &mut [T]) -> Result<(), E>,
    zt: &mut [Lane],
) -> Result<usize, E> {
    let total = x.len().min(y.len()) / n.max(1);
    let mut ks = [0.0; BLOCK];
    // the lanes' k: once for a batch with one k (every lane the same, `KLanes::splat`), else
    // once per distinct block of k (a `PerRow` batch's first block always)
    let mut kl = KLanes::splat(
        match k {
            RowK::All(v) => v,
            RowK::PerRow(_) => 0.0,
        },
        n,
    );
    // with `O::PAIRED`, two blocks at a time (`blocks2_unit`): the second block's lanes
    let (mut ks2, mut kl2) = ([0.0; BLOCK], kl);
    let span = if O::PAIRED { 2 * BLOCK } else { BLOCK };
    let mut b = 0;
    while b < total {
        let m = (total - b).min(span);
        let (xb, yb) = (&x[b * n..(b + m) * n], &mut y[b * n..(b + m) * n]);
        if let RowK::PerRow(all) = k {
            if block_ks(&mut ks, all, first_row + b, m.min(BLOCK), b == 0) {
                kl = KLanes::new(&ks, n);
            }
            if m > BLOCK && block_ks(&mut ks2, all, first_row + b + BLOCK, m - BLOCK, b == 0) {
                kl2 = KLanes::new(&ks2, n);
            }
        }
        if !ACCEL && (kl.accel || (m > BLOCK && kl2.accel)) {
            return Ok(b);
        }
        // SAFETY: the caller guarantees `O`'s features.
        let done = unsafe {
            if RW {
                let d = rowwise_body::<O, T>(xb, n, m.min(BLOCK), &kl, scale, yb, zt, None);
                if m > BLOCK {
                    let (xc, yc) = (&xb[BLOCK * n..], &mut yb[BLOCK * n..]);
                    d | rowwise_body::<O, T>(xc, n, m - BLOCK, &kl2, scale, yc, zt, None) << BLOCK
                } else {
                    d
                }
            } else if O::PAIRED {
                blocks2_body::<O, T, ACCEL>(xb, n, m, [&kl, &kl2], scale, yb, zt)
            } else {
                block_body::<O, T, ACCEL>(xb, n, m, &kl, scale, yb, zt, None)
            }
        };
        let mut left = !done & (u32::MAX >> (32 - m));
        while left != 0 {
            let r = left.trailing_zeros() as usize;
            left &= left - 1;
            fallback(first_row + b + r, &xb[r * n..][..n], &mut yb[r * n..][..n])?;
        }
        b += m;
    }
    Ok(total)
}

/// Puts the k of rows `at..at + m` (`m ≤ BLOCK`) of a per-row array into `ks[..m]`; returns
/// whether they differ from what `ks` held (always on the `first` block). The slice is
/// compared and copied as a slice (reading and comparing the rows' k one at a time had cost 5%
/// at n = 10). (A batch with one k takes `KLanes::splat` once instead.)
#[inline(always)]
pub(super) fn block_ks(
    ks: &mut [f64; BLOCK],
    all: &[f64],
    at: usize,
    m: usize,
    first: bool,
) -> bool {
    let ks = &mut ks[..m.min(BLOCK)];
    match all.get(at..at + ks.len()) {
        Some(src) => {
            // a fold without early exit, so that it vectorizes
            let same = src
                .iter()
                .zip(ks.iter())
                .fold(true, |s, (a, b)| s & (a == b));
            if first || !same {
                ks.copy_from_slice(src);
            }
            first || !same
        }
        // (a slice shorter than the rows, which validation rules out: NaN past its end)
        None => {
            for (r, kr) in ks.iter_mut().enumerate() {
                *kr = all.get(at + r).copied().unwrap_or(f64::NAN);
            }
            true
        }
    }
}

/// One vector of `1 ≤ n ≤ SMALL_MAX` elements (validated `k`, `scale = 1/τ`), bitwise as the
/// same row in a batch ([`single_body`]); `None` (nothing written) when it needs the general
/// solver or is of another length.
pub(crate) fn single<T: Element>(
    kern: Kernels,
    x: &[T],
    k: f64,
    scale: T,
    tau: T,
    y: &mut [T],
) -> Option<Projection> {
    let n = x.len();
    if n == 0 || !applies::<T>(n, tau) || y.len() != n {
        return None;
    }
    let kl = KLanes::splat(k, n);
    let lanes = n.div_ceil(LANES);
    // the entries, LANES to a vector, padded with −∞ (below every μ: no free entry, no
    // breakpoint), on the stack in four sizes
    let args = (kern, x, &kl, scale, y, lanes);
    let row = match lanes {
        0..=2 => single_padded::<T, 2>(args),
        3..=8 => single_padded::<T, 8>(args),
        9..=16 => single_padded::<T, 16>(args),
        _ => single_padded::<T, { SMALL_MAX / LANES }>(args),
    };
    row.ok.then(|| row.projection())
}

/// [`single_h`] with a stack buffer of `N ≥ lanes` lanes of −∞.
#[inline(always)]
pub(super) fn single_padded<T: Element, const N: usize>(
    (kern, x, kl, scale, y, lanes): (Kernels, &[T], &KLanes, T, &mut [T], usize),
) -> Row {
    let mut buf = [[f32::NEG_INFINITY; LANES]; N];
    single_h(kern, x, kl, scale, y, &mut buf[..lanes.min(N)])
}

dispatched! {
    /// One row across the lanes (`zh`: `⌈n/LANES⌉` lanes holding −∞): see [`single_body`].
    pub(super) fn single_h / single_h_avx2 => single_body(
        x: &[T],
        kl: &KLanes,
        scale: T,
        y: &mut [T],
        zh: &mut [Lane]
    ) -> Row
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
    if n == 0 || !applies::<T>(n, tau) {
        return None;
    }
    let mut copy = [T::ZERO; SMALL_MAX];
    let c = &mut copy[..n];
    c.copy_from_slice(x);
    single(kern, c, k, scale, tau, x)
}
