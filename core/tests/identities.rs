//! Identities of Soft-Binary-Argmax@k and the hard mask:
//! k = 1 is sparsemax; `Π_k(x) = 1 − Π_{n−k}(−x)`; permutation equivariance; order
//! preservation; τ → 0 gives the top-k mask; `binary_argmax` equals a sort-based top-k with
//! ties toward the lower index, and finishes on inputs built against quickselect.

mod common;

use common::*;
use hypersimplex::{binary_argmax, binary_argmax_in_place, soft_binary_argmax};
use proptest::prelude::{any, prop_assert, prop_assert_eq, prop_oneof, proptest, Just, Strategy};
use proptest::test_runner::{Config, RngSeed};

fn project<T: TestReal>(x: &[T], k: f64, tau: T) -> Vec<T> {
    let mut y = vec![T::from_f64(7.0); x.len()];
    soft_binary_argmax(x, k, tau, &mut y).expect("valid input");
    y
}

/// ε·M for the comparisons (M = max(1, max|x/τ|)).
fn unit<T: TestReal>(x: &[T], tau: T) -> f64 {
    let m = scaled_exact(x, tau)
        .iter()
        .fold(1.0f64, |m, v| m.max(v.abs()));
    T::EPS * m
}

fn config(cases: u32, seed: u64) -> Config {
    Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        ..Config::default()
    }
}

fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => -5.0f64..5.0,
        2 => (-8i32..=8).prop_map(|v| v as f64 * 0.5),
        1 => Just(0.0),
    ]
}

fn vec_and_tau() -> impl Strategy<Value = (Vec<f64>, f64)> {
    (
        proptest::collection::vec(value(), 1..40),
        prop_oneof![Just(1e-4), Just(1.0), Just(1e4), 0.05f64..20.0],
    )
        .prop_map(|(v, tau)| (v.into_iter().map(|a| a * tau).collect(), tau))
}

// ---------------------------------------------------------------------------------------------
// k = 1 is sparsemax
// ---------------------------------------------------------------------------------------------

fn sparsemax_case<T: TestReal>(x: &[T], tau: T) {
    let y = project(x, 1.0, tau);
    let s = sparsemax(&scaled_exact(x, tau));
    let d = max_abs_diff(&widen(&y), &s);
    let tol = 16.0 * unit(x, tau) + 1e-15 * x.len() as f64;
    assert!(
        d <= tol,
        "{}: sparsemax differs by {d} > {tol}, n = {}",
        T::NAME,
        x.len()
    );
}

#[test]
fn k1_is_sparsemax_grid() {
    let mut rng = Rand::new(11);
    for &n in &SIZES {
        for fam in FAMILIES {
            for &tau in &TAUS {
                let xs = family(fam, n, tau, 0.0, &mut rng);
                sparsemax_case::<f64>(&xs, tau);
                sparsemax_case::<f32>(&cast::<f32>(&xs), tau as f32);
            }
        }
    }
    // a hand case: sparsemax(0.9, 0.5, 0.1, −3) = (0.7, 0.3, 0, 0)
    let y = project(&[0.9f64, 0.5, 0.1, -3.0], 1.0, 1.0);
    assert!(max_abs_diff(&y, &[0.7, 0.3, 0.0, 0.0]) < 1e-15);
}

// ---------------------------------------------------------------------------------------------
// Π_k(x) = 1 − Π_{n−k}(−x)
// ---------------------------------------------------------------------------------------------

fn complement_case<T: TestReal>(x: &[T], k: f64, tau: T) {
    let n = x.len() as f64;
    let y = project(x, k, tau);
    let neg: Vec<T> = x.iter().map(|&v| -v).collect();
    let yc = project(&neg, n - k, tau);
    let one_minus: Vec<f64> = yc.iter().map(|v| 1.0 - v.to_f64()).collect();
    let d = max_abs_diff(&widen(&y), &one_minus);
    // each side is within the forward bound of the exact projection
    let tol = 2.0 * (8.0 * unit(x, tau) + f64::EPSILON * x.len() as f64 / 4.0) + 2.0 * T::EPS;
    assert!(
        d <= tol,
        "{}: complement identity off by {d} > {tol}, n={n} k={k}",
        T::NAME
    );
}

#[test]
fn complement_identity_grid() {
    let mut rng = Rand::new(12);
    for &n in &SIZES {
        for fam in FAMILIES {
            for &tau in &TAUS {
                let xs = family(fam, n, tau * 2.0, 0.0, &mut rng);
                let x32 = cast::<f32>(&xs);
                for k in k_values(n, &mut rng, 1) {
                    // n − k must be exact for the identity to be about the same problem
                    if (n as f64 - k) + k != n as f64 {
                        continue;
                    }
                    complement_case::<f64>(&xs, k, tau);
                    complement_case::<f32>(&x32, k, tau as f32);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// permutation equivariance and order preservation
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(300, 0x1de7_0001))]

    #[test]
    fn permutation_equivariance((x, tau) in vec_and_tau(), kf in 0.0f64..=1.0, seed in any::<u64>()) {
        let n = x.len();
        let k = kf * n as f64;
        let mut perm: Vec<usize> = (0..n).collect();
        Rand::new(seed).shuffle(&mut perm);
        let xp: Vec<f64> = perm.iter().map(|&i| x[i]).collect();
        let y = project(&x, k, tau);
        let yp = project(&xp, k, tau);
        let tol = 2.0 * (8.0 * unit(&x, tau) + f64::EPSILON * n as f64 / 4.0);
        for (j, &i) in perm.iter().enumerate() {
            prop_assert!((yp[j] - y[i]).abs() <= tol, "y(Px) != P y(x) at {}: {} vs {}", j, yp[j], y[i]);
        }
        // f32 too
        let x32: Vec<f32> = cast(&x);
        let xp32: Vec<f32> = perm.iter().map(|&i| x32[i]).collect();
        let y32 = project(&x32, k, tau as f32);
        let yp32 = project(&xp32, k, tau as f32);
        let tol32 = 2.0 * 8.0 * unit(&x32, tau as f32);
        for (j, &i) in perm.iter().enumerate() {
            prop_assert!((yp32[j] as f64 - y32[i] as f64).abs() <= tol32);
        }
    }

    #[test]
    fn order_preservation((x, tau) in vec_and_tau(), kf in 0.0f64..=1.0) {
        let n = x.len();
        let k = kf * n as f64;
        let y = project(&x, k, tau);
        let x32: Vec<f32> = cast(&x);
        let y32 = project(&x32, k, tau as f32);
        for i in 0..n {
            for j in 0..n {
                // exact: z, z − λ and clip are all monotone in floating point
                if x[i] > x[j] { prop_assert!(y[i] >= y[j]); }
                if x[i] == x[j] { prop_assert_eq!(y[i].to_bits(), y[j].to_bits()); }
                if x32[i] > x32[j] { prop_assert!(y32[i] >= y32[j]); }
                if x32[i] == x32[j] { prop_assert_eq!(y32[i].to_bits(), y32[j].to_bits()); }
            }
        }
    }
}

#[test]
fn order_and_permutation_on_grid() {
    let mut rng = Rand::new(13);
    for &n in &SIZES {
        for fam in FAMILIES {
            let tau = TAUS[rng.below(3)];
            let x = family(fam, n, tau, 0.0, &mut rng);
            for k in k_values(n, &mut rng, 1) {
                let y = project(&x, k, tau);
                let mut idx: Vec<usize> = (0..n).collect();
                idx.sort_by(|&a, &b| x[a].partial_cmp(&x[b]).unwrap());
                for w in idx.windows(2) {
                    let (a, b) = (w[0], w[1]);
                    assert!(y[a] <= y[b], "{fam:?} n={n} k={k}");
                    if x[a] == x[b] {
                        assert_eq!(y[a], y[b]);
                    }
                }
                // reversal is a permutation
                let xr: Vec<f64> = x.iter().rev().cloned().collect();
                let yr = project(&xr, k, tau);
                let tol = 2.0 * (8.0 * unit(&x, tau) + f64::EPSILON * n as f64 / 4.0);
                for i in 0..n {
                    assert!((yr[n - 1 - i] - y[i]).abs() <= tol, "{fam:?} n={n} k={k}");
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// τ → 0 gives the top-k mask
// ---------------------------------------------------------------------------------------------

fn tau_limit_case<T: TestReal>(x: &[T], k: usize) {
    let n = x.len();
    let mut sorted = widen(x);
    sorted.sort_by(|a, b| b.partial_cmp(a).unwrap());
    let gap = sorted[k - 1] - sorted[k];
    assert!(gap > 0.0);
    let mut mask = vec![T::from_f64(7.0); n];
    binary_argmax(x, k as f64, &mut mask).unwrap();
    assert_eq!(widen(&mask), topk_reference(&widen(x), k));
    let mut last = f64::INFINITY;
    let mut tau = 4.0 * sorted[0].abs().max(sorted[n - 1].abs()).max(1.0);
    while tau > gap * 1e-3 {
        let y = project(x, k as f64, T::from_f64(tau));
        let d = max_abs_diff(&widen(&y), &widen(&mask));
        last = d;
        if tau <= gap / 2.0 {
            // (k-th − (k+1)-th)/τ ≥ 2 > 1: the projection is exactly the mask
            assert_eq!(
                widen(&y),
                widen(&mask),
                "{}: τ = {tau}, gap = {gap}",
                T::NAME
            );
        }
        tau *= 0.5;
    }
    assert_eq!(last, 0.0);
}

#[test]
fn small_tau_gives_topk_mask() {
    let mut rng = Rand::new(14);
    for &n in &[2usize, 3, 7, 8, 9, 15, 16, 17, 100] {
        for _ in 0..6 {
            let x: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
            let k = 1 + rng.below(n - 1);
            tau_limit_case::<f64>(&x, k);
            tau_limit_case::<f32>(&cast::<f32>(&x), k);
        }
        // ties away from the k-th/(k+1)-th boundary are allowed
        let mut x: Vec<f64> = (0..n)
            .map(|i| if i % 3 == 0 { 2.0 } else { -1.0 })
            .collect();
        let k = x.iter().filter(|&&v| v == 2.0).count();
        tau_limit_case::<f64>(&x, k);
        x.reverse();
        tau_limit_case::<f32>(&cast::<f32>(&x), k);
    }
}

// ---------------------------------------------------------------------------------------------
// binary_argmax
// ---------------------------------------------------------------------------------------------

fn topk_case<T: TestReal>(x: &[T], k: usize) {
    topk_case_with(&topk_order(&widen(x)), x, k);
}

fn topk_case_with<T: TestReal>(order: &[usize], x: &[T], k: usize) {
    let mut y = vec![T::from_f64(7.0); x.len()];
    binary_argmax(x, k as f64, &mut y).unwrap();
    let want = topk_from_order(order, k);
    assert_eq!(widen(&y), want, "{} n={} k={k}", T::NAME, x.len());
    // the scratch-free in-place variant (bisection for the threshold) gives the same mask
    if x.len() <= 20_000 || k % 7 == 0 {
        let mut z = x.to_vec();
        binary_argmax_in_place(&mut z, k as f64).unwrap();
        assert_eq!(widen(&z), want, "in place: {} n={} k={k}", T::NAME, x.len());
    }
}

#[test]
fn binary_argmax_matches_sort_grid() {
    let mut rng = Rand::new(15);
    for &n in SIZES.iter().chain(&[100_000usize]) {
        for fam in FAMILIES {
            let x = family(fam, n, 1.0, f64::MIN_POSITIVE, &mut rng);
            let x32 = cast::<f32>(&family(fam, n, 1.0, f32::MIN_POSITIVE as f64, &mut rng));
            let ks: Vec<usize> = if n >= 100_000 {
                vec![0, 1, n / 2, n - 1, n, rng.below(n + 1)]
            } else {
                (0..=n)
                    .filter(|&k| n <= 17 || k % 97 == 0 || k == n - 1 || k == n)
                    .collect()
            };
            let (o, o32) = (topk_order(&x), topk_order(&widen(&x32)));
            for k in ks {
                topk_case_with(&o, &x, k);
                topk_case_with(&o32, &x32, k);
            }
        }
    }
}

#[test]
fn binary_argmax_ties_go_to_lower_index() {
    let mut y = [0.0f32; 5];
    binary_argmax(&[0.3f32, 2.0, 0.3, -1.0, 0.3], 2.0, &mut y).unwrap();
    assert_eq!(y, [1.0, 1.0, 0.0, 0.0, 0.0]);
    let mut y = [0.0f64; 6];
    binary_argmax(&[1.0f64; 6], 4.0, &mut y).unwrap();
    assert_eq!(y, [1.0, 1.0, 1.0, 1.0, 0.0, 0.0]);
    // −0 and +0 compare equal: a tie, broken by index
    let mut y = [0.0f64; 3];
    binary_argmax(&[0.0f64, -0.0, -1.0], 1.0, &mut y).unwrap();
    assert_eq!(y, [1.0, 0.0, 0.0]);
    binary_argmax(&[-0.0f64, 0.0, -1.0], 1.0, &mut y).unwrap();
    assert_eq!(y, [1.0, 0.0, 0.0]);
}

proptest! {
    #![proptest_config(config(300, 0x70b_0001))]

    #[test]
    fn binary_argmax_property(x in proptest::collection::vec((-4i32..=4).prop_map(|v| v as f64 * 0.25), 0..60), kf in 0.0f64..=1.0) {
        let k = (kf * x.len() as f64).floor() as usize;
        topk_case::<f64>(&x, k);
        topk_case::<f32>(&cast::<f32>(&x), k);
    }
}

/// Musser's median-of-3 killer sequence (of even length n).
fn median_of_3_killer(n: usize) -> Vec<f64> {
    let k = n / 2;
    let mut a = vec![0.0; n];
    for i in 1..=k {
        if i % 2 == 1 {
            a[i - 1] = i as f64;
            a[i] = (k + i) as f64;
        }
        a[k + i - 1] = (2 * i) as f64;
    }
    a
}

/// Inputs built against quickselect's pivot rules: they must finish (the crate bounds the
/// number of partition rounds and falls back to heap selection) and be exact.
#[test]
fn binary_argmax_adversarial_inputs_finish() {
    let n = 1 << 16;
    let mut rng = Rand::new(16);
    let mut inputs: Vec<(&str, Vec<f64>)> = vec![
        ("all equal", vec![3.0; n]),
        ("two values", (0..n).map(|i| (i % 2) as f64).collect()),
        ("sorted", (0..n).map(|i| i as f64).collect()),
        ("reverse sorted", (0..n).map(|i| (n - i) as f64).collect()),
        (
            "organ pipe",
            (0..n).map(|i| i.min(n - 1 - i) as f64).collect(),
        ),
        ("sawtooth", (0..n).map(|i| (i % 64) as f64).collect()),
        ("median-of-3 killer", median_of_3_killer(n)),
        (
            "few distinct",
            (0..n).map(|_| rng.below(4) as f64).collect(),
        ),
        (
            "push front",
            (0..n)
                .map(|i| if i == 0 { n as f64 } else { i as f64 })
                .collect(),
        ),
        (
            "push middle",
            (0..n)
                .map(|i| if i == n / 2 { -1.0 } else { i as f64 })
                .collect(),
        ),
    ];
    // a killer against the ninther: interleave several killer sequences
    let q = median_of_3_killer(n / 8);
    inputs.push((
        "interleaved killers",
        (0..n).map(|i| q[i / 8] * 8.0 + (i % 8) as f64).collect(),
    ));
    for (name, x) in &inputs {
        let order = topk_order(x);
        for k in [1usize, n / 10, n / 2, n - 1] {
            let mut y = vec![7.0f64; n];
            binary_argmax(x, k as f64, &mut y).unwrap();
            assert!(y == topk_from_order(&order, k), "{name}, k = {k}");
        }
        let x32 = cast::<f32>(x);
        let mut y32 = vec![7.0f32; n];
        binary_argmax(&x32, (n / 2) as f64, &mut y32).unwrap();
        assert!(
            widen(&y32) == topk_reference(&widen(&x32), n / 2),
            "{name} f32"
        );
    }
}

#[test]
fn binary_argmax_n0_and_extremes() {
    let mut e: [f64; 0] = [];
    binary_argmax(&[] as &[f64], 0.0, &mut e).unwrap();
    let x = [
        f32::MAX,
        f32::MIN,
        0.0,
        f32::MIN_POSITIVE,
        -f32::MIN_POSITIVE * 0.5,
        1e-45,
    ];
    for k in 0..=x.len() {
        topk_case(&x, k);
    }
}

/// The in-place mask (bisection over representable values) equals the out-of-place one
/// (selection) on ties, ±0, huge magnitudes and ordinary data, for f64 and f32.
#[test]
fn binary_argmax_in_place_matches_out_of_place() {
    let mut seed = 7u64;
    for n in [1usize, 2, 3, 5, 17, 100, 300] {
        for rep in 0..20 {
            let x: Vec<f64> = (0..n)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let r = (seed >> 33) as f64 / (1u64 << 31) as f64;
                    match rep % 4 {
                        0 => (r * 6.0).floor() - 3.0, // many ties
                        1 => r * 2e300 - 1e300,
                        2 => {
                            if r < 0.5 {
                                -0.0
                            } else {
                                0.0
                            }
                        }
                        _ => r - 0.5,
                    }
                })
                .collect();
            for k in [0, 1, n / 2, n.saturating_sub(1), n] {
                let mut want = vec![0.0f64; n];
                binary_argmax(&x, k as f64, &mut want).unwrap();
                let mut got = x.clone();
                binary_argmax_in_place(&mut got, k as f64).unwrap();
                assert_eq!(got, want, "n={n} k={k} x={x:?}");
                let xf: Vec<f32> = x.iter().map(|&v| v.clamp(-1e30, 1e30) as f32).collect();
                let mut want = vec![0.0f32; n];
                binary_argmax(&xf, k as f64, &mut want).unwrap();
                let mut got = xf.clone();
                binary_argmax_in_place(&mut got, k as f64).unwrap();
                assert_eq!(got, want, "f32 n={n} k={k}");
            }
        }
    }
}
