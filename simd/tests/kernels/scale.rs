//! Issue 13, item 1, on every kernel path: for `|x/τ|` from 1 to 1e6, each `y_i` is within 4ε
//! of the exact projection of the real numbers `x_i/τ` (the double-double reference of
//! `core/tests/exact`), so `|Σy − k| ≤ (n + 1)·4ε`: one vector (short, sampled start, working
//! set), in place, rows and columns, `f32` and `f64`, one and two threads; `f32` results are
//! bitwise the same for every thread count and in place.

use crate::exact;

use crate::common::*;
use hypersimplex_simd::{Element, RowK, WORKING_SET_FROM};

const ULPS: f64 = 4.0;

/// Checks one output against the reference; returns the errors in units of ε (the sum's
/// over `n + 1`).
fn check<T: Element>(what: &str, y: &[T], reference: &[f64], k: f64) -> (f64, f64) {
    let yf: Vec<f64> = y.iter().map(|v| v.to_f64()).collect();
    let (e, s) = exact::errors(&yf, reference, k, T::EPSILON.to_f64());
    let s = s / (y.len() as f64 + 1.0);
    assert!(
        e <= ULPS && s <= ULPS,
        "{what}: max|y−y*| = {e:.2}ε, |Σy−k| = {s:.2}·(n+1)ε"
    );
    (e, s)
}

/// Every path, one vector and in place, over the cases of length `n` (every `stride`-th).
fn vectors<T: Element>(name: &str, n: usize, stride: usize, threads: &[usize]) {
    let kernels = all_kernels();
    for &mag in exact::MAGS {
        let mut worst = (0.0f64, 0.0f64);
        for case in exact::cases(n, mag, n as u64).into_iter().step_by(stride) {
            let x: Vec<T> = case.x.iter().map(|&v| T::from_f64(v)).collect();
            let tau = T::from_f64(case.tau);
            let xr: Vec<f64> = x.iter().map(|v| v.to_f64()).collect();
            let reference = exact::project(&xr, tau.to_f64(), case.k);
            for &kern in &kernels {
                let mut first: Option<Vec<u64>> = None;
                for &t in threads {
                    let what = format!(
                        "{name} {} threads={t} n={n} |x/τ|≈{mag} τ={} k={}",
                        kern.path().name(),
                        case.tau,
                        case.k
                    );
                    let (y, yi) = with_threads(t, || {
                        let mut y = vec![T::ZERO; n];
                        kern.soft_binary_argmax(&x, case.k, tau, &mut y)
                            .expect("forward");
                        let mut yi = x.clone();
                        kern.soft_binary_argmax_in_place(&mut yi, case.k, tau)
                            .expect("in place");
                        (y, yi)
                    });
                    for out in [&y, &yi] {
                        let (e, s) = check(&what, out, &reference, case.k);
                        worst = (worst.0.max(e), worst.1.max(s));
                    }
                    if T::EPSILON.to_f64() > 1e-10 {
                        // f32: bitwise the same for every thread count, and in place
                        let b = bits(&y);
                        assert_eq!(bits(&yi), b, "{what}: in place differs");
                        match &first {
                            None => first = Some(b),
                            Some(f) => assert!(*f == b, "{what}: differs from one thread"),
                        }
                    }
                }
            }
        }
        println!(
            "{name} n={n} |x/τ|≈{mag:e}: max|y−y*| = {:.2}ε, max|Σy−k| = {:.2}·(n+1)ε (every path)",
            worst.0, worst.1
        );
    }
}

#[test]
fn f32_vectors_every_path() {
    for n in [37, 3000] {
        vectors::<f32>("f32", n, 1, &[1]);
    }
}

#[test]
fn f64_vectors_every_path() {
    for n in [37, 3000] {
        vectors::<f64>("f64", n, 1, &[1]);
    }
}

#[test]
fn working_set_every_path_and_thread_count() {
    let n = WORKING_SET_FROM + 1000;
    vectors::<f32>("f32", n, 17, &[1, 2]);
    vectors::<f64>("f64", n, 17, &[1, 2]);
}

/// Rows and columns: each line against its own reference.
fn lines<T: Element>(name: &str) {
    for &mag in exact::MAGS {
        let cases = exact::cases(3 * 700, mag, 5).into_iter().step_by(5);
        line_cases::<T>(
            &format!("{name} |x/τ|≈{mag}"),
            (3, 700),
            cases,
            exact::project,
        );
    }
}

/// The body of [`lines`]: every case as a `rows × n` matrix of rows and an `n × rows` one of
/// columns, each line against `reference(x, τ, k)`.
fn line_cases<T: Element>(
    name: &str,
    (rows, n): (usize, usize),
    cases: impl Iterator<Item = exact::Case>,
    reference: fn(&[f64], f64, f64) -> Vec<f64>,
) {
    for case in cases {
        let x: Vec<T> = case.x.iter().map(|&v| T::from_f64(v)).collect();
        let tau = T::from_f64(case.tau);
        let k = (case.k / rows as f64).min(n as f64);
        for kern in all_kernels() {
            let what = format!("{name} {} τ={:e} k={k}", kern.path().name(), case.tau);
            let mut y = vec![T::ZERO; rows * n];
            kern.soft_binary_argmax_rows(&x, rows, n, RowK::All(k), tau, &mut y)
                .expect("rows");
            for (xr, yr) in x.chunks(n).zip(y.chunks(n)) {
                let xf: Vec<f64> = xr.iter().map(|v| v.to_f64()).collect();
                check(
                    &format!("rows {what}"),
                    yr,
                    &reference(&xf, tau.to_f64(), k),
                    k,
                );
            }
            // the same matrix read as n × rows: columns of length n
            let mut yc = vec![T::ZERO; rows * n];
            kern.soft_binary_argmax_columns(&x, n, rows, RowK::All(k), tau, &mut yc)
                .expect("columns");
            for c in 0..rows {
                let xc: Vec<f64> = x.iter().skip(c).step_by(rows).map(|v| v.to_f64()).collect();
                let yc1: Vec<T> = yc.iter().skip(c).step_by(rows).copied().collect();
                let want = reference(&xc, tau.to_f64(), k);
                check(&format!("columns {what}"), &yc1, &want, k);
            }
        }
    }
}

#[test]
fn rows_and_columns_every_path() {
    lines::<f32>("f32");
    lines::<f64>("f64");
}

#[test]
fn masks_every_path() {
    let n = 3000;
    for &mag in &[1.0, 1e4, 1e6] {
        for case in exact::cases(n, mag, 9).into_iter().step_by(3) {
            let mut x: Vec<f32> = case.x.iter().map(|&v| v as f32).collect();
            x[10] = f32::NEG_INFINITY;
            x[20] = f32::INFINITY;
            let k = (case.k + 1.0).min(n as f64 - 1.0);
            let tau = case.tau as f32;
            let xr: Vec<f64> = x.iter().map(|&v| v as f64).collect();
            let reference = exact::project(&xr, tau as f64, k);
            for kern in all_kernels() {
                let mut y = vec![0.0f32; n];
                kern.soft_binary_argmax(&x, k, tau, &mut y).expect("masked");
                check(
                    &format!("masked {} |x/τ|≈{mag}", kern.path().name()),
                    &y,
                    &reference,
                    k,
                );
            }
        }
    }
}

/// The losses on every path (issue 13): the binary loss and the multiclass loss (value and
/// gradient) against the exact loss of the exact projection (`exact::loss_ref`), with the
/// bounds of `core/tests/scale_losses.rs`; `f32` results bitwise the same on every path and
/// thread count.
fn losses<T: Element>(name: &str) {
    for &mag in exact::MAGS {
        let cases = exact::cases(600, mag, 13)
            .into_iter()
            .enumerate()
            .step_by(2);
        let worst = loss_cases::<T>(name, &format!("|x/τ|≈{mag}"), cases, 1.0);
        println!(
            "{name} losses |x/τ|≈{mag:e}: loss {:.2}, gradient {:.2} (units of core/tests/scale_losses.rs, every path)",
            worst.0, worst.1
        );
    }
}

/// The body of [`losses`] over the `(index, case)` pairs (`n` = 600, 3 classes): the worst
/// (loss, gradient) errors. The reference takes `x` and τ times `pre` (1, or `2^-8` for huge τ:
/// exact, so the exact loss is the same and its own shift cannot overflow).
fn loss_cases<T: Element>(
    name: &str,
    label: &str,
    cases: impl Iterator<Item = (usize, exact::Case)>,
    pre: f64,
) -> (f64, f64) {
    let eps = T::EPSILON.to_f64();
    let p = pre;
    let (n, classes) = (600usize, 3usize);
    let mut worst = (0.0f64, 0.0f64);
    for (i, case) in cases {
        let x: Vec<T> = case.x.iter().map(|&v| T::from_f64(v)).collect();
        let xr: Vec<f64> = x.iter().map(|v| v.to_f64() * p).collect();
        let tau = T::from_f64(case.tau);
        let tf: Vec<f64> = (0..n)
            .map(|j| ((j * 7 + i) % 3 == 0) as u8 as f64)
            .collect();
        let t: Vec<T> = tf.iter().map(|&v| T::from_f64(v)).collect();
        let r = exact::loss_ref(&xr, &tf, case.tau * p, case.k, eps);
        let batch = n / classes;
        let lg: Vec<T> = (0..n)
            .map(|j| x[(j / classes + 11 * (j % classes)) % n])
            .collect();
        let labels: Vec<u32> = (0..batch).map(|b| ((b * 5 + i) % classes) as u32).collect();
        let kc = (case.k / classes as f64).min(batch as f64);
        let mut first: Option<Vec<u64>> = None;
        for kern in all_kernels() {
            for threads in [1, 2] {
                let what = format!(
                    "{name} {} threads={threads} {label} τ={:e} k={}",
                    kern.path().name(),
                    case.tau,
                    case.k
                );
                let (l, g, lm, gm) = with_threads(threads, || {
                    let mut g = vec![T::ZERO; n];
                    let l = kern
                        .hypersimplex_loss(&x, &t, case.k, tau, Some(&mut g))
                        .expect("loss");
                    let mut gm = vec![T::ZERO; n];
                    let lm = kern
                        .hypersimplex_loss_multiclass(
                            &lg,
                            &labels,
                            classes,
                            hypersimplex::ClassK::Fixed(kc),
                            tau,
                            hypersimplex::Reduction::Sum,
                            Some(&mut gm),
                        )
                        .expect("multiclass");
                    (l, g, lm, gm)
                });
                let le = exact::loss_error(l.to_f64(), r.half_sq, r.sum_abs_r, eps);
                let gf: Vec<f64> = g.iter().map(|v| v.to_f64()).collect();
                let mut ge = if r.ambiguous {
                    0.0
                } else {
                    exact::grad_error_tau(&gf, &r.g, case.tau, eps)
                };
                let (mut want, mut abs_r) = (0.0, 0.0);
                for c in 0..classes {
                    let col: Vec<f64> = lg
                        .iter()
                        .skip(c)
                        .step_by(classes)
                        .map(|v| v.to_f64() * p)
                        .collect();
                    let tc: Vec<f64> = labels
                        .iter()
                        .map(|&l| (l as usize == c) as u8 as f64)
                        .collect();
                    let rc = exact::loss_ref(&col, &tc, case.tau * p, kc, eps);
                    want += rc.half_sq;
                    abs_r += rc.sum_abs_r;
                    if !rc.ambiguous {
                        let gc: Vec<f64> = gm
                            .iter()
                            .skip(c)
                            .step_by(classes)
                            .map(|v| v.to_f64())
                            .collect();
                        ge = ge.max(exact::grad_error_tau(&gc, &rc.g, case.tau, eps));
                    }
                }
                let le = le.max(exact::loss_error(lm.to_f64(), want, abs_r, eps));
                assert!(
                    le <= 6.0 && ge <= 12.0,
                    "{what}: loss {le:.2}, gradient {ge:.2}"
                );
                worst = (worst.0.max(le), worst.1.max(ge));
                if eps > 1e-10 {
                    let mut b = bits(&g);
                    b.extend(bits(&gm));
                    b.push(l.to_f64().to_bits());
                    b.push(lm.to_f64().to_bits());
                    match &first {
                        None => first = Some(b),
                        Some(f) => assert!(*f == b, "{what}: differs from the first path"),
                    }
                }
            }
        }
    }
    worst
}

#[test]
fn losses_every_path() {
    losses::<f32>("f32");
    losses::<f64>("f64");
}

/// Beyond `|x/τ| ≈ 1/ε` on every path: the exact answers of `exact::beyond_one_over_eps`.
fn beyond<T: Element>(mags: &[f64], below: impl Fn(T) -> T) {
    for n in [9, 3000, WORKING_SET_FROM + 100] {
        let cases = exact::beyond_one_over_eps(
            n,
            mags,
            |v| T::from_f64(v).to_f64(),
            |v| below(T::from_f64(v)).to_f64(),
        );
        for (x, tau, k, want) in cases {
            let x: Vec<T> = x.iter().map(|&v| T::from_f64(v)).collect();
            for kern in all_kernels() {
                let mut y = vec![T::ZERO; n];
                kern.soft_binary_argmax(&x, k, T::from_f64(tau), &mut y)
                    .expect("forward");
                let mut yi = x.clone();
                kern.soft_binary_argmax_in_place(&mut yi, k, T::from_f64(tau))
                    .expect("in place");
                for out in [&y, &yi] {
                    check(
                        &format!(
                            "beyond {} n={n} x0={:e} τ={tau:e} k={k}",
                            kern.path().name(),
                            x[0].to_f64()
                        ),
                        out,
                        &want,
                        k,
                    );
                }
            }
        }
    }
}

#[test]
fn beyond_one_over_eps_every_path() {
    beyond::<f32>(&[1e8, 1e20, 1e37], |v| {
        f32::from_bits(if v > 0.0 {
            v.to_bits() - 1
        } else {
            v.to_bits() + 1
        })
    });
    beyond::<f64>(&[1e17, 1e100, 1e300], |v| {
        f64::from_bits(if v > 0.0 {
            v.to_bits() - 1
        } else {
            v.to_bits() + 1
        })
    });
}

/// The half-precision forward at every scale (issue 13) on every path: bitwise the `f32`
/// forward of the widened input, rounded (where λ is large it runs that forward whole, which
/// solves again in a shifted frame), so within 4ε₃₂ of the exact projection before rounding.
#[test]
fn half_forward_every_scale_and_path() {
    for n in [37, 3000, WORKING_SET_FROM + 100] {
        for &mag in &[1.0, 1e2, 1e4, 1e6] {
            let cases = exact::cases(n, mag, 5).into_iter().step_by(5);
            half_forward_cases(&format!("|x/τ|≈{mag}"), cases, exact::project);
        }
    }
}

/// The body of [`half_forward_every_scale_and_path`]: each case as bf16 data, on every path,
/// out of place and in place, against the rounded `f32` forward, which is checked against
/// `reference(x, τ, k)`.
fn half_forward_cases(
    label: &str,
    cases: impl Iterator<Item = exact::Case>,
    reference: fn(&[f64], f64, f64) -> Vec<f64>,
) {
    use hypersimplex::half::{Bf16, Half};
    for case in cases {
        let n = case.x.len();
        let xh: Vec<Bf16> = case.x.iter().map(|&v| Bf16::from_f32(v as f32)).collect();
        let xw: Vec<f32> = xh.iter().map(|v| v.to_f32()).collect();
        if xw.iter().any(|v| !v.is_finite()) {
            continue; // rounded up past f32::MAX
        }
        let tau = case.tau as f32;
        for kern in all_kernels() {
            let mut yf = vec![0.0f32; n];
            kern.soft_binary_argmax(&xw, case.k, tau, &mut yf).unwrap();
            let want: Vec<Bf16> = yf.iter().map(|&v| Bf16::from_f32(v)).collect();
            let mut y = vec![Bf16::default(); n];
            let mut scratch = Vec::new();
            kern.soft_binary_argmax_half(&xh, case.k, tau, &mut y, &mut scratch)
                .unwrap();
            let what = format!(
                "bf16 {} n={n} {label} τ={:e} k={}",
                kern.path().name(),
                case.tau,
                case.k
            );
            assert!(y == want, "{what}: not the rounded f32 forward");
            let mut yi = xh.clone();
            kern.soft_binary_argmax_half_in_place(&mut yi, case.k, tau, &mut scratch)
                .unwrap();
            assert!(yi == want, "{what}: in place");
            let xr: Vec<f64> = xw.iter().map(|&v| v as f64).collect();
            check(&what, &yf, &reference(&xr, case.tau, case.k), case.k);
        }
    }
}

/// τ above `MAX/64` (issue 13: τ = MAX/60, MAX/8, MAX/2, MAX, `exact::huge_tau_cases`): every
/// path, one vector (short, sampled start, working set) and in place, one and two threads
/// (`f32` bitwise the same), with `±∞` masks where the sentinels fit (τ = MAX/60), rows and
/// columns, the binary and multiclass losses, and the half forward.
fn huge_tau_vectors<T: Element>(name: &str) {
    let kernels = all_kernels();
    let mut worst = 0.0f64;
    for (n, stride) in [(37, 1), (3000, 1), (WORKING_SET_FROM + 1000, 7)] {
        for case in exact::huge_tau_cases(n, T::MAX.to_f64(), n as u64)
            .into_iter()
            .step_by(stride)
        {
            for masks in [false, case.mag > 30.0] {
                let mut x: Vec<T> = case.x.iter().map(|&v| T::from_f64(v)).collect();
                let mut k = case.k;
                if masks {
                    x[1] = T::from_f64(f64::NEG_INFINITY);
                    x[3] = T::from_f64(f64::INFINITY);
                    k = (k + 1.0).min(n as f64 - 1.0);
                }
                let tau = T::from_f64(case.tau);
                let xr: Vec<f64> = x.iter().map(|v| v.to_f64()).collect();
                let reference = exact::project_huge(&xr, tau.to_f64(), k);
                let mut first: Option<Vec<u64>> = None;
                for &kern in &kernels {
                    for t in [1, 2] {
                        let what = format!(
                            "{name} {} threads={t} n={n} τ={:e} x/τ≈{} k={k} masks={masks}",
                            kern.path().name(),
                            case.tau,
                            case.mag
                        );
                        let (y, yi, lam) = with_threads(t, || {
                            let mut y = vec![T::ZERO; n];
                            let p = kern
                                .soft_binary_argmax(&x, k, tau, &mut y)
                                .expect("forward");
                            let mut yi = x.clone();
                            kern.soft_binary_argmax_in_place(&mut yi, k, tau)
                                .expect("in place");
                            (y, yi, p.lambda)
                        });
                        for out in [&y, &yi] {
                            worst = worst.max(check(&what, out, &reference, k).0);
                        }
                        if T::EPSILON.to_f64() > 1e-10 {
                            let mut b = bits(&y);
                            assert_eq!(bits(&yi), b, "{what}: in place differs");
                            b.push(lam.to_bits()); // the reported λ too
                            match &first {
                                None => first = Some(b),
                                Some(f) => assert!(*f == b, "{what}: differs from the first"),
                            }
                        }
                    }
                }
            }
        }
    }
    println!("{name} τ > MAX/64, every path: max|y−y*| = {worst:.2}ε");
}

#[test]
fn huge_tau_vectors_every_path() {
    huge_tau_vectors::<f32>("f32");
    huge_tau_vectors::<f64>("f64");
}

fn huge_tau_lines<T: Element>(name: &str) {
    // 3 × 700, and 40 rows of 37 (f32: the short-row solver)
    for (rows, n) in [(3, 700), (40, 37)] {
        let cases = exact::huge_tau_cases(rows * n, T::MAX.to_f64(), 5)
            .into_iter()
            .step_by(3);
        let name = format!("{name} τ > MAX/64");
        line_cases::<T>(&name, (rows, n), cases, exact::project_huge);
    }
}

#[test]
fn huge_tau_rows_and_columns_every_path() {
    huge_tau_lines::<f32>("f32");
    huge_tau_lines::<f64>("f64");
}

/// The losses for τ > MAX/64 on every path: the binary and multiclass loss values against the
/// exact loss (`exact::loss_ref` on `x`, τ scaled by `2^-8`), the gradients against the exact
/// gradient (bounds of `core/tests/scale_losses.rs`), `f32` bitwise the same on every path.
fn huge_tau_losses<T: Element>(name: &str) {
    let cases = exact::huge_tau_cases(600, T::MAX.to_f64(), 13)
        .into_iter()
        .enumerate();
    let worst = loss_cases::<T>(name, "τ > MAX/64", cases, 1.0 / 256.0);
    println!(
        "{name} losses τ > MAX/64: loss {:.2}, gradient {:.2} (every path)",
        worst.0, worst.1
    );
}

#[test]
fn huge_tau_losses_every_path() {
    huge_tau_losses::<f32>("f32");
    huge_tau_losses::<f64>("f64");
}

/// The half forward for τ > MAX/64 (bf16 reaches `f32`'s range): bitwise the rounded `f32`
/// forward of the widened input, which is within 4ε₃₂ of the exact projection.
#[test]
fn huge_tau_half_forward_every_path() {
    for n in [37, 3000, WORKING_SET_FROM + 100] {
        let cases = exact::huge_tau_cases(n, f32::MAX as f64, 5)
            .into_iter()
            .step_by(3);
        half_forward_cases("τ > MAX/64", cases, exact::project_huge);
    }
}
