//! `±∞` masks (issue 13 item 6) on every kernel path and thread count: rows, the binary loss and
//! the top-k mask agree with the core crate (whose masked projection `core/tests/masks.rs`
//! checks against the f64 reference); an infeasible row refuses the whole batch.

use crate::common::*;
use hypersimplex_simd::{Error, RowK};

/// `rows × n` values with a mask pattern per row and a feasible per-row k.
fn masked_batch(rows: usize, n: usize, seed: u64) -> (Vec<f32>, Vec<f64>) {
    let mut rng = Rng(seed);
    let mut x: Vec<f32> = data(&mut rng, rows * n, 0);
    let mut ks = vec![];
    for r in 0..rows {
        let row = &mut x[r * n..(r + 1) * n];
        let (mut p, mut m) = (0usize, 0usize);
        for v in row.iter_mut() {
            match rng.below(5) {
                0 => {
                    *v = f32::INFINITY;
                    p += 1;
                }
                1 => {
                    *v = f32::NEG_INFINITY;
                    m += 1;
                }
                _ => {}
            }
        }
        let free = (n - p - m) as f64;
        ks.push(p as f64 + free * [0.0, 0.3, 1.0, 0.5][r % 4]);
    }
    (x, ks)
}

#[test]
fn rows_with_masks_equal_the_single_vector_projection_on_every_path_and_thread_count() {
    for (rows, n) in [(37usize, 10usize), (9, 100), (3, 3000)] {
        let (x, ks) = masked_batch(rows, n, rows as u64);
        let mut want = vec![0.0f32; rows * n];
        for r in 0..rows {
            hypersimplex::soft_binary_argmax(
                &x[r * n..(r + 1) * n],
                ks[r],
                0.8,
                &mut want[r * n..(r + 1) * n],
            )
            .unwrap();
        }
        for k in all_kernels() {
            for t in [1, 2, 3] {
                let mut y = vec![7.0f32; rows * n];
                with_threads(t, || {
                    k.soft_binary_argmax_rows(&x, rows, n, RowK::PerRow(&ks), 0.8, &mut y)
                })
                .unwrap();
                assert_eq!(
                    bits(&y),
                    bits(&want),
                    "{:?} {rows}x{n} threads {t}",
                    k.path()
                );
            }
        }
    }
}

#[test]
fn an_infeasible_row_refuses_the_batch_and_leaves_every_output_untouched() {
    let (rows, n) = (8usize, 40usize);
    let (x, mut ks) = masked_batch(rows, n, 5);
    let p5 = x[5 * n..6 * n]
        .iter()
        .filter(|v| **v == f32::INFINITY)
        .count();
    assert!(p5 > 0);
    ks[5] = p5 as f64 - 0.5; // fewer ones than +∞ entries
    for k in all_kernels() {
        let mut y = vec![7.0f32; rows * n];
        let r = k.soft_binary_argmax_rows(&x, rows, n, RowK::PerRow(&ks), 1.0, &mut y);
        assert_eq!(r, Err(Error::InvalidK), "{:?}", k.path());
        assert!(y.iter().all(|&v| v == 7.0));
        // a NaN in a later row wins over nothing else: still refused, untouched
        let mut xn = x.clone();
        ks[5] = p5 as f64;
        xn[7 * n + 3] = f32::NAN;
        let r = k.soft_binary_argmax_rows(&xn, rows, n, RowK::PerRow(&ks), 1.0, &mut y);
        assert_eq!(r, Err(Error::NonFiniteInput));
        assert!(y.iter().all(|&v| v == 7.0));
        ks[5] = p5 as f64 - 0.5;
    }
}

#[test]
fn loss_and_topk_with_masks_agree_with_core_on_every_path() {
    for n in [5usize, 40, 3000] {
        let (x, ks) = masked_batch(1, n, 77 + n as u64);
        let t: Vec<f32> = (0..n).map(|i| ((i * 5) % 3) as f32 * 0.5).collect();
        let mut gw = vec![0.0f32; n];
        let lw = hypersimplex::hypersimplex_loss(&x, &t, ks[0], 1.3, Some(&mut gw)).unwrap();
        let kint = ks[0].ceil();
        let mut mw = vec![0.0f32; n];
        let topk_ok = hypersimplex::binary_argmax(&x, kint, &mut mw).is_ok();
        for k in all_kernels() {
            let mut g = vec![7.0f32; n];
            let l = k
                .hypersimplex_loss(&x, &t, ks[0], 1.3, Some(&mut g))
                .unwrap();
            assert!(
                (l - lw).abs() <= 1e-5 * lw.max(1.0),
                "{:?} loss {l} vs {lw}",
                k.path()
            );
            let m = magnitude(
                &x.iter()
                    .map(|v| if v.is_finite() { *v } else { 0.0 })
                    .collect::<Vec<_>>(),
                1.3,
                0.0,
            );
            assert!(max_ulps(&g, &gw, m) <= 64.0, "{:?} grad", k.path());
            for (i, v) in g.iter().enumerate() {
                assert!(v.is_finite());
                if !x[i].is_finite() {
                    assert_eq!(*v, 0.0, "{:?} grad at a mask", k.path());
                }
            }
            if topk_ok {
                let mut y = vec![7.0f32; n];
                hypersimplex_simd::binary_argmax(&x, kint, &mut y).unwrap();
                assert_eq!(bits(&y), bits(&mw));
            }
        }
    }
}

/// The multiclass loss with `±∞` logit masks: every path and thread count gives the core
/// crate's loss (within rounding), its gradient (0 at masks) and λ.
#[test]
fn multiclass_with_masks_agrees_with_core() {
    use hypersimplex::{multiclass_scratch_len, ClassK, Reduction};
    for (b, c) in [(24usize, 5usize), (300, 10)] {
        let mut rng = Rng(b as u64);
        let labels: Vec<u32> = (0..b).map(|i| (i % c) as u32).collect();
        let mut x: Vec<f32> = data(&mut rng, b * c, 0);
        for i in 0..b {
            let l = labels[i] as usize;
            if i % 7 == 0 {
                x[i * c + l] = f32::INFINITY;
            }
            if i % 3 == 0 {
                x[i * c + (l + 1) % c] = f32::NEG_INFINITY;
            }
        }
        let mut gw = vec![0.0f32; b * c];
        let mut s = vec![0.0f32; multiclass_scratch_len(b, c)];
        let lw = hypersimplex::hypersimplex_loss_multiclass(
            &x,
            &labels,
            c,
            ClassK::LabelCounts,
            0.8,
            Reduction::Mean,
            Some(&mut gw),
            &mut s,
        )
        .unwrap();
        for k in all_kernels() {
            for t in [1, 2] {
                let mut g = vec![7.0f32; b * c];
                let l = with_threads(t, || {
                    k.hypersimplex_loss_multiclass(
                        &x,
                        &labels,
                        c,
                        ClassK::LabelCounts,
                        0.8,
                        Reduction::Mean,
                        Some(&mut g),
                    )
                })
                .unwrap();
                assert!(
                    (l - lw).abs() <= 1e-5 * lw.max(1.0),
                    "{:?} loss {l} vs {lw}",
                    k.path()
                );
                for (i, (a, w)) in g.iter().zip(&gw).enumerate() {
                    assert!(
                        a.is_finite() && (a - w).abs() <= 1e-5,
                        "{:?} grad {i}: {a} vs {w}",
                        k.path()
                    );
                    if !x[i].is_finite() {
                        assert_eq!(*a, 0.0);
                    }
                }
            }
        }
        // a column whose k_c cannot hold its masks: refused, gradient untouched
        let mut xb = x.clone();
        xb[1] = f32::INFINITY; // row 0 is labelled 0: class 1 gets a +∞ ...
        let ks = vec![0.0; c]; // ... and k_1 = 0
        for k in all_kernels() {
            let mut g = vec![7.0f32; b * c];
            let r = k.hypersimplex_loss_multiclass(
                &xb,
                &labels,
                c,
                ClassK::PerClass(&ks),
                0.8,
                Reduction::Sum,
                Some(&mut g),
            );
            assert_eq!(r, Err(Error::InvalidK));
            assert!(g.iter().all(|&v| v == 7.0));
        }
    }
}
