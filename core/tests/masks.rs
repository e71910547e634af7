//! `±∞` entries as masks (issue 13 item 6): `x_i = −∞` gives `y_i = 0`, `x_i = +∞` gives
//! `y_i = 1`, and the finite entries are projected onto `Δ(n_finite, k − #(+∞))`. Checked
//! against the sort-based `f64` reference run on the finite entries alone (an independent
//! computation: no sentinels), for the forward pass (out of place and in place), the VJP of
//! its output, the binary loss and its gradient, and the top-k mask.

mod common;

use common::*;
use hypersimplex::{
    binary_argmax, hypersimplex_loss, soft_binary_argmax, soft_binary_argmax_in_place,
    soft_binary_argmax_vjp, Error,
};

fn bits<T: TestReal>(v: &[T]) -> Vec<u64> {
    v.iter().map(|x| x.to_f64().to_bits()).collect()
}

/// The masked projection of `x/τ` by the reference: `(y, λ, |free|)`.
fn masked_reference<T: TestReal>(x: &[T], k: f64, tau: T) -> (Vec<f64>, f64, usize) {
    let plus = x.iter().filter(|v| v.to_f64() == f64::INFINITY).count();
    let z: Vec<f64> = x
        .iter()
        .filter(|v| v.is_finite())
        .map(|v| v.to_f64() / tau.to_f64())
        .collect();
    let r = reference_projection(&z, k - plus as f64);
    let mut it = r.y.iter();
    let y = x
        .iter()
        .map(|v| match v.to_f64() {
            f if f == f64::INFINITY => 1.0,
            f if f == f64::NEG_INFINITY => 0.0,
            _ => *it.next().unwrap(),
        })
        .collect();
    (y, r.lambda, r.free)
}

/// Masked inputs: random finite values with `±∞` sprinkled in, and the edge cases.
fn cases<T: TestReal>() -> Vec<(Vec<T>, f64, T)> {
    let inf = T::from_f64(f64::INFINITY);
    let ninf = T::from_f64(f64::NEG_INFINITY);
    let mut out = vec![];
    let mut rng = Rand::new(0x6a5c);
    for &n in &[1usize, 2, 3, 7, 16, 33, 100, 2049, 5000] {
        for &(pp, pm) in &[(0.0, 0.3), (0.3, 0.0), (0.2, 0.2), (0.5, 0.45)] {
            for &mag in &[1.0, 1e3, 1e-3] {
                let x: Vec<T> = (0..n)
                    .map(|_| {
                        let u = rng.uniform();
                        if u < pp {
                            inf
                        } else if u < pp + pm {
                            ninf
                        } else {
                            T::from_f64(rng.normal() * mag)
                        }
                    })
                    .collect();
                let p = x.iter().filter(|v| **v == inf).count() as f64;
                let m = x.iter().filter(|v| **v == ninf).count() as f64;
                let hi = n as f64 - m;
                // the ends of the feasible range, a fractional k inside, an integer inside
                let mut ks = vec![p, hi, p + (hi - p) * 0.37];
                if hi - p >= 2.0 {
                    ks.push((p + 1.0).floor());
                }
                for k in ks {
                    out.push((x.clone(), k, T::from_f64(if mag > 1.0 { 2.0 } else { 0.7 })));
                }
            }
        }
    }
    // every entry masked (k must equal #(+∞)); one finite entry among masks; ties at masks
    out.push((vec![inf, ninf, inf], 2.0, T::ONE));
    out.push((vec![ninf; 4], 0.0, T::ONE));
    out.push((vec![inf; 3], 3.0, T::ONE));
    out.push((vec![inf, T::from_f64(0.25), ninf], 1.5, T::ONE));
    out.push((
        vec![T::ONE, inf, T::ONE, ninf, T::ONE],
        2.0,
        T::from_f64(0.5),
    ));
    // finite values far from 0, where the sentinels' margin is relative
    out.push((
        vec![T::from_f64(1e30), inf, T::from_f64(-1e30), T::from_f64(3.0)],
        2.5,
        T::ONE,
    ));
    out.push((
        vec![T::from_f64(-5e6), ninf, T::from_f64(-5e6 + 3.0)],
        0.5,
        T::ONE,
    ));
    out
}

fn forward_matches_reference<T: TestReal>() {
    for (x, k, tau) in cases::<T>() {
        let (want, lambda, free) = masked_reference(&x, k, tau);
        let mut y = vec![T::from_f64(7.0); x.len()];
        let info = soft_binary_argmax(&x, k, tau, &mut y)
            .unwrap_or_else(|e| panic!("{} n={} k={k}: {e:?}", T::NAME, x.len()));
        let zmax = x
            .iter()
            .filter(|v| v.is_finite())
            .map(|v| (v.to_f64() / tau.to_f64()).abs())
            .fold(1.0f64.max(lambda.abs()), f64::max);
        // the sentinels sit at most 2 + 2^-10·|z| beyond the finite range
        let tol = bound_unit::<T>(zmax * 1.01 + 2.0, free);
        for (i, (&yi, &wi)) in y.iter().zip(&want).enumerate() {
            let xi = x[i].to_f64();
            if xi.is_infinite() {
                assert_eq!(yi.to_f64(), wi, "{} mask at {i} (x = {xi})", T::NAME);
            } else {
                assert!(
                    (yi.to_f64() - wi).abs() <= tol,
                    "{} n={} k={k} i={i}: {} vs {wi} (tol {tol})",
                    T::NAME,
                    x.len(),
                    yi
                );
            }
        }
        let sum: f64 = y.iter().map(|v| v.to_f64()).sum();
        assert!(
            (sum - k).abs() <= tol * (free.max(1) as f64) + 1e-12 * k,
            "{} Σy = {sum}, k = {k}",
            T::NAME
        );
        let plus = x.iter().filter(|v| v.to_f64() == f64::INFINITY).count();
        assert!(
            info.upper >= plus,
            "+∞ entries count as upper: {info:?} plus {plus} k {k} n {} x {:?}",
            x.len(),
            if x.len() < 12 { widen(&x) } else { vec![] }
        );
        // in place: the same bits
        let mut xi = x.clone();
        soft_binary_argmax_in_place(&mut xi, k, tau).unwrap();
        assert_eq!(bits(&xi), bits(&y), "{} in place", T::NAME);
        // the VJP is 0 at the masks (they are not free) and finite everywhere
        let g: Vec<T> = (0..x.len())
            .map(|i| T::from_f64((i % 5) as f64 - 2.0))
            .collect();
        let mut gx = vec![T::from_f64(7.0); x.len()];
        soft_binary_argmax_vjp(&y, &g, tau, &mut gx).unwrap();
        for (i, v) in gx.iter().enumerate() {
            assert!(v.is_finite());
            if x[i].to_f64().is_infinite() {
                assert_eq!(v.to_f64(), 0.0);
            }
        }
    }
}

#[test]
fn forward_matches_reference_f32() {
    forward_matches_reference::<f32>();
}
#[test]
fn forward_matches_reference_f64() {
    forward_matches_reference::<f64>();
}

fn loss_matches_reference<T: TestReal>() {
    for (x, k, tau) in cases::<T>() {
        let n = x.len();
        let t: Vec<T> = (0..n)
            .map(|i| T::from_f64(((i * 7) % 3) as f64 * 0.5))
            .collect();
        let (yref, _, _) = masked_reference(&x, k, tau);
        let mut g = vec![T::from_f64(7.0); n];
        let loss = hypersimplex_loss(&x, &t, k, tau, Some(&mut g))
            .unwrap_or_else(|e| panic!("{} n={n} k={k}: {e:?}", T::NAME));
        let r: Vec<f64> = yref.iter().zip(&t).map(|(y, t)| y - t.to_f64()).collect();
        let want = 0.5 * r.iter().map(|v| v * v).sum::<f64>();
        let rel = if T::EPS > 1e-10 { 1e-4 } else { 1e-9 };
        assert!(
            (loss.to_f64() - want).abs() <= rel * want.max(1.0),
            "{} loss {} vs {want}",
            T::NAME,
            loss
        );
        // gradient: Jᵀr on the free set of the finite entries, 0 at the masks
        let free: Vec<bool> = yref.iter().map(|&v| v > 0.0 && v < 1.0).collect();
        let nf = free.iter().filter(|&&f| f).count();
        let mean = if nf > 0 {
            r.iter()
                .zip(&free)
                .filter(|(_, &f)| f)
                .map(|(v, _)| v)
                .sum::<f64>()
                / nf as f64
        } else {
            0.0
        };
        for i in 0..n {
            let w = if free[i] {
                (r[i] - mean) / tau.to_f64()
            } else {
                0.0
            };
            let gi = g[i].to_f64();
            assert!(gi.is_finite(), "{} grad {i} not finite", T::NAME);
            if x[i].to_f64().is_infinite() {
                assert_eq!(gi, 0.0, "{} grad at a mask", T::NAME);
            } else {
                assert!(
                    (gi - w).abs() <= rel / tau.to_f64(),
                    "{} grad {i}: {gi} vs {w}",
                    T::NAME
                );
            }
        }
        // without a gradient buffer: the same loss
        assert_eq!(
            hypersimplex_loss(&x, &t, k, tau, None).unwrap().to_f64(),
            loss.to_f64()
        );
    }
}

#[test]
fn loss_matches_reference_f32() {
    loss_matches_reference::<f32>();
}
#[test]
fn loss_matches_reference_f64() {
    loss_matches_reference::<f64>();
}

fn topk_masks<T: TestReal>() {
    for (x, k, _) in cases::<T>() {
        if k.fract() != 0.0 {
            continue;
        }
        let mut y = vec![T::from_f64(7.0); x.len()];
        binary_argmax(&x, k, &mut y).unwrap();
        // the reference orders +∞ first and −∞ last like any value (ties to the lower index)
        let xf = widen(&x);
        assert_eq!(
            widen(&y),
            topk_reference(&xf, k as usize),
            "{} n={} k={k}",
            T::NAME,
            x.len()
        );
    }
}

#[test]
fn topk_masks_f32() {
    topk_masks::<f32>();
}
#[test]
fn topk_masks_f64() {
    topk_masks::<f64>();
}

/// NaN stays an error, whatever else the input holds; sentinels that overflow are reported.
#[test]
fn nan_and_overflow_with_masks() {
    let mut y = [7.0f32; 3];
    assert_eq!(
        soft_binary_argmax(&[f32::INFINITY, f32::NAN, 0.0], 1.0, 1.0, &mut y),
        Err(Error::NonFiniteInput)
    );
    assert_eq!(
        soft_binary_argmax(&[f32::INFINITY, f32::MAX, 0.0], 1.0, 1.0, &mut y),
        Err(Error::ScaleOverflow)
    );
    assert_eq!(y, [7.0; 3]);
    // the sentinel itself finite (1.7017e38), its z = x·2 not: found by mutation testing
    // (checking the sentinel alone, or x + s for x·s, passed every other test)
    assert_eq!(
        soft_binary_argmax(&[f32::INFINITY, 1.7e38, 0.0], 1.0, 0.5, &mut y),
        Err(Error::ScaleOverflow)
    );
    assert_eq!(y, [7.0; 3]);
    assert!(soft_binary_argmax(&[f32::INFINITY, 1.6e38, 0.0], 1.0, 0.5, &mut y).is_ok());
    assert_eq!(y, [1.0, 0.0, 0.0]);
    let mut y = [7.0f64; 3];
    assert_eq!(
        soft_binary_argmax(&[f64::NEG_INFINITY, f64::NAN, 0.0], 1.0, 1.0, &mut y),
        Err(Error::NonFiniteInput)
    );
    assert_eq!(y, [7.0; 3]);
}

/// Multiclass logits with masks: `−∞` at classes a sample cannot have, `+∞` at a few true
/// labels. Each column against the masked reference: loss, gradient (0 at masks) and λ.
/// `offset` is added to every finite logit: a large one puts λ outside the core's window, so
/// the columns are re-solved in the shifted frame with their sentinels (mutation testing found
/// no test of masks there: mapping `−∞` like `+∞` passed every test).
fn multiclass_masks<T: TestReal>(offset: f64) {
    use hypersimplex::{
        hypersimplex_loss_multiclass_lambda, multiclass_scratch_len, ClassK, Reduction,
    };
    let (b, c) = (24usize, 5usize);
    let mut rng = Rand::new(99);
    let labels: Vec<u32> = (0..b).map(|i| (i % c) as u32).collect();
    let mut x: Vec<T> = (0..b * c)
        .map(|_| T::from_f64(offset + rng.normal() * 2.0))
        .collect();
    for i in 0..b {
        let l = labels[i] as usize;
        if i % 7 == 0 {
            x[i * c + l] = T::from_f64(f64::INFINITY);
        }
        if i % 3 == 0 {
            x[i * c + (l + 1) % c] = T::from_f64(f64::NEG_INFINITY);
        }
    }
    let tau = T::from_f64(0.8);
    let mut g = vec![T::from_f64(7.0); b * c];
    let mut s = vec![T::ZERO; multiclass_scratch_len(b, c)];
    let mut lam = vec![0.0; c];
    let loss = hypersimplex_loss_multiclass_lambda(
        &x,
        &labels,
        c,
        ClassK::LabelCounts,
        tau,
        Reduction::Sum,
        Some(&mut g),
        &mut s,
        &mut lam,
    )
    .unwrap();
    let mut want_loss = 0.0;
    for col in 0..c {
        let xc: Vec<T> = (0..b).map(|i| x[i * c + col]).collect();
        let t: Vec<f64> = labels
            .iter()
            .map(|&l| (l as usize == col) as u8 as f64)
            .collect();
        let kc = t.iter().sum::<f64>();
        let (y, _, _) = masked_reference(&xc, kc, tau);
        let r: Vec<f64> = y.iter().zip(&t).map(|(a, b)| a - b).collect();
        want_loss += 0.5 * r.iter().map(|v| v * v).sum::<f64>();
        let free: Vec<bool> = y.iter().map(|&v| v > 0.0 && v < 1.0).collect();
        let nf = free.iter().filter(|&&f| f).count().max(1);
        let mean = r
            .iter()
            .zip(&free)
            .filter(|p| *p.1)
            .map(|p| p.0)
            .sum::<f64>()
            / nf as f64;
        let tol = if T::EPS > 1e-10 { 1e-4 } else { 1e-9 };
        for i in 0..b {
            let gi = g[i * c + col].to_f64();
            let w = if free[i] {
                (r[i] - mean) / tau.to_f64()
            } else {
                0.0
            };
            assert!(
                gi.is_finite() && (gi - w).abs() <= tol * 2.0,
                "{} grad [{i},{col}] {gi} vs {w}",
                T::NAME
            );
            if xc[i].to_f64().is_finite() {
                // λ_c is documented accurate to about ε·max(1, |λ_c|) (the first solve's)
                let yl = (xc[i].to_f64() / tau.to_f64() - lam[col]).clamp(0.0, 1.0);
                let tol_lam = tol * 10.0 + 4.0 * T::EPS * lam[col].abs().max(1.0);
                assert!(
                    (yl - y[i]).abs() <= tol_lam,
                    "{} λ of column {col}: {yl} vs {} (λ {})",
                    T::NAME,
                    y[i],
                    lam[col]
                );
            } else {
                assert_eq!(gi, 0.0);
            }
        }
    }
    let tol = if T::EPS > 1e-10 { 1e-4 } else { 1e-9 };
    assert!(
        (loss.to_f64() - want_loss).abs() <= tol * want_loss.max(1.0),
        "{} loss",
        T::NAME
    );
}

#[test]
fn multiclass_masks_f32() {
    multiclass_masks::<f32>(0.0);
    multiclass_masks::<f32>(40.0);
    multiclass_masks::<f32>(-3.0e4);
}
#[test]
fn multiclass_masks_f64() {
    multiclass_masks::<f64>(0.0);
    multiclass_masks::<f64>(40.0);
    multiclass_masks::<f64>(-3.0e4);
}

/// `ClassK::of_class`, the `k_c` the multiclass functions check masked columns against: the
/// count of `c` among the labels, the fixed value, or the `c`-th entry (0 past the end). Then
/// a batch whose class 0 has more labels (3) than unmasked entries (2) is `InvalidK`, its
/// gradient untouched, while the same logits with one label of class 0 solve (mutation testing
/// found no test that read `k_c` from the labels on the masked path).
#[test]
fn multiclass_masked_columns_take_k_from_label_counts() {
    use hypersimplex::{hypersimplex_loss_multiclass, multiclass_scratch_len, ClassK, Reduction};
    let labels = [0u32, 0, 2, 0, 1];
    assert_eq!(ClassK::LabelCounts.of_class(&labels, 0), 3.0);
    assert_eq!(ClassK::LabelCounts.of_class(&labels, 1), 1.0);
    assert_eq!(ClassK::LabelCounts.of_class(&labels, 3), 0.0);
    assert_eq!(ClassK::Fixed(2.5).of_class(&labels, 7), 2.5);
    assert_eq!(ClassK::PerClass(&[1.0, 0.5]).of_class(&labels, 1), 0.5);
    assert_eq!(ClassK::PerClass(&[1.0, 0.5]).of_class(&labels, 2), 0.0);

    let ninf = f32::NEG_INFINITY;
    let (b, c) = (4usize, 2usize);
    // class 0's column: two of four entries masked; class 1's: none
    let x = [ninf, 0.5, ninf, -0.5, 1.0, 0.0, 0.5, 2.0];
    let mut s = vec![0.0f32; multiclass_scratch_len(b, c)];
    let mut g = [7.0f32; 8];
    let mut loss = |labels: &[u32], g: &mut [f32]| {
        let r = Reduction::Sum;
        hypersimplex_loss_multiclass(&x, labels, c, ClassK::LabelCounts, 1.0, r, Some(g), &mut s)
    };
    assert_eq!(loss(&[0, 0, 0, 1], &mut g), Err(Error::InvalidK));
    assert_eq!(g, [7.0; 8]);
    let r = loss(&[1, 0, 1, 1], &mut g);
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(
        (g[0], g[2]),
        (0.0, 0.0),
        "masked entries have a zero gradient"
    );
}

/// `k` at an end of its feasible range: every finite entry exactly 0 (`k = #(+∞)`) or exactly 1
/// (`k = n − #(−∞)`), and the reported λ as documented: `max z` (as for `k = 0`), or below
/// `min z − 1` by at most `1 + 2^-10·|min z|`. (A solve on the sentinels gives the same `y` but
/// may stop anywhere on the flat piece: mutation testing found no test of λ there.)
fn ends_report_the_documented_lambda<T: TestReal>() {
    let inf = T::from_f64(f64::INFINITY);
    let ninf = T::from_f64(f64::NEG_INFINITY);
    let (pi, ni) = (f64::INFINITY, f64::NEG_INFINITY);
    for (x, tau) in [
        (vec![pi, 0.3, -1.2, 2.1, ni, 0.9], 1.5),
        (vec![ni, -0.4, pi, pi, 1.7, -2.5, 0.0], 0.9),
        (vec![0.25, ni, pi], 2.0),
    ] {
        let x: Vec<T> = x.iter().map(|&v| T::from_f64(v)).collect();
        let tau = T::from_f64(tau);
        let n = x.len();
        let p = x.iter().filter(|v| **v == inf).count();
        let m = x.iter().filter(|v| **v == ninf).count();
        let s = T::ONE / tau;
        let z: Vec<f64> = x
            .iter()
            .filter(|v| v.to_f64().is_finite())
            .map(|&v| (v * s).to_f64())
            .collect();
        let (zmin, zmax) = z
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        for (k, fill) in [(p, 0.0), (n - m, 1.0)] {
            let mut y = vec![T::from_f64(7.0); n];
            let info = soft_binary_argmax(&x, k as f64, tau, &mut y).unwrap();
            for (xi, yi) in x.iter().zip(&y) {
                let want = match xi.to_f64() {
                    v if v == f64::INFINITY => 1.0,
                    v if v == f64::NEG_INFINITY => 0.0,
                    _ => fill,
                };
                assert_eq!(yi.to_f64(), want, "{} k={k}", T::NAME);
            }
            let tol = 4.0 * T::EPS * zmax.abs().max(1.0);
            if fill == 0.0 {
                assert!(
                    (info.lambda - zmax).abs() <= tol,
                    "{} k={k}: λ {} vs max z {zmax}",
                    T::NAME,
                    info.lambda
                );
            } else {
                let low = zmin - 2.0 - zmin.abs() / 1024.0;
                assert!(
                    info.lambda <= zmin - 1.0 && info.lambda >= low - tol,
                    "{} k={k}: λ {} vs min z {zmin}",
                    T::NAME,
                    info.lambda
                );
            }
        }
    }
}

#[test]
fn ends_report_the_documented_lambda_f32() {
    ends_report_the_documented_lambda::<f32>();
}
#[test]
fn ends_report_the_documented_lambda_f64() {
    ends_report_the_documented_lambda::<f64>();
}
