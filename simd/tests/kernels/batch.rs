//! Batched entry points against per-line calls (this crate's, bitwise; the core crate's,
//! within the documented bound), for every path and several thread counts, and the
//! "validate everything before writing anything" contract.

use crate::common::*;
use hypersimplex::{ClassK, Reduction};
use hypersimplex_simd::{Element, Error, Kernels, RowK};

fn column<T: Copy>(x: &[T], cols: usize, c: usize) -> Vec<T> {
    x.iter().skip(c).step_by(cols).copied().collect()
}

fn check_rows<T: Element>(k: Kernels, rows: usize, n: usize, seed: u64) {
    let mut rng = Rng(seed);
    let x: Vec<T> = data(&mut rng, rows * n, seed as usize);
    let ks: Vec<f64> = (0..rows).map(|i| (i % (n + 1)) as f64 * 0.9).collect();
    let tau = T::from_f64(0.7);
    let g: Vec<T> = data(&mut rng, rows * n, 0);
    let mut outs = Vec::new();
    for t in [1, 2, 3] {
        let (y, gx) = with_threads(t, || {
            let mut y = vec![T::ZERO; rows * n];
            k.soft_binary_argmax_rows(&x, rows, n, RowK::PerRow(&ks), tau, &mut y)
                .unwrap();
            let mut gx = vec![T::ZERO; rows * n];
            k.soft_binary_argmax_vjp_rows(&y, &g, rows, n, tau, &mut gx)
                .unwrap();
            (y, gx)
        });
        outs.push((bits(&y), bits(&gx)));
        if t == 1 {
            for i in 0..rows {
                let (xr, yr) = (&x[i * n..(i + 1) * n], &y[i * n..(i + 1) * n]);
                let mut ys = vec![T::ZERO; n];
                let p = k.soft_binary_argmax(xr, ks[i], tau, &mut ys).unwrap();
                assert_eq!(bits(&ys), bits(yr), "row {i} vs single call");
                let mut yc = vec![T::ZERO; n];
                hypersimplex::soft_binary_argmax(xr, ks[i], tau, &mut yc).unwrap();
                let m = magnitude(xr, tau, p.lambda);
                assert!(max_abs_diff(yr, &yc) <= bound::<T>(n, m), "row {i} vs core");
                let mut gs = vec![T::ZERO; n];
                k.soft_binary_argmax_vjp(yr, &g[i * n..(i + 1) * n], tau, &mut gs)
                    .unwrap();
                assert_eq!(bits(&gs), bits(&gx[i * n..(i + 1) * n]), "vjp row {i}");
            }
        }
    }
    assert!(
        outs.windows(2).all(|w| w[0] == w[1]),
        "thread counts differ"
    );
}

fn check_columns<T: Element>(k: Kernels, rows: usize, cols: usize, seed: u64) {
    let mut rng = Rng(seed);
    let x: Vec<T> = data(&mut rng, rows * cols, seed as usize);
    let g: Vec<T> = data(&mut rng, rows * cols, 0);
    let tau = T::from_f64(1.3);
    let kk = RowK::All(rows as f64 / 3.0);
    let mut outs = Vec::new();
    for t in [1, 2, 3] {
        let (y, gx) = with_threads(t, || {
            let mut y = vec![T::ZERO; rows * cols];
            k.soft_binary_argmax_columns(&x, rows, cols, kk, tau, &mut y)
                .unwrap();
            let mut gx = vec![T::ZERO; rows * cols];
            k.soft_binary_argmax_vjp_columns(&y, &g, rows, cols, tau, &mut gx)
                .unwrap();
            (y, gx)
        });
        outs.push((bits(&y), bits(&gx)));
        if t == 1 {
            for c in 0..cols {
                let xc = column(&x, cols, c);
                let yc = column(&y, cols, c);
                let mut ys = vec![T::ZERO; rows];
                let p = k
                    .soft_binary_argmax(&xc, rows as f64 / 3.0, tau, &mut ys)
                    .unwrap();
                assert_eq!(bits(&ys), bits(&yc), "column {c} vs single call");
                let gc = column(&g, cols, c);
                let mut gs = vec![T::ZERO; rows];
                hypersimplex::soft_binary_argmax_vjp(&yc, &gc, tau, &mut gs).unwrap();
                let gxc = column(&gx, cols, c);
                if rows <= 1024 {
                    // one block of rows: the column sums are in core's order, bitwise equal
                    assert_eq!(bits(&gs), bits(&gxc), "vjp column {c}");
                } else {
                    let s = (T::ONE / tau).to_f64();
                    assert!(max_abs_diff(&gs, &gxc) <= 8.0 * s * bound::<T>(rows, 4.0));
                }
                let _ = p;
            }
        }
    }
    assert!(
        outs.windows(2).all(|w| w[0] == w[1]),
        "thread counts differ"
    );
}

fn check_multiclass<T: Element>(k: Kernels, batch: usize, classes: usize, seed: u64) {
    let mut rng = Rng(seed);
    let x: Vec<T> = data(&mut rng, batch * classes, 0);
    let labels: Vec<u32> = (0..batch).map(|_| rng.below(classes) as u32).collect();
    let tau = T::from_f64(0.9);
    for (ck, red) in [
        (ClassK::LabelCounts, Reduction::Sum),
        (ClassK::Fixed(batch as f64 / 2.0), Reduction::Mean),
    ] {
        let mut outs = Vec::new();
        for t in [1, 2, 3] {
            let (l, g) = with_threads(t, || {
                let mut g = vec![T::ZERO; batch * classes];
                let l = k
                    .hypersimplex_loss_multiclass(&x, &labels, classes, ck, tau, red, Some(&mut g))
                    .unwrap();
                (l, g)
            });
            outs.push((l.to_f64().to_bits(), bits(&g)));
            if t == 1 {
                let mut gc = vec![T::ZERO; batch * classes];
                let mut scratch = vec![T::ZERO; batch];
                let lc = hypersimplex::hypersimplex_loss_multiclass(
                    &x,
                    &labels,
                    classes,
                    ck,
                    tau,
                    red,
                    Some(&mut gc),
                    &mut scratch,
                )
                .unwrap();
                let m = magnitude(&x, tau, 0.0);
                let rel = (l.to_f64() - lc.to_f64()).abs() / lc.to_f64().abs().max(1e-30);
                assert!(rel <= 1e3 * T::EPSILON.to_f64() * m, "loss {l:?} vs {lc:?}");
                let s = (T::ONE / tau).to_f64();
                assert!(
                    max_abs_diff(&g, &gc) <= 8.0 * s * bound::<T>(batch, m),
                    "grad"
                );
                let mut lo = 0.0;
                let only = k
                    .hypersimplex_loss_multiclass(&x, &labels, classes, ck, tau, red, None)
                    .unwrap();
                lo += only.to_f64();
                assert_eq!(lo.to_bits(), l.to_f64().to_bits(), "loss without gradient");
            }
        }
        assert!(
            outs.windows(2).all(|w| w[0] == w[1]),
            "thread counts differ"
        );
    }
}

#[test]
fn rows_match_single_calls_and_core() {
    for k in all_kernels() {
        for &(rows, n) in &[
            (1, 1),
            (3, 7),
            (5, 17),
            (64, 33),
            (40, 1000),
            (4, 5000),
            (3000, 10),
        ] {
            check_rows::<f32>(k, rows, n, 3);
            check_rows::<f64>(k, rows, n, 4);
        }
    }
}

#[test]
fn columns_match_single_calls_and_core() {
    for k in all_kernels() {
        for &(rows, cols) in &[(1, 1), (7, 3), (33, 5), (300, 10), (2100, 10), (5000, 3)] {
            check_columns::<f32>(k, rows, cols, 5);
            check_columns::<f64>(k, rows, cols, 6);
        }
    }
}

#[test]
fn multiclass_matches_core() {
    for k in all_kernels() {
        for &(b, c) in &[(1, 1), (9, 3), (100, 10), (3000, 7)] {
            check_multiclass::<f32>(k, b, c, 8);
            check_multiclass::<f64>(k, b, c, 9);
        }
    }
}

#[test]
fn errors_leave_outputs_untouched() {
    let (rows, n) = (6usize, 2000usize);
    let mut x: Vec<f32> = (0..rows * n).map(|i| (i % 97) as f32 * 0.01).collect();
    let sentinel = 7.0f32;
    for k in all_kernels() {
        for t in [1, 2] {
            with_threads(t, || {
                let mut y = vec![sentinel; rows * n];
                let untouched = |y: &[f32]| y.iter().all(|&v| v == sentinel);
                // bad data in the last row only: nothing may be written to earlier rows
                let last = rows * n - 3;
                let keep = x[last];
                x[last] = f32::NAN;
                let r = k.soft_binary_argmax_rows(&x, rows, n, RowK::All(3.0), 1.0, &mut y);
                assert_eq!(r, Err(Error::NonFiniteInput));
                assert!(untouched(&y));
                let r = k.soft_binary_argmax_columns(&x, n, rows, RowK::All(3.0), 1.0, &mut y);
                assert_eq!(r, Err(Error::NonFiniteInput));
                assert!(untouched(&y));
                let g = vec![0.5f32; rows * n];
                let r = k.soft_binary_argmax_vjp_rows(&x, &g, rows, n, 1.0, &mut y);
                assert_eq!(r, Err(Error::NonFiniteInput));
                assert!(untouched(&y));
                let r = k.soft_binary_argmax_vjp_columns(&g, &x, n, rows, 1.0, &mut y);
                assert_eq!(r, Err(Error::NonFiniteInput));
                assert!(untouched(&y));
                let labels = vec![0u32; n];
                let r = k.hypersimplex_loss_multiclass(
                    &x,
                    &labels,
                    rows,
                    ClassK::LabelCounts,
                    1.0,
                    Reduction::Sum,
                    Some(&mut y),
                );
                assert_eq!(r, Err(Error::NonFiniteInput));
                assert!(untouched(&y));
                x[last] = keep;
                // invalid k in the last row, a short PerRow slice, bad τ, bad shapes
                let mut ks = vec![2.0; rows];
                ks[rows - 1] = n as f64 + 1.0;
                let r = k.soft_binary_argmax_rows(&x, rows, n, RowK::PerRow(&ks), 1.0, &mut y);
                assert_eq!(r, Err(Error::InvalidK));
                let r = k.soft_binary_argmax_rows(&x, rows, n, RowK::PerRow(&ks[1..]), 1.0, &mut y);
                assert_eq!(r, Err(Error::LengthMismatch));
                let r = k.soft_binary_argmax_rows(&x, rows, n, RowK::All(1.0), -1.0, &mut y);
                assert_eq!(r, Err(Error::InvalidTau));
                let r = k.soft_binary_argmax_rows(&x, rows, n + 1, RowK::All(1.0), 1.0, &mut y);
                assert_eq!(r, Err(Error::LengthMismatch));
                let r = k.soft_binary_argmax_rows(&x, usize::MAX, 2, RowK::All(1.0), 1.0, &mut y);
                assert_eq!(r, Err(Error::LengthMismatch));
                let r = k.soft_binary_argmax_columns(
                    &x,
                    rows,
                    n,
                    RowK::All(rows as f64 + 1.0),
                    1.0,
                    &mut y,
                );
                assert_eq!(r, Err(Error::InvalidK));
                let r = k.soft_binary_argmax_rows(&x, rows, n, RowK::All(1.0), 1e-40, &mut y);
                assert_eq!(r, Err(Error::ScaleOverflow));
                let mut bad_labels = vec![0u32; n];
                bad_labels[n - 1] = rows as u32;
                let r = k.hypersimplex_loss_multiclass(
                    &x,
                    &bad_labels,
                    rows,
                    ClassK::LabelCounts,
                    1.0,
                    Reduction::Sum,
                    Some(&mut y),
                );
                assert_eq!(r, Err(Error::LabelOutOfRange));
                let r = k.hypersimplex_loss_multiclass(
                    &x,
                    &labels,
                    rows,
                    ClassK::Fixed(n as f64 + 1.0),
                    1.0,
                    Reduction::Sum,
                    Some(&mut y),
                );
                assert_eq!(r, Err(Error::InvalidK));
                assert!(untouched(&y));
            });
        }
    }
}

#[test]
fn empty_batches_are_fine() {
    for k in all_kernels() {
        let mut y: Vec<f32> = vec![];
        assert_eq!(
            k.soft_binary_argmax_rows(&[], 0, 5, RowK::All(1.0), 1.0, &mut y),
            Ok(())
        );
        assert_eq!(
            k.soft_binary_argmax_rows(&[], 5, 0, RowK::All(0.0), 1.0, &mut y),
            Ok(())
        );
        assert_eq!(
            k.soft_binary_argmax_rows(&[], 5, 0, RowK::All(1.0), 1.0, &mut y),
            Err(Error::InvalidK)
        );
        assert_eq!(
            k.soft_binary_argmax_columns(&[], 0, 3, RowK::All(0.0), 1.0, &mut y),
            Ok(())
        );
        assert_eq!(
            k.soft_binary_argmax_vjp_columns(&[], &[], 4, 0, 1.0, &mut y),
            Ok(())
        );
        assert_eq!(
            k.soft_binary_argmax_vjp_rows(&[], &[], 0, 4, 1.0, &mut y),
            Ok(())
        );
    }
}
