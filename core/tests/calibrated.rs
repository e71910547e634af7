//! Issue 18: the multiclass loss's per-class thresholds λ_c and the calibrated prediction.
//! λ_c against the f64 sort-based reference threshold (within the accuracy bound) and against
//! the single-column projection (the same bits); loss and gradient unchanged by asking for λ;
//! `calibrated_argmax` against a direct f64 computation, ties to the lower class; bad input.

mod common;

use common::*;
use hypersimplex::{
    calibrated_argmax, hypersimplex_loss_multiclass, hypersimplex_loss_multiclass_lambda,
    multiclass_scratch_len, soft_binary_argmax, ClassK, Error, Reduction,
};

fn check_lambda<T: TestReal>(seed: u64) {
    let mut r = Rand::new(seed);
    for case in 0..300 {
        let batch = 1 + r.below(60);
        let classes = 1 + r.below(6);
        let tau = T::from_f64(r.range(0.1, 3.0));
        let logits: Vec<T> = (0..batch * classes)
            .map(|_| {
                T::from_f64(if r.below(5) == 0 {
                    (r.below(4) as f64) * 0.5
                } else {
                    2.0 * r.normal()
                })
            })
            .collect();
        let labels: Vec<u32> = (0..batch).map(|_| r.below(classes) as u32).collect();
        let ks: Vec<f64> = (0..classes)
            .map(|_| match r.below(4) {
                0 => 0.0,
                1 => batch as f64,
                _ => r.range(0.0, batch as f64),
            })
            .collect();
        let k = match case % 3 {
            0 => ClassK::LabelCounts,
            1 => ClassK::Fixed(batch as f64 / 2.0),
            _ => ClassK::PerClass(&ks),
        };
        let red = if case % 2 == 0 {
            Reduction::Sum
        } else {
            Reduction::Mean
        };
        let mut scratch = vec![T::ZERO; multiclass_scratch_len(batch, classes)];
        let (mut g1, mut g2) = (
            vec![T::ZERO; batch * classes],
            vec![T::ZERO; batch * classes],
        );
        let mut lambda = vec![f64::NAN; classes];
        let l1 = hypersimplex_loss_multiclass(
            &logits,
            &labels,
            classes,
            k,
            tau,
            red,
            Some(&mut g1[..]),
            &mut scratch,
        )
        .unwrap();
        let l2 = hypersimplex_loss_multiclass_lambda(
            &logits,
            &labels,
            classes,
            k,
            tau,
            red,
            Some(&mut g2[..]),
            &mut scratch,
            &mut lambda,
        )
        .unwrap();
        assert_eq!(
            l1.to_f64().to_bits(),
            l2.to_f64().to_bits(),
            "loss changed by asking for λ"
        );
        assert_eq!(widen(&g1), widen(&g2), "gradient changed by asking for λ");
        for c in 0..classes {
            let col: Vec<T> = (0..batch).map(|b| logits[b * classes + c]).collect();
            let kc = match k {
                ClassK::LabelCounts => labels.iter().filter(|&&l| l as usize == c).count() as f64,
                ClassK::Fixed(v) => v,
                ClassK::PerClass(v) => v[c],
            };
            let mut y = vec![T::ZERO; batch];
            let p = soft_binary_argmax(&col, kc, tau, &mut y).unwrap();
            assert_eq!(
                lambda[c].to_bits(),
                p.lambda.to_bits(),
                "{} case {case} class {c}: λ vs the column's projection",
                T::NAME
            );
            // against the reference: λ thresholds z to the reference projection (λ itself is
            // unique only where f has a slope; on a flat piece any λ of the piece is valid)
            let z = scaled_as_crate(&col, tau);
            let re = reference_projection(&z, kc);
            let m = z
                .iter()
                .fold(1f64.max(re.lambda.abs()), |a, v| a.max(v.abs()));
            let tol = 2.0 * bound_unit::<T>(m, re.free);
            for (i, (&zi, &yr)) in z.iter().zip(&re.y).enumerate() {
                let yl = (zi - lambda[c]).clamp(0.0, 1.0);
                assert!(
                    (yl - yr).abs() <= tol,
                    "{} case {case} class {c} entry {i}: clip(z − λ) = {yl}, reference {yr} (λ {} vs {})",
                    T::NAME,
                    lambda[c],
                    re.lambda
                );
            }
            // k_c = 0: every entry at 0 exactly at λ = max z; k_c = batch: all at 1
            if kc == 0.0 {
                assert_eq!(
                    lambda[c],
                    z.iter().copied().fold(f64::NEG_INFINITY, f64::max)
                );
            }
        }
    }
}

#[test]
fn lambda_matches_reference_f32() {
    check_lambda::<f32>(1);
}

#[test]
fn lambda_matches_reference_f64() {
    check_lambda::<f64>(2);
}

#[test]
fn lambda_length_and_errors_leave_outputs_untouched() {
    let logits = [0.5f32, -1.0, 2.0, 0.25];
    let labels = [0u32, 1];
    let mut scratch = [0.0f32; 2];
    let mut g = [7.0f32; 4];
    let mut lambda = [9.0f64; 3];
    let r = hypersimplex_loss_multiclass_lambda(
        &logits,
        &labels,
        2,
        ClassK::LabelCounts,
        1.0,
        Reduction::Sum,
        Some(&mut g[..]),
        &mut scratch,
        &mut lambda,
    );
    assert_eq!(r, Err(Error::LengthMismatch));
    let mut lambda = [9.0f64; 2];
    let r = hypersimplex_loss_multiclass_lambda(
        &logits,
        &labels,
        2,
        ClassK::LabelCounts,
        -1.0,
        Reduction::Sum,
        Some(&mut g[..]),
        &mut scratch,
        &mut lambda,
    );
    assert_eq!(r, Err(Error::InvalidTau));
    assert_eq!((g, lambda), ([7.0; 4], [9.0; 2]));
    // empty batch: λ = 0
    let r = hypersimplex_loss_multiclass_lambda::<f32>(
        &[],
        &[],
        2,
        ClassK::LabelCounts,
        1.0,
        Reduction::Sum,
        None,
        &mut [],
        &mut lambda,
    );
    assert_eq!(r, Ok(0.0));
    assert_eq!(lambda, [0.0; 2]);
}

#[test]
fn calibrated_argmax_matches_direct_computation() {
    let mut r = Rand::new(3);
    for _ in 0..500 {
        let batch = r.below(20);
        let classes = 1 + r.below(7);
        let tau = r.range(0.05, 4.0) as f32;
        // a coarse grid makes ties frequent
        let logits: Vec<f32> = (0..batch * classes)
            .map(|_| (r.below(9) as f32 - 4.0) * 0.5)
            .collect();
        let lambda: Vec<f64> = (0..classes)
            .map(|_| (r.below(5) as f64 - 2.0) * 0.5)
            .collect();
        let mut pred = vec![99u32; batch];
        calibrated_argmax(&logits, classes, &lambda, tau, &mut pred).unwrap();
        let s = 1.0f32 / tau;
        for b in 0..batch {
            let score = |c: usize| (logits[b * classes + c] * s) as f64 - lambda[c];
            let best =
                (0..classes).fold(0, |best, c| if score(c) > score(best) { c } else { best });
            assert_eq!(pred[b] as usize, best, "row {b}");
        }
    }
}

#[test]
fn calibrated_argmax_refuses_bad_input_untouched() {
    let mut pred = [7u32; 2];
    let x = [1.0f64, 2.0, 3.0, 4.0];
    assert_eq!(
        calibrated_argmax(&x, 2, &[0.0], 1.0, &mut pred),
        Err(Error::LengthMismatch)
    );
    assert_eq!(
        calibrated_argmax(&x, 3, &[0.0; 3], 1.0, &mut pred),
        Err(Error::LengthMismatch)
    );
    assert_eq!(
        calibrated_argmax(&x, 2, &[0.0; 2], 0.0, &mut pred),
        Err(Error::InvalidTau)
    );
    assert_eq!(
        calibrated_argmax(&x, 2, &[0.0, f64::NAN], 1.0, &mut pred),
        Err(Error::NonFiniteInput)
    );
    let xn = [1.0f64, f64::NAN, 3.0, 4.0];
    assert_eq!(
        calibrated_argmax(&xn, 2, &[0.0; 2], 1.0, &mut pred),
        Err(Error::NonFiniteInput)
    );
    let xb = [1.0f64, 1e308, 3.0, 4.0];
    assert_eq!(
        calibrated_argmax(&xb, 2, &[0.0; 2], 1e-10, &mut pred),
        Err(Error::ScaleOverflow)
    );
    assert_eq!(
        calibrated_argmax::<f64>(&[], 0, &[], 1.0, &mut pred),
        Err(Error::LengthMismatch)
    );
    assert_eq!(pred, [7; 2]);
    // a threshold shifts the decision; ±∞ thresholds are allowed
    calibrated_argmax(&x, 2, &[0.0, 0.0], 1.0, &mut pred).unwrap();
    assert_eq!(pred, [1, 1]);
    calibrated_argmax(&x, 2, &[0.0, 1.5], 1.0, &mut pred).unwrap();
    assert_eq!(pred, [0, 0]);
    calibrated_argmax(&x, 2, &[f64::INFINITY, f64::INFINITY], 1.0, &mut pred).unwrap();
    assert_eq!(pred, [0, 0]);
    calibrated_argmax::<f64>(&[], 3, &[0.0; 3], 1.0, &mut []).unwrap();
    // no classes and no samples: nothing to predict, and nothing wrong (only `classes == 0`
    // with `batch > 0` is refused, above)
    calibrated_argmax::<f64>(&[], 0, &[], 1.0, &mut []).unwrap();
}
