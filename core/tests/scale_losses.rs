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
    let eps = T::EPSILON.to_f64();
    let classes = 3usize;
    let (mut table, mut bad) = (Vec::new(), None);
    for &mag in exact::MAGS {
        let mut worst = (0.0f64, 0.0f64);
        for (i, case) in exact::cases(batch, mag, batch as u64 + 5)
            .into_iter()
            .enumerate()
        {
            let tau = T::from_f64(case.tau);
            let mut logits = vec![T::ZERO; batch * classes];
            for b in 0..batch {
                for c in 0..classes {
                    logits[b * classes + c] = T::from_f64(case.x[(b + 7 * c) % batch]);
                }
            }
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
            let (to_half, factor) = match reduction {
                Reduction::Sum => (1.0, 1.0 / tau.to_f64()),
                Reduction::Mean => (total / 2.0, 2.0 / total / tau.to_f64()),
            };
            let (mut want, mut abs_r, mut ge) = (0.0, 0.0, 0.0f64);
            for c in 0..classes {
                let col: Vec<f64> = logits
                    .iter()
                    .skip(c)
                    .step_by(classes)
                    .map(|v| v.to_f64())
                    .collect();
                let t: Vec<f64> = labels
                    .iter()
                    .map(|&l| (l as usize == c) as u8 as f64)
                    .collect();
                let r = exact::loss_ref(&col, &t, tau.to_f64(), case.k, eps);
                want += r.half_sq;
                abs_r += r.sum_abs_r;
                if !r.ambiguous {
                    let gc: Vec<f64> = g
                        .iter()
                        .skip(c)
                        .step_by(classes)
                        .map(|v| v.to_f64())
                        .collect();
                    ge = ge.max(exact::grad_error(&gc, &r.g, factor, eps));
                }
            }
            let le = exact::loss_error(loss.to_f64() * to_half, want, abs_r, eps);
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
                // the binary loss and gradient: the f32 ones of the widened data
                let tf = targets(n, case.k, i as u64);
                let th: Vec<H> = tf.iter().map(|&v| H::from_f32(v as f32)).collect();
                let tw: Vec<f32> = tf.iter().map(|&v| v as f32).collect();
                if 2.0 / tau < 60000.0 {
                    let (mut gh, mut gf) = (vec![H::default(); n], vec![0.0f32; n]);
                    let lh = hypersimplex_loss_half(&xh, &th, case.k, tau, Some(&mut gh)).unwrap();
                    let lf = hypersimplex_loss(&xw, &tw, case.k, tau, Some(&mut gf)).unwrap();
                    assert_eq!(lh.to_bits(), lf.to_bits(), "{name} loss n={n} |x/τ|≈{mag}");
                    let gr: Vec<H> = gf.iter().map(|&v| H::from_f32(v)).collect();
                    assert_eq!(gh, gr, "{name} loss gradient n={n} |x/τ|≈{mag}");
                    // the multiclass loss: one class column
                    let labels: Vec<u32> = tf.iter().map(|&v| (v == 0.0) as u32).collect();
                    let mut lg = vec![H::default(); 2 * n];
                    let lgw: Vec<f32> = (0..2 * n).map(|j| xw[(j / 2 + 5 * (j % 2)) % n]).collect();
                    for (o, &v) in lg.iter_mut().zip(&lgw) {
                        *o = H::from_f32(v);
                    }
                    let mut sh = vec![0.0f32; n];
                    let mut sf = vec![0.0f32; n];
                    let (mut gh, mut gf) = (vec![H::default(); 2 * n], vec![0.0f32; 2 * n]);
                    let k = ClassK::Fixed(case.k);
                    let lh = hypersimplex_loss_multiclass_half(
                        &lg,
                        &labels,
                        2,
                        k,
                        tau,
                        Reduction::Sum,
                        Some(&mut gh),
                        &mut sh,
                    )
                    .unwrap();
                    let lf = hypersimplex_loss_multiclass(
                        &lgw,
                        &labels,
                        2,
                        k,
                        tau,
                        Reduction::Sum,
                        Some(&mut gf),
                        &mut sf,
                    )
                    .unwrap();
                    assert_eq!(
                        lh.to_bits(),
                        lf.to_bits(),
                        "{name} multiclass n={n} |x/τ|≈{mag}"
                    );
                    let gr: Vec<H> = gf.iter().map(|&v| H::from_f32(v)).collect();
                    assert_eq!(gh, gr, "{name} multiclass gradient n={n} |x/τ|≈{mag}");
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
