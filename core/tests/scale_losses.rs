//! Issue 13, item 1, for the outputs that are not the forward `y`: the binary and multiclass
//! losses (value and gradient), the half-precision forward and losses. For `|x/τ|` from 1 to
//! 1e6 each `ŷ_i` behind them is within 4ε of the exact projection of `x_i/τ` (the
//! double-double reference of `tests/exact`): the loss is then within `(4 + 2)ε·(Σ|r*| +
//! ½‖r*‖²)` of the exact loss and each gradient entry within `(8 + 4)ε·(1 + |g*|)/τ` of the
//! exact gradient (where no entry lies within 16ε of a breakpoint, so the free sets agree).

mod exact;

use hypersimplex::half::{
    hypersimplex_loss_half, hypersimplex_loss_multiclass_half, soft_binary_argmax_half,
    soft_binary_argmax_half_in_place, Bf16, Half, F16,
};
use hypersimplex::{
    hypersimplex_loss, hypersimplex_loss_multiclass, soft_binary_argmax, ClassK, Real, Reduction,
};

/// Loss bound, in units of `ε·(Σ|r*| + ½‖r*‖²)`.
const LOSS_ULPS: f64 = 6.0;
/// Gradient bound, in units of `ε·(1 + |g*|)/τ`.
const GRAD_ULPS: f64 = 12.0;

/// 0/1 targets, about `k` ones.
fn targets(n: usize, k: f64, seed: u64) -> Vec<f64> {
    let mut g = exact::Gen(seed.wrapping_add(17));
    let p = k / n as f64;
    (0..n)
        .map(|_| {
            let u = (g.0 >> 11) as f64 / (1u64 << 53) as f64;
            g.0 = g.0.wrapping_mul(6364136223846793005).wrapping_add(1);
            if u < p {
                1.0
            } else {
                0.0
            }
        })
        .collect()
}

/// The binary loss over the cases of one length: worst (loss, gradient) errors per magnitude,
/// and the first violation.
fn binary<T: Real>(n: usize) -> (Vec<(f64, f64)>, Option<String>) {
    let eps = T::EPSILON.to_f64();
    let (mut table, mut bad) = (Vec::new(), None);
    for &mag in exact::MAGS {
        let mut worst = (0.0f64, 0.0f64);
        for (i, case) in exact::cases(n, mag, n as u64 + 3).into_iter().enumerate() {
            let x: Vec<T> = case.x.iter().map(|&v| T::from_f64(v)).collect();
            let tau = T::from_f64(case.tau);
            let tf = targets(n, case.k, i as u64);
            let t: Vec<T> = tf.iter().map(|&v| T::from_f64(v)).collect();
            let xr: Vec<f64> = x.iter().map(|v| v.to_f64()).collect();
            let r = exact::loss_ref(&xr, &tf, tau.to_f64(), case.k, eps);
            let mut g = vec![T::ZERO; n];
            let loss = hypersimplex_loss(&x, &t, case.k, tau, Some(&mut g)).expect("loss");
            let le = exact::loss_error(loss.to_f64(), r.half_sq, r.sum_abs_r, eps);
            let gf: Vec<f64> = g.iter().map(|v| v.to_f64()).collect();
            let ge = if r.ambiguous {
                0.0
            } else {
                exact::grad_error(&gf, &r.g, 1.0 / tau.to_f64(), eps)
            };
            if (le > LOSS_ULPS || ge > GRAD_ULPS) && bad.is_none() {
                bad = Some(format!(
                    "binary n={n} |x/τ|≈{mag} τ={} k={}: loss {le:.2}, gradient {ge:.2}",
                    case.tau, case.k
                ));
            }
            worst = (worst.0.max(le), worst.1.max(ge));
        }
        table.push(worst);
    }
    (table, bad)
}

/// The multiclass loss: `classes` columns made from one case (rotated), each against its own
/// exact projection.
fn multiclass<T: Real>(batch: usize) -> (Vec<(f64, f64)>, Option<String>) {
    let (mut table, mut bad) = (Vec::new(), None);
    for &mag in exact::MAGS {
        let mut worst = (0.0f64, 0.0f64);
        for (i, case) in exact::cases(batch, mag, batch as u64 + 5)
            .into_iter()
            .enumerate()
        {
            let (le, ge, reduction, _) = multiclass_case::<T>(&case, i, 1.0);
            if (le > LOSS_ULPS || ge > GRAD_ULPS) && bad.is_none() {
                bad = Some(format!(
                    "multiclass batch={batch} |x/τ|≈{mag} τ={} k={} {reduction:?}: loss {le:.2}, gradient {ge:.2}",
                    case.tau, case.k
                ));
            }
            worst = (worst.0.max(le), worst.1.max(ge));
        }
        table.push(worst);
    }
    (table, bad)
}

/// One multiclass case: 3 columns made from `case` (rotated), labels from `i`, the sum or the
/// mean; the loss and gradient errors against the exact ones (the reference on `x` and τ times
/// `pre`: 1, or `2^-8` for huge τ), the reduction, and the gradient bound's slack for
/// subnormal gradient entries (a few of their quanta, in the units of the bound; about 0 but
/// for huge τ).
fn multiclass_case<T: Real>(case: &exact::Case, i: usize, pre: f64) -> (f64, f64, Reduction, f64) {
    let eps = T::EPSILON.to_f64();
    let (batch, classes) = (case.x.len(), 3usize);
    let tau = T::from_f64(case.tau);
    let x: Vec<T> = case.x.iter().map(|&v| T::from_f64(v)).collect();
    let logits: Vec<T> = (0..batch * classes)
        .map(|j| x[(j / classes + 7 * (j % classes)) % batch])
        .collect();
    let labels: Vec<u32> = (0..batch)
        .map(|b| ((b * 31 + i) % classes) as u32)
        .collect();
    let reduction = if i % 2 == 0 {
        Reduction::Sum
    } else {
        Reduction::Mean
    };
    let mut g = vec![T::ZERO; batch * classes];
    let mut scratch = vec![T::ZERO; batch];
    let loss = hypersimplex_loss_multiclass(
        &logits,
        &labels,
        classes,
        ClassK::Fixed(case.k),
        tau,
        reduction,
        Some(&mut g),
        &mut scratch,
    )
    .expect("multiclass");
    let total = (batch * classes) as f64;
    // ½‖r‖² per unit of the loss, and the gradient per unit of (r − m)/τ
    let (to_half, gscale) = match reduction {
        Reduction::Sum => (1.0, 1.0),
        Reduction::Mean => (total / 2.0, total / 2.0),
    };
    let (mut want, mut abs_r, mut ge) = (0.0, 0.0, 0.0f64);
    for c in 0..classes {
        let col: Vec<f64> = logits
            .iter()
            .skip(c)
            .step_by(classes)
            .map(|v| v.to_f64() * pre)
            .collect();
        let t: Vec<f64> = labels
            .iter()
            .map(|&l| (l as usize == c) as u8 as f64)
            .collect();
        let r = exact::loss_ref(&col, &t, tau.to_f64() * pre, case.k, eps);
        want += r.half_sq;
        abs_r += r.sum_abs_r;
        if !r.ambiguous {
            let gc: Vec<f64> = g
                .iter()
                .skip(c)
                .step_by(classes)
                .map(|v| v.to_f64() * gscale)
                .collect();
            ge = ge.max(exact::grad_error_tau(&gc, &r.g, tau.to_f64(), eps));
        }
    }
    let le = exact::loss_error(loss.to_f64() * to_half, want, abs_r, eps);
    // the smallest subnormal (not `2f64.powi(-1074)`: unoptimized builds compute `powi` as
    // `1/2^1074`, which overflows to 0)
    let quantum = if eps > 1e-10 {
        f32::from_bits(1) as f64
    } else {
        f64::from_bits(1)
    };
    (
        le,
        ge,
        reduction,
        4.0 * quantum * gscale * tau.to_f64() / eps,
    )
}

fn report(name: &str, table: &[(f64, f64)]) {
    let row: Vec<String> = table
        .iter()
        .map(|(a, b)| format!("{a:.2}/{b:.2}"))
        .collect();
    println!(
        "{name}: loss/gradient error (units above) at |x/τ| = 1..1e6: {}",
        row.join(" ")
    );
}

fn check_losses<T: Real>(name: &str) {
    let mut first = None;
    for n in [5, 37, 300, 3000] {
        let (t, b) = binary::<T>(n);
        report(&format!("{name} binary n={n}"), &t);
        first = first.or(b);
        let (t, b) = multiclass::<T>(n);
        report(&format!("{name} multiclass batch={n}"), &t);
        first = first.or(b);
    }
    if let Some(b) = first {
        panic!("{b}");
    }
}

#[test]
fn f32_losses_at_every_scale() {
    check_losses::<f32>("f32");
}

#[test]
fn f64_losses_at_every_scale() {
    check_losses::<f64>("f64");
}

/// The half-precision binary loss (targets `tf`) and multiclass loss (two class columns made
/// from the data) are the `f32` losses of the widened data `xw`, rounded, bit for bit.
fn half_losses_match<H: Half>(xh: &[H], xw: &[f32], tf: &[f64], k: f64, tau: f32, what: &str) {
    let n = xh.len();
    let th: Vec<H> = tf.iter().map(|&v| H::from_f32(v as f32)).collect();
    let tw: Vec<f32> = tf.iter().map(|&v| v as f32).collect();
    let (mut gh, mut gf) = (vec![H::default(); n], vec![0.0f32; n]);
    let lh = hypersimplex_loss_half(xh, &th, k, tau, Some(&mut gh)).unwrap();
    let lf = hypersimplex_loss(xw, &tw, k, tau, Some(&mut gf)).unwrap();
    assert_eq!(lh.to_bits(), lf.to_bits(), "{what}: loss");
    let gr: Vec<H> = gf.iter().map(|&v| H::from_f32(v)).collect();
    assert_eq!(gh, gr, "{what}: loss gradient");
    let labels: Vec<u32> = tf.iter().map(|&v| (v == 0.0) as u32).collect();
    let lgw: Vec<f32> = (0..2 * n).map(|j| xw[(j / 2 + 5 * (j % 2)) % n]).collect();
    let lg: Vec<H> = lgw.iter().map(|&v| H::from_f32(v)).collect();
    let (mut sh, mut sf) = (vec![0.0f32; n], vec![0.0f32; n]);
    let (mut gh, mut gf) = (vec![H::default(); 2 * n], vec![0.0f32; 2 * n]);
    let k = ClassK::Fixed(k);
    let sum = Reduction::Sum;
    let lh =
        hypersimplex_loss_multiclass_half(&lg, &labels, 2, k, tau, sum, Some(&mut gh), &mut sh)
            .unwrap();
    let lf = hypersimplex_loss_multiclass(&lgw, &labels, 2, k, tau, sum, Some(&mut gf), &mut sf)
        .unwrap();
    assert_eq!(lh.to_bits(), lf.to_bits(), "{what}: multiclass");
    let gr: Vec<H> = gf.iter().map(|&v| H::from_f32(v)).collect();
    assert_eq!(gh, gr, "{what}: multiclass gradient");
}

/// The half-precision forward: the `f32` forward of the widened input, rounded, bit for bit
/// (so within 4ε of the exact projection before the rounding) at every scale, and the losses
/// the `f32` losses of the widened input.
fn half<H: Half>(name: &str, ulp: f64) {
    let mut worst = Vec::new();
    for &mag in exact::MAGS {
        let mut w = 0.0f64;
        for n in [37, 3000] {
            for (i, case) in exact::cases(n, mag, 11).into_iter().enumerate() {
                let xh: Vec<H> = case.x.iter().map(|&v| H::from_f32(v as f32)).collect();
                let xw: Vec<f32> = xh.iter().map(|v| v.to_f32()).collect();
                if xw.iter().any(|v| !v.is_finite()) {
                    continue; // beyond the f16 range (±∞ are masks, tested elsewhere)
                }
                let tau = case.tau as f32;
                let mut yf = vec![0.0f32; n];
                soft_binary_argmax(&xw, case.k, tau, &mut yf).expect("f32");
                let mut yh = vec![H::default(); n];
                soft_binary_argmax_half(&xh, case.k, tau, &mut yh).expect("half");
                let mut yi = xh.clone();
                soft_binary_argmax_half_in_place(&mut yi, case.k, tau).expect("half in place");
                let rounded: Vec<H> = yf.iter().map(|&v| H::from_f32(v)).collect();
                assert_eq!(
                    yh, rounded,
                    "{name} n={n} |x/τ|≈{mag}: not the rounded f32 result"
                );
                assert_eq!(yi, rounded, "{name} in place n={n} |x/τ|≈{mag}");
                let xr: Vec<f64> = xw.iter().map(|&v| v as f64).collect();
                let reference = exact::project(&xr, tau as f64, case.k);
                for (a, b) in yh.iter().zip(&reference) {
                    let e = (a.to_f32() as f64 - b).abs() / ulp;
                    assert!(e <= 1.0, "{name} n={n} |x/τ|≈{mag}: {e} ulp");
                    w = w.max(e);
                }
                // the binary and multiclass losses: the f32 ones of the widened data
                if 2.0 / tau < 60000.0 {
                    let tf = targets(n, case.k, i as u64);
                    let what = format!("{name} n={n} |x/τ|≈{mag}");
                    half_losses_match(&xh, &xw, &tf, case.k, tau, &what);
                }
            }
        }
        worst.push(w);
    }
    println!("{name}: max|y−y*| in ulps of y at 1 at |x/τ| = 1..1e6: {worst:.2?}");
}

#[test]
fn half_precision_is_the_rounded_f32_result_at_every_scale() {
    half::<Bf16>("bf16", 2f64.powi(-8));
    half::<F16>("f16", 2f64.powi(-11));
}

/// The losses for τ > `MAX/64` (τ = MAX/60, MAX/8, MAX/2, MAX; `exact::huge_tau_cases`): the
/// binary loss (with `±∞` masks where the sentinels fit, τ = MAX/60) and the multiclass loss
/// (sum and mean) against the exact loss and gradient (the reference on `x`, τ scaled by
/// `2^-8`; gradients by `exact::grad_error_tau`, whose factor `1/τ` may be subnormal). Before
/// the pre-scaled frame they kept only the bound `16·ε·M`.
fn huge_tau_losses<T: Real>(name: &str) {
    let eps = T::EPSILON.to_f64();
    let p = 1.0 / 256.0;
    let mut worst = (0.0f64, 0.0f64);
    for n in [5, 37, 300, 3000] {
        for (i, case) in exact::huge_tau_cases(n, T::MAX.to_f64(), n as u64 + 3)
            .into_iter()
            .enumerate()
        {
            let tau = T::from_f64(case.tau);
            let tf = targets(n, case.k, i as u64);
            for masks in [false, case.mag > 30.0 && n > 4] {
                let mut x: Vec<T> = case.x.iter().map(|&v| T::from_f64(v)).collect();
                let mut tm = tf.clone();
                let mut k = case.k;
                if masks {
                    x[1] = T::from_f64(f64::NEG_INFINITY);
                    x[3] = T::from_f64(f64::INFINITY);
                    (tm[1], tm[3]) = (0.0, 1.0);
                    k = (k + 1.0).min(n as f64 - 1.0);
                }
                let t: Vec<T> = tm.iter().map(|&v| T::from_f64(v)).collect();
                let xr: Vec<f64> = x.iter().map(|v| v.to_f64() * p).collect();
                let r = exact::loss_ref(&xr, &tm, case.tau * p, k, eps);
                let mut g = vec![T::ZERO; n];
                let loss = hypersimplex_loss(&x, &t, k, tau, Some(&mut g)).expect("loss");
                let le = exact::loss_error(loss.to_f64(), r.half_sq, r.sum_abs_r, eps);
                let gf: Vec<f64> = g.iter().map(|v| v.to_f64()).collect();
                let ge = if r.ambiguous {
                    0.0
                } else {
                    exact::grad_error_tau(&gf, &r.g, case.tau, eps)
                };
                assert!(
                    le <= LOSS_ULPS && ge <= GRAD_ULPS,
                    "{name} binary n={n} τ={:e} x/τ≈{} k={k} masks={masks}: loss {le:.2}, gradient {ge:.2}",
                    case.tau,
                    case.mag
                );
                worst = (worst.0.max(le), worst.1.max(ge));
            }
            // multiclass: 3 columns made from the case (rotated), sum or mean
            let (le, ge, reduction, slack) = multiclass_case::<T>(&case, i, p);
            assert!(
                le <= LOSS_ULPS && ge <= GRAD_ULPS + slack,
                "{name} multiclass batch={n} τ={:e} x/τ≈{} k={} {reduction:?}: loss {le:.2}, gradient {ge:.2}",
                case.tau,
                case.mag,
                case.k
            );
            let ge = if reduction == Reduction::Sum { ge } else { 0.0 };
            worst = (worst.0.max(le), worst.1.max(ge));
        }
    }
    println!(
        "{name} τ > MAX/64: loss {:.2}, gradient {:.2} (units above; the mean's not shown)",
        worst.0, worst.1
    );
}

#[test]
fn huge_tau_losses_f32() {
    huge_tau_losses::<f32>("f32");
}

#[test]
fn huge_tau_losses_f64() {
    huge_tau_losses::<f64>("f64");
}

/// The half forward and losses for τ > `MAX/64` (bf16 reaches `f32`'s range): the `f32`
/// results of the widened input, rounded, bit for bit; the forward within 4ε₃₂ of the exact
/// projection before the rounding.
#[test]
fn huge_tau_half() {
    for n in [37, 3000] {
        for (i, case) in exact::huge_tau_cases(n, f32::MAX as f64, 11)
            .into_iter()
            .enumerate()
        {
            let xh: Vec<Bf16> = case.x.iter().map(|&v| Bf16::from_f32(v as f32)).collect();
            let xw: Vec<f32> = xh.iter().map(|v| v.to_f32()).collect();
            if xw.iter().any(|v| !v.is_finite()) {
                continue;
            }
            let tau = case.tau as f32;
            let what = format!("bf16 n={n} τ={:e} k={}", case.tau, case.k);
            let mut yf = vec![0.0f32; n];
            let pf = soft_binary_argmax(&xw, case.k, tau, &mut yf).expect("f32");
            let mut yh = vec![Bf16::default(); n];
            let ph = soft_binary_argmax_half(&xh, case.k, tau, &mut yh).expect("half");
            let mut yi = xh.clone();
            soft_binary_argmax_half_in_place(&mut yi, case.k, tau).expect("half in place");
            let rounded: Vec<Bf16> = yf.iter().map(|&v| Bf16::from_f32(v)).collect();
            assert_eq!(yh, rounded, "{what}: not the rounded f32 result");
            assert_eq!(yi, rounded, "{what}: in place");
            assert_eq!(pf.lambda.to_bits(), ph.lambda.to_bits(), "{what}: λ");
            let xr: Vec<f64> = xw.iter().map(|&v| v as f64).collect();
            let yf64: Vec<f64> = yf.iter().map(|&v| v as f64).collect();
            let reference = exact::project_huge(&xr, tau as f64, case.k);
            let (e, _) = exact::errors(&yf64, &reference, case.k, f32::EPSILON as f64);
            assert!(e <= 4.0, "{what}: {e:.2}ε");
            let tf = targets(n, case.k, i as u64);
            half_losses_match(&xh, &xw, &tf, case.k, tau, &what);
        }
    }
}
