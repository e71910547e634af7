//! The half-precision rows (issue 15, short rows through issue 14's solver): every row of
//! `Kernels::soft_binary_argmax_half_rows` (and in place) is bitwise the single-row half
//! forward of that row (itself the rounded `f32` forward, `half_forward.rs`), on every path
//! and with 1 and 4 threads, for short and long rows, per-row k (0, n, fractional), ties, ±∞
//! masks and τ > MAX/64 (outside the short-row solver); refusals leave the output untouched.

use crate::common::*;
use hypersimplex::half::{Bf16, Half, F16};
use hypersimplex_simd::{Error, Kernels};

fn rows_out<H: Half + Send + Sync>(
    kern: Kernels,
    x: &[H],
    n: usize,
    k: &[f64],
    tau: f32,
) -> Result<Vec<H>, Error> {
    let mut y = vec![H::from_bits(0x1234); x.len()];
    let mut scratch = Vec::new();
    let r = kern.soft_binary_argmax_half_rows(x, n, k, tau, &mut y, &mut scratch);
    let mut xi = x.to_vec();
    let ri = kern.soft_binary_argmax_half_rows_in_place(&mut xi, n, k, tau, &mut scratch);
    assert_eq!(r, ri);
    match r {
        Ok(()) => {
            assert!(xi == y, "in place differs");
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

fn single_rows<H: Half + Send + Sync>(
    kern: Kernels,
    x: &[H],
    n: usize,
    k: &[f64],
    tau: f32,
) -> Vec<H> {
    let mut y = vec![H::ZERO; x.len()];
    let mut scratch = Vec::new();
    for ((xr, yr), &kr) in x.chunks(n).zip(y.chunks_mut(n)).zip(k) {
        kern.soft_binary_argmax_half(xr, kr, tau, yr, &mut scratch)
            .expect("a valid row");
    }
    y
}

fn rows_agree<H: Half + Send + Sync>(seed: u64) {
    let mut rng = Rng(seed);
    for n in [1usize, 2, 10, 16, 33, 128, 129, 300] {
        for rows in [1usize, 17, 2000] {
            if n * rows > 200_000 {
                continue;
            }
            let kind = rng.below(4);
            let mut xf = data::<f32>(&mut rng, n * rows, kind);
            // ties: a few rows of one repeated value
            for r in (0..rows).step_by(5) {
                let v = xf[r * n];
                xf[r * n..(r + 1) * n].iter_mut().for_each(|x| *x = v);
            }
            let x: Vec<H> = xf.iter().map(|&v| H::from_f32(v)).collect();
            let nf = n as f64;
            let k: Vec<f64> = (0..rows)
                .map(|r| match r % 4 {
                    0 => 0.0,
                    1 => nf,
                    2 => (nf * 0.37 * 4.0).round() / 4.0,
                    _ => nf / 2.0,
                })
                .collect();
            for tau in [0.7f32, f32::MAX / 10.0] {
                for kern in all_kernels() {
                    let c = format!("{} n {n} rows {rows} tau {tau}", kern.path().name());
                    let want = single_rows(kern, &x, n, &k, tau);
                    let one = with_threads(1, || rows_out(kern, &x, n, &k, tau)).expect(&c);
                    let four = with_threads(4, || rows_out(kern, &x, n, &k, tau)).expect(&c);
                    assert!(one == want, "{c}: not the single-row forward");
                    assert!(four == want, "{c}: 4 threads");
                }
            }
        }
    }
}

#[test]
fn bf16_rows_are_the_single_row_forward() {
    rows_agree::<Bf16>(31);
}

#[test]
fn f16_rows_are_the_single_row_forward() {
    rows_agree::<F16>(32);
}

fn masks_and_refusals<H: Half + Send + Sync>() {
    let (rows, n) = (40usize, 10usize);
    let xf = data::<f32>(&mut Rng(3), rows * n, 0);
    let mut x: Vec<H> = xf.iter().map(|&v| H::from_f32(v)).collect();
    let mut k = vec![3.0f64; rows];
    // masks: +∞ and −∞ in row 7, feasible for its k
    x[70] = H::from_f32(f32::INFINITY);
    x[71] = H::from_f32(f32::NEG_INFINITY);
    for kern in all_kernels() {
        let got = rows_out(kern, &x, n, &k, 0.7).expect("masks with a feasible k");
        assert!(
            got == single_rows(kern, &x, n, &k, 0.7),
            "{}",
            kern.path().name()
        );
    }
    // refusals: NaN in the last row, an infeasible mask (k = 0 with +∞), k > n, τ, lengths
    let mut xn = x.clone();
    xn[rows * n - 1] = H::from_bits(0x7fc1);
    let mut k0 = k.clone();
    k0[7] = 0.0;
    let mut kb = k.clone();
    kb[39] = 11.0;
    let cases: Vec<(Vec<H>, Vec<f64>, f32)> = vec![
        (xn, k.clone(), 0.7),
        (x.clone(), k0, 0.7),
        (x.clone(), kb, 0.7),
        (x.clone(), k.clone(), 0.0),
        (x[1..].to_vec(), k.clone(), 0.7),
    ];
    for (xc, kc, tau) in &cases {
        let want = hypersimplex::half::check_rows_half(xc, xc.len(), n, kc, *tau).map(|_| ());
        assert!(want.is_err());
        for kern in all_kernels() {
            assert_eq!(rows_out(kern, xc, n, kc, *tau).map(|_| ()), want);
        }
    }
    k.clear();
    // a batch large enough for the pool (its checks split into blocks over the threads): NaN,
    // then x/τ overflowing f32 (bf16 only: f16 cannot overflow it), in the last value
    let (rows, n) = (2000usize, 10usize);
    let xf = data::<f32>(&mut Rng(4), rows * n, 0);
    let x: Vec<H> = xf.iter().map(|&v| H::from_f32(v)).collect();
    let k = vec![4.5f64; rows];
    for (bad, tau) in [(f32::NAN, 0.7f32), (f32::MAX, 1e-3)] {
        let mut xb = x.clone();
        xb[rows * n - 1] = H::from_f32(bad);
        let want = hypersimplex::half::check_rows_half(&xb, xb.len(), n, &k, tau).map(|_| ());
        assert!(want.is_err() || !bad.is_nan());
        for kern in all_kernels() {
            assert_eq!(rows_out(kern, &xb, n, &k, tau).map(|_| ()), want);
        }
    }
    for kern in all_kernels() {
        assert!(
            rows_out(kern, &x, n, &k, 0.7).expect("valid") == single_rows(kern, &x, n, &k, 0.7)
        );
    }
}

#[test]
fn half_rows_masks_and_refusals() {
    masks_and_refusals::<Bf16>();
    masks_and_refusals::<F16>();
}
