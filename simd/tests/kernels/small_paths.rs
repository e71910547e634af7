//! The short-row solver (`n ≤ 256`, rows across lanes) and its neighbours (`n` up to 300) on
//! every path: rows with one k and with per-row k in batches large enough for the rayon pool,
//! the columns layout with a small batch (`rows ≤ 256`), single vectors (out of place and in
//! place, which must give the bits of the same row in a batch), the short-row VJP, and bad rows
//! or bad k anywhere in a batch (nothing written). Accuracy against an independent f64
//! reference (bisection over the breakpoints, then the piece's λ with a compensated sum; not
//! the breakpoint scan of `small_rows.rs`): the core's
//! contract `|y_i − y_i*| ≤ 8·ε·M` (plus `n·ε_f64·M`, the f64 rounding
//! of a piece's sums, which only counts for f64 elements) and `|Σy − k| ≤ n·8·ε·M`. f32 results are bitwise the same
//! on every kernel path and thread count. Run also with `HYPERSIMPLEX_FORCE_SCALAR=1` and
//! `RAYON_NUM_THREADS=1` (the free functions then take the scalar path / one thread).

use crate::common;
use crate::common::*;
use hypersimplex_simd::{Element, Error, Kernels, RowK};

/// Exact projection of `z` onto Δ(n, k) in f64, by bisection on the breakpoints `z_i` and
/// `z_i − 1` (f is monotone and piecewise linear between them): the breakpoint interval
/// `[a, c]` with `f(a) ≥ k ≥ f(c)`, then λ from that piece.
fn reference(z: &[f64], k: f64) -> Vec<f64> {
    let n = z.len() as f64;
    if k <= 0.0 {
        return vec![0.0; z.len()];
    }
    if k >= n {
        return vec![1.0; z.len()];
    }
    let f = |l: f64| z.iter().map(|&v| (v - l).clamp(0.0, 1.0)).sum::<f64>();
    let mut b: Vec<f64> = z.iter().flat_map(|&v| [v, v - 1.0]).collect();
    b.sort_by(f64::total_cmp);
    b.dedup();
    // f(b[0]) = n ≥ k ≥ 0 = f(b[last]); bisection on the index
    let (mut lo, mut hi) = (0usize, b.len() - 1);
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if f(b[mid]) >= k {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    // On (a, c) the free set F and the upper set U are fixed: λ = (Σ_F z + |U| − k)/|F|, with
    // Σ_F z summed with Neumaier's compensation (an interpolation between f(a) and f(c) would
    // carry the rounding of all n terms; this carries that of the free ones only).
    let (a, c) = (b[lo], b[hi]);
    let mid = 0.5 * (a + c);
    let free: Vec<f64> = z
        .iter()
        .copied()
        .filter(|v| v - mid > 0.0 && v - mid < 1.0)
        .collect();
    let nu = z.iter().filter(|&&v| v - mid >= 1.0).count() as f64;
    let nf = free.len() as f64;
    let lam = if nf > 0.0 {
        (common::neumaier(free.iter().copied()) + nu - k) / nf
    } else {
        a
    };
    z.iter().map(|&v| (v - lam).clamp(0.0, 1.0)).collect()
}

/// Asserts the accuracy contract for one row; returns the largest error in units of `ε·M`.
fn assert_row<T: Element>(x: &[T], k: f64, tau: T, y: &[T], what: &str) -> f64 {
    let s = (T::ONE / tau).to_f64();
    let z: Vec<f64> = x.iter().map(|v| v.to_f64() * s).collect();
    let want = reference(&z, k);
    let m = magnitude(x, tau, 0.0) + 1.0;
    let e = T::EPSILON.to_f64() * m;
    let worst = y
        .iter()
        .zip(&want)
        .map(|(a, w)| (a.to_f64() - w).abs() / e)
        .fold(0.0, f64::max);
    // plus the f64 rounding of the piece's sums (n·ε_f64·M): nothing for f32, the documented
    // `n·ε_f64` term of the SIMD crate's bound for f64
    let tol = 8.0 + x.len() as f64 * f64::EPSILON / T::EPSILON.to_f64();
    assert!(tol <= 8.0 + x.len() as f64, "tolerance");
    assert!(
        worst <= tol,
        "{what}: n={} k={k}: error {worst} ε·M",
        x.len()
    );
    let sum: f64 = y.iter().map(|v| v.to_f64()).sum();
    assert!(
        (sum - k).abs() <= 8.0 * x.len() as f64 * e,
        "{what}: n={} Σy={sum} k={k}",
        x.len()
    );
    worst
}

/// `(g − mean_F g)·(1/τ)` on the free set `F = {0 < y < 1}`, 0 elsewhere, checked elementwise.
fn assert_vjp<T: Element>(y: &[T], g: &[T], tau: T, gx: &[T], what: &str) {
    let s = (T::ONE / tau).to_f64();
    let free: Vec<bool> = y.iter().map(|&v| v > T::ZERO && v < T::ONE).collect();
    let cnt = free.iter().filter(|&&f| f).count().max(1) as f64;
    let mean = g
        .iter()
        .zip(&free)
        .filter(|(_, &f)| f)
        .map(|(v, _)| v.to_f64())
        .sum::<f64>()
        / cnt;
    let gm = g.iter().fold(1.0f64, |a, v| a.max(v.to_f64().abs()));
    for ((o, v), &f) in gx.iter().zip(g).zip(&free) {
        let want = if f { (v.to_f64() - mean) * s } else { 0.0 };
        let tol = 8.0 * T::EPSILON.to_f64() * gm * s;
        assert!(
            (o.to_f64() - want).abs() <= tol,
            "{what}: vjp n={}",
            y.len()
        );
    }
}

/// A k for row `i` of length `n`: 0, n, fractional, an integer, and near the ends.
fn k_of(rng: &mut Rng, i: usize, n: usize) -> f64 {
    let nf = n as f64;
    match i % 6 {
        0 => 0.0,
        1 => nf,
        2 => (nf * rng.unit() * 1e3).round() / 1e3,
        3 => rng.below(n + 1) as f64,
        4 => (nf - 0.25).max(0.0),
        _ => 0.5f64.min(nf),
    }
}

const NS: &[usize] = &[
    1, 2, 3, 5, 7, 8, 9, 10, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 127, 128, 129, 130, 200, 255,
    256, 257, 300,
];

/// Batches of ≥ 2^15 elements (the pool runs them in several tasks), every n of `NS`, data
/// with ties and exact breakpoints, one k for all rows and per-row k: bitwise the same for
/// 1 and 3 threads and (f32) every path; every row within the contract.
fn batches<T: Element>(seed: u64) {
    let mut rng = Rng(seed);
    let tau = T::from_f64(1.5);
    for &n in NS {
        let rows = (1 << 15) / n + 3;
        let x: Vec<T> = (0..rows).flat_map(|r| data::<T>(&mut rng, n, r)).collect();
        let g: Vec<T> = data(&mut rng, rows * n, 0);
        let ks: Vec<f64> = (0..rows).map(|i| k_of(&mut rng, i, n)).collect();
        let k_all = (n as f64 * 0.37 * 1e3).round() / 1e3;
        for (ki, rk) in [RowK::PerRow(&ks), RowK::All(k_all)]
            .into_iter()
            .enumerate()
        {
            let mut first: Option<(Vec<u64>, Vec<u64>)> = None;
            for kern in all_kernels() {
                for t in [1, 3] {
                    let (y, gx) = with_threads(t, || {
                        let mut y = vec![T::from_f64(7.0); rows * n];
                        kern.soft_binary_argmax_rows(&x, rows, n, rk, tau, &mut y)
                            .unwrap();
                        let mut gx = vec![T::from_f64(7.0); rows * n];
                        kern.soft_binary_argmax_vjp_rows(&y, &g, rows, n, tau, &mut gx)
                            .unwrap();
                        (y, gx)
                    });
                    let b = (bits(&y), bits(&gx));
                    let what = format!("{} t={t} k#{ki}", kern.path());
                    match &first {
                        Some(f) if std::mem::size_of::<T>() == 4 || kern.path() == first_path() => {
                            assert!(f.0 == b.0, "n={n} {what}: forward bits differ");
                            assert!(f.1 == b.1, "n={n} {what}: vjp bits differ");
                            continue;
                        }
                        Some(_) => {}
                        None => first = Some(b),
                    }
                    // every row against the reference (once per distinct result)
                    for r in 0..rows {
                        let (xr, yr) = (&x[r * n..][..n], &y[r * n..][..n]);
                        let k = match rk {
                            RowK::All(k) => k,
                            RowK::PerRow(ks) => ks[r],
                        };
                        assert_row(xr, k, tau, yr, &what);
                        assert_vjp(yr, &g[r * n..][..n], tau, &gx[r * n..][..n], &what);
                    }
                }
            }
        }
    }
}

fn first_path() -> hypersimplex_simd::Path {
    all_kernels()[0].path()
}

#[test]
fn short_row_batches_f32() {
    batches::<f32>(11);
}

#[test]
fn short_row_batches_f64() {
    batches::<f64>(12);
}

/// The columns layout with a small batch (`rows ≤ 256` elements per column, as the multiclass
/// loss has): each column within the contract, bitwise the same as the transposed rows (f32),
/// for every path and thread count; the columns VJP against the free-set formula.
fn columns<T: Element>(seed: u64) {
    let mut rng = Rng(seed);
    let tau = T::from_f64(0.75);
    for (rows, cols) in [
        (1, 5),
        (2, 3),
        (7, 40),
        (10, 1000),
        (33, 17),
        (64, 300),
        (128, 130),
        (129, 9),
        (200, 12),
        (256, 70),
    ] {
        let x: Vec<T> = data(&mut rng, rows * cols, rows + cols);
        let g: Vec<T> = data(&mut rng, rows * cols, 0);
        let ks: Vec<f64> = (0..cols).map(|c| k_of(&mut rng, c, rows)).collect();
        let xt: Vec<T> = (0..cols)
            .flat_map(|c| (0..rows).map(move |r| (r, c)))
            .map(|(r, c)| x[r * cols + c])
            .collect();
        let mut first: Option<Vec<u64>> = None;
        for kern in all_kernels() {
            for t in [1, 3] {
                let (y, gx, yt) = with_threads(t, || {
                    let mut y = vec![T::from_f64(7.0); rows * cols];
                    kern.soft_binary_argmax_columns(&x, rows, cols, RowK::PerRow(&ks), tau, &mut y)
                        .unwrap();
                    let mut gx = vec![T::from_f64(7.0); rows * cols];
                    kern.soft_binary_argmax_vjp_columns(&y, &g, rows, cols, tau, &mut gx)
                        .unwrap();
                    let mut yt = vec![T::ZERO; rows * cols];
                    kern.soft_binary_argmax_rows(&xt, cols, rows, RowK::PerRow(&ks), tau, &mut yt)
                        .unwrap();
                    (y, gx, yt)
                });
                let what = format!("columns {rows}x{cols} {} t={t}", kern.path());
                let ycols: Vec<T> = (0..cols)
                    .flat_map(|c| (0..rows).map(move |r| (r, c)))
                    .map(|(r, c)| y[r * cols + c])
                    .collect();
                if std::mem::size_of::<T>() == 4 {
                    assert!(
                        bits(&ycols) == bits(&yt),
                        "{what}: columns ≠ transposed rows"
                    );
                    match &first {
                        None => first = Some(bits(&y)),
                        Some(f) => assert!(*f == bits(&y), "{what}: bits differ"),
                    }
                }
                for c in 0..cols {
                    let col = |v: &[T]| (0..rows).map(|r| v[r * cols + c]).collect::<Vec<T>>();
                    let (yc, xc) = (col(&y), col(&x));
                    assert_row(&xc, ks[c], tau, &yc, &what);
                    assert_vjp(&yc, &col(&g), tau, &col(&gx), &what);
                }
            }
        }
    }
}

#[test]
fn short_columns_f32() {
    columns::<f32>(21);
}

#[test]
fn short_columns_f64() {
    columns::<f64>(22);
}

/// Single vectors, n = 1…300, every kind of data and k: out of place and in place give the
/// bits of the same row inside a batch of 9 rows (and, for f32, the same bits on every path),
/// within the contract; the single VJP is the batch row's too.
fn singles<T: Element>(seed: u64) {
    let mut rng = Rng(seed);
    let tau = T::from_f64(0.5);
    for n in 1..=300usize {
        let rows = 9;
        let x: Vec<T> = data(&mut rng, rows * n, n);
        let g: Vec<T> = data(&mut rng, n, 0);
        for (i, k) in (0..6).map(|i| (i, k_of(&mut rng, i, n))) {
            let at = 4 * n;
            let xr = &x[at..][..n];
            let mut first: Option<Vec<u64>> = None;
            for kern in all_kernels() {
                let what = format!("single {} k#{i}", kern.path());
                let mut y = vec![T::from_f64(7.0); n];
                kern.soft_binary_argmax(xr, k, tau, &mut y).unwrap();
                let mut yi = xr.to_vec();
                kern.soft_binary_argmax_in_place(&mut yi, k, tau).unwrap();
                let mut yb = vec![T::ZERO; rows * n];
                kern.soft_binary_argmax_rows(&x, rows, n, RowK::All(k), tau, &mut yb)
                    .unwrap();
                assert!(bits(&y) == bits(&yi), "{what} n={n}: in place differs");
                assert!(
                    bits(&y) == bits(&yb[at..][..n]),
                    "{what} n={n}: ≠ batch row"
                );
                assert_row(xr, k, tau, &y, &what);
                let mut gx = vec![T::from_f64(7.0); n];
                kern.soft_binary_argmax_vjp(&y, &g, tau, &mut gx).unwrap();
                let mut gb = vec![T::ZERO; rows * n];
                let gg: Vec<T> = g.iter().copied().cycle().take(rows * n).collect();
                kern.soft_binary_argmax_vjp_rows(&yb, &gg, rows, n, tau, &mut gb)
                    .unwrap();
                assert!(
                    bits(&gx) == bits(&gb[at..][..n]),
                    "{what} n={n}: vjp ≠ batch"
                );
                assert_vjp(&y, &g, tau, &gx, &what);
                if std::mem::size_of::<T>() == 4 {
                    match &first {
                        None => first = Some(bits(&y)),
                        Some(f) => assert!(*f == bits(&y), "{what} n={n}: bits differ"),
                    }
                }
            }
        }
    }
}

#[test]
fn short_singles_f32() {
    singles::<f32>(31);
}

#[test]
fn short_singles_f64() {
    singles::<f64>(32);
}

/// The active kernels (the free functions): what `HYPERSIMPLEX_FORCE_SCALAR=1` and
/// `RAYON_NUM_THREADS=1` change. Bitwise the same as the explicit scalar kernels (f32).
#[test]
fn free_functions_match_every_path_f32() {
    let mut rng = Rng(41);
    for n in [1usize, 4, 10, 32, 64, 128, 200] {
        let rows = (1 << 15) / n + 5;
        let x: Vec<f32> = data(&mut rng, rows * n, n);
        let ks: Vec<f64> = (0..rows).map(|i| k_of(&mut rng, i, n)).collect();
        let mut y = vec![0.0f32; rows * n];
        hypersimplex_simd::soft_binary_argmax_rows(&x, rows, n, RowK::PerRow(&ks), 1.5, &mut y)
            .unwrap();
        let mut ys = vec![0.0f32; rows * n];
        Kernels::scalar()
            .soft_binary_argmax_rows(&x, rows, n, RowK::PerRow(&ks), 1.5, &mut ys)
            .unwrap();
        assert!(bits(&y) == bits(&ys), "n={n}: active path ≠ scalar");
    }
}

/// A bad row or a bad k anywhere in a batch (first, middle or last row; a batch of one block
/// or one that the pool splits) is refused with its error and nothing is written, for the
/// rows, columns and VJP functions.
#[test]
fn bad_rows_anywhere_leave_every_output_untouched() {
    for kern in all_kernels() {
        for n in [1usize, 3, 10, 64, 128, 129] {
            for rows in [9usize, (1 << 15) / n + 1] {
                for at in [0, rows / 2, rows - 1] {
                    let x = vec![0.25f32; rows * n];
                    let fresh = || vec![7.0f32; rows * n];
                    let untouched = |y: &[f32]| y.iter().all(|&v| v == 7.0);
                    let what = format!("{} n={n} rows={rows} at={at}", kern.path());
                    // bad k
                    for bad in [f64::NAN, -0.5, n as f64 + 0.5, f64::INFINITY] {
                        let mut ks = vec![0.5f64.min(n as f64); rows];
                        ks[at] = bad;
                        let mut y = fresh();
                        let r = kern.soft_binary_argmax_rows(
                            &x,
                            rows,
                            n,
                            RowK::PerRow(&ks),
                            1.0,
                            &mut y,
                        );
                        assert_eq!(r, Err(Error::InvalidK), "{what} k={bad}");
                        assert!(untouched(&y), "{what} k={bad}: written");
                    }
                    // NaN, and x/τ overflowing f32
                    for (bad, tau) in [(f32::NAN, 1.0f32), (f32::MAX, 0.25)] {
                        let mut xb = x.clone();
                        xb[at * n + n / 2] = bad;
                        let mut y = fresh();
                        let r =
                            kern.soft_binary_argmax_rows(&xb, rows, n, RowK::All(0.5), tau, &mut y);
                        assert!(r.is_err(), "{what} x={bad}: accepted");
                        assert!(untouched(&y), "{what} x={bad}: written");
                        // the same matrix as columns of length n… (rows ↔ cols)
                        let mut y = fresh();
                        let r = kern.soft_binary_argmax_columns(
                            &xb,
                            n,
                            rows,
                            RowK::All(0.5),
                            tau,
                            &mut y,
                        );
                        assert!(r.is_err(), "{what} columns x={bad}: accepted");
                        assert!(untouched(&y), "{what} columns x={bad}: written");
                        // VJP: a NaN gradient in that row
                        let (yv, mut g) = (vec![0.5f32; rows * n], vec![1.0f32; rows * n]);
                        g[at * n] = f32::NAN;
                        let mut gx = fresh();
                        let r = kern.soft_binary_argmax_vjp_rows(&yv, &g, rows, n, 1.0, &mut gx);
                        assert!(r.is_err(), "{what} vjp: accepted");
                        assert!(untouched(&gx), "{what} vjp: written");
                    }
                }
            }
        }
    }
}

/// Negative controls: the checks above reject a λ off by a little, a sum off by one part in
/// 10^5, and a VJP with the wrong mean.
#[test]
fn checks_are_able_to_fail() {
    let x = [0.3f32, 1.7, -0.2, 0.9, 0.45];
    let z: Vec<f64> = x.iter().map(|&v| v as f64).collect();
    let y: Vec<f32> = reference(&z, 2.0).iter().map(|&v| v as f32).collect();
    assert_row(&x, 2.0, 1.0, &y, "exact");
    let off: Vec<f32> = y
        .iter()
        .map(|&v| if v > 0.0 && v < 1.0 { v + 1e-5 } else { v })
        .collect();
    assert!(std::panic::catch_unwind(|| assert_row(&x, 2.0, 1.0, &off, "off")).is_err());
    let g = [1.0f32, 2.0, 3.0, 4.0, 5.0];
    let mut gx = [0.0f32; 5];
    Kernels::scalar()
        .soft_binary_argmax_vjp(&y, &g, 1.0, &mut gx)
        .unwrap();
    assert_vjp(&y, &g, 1.0, &gx, "exact");
    let mut bad = gx;
    bad.iter_mut()
        .zip(&y)
        .filter(|(_, &v)| v > 0.0 && v < 1.0)
        .for_each(|(o, _)| *o += 0.01);
    assert!(std::panic::catch_unwind(|| assert_vjp(&y, &g, 1.0, &bad, "bad")).is_err());
    // the reference itself: bisection vs a direct solve on a tiny case (k = 1 picks the max
    // minus the others' clip: z = (2, 0): y = (1, 0))
    assert_eq!(reference(&[2.0, 0.0], 1.0), vec![1.0, 0.0]);
    assert_eq!(reference(&[0.5, 0.5], 1.0), vec![0.5, 0.5]);
}

/// Short f32 rows whose λ is huge (ties and near-ties at `|x| ~ 1e12` with a small τ, the
/// fuzzer's case: λ ≈ −1.3e15, where the short solver's `f64` Newton point missed the piece
/// and gave Σy = 7 for k = 8): every path and row layout is within 4ε₃₂ of the exact
/// projection of `x/τ`, computed in the frame of an entry near the free range (`x_i − x_j` is
/// exact in f64 for f32 data of one binade), and the rows, columns and single-vector entry points agree.
#[test]
fn short_rows_at_huge_lambda_are_exact() {
    let mut rng = Rng(77);
    for &(base, tau) in &[
        (-8.25e12f32, 0.0063f32),
        (3.0e9, 1e-3),
        (1.0e20, 0.5),
        (-2.0e5, 1e-4),
        // λ inside the short solver's window, near its edge (|λ| ≈ 6e4)
        (60.0, 1e-3),
        (-65.0, 1e-3),
    ] {
        let ulp = {
            let b = base.abs();
            f32::from_bits(b.to_bits() + 1) - b
        };
        for n in [2usize, 10, 38, 100, 128] {
            let rows = 24;
            let x: Vec<f32> = (0..rows * n)
                .map(|i| {
                    // mostly ties at `base`, the rest a few ulps apart (then |x_i − x_j|/τ
                    // spans several units: free entries, zeros and ones)
                    if i % 3 == 0 {
                        base
                    } else {
                        base + ulp * (rng.below(9) as f32 - 4.0)
                    }
                })
                .collect();
            let ks: Vec<f64> = (0..rows)
                .map(|r| match r % 3 {
                    0 => (n as f64 * 0.2).round().max(1.0).min(n as f64),
                    1 => n as f64 * 0.437,
                    _ => 0.5,
                })
                .collect();
            for kern in all_kernels() {
                let mut y = vec![7.0f32; rows * n];
                kern.soft_binary_argmax_rows(&x, rows, n, RowK::PerRow(&ks), tau, &mut y)
                    .unwrap();
                for r in 0..rows {
                    let (xr, yr) = (&x[r * n..][..n], &y[r * n..][..n]);
                    // solve once in the frame of x_0, then again in the frame of the entry
                    // nearest the free range (small values there: no f64 rounding that counts)
                    let frame = |c: f64| -> Vec<f64> {
                        xr.iter().map(|&v| (v as f64 - c) / tau as f64).collect()
                    };
                    let z = frame(xr[0] as f64);
                    let first = reference(&z, ks[r]);
                    let j = (0..n)
                        .min_by(|&a, &b| (first[a] - 0.5).abs().total_cmp(&(first[b] - 0.5).abs()))
                        .unwrap();
                    let want = reference(&frame(xr[j] as f64), ks[r]);
                    let what = format!("{} base={base} τ={tau} n={n} row {r}", kern.path());
                    for (a, w) in yr.iter().zip(&want) {
                        assert!(
                            (*a as f64 - w).abs() <= 4.0 * f32::EPSILON as f64,
                            "{what}: y={a} want {w}"
                        );
                    }
                    let mut one = vec![7.0f32; n];
                    kern.soft_binary_argmax(xr, ks[r], tau, &mut one).unwrap();
                    assert!(bits(&one) == bits(yr), "{what}: single ≠ row");
                }
            }
        }
    }
}

/// Rows with a few huge finite entries whose sum `Σ x/τ` in the short-row solver's fixed-point
/// units overflows `f32` (five entries of `5e30`, times `2^24`, exceed `f32::MAX`) while the
/// rest are ordinary (the short-row solver hands such rows to the general path; a solver that
/// kept them would have to get them right too): every path, the batch and the single call give
/// the same bits, the huge entries exactly 1 (they lie far above λ + 1), and the others within
/// 4ε₃₂ of the exact projection of the ordinary entries with `k − 5`.
#[test]
fn rows_whose_sum_overflows_the_units_are_exact() {
    let mut rng = Rng(91);
    let (n, rows, tau) = (10usize, 19usize, 1.0f32);
    let x: Vec<f32> = (0..rows * n)
        .map(|i| {
            if i % n < 5 {
                5.0e30
            } else {
                (rng.below(2001) as f32 - 1000.0) * 1e-3
            }
        })
        .collect();
    let ks: Vec<f64> = (0..rows).map(|r| 5.5 + (r % 4) as f64 * 0.9).collect();
    let mut first: Option<Vec<u32>> = None;
    for kern in all_kernels() {
        let mut y = vec![7.0f32; rows * n];
        kern.soft_binary_argmax_rows(&x, rows, n, RowK::PerRow(&ks), tau, &mut y)
            .unwrap();
        for r in 0..rows {
            let (xr, yr) = (&x[r * n..][..n], &y[r * n..][..n]);
            let what = format!("{} row {r}", kern.path());
            assert!(yr[..5].iter().all(|&v| v == 1.0), "{what}: {yr:?}");
            let z: Vec<f64> = xr[5..].iter().map(|&v| v as f64 / tau as f64).collect();
            let want = reference(&z, ks[r] - 5.0);
            for (a, w) in yr[5..].iter().zip(&want) {
                assert!(
                    (*a as f64 - w).abs() <= 4.0 * f32::EPSILON as f64,
                    "{what}: y={a} want {w}"
                );
            }
            let mut one = vec![7.0f32; n];
            kern.soft_binary_argmax(xr, ks[r], tau, &mut one).unwrap();
            assert_eq!(
                one.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                yr.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                "{what}: single call"
            );
        }
        let bits: Vec<u32> = y.iter().map(|v| v.to_bits()).collect();
        match &first {
            None => first = Some(bits),
            Some(b) => assert_eq!(b, &bits, "{}: against the first path", kern.path()),
        }
    }
}

/// A single vector's [`hypersimplex::Projection`] reports the core's `free` and `upper` (the
/// sizes of F and U at λ, `free` = #{0 < y < 1}, `upper` = #{y = 1}) on every path, short
/// rows included: the short path spreads one row across the lanes, so `|U|` is the sum of the
/// lanes' counts (it once reported lane 0's, `upper = 1` for a row with 15 ones at n = 64).
/// Smooth random rows (no entry within rounding of a breakpoint), n = 1…300, fractional k
/// from 0.5 to n − 0.5 (an integer k can leave λ free in a gap between entries, where the
/// sets depend on the end of the gap a solver stops at; a fractional k needs a free entry,
/// so λ and the sets are unique).
#[test]
fn single_vector_counts_match_the_core() {
    let mut rng = Rng(77);
    for n in 1..=300usize {
        let x: Vec<f32> = (0..n).map(|_| rng.normal() as f32).collect();
        let tau = 0.75f32;
        let nf = n as f64;
        for k in [
            0.5,
            1.25,
            nf / 3.0 + 0.125,
            nf / 2.0 + 0.25,
            nf - 1.5,
            nf - 0.5,
        ] {
            if k <= 0.0 || k >= n as f64 {
                continue;
            }
            let mut yc = vec![0.0f32; n];
            let q = hypersimplex::soft_binary_argmax(&x, k, tau, &mut yc).unwrap();
            let ones = yc.iter().filter(|&&v| v == 1.0).count();
            let free = yc.iter().filter(|&&v| v > 0.0 && v < 1.0).count();
            assert_eq!((q.free, q.upper), (free, ones), "core n={n} k={k}");
            for kern in all_kernels() {
                let mut y = vec![0.0f32; n];
                let p = kern.soft_binary_argmax(&x, k, tau, &mut y).unwrap();
                let what = format!("{} n={n} k={k}", kern.path());
                assert_eq!((p.free, p.upper), (q.free, q.upper), "{what}");
                let mut yi = x.clone();
                let pi = kern.soft_binary_argmax_in_place(&mut yi, k, tau).unwrap();
                assert_eq!((pi.free, pi.upper), (q.free, q.upper), "{what} in place");
            }
        }
    }
}
