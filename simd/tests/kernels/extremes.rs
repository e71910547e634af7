//! Logits at both ends of the range: vectors holding `+MAX` and `−MAX` (times τ = 1) beside
//! ordinary values. There `d = fl(z − λ)` overflows to `±∞` for a trial λ at the other end,
//! and a free-set sum computed as `d·[free]` became NaN (`∞·0`), which sent the solver to a
//! wrong bracket: the core crate and the short-vector paths returned 0.2 for every entry of
//! `[MAX, −MAX, −MAX, 0, 5, 7, 2]` at k = 1 (the fuzzer's multiclass finding, where the SIMD
//! and portable multiclass losses then disagreed).
//!
//! The reference is exact by construction: with `a` entries at `+MAX`, `b` at `−MAX` and the
//! `c` others moderate, the projection gives `k/a` to the `+MAX` entries when `k ≤ a`; else 1
//! to them and the projection of the moderate block onto Δ(c, k − a) (bisection in f64)
//! when `k − a ≤ c`; else 1 to both and `(k − a − c)/b` to the `−MAX` entries. `±MAX` lies
//! more than 1 from every moderate value, so the blocks never share a free set. The binary
//! and multiclass losses are checked against the loss of that projection.

use crate::common::{all_kernels, neumaier, reference, Rng};
use hypersimplex::{ClassK, Real, Reduction};
use hypersimplex_simd::Element;

/// The exact projection of `x` (entries `±MAX` or moderate) onto Δ(n, k), τ = 1.
fn exact<T: Real>(x: &[T], k: f64) -> Vec<f64> {
    let top = x.iter().filter(|v| **v == T::MAX).count() as f64;
    let bottom = x.iter().filter(|v| **v == T::LOWEST).count() as f64;
    let mid: Vec<T> = x
        .iter()
        .copied()
        .filter(|v| *v != T::MAX && *v != T::LOWEST)
        .collect();
    let c = mid.len() as f64;
    let (y_top, k_mid, y_bottom) = if k <= top {
        (k / top, 0.0, 0.0)
    } else if k - top <= c {
        (1.0, k - top, 0.0)
    } else {
        (1.0, c, (k - top - c) / bottom)
    };
    let ymid = if k_mid <= 0.0 {
        vec![0.0; mid.len()]
    } else if k_mid >= c {
        vec![1.0; mid.len()]
    } else {
        let (l, _) = reference(&mid, k_mid, T::ONE);
        let z: Vec<f64> = mid.iter().map(|v| v.to_f64()).collect();
        // On the piece of the bisection's λ, `λ = (Σ_F z + |U| − k)/|F|` solves f(λ) = k
        // exactly: recomputed with a compensated sum, it is accurate to about ε·|λ|, where
        // the bisection's own λ is only as good as its plain f64 sums of f.
        let free: Vec<f64> = z
            .iter()
            .copied()
            .filter(|v| *v - l > 0.0 && *v - l < 1.0)
            .collect();
        let upper = z.iter().filter(|v| **v - l >= 1.0).count() as f64;
        let l = if free.is_empty() {
            l
        } else {
            (neumaier(free.iter().copied()) + upper - k_mid) / free.len() as f64
        };
        z.iter().map(|v| (v - l).clamp(0.0, 1.0)).collect()
    };
    let mut it = ymid.into_iter();
    x.iter()
        .map(|v| {
            if *v == T::MAX {
                y_top
            } else if *v == T::LOWEST {
                y_bottom
            } else {
                it.next().unwrap_or(f64::NAN)
            }
        })
        .collect()
}

/// `n` entries: about a tenth each at `±MAX` (at least one each for n ≥ 3), the rest on a
/// coarse grid in [−12.5, 12.5] (ties, exact breakpoints).
fn input<T: Real>(rng: &mut Rng, n: usize) -> Vec<T> {
    let mut x: Vec<T> = (0..n)
        .map(|_| match rng.below(10) {
            0 => T::MAX,
            1 => T::LOWEST,
            _ => T::from_f64((rng.below(200) as f64 - 100.0) / 8.0),
        })
        .collect();
    if n >= 3 {
        x[rng.below(n)] = T::MAX;
        let i = rng.below(n);
        if x[i] != T::MAX {
            x[i] = T::LOWEST;
        }
    }
    x
}

/// k values for a vector with `a` entries at +MAX: 0, n, inside the +MAX block, at its end,
/// in the moderate block, fractional, and inside the −MAX block.
fn ks(n: usize, rng: &mut Rng) -> Vec<f64> {
    let nf = n as f64;
    let mut v = vec![0.0, nf, 0.5, 1.0, nf - 0.5, nf / 2.0, (nf / 3.0).floor()];
    v.extend((0..4).map(|_| rng.unit() * nf));
    v.retain(|k| (0.0..=nf).contains(k));
    v
}

fn check_forward<T: Element + core::fmt::Debug>(tol: f64) {
    let mut rng = Rng(0x5eed_0123_4567_89ab);
    for n in [1, 2, 3, 5, 7, 10, 31, 33, 64, 257, 1000, 5000] {
        for _ in 0..4 {
            let x = input::<T>(&mut rng, n);
            for k in ks(n, &mut rng) {
                let want = exact(&x, k);
                let mut y = vec![T::ZERO; n];
                hypersimplex::soft_binary_argmax(&x, k, T::ONE, &mut y).expect("core forward");
                let sum = neumaier(y.iter().map(|v| v.to_f64()));
                let se = (sum - k).abs() / ((n + 1) as f64 * T::EPSILON.to_f64());
                assert!(
                    se <= 4.0,
                    "core n={n} k={k}: Σy − k = {:e} ({se:.1}·(n+1)ε)",
                    sum - k
                );
                let e = diff(&y, &want);
                assert!(
                    e <= tol,
                    "core n={n} k={k}: off by {e:e} ({:.1} ε)\nx={x:?}\ny={y:?}",
                    e / T::EPSILON.to_f64()
                );
                for kern in all_kernels() {
                    let mut y = vec![T::ZERO; n];
                    kern.soft_binary_argmax(&x, k, T::ONE, &mut y)
                        .expect("simd forward");
                    let e = diff(&y, &want);
                    assert!(e <= tol, "{kern:?} n={n} k={k}: off by {e:e}\ny={y:?}");
                    // the same vector as every row of a batch
                    let rows = 3;
                    let xs: Vec<T> = x.iter().copied().cycle().take(rows * n).collect();
                    let mut ys = vec![T::ZERO; rows * n];
                    let kk = vec![k; rows];
                    kern.soft_binary_argmax_rows(
                        &xs,
                        rows,
                        n,
                        hypersimplex_simd::RowK::PerRow(&kk),
                        T::ONE,
                        &mut ys,
                    )
                    .expect("rows");
                    for r in ys.chunks(n) {
                        let e = diff(r, &want);
                        assert!(e <= tol, "{kern:?} rows n={n} k={k}: off by {e:e}");
                    }
                }
            }
        }
    }
}

fn diff<T: Real>(y: &[T], want: &[f64]) -> f64 {
    y.iter()
        .zip(want)
        .map(|(a, b)| (a.to_f64() - b).abs())
        .fold(0.0, f64::max)
}

#[test]
fn forward_with_max_logits_f64() {
    check_forward::<f64>(4.0 * f64::EPSILON + 16.0 * f64::EPSILON);
}

#[test]
fn forward_with_max_logits_f32() {
    check_forward::<f32>(4.0 * f32::EPSILON as f64 + 16.0 * f64::EPSILON);
}

/// The multiclass loss (per-class k from the label counts, and one fixed k): the SIMD
/// (allocating) and portable (scratch) variants against the loss of the exact projections.
fn check_multiclass<T: Element + core::fmt::Debug>(rel: f64) {
    let mut rng = Rng(0x0bad_cafe_1234_5678);
    for &(batch, classes) in &[
        (38usize, 3usize),
        (38, 4),
        (5, 2),
        (12, 6),
        (47, 5),
        (300, 3),
    ] {
        for trial in 0..6 {
            let x = input::<T>(&mut rng, batch * classes);
            let labels: Vec<u32> = (0..batch).map(|_| rng.below(classes) as u32).collect();
            let fixed = (batch as f64 * rng.unit()).floor();
            let k = if trial % 2 == 0 {
                ClassK::LabelCounts
            } else {
                ClassK::Fixed(fixed)
            };
            let mut want = 0.0;
            for c in 0..classes {
                let col: Vec<T> = (0..batch).map(|b| x[b * classes + c]).collect();
                let kc = k.of_class(&labels, c);
                let y = exact(&col, kc);
                for (b, yb) in y.iter().enumerate() {
                    let t = if labels[b] as usize == c { 1.0 } else { 0.0 };
                    want += (yb - t) * (yb - t);
                }
            }
            let want = 0.5 * want;
            let mut scratch = vec![T::ZERO; hypersimplex::multiclass_scratch_len(batch, classes)];
            let mut g1 = vec![T::ZERO; batch * classes];
            let mut g2 = vec![T::ZERO; batch * classes];
            let core = hypersimplex::hypersimplex_loss_multiclass(
                &x,
                &labels,
                classes,
                k,
                T::ONE,
                Reduction::Sum,
                Some(&mut g1),
                &mut scratch,
            )
            .expect("core multiclass")
            .to_f64();
            let tol = rel * (1.0 + want);
            assert!(
                (core - want).abs() <= tol,
                "core {batch}x{classes} {k:?}: loss {core}, want {want}"
            );
            for kern in all_kernels() {
                let l = kern
                    .hypersimplex_loss_multiclass(
                        &x,
                        &labels,
                        classes,
                        k,
                        T::ONE,
                        Reduction::Sum,
                        Some(&mut g2),
                    )
                    .expect("simd multiclass")
                    .to_f64();
                assert!(
                    (l - want).abs() <= tol,
                    "{kern:?} {batch}x{classes} {k:?}: loss {l}, want {want}"
                );
                let e = diff(&g2, &g1.iter().map(|v| v.to_f64()).collect::<Vec<_>>());
                assert!(
                    e <= rel,
                    "{kern:?} {batch}x{classes}: gradients differ by {e:e}"
                );
            }
        }
    }
}

#[test]
fn multiclass_with_max_logits_f64() {
    check_multiclass::<f64>(1e-12);
}

#[test]
fn multiclass_with_max_logits_f32() {
    check_multiclass::<f32>(1e-5);
}

/// The binary loss `½‖Π(x) − t‖²` (core and every kernel path) on the same vectors, against
/// the exact projection, and the two gradients against each other.
fn check_binary_loss<T: Element + core::fmt::Debug>(rel: f64) {
    let mut rng = Rng(0x1234_feed_beef_0042);
    for n in [1, 2, 5, 7, 10, 33, 257, 1000] {
        for _ in 0..4 {
            let x = input::<T>(&mut rng, n);
            let t: Vec<T> = (0..n).map(|_| T::from_f64(rng.below(2) as f64)).collect();
            for k in ks(n, &mut rng) {
                let y = exact(&x, k);
                let want = 0.5 * neumaier(y.iter().zip(&t).map(|(a, b)| (a - b.to_f64()).powi(2)));
                let tol = rel * (1.0 + want);
                let mut g1 = vec![T::ZERO; n];
                let l = hypersimplex::hypersimplex_loss(&x, &t, k, T::ONE, Some(&mut g1))
                    .expect("core loss")
                    .to_f64();
                assert!(
                    (l - want).abs() <= tol,
                    "core n={n} k={k}: loss {l}, want {want}"
                );
                for kern in all_kernels() {
                    let mut g2 = vec![T::ZERO; n];
                    let l = kern
                        .hypersimplex_loss(&x, &t, k, T::ONE, Some(&mut g2))
                        .expect("simd loss")
                        .to_f64();
                    assert!(
                        (l - want).abs() <= tol,
                        "{kern:?} n={n} k={k}: loss {l}, want {want}"
                    );
                    let e = diff(&g2, &g1.iter().map(|v| v.to_f64()).collect::<Vec<_>>());
                    assert!(e <= rel, "{kern:?} n={n} k={k}: gradients differ by {e:e}");
                }
            }
        }
    }
}

#[test]
fn binary_loss_with_max_logits_f64() {
    check_binary_loss::<f64>(1e-12);
}

#[test]
fn binary_loss_with_max_logits_f32() {
    check_binary_loss::<f32>(1e-5);
}
