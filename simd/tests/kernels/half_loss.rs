//! The half-precision multiclass loss of this crate (issue 15) against the `f32` multiclass
//! loss of the widened logits (bit for bit: the loss, every λ_c, and each gradient entry
//! rounded once) and against the core crate's scalar half loss (itself checked against the f64
//! reference in `core/tests/half.rs`), on every path and with 1 and 4 threads: shapes with
//! one class, short and long batches, rows longer than the widening block (segments), ±∞
//! masks, NaN and every refusal, which leaves the gradient and λ untouched.

use crate::common::*;
use hypersimplex::half::{self as core_half, Bf16, Half, F16};
use hypersimplex_simd::{ClassK, Error, Kernels, McStore, Reduction};

type Out = Result<(u32, Vec<u16>, Vec<u64>), Error>;

fn simd_half<H: Half + McStore<f32>>(
    kern: Kernels,
    x: &[H],
    labels: &[u32],
    classes: usize,
    k: ClassK<'_>,
    tau: f32,
    red: Reduction,
) -> Out {
    let mut g = vec![H::from_bits(0x1234); x.len()];
    let mut lam = vec![-7.0f64; classes];
    let r = kern.hypersimplex_loss_multiclass_lambda_half(
        x,
        labels,
        classes,
        k,
        tau,
        red,
        Some(&mut g),
        &mut lam,
    );
    // without λ and without the gradient: the same loss
    let plain = kern.hypersimplex_loss_multiclass_half(x, labels, classes, k, tau, red, None);
    match r {
        Ok(v) => {
            assert_eq!(plain.map(f32::to_bits), Ok(v.to_bits()));
            Ok((
                v.to_bits(),
                g.iter().map(|h| h.to_bits()).collect(),
                lam.iter().map(|l| l.to_bits()).collect(),
            ))
        }
        Err(e) => {
            assert!(
                g.iter().all(|h| h.to_bits() == 0x1234),
                "grad written on error"
            );
            assert!(lam.iter().all(|&l| l == -7.0), "lambda written on error");
            Err(e)
        }
    }
}

/// The `f32` loss of the widened logits, the gradient rounded.
fn rounded_f32<H: Half>(
    kern: Kernels,
    x: &[H],
    labels: &[u32],
    classes: usize,
    k: ClassK<'_>,
    tau: f32,
    red: Reduction,
) -> Out {
    let w: Vec<f32> = x.iter().map(|h| h.to_f32()).collect();
    let mut g = vec![0.0f32; w.len()];
    let mut lam = vec![0.0f64; classes];
    let v = kern.hypersimplex_loss_multiclass_lambda(
        &w,
        labels,
        classes,
        k,
        tau,
        red,
        Some(&mut g),
        &mut lam,
    )?;
    Ok((
        v.to_bits(),
        g.iter().map(|&v| H::from_f32(v).to_bits()).collect(),
        lam.iter().map(|l| l.to_bits()).collect(),
    ))
}

/// The core crate's scalar half loss.
fn core<H: Half>(
    x: &[H],
    labels: &[u32],
    classes: usize,
    k: ClassK<'_>,
    tau: f32,
    red: Reduction,
) -> Out {
    let mut g = vec![H::ZERO; x.len()];
    let mut lam = vec![0.0f64; classes];
    let mut scratch = vec![0.0f32; labels.len()];
    let v = core_half::hypersimplex_loss_multiclass_lambda_half(
        x,
        labels,
        classes,
        k,
        tau,
        red,
        Some(&mut g),
        &mut scratch,
        &mut lam,
    )?;
    Ok((
        v.to_bits(),
        g.iter().map(|h| h.to_bits()).collect(),
        lam.iter().map(|l| l.to_bits()).collect(),
    ))
}

fn case<H: Half + McStore<f32>>(x: &[H], labels: &[u32], classes: usize, ks: &[f64], ctx: &str) {
    let nb = labels.len() as f64;
    let fixed = (0.3 * nb).floor() + 0.5f64.min(nb);
    for k in [
        ClassK::LabelCounts,
        ClassK::Fixed(fixed.min(nb)),
        ClassK::PerClass(ks),
    ] {
        for red in [Reduction::Mean, Reduction::Sum] {
            for tau in [0.7f32, 1.5] {
                let want = core(x, labels, classes, k, tau, red);
                for kern in all_kernels() {
                    let c = format!("{ctx} {} {k:?} {red:?} tau {tau}", kern.path().name());
                    let f = rounded_f32(kern, x, labels, classes, k, tau, red);
                    let one = with_threads(1, || simd_half(kern, x, labels, classes, k, tau, red));
                    let four = with_threads(4, || simd_half(kern, x, labels, classes, k, tau, red));
                    assert_eq!(one, four, "{c}: thread counts differ");
                    assert_eq!(one, f, "{c}: not the rounded f32 loss");
                    assert_eq!(one, want, "{c}: not the core's half loss");
                }
            }
        }
    }
}

fn shapes<H: Half + McStore<f32>>(seed: u64) {
    let mut rng = Rng(seed);
    for (batch, classes) in [
        (1usize, 1usize),
        (3, 5),
        (100, 10),
        (257, 3),
        (20, 2100),
        (3, 4099),
        (4100, 12),
    ] {
        let n = batch * classes;
        let kind = rng.below(4);
        let xf = data::<f32>(&mut rng, n, kind);
        let x: Vec<H> = xf.iter().map(|&v| H::from_f32(v)).collect();
        let labels: Vec<u32> = (0..batch).map(|_| rng.below(classes) as u32).collect();
        let ks: Vec<f64> = (0..classes)
            .map(|_| (rng.unit() * batch as f64 * 4.0).round() / 4.0)
            .collect();
        case(&x, &labels, classes, &ks, &format!("{batch}x{classes}"));
        // masks: +∞ and −∞ logits where every k allows them (one of each, k_c in between)
        if batch >= 3 && classes >= 2 {
            let mut xm = x.clone();
            xm[0] = H::from_f32(f32::INFINITY);
            xm[classes] = H::from_f32(f32::NEG_INFINITY);
            let ks: Vec<f64> = vec![1.0; classes];
            let c = format!("{batch}x{classes} masks");
            for kern in all_kernels() {
                let k = ClassK::PerClass(&ks);
                let r = simd_half(kern, &xm, &labels, classes, k, 0.7, Reduction::Mean);
                assert!(r.is_ok(), "{c}: {r:?}");
                let want = core(&xm, &labels, classes, k, 0.7, Reduction::Mean);
                assert_eq!(r, want, "{c}");
                let f = rounded_f32(kern, &xm, &labels, classes, k, 0.7, Reduction::Mean);
                assert_eq!(r, f, "{c}");
            }
        }
    }
}

#[test]
fn bf16_multiclass_is_the_rounded_f32_loss_on_every_path() {
    shapes::<Bf16>(11);
}

#[test]
fn f16_multiclass_is_the_rounded_f32_loss_on_every_path() {
    shapes::<F16>(12);
}

fn refusals<H: Half + McStore<f32>>() {
    let (batch, classes) = (40usize, 6usize);
    let xf = data::<f32>(&mut Rng(5), batch * classes, 0);
    let x: Vec<H> = xf.iter().map(|&v| H::from_f32(v)).collect();
    let labels: Vec<u32> = (0..batch).map(|i| (i % classes) as u32).collect();
    let ks = vec![2.0f64; classes];
    let k = ClassK::PerClass(&ks);
    let red = Reduction::Mean;
    let mut bad = Vec::new();
    // NaN, a mask the class's k forbids (k_c = 0 with +∞), labels, τ, k, a tiny τ whose
    // gradient overflows f16 (the half check), shapes
    let mut xn = x.clone();
    xn[77] = H::from_bits(0x7fc1);
    bad.push((xn, labels.clone(), 0.7f32, ks.clone()));
    let mut xi = x.clone();
    xi[7] = H::from_f32(f32::INFINITY);
    let mut k0 = ks.clone();
    k0[1] = 0.0;
    bad.push((xi, labels.clone(), 0.7, k0));
    let mut lb = labels.clone();
    lb[3] = classes as u32;
    bad.push((x.clone(), lb, 0.7, ks.clone()));
    bad.push((x.clone(), labels.clone(), 0.0, ks.clone()));
    if H::OVERFLOW < 1e30 {
        // f16: gradient entries up to 2/τ = 2e5 do not fit
        bad.push((x.clone(), labels.clone(), 1e-5, ks.clone()));
    }
    let mut kb = ks.clone();
    kb[2] = batch as f64 + 1.0;
    bad.push((x.clone(), labels.clone(), 0.7, kb));
    bad.push((x[1..].to_vec(), labels.clone(), 0.7, ks.clone()));
    for (xb, lb, tau, kb) in &bad {
        let kk = ClassK::PerClass(kb);
        let want = core(xb, lb, classes, kk, *tau, red);
        assert!(want.is_err(), "tau {tau}");
        for kern in all_kernels() {
            let got = simd_half(kern, xb, lb, classes, kk, *tau, red);
            assert_eq!(got, want, "{} tau {tau}", kern.path().name());
        }
    }
    let _ = k;
    // λ of the wrong length
    let mut g = vec![H::from_bits(0x1234); x.len()];
    let mut lam = vec![-7.0; classes + 1];
    let r = Kernels::active().hypersimplex_loss_multiclass_lambda_half(
        &x,
        &labels,
        classes,
        ClassK::LabelCounts,
        0.7,
        red,
        Some(&mut g),
        &mut lam,
    );
    assert_eq!(r, Err(Error::LengthMismatch));
    assert!(g.iter().all(|h| h.to_bits() == 0x1234));
}

#[test]
fn half_multiclass_refusals_match_the_core_and_leave_outputs_untouched() {
    refusals::<Bf16>();
    refusals::<F16>();
}

type BinOut = Result<(u32, Vec<u16>), Error>;

fn simd_binary<H: Half + McStore<f32>>(
    kern: Kernels,
    x: &[H],
    t: &[H],
    k: f64,
    tau: f32,
) -> BinOut {
    let mut g = vec![H::from_bits(0x1234); x.len()];
    let mut scratch = Vec::new();
    let r = kern.hypersimplex_loss_half(x, t, k, tau, Some(&mut g), &mut scratch);
    let plain = kern.hypersimplex_loss_half(x, t, k, tau, None, &mut scratch);
    match r {
        Ok(v) => {
            assert_eq!(plain.map(f32::to_bits), Ok(v.to_bits()));
            Ok((v.to_bits(), g.iter().map(|h| h.to_bits()).collect()))
        }
        Err(e) => {
            assert!(
                g.iter().all(|h| h.to_bits() == 0x1234),
                "grad written on error"
            );
            Err(e)
        }
    }
}

fn binary_rounded_f32<H: Half>(kern: Kernels, x: &[H], t: &[H], k: f64, tau: f32) -> BinOut {
    let xw: Vec<f32> = x.iter().map(|h| h.to_f32()).collect();
    let tw: Vec<f32> = t.iter().map(|h| h.to_f32()).collect();
    let mut g = vec![0.0f32; x.len()];
    let v = kern.hypersimplex_loss(&xw, &tw, k, tau, Some(&mut g))?;
    Ok((
        v.to_bits(),
        g.iter().map(|&v| H::from_f32(v).to_bits()).collect(),
    ))
}

fn binary_core<H: Half>(x: &[H], t: &[H], k: f64, tau: f32) -> BinOut {
    let mut g = vec![H::ZERO; x.len()];
    let v = core_half::hypersimplex_loss_half(x, t, k, tau, Some(&mut g))?;
    Ok((v.to_bits(), g.iter().map(|h| h.to_bits()).collect()))
}

fn binary<H: Half + McStore<f32>>(seed: u64) {
    let mut rng = Rng(seed);
    for n in [1usize, 7, 16, 100, 2047, 5000, 70_000] {
        for scale in [1.0f32, 3e3] {
            let kind = rng.below(4);
            let x: Vec<H> = data::<f32>(&mut rng, n, kind)
                .iter()
                .map(|&v| H::from_f32(v * scale))
                .collect();
            let t: Vec<H> = (0..n)
                .map(|i| H::from_f32([0.0, 1.0, 0.25][(i * 7 + n) % 3]))
                .collect();
            let nf = n as f64;
            for k in [0.0, 1.0f64.min(nf), 0.37 * nf, nf] {
                for tau in [0.7f32, 0.05] {
                    let want = binary_core(&x, &t, k, tau);
                    for kern in all_kernels() {
                        let c =
                            format!("n {n} scale {scale} k {k} tau {tau} {}", kern.path().name());
                        let one = with_threads(1, || simd_binary(kern, &x, &t, k, tau));
                        let four = with_threads(4, || simd_binary(kern, &x, &t, k, tau));
                        assert_eq!(one, four, "{c}: thread counts differ");
                        assert_eq!(one, binary_rounded_f32(kern, &x, &t, k, tau), "{c}: f32");
                        assert_eq!(one, want, "{c}: core");
                    }
                }
            }
        }
    }
    // refusals: NaN in x, targets outside [0, 1] or NaN, k, τ, the f16 gradient, lengths
    let n = 300;
    let x: Vec<H> = data::<f32>(&mut rng, n, 0)
        .iter()
        .map(|&v| H::from_f32(v))
        .collect();
    let t: Vec<H> = (0..n).map(|i| H::from_f32((i % 2) as f32)).collect();
    let mut cases = Vec::new();
    let mut xn = x.clone();
    xn[100] = H::from_bits(0x7fc1);
    cases.push((xn, t.clone(), 3.0, 0.7f32));
    let mut tb = t.clone();
    tb[5] = H::from_f32(1.5);
    cases.push((x.clone(), tb, 3.0, 0.7));
    let mut tn = t.clone();
    tn[9] = H::from_bits(0x7fc1);
    cases.push((x.clone(), tn, 3.0, 0.7));
    cases.push((x.clone(), t.clone(), n as f64 + 1.0, 0.7));
    cases.push((x.clone(), t.clone(), 3.0, -1.0));
    if H::OVERFLOW < 1e30 {
        cases.push((x.clone(), t.clone(), 3.0, 1e-5));
    }
    cases.push((x.clone(), t[1..].to_vec(), 3.0, 0.7));
    for (xc, tc, k, tau) in &cases {
        let want = binary_core(xc, tc, *k, *tau);
        assert!(want.is_err(), "k {k} tau {tau}");
        for kern in all_kernels() {
            assert_eq!(simd_binary(kern, xc, tc, *k, *tau), want, "k {k} tau {tau}");
        }
    }
}

#[test]
fn half_binary_loss_is_the_rounded_f32_loss_on_every_path() {
    binary::<Bf16>(21);
    binary::<F16>(22);
}
