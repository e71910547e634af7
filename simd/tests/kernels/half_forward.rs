//! The half-precision forward (issue 15) of this crate against the `f32` forward of the
//! widened input (bit for bit, each output rounded once) on every path and thread count,
//! against an independent f64 bisection reference (one unit of the format plus the `f32`
//! solver's bound), and its refusals, which leave the output untouched. Long inputs stream the
//! 16-bit data through the working-set solver (checked with the `half_streams` hook), inputs
//! that mislead the sample fall back to a widened copy: both are covered.

use crate::common::*;
use hypersimplex::half::{Bf16, Half, F16};
use hypersimplex_simd::half::CHUNK;
use hypersimplex_simd::passes::{BLOCK, PAR_MIN};
use hypersimplex_simd::{Error, Kernels, Path, WORKING_SET_FROM};

const TAU: f32 = 0.7;

/// The format's spacing at 1 (so one unit in the last place on `[0.5, 1)` is half of it).
fn ulp_at_one<H: Half>() -> f64 {
    if H::OVERFLOW > 1e10 {
        1.0 / 128.0 // bf16
    } else {
        1.0 / 1024.0 // f16
    }
}

fn to_half<H: Half>(x: &[f32]) -> Vec<H> {
    x.iter().map(|&v| H::from_f32(v)).collect()
}

fn widen<H: Half>(x: &[H]) -> Vec<f32> {
    x.iter().map(|v| v.to_f32()).collect()
}

/// The `f32` forward of the widened `x` on `k`, rounded once.
fn rounded_f32<H: Half>(kern: Kernels, x: &[H], kk: f64, tau: f32) -> Result<Vec<H>, Error> {
    let w = widen(x);
    let mut y = vec![0.0f32; w.len()];
    kern.soft_binary_argmax(&w, kk, tau, &mut y)?;
    Ok(to_half(&y))
}

/// Half forward out of place and in place; both must agree.
fn half_forward<H: Half + Send + Sync>(
    kern: Kernels,
    x: &[H],
    kk: f64,
    tau: f32,
) -> Result<Vec<H>, Error> {
    let mut y = vec![H::from_bits(0x1234); x.len()];
    let mut scratch = Vec::new();
    let r = kern.soft_binary_argmax_half(x, kk, tau, &mut y, &mut scratch);
    let mut xi = x.to_vec();
    let ri = kern.soft_binary_argmax_half_in_place(&mut xi, kk, tau, &mut scratch);
    assert_eq!(r.is_ok(), ri.is_ok());
    match r {
        Ok(_) => {
            assert!(xi == y, "in place differs from out of place");
            Ok(y)
        }
        Err(e) => {
            assert!(
                y.iter().all(|v| v.to_bits() == 0x1234),
                "y written on error"
            );
            assert!(xi == x, "x written on error");
            Err(e)
        }
    }
}

/// Inputs: the shared kinds (smooth, ties, grid, wide), a ramp, and one that misleads the
/// strided sample (it sees only one value), which makes the working set fail.
fn inputs(n: usize, seed: u64) -> Vec<(&'static str, Vec<f32>)> {
    let mut rng = Rng(seed);
    let mut v: Vec<(&'static str, Vec<f32>)> = (0..4)
        .map(|kind| {
            (
                ["normal", "ties", "grid", "wide"][kind],
                data(&mut rng, n, kind),
            )
        })
        .collect();
    v.push((
        "ascending",
        (0..n).map(|i| i as f32 / n as f32 * 6.0 - 3.0).collect(),
    ));
    let stride = (n / (4 * (n as f64).sqrt() as usize).clamp(256, 16384)).max(1);
    v.push((
        "periodic",
        (0..n)
            .map(|i| {
                if i % stride == stride / 2 {
                    0.0
                } else {
                    2.0 + (i % 13) as f32 * 0.1
                }
            })
            .collect(),
    ));
    v
}

fn paths_agree<H: Half + Send + Sync>(n: usize, seed: u64) {
    let (mut streamed, mut misled) = (0, 0);
    for (name, xf) in inputs(n, seed) {
        let x: Vec<H> = to_half(&xf);
        let nf = n as f64;
        for kk in [0.0, 1.0, 0.3 * nf, 0.5 * nf + 0.25, nf - 1.0, nf] {
            let mut prev: Option<Vec<H>> = None;
            for kern in all_kernels() {
                let ctx = format!("{} {name} n={n} k={kk}", kern.path().name());
                let want = rounded_f32(kern, &x, kk, TAU).expect("f32 forward");
                let got = half_forward(kern, &x, kk, TAU).expect("half forward");
                assert!(got == want, "{ctx}: not the rounded f32 forward");
                if kern.half_streams(&x, kk, TAU) {
                    streamed += 1;
                    assert_ne!(kern.path(), Path::Scalar, "{ctx}");
                } else if name == "periodic" && kern.path() != Path::Scalar && kk > 0.0 {
                    misled += 1;
                }
                // the vector paths compute the same λ (the f32 contract), so the same bits
                if kern.path() != Path::Scalar {
                    if let Some(p) = &prev {
                        assert!(*p == got, "{ctx}: differs between vector paths");
                    }
                    prev = Some(got);
                }
            }
        }
    }
    if n >= WORKING_SET_FROM && all_kernels().iter().any(|k| k.path() != Path::Scalar) {
        assert!(streamed > 0, "n={n}: the streamed path never ran");
        assert!(misled > 0, "n={n}: the fallback never ran");
    }
}

/// Lengths around the working-set threshold, the chunk and the block sizes.
const LONG: [usize; 4] = [
    WORKING_SET_FROM - 1,
    WORKING_SET_FROM,
    BLOCK + CHUNK + 5,
    3 * BLOCK + 31,
];

#[test]
fn bf16_forward_is_the_rounded_f32_forward_on_every_path() {
    for (i, n) in LONG
        .into_iter()
        .chain([100, 129, 500, 2047, 2048, 3000])
        .enumerate()
    {
        paths_agree::<Bf16>(n, 11 + i as u64);
    }
}

#[test]
fn f16_forward_is_the_rounded_f32_forward_on_every_path() {
    for (i, n) in LONG
        .into_iter()
        .chain([100, 129, 500, 2047, 2048, 3000])
        .enumerate()
    {
        paths_agree::<F16>(n, 21 + i as u64);
    }
}

fn within_one_ulp<H: Half + Send + Sync>(seed: u64) {
    let n = 2 * BLOCK + 1000;
    for (name, xf) in inputs(n, seed) {
        if name == "wide" {
            continue; // |x/τ| ~ 10^4: the f32 solver's own error is above the format's ulp
        }
        let x: Vec<H> = to_half(&xf);
        let xw = widen(&x);
        for kk in [1.0, 0.3 * n as f64, n as f64 - 1.0] {
            let r = reference(&xw, kk, TAU).1;
            let mut y = vec![H::ZERO; n];
            hypersimplex_simd::half::soft_binary_argmax(&x, kk, TAU, &mut y).expect("forward");
            // one unit of the format (on [0, 1]: ulp_at_one/2 below 1) plus the f32 bound
            let m = xw
                .iter()
                .map(|v| (*v as f64 / TAU as f64).abs())
                .fold(1.0, f64::max);
            let tol = ulp_at_one::<H>() / 2.0 + 16.0 * f32::EPSILON as f64 * m;
            for (i, (a, b)) in y.iter().zip(&r).enumerate() {
                let d = (a.to_f32() as f64 - b).abs();
                assert!(
                    d <= tol,
                    "{name} k={kk} i={i}: {} vs {b} ({d:e})",
                    a.to_f32()
                );
            }
        }
    }
}

#[test]
fn half_forward_is_within_one_ulp_of_the_f64_reference() {
    within_one_ulp::<Bf16>(3);
    within_one_ulp::<F16>(4);
}

fn threads_agree<H: Half + Send + Sync>(seed: u64) {
    let n = PAR_MIN + 3 * BLOCK + 77;
    let xf = data::<f32>(&mut Rng(seed), n, 0);
    let x: Vec<H> = to_half(&xf);
    for kern in all_kernels() {
        let kk = 0.25 * n as f64;
        let one = with_threads(1, || half_forward(kern, &x, kk, TAU)).expect("1 thread");
        let four = with_threads(4, || half_forward(kern, &x, kk, TAU)).expect("4 threads");
        assert!(one == four, "{}: thread counts differ", kern.path().name());
        let want = rounded_f32(kern, &x, kk, TAU).expect("f32");
        assert!(one == want, "{}: not the rounded f32", kern.path().name());
        if kern.path() != Path::Scalar {
            assert!(kern.half_streams(&x, kk, TAU));
        }
    }
}

#[test]
fn half_forward_is_identical_for_every_thread_count() {
    threads_agree::<Bf16>(5);
    threads_agree::<F16>(6);
}

fn refusals<H: Half + Send + Sync>() {
    let n = BLOCK + 500;
    let xf = data::<f32>(&mut Rng(9), n, 0);
    for kern in all_kernels() {
        let name = kern.path().name();
        // NaN patterns inside and outside the sample: an error, nothing written
        for at in [0, 1, n / 2, n - 1] {
            let mut x: Vec<H> = to_half(&xf);
            x[at] = H::from_bits(0x7fc1);
            assert!(!kern.half_streams(&x, 10.0, TAU));
            let e = half_forward(kern, &x, 10.0, TAU);
            assert_eq!(e, Err(Error::NonFiniteInput), "{name} NaN at {at}");
        }
        // ±∞ are masks: the rounded f32 forward of the widened masks
        let mut x: Vec<H> = to_half(&xf);
        x[3] = H::from_f32(f32::INFINITY);
        x[n - 2] = H::from_f32(f32::NEG_INFINITY);
        let want = rounded_f32(kern, &x, 10.0, TAU).expect("f32 masks");
        assert!(half_forward(kern, &x, 10.0, TAU).expect("masks") == want);
        // invalid k and τ, a length mismatch
        let x: Vec<H> = to_half(&xf);
        for (kk, tau, e) in [
            (-1.0, TAU, Error::InvalidK),
            (n as f64 + 1.0, TAU, Error::InvalidK),
            (f64::NAN, TAU, Error::InvalidK),
            (5.0, 0.0, Error::InvalidTau),
            (5.0, f32::INFINITY, Error::InvalidTau),
        ] {
            assert!(!kern.half_streams(&x, kk, tau));
            assert_eq!(
                half_forward(kern, &x, kk, tau),
                Err(e),
                "{name} k={kk} τ={tau}"
            );
        }
        let mut short = vec![H::from_bits(0x1234); n - 1];
        let r = kern.soft_binary_argmax_half(&x, 5.0, TAU, &mut short, &mut Vec::new());
        assert_eq!(r.map(|_| ()), Err(Error::LengthMismatch));
        assert!(short.iter().all(|v| v.to_bits() == 0x1234));
    }
}

#[test]
fn half_forward_refusals_leave_outputs_untouched() {
    refusals::<Bf16>();
    refusals::<F16>();
}
