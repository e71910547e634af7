//! The core crate's row-wise functions on their own: the half-precision rows (forward, VJP and
//! top-k, out of place and in place), the top-k rows' checks (`internal::topk::prepare_rows`)
//! and the row loops of `internal::rows` they are built on. These were tested only through the
//! `simd` and `ffi` crates (mutation testing of this crate alone replaced the loops by `Ok(())`
//! and no test here failed); a `no_std` user gets exactly this code.
//!
//! Properties: each row of a batch is bitwise the single-row function on that row with its own
//! k (the single-row functions are checked against the `f64` references in `half.rs`); a bad
//! row anywhere (NaN, k out of range, an overflowing cotangent) gives that row's error and
//! leaves the whole output untouched, including the rows before it; shapes that do not divide
//! are `LengthMismatch`; the loops visit exactly `ks.len()` rows (or `len / n`), in order, stop
//! at the first error and return it.

mod common;

use common::*;
use hypersimplex::half::{
    binary_argmax_half, binary_argmax_half_rows, binary_argmax_half_rows_in_place,
    soft_binary_argmax_half, soft_binary_argmax_half_rows, soft_binary_argmax_half_rows_in_place,
    soft_binary_argmax_vjp_half, soft_binary_argmax_vjp_half_rows,
    soft_binary_argmax_vjp_half_rows_in_place, Bf16, Half, F16,
};
use hypersimplex::internal::{rows, topk::prepare_rows};
use hypersimplex::{binary_argmax, Error};

fn halves<H: Half>(v: &[f64]) -> Vec<H> {
    v.iter().map(|&x| H::from_f32(x as f32)).collect()
}

fn bits<H: Half>(v: &[H]) -> Vec<u16> {
    v.iter().map(|h| h.to_bits()).collect()
}

/// A batch of `rows × n` logits with ties (a coarse grid for some rows) and per-row k: integer
/// k for the top-k, real k (0, n and fractions included) for the projection.
struct Batch {
    x: Vec<f64>,
    n: usize,
    k_real: Vec<f64>,
    k_int: Vec<usize>,
}

fn batch(r: &mut Rand) -> Batch {
    let rows = 1 + r.below(9);
    let n = 1 + r.below(40);
    let x = (0..rows * n)
        .map(|i| {
            if (i / n) % 3 == 0 {
                (r.below(5) as f64 - 2.0) * 0.5
            } else {
                3.0 * r.normal()
            }
        })
        .collect();
    let k_real = (0..rows)
        .map(|_| match r.below(4) {
            0 => 0.0,
            1 => n as f64,
            _ => r.range(0.0, n as f64),
        })
        .collect();
    let k_int = (0..rows).map(|_| r.below(n + 1)).collect();
    Batch {
        x,
        n,
        k_real,
        k_int,
    }
}

fn forward_rows_match_single_rows<H: Half>() {
    let mut r = Rand::new(0x5eed_0001);
    for case in 0..300 {
        let b = batch(&mut r);
        let x: Vec<H> = halves(&b.x);
        let tau = r.range(0.2, 3.0) as f32;
        let mut want = vec![H::from_f32(7.0); x.len()];
        for ((xr, yr), &k) in x.chunks(b.n).zip(want.chunks_mut(b.n)).zip(&b.k_real) {
            soft_binary_argmax_half(xr, k, tau, yr).unwrap();
        }
        let mut y = vec![H::from_f32(7.0); x.len()];
        soft_binary_argmax_half_rows(&x, b.n, &b.k_real, tau, &mut y).unwrap();
        assert_eq!(bits(&y), bits(&want), "case {case}");
        let mut xy = x.clone();
        soft_binary_argmax_half_rows_in_place(&mut xy, b.n, &b.k_real, tau).unwrap();
        assert_eq!(bits(&xy), bits(&want), "case {case} in place");

        // the top-k rows likewise, and the f32 top-k on the widened row gives the same mask
        let mut want = vec![H::from_f32(7.0); x.len()];
        for ((xr, yr), &k) in x.chunks(b.n).zip(want.chunks_mut(b.n)).zip(&b.k_int) {
            binary_argmax_half(xr, k as f64, yr).unwrap();
            let wide: Vec<f32> = xr.iter().map(|h| h.to_f32()).collect();
            let mut m = vec![0.0f32; b.n];
            binary_argmax(&wide, k as f64, &mut m).unwrap();
            assert_eq!(
                bits(yr),
                bits(&halves::<H>(&widen(&m))),
                "case {case} top-k"
            );
        }
        let mut y = vec![H::from_f32(7.0); x.len()];
        binary_argmax_half_rows(&x, b.n, &b.k_int, &mut y).unwrap();
        assert_eq!(bits(&y), bits(&want), "case {case} top-k rows");
        let mut xy = x.clone();
        binary_argmax_half_rows_in_place(&mut xy, b.n, &b.k_int).unwrap();
        assert_eq!(bits(&xy), bits(&want), "case {case} top-k in place");
        assert_eq!(prepare_rows(&b.x, b.n, &b.k_int), Ok(()));
    }
}

#[test]
fn forward_rows_match_single_rows_bf16() {
    forward_rows_match_single_rows::<Bf16>();
}

#[test]
fn forward_rows_match_single_rows_f16() {
    forward_rows_match_single_rows::<F16>();
}

fn vjp_rows_match_single_rows<H: Half>() {
    let mut r = Rand::new(0x5eed_0002);
    for case in 0..300 {
        let b = batch(&mut r);
        let tau = r.range(0.2, 3.0) as f32;
        let x: Vec<H> = halves(&b.x);
        let mut y = vec![H::ZERO; x.len()];
        soft_binary_argmax_half_rows(&x, b.n, &b.k_real, tau, &mut y).unwrap();
        let g: Vec<H> = halves(&(0..x.len()).map(|_| r.normal()).collect::<Vec<_>>());
        let mut want = vec![H::from_f32(7.0); x.len()];
        for ((yr, gr), or) in y.chunks(b.n).zip(g.chunks(b.n)).zip(want.chunks_mut(b.n)) {
            soft_binary_argmax_vjp_half(yr, gr, tau, or).unwrap();
        }
        let mut out = vec![H::from_f32(7.0); x.len()];
        soft_binary_argmax_vjp_half_rows(&y, &g, b.n, tau, &mut out).unwrap();
        assert_eq!(bits(&out), bits(&want), "case {case}");
        let mut gi = g.clone();
        soft_binary_argmax_vjp_half_rows_in_place(&y, &mut gi, b.n, tau).unwrap();
        assert_eq!(bits(&gi), bits(&want), "case {case} in place");
    }
}

#[test]
fn vjp_rows_match_single_rows_bf16() {
    vjp_rows_match_single_rows::<Bf16>();
}

#[test]
fn vjp_rows_match_single_rows_f16() {
    vjp_rows_match_single_rows::<F16>();
}

/// A bad last row: its error, and no row written (the good rows before it included).
fn bad_rows_leave_output_untouched<H: Half>() {
    let (rows, n) = (4usize, 5usize);
    let mut r = Rand::new(0x5eed_0003);
    let good: Vec<f64> = (0..rows * n).map(|_| r.normal()).collect();
    let sentinel = H::from_f32(7.0);
    let ks = [1.0, 2.5, 0.0, 5.0];
    let forward = |x: &[H], ks: &[f64], tau: f32| {
        let mut y = vec![sentinel; x.len()];
        let e = soft_binary_argmax_half_rows(x, n, ks, tau, &mut y);
        assert!(y.iter().all(|v| *v == sentinel));
        let mut xy = x.to_vec();
        let e2 = soft_binary_argmax_half_rows_in_place(&mut xy, n, ks, tau);
        assert_eq!(bits(&xy), bits(x));
        assert_eq!(e, e2);
        e
    };
    let mut x: Vec<H> = halves(&good);
    x[rows * n - 2] = H::from_f32(f32::NAN);
    assert_eq!(forward(&x, &ks, 1.0), Err(Error::NonFiniteInput));
    let x: Vec<H> = halves(&good);
    assert_eq!(
        forward(&x, &[1.0, 2.5, 0.0, 5.5], 1.0),
        Err(Error::InvalidK)
    );
    assert_eq!(forward(&x, &ks, 0.0), Err(Error::InvalidTau));
    assert_eq!(forward(&x, &ks[..3], 1.0), Err(Error::LengthMismatch));
    let mut y = vec![sentinel; x.len() - 1];
    assert_eq!(
        soft_binary_argmax_half_rows(&x, n, &ks, 1.0, &mut y),
        Err(Error::LengthMismatch)
    );

    // top-k: a non-integer k is not representable in `usize`; k > n and NaN are
    let topk = |x: &[H], ks: &[usize]| {
        let mut y = vec![sentinel; x.len()];
        let e = binary_argmax_half_rows(x, n, ks, &mut y);
        assert!(y.iter().all(|v| *v == sentinel));
        let mut xy = x.to_vec();
        let e2 = binary_argmax_half_rows_in_place(&mut xy, n, ks);
        assert_eq!(bits(&xy), bits(x));
        assert_eq!(e, e2);
        e
    };
    assert_eq!(topk(&x, &[1, 2, 0, 6]), Err(Error::InvalidK));
    assert_eq!(topk(&x, &[1, 2, 0]), Err(Error::LengthMismatch));
    let mut xn = x.clone();
    xn[rows * n - 1] = H::from_f32(f32::NAN);
    assert_eq!(topk(&xn, &[1, 2, 0, 5]), Err(Error::NonFiniteInput));
    let mut y = vec![sentinel; x.len() + 1];
    assert_eq!(
        binary_argmax_half_rows(&x, n, &[1, 2, 0, 5], &mut y),
        Err(Error::LengthMismatch)
    );

    // VJP: a NaN cotangent in the last row; a length that is not a multiple of n
    let mut y = vec![H::ZERO; x.len()];
    soft_binary_argmax_half_rows(&x, n, &ks, 1.0, &mut y).unwrap();
    let g: Vec<H> = halves(&good);
    let vjp = |y: &[H], g: &[H], n: usize, tau: f32| {
        let mut out = vec![sentinel; g.len()];
        let e = soft_binary_argmax_vjp_half_rows(y, g, n, tau, &mut out);
        assert!(out.iter().all(|v| *v == sentinel));
        let mut gi = g.to_vec();
        let e2 = soft_binary_argmax_vjp_half_rows_in_place(y, &mut gi, n, tau);
        assert_eq!(bits(&gi), bits(g));
        assert_eq!(e, e2);
        e
    };
    let mut gn = g.clone();
    gn[rows * n - 1] = H::from_f32(f32::INFINITY);
    assert_eq!(vjp(&y, &gn, n, 1.0), Err(Error::NonFiniteInput));
    assert_eq!(vjp(&y, &g, n, -1.0), Err(Error::InvalidTau));
    assert_eq!(
        vjp(&y[..n * 3 + 1], &g[..n * 3 + 1], n, 1.0),
        Err(Error::LengthMismatch)
    );
    assert_eq!(vjp(&y, &g, 0, 1.0), Err(Error::LengthMismatch));
    assert_eq!(vjp(&[], &[], 0, 1.0), Ok(()));
}

#[test]
fn bad_rows_leave_output_untouched_bf16() {
    bad_rows_leave_output_untouched::<Bf16>();
}

#[test]
fn bad_rows_leave_output_untouched_f16() {
    bad_rows_leave_output_untouched::<F16>();
}

/// Overflow in the last row only: of `x·(1/τ)` in `f32` (forward), or of a VJP output beyond
/// the storage type's range but within `f32`'s (f16: 65504 is its largest value). That row's
/// `ScaleOverflow`, and no row written; also an output buffer of the wrong length for the VJP.
#[test]
fn overflow_in_the_last_row_leaves_output_untouched() {
    let (rows, n) = (4usize, 5usize);
    let mut r = Rand::new(0x5eed_0004);
    let good: Vec<f64> = (0..rows * n).map(|_| r.normal()).collect();
    let sentinel = F16::from_f32(7.0);
    // forward: |x|·1e36 fits f32 for the Gaussian rows, 60000·1e36 does not
    let mut x: Vec<F16> = halves(&good);
    x[rows * n - 1] = F16::from_f32(60000.0);
    let ks = [1.0, 2.5, 0.0, 5.0];
    let mut y = vec![sentinel; x.len()];
    assert_eq!(
        soft_binary_argmax_half_rows(&x, n, &ks, 1e-36, &mut y),
        Err(Error::ScaleOverflow)
    );
    assert!(y.iter().all(|v| *v == sentinel));
    let mut xy = x.clone();
    assert_eq!(
        soft_binary_argmax_half_rows_in_place(&mut xy, n, &ks, 1e-36),
        Err(Error::ScaleOverflow)
    );
    assert_eq!(bits(&xy), bits(&x));

    // VJP: the last row's free outputs are (±30000)·4, beyond f16 but not f32
    let mut yv = vec![F16::from_f32(0.5); rows * n];
    let mut g: Vec<F16> = halves(&good);
    let last = (rows - 1) * n;
    g[last] = F16::from_f32(-30000.0);
    g[last + 1] = F16::from_f32(30000.0);
    for v in &mut yv[last + 2..] {
        *v = F16::ZERO;
    }
    let mut out = vec![sentinel; g.len()];
    assert_eq!(
        soft_binary_argmax_vjp_half_rows(&yv, &g, n, 0.25, &mut out),
        Err(Error::ScaleOverflow)
    );
    assert!(out.iter().all(|v| *v == sentinel));
    let mut gi = g.clone();
    assert_eq!(
        soft_binary_argmax_vjp_half_rows_in_place(&yv, &mut gi, n, 0.25),
        Err(Error::ScaleOverflow)
    );
    assert_eq!(bits(&gi), bits(&g));
    // the same rows at τ = 1 fit: (±30000)·1
    soft_binary_argmax_vjp_half_rows(&yv, &g, n, 1.0, &mut out).unwrap();
    assert_eq!(out[last].to_f32(), -30000.0);
    // an output of the wrong length, with y and g of the right one
    let mut short = vec![sentinel; g.len() - n];
    assert_eq!(
        soft_binary_argmax_vjp_half_rows(&yv, &g, n, 1.0, &mut short),
        Err(Error::LengthMismatch)
    );
    assert!(short.iter().all(|v| *v == sentinel));
}

/// `prepare_rows`: the shape first, then each row's checks in order (the first failing row's
/// error).
#[test]
fn prepare_rows_checks_shape_then_rows_in_order() {
    let x = [0.5f32, 1.0, -1.0, 2.0, 0.0, 3.0];
    assert_eq!(prepare_rows(&x, 3, &[1, 3]), Ok(()));
    assert_eq!(prepare_rows(&x, 2, &[0, 1, 2]), Ok(()));
    assert_eq!(prepare_rows(&x, 3, &[1]), Err(Error::LengthMismatch));
    assert_eq!(prepare_rows(&x, 4, &[1]), Err(Error::LengthMismatch));
    assert_eq!(prepare_rows(&x, 2, &[0, 1, 3]), Err(Error::InvalidK));
    let xn = [0.5f32, 1.0, -1.0, 2.0, f32::NAN, 3.0];
    assert_eq!(prepare_rows(&xn, 3, &[1, 2]), Err(Error::NonFiniteInput));
    // the first failing row decides: row 0's k before row 1's NaN
    assert_eq!(prepare_rows(&xn, 3, &[4, 2]), Err(Error::InvalidK));
    assert_eq!(prepare_rows::<f32>(&[], 5, &[]), Ok(()));
    assert_eq!(prepare_rows::<f32>(&[], 0, &[0, 0]), Ok(()));
}

/// The loops themselves: which rows each visits, with which k, in which order, and that the
/// first error ends the loop and is returned.
#[test]
fn row_loops_visit_each_row_once_in_order() {
    let x: Vec<u32> = (0..10).collect();
    // with_k: ks.len() rows of n (x may be longer; a short tail ends the loop)
    let mut y = vec![0u32; 10];
    let mut seen = Vec::new();
    let r: Result<(), ()> = rows::with_k(&x, 3, &[1.0, 2.0, 3.0, 4.0], &mut y, |xr, k, yr| {
        seen.push((xr.to_vec(), k));
        yr.iter_mut().zip(xr).for_each(|(o, &v)| *o = v + 100);
        Ok(())
    });
    assert_eq!(r, Ok(()));
    assert_eq!(
        seen,
        [
            (vec![0, 1, 2], 1.0),
            (vec![3, 4, 5], 2.0),
            (vec![6, 7, 8], 3.0)
        ]
    );
    assert_eq!(y, [100, 101, 102, 103, 104, 105, 106, 107, 108, 0]);
    let mut calls = 0;
    let r = rows::with_k(&x, 2, &[0.0; 5], &mut y, |_, k, _| {
        calls += 1;
        if calls == 2 {
            Err(k + 1.0)
        } else {
            Ok(())
        }
    });
    assert_eq!((r, calls), (Err(1.0), 2));

    let mut xm = x.clone();
    let mut seen = Vec::new();
    let r: Result<(), ()> = rows::with_k_in_place(&mut xm, 4, &[5.0, 6.0, 7.0], |xr, k| {
        seen.push((xr.to_vec(), k));
        xr.iter_mut().for_each(|v| *v += k as u32);
        Ok(())
    });
    assert_eq!(r, Ok(()));
    assert_eq!(seen, [(vec![0, 1, 2, 3], 5.0), (vec![4, 5, 6, 7], 6.0)]);
    assert_eq!(xm, [5, 6, 7, 8, 10, 11, 12, 13, 8, 9]);
    let r = rows::with_k_in_place(&mut xm, 1, &[0.0, 1.0], |_, k| Err::<(), _>(k));
    assert_eq!(r, Err(0.0));

    // pairs / pairs_mut / triples: as many rows as both (all three) slices hold whole
    let b: Vec<u32> = (20..27).collect();
    let mut seen = Vec::new();
    let r: Result<(), ()> = rows::pairs(&x, &b, 3, |ar, br| {
        seen.push((ar[0], br[0], ar.len(), br.len()));
        Ok(())
    });
    assert_eq!(r, Ok(()));
    assert_eq!(seen, [(0, 20, 3, 3), (3, 23, 3, 3)]);
    assert_eq!(rows::pairs(&x, &b, 0, |_, _| Err::<(), _>(())), Ok(()));
    assert_eq!(rows::pairs(&x, &b, 2, |ar, _| Err::<(), _>(ar[0])), Err(0));

    let mut bm = b.clone();
    let r: Result<(), ()> = rows::pairs_mut(&x, &mut bm, 2, |ar, br| {
        br.iter_mut().zip(ar).for_each(|(o, &v)| *o += v);
        Ok(())
    });
    assert_eq!(r, Ok(()));
    assert_eq!(bm, [20, 22, 24, 26, 28, 30, 26]);
    assert_eq!(
        rows::pairs_mut(&x, &mut bm, 0, |_, _| Err::<(), _>(())),
        Ok(())
    );
    let mut calls = 0;
    let r = rows::pairs_mut(&x, &mut bm, 3, |ar, _| {
        calls += 1;
        if ar[0] == 3 {
            Err(ar[0])
        } else {
            Ok(())
        }
    });
    assert_eq!((r, calls), (Err(3), 2));

    let mut o = vec![0u32; 8];
    let r: Result<(), ()> = rows::triples(&x, &b, &mut o, 2, |ar, br, or| {
        or.iter_mut()
            .zip(ar.iter().zip(br))
            .for_each(|(o, (&p, &q))| *o = p * q);
        Ok(())
    });
    assert_eq!(r, Ok(()));
    assert_eq!(o, [0, 21, 44, 69, 96, 125, 0, 0]);
    assert_eq!(
        rows::triples(&x, &b, &mut o, 0, |_, _, _| Err::<(), _>(())),
        Ok(())
    );
    let r = rows::triples(&x, &b, &mut o, 3, |ar, _, _| Err::<(), _>(ar[0] + 1));
    assert_eq!(r, Err(1));
}

/// `internal::mask::check_rows`, how a batch whose finiteness check failed is checked before
/// any row is written: each row with its own k (by index), in order, the first failing row's
/// error; n = 0 checks nothing. (Tested only through `simd`/`ffi` before; mutation testing.)
#[test]
fn mask_check_rows_takes_each_rows_k_in_order() {
    use hypersimplex::internal::mask::check_rows;
    let (pi, ni) = (f32::INFINITY, f32::NEG_INFINITY);
    // row 0: one +∞ (k ≥ 1); row 1: two −∞ of 3 (k ≤ 1); row 2: finite
    let x = [pi, 0.5, 1.0, ni, ni, 2.0, 0.1, 0.2, 0.3];
    let ks = [1.0, 1.0, 3.0];
    assert_eq!(check_rows(&x, 3, |i| ks[i], 1.0), Ok(()));
    // row 1 with k = 2 > 3 − #(−∞): InvalidK, found only if row 1 gets its own k
    let ks = [1.0, 2.0, 0.0];
    assert_eq!(check_rows(&x, 3, |i| ks[i], 1.0), Err(Error::InvalidK));
    // row 0 with k = 0 < #(+∞) fails first, before row 1's NaN
    let mut xn = x;
    xn[4] = f32::NAN;
    let ks = [0.0, 1.0, 1.0];
    assert_eq!(check_rows(&xn, 3, |i| ks[i], 1.0), Err(Error::InvalidK));
    let ks = [1.0, 1.0, 1.0];
    assert_eq!(
        check_rows(&xn, 3, |i| ks[i], 1.0),
        Err(Error::NonFiniteInput)
    );
    // the last row's sentinel overflows in z (1.7e38·2)
    let xo = [pi, 0.5, 1.0, ni, ni, 2.0, pi, 1.7e38, 0.3];
    let ks = [1.0, 1.0, 1.0];
    assert_eq!(
        check_rows(&xo, 3, |i| ks[i], 2.0),
        Err(Error::ScaleOverflow)
    );
    assert_eq!(check_rows(&xo, 3, |i| ks[i], 1.0), Ok(()));
    assert_eq!(check_rows(&xo, 0, |_| f64::NAN, 1.0), Ok(()));
}
