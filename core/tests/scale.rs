//! Issue 13, item 1: the accuracy of the projection does not depend on the scale of `x/τ`.
//! For `|x/τ|` from 1 to 1e6, each `y_i` is within 4ε of the exact projection of the real
//! numbers `x_i/τ` (`tests/exact`: a double-double reference), and `|Σy − k| ≤ (n + 1)·4ε`,
//! in `f32` and `f64`, out of place and in place, with and without `±∞` masks.

mod exact;

use hypersimplex::{soft_binary_argmax, soft_binary_argmax_in_place, Real};

/// The bound of item 1, in units of ε.
const ULPS: f64 = 4.0;

/// Worst errors (per entry; of the sum, over `n + 1`) per magnitude of `x/τ`, in units of ε,
/// and the first violation of the bound.
/// The case's input in `T` and its k; with `masks` (and n > 4), entries 1 and 3 become −∞ and
/// +∞ and k grows by one (capped at n − 1).
fn input<T: Real>(case: &exact::Case, masks: bool) -> (Vec<T>, f64) {
    let n = case.x.len();
    let mut x: Vec<T> = case.x.iter().map(|&v| T::from_f64(v)).collect();
    let mut k = case.k;
    if masks && n > 4 {
        x[1] = T::from_f64(f64::NEG_INFINITY);
        x[3] = T::from_f64(f64::INFINITY);
        k = (k + 1.0).min(n as f64 - 1.0);
    }
    (x, k)
}

fn run<T: Real + core::fmt::Debug>(n: usize, masks: bool) -> (Vec<(f64, f64)>, Option<String>) {
    let mut table = Vec::new();
    let mut bad = None;
    for &mag in exact::MAGS {
        let mut worst = (0.0f64, 0.0f64);
        for case in exact::cases(n, mag, n as u64) {
            let (x, k) = input::<T>(&case, masks);
            let tau = T::from_f64(case.tau);
            let xr: Vec<f64> = x.iter().map(|v| v.to_f64()).collect();
            let reference = exact::project(&xr, tau.to_f64(), k);
            let (e, s) = forward_errors(&x, k, tau, &reference);
            if (e > ULPS || s > ULPS) && bad.is_none() {
                bad = Some(format!(
                    "n={n} |x/τ|≈{mag} τ={} k={k} masks={masks}: max|y−y*| = {e:.2}ε, |Σy−k| = {s:.2}·(n+1)ε",
                    case.tau
                ));
            }
            worst = (worst.0.max(e), worst.1.max(s));
        }
        table.push(worst);
    }
    (table, bad)
}

/// The forward out of place and in place (bitwise the same) against `reference`: the largest
/// `|y_i − y*_i|` and `|Σy − k|/(n + 1)`, in units of ε.
fn forward_errors<T: Real + core::fmt::Debug>(
    x: &[T],
    k: f64,
    tau: T,
    reference: &[f64],
) -> (f64, f64) {
    let n = x.len();
    let mut y = vec![T::ZERO; n];
    soft_binary_argmax(x, k, tau, &mut y).expect("forward");
    let mut yi = x.to_vec();
    soft_binary_argmax_in_place(&mut yi, k, tau).expect("in place");
    assert_eq!(
        y.iter().map(|v| v.to_f64().to_bits()).collect::<Vec<_>>(),
        yi.iter().map(|v| v.to_f64().to_bits()).collect::<Vec<_>>()
    );
    let yf: Vec<f64> = y.iter().map(|v| v.to_f64()).collect();
    let (e, s) = exact::errors(&yf, reference, k, T::EPSILON.to_f64());
    (e, s / (n as f64 + 1.0))
}

/// Runs [`run`] for several lengths, prints the table, and fails on the first violation.
fn check<T: Real + core::fmt::Debug>(name: &str) {
    let mut first = None;
    for n in [5, 37, 300, 3000] {
        for masks in [false, true] {
            let (table, bad) = run::<T>(n, masks);
            let row: Vec<String> = table
                .iter()
                .map(|(e, s)| format!("{e:.2}/{s:.2}"))
                .collect();
            println!("{name} n={n:4} masks={masks:5}: max|y−y*|/ε / max|Σy−k|/((n+1)ε) at |x/τ| = 1..1e6: {}", row.join(" "));
            first = first.or(bad);
        }
    }
    if let Some(b) = first {
        panic!("{b}");
    }
}

#[test]
fn f32_within_4_eps_of_the_exact_projection_at_every_scale() {
    check::<f32>("f32");
}

#[test]
fn f64_within_4_eps_of_the_exact_projection_at_every_scale() {
    check::<f64>("f64");
}

/// Negative control: the projection computed naively in the element type at `|x/τ| ≈ 1e4`
/// (`clip(fl(x·fl(1/τ)) − λ*)` with the exact λ* rounded to f32) is off by far more than 4ε,
/// and the check above would reject it.
#[test]
fn negative_control_naive_scaling_is_rejected() {
    let case = exact::cases(37, 1e4, 1).swap_remove(4);
    let x: Vec<f32> = case.x.iter().map(|&v| v as f32).collect();
    let tau = case.tau as f32;
    let xr: Vec<f64> = x.iter().map(|&v| v as f64).collect();
    let reference = exact::project(&xr, tau as f64, case.k);
    // λ* from one free entry of the reference
    let (i, yi) = reference
        .iter()
        .enumerate()
        .find(|(_, &v)| v > 0.0 && v < 1.0)
        .map(|(i, &v)| (i, v))
        .expect("a free entry");
    let lam = (xr[i] / tau as f64 - yi) as f32;
    let s = 1.0 / tau;
    let naive: Vec<f64> = x
        .iter()
        .map(|&v| (v * s - lam).clamp(0.0, 1.0) as f64)
        .collect();
    let (e, _) = exact::errors(&naive, &reference, case.k, f32::EPSILON as f64);
    assert!(e > 16.0 * ULPS, "naive error only {e}ε");
}

/// Beyond `|x/τ| ≈ 1/ε` (up to 1e37 for `f32`, 1e300 for `f64`): exact answers (ties and
/// gaps of at least 1 in `x/τ`), several shifts deep (issue 13: every finite input where
/// `x/τ` does not overflow).
fn beyond<T: Real + core::fmt::Debug>(mags: &[f64], below: impl Fn(T) -> T) {
    let eps = T::EPSILON.to_f64();
    for n in [9, 3000] {
        let cases = exact::beyond_one_over_eps(
            n,
            mags,
            |v| T::from_f64(v).to_f64(),
            |v| below(T::from_f64(v)).to_f64(),
        );
        for (x, tau, k, want) in cases {
            let x: Vec<T> = x.iter().map(|&v| T::from_f64(v)).collect();
            let mut y = vec![T::ZERO; n];
            soft_binary_argmax(&x, k, T::from_f64(tau), &mut y).expect("forward");
            let yf: Vec<f64> = y.iter().map(|v| v.to_f64()).collect();
            let (e, s) = exact::errors(&yf, &want, k, eps);
            assert!(
                e <= ULPS && s <= ULPS * (n as f64 + 1.0),
                "n={n} x0={:e} τ={tau:e} k={k}: {e:.2}ε, sum {s:.2}ε; y[..6] = {:?}",
                x[0].to_f64(),
                &yf[..6]
            );
        }
    }
}

#[test]
fn beyond_one_over_eps_f32() {
    beyond::<f32>(&[1e8, 1e12, 1e20, 1e30, 1e37], |v| {
        f32::from_bits(if v > 0.0 {
            v.to_bits() - 1
        } else {
            v.to_bits() + 1
        })
    });
}

#[test]
fn beyond_one_over_eps_f64() {
    beyond::<f64>(&[1e17, 1e30, 1e100, 1e200, 1e300], |v| {
        f64::from_bits(if v > 0.0 {
            v.to_bits() - 1
        } else {
            v.to_bits() + 1
        })
    });
}

/// x at ±MAX: `(λ − 3/2)·τ` rounds beyond the largest float (found by the fuzzer: three
/// entries at −MAX with τ = 1e30 share what k leaves, y = 0.99771 each, and were 1). The shift
/// then goes as far as a float can and a second one takes the rest.
fn near_max<T: Real + core::fmt::Debug>(tau: f64) {
    let eps = T::EPSILON.to_f64();
    for sign in [1.0, -1.0] {
        let m = T::MAX.to_f64() * sign;
        let mut xr = vec![m, m, m, 5.0 * tau * sign.signum(), 3.0 * tau];
        xr.extend(core::iter::repeat_n(1e-22, 20));
        let n = xr.len();
        // −MAX entries free near the top (k just below n), +MAX entries free near the bottom
        let k = if sign < 0.0 {
            n as f64 - 0.0069
        } else {
            0.0069
        };
        let x: Vec<T> = xr.iter().map(|&v| T::from_f64(v)).collect();
        let xr: Vec<f64> = x.iter().map(|v| v.to_f64()).collect();
        let reference = exact::project(&xr, T::from_f64(tau).to_f64(), k);
        let mut y = vec![T::ZERO; n];
        soft_binary_argmax(&x, k, T::from_f64(tau), &mut y).expect("forward");
        let yf: Vec<f64> = y.iter().map(|v| v.to_f64()).collect();
        let (e, s) = exact::errors(&yf, &reference, k, eps);
        assert!(
            e <= ULPS && s <= ULPS * (n as f64 + 1.0),
            "x = {m:e}, τ = {tau:e}, k = {k}: {e:.2}ε; y[..3] = {:?}, want {:?}",
            &yf[..3],
            &reference[..3]
        );
        assert!(
            reference[0] > 0.0 && reference[0] < 1.0,
            "a free entry at ±MAX: {:?} (x = {m:e}, k = {k})",
            &reference[..3]
        );
    }
}

#[test]
fn x_near_max() {
    // f32 only: the double-double reference overflows at f64's MAX
    near_max::<f32>(1e30);
    near_max::<f32>(1e20);
}

/// τ above `MAX/64` (τ = MAX/60, MAX/8, MAX/2, MAX): λ far outside [−3, 3] where `|x/τ|`
/// allows, ties, fractional k, with and without `±∞` masks, out of place and in place (bitwise
/// the same). Before the pre-scaled frame these kept only the bound `16·ε·M` (`fl(1/τ)` is
/// subnormal above about `MAX/4`, and λ up to 40 rounds at `40·ε`).
fn huge_tau<T: Real + core::fmt::Debug>(name: &str) {
    let mut worst = 0.0f64;
    for n in [5, 37, 3000] {
        for case in exact::huge_tau_cases(n, T::MAX.to_f64(), n as u64) {
            // masks: only where the sentinels (beyond the finite range by 2τ) are finite floats
            let with_masks = case.mag > 30.0;
            for masks in [false, with_masks] {
                let (x, k) = input::<T>(&case, masks);
                let tau = T::from_f64(case.tau);
                let xr: Vec<f64> = x.iter().map(|v| v.to_f64()).collect();
                let reference = exact::project_huge(&xr, tau.to_f64(), k);
                let (e, s) = forward_errors(&x, k, tau, &reference);
                assert!(
                    e <= ULPS && s <= ULPS,
                    "{name} n={n} τ={:e} x/τ≈{} k={k} masks={masks}: max|y−y*| = {e:.2}ε, \
                     |Σy−k| = {s:.2}·(n+1)ε",
                    case.tau,
                    case.mag
                );
                worst = worst.max(e);
            }
        }
    }
    println!("{name}: τ > MAX/64: max|y−y*| = {worst:.2}ε");
}

#[test]
fn huge_tau_f32() {
    huge_tau::<f32>("f32");
}

#[test]
fn huge_tau_f64() {
    huge_tau::<f64>("f64");
}
