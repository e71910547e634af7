//! Issue 18: the SIMD multiclass loss reports the per-class λ of the core crate (within the
//! accuracy bound: the same root finder, other summation order), bitwise the same for every
//! thread count, on the active path and thread counts (the test
//! command also runs this with `HYPERSIMPLEX_FORCE_SCALAR=1` and `RAYON_NUM_THREADS=1`), and
//! asking for λ changes neither the loss nor the gradient.

use crate::common::*;
use hypersimplex::{ClassK, Reduction};

fn check<T: hypersimplex_simd::Element>(rng: &mut Rng, batch: usize, classes: usize) {
    let logits: Vec<T> = (0..batch * classes)
        .map(|_| T::from_f64(2.0 * rng.normal()))
        .collect();
    let labels: Vec<u32> = (0..batch).map(|_| rng.below(classes) as u32).collect();
    let tau = T::from_f64(0.5 + rng.unit());
    let mut scratch = vec![T::ZERO; hypersimplex::multiclass_scratch_len(batch, classes)];
    let mut want = vec![0.0f64; classes];
    let (mut gc, mut g1, mut g2) = (
        vec![T::ZERO; batch * classes],
        vec![T::ZERO; batch * classes],
        vec![T::ZERO; batch * classes],
    );
    hypersimplex::hypersimplex_loss_multiclass_lambda(
        &logits,
        &labels,
        classes,
        ClassK::LabelCounts,
        tau,
        Reduction::Mean,
        Some(&mut gc[..]),
        &mut scratch,
        &mut want,
    )
    .unwrap();
    let mut first: Option<Vec<f64>> = None;
    for threads in [1, 2, 3] {
        let mut got = vec![f64::NAN; classes];
        let (l1, l2) = with_threads(threads, || {
            (
                hypersimplex_simd::hypersimplex_loss_multiclass(
                    &logits,
                    &labels,
                    classes,
                    ClassK::LabelCounts,
                    tau,
                    Reduction::Mean,
                    Some(&mut g1[..]),
                )
                .unwrap(),
                hypersimplex_simd::hypersimplex_loss_multiclass_lambda(
                    &logits,
                    &labels,
                    classes,
                    ClassK::LabelCounts,
                    tau,
                    Reduction::Mean,
                    Some(&mut g2[..]),
                    &mut got,
                )
                .unwrap(),
            )
        });
        assert_eq!(bits(&[l1]), bits(&[l2]), "loss changed by asking for λ");
        assert_eq!(bits(&g1), bits(&g2), "gradient changed by asking for λ");
        // the same root finder with this crate's passes: λ within the accuracy bound of core's
        // (summation order), and bitwise the same for every thread count
        let m = logits
            .iter()
            .fold(1.0f64, |a, v| a.max((v.to_f64() / tau.to_f64()).abs()));
        for (c, (&a, &b)) in got.iter().zip(&want).enumerate() {
            let tol = 16.0 * T::EPSILON.to_f64() * m.max(b.abs());
            assert!(
                (a - b).abs() <= tol,
                "batch {batch} class {c} threads {threads}: λ {a} vs core {b}"
            );
        }
        match &first {
            None => first = Some(got.clone()),
            Some(f) => assert_eq!(
                f.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                "λ depends on the thread count"
            ),
        }
    }
    let mut short = vec![0.0f64; classes + 1];
    let r = hypersimplex_simd::hypersimplex_loss_multiclass_lambda(
        &logits,
        &labels,
        classes,
        ClassK::LabelCounts,
        tau,
        Reduction::Sum,
        None,
        &mut short,
    );
    assert_eq!(r, Err(hypersimplex::Error::LengthMismatch));
    assert!(short.iter().all(|&v| v == 0.0));
}

#[test]
fn lambda_matches_core() {
    let mut rng = Rng(0xca_11b4_a7ed);
    for &(b, c) in &[(1, 1), (7, 3), (300, 10), (8192, 10), (40_000, 3)] {
        check::<f32>(&mut rng, b, c);
        check::<f64>(&mut rng, b, c);
    }
}
