//! The half-precision VJP (issue 15) of this crate against the `f32` VJP of the widened `y`
//! and `g` (bit for bit, each output rounded once), on every path, with 1 and 2 threads, out of
//! place, in place and row-wise, at lengths around the vector width, the short-row bound, the
//! block and the parallel threshold; its refusals (the `f32` VJP's errors, and `ScaleOverflow`
//! for an output too large for the format), which leave the output untouched; and one
//! comparison with an independent `f64` reference.

use crate::common::*;
use hypersimplex::half::{Bf16, Half, F16};
use hypersimplex_simd::passes::{BLOCK, PAR_MIN};
use hypersimplex_simd::{Error, Kernels};

const SENTINEL: u16 = 0x1234;

fn to_half<H: Half>(x: &[f32]) -> Vec<H> {
    x.iter().map(|&v| H::from_f32(v)).collect()
}

fn widen<H: Half>(x: &[H]) -> Vec<f32> {
    x.iter().map(|v| v.to_f32()).collect()
}

/// What the half VJP must return: the `f32` VJP of the widened data, rounded once, or its
/// error, or `ScaleOverflow` where an `f32` output rounds to infinity in `H`.
fn expected<H: Half>(kern: Kernels, y: &[H], g: &[H], tau: f32) -> Result<Vec<H>, Error> {
    let (yw, gw) = (widen(y), widen(g));
    let mut o = vec![0.0f32; y.len()];
    kern.soft_binary_argmax_vjp(&yw, &gw, tau, &mut o)?;
    if o.iter().any(|v| v.abs() >= H::OVERFLOW) {
        return Err(Error::ScaleOverflow);
    }
    Ok(to_half(&o))
}

/// The half VJP out of place and in place (which must agree, and leave the output untouched
/// on error).
fn half_vjp<H: Half + Send + Sync>(
    kern: Kernels,
    y: &[H],
    g: &[H],
    tau: f32,
) -> Result<Vec<H>, Error> {
    let mut o = vec![H::from_bits(SENTINEL); y.len()];
    let r = kern.soft_binary_argmax_vjp_half(y, g, tau, &mut o);
    let mut gi = g.to_vec();
    let ri = kern.soft_binary_argmax_vjp_half_in_place(y, &mut gi, tau);
    assert_eq!(r, ri, "in place and out of place disagree");
    match r {
        Ok(()) => {
            assert!(gi == o, "in place differs from out of place");
            Ok(o)
        }
        Err(e) => {
            assert!(
                o.iter().all(|v| v.to_bits() == SENTINEL),
                "written on error"
            );
            assert!(gi == g, "g written on error");
            Err(e)
        }
    }
}

fn check<H: Half + Send + Sync>(kern: Kernels, y: &[H], g: &[H], tau: f32, what: &str) {
    let want = expected(kern, y, g, tau);
    let got = half_vjp(kern, y, g, tau);
    match (&want, &got) {
        (Ok(w), Ok(o)) => {
            let bad = w
                .iter()
                .zip(o)
                .position(|(a, b)| a.to_bits() != b.to_bits());
            assert!(
                bad.is_none(),
                "{what} {:?} n {}: first difference at {:?}",
                kern.path(),
                y.len(),
                bad.map(|i| (i, y[i].to_f32(), g[i].to_f32(), w[i], o[i]))
            );
        }
        _ => assert_eq!(
            want.clone().map(|_| ()),
            got.map(|_| ()),
            "{what} n {}",
            y.len()
        ),
    }
}

/// `(y, g)`: `y` with exact 0s and 1s and free values (ties of the free set with the bounds),
/// `g` Gaussian times `scale`, with repeated values.
fn case<H: Half>(n: usize, seed: u64, scale: f64) -> (Vec<H>, Vec<H>) {
    let mut rng = Rng(seed);
    let y: Vec<f32> = (0..n)
        .map(|_| match rng.below(4) {
            0 => 0.0,
            1 => 1.0,
            _ => rng.unit() as f32,
        })
        .collect();
    let g: Vec<f32> = (0..n)
        .map(|i| match i % 11 {
            3 => 0.5,
            // scale < 0: magnitudes over many binades (2^-14..2^14 for f16, 2^-60..2^60
            // otherwise), so that the f64 free-set sum rounds and its order shows
            _ if scale < 0.0 => {
                let e = if H::OVERFLOW < 1e30 { 28 } else { 120 };
                let p = rng.below(e + 1) as i32 - e as i32 / 2;
                (rng.normal() * 2f64.powi(p)) as f32
            }
            _ => (rng.normal() * scale) as f32,
        })
        .collect();
    (to_half(&y), to_half(&g))
}

const LENGTHS: [usize; 22] = [
    0,
    1,
    7,
    8,
    9,
    15,
    16,
    17,
    31,
    32,
    33,
    34,
    47,
    48,
    49,
    63,
    64,
    65,
    1000,
    4099,
    BLOCK,
    2 * BLOCK + 37,
];

fn agrees<H: Half + Send + Sync>(seed: u64) {
    for kern in all_kernels() {
        for t in [1, 2] {
            with_threads(t, || {
                for (j, &n) in LENGTHS.iter().enumerate() {
                    for (tau, scale) in [(0.7f32, 1.0), (1.0, 100.0), (0.01, 3.0), (1.0, -1.0)] {
                        let (y, g) = case::<H>(n, seed + j as u64, scale);
                        check(kern, &y, &g, tau, "random");
                    }
                }
            });
        }
    }
}

#[test]
fn bf16_vjp_is_the_rounded_f32_vjp_on_every_path() {
    agrees::<Bf16>(1);
}

#[test]
fn f16_vjp_is_the_rounded_f32_vjp_on_every_path() {
    agrees::<F16>(2);
}

/// Long vectors split over the pool: 1 and 2 threads give the `f32` VJP's bits.
fn parallel<H: Half + Send + Sync>(seed: u64) {
    let (y, g) = case::<H>(PAR_MIN + 37, seed, 1.0);
    for kern in all_kernels() {
        let one = with_threads(1, || half_vjp(kern, &y, &g, 0.7)).expect("1 thread");
        let two = with_threads(2, || half_vjp(kern, &y, &g, 0.7)).expect("2 threads");
        assert!(one == two, "{:?}: thread counts disagree", kern.path());
        with_threads(2, || check(kern, &y, &g, 0.7, "parallel"));
    }
}

#[test]
fn half_vjp_is_identical_for_every_thread_count() {
    parallel::<Bf16>(3);
    parallel::<F16>(4);
}

/// Row-wise, out of place and in place, against each row's rounded `f32` VJP.
fn rows<H: Half + Send + Sync>(seed: u64) {
    for kern in all_kernels() {
        for (rows, n) in [(5usize, 7usize), (3, 32), (4, 33), (3, 100), (2, BLOCK + 5)] {
            let (y, g) = case::<H>(rows * n, seed + n as u64, 2.0);
            let mut want = Vec::new();
            for (yr, gr) in y.chunks(n).zip(g.chunks(n)) {
                want.extend(expected(kern, yr, gr, 0.7).expect("valid"));
            }
            let mut o = vec![H::ZERO; y.len()];
            kern.soft_binary_argmax_vjp_half_rows(&y, &g, n, 0.7, &mut o)
                .expect("valid");
            assert!(o == want, "{:?} rows {rows}x{n}", kern.path());
            let mut gi = g.clone();
            kern.soft_binary_argmax_vjp_half_rows_in_place(&y, &mut gi, n, 0.7)
                .expect("valid");
            assert!(gi == want, "{:?} rows in place {rows}x{n}", kern.path());
            // one bad row refuses the whole batch, nothing written
            if rows > 1 {
                let mut gb = g.clone();
                gb[n + 1] = H::from_f32(f32::NAN);
                let mut o = vec![H::from_bits(SENTINEL); y.len()];
                let r = kern.soft_binary_argmax_vjp_half_rows(&y, &gb, n, 0.7, &mut o);
                assert_eq!(r, Err(Error::NonFiniteInput));
                assert!(o.iter().all(|v| v.to_bits() == SENTINEL));
                let r = kern.soft_binary_argmax_vjp_half_rows(&y, &g, n + 1, 0.7, &mut o);
                assert_eq!(r, Err(Error::LengthMismatch));
            }
        }
    }
}

#[test]
fn half_vjp_rows_are_the_rounded_f32_rows() {
    rows::<Bf16>(5);
    rows::<F16>(6);
}

/// Edge values: NaN and ±∞ in `y` or `g` (`NonFiniteInput`), invalid τ, gradients beyond the
/// kernels' bound (the checking pass: outputs that fit, outputs that overflow the format but
/// not `f32`, outputs that overflow `f32`), every `y` at 0 or 1, mismatched lengths.
fn edges<H: Half + Send + Sync>(seed: u64) {
    let max = if H::OVERFLOW > 1e30 {
        3.0e38f32
    } else {
        60000.0
    };
    for kern in all_kernels() {
        for n in [9usize, 33, 100, 1000] {
            let (y, g) = case::<H>(n, seed + n as u64, 1.0);
            for bad in [f32::NAN, f32::INFINITY, -f32::INFINITY] {
                for i in [0, n / 2, n - 1] {
                    let mut gb = g.clone();
                    gb[i] = H::from_f32(bad);
                    check(kern, &y, &gb, 0.7, "bad g");
                    assert_eq!(half_vjp(kern, &y, &gb, 0.7), Err(Error::NonFiniteInput));
                    let mut yb = y.clone();
                    yb[i] = H::from_f32(bad);
                    check(kern, &yb, &g, 0.7, "bad y");
                    assert_eq!(half_vjp(kern, &yb, &g, 0.7), Err(Error::NonFiniteInput));
                }
            }
            for tau in [0.0f32, -1.0, f32::NAN, f32::INFINITY, 1e-45] {
                check(kern, &y, &g, tau, "tau");
                assert!(half_vjp(kern, &y, &g, tau).is_err());
            }
            // large gradients: all free, alternating ±big (mean small): fits; then scaled
            // until the format (and later f32) overflows
            let yf: Vec<H> = (0..n)
                .map(|i| H::from_f32(0.25 + (i % 3) as f32 * 0.25))
                .collect();
            for (big, tau) in [
                (max / 8.0, 1.0f32),
                (max / 2.0, 1.0),
                (max, 1.0),
                (max / 2.0, 0.5),
                (max, 0.25),
                (max / 64.0, 1.0 / 16.0),
            ] {
                let gb: Vec<H> = (0..n)
                    .map(|i| H::from_f32(if i % 2 == 0 { big } else { -big * 0.75 }))
                    .collect();
                check(kern, &yf, &gb, tau, "large g");
            }
            let mut gb = g.clone();
            gb[n / 3] = H::from_f32(max);
            check(kern, &y, &gb, 1.0, "one large g");
            // nothing free: exact zeros whatever g holds
            let y01: Vec<H> = (0..n).map(|i| H::from_f32((i % 2) as f32)).collect();
            check(kern, &y01, &g, 0.7, "no free");
            let o = half_vjp(kern, &y01, &g, 0.7).expect("valid");
            assert!(o.iter().all(|v| v.to_bits() == 0));
            let mut o = vec![H::from_bits(SENTINEL); n];
            let r = kern.soft_binary_argmax_vjp_half(&y, &g[1..], 0.7, &mut o[1..]);
            assert_eq!(r, Err(Error::LengthMismatch));
            let r = kern.soft_binary_argmax_vjp_half(&y, &g, 0.7, &mut o[1..]);
            assert_eq!(r, Err(Error::LengthMismatch));
            assert!(o.iter().all(|v| v.to_bits() == SENTINEL));
        }
        // empty inputs (no rows, or rows of no elements): τ checked as the f32 functions
        // check it (the fuzzer's `half` target found rows of 0 elements accepting τ = 0)
        for tau in [0.0f32, -1.0, f32::NAN, f32::INFINITY, 0.7] {
            let e: [H; 0] = [];
            let mut o: [H; 0] = [];
            let want = kern.soft_binary_argmax_vjp_rows(&[0f32; 0], &[], 0, 0, tau, &mut []);
            for n in [0usize, 3] {
                let r = kern.soft_binary_argmax_vjp_half_rows(&e, &e, n, tau, &mut o);
                assert_eq!(r, want, "rows of {n}, tau {tau}");
                let mut g: [H; 0] = [];
                let r = kern.soft_binary_argmax_vjp_half_rows_in_place(&e, &mut g, n, tau);
                assert_eq!(r, want, "in place, rows of {n}, tau {tau}");
            }
            let r = kern.soft_binary_argmax_vjp_half(&e, &e, tau, &mut o);
            assert_eq!(
                r,
                kern.soft_binary_argmax_vjp(&[0f32; 0], &[], tau, &mut [])
            );
        }
    }
}

/// A free-set sum whose value depends on its order: `2^60 + 1 − 2^60` in sequence is 0, in
/// the kernels' lanes (where `g_0` and `g_16` share a lane on every vector width) it is 1, so
/// the mean differs; every path must give the `f32` VJP's bits (f16 cannot hold 2^60: its
/// range gives `2^15 + 2^-9 − 2^15`, whose f64 sum is exact, as a plain check).
fn order<H: Half + Send + Sync>() {
    let (big, small) = if H::OVERFLOW > 1e30 {
        (2f32.powi(60), 1.0f32)
    } else {
        (2f32.powi(15), 2f32.powi(-9))
    };
    for n in [20usize, 24, 32, 40, 100, 1000] {
        let y: Vec<H> = vec![H::from_f32(0.5); n];
        let mut gf = vec![0.0f32; n];
        gf[0] = big;
        gf[1] = small;
        gf[16] = -big;
        let g: Vec<H> = to_half(&gf);
        for kern in all_kernels() {
            check(kern, &y, &g, 1.0, "order");
        }
    }
}

#[test]
fn half_vjp_sums_in_the_f32_vjp_order() {
    order::<Bf16>();
    order::<F16>();
}

#[test]
fn half_vjp_edges_and_refusals_match_the_f32_vjp() {
    edges::<Bf16>(7);
    edges::<F16>(8);
}

/// The spacing of `H` at `|v|` (normal range; the subnormal spacing below it).
fn ulp<H: Half>(v: f64) -> f64 {
    let (p, min_exp) = if H::OVERFLOW > 1e30 {
        (8, -126)
    } else {
        (11, -14)
    };
    let e = (v.abs().log2().floor() as i32).max(min_exp);
    2f64.powi(e - p + 1)
}

/// Against `(widen(g_i) − mean)/τ` in `f64` with the exact mean: within half an ulp of the
/// format plus the `f32` computation's few roundings.
fn within_half_ulp<H: Half + Send + Sync>(seed: u64) {
    let kern = Kernels::active();
    for n in [40usize, 5000, BLOCK + 100] {
        let (y, g) = case::<H>(n, seed + n as u64, 3.0);
        let tau = 0.3f32;
        let o = half_vjp(kern, &y, &g, tau).expect("valid");
        let free: Vec<bool> = y
            .iter()
            .map(|v| v.to_f32() > 0.0 && v.to_f32() < 1.0)
            .collect();
        let (mut sum, mut count) = (0.0f64, 0usize);
        for (&f, gi) in free.iter().zip(&g) {
            if f {
                sum += gi.to_f32() as f64;
                count += 1;
            }
        }
        let mean = sum / count.max(1) as f64;
        let mut worst = 0.0f64;
        for ((&f, gi), oi) in free.iter().zip(&g).zip(&o) {
            let exact = if f {
                (gi.to_f32() as f64 - mean) / tau as f64
            } else {
                0.0
            };
            let got = oi.to_f32() as f64;
            let f32_err =
                4.0 * f32::EPSILON as f64 * (gi.to_f32().abs() as f64 + mean.abs()) / tau as f64;
            let err = (got - exact).abs();
            assert!(
                err <= 0.5 * ulp::<H>(exact) + f32_err,
                "n {n}: {got} vs {exact}"
            );
            if exact != 0.0 {
                worst = worst.max((err - f32_err).max(0.0) / ulp::<H>(exact));
            }
        }
        assert!(worst <= 0.5, "worst {worst} ulp");
    }
}

#[test]
fn half_vjp_is_within_half_an_ulp_of_the_f64_reference() {
    within_half_ulp::<Bf16>(9);
    within_half_ulp::<F16>(10);
}

/// The fallback of the paths without half kernels: the core crate's scalar half VJP is bitwise
/// the core's `f32` VJP of the widened data, rounded (same errors; `ScaleOverflow` for outputs
/// beyond the format), at every length and on the edge cases above.
fn core_fallback<H: Half + Send + Sync>(seed: u64) {
    let max = if H::OVERFLOW > 1e30 {
        3.0e38f32
    } else {
        60000.0
    };
    for (j, &n) in LENGTHS.iter().enumerate() {
        for (tau, scale) in [(0.7f32, 1.0f64), (0.01, 3.0), (1.0, max as f64 / 4.0)] {
            let (y, g) = case::<H>(n, seed + j as u64, scale);
            let (yw, gw) = (widen(&y), widen(&g));
            let mut o32 = vec![0.0f32; n];
            let want = hypersimplex::soft_binary_argmax_vjp(&yw, &gw, tau, &mut o32).and_then(
                |_| match o32.iter().any(|v| v.abs() >= H::OVERFLOW) {
                    true => Err(Error::ScaleOverflow),
                    false => Ok(to_half::<H>(&o32)),
                },
            );
            let mut o = vec![H::ZERO; n];
            let got =
                hypersimplex::half::soft_binary_argmax_vjp_half(&y, &g, tau, &mut o).map(|_| o);
            assert_eq!(want, got, "core half VJP, n {n}, tau {tau}, scale {scale}");
        }
    }
}

#[test]
fn core_half_vjp_is_the_rounded_core_f32_vjp() {
    core_fallback::<Bf16>(11);
    core_fallback::<F16>(12);
}

/// Several failing rows: the `f32` VJP's status on the widened rows (its first failing row's),
/// and only where that succeeds the format's overflow (a row whose `f32` outputs do not fit
/// the format), on every path, for short rows, rows the half kernels take and long rows, and
/// in the core's half VJP (the no_std build's). The fuzzer's `half` target found f16 rows of
/// 108 reporting an earlier row's f16 overflow where the f32 function reports a later NaN.
#[test]
fn several_failing_rows_report_the_f32_status_first() {
    for kern in all_kernels() {
        for n in [10usize, 120, 2000] {
            for (ov, nan) in [(0usize, 1usize), (1, 0), (1, 3)] {
                // f32: a row whose outputs overflow f32, and a row with a NaN (row 3: none)
                let mut y = vec![0.5f32; 3 * n];
                let mut g = vec![1.0f32; 3 * n];
                (g[ov * n], g[ov * n + 1]) = (3e38, -3e38);
                if nan < 3 {
                    y[nan * n + 1] = f32::NAN;
                }
                let mut o = vec![0.0f32; 3 * n];
                let want = if ov < nan {
                    Err(Error::ScaleOverflow)
                } else {
                    Err(Error::NonFiniteInput)
                };
                let r = kern.soft_binary_argmax_vjp_rows(&y, &g, 3, n, 0.1, &mut o);
                assert_eq!(r, want, "f32, n {n}, overflow row {ov}, NaN row {nan}");
                // f16: a row whose outputs fit f32 but not f16, and a row with a NaN
                let yh: Vec<F16> = y.iter().map(|&v| F16::from_f32(v)).collect();
                let mut gh = vec![F16::from_f32(1.0); 3 * n];
                (gh[ov * n], gh[ov * n + 1]) = (F16::from_f32(60000.0), F16::from_f32(-60000.0));
                let want = if nan < 3 {
                    Err(Error::NonFiniteInput)
                } else {
                    Err(Error::ScaleOverflow)
                };
                let mut oh = vec![F16::from_bits(SENTINEL); 3 * n];
                let r = kern.soft_binary_argmax_vjp_half_rows(&yh, &gh, n, 0.1, &mut oh);
                assert_eq!(r, want, "f16, n {n}, overflow row {ov}, NaN row {nan}");
                assert!(oh.iter().all(|v| v.to_bits() == SENTINEL));
                let r =
                    hypersimplex::half::soft_binary_argmax_vjp_half_rows(&yh, &gh, n, 0.1, &mut oh);
                assert_eq!(r, want, "core f16, n {n}, overflow row {ov}, NaN row {nan}");
                let mut gi = gh.clone();
                let r = kern.soft_binary_argmax_vjp_half_rows_in_place(&yh, &mut gi, n, 0.1);
                assert_eq!(
                    r, want,
                    "f16 in place, n {n}, overflow row {ov}, NaN row {nan}"
                );
                assert_eq!(gi, gh);
            }
        }
    }
}
