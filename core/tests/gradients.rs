//! Backward pass and loss gradients: central finite differences (in f64, at points whose
//! every coordinate is at least `MARGIN` away from a kink), the dense Jacobian's symmetry, zero
//! row sums and `J·v = VJP(v)`, exact zeros on clipped ties, and the multiclass loss as C
//! independent binary problems.

#![allow(clippy::needless_range_loop)]

mod common;

use common::*;
use hypersimplex::{
    hypersimplex_loss, hypersimplex_loss_multiclass, multiclass_scratch_len, soft_binary_argmax,
    soft_binary_argmax_jacobian, soft_binary_argmax_jvp, soft_binary_argmax_vjp,
    soft_binary_argmax_vjp_in_place, target_k, ClassK, Reduction,
};

/// Minimum distance, in units of x/τ, of every `z_i − λ` from the kinks 0 and 1.
const MARGIN: f64 = 1e-3;
/// Finite-difference step, in units of x/τ (far below MARGIN: no kink is crossed).
const STEP: f64 = 1e-6;

fn project(x: &[f64], k: f64, tau: f64) -> Vec<f64> {
    let mut y = vec![7.0; x.len()];
    soft_binary_argmax(x, k, tau, &mut y).unwrap();
    y
}

/// `true` when every `z_i − λ` (reference λ) is at least MARGIN from 0 and 1.
fn off_kinks(x: &[f64], k: f64, tau: f64) -> bool {
    let z: Vec<f64> = x.iter().map(|v| v / tau).collect();
    let r = reference_projection(&z, k);
    if !r.lambda.is_finite() {
        return true; // k = 0 or k = n: constant output
    }
    // on a flat piece (no free coordinate) λ is not unique: require a wide flat piece instead
    z.iter().all(|&zi| {
        let d = zi - r.lambda;
        d.abs() > MARGIN && (d - 1.0).abs() > MARGIN
    })
}

/// Random point with every coordinate off the kinks (retries with fresh draws).
fn point(rng: &mut Rand, n: usize, k: f64, tau: f64) -> Vec<f64> {
    loop {
        let x: Vec<f64> = (0..n).map(|_| tau * 1.5 * rng.normal()).collect();
        if off_kinks(&x, k, tau) {
            return x;
        }
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    nsum(a.iter().zip(b).map(|(p, q)| p * q))
}

/// Central difference of `f` along coordinate i.
fn fd<F: Fn(&[f64]) -> f64>(f: &F, x: &[f64], i: usize, h: f64) -> f64 {
    let mut xp = x.to_vec();
    let mut xm = x.to_vec();
    xp[i] += h;
    xm[i] -= h;
    (f(&xp) - f(&xm)) / (xp[i] - xm[i])
}

#[test]
fn vjp_matches_finite_differences() {
    let mut rng = Rand::new(21);
    let mut checked = 0;
    for &n in &[1usize, 2, 3, 7, 8, 9, 15, 16, 17, 40] {
        for &tau in &TAUS {
            for _ in 0..3 {
                let k = rng.range(0.0, n as f64);
                let x = point(&mut rng, n, k, tau);
                let w: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
                let y = project(&x, k, tau);
                let mut g = vec![7.0; n];
                soft_binary_argmax_vjp(&y, &w, tau, &mut g).unwrap();
                let f = |xx: &[f64]| dot(&w, &project(xx, k, tau));
                for i in 0..n {
                    let num = fd(&f, &x, i, STEP * tau);
                    let tol = 1e-6 / tau * (1.0 + w.iter().map(|v| v.abs()).sum::<f64>());
                    assert!(
                        (num - g[i]).abs() <= tol,
                        "n={n} τ={tau} k={k} i={i}: fd {num} vs vjp {}",
                        g[i]
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 500);
}

#[test]
fn binary_loss_gradient_matches_finite_differences() {
    let mut rng = Rand::new(22);
    for &n in &[1usize, 2, 3, 7, 8, 9, 15, 16, 17, 40] {
        for &tau in &TAUS {
            for trial in 0..4 {
                // 0/1 targets with k = number of positives, or soft targets with a random k
                let t: Vec<f64> = if trial % 2 == 0 {
                    (0..n).map(|_| (rng.uniform() < 0.4) as u8 as f64).collect()
                } else {
                    (0..n).map(|_| rng.uniform()).collect()
                };
                let k = if trial % 2 == 0 {
                    target_k(&t)
                } else {
                    rng.range(0.0, n as f64)
                };
                let x = point(&mut rng, n, k, tau);
                let mut g = vec![7.0; n];
                let l = hypersimplex_loss(&x, &t, k, tau, Some(&mut g)).unwrap();
                let l2 = hypersimplex_loss(&x, &t, k, tau, None).unwrap();
                assert_eq!(
                    l, l2,
                    "loss must not depend on whether the gradient is asked for"
                );
                // the loss against its definition
                let y = project(&x, k, tau);
                let want = 0.5 * nsum(y.iter().zip(&t).map(|(a, b)| (a - b) * (a - b)));
                assert!(
                    (l - want).abs() <= 1e-12 * (1.0 + want),
                    "loss {l} vs {want}"
                );
                let f = |xx: &[f64]| hypersimplex_loss(xx, &t, k, tau, None).unwrap();
                for i in 0..n {
                    let num = fd(&f, &x, i, STEP * tau);
                    let tol = 1e-6 / tau * (1.0 + n as f64);
                    assert!(
                        (num - g[i]).abs() <= tol,
                        "n={n} τ={tau} i={i}: fd {num} vs grad {}",
                        g[i]
                    );
                }
            }
        }
    }
}

/// The multiclass loss through its three `ClassK` choices and both reductions.
fn class_ks(rng: &mut Rand, batch: usize, classes: usize) -> Vec<(String, Vec<f64>)> {
    vec![
        ("Fixed(B/2)".into(), vec![batch as f64 / 2.0; classes]),
        (
            "PerClass".into(),
            (0..classes).map(|_| rng.range(0.0, batch as f64)).collect(),
        ),
    ]
}

fn label_counts(labels: &[u32], classes: usize) -> Vec<f64> {
    (0..classes)
        .map(|c| labels.iter().filter(|&&l| l as usize == c).count() as f64)
        .collect()
}

fn column(logits: &[f64], classes: usize, c: usize) -> Vec<f64> {
    logits.chunks(classes).map(|r| r[c]).collect()
}

#[allow(clippy::too_many_arguments)]
fn multiclass(
    logits: &[f64],
    labels: &[u32],
    classes: usize,
    k: ClassK<'_>,
    tau: f64,
    red: Reduction,
    grad: Option<&mut [f64]>,
) -> f64 {
    let mut scratch = vec![0.0; multiclass_scratch_len(labels.len(), classes)];
    hypersimplex_loss_multiclass(logits, labels, classes, k, tau, red, grad, &mut scratch).unwrap()
}

#[test]
fn multiclass_gradient_matches_finite_differences() {
    let mut rng = Rand::new(23);
    let mut cases = 0;
    for &(batch, classes) in &[(1usize, 1usize), (2, 3), (7, 2), (9, 4), (16, 3), (17, 5)] {
        for &tau in &[1e-4, 1.0, 1e4] {
            let labels: Vec<u32> = (0..batch).map(|_| rng.below(classes) as u32).collect();
            let mut variants = vec![("LabelCounts".to_string(), label_counts(&labels, classes))];
            variants.extend(class_ks(&mut rng, batch, classes));
            for (name, ks) in &variants {
                // logits off the kinks in every column
                let logits = loop {
                    let l: Vec<f64> = (0..batch * classes)
                        .map(|_| tau * 1.5 * rng.normal())
                        .collect();
                    if (0..classes).all(|c| off_kinks(&column(&l, classes, c), ks[c], tau)) {
                        break l;
                    }
                };
                let kk = match name.as_str() {
                    "LabelCounts" => ClassK::LabelCounts,
                    "Fixed(B/2)" => ClassK::Fixed(batch as f64 / 2.0),
                    _ => ClassK::PerClass(ks),
                };
                for red in [Reduction::Sum, Reduction::Mean] {
                    let mut g = vec![7.0; batch * classes];
                    let l = multiclass(&logits, &labels, classes, kk, tau, red, Some(&mut g));
                    let l2 = multiclass(&logits, &labels, classes, kk, tau, red, None);
                    assert_eq!(l, l2);
                    let f = |xx: &[f64]| multiclass(xx, &labels, classes, kk, tau, red, None);
                    for i in 0..batch * classes {
                        let num = fd(&f, &logits, i, STEP * tau);
                        let tol = 1e-6 / tau * (1.0 + batch as f64);
                        assert!(
                            (num - g[i]).abs() <= tol,
                            "{name} {red:?} B={batch} C={classes} τ={tau} i={i}: fd {num} vs grad {}",
                            g[i]
                        );
                    }
                    cases += 1;
                }
            }
        }
    }
    assert_eq!(cases, 6 * 3 * 3 * 2);
}

/// Multiclass = C independent binary problems, each solved with `soft_binary_argmax` on the
/// gathered column and differentiated with `soft_binary_argmax_vjp` (different code paths).
fn multiclass_vs_columns<T: TestReal>(rng: &mut Rand, batch: usize, classes: usize, tau: f64) {
    let labels: Vec<u32> = (0..batch).map(|_| rng.below(classes) as u32).collect();
    let logits: Vec<T> = cast(
        &(0..batch * classes)
            .map(|_| tau * 2.0 * rng.normal())
            .collect::<Vec<_>>(),
    );
    let tau_t = T::from_f64(tau);
    let counts = label_counts(&labels, classes);
    let per: Vec<f64> = (0..classes).map(|_| rng.range(0.0, batch as f64)).collect();
    let fixed = batch as f64 / 2.0;
    for (kk, ks) in [
        (ClassK::LabelCounts, counts.clone()),
        (ClassK::Fixed(fixed), vec![fixed; classes]),
        (ClassK::PerClass(&per), per.clone()),
    ] {
        for red in [Reduction::Sum, Reduction::Mean] {
            let mut g = vec![T::from_f64(7.0); batch * classes];
            let mut scratch = vec![T::ZERO; multiclass_scratch_len(batch, classes)];
            let l = hypersimplex_loss_multiclass(
                &logits,
                &labels,
                classes,
                kk,
                tau_t,
                red,
                Some(&mut g),
                &mut scratch,
            )
            .unwrap();
            let mut sq = 0.0;
            let total = (batch * classes) as f64;
            for c in 0..classes {
                let col: Vec<T> = logits.chunks(classes).map(|r| r[c]).collect();
                let t: Vec<T> = labels
                    .iter()
                    .map(|&l| T::from_f64((l as usize == c) as u8 as f64))
                    .collect();
                let mut p = vec![T::ZERO; batch];
                soft_binary_argmax(&col, ks[c], tau_t, &mut p).unwrap();
                let r: Vec<T> = p.iter().zip(&t).map(|(&a, &b)| a - b).collect();
                sq += nsum(r.iter().map(|v| v.to_f64() * v.to_f64()));
                let mut gc = vec![T::ZERO; batch];
                soft_binary_argmax_vjp(&p, &r, tau_t, &mut gc).unwrap();
                // the binary loss on the same column agrees too
                let mut gb = vec![T::ZERO; batch];
                let lb = hypersimplex_loss(&col, &t, ks[c], tau_t, Some(&mut gb)).unwrap();
                let lb_want = 0.5 * nsum(r.iter().map(|v| v.to_f64() * v.to_f64()));
                assert!((lb.to_f64() - lb_want).abs() <= 1e-5 * (1.0 + lb_want));
                let w = match red {
                    Reduction::Sum => 1.0,
                    Reduction::Mean => 2.0 / total,
                };
                for b in 0..batch {
                    let got = g[b * classes + c].to_f64();
                    let want = w * gc[b].to_f64();
                    let tol = 64.0 * T::EPS * w / tau * (1.0 + batch as f64);
                    assert!(
                        (got - want).abs() <= tol,
                        "{} {kk:?} {red:?} c={c} b={b}: {got} vs {want}",
                        T::NAME
                    );
                    assert!(
                        (gb[b].to_f64() - gc[b].to_f64()).abs()
                            <= 64.0 * T::EPS / tau * (1.0 + batch as f64)
                    );
                }
            }
            let want = match red {
                Reduction::Sum => 0.5 * sq,
                Reduction::Mean => sq / total,
            };
            assert!(
                (l.to_f64() - want).abs() <= 64.0 * T::EPS * (1.0 + want),
                "{} {kk:?} {red:?}: loss {l} vs {want}",
                T::NAME
            );
        }
    }
}

#[test]
fn multiclass_equals_independent_columns() {
    let mut rng = Rand::new(24);
    for &(b, c) in &[
        (1usize, 1usize),
        (1, 3),
        (2, 2),
        (8, 10),
        (17, 3),
        (64, 10),
        (300, 7),
    ] {
        for &tau in &TAUS {
            multiclass_vs_columns::<f64>(&mut rng, b, c, tau);
            multiclass_vs_columns::<f32>(&mut rng, b, c, tau);
        }
    }
    // the empty batch is valid: loss 0
    let mut s: [f64; 0] = [];
    let l = hypersimplex_loss_multiclass(
        &[] as &[f64],
        &[],
        3,
        ClassK::LabelCounts,
        1.0,
        Reduction::Mean,
        None,
        &mut s,
    );
    assert_eq!(l, Ok(0.0));
}

fn jacobian_checks(rng: &mut Rand, n: usize, tau: f64) {
    let k = rng.range(0.0, n as f64);
    let x = point(rng, n, k, tau);
    let y = project(&x, k, tau);
    let mut jac = vec![7.0; n * n];
    soft_binary_argmax_jacobian(&y, tau, &mut jac).unwrap();
    let free = y.iter().filter(|&&v| v > 0.0 && v < 1.0).count();
    for i in 0..n {
        let row = &jac[i * n..(i + 1) * n];
        // symmetric, exactly
        for j in 0..n {
            assert_eq!(
                jac[i * n + j].to_bits(),
                jac[j * n + i].to_bits(),
                "n={n} ({i},{j})"
            );
        }
        // rows sum to zero
        let s = nsum(row.iter().cloned());
        assert!(
            s.abs() <= 4.0 * f64::EPSILON * n as f64 / tau,
            "n={n} row {i} sums to {s}"
        );
        // the documented formula (1/τ)(diag(a) − a aᵀ/|A|)
        let ai = (y[i] > 0.0 && y[i] < 1.0) as u8 as f64;
        for j in 0..n {
            let aj = (y[j] > 0.0 && y[j] < 1.0) as u8 as f64;
            let want = if free > 0 {
                ((i == j) as u8 as f64 * ai - ai * aj / free as f64) / tau
            } else {
                0.0
            };
            assert!((row[j] - want).abs() <= 4.0 * f64::EPSILON / tau);
        }
    }
    // J·v equals the VJP and the JVP; and J equals the finite-difference Jacobian
    let v: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
    let mut vjp = vec![7.0; n];
    let mut jvp = vec![7.0; n];
    soft_binary_argmax_vjp(&y, &v, tau, &mut vjp).unwrap();
    soft_binary_argmax_jvp(&y, &v, tau, &mut jvp).unwrap();
    assert_eq!(vjp, jvp);
    for i in 0..n {
        let jv = dot(&jac[i * n..(i + 1) * n], &v);
        let tol = 8.0 * f64::EPSILON / tau * (1.0 + v.iter().map(|a| a.abs()).sum::<f64>());
        assert!(
            (jv - vjp[i]).abs() <= tol,
            "n={n} i={i}: J·v {jv} vs vjp {}",
            vjp[i]
        );
    }
    for j in 0..n {
        let h = STEP * tau;
        let mut xp = x.clone();
        let mut xm = x.clone();
        xp[j] += h;
        xm[j] -= h;
        let (yp, ym) = (project(&xp, k, tau), project(&xm, k, tau));
        for i in 0..n {
            let num = (yp[i] - ym[i]) / (xp[j] - xm[j]);
            assert!(
                (num - jac[i * n + j]).abs() <= 1e-6 / tau,
                "n={n} J[{i},{j}]: fd {num} vs {}",
                jac[i * n + j]
            );
        }
    }
}

#[test]
fn jacobian_symmetric_zero_rowsum_and_consistent() {
    let mut rng = Rand::new(25);
    for &n in &[1usize, 2, 3, 7, 8, 9, 15, 16, 17, 33] {
        for &tau in &TAUS {
            for _ in 0..2 {
                jacobian_checks(&mut rng, n, tau);
            }
        }
    }
    // f32: symmetric and zero row sums
    let x: Vec<f32> = vec![0.9, 0.5, 0.1, -3.0, 0.45, 0.3];
    let mut y = vec![0.0f32; 6];
    soft_binary_argmax(&x, 2.0, 1.0, &mut y).unwrap();
    let mut jac = vec![7.0f32; 36];
    soft_binary_argmax_jacobian(&y, 1.0, &mut jac).unwrap();
    for i in 0..6 {
        let s: f64 = jac[i * 6..i * 6 + 6].iter().map(|&v| v as f64).sum();
        assert!(s.abs() <= 8.0 * f32::EPSILON as f64);
        for j in 0..6 {
            assert_eq!(jac[i * 6 + j], jac[j * 6 + i]);
        }
    }
    // n = 0
    let mut e: [f64; 0] = [];
    soft_binary_argmax_jacobian(&[] as &[f64], 1.0, &mut e).unwrap();
}

/// Clipped coordinates, tied or not, get exactly zero gradient.
#[test]
fn clipped_ties_get_zero_gradient() {
    // the brief's case: x = (5, 0, 0, 0), k = 1, τ = 1 → y = (1, 0, 0, 0), no free coordinate
    let x = [5.0f64, 0.0, 0.0, 0.0];
    let y = project(&x, 1.0, 1.0);
    assert_eq!(y, [1.0, 0.0, 0.0, 0.0]);
    let mut g = [7.0f64; 4];
    soft_binary_argmax_vjp(&y, &[0.0, 1.0, 0.0, 0.0], 1.0, &mut g).unwrap();
    assert_eq!(g, [0.0; 4]);
    let mut gl = [7.0f64; 4];
    hypersimplex_loss(&x, &[0.0, 1.0, 0.0, 0.0], 1.0, 1.0, Some(&mut gl)).unwrap();
    assert_eq!(gl, [0.0; 4]);
    let x32 = [5.0f32, 0.0, 0.0, 0.0];
    let mut y32 = [0.0f32; 4];
    soft_binary_argmax(&x32, 1.0, 1.0, &mut y32).unwrap();
    let mut g32 = [7.0f32; 4];
    soft_binary_argmax_vjp(&y32, &[0.0, 1.0, 0.0, 0.0], 1.0, &mut g32).unwrap();
    assert_eq!(g32, [0.0; 4]);

    // free coordinates present, ties clipped at 0 and at 1: those entries are exactly 0
    let mut rng = Rand::new(26);
    for _ in 0..50 {
        let x = [6.0f64, 6.0, 0.3, 0.1, -4.0, -4.0, -4.0];
        let k = 2.0 + rng.range(0.25, 0.35); // λ ∈ (0.025, 0.075): y_2, y_3 free
        let y = project(&x, k, 1.0);
        assert_eq!(&y[..2], &[1.0, 1.0]);
        assert_eq!(&y[4..], &[0.0, 0.0, 0.0]);
        assert!(y[2] > 0.0 && y[2] < 1.0 && y[3] > 0.0 && y[3] < 1.0);
        let w: Vec<f64> = (0..7).map(|_| rng.normal()).collect();
        let mut g = vec![7.0; 7];
        soft_binary_argmax_vjp(&y, &w, 1.0, &mut g).unwrap();
        for i in [0usize, 1, 4, 5, 6] {
            assert_eq!(g[i], 0.0, "i = {i}");
        }
        // the free part: g_i − mean of the free g
        let m = (w[2] + w[3]) / 2.0;
        let tol = 4.0 * f64::EPSILON * (1.0 + w[2].abs() + w[3].abs());
        assert!((g[2] - (w[2] - m)).abs() <= tol && (g[3] - (w[3] - m)).abs() <= tol);
        let t = [1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0];
        let mut gl = vec![7.0; 7];
        hypersimplex_loss(&x, &t, k, 1.0, Some(&mut gl)).unwrap();
        for i in [0usize, 1, 4, 5, 6] {
            assert_eq!(gl[i], 0.0, "loss grad i = {i}");
        }
    }
}

/// The in-place variants equal the out-of-place ones, bit for bit.
#[test]
fn in_place_equals_out_of_place() {
    fn check<T: TestReal>(rng: &mut Rand) {
        for &n in &SIZES {
            for fam in FAMILIES {
                let tau = TAUS[rng.below(3)];
                let x: Vec<T> = cast(&family(fam, n, tau, T::MIN_POSITIVE, rng));
                let tau = T::from_f64(tau);
                for k in k_values(n, rng, 1) {
                    let mut y = vec![T::from_f64(7.0); n];
                    let p = soft_binary_argmax(&x, k, tau, &mut y).unwrap();
                    let mut xi = x.clone();
                    let q = hypersimplex::soft_binary_argmax_in_place(&mut xi, k, tau).unwrap();
                    assert_eq!(p, q);
                    assert!(y
                        .iter()
                        .zip(&xi)
                        .all(|(a, b)| a.to_f64().to_bits() == b.to_f64().to_bits()));
                    let w: Vec<T> = (0..n).map(|_| T::from_f64(rng.normal())).collect();
                    let mut g = vec![T::from_f64(7.0); n];
                    soft_binary_argmax_vjp(&y, &w, tau, &mut g).unwrap();
                    let mut gi = w.clone();
                    soft_binary_argmax_vjp_in_place(&y, &mut gi, tau).unwrap();
                    assert!(g
                        .iter()
                        .zip(&gi)
                        .all(|(a, b)| a.to_f64().to_bits() == b.to_f64().to_bits()));
                }
            }
        }
        // 10^5
        let n = 100_000;
        let x: Vec<T> = cast(&family(Family::Gaussian, n, 1.0, T::MIN_POSITIVE, rng));
        let mut y = vec![T::ZERO; n];
        let p = soft_binary_argmax(&x, 12345.5, T::ONE, &mut y).unwrap();
        let mut xi = x.clone();
        let q = hypersimplex::soft_binary_argmax_in_place(&mut xi, 12345.5, T::ONE).unwrap();
        assert_eq!(p, q);
        assert!(y
            .iter()
            .zip(&xi)
            .all(|(a, b)| a.to_f64().to_bits() == b.to_f64().to_bits()));
    }
    let mut rng = Rand::new(27);
    check::<f32>(&mut rng);
    check::<f64>(&mut rng);
}

/// k = n at the end of the range: the loss must see ŷ = 1 everywhere (it recomputes ŷ from the
/// reported λ, which once saturated at −MAX and gave ŷ_i = 0 for x_i = −MAX).
#[test]
fn loss_with_k_equal_n_and_extreme_values() {
    let x = [-f32::MAX, 0.0, 0.5];
    let mut g = [7.0f32; 3];
    assert_eq!(
        hypersimplex_loss(&x, &[1.0f32; 3], 3.0, 1.0, Some(&mut g)),
        Ok(0.0)
    );
    assert_eq!(g, [0.0; 3]);
    let x = [-f64::MAX, 1e300, 0.5, -0.5];
    let mut g = [7.0f64; 4];
    let l = hypersimplex_loss(&x, &[1.0, 0.0, 1.0, 1.0], 4.0, 1.0, Some(&mut g)).unwrap();
    assert_eq!(l, 0.5);
    assert_eq!(g, [0.0; 4]);
    // multiclass with k_c = B: every column all ones
    let logits = [-f32::MAX, 1.0, 2.0, -3.0];
    let mut s = [0.0f32; 2];
    let mut g = [7.0f32; 4];
    let l = hypersimplex_loss_multiclass(
        &logits,
        &[0, 1],
        2,
        ClassK::Fixed(2.0),
        1.0,
        Reduction::Sum,
        Some(&mut g),
        &mut s,
    );
    // p = all ones, one-hot targets: each column has one 0 target → ½·(1 + 1) = 1
    assert_eq!(l, Ok(1.0));
    assert_eq!(g, [0.0; 4]);
}
