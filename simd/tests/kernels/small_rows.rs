//! Short rows (n = 1…300) of the rows functions against an independent f64 sort-based
//! reference: ties, k ∈ {0, n, fractional}, per-row k; bitwise equality between thread counts
//! (and, for f32, between kernel paths); bad rows leaving every output untouched. Written for
//! issue 14's short-row path; it checks the general path as it stands.

use crate::common::*;
use hypersimplex_simd::{Element, Error, Kernels, RowK};

/// Exact projection of `z` (f64) onto Δ(n, k) by sorting the breakpoints `z_i`, `z_i − 1`
/// and solving the linear piece that holds k.
fn reference(z: &[f64], k: f64) -> Vec<f64> {
    let f = |l: f64| z.iter().map(|&v| (v - l).clamp(0.0, 1.0)).sum::<f64>();
    let mut b: Vec<f64> = z.iter().flat_map(|&v| [v, v - 1.0]).collect();
    b.sort_by(|a, c| a.partial_cmp(c).unwrap());
    let lam = if k <= 0.0 {
        f64::INFINITY
    } else if k >= z.len() as f64 {
        f64::NEG_INFINITY
    } else {
        // the last breakpoint with f ≥ k, then the piece up to the next one
        let i = b.iter().rposition(|&t| f(t) >= k).unwrap();
        let (lo, hi) = (b[i], b.get(i + 1).copied().unwrap_or(b[i] + 1.0));
        let mid = 0.5 * (lo + hi);
        let (mut nf, mut sf, mut nu) = (0.0, 0.0, 0.0);
        for &v in z {
            if v - mid >= 1.0 {
                nu += 1.0;
            } else if v - mid > 0.0 {
                nf += 1.0;
                sf += v;
            }
        }
        if nf > 0.0 {
            (sf + nu - k) / nf
        } else {
            lo
        }
    };
    z.iter().map(|&v| (v - lam).clamp(0.0, 1.0)).collect()
}

fn check<T: Element>(seed: u64) {
    let mut rng = Rng(seed);
    let tau = T::from_f64(0.5); // 1/τ = 2 exactly: z = 2x in every type
    for n in 1..=300usize {
        let rows = 1 + rng.below(6);
        let x: Vec<T> = data(&mut rng, rows * n, n + seed as usize);
        let ks: Vec<f64> = (0..rows)
            .map(|i| match i % 6 {
                0 => 0.0,
                1 => n as f64,
                2 => (n as f64 * rng.unit() * 1e3).round() / 1e3,
                3 => rng.below(n + 1) as f64,
                // k ≤ 1 and n − k ≤ 1 (the short-row solver starts from a bound there)
                4 => rng.unit().min(n as f64),
                _ => (n as f64 - rng.unit()).max(0.0),
            })
            .collect();
        let mut first: Option<(Vec<u64>, Vec<u64>)> = None;
        let g: Vec<T> = data(&mut rng, rows * n, 0);
        for kern in all_kernels() {
            for t in [1, 2] {
                let (y, gx) = with_threads(t, || {
                    let mut y = vec![T::from_f64(7.0); rows * n];
                    kern.soft_binary_argmax_rows(&x, rows, n, RowK::PerRow(&ks), tau, &mut y)
                        .unwrap();
                    let mut gx = vec![T::ZERO; rows * n];
                    kern.soft_binary_argmax_vjp_rows(&y, &g, rows, n, tau, &mut gx)
                        .unwrap();
                    (y, gx)
                });
                let b = (bits(&y), bits(&gx));
                match &first {
                    None => first = Some(b),
                    // The general f64 solver's and VJP's
                    // lane-order sums differ between paths by rounding (as before); the
                    // thread count never changes a result.
                    Some(f) if std::mem::size_of::<T>() == 4 => {
                        assert!(f.0 == b.0, "n={n}: {} t={t} forward differs", kern.path());
                        assert!(f.1 == b.1, "n={n}: {} t={t} vjp differs", kern.path());
                    }
                    Some(_) => {}
                }
                for i in 0..rows {
                    let xr = &x[i * n..(i + 1) * n];
                    let z: Vec<f64> = xr.iter().map(|v| v.to_f64() * 2.0).collect();
                    let yr = &y[i * n..(i + 1) * n];
                    let want = reference(&z, ks[i]);
                    let m = z.iter().fold(1.0f64, |a, v| a.max(v.abs())) + 1.0;
                    let tol = 8.0 * T::EPSILON.to_f64() * m;
                    for (a, w) in yr.iter().zip(&want) {
                        assert!((a.to_f64() - w).abs() <= tol, "n={n} k={} row {i}", ks[i]);
                    }
                    let sum: f64 = yr.iter().map(|v| v.to_f64()).sum();
                    assert!((sum - ks[i]).abs() <= n as f64 * tol, "n={n} Σy={sum}");
                    // VJP: (g − mean over the free set)·s on the free set, 0 elsewhere
                    let gr = &g[i * n..(i + 1) * n];
                    let free: Vec<usize> = (0..n)
                        .filter(|&j| yr[j] > T::ZERO && yr[j] < T::ONE)
                        .collect();
                    let mean = free.iter().map(|&j| gr[j].to_f64()).sum::<f64>()
                        / free.len().max(1) as f64;
                    for j in 0..n {
                        let w = if free.contains(&j) {
                            (gr[j].to_f64() - mean) * 2.0
                        } else {
                            0.0
                        };
                        let gm = gr.iter().fold(1.0f64, |a, v| a.max(v.to_f64().abs()));
                        let d = (gx[i * n + j].to_f64() - w).abs();
                        assert!(d <= 8.0 * T::EPSILON.to_f64() * gm * 2.0, "vjp n={n}");
                    }
                }
            }
        }
    }
}

#[test]
fn short_rows_match_sort_reference_f32() {
    check::<f32>(1);
}

#[test]
fn short_rows_match_sort_reference_f64() {
    check::<f64>(2);
}

#[test]
fn reference_is_able_to_fail() {
    // negative control: the reference differs from a wrong projection (λ off by 0.01)
    let z = [0.3, 1.7, -0.2, 0.9];
    let y = reference(&z, 2.0);
    assert!((y.iter().sum::<f64>() - 2.0).abs() < 1e-12);
    let wrong: Vec<f64> = z
        .iter()
        .map(|v| (v - 0.01 - 0.35f64).clamp(0.0, 1.0))
        .collect();
    assert!(y.iter().zip(&wrong).any(|(a, b)| (a - b).abs() > 1e-3));
}

#[test]
fn bad_rows_leave_every_output_untouched() {
    for kern in all_kernels() {
        // one row takes the single-vector route, nine the blocks
        for (n, rows) in [1usize, 5, 10, 64]
            .into_iter()
            .flat_map(|n| [(n, 1), (n, 9)])
        {
            for bad in [f32::NAN, f32::INFINITY] {
                let mut x = vec![0.25f32; rows * n];
                x[(rows - 1) * n] = bad; // the last row only
                let mut y = vec![7.0f32; rows * n];
                let r = kern.soft_binary_argmax_rows(&x, rows, n, RowK::All(0.5), 1.0, &mut y);
                // NaN is an error; +∞ is a mask that k = 0.5 cannot hold (it needs k ≥ 1)
                let want = if bad.is_nan() {
                    Error::NonFiniteInput
                } else {
                    Error::InvalidK
                };
                assert_eq!(r, Err(want), "n={n}");
                assert!(y.iter().all(|&v| v == 7.0), "n={n}: output written");
                // VJP: a non-finite y in the last row
                let mut gx = vec![7.0f32; rows * n];
                let yb = x.clone();
                let g = vec![1.0f32; rows * n];
                assert!(kern
                    .soft_binary_argmax_vjp_rows(&yb, &g, rows, n, 1.0, &mut gx)
                    .is_err());
                assert!(gx.iter().all(|&v| v == 7.0));
            }
        }
    }
    let _ = Kernels::active();
}

/// A batch large enough to run on the pool (its input checks split into blocks across the
/// threads): one bad value (NaN, an overflowing `x/τ`, a bad per-row k, a non-finite VJP
/// input) in the first, a middle or the last row leaves every output untouched, on 1 and 4
/// threads.
#[test]
fn bad_rows_in_pooled_batches_leave_every_output_untouched() {
    let (rows, n) = (5000usize, 10usize);
    let total = rows * n;
    for kern in all_kernels() {
        for t in [1, 4] {
            for at in [0, total / 2 + 3, total - 1] {
                with_threads(t, || {
                    let x: Vec<f32> = (0..total).map(|i| (i % 7) as f32 * 0.3).collect();
                    let check = |x: &[f32], k: RowK<'_>, tau: f32, want: Error| {
                        let mut y = vec![7.0f32; total];
                        let r = kern.soft_binary_argmax_rows(x, rows, n, k, tau, &mut y);
                        assert_eq!(r, Err(want), "t={t} at={at}");
                        assert!(y.iter().all(|&v| v == 7.0), "t={t} at={at}: written");
                    };
                    // NaN; f32::MAX, whose x/τ overflows at τ = ½
                    for (bad, tau, want) in [
                        (f32::NAN, 1.5, Error::NonFiniteInput),
                        (f32::MAX, 0.5, Error::ScaleOverflow),
                    ] {
                        let mut xb = x.clone();
                        xb[at] = bad;
                        check(&xb, RowK::All(5.0), tau, want);
                    }
                    let mut ks = vec![5.0f64; rows];
                    ks[at / n] = 10.5;
                    check(&x, RowK::PerRow(&ks), 1.5, Error::InvalidK);
                    // the VJP: a non-finite y, then a non-finite g
                    let y = vec![0.5f32; total];
                    let g = vec![1.0f32; total];
                    for which in 0..2 {
                        let (mut yb, mut gb) = (y.clone(), g.clone());
                        if which == 0 {
                            yb[at] = f32::NAN;
                        } else {
                            gb[at] = f32::INFINITY;
                        }
                        let mut gx = vec![7.0f32; total];
                        let r = kern.soft_binary_argmax_vjp_rows(&yb, &gb, rows, n, 1.5, &mut gx);
                        assert!(r.is_err(), "t={t} at={at}");
                        assert!(gx.iter().all(|&v| v == 7.0), "t={t} at={at}: written");
                    }
                    // and the good batch still solves on this pool
                    let mut y = vec![7.0f32; total];
                    kern.soft_binary_argmax_rows(&x, rows, n, RowK::All(5.0), 1.5, &mut y)
                        .unwrap();
                    assert!(y.iter().all(|v| (0.0..=1.0).contains(v)));
                });
            }
        }
    }
}

/// A batch of one row (the single-vector route) gives the bits that row gets inside a batch of
/// 17 (the blocks), forward and VJP, for n = 1…300, four kinds of data and fractional k.
#[test]
fn one_row_batches_match_the_row_in_a_block() {
    let mut rng = Rng(0x0e2b_10c1);
    for kern in all_kernels() {
        for n in (1usize..=300).step_by(7).chain([8, 10, 16, 96, 97, 256]) {
            let rows = 17;
            let kind = n % 4;
            let x: Vec<f32> = data(&mut rng, rows * n, kind);
            let k = (n as f64 * 0.37).max(0.5).min(n as f64);
            let at = 5; // a row in the first block, not its first lane
            let mut yb = vec![0.0f32; rows * n];
            kern.soft_binary_argmax_rows(&x, rows, n, RowK::All(k), 1.5, &mut yb)
                .unwrap();
            let xr = &x[at * n..(at + 1) * n];
            let mut y1 = vec![7.0f32; n];
            kern.soft_binary_argmax_rows(xr, 1, n, RowK::PerRow(&[k]), 1.5, &mut y1)
                .unwrap();
            assert_eq!(bits(&y1), bits(&yb[at * n..(at + 1) * n]), "forward n={n}");
            let g: Vec<f32> = data(&mut rng, rows * n, 0);
            let mut gb = vec![0.0f32; rows * n];
            kern.soft_binary_argmax_vjp_rows(&yb, &g, rows, n, 1.5, &mut gb)
                .unwrap();
            let mut g1 = vec![7.0f32; n];
            let yr = &yb[at * n..(at + 1) * n];
            kern.soft_binary_argmax_vjp_rows(yr, &g[at * n..(at + 1) * n], 1, n, 1.5, &mut g1)
                .unwrap();
            assert_eq!(bits(&g1), bits(&gb[at * n..(at + 1) * n]), "VJP n={n}");
            // batches of a few rows (the VJP takes 2 and 3 one by one, 4 in lanes)
            for few in [2usize, 3, 4] {
                let (yf, gf) = (&yb[..few * n], &g[..few * n]);
                let mut of = vec![7.0f32; few * n];
                kern.soft_binary_argmax_vjp_rows(yf, gf, few, n, 1.5, &mut of)
                    .unwrap();
                assert_eq!(bits(&of), bits(&gb[..few * n]), "VJP n={n}, {few} rows");
                let mut yfw = vec![7.0f32; few * n];
                kern.soft_binary_argmax_rows(&x[..few * n], few, n, RowK::All(k), 1.5, &mut yfw)
                    .unwrap();
                assert_eq!(
                    bits(&yfw),
                    bits(&yb[..few * n]),
                    "forward n={n}, {few} rows"
                );
            }
        }
    }
}

/// Rows whose iteration takes the accelerated step (n ≥ 24, k < n/4 or k > 3n/4) run in their
/// own copy of the block loop; a per-row k array switches to it at its first block with such a
/// row. Every row of such batches (blocks without them first, then mixed blocks, then blocks
/// without them again) gets the bits it gets alone (the single-vector route, which takes the
/// step by the row's own k) and the projection of the f64 reference, on every path and at one
/// and two threads.
#[test]
fn accelerated_rows_match_alone_across_blocks() {
    let mut rng = Rng(0x00ac_ce1e);
    for n in [23usize, 24, 40, 64, 100, 256] {
        let rows = 16 * 12 + 5;
        let x: Vec<f32> = data(&mut rng, rows * n, n % 4);
        let nf = n as f64;
        let ks: Vec<f64> = (0..rows)
            .map(|r| match r % 5 {
                // blocks 0–2 and 9–11: no accelerated row; blocks 3–8 mixed
                _ if !(3..9).contains(&(r / 16)) => nf / 2.0,
                0 => 1.0,
                1 => (nf * 0.1 * rng.unit() * 1e3).round() / 1e3 + 0.5,
                2 => nf - 1.5,
                3 => nf * 0.8,
                _ => nf * 0.4,
            })
            .collect();
        let tau = 0.5f32; // z = 2x exactly
        let mut first: Option<Vec<u64>> = None;
        for kern in all_kernels() {
            for t in [1, 2] {
                let y = with_threads(t, || {
                    let mut y = vec![7.0f32; rows * n];
                    kern.soft_binary_argmax_rows(&x, rows, n, RowK::PerRow(&ks), tau, &mut y)
                        .unwrap();
                    y
                });
                match &first {
                    None => first = Some(bits(&y)),
                    Some(f) => assert!(*f == bits(&y), "n={n}: {} t={t} differs", kern.path()),
                }
                for r in 0..rows {
                    let (xr, yr) = (&x[r * n..][..n], &y[r * n..][..n]);
                    let mut y1 = vec![7.0f32; n];
                    kern.soft_binary_argmax_rows(xr, 1, n, RowK::PerRow(&ks[r..=r]), tau, &mut y1)
                        .unwrap();
                    assert_eq!(bits(&y1), bits(yr), "n={n} row {r} k={}: alone", ks[r]);
                    let z: Vec<f64> = xr.iter().map(|&v| v as f64 * 2.0).collect();
                    let m = z.iter().fold(1.0f64, |a, v| a.max(v.abs())) + 1.0;
                    let tol = 8.0 * f32::EPSILON as f64 * m;
                    for (a, w) in yr.iter().zip(reference(&z, ks[r])) {
                        assert!((*a as f64 - w).abs() <= tol, "n={n} row {r} k={}", ks[r]);
                    }
                }
            }
        }
    }
}

/// Every batch size from 1 to 70 rows (one and two blocks of 16, the AVX-512 path's spans of
/// two blocks, partial groups and partial blocks at the end) gives every row the bits of the
/// scalar path, and each row the bits it gets alone, with one k and with a per-row k, on one
/// thread (no split into tasks).
#[test]
fn every_batch_size_gives_each_row_its_bits() {
    let mut rng = Rng(0x0b5e_0f5e);
    let scalar = Kernels::scalar();
    // 120 and 200: rows solved where they lie (an odd count of vectors: 15 and 25)
    for n in [1usize, 4, 10, 33, 64, 120, 200] {
        let most = 70;
        let x: Vec<f32> = data(&mut rng, most * n, n % 4);
        let ks: Vec<f64> = (0..most)
            .map(|r| [n as f64 / 2.0, 1.0, n as f64 * 0.9, 0.25 * n as f64][r % 4])
            .collect();
        // each row alone (the single-vector route), by its own k
        let alone: Vec<Vec<u64>> = (0..most)
            .map(|r| {
                let mut y = vec![7.0f32; n];
                let xr = &x[r * n..(r + 1) * n];
                scalar
                    .soft_binary_argmax_rows(xr, 1, n, RowK::PerRow(&ks[r..r + 1]), 1.5, &mut y)
                    .unwrap();
                bits(&y)
            })
            .collect();
        for kern in all_kernels() {
            let name = kern.path().name();
            with_threads(1, || {
                for rows in 1..=most {
                    let total = rows * n;
                    let mut y = vec![7.0f32; total];
                    kern.soft_binary_argmax_rows(
                        &x[..total],
                        rows,
                        n,
                        RowK::PerRow(&ks[..rows]),
                        1.5,
                        &mut y,
                    )
                    .unwrap();
                    for (r, want) in alone.iter().take(rows).enumerate() {
                        assert_eq!(
                            &bits(&y[r * n..(r + 1) * n]),
                            want,
                            "{name} n={n} rows={rows} row {r} (per-row k)"
                        );
                    }
                    let mut ya = vec![7.0f32; total];
                    let mut ys = vec![8.0f32; total];
                    let k = RowK::All(n as f64 * 0.3);
                    kern.soft_binary_argmax_rows(&x[..total], rows, n, k, 1.5, &mut ya)
                        .unwrap();
                    scalar
                        .soft_binary_argmax_rows(&x[..total], rows, n, k, 1.5, &mut ys)
                        .unwrap();
                    assert_eq!(bits(&ya), bits(&ys), "{name} n={n} rows={rows} (one k)");
                }
            });
        }
    }
}

/// The rows functions and the single-vector route fit a thread of 1.25 MiB (rayon's and the
/// test harness's threads have 2 MiB) on every path, in a debug build too, where the solver's
/// inlined instances keep their stack slots (the AVX2 copy's frame is about 800 KB there): with
/// the portable instances inlined into the dispatcher, the AVX2 route took about 1.75 MB.
#[test]
fn short_rows_fit_a_small_thread_stack() {
    for path in hypersimplex_simd::Path::supported() {
        let kern = Kernels::new(path).unwrap();
        std::thread::Builder::new()
            .stack_size(1280 << 10)
            .spawn(move || {
                let mut rng = Rng(0x5ac4);
                for n in [10usize, 64, 256] {
                    for rows in [1usize, 40] {
                        let x: Vec<f32> = data(&mut rng, rows * n, 0);
                        let mut y = vec![0.0f32; rows * n];
                        let k = RowK::All(n as f64 / 3.0);
                        kern.soft_binary_argmax_rows(&x, rows, n, k, 1.5, &mut y)
                            .unwrap();
                        let s: f64 = y[..n].iter().map(|&v| v as f64).sum();
                        assert!(
                            (s - n as f64 / 3.0).abs() < 1e-3 * n as f64,
                            "{path} {n}: {s}"
                        );
                    }
                }
            })
            .unwrap()
            .join()
            .unwrap();
    }
}
