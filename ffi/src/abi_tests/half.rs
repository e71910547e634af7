//! The bf16/f16 functions (issue 15) through their `extern "C"` entry points: each against
//! the f32 function on the widened input (the f64-reference checks of the f32 functions are
//! in `values.rs`, those of the half rounding in the core crate's `tests/half.rs`), in-place
//! aliases against out-of-place calls, rows against single calls, and the refusals (pointers,
//! NaN patterns, masks, overflow) with untouched outputs.

use super::*;
use crate::half::*;
use hs_core::half::{bf16_to_f32, f16_to_f32, f32_to_bf16, f32_to_f16};

/// `hs_hypersimplex_loss_{bf16,f16}`.
type Loss =
    unsafe extern "C" fn(*const u16, *const u16, usize, f64, f32, *mut f32, *mut u16) -> i32;
/// `hs_hypersimplex_loss_multiclass_{bf16,f16}`.
#[cfg(feature = "std")]
type Mc = unsafe extern "C" fn(
    *const u16,
    *const u32,
    usize,
    usize,
    *const f64,
    f32,
    i32,
    *mut f32,
    *mut u16,
) -> i32;
/// `hs_hypersimplex_loss_multiclass_lambda_{bf16,f16}`.
#[cfg(feature = "std")]
type Mcl = unsafe extern "C" fn(
    *const u16,
    *const u32,
    usize,
    usize,
    *const f64,
    f32,
    i32,
    *mut f32,
    *mut u16,
    *mut f64,
) -> i32;

/// One format: its conversions, a NaN pattern and its C functions.
struct Fmt {
    name: &'static str,
    widen: fn(u16) -> f32,
    round: fn(f32) -> u16,
    ulp_at_one: f32,
    nan: u16,
    sba: unsafe extern "C" fn(*const u16, usize, f64, f32, *mut u16) -> i32,
    vjp: unsafe extern "C" fn(*const u16, *const u16, usize, f32, *mut u16) -> i32,
    topk: unsafe extern "C" fn(*const u16, usize, usize, *mut u16) -> i32,
    topk_rows: unsafe extern "C" fn(*const u16, usize, usize, *const usize, *mut u16) -> i32,
    rows: unsafe extern "C" fn(*const u16, usize, usize, *const f64, f32, *mut u16) -> i32,
    vjp_rows: unsafe extern "C" fn(*const u16, *const u16, usize, usize, f32, *mut u16) -> i32,
    loss: Loss,
    #[cfg(feature = "std")]
    mc: Mc,
    #[cfg(feature = "std")]
    mcl: Mcl,
}

const FORMATS: [Fmt; 2] = [
    Fmt {
        name: "bf16",
        widen: bf16_to_f32,
        round: f32_to_bf16,
        ulp_at_one: 1.0 / 128.0,
        nan: 0xffc1,
        sba: hs_soft_binary_argmax_bf16,
        vjp: hs_soft_binary_argmax_vjp_bf16,
        topk: hs_binary_argmax_bf16,
        topk_rows: hs_binary_argmax_rows_bf16,
        rows: hs_soft_binary_argmax_rows_bf16,
        vjp_rows: hs_soft_binary_argmax_vjp_rows_bf16,
        loss: hs_hypersimplex_loss_bf16,
        #[cfg(feature = "std")]
        mc: hs_hypersimplex_loss_multiclass_bf16,
        #[cfg(feature = "std")]
        mcl: hs_hypersimplex_loss_multiclass_lambda_bf16,
    },
    Fmt {
        name: "f16",
        widen: f16_to_f32,
        round: f32_to_f16,
        ulp_at_one: 1.0 / 1024.0,
        nan: 0x7c01,
        sba: hs_soft_binary_argmax_f16,
        vjp: hs_soft_binary_argmax_vjp_f16,
        topk: hs_binary_argmax_f16,
        topk_rows: hs_binary_argmax_rows_f16,
        rows: hs_soft_binary_argmax_rows_f16,
        vjp_rows: hs_soft_binary_argmax_vjp_rows_f16,
        loss: hs_hypersimplex_loss_f16,
        #[cfg(feature = "std")]
        mc: hs_hypersimplex_loss_multiclass_f16,
        #[cfg(feature = "std")]
        mcl: hs_hypersimplex_loss_multiclass_lambda_f16,
    },
];

fn lcg(seed: &mut u64) -> f32 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    ((*seed >> 40) as f32 / (1u64 << 24) as f32) * 6.0 - 3.0
}

fn data(f: &Fmt, n: usize, seed: u64) -> Vec<u16> {
    let mut s = seed;
    (0..n).map(|_| (f.round)(lcg(&mut s))).collect()
}

fn wide(f: &Fmt, v: &[u16]) -> Vec<f32> {
    v.iter().map(|&b| (f.widen)(b)).collect()
}

/// `a` and the rounded f32 value `b` differ by at most one ulp of the format at `b` (plus the
/// f32 solver's absolute error near 0).
fn close(f: &Fmt, a: u16, b: f32, what: &str) {
    let (x, r) = ((f.widen)(a), (f.widen)((f.round)(b)));
    let tol = f.ulp_at_one * b.abs().max(1.0 / 1024.0) + 1e-5;
    assert!(
        (x - r).abs() <= tol,
        "{} {what}: {x} vs rounded f32 {r}",
        f.name
    );
}

#[test]
fn half_forward_vjp_topk_rows_match_f32() {
    for f in &FORMATS {
        for &n in &[1usize, 2, 7, 100, 3000] {
            let x = data(f, n, n as u64);
            let xw = wide(f, &x);
            for k in [0.0, 1.0, n as f64 * 0.4, n as f64] {
                let tau = 0.7f32;
                let mut y = vec![0x1234u16; n];
                let mut yf = vec![0.0f32; n];
                unsafe {
                    assert_eq!((f.sba)(x.as_ptr(), n, k, tau, y.as_mut_ptr()), HS_OK);
                    assert_eq!(
                        hs_soft_binary_argmax_f32(xw.as_ptr(), n, k, tau, yf.as_mut_ptr()),
                        HS_OK
                    );
                }
                for (&a, &b) in y.iter().zip(&yf) {
                    close(f, a, b, "forward");
                    // the float forward on the widened input, rounded once (std: the SIMD
                    // forward on a float buffer; no_std: the core's half passes, which are
                    // the float passes bit for bit)
                    assert_eq!(a, (f.round)(b), "{} forward", f.name);
                }
                let mut yi = x.clone();
                unsafe {
                    let p = yi.as_mut_ptr();
                    assert_eq!((f.sba)(p, n, k, tau, p), HS_OK);
                }
                assert_eq!(yi, y, "{} in place", f.name);
                // VJP of a random g at this y
                let g = data(f, n, 99);
                let (yw, gw) = (wide(f, &y), wide(f, &g));
                let mut o = vec![0u16; n];
                let mut of = vec![0.0f32; n];
                unsafe {
                    assert_eq!(
                        (f.vjp)(y.as_ptr(), g.as_ptr(), n, tau, o.as_mut_ptr()),
                        HS_OK
                    );
                    assert_eq!(
                        hs_soft_binary_argmax_vjp_f32(
                            yw.as_ptr(),
                            gw.as_ptr(),
                            n,
                            tau,
                            of.as_mut_ptr()
                        ),
                        HS_OK
                    );
                }
                for (&a, &b) in o.iter().zip(&of) {
                    assert_eq!(a, (f.round)(b), "{} vjp", f.name);
                }
                let mut gi = g.clone();
                unsafe {
                    let p = gi.as_mut_ptr();
                    assert_eq!((f.vjp)(y.as_ptr(), p, n, tau, p), HS_OK);
                }
                assert_eq!(gi, o, "{} vjp in place", f.name);
                // top-k: the f32 mask of the widened values, exactly
                let kk = k as usize;
                let mut t = vec![0u16; n];
                let mut tf = vec![0.0f32; n];
                unsafe {
                    assert_eq!((f.topk)(x.as_ptr(), n, kk, t.as_mut_ptr()), HS_OK);
                    assert_eq!(
                        hs_binary_argmax_f32(xw.as_ptr(), n, kk, tf.as_mut_ptr()),
                        HS_OK
                    );
                }
                assert_eq!(wide(f, &t), tf, "{} top-k", f.name);
                let mut ti = x.clone();
                unsafe {
                    let p = ti.as_mut_ptr();
                    assert_eq!((f.topk)(p, n, kk, p), HS_OK);
                }
                assert_eq!(ti, t);
            }
        }
        // rows: the same as one call per row, out of place and in place
        let (rows, n) = (5usize, 33usize);
        let x = data(f, rows * n, 5);
        let ks: Vec<f64> = (0..rows).map(|r| r as f64 * 3.5).collect();
        let mut y = vec![0u16; rows * n];
        unsafe {
            assert_eq!(
                (f.rows)(x.as_ptr(), rows, n, ks.as_ptr(), 0.5, y.as_mut_ptr()),
                HS_OK
            );
        }
        for r in 0..rows {
            let mut yr = vec![0u16; n];
            unsafe {
                assert_eq!(
                    (f.sba)(x[r * n..].as_ptr(), n, ks[r], 0.5, yr.as_mut_ptr()),
                    HS_OK
                );
            }
            assert_eq!(&y[r * n..(r + 1) * n], &yr[..]);
        }
        let mut xi = x.clone();
        unsafe {
            let p = xi.as_mut_ptr();
            assert_eq!((f.rows)(p, rows, n, ks.as_ptr(), 0.5, p), HS_OK);
        }
        assert_eq!(xi, y);
        let g = data(f, rows * n, 6);
        let mut o = vec![0u16; rows * n];
        unsafe {
            assert_eq!(
                (f.vjp_rows)(y.as_ptr(), g.as_ptr(), rows, n, 0.5, o.as_mut_ptr()),
                HS_OK
            );
        }
        for r in 0..rows {
            let mut or = vec![0u16; n];
            unsafe {
                let s = (f.vjp)(
                    y[r * n..].as_ptr(),
                    g[r * n..].as_ptr(),
                    n,
                    0.5,
                    or.as_mut_ptr(),
                );
                assert_eq!(s, HS_OK);
            }
            assert_eq!(&o[r * n..(r + 1) * n], &or[..]);
        }
        let mut gi = g.clone();
        unsafe {
            let p = gi.as_mut_ptr();
            assert_eq!((f.vjp_rows)(y.as_ptr(), p, rows, n, 0.5, p), HS_OK);
        }
        assert_eq!(gi, o);
        // top-k rows: the same as one call per row, in place too; a bad last row writes nothing
        let kr: Vec<usize> = (0..rows).map(|r| (r * 7) % (n + 1)).collect();
        let mut t = vec![0x1234u16; rows * n];
        unsafe {
            assert_eq!(
                (f.topk_rows)(x.as_ptr(), rows, n, kr.as_ptr(), t.as_mut_ptr()),
                HS_OK
            );
        }
        for r in 0..rows {
            let mut tr = vec![0u16; n];
            unsafe {
                assert_eq!(
                    (f.topk)(x[r * n..].as_ptr(), n, kr[r], tr.as_mut_ptr()),
                    HS_OK
                );
            }
            assert_eq!(&t[r * n..(r + 1) * n], &tr[..], "{} top-k row {r}", f.name);
        }
        let mut ti = x.clone();
        unsafe {
            let p = ti.as_mut_ptr();
            assert_eq!((f.topk_rows)(p, rows, n, kr.as_ptr(), p), HS_OK);
        }
        assert_eq!(ti, t);
        let mut bad = x.clone();
        bad[rows * n - 1] = f.nan;
        let mut tb = vec![0x1234u16; rows * n];
        unsafe {
            let s = (f.topk_rows)(bad.as_ptr(), rows, n, kr.as_ptr(), tb.as_mut_ptr());
            assert_eq!(s, HS_ERR_NON_FINITE_INPUT);
        }
        assert!(
            tb.iter().all(|&v| v == 0x1234),
            "{} top-k rows: written on error",
            f.name
        );
    }
}

/// Long vectors (the std build streams them through the working-set solver without a float
/// copy) and long rows: the f32 function on the widened input, rounded, out of place and in
/// place; a NaN pattern far from the start is refused with the output untouched.
#[test]
fn half_forward_long_is_the_rounded_f32() {
    for f in &FORMATS {
        let (rows, n) = (2usize, 70_001usize);
        let x = data(f, rows * n, 17);
        let xw = wide(f, &x);
        let ks = [n as f64 * 0.3, 5.5];
        let mut y = vec![0u16; rows * n];
        unsafe {
            assert_eq!(
                (f.rows)(x.as_ptr(), rows, n, ks.as_ptr(), 0.9, y.as_mut_ptr()),
                HS_OK
            );
        }
        for (r, &k) in ks.iter().enumerate() {
            let (xr, yr) = (&x[r * n..(r + 1) * n], &y[r * n..(r + 1) * n]);
            let mut one = vec![0u16; n];
            let mut yf = vec![0.0f32; n];
            unsafe {
                assert_eq!((f.sba)(xr.as_ptr(), n, k, 0.9, one.as_mut_ptr()), HS_OK);
                let xf = &xw[r * n..(r + 1) * n];
                let s = hs_soft_binary_argmax_f32(xf.as_ptr(), n, k, 0.9, yf.as_mut_ptr());
                assert_eq!(s, HS_OK);
            }
            let want: Vec<u16> = yf.iter().map(|&v| (f.round)(v)).collect();
            assert!(one == want, "{} long forward", f.name);
            assert!(yr == &want[..], "{} long rows", f.name);
            let mut xi = xr.to_vec();
            unsafe {
                let p = xi.as_mut_ptr();
                assert_eq!((f.sba)(p, n, k, 0.9, p), HS_OK);
            }
            assert!(xi == want, "{} long in place", f.name);
        }
        let mut xn = x[..n].to_vec();
        xn[n - 3] = 0x7fc1;
        let mut yn = vec![0x5555u16; n];
        unsafe {
            let s = (f.sba)(xn.as_ptr(), n, 10.0, 0.9, yn.as_mut_ptr());
            assert_eq!(s, HS_ERR_NON_FINITE_INPUT);
        }
        assert!(yn.iter().all(|&v| v == 0x5555));
    }
}

#[test]
fn half_refusals_leave_outputs_untouched() {
    for f in &FORMATS {
        let x = data(f, 8, 1);
        let mut y = vec![0x5555u16; 9];
        let yp = y.as_mut_ptr();
        unsafe {
            assert_eq!((f.sba)(null(), 8, 1.0, 1.0, yp), HS_ERR_NULL_POINTER);
            assert_eq!(
                (f.sba)(x.as_ptr(), 8, 1.0, 1.0, null_mut()),
                HS_ERR_NULL_POINTER
            );
            // misaligned: an odd address
            let odd = (yp as *mut u8).add(1) as *mut u16;
            assert_eq!((f.sba)(x.as_ptr(), 4, 1.0, 1.0, odd), HS_ERR_MISALIGNED);
            // partial overlap of y with x
            let mut buf = x.clone();
            buf.push(0);
            let bp = buf.as_mut_ptr();
            assert_eq!((f.sba)(bp, 8, 1.0, 1.0, bp.add(1)), HS_ERR_OVERLAP);
            assert_eq!((f.sba)(x.as_ptr(), 8, 9.0, 1.0, yp), HS_ERR_INVALID_K);
            assert_eq!((f.sba)(x.as_ptr(), 8, 1.0, 0.0, yp), HS_ERR_INVALID_TAU);
            assert_eq!((f.topk)(x.as_ptr(), 8, 9, yp), HS_ERR_INVALID_K);
            assert_eq!((f.vjp)(bp, x.as_ptr(), 8, 1.0, bp.add(1)), HS_ERR_OVERLAP);
            // a NaN pattern: error, nothing written
            let mut xn = x.clone();
            xn[3] = f.nan;
            assert_eq!(
                (f.sba)(xn.as_ptr(), 8, 1.0, 1.0, yp),
                HS_ERR_NON_FINITE_INPUT
            );
            assert_eq!((f.topk)(xn.as_ptr(), 8, 1, yp), HS_ERR_NON_FINITE_INPUT);
            assert_eq!(
                (f.vjp)(x.as_ptr(), xn.as_ptr(), 8, 1.0, yp),
                HS_ERR_NON_FINITE_INPUT
            );
            let ks = [1.0f64; 2];
            assert_eq!(
                (f.rows)(xn.as_ptr(), 2, 4, ks.as_ptr(), 1.0, yp),
                HS_ERR_NON_FINITE_INPUT
            );
            assert_eq!(
                (f.vjp_rows)(x.as_ptr(), xn.as_ptr(), 2, 4, 1.0, yp),
                HS_ERR_NON_FINITE_INPUT
            );
            // rows: a bad k in the last row refuses the whole call
            let ks = [1.0f64, 5.0];
            assert_eq!(
                (f.rows)(x.as_ptr(), 2, 4, ks.as_ptr(), 1.0, yp),
                HS_ERR_INVALID_K
            );
            // +inf is a mask: k below #(+inf) is refused
            let mut xi = x.clone();
            xi[0] = (f.round)(f32::INFINITY);
            xi[5] = (f.round)(f32::INFINITY);
            assert_eq!((f.sba)(xi.as_ptr(), 8, 1.0, 1.0, yp), HS_ERR_INVALID_K);
        }
        assert!(y.iter().all(|&v| v == 0x5555), "{} wrote on error", f.name);
        // the masks themselves
        let mut xi = x.clone();
        xi[2] = (f.round)(f32::INFINITY);
        xi[6] = (f.round)(f32::NEG_INFINITY);
        let mut o = vec![0u16; 8];
        unsafe {
            assert_eq!((f.sba)(xi.as_ptr(), 8, 2.5, 1.0, o.as_mut_ptr()), HS_OK);
        }
        let ow = wide(f, &o);
        assert_eq!((ow[2], ow[6]), (1.0, 0.0));
        assert!((ow.iter().sum::<f32>() - 2.5).abs() <= 8.0 * f.ulp_at_one);
    }
    // f16: a VJP output beyond 65504 is refused before anything is written
    let y = [f32_to_f16(0.5), f32_to_f16(0.5)];
    let g = [f32_to_f16(60000.0), f32_to_f16(-60000.0)];
    let mut o = [7u16; 2];
    unsafe {
        let s = hs_soft_binary_argmax_vjp_f16(y.as_ptr(), g.as_ptr(), 2, 0.5, o.as_mut_ptr());
        assert_eq!(s, HS_ERR_SCALE_OVERFLOW);
    }
    assert_eq!(o, [7, 7]);
}

#[cfg(feature = "std")] // the multiclass half functions allocate their f32 column
#[test]
fn half_multiclass_is_the_rounded_core_loss() {
    for f in &FORMATS {
        let (batch, classes) = (50usize, 4usize);
        let x = data(f, batch * classes, 3);
        let xw = wide(f, &x);
        let labels: Vec<u32> = (0..batch as u32)
            .map(|i| (i * 7) % classes as u32)
            .collect();
        // the half call with this shape, and the f32 scratch call on the widened logits
        let mc = |x: *const u16, lab: *const u32, k, tau, red, l: *mut f32, g: *mut u16| unsafe {
            (f.mc)(x, lab, batch, classes, k, tau, red, l, g)
        };
        let ks = [3.0f64, 10.5, 0.0, 50.0];
        for kp in [null(), ks.as_ptr()] {
            for red in [HS_REDUCTION_SUM, HS_REDUCTION_MEAN] {
                let (mut l, mut lf) = (0.0f32, 0.0f32);
                let mut g = vec![0u16; batch * classes];
                let mut gf = vec![0.0f32; batch * classes];
                let mut scratch = vec![0.0f32; hs_multiclass_scratch_len(batch, classes)];
                let (xp, lab) = (x.as_ptr(), labels.as_ptr());
                assert_eq!(mc(xp, lab, kp, 0.5, red, &mut l, g.as_mut_ptr()), HS_OK);
                unsafe {
                    let s = hs_hypersimplex_loss_multiclass_scratch_f32(
                        xw.as_ptr(),
                        lab,
                        batch,
                        classes,
                        kp,
                        0.5,
                        red,
                        &mut lf,
                        gf.as_mut_ptr(),
                        scratch.as_mut_ptr(),
                        scratch.len(),
                    );
                    assert_eq!(s, HS_OK);
                }
                assert_eq!(l.to_bits(), lf.to_bits(), "{} loss", f.name);
                for (&a, &b) in g.iter().zip(&gf) {
                    assert_eq!(a, (f.round)(b), "{} grad", f.name);
                }
            }
        }
        // refusals: loss NULL, bad reduction, label out of range; outputs untouched
        let mut l = -1.0f32;
        let mut g = vec![9u16; batch * classes];
        let bad: Vec<u32> = (0..batch as u32)
            .map(|i| if i == 3 { 9 } else { 0 })
            .collect();
        let (xp, lab, gp) = (x.as_ptr(), labels.as_ptr(), g.as_mut_ptr());
        let l_null = null_mut();
        assert_eq!(mc(xp, lab, null(), 1.0, 0, l_null, gp), HS_ERR_NULL_POINTER);
        let s = mc(xp, lab, null(), 1.0, 7, &mut l, gp);
        assert_eq!(s, HS_ERR_INVALID_REDUCTION);
        let s = mc(xp, bad.as_ptr(), null(), 1.0, 0, &mut l, gp);
        assert_eq!(s, HS_ERR_LABEL_OUT_OF_RANGE);
        assert_eq!(l, -1.0);
        assert!(g.iter().all(|&v| v == 9));
    }
}

#[cfg(feature = "std")] // the multiclass half functions allocate their f32 column
#[test]
fn half_multiclass_lambda_is_the_f32_lambda_of_the_widened_logits() {
    for f in &FORMATS {
        let (batch, classes) = (60usize, 4usize);
        // the λ call and the plain call with this shape
        let mcl = |x: *const u16, lab, k, tau, red, l: *mut f32, g: *mut u16, lam| unsafe {
            (f.mcl)(x, lab, batch, classes, k, tau, red, l, g, lam)
        };
        let pl = |x: *const u16, lab, k, red, l: *mut f32, g: *mut u16| unsafe {
            (f.mc)(x, lab, batch, classes, k, 0.5, red, l, g)
        };
        let x = data(f, batch * classes, 5);
        let xw = wide(f, &x);
        let labels: Vec<u32> = (0..batch as u32)
            .map(|i| (i * 5) % classes as u32)
            .collect();
        let ks = [3.0f64, 10.5, 0.0, 60.0];
        for kp in [null(), ks.as_ptr()] {
            let (mut l, mut lf, mut lp) = (0.0f32, 0.0f32, 0.0f32);
            let mut g = vec![0u16; batch * classes];
            let mut gp = vec![0u16; batch * classes];
            let mut gf = vec![0.0f32; batch * classes];
            let (mut lam, mut lamf) = (vec![7.0f64; classes], vec![0.0f64; classes]);
            let (xp, lab, red) = (x.as_ptr(), labels.as_ptr(), HS_REDUCTION_MEAN);
            let (gq, lq) = (g.as_mut_ptr(), lam.as_mut_ptr());
            assert_eq!(mcl(xp, lab, kp, 0.5, red, &mut l, gq, lq), HS_OK);
            assert_eq!(pl(xp, lab, kp, red, &mut lp, gp.as_mut_ptr()), HS_OK);
            unsafe {
                let s = hs_hypersimplex_loss_multiclass_lambda_f32(
                    xw.as_ptr(),
                    labels.as_ptr(),
                    batch,
                    classes,
                    kp,
                    0.5,
                    HS_REDUCTION_MEAN,
                    &mut lf,
                    gf.as_mut_ptr(),
                    lamf.as_mut_ptr(),
                );
                assert_eq!(s, HS_OK);
            }
            // the same loss and gradient as without λ
            assert_eq!((l.to_bits(), &g), (lp.to_bits(), &gp), "{}", f.name);
            assert!(
                (l - lf).abs() <= 1e-6 * lf.abs().max(1.0),
                "{} loss",
                f.name
            );
            for (c, (&a, &b)) in lam.iter().zip(&lamf).enumerate() {
                assert!(
                    (a - b).abs() <= 1e-5 * b.abs().max(1.0),
                    "{} λ_{c}: {a} vs {b}",
                    f.name
                );
            }
            // λ is the threshold of the projected columns: k_c = 0 gives max x/τ
            if !kp.is_null() {
                let mx = (0..batch)
                    .map(|b| xw[b * classes + 2])
                    .fold(f32::MIN, f32::max);
                assert_eq!(lam[2], f64::from(mx / 0.5));
            }
        }
        // refusals leave loss, gradient and λ untouched
        let mut l = -1.0f32;
        let mut g = vec![9u16; batch * classes];
        let mut lam = vec![7.0f64; classes + 1];
        let bad: Vec<u32> = (0..batch as u32)
            .map(|i| if i == 3 { 9 } else { 0 })
            .collect();
        let mut xn = x.clone();
        xn[11] = f.nan;
        unsafe {
            let (gp, lp) = (g.as_mut_ptr(), lam.as_mut_ptr());
            let call = |x: *const u16, lab: *const u32, l: *mut f32, lp: *mut f64, red: i32| {
                mcl(x, lab, null(), 1.0, red, l, gp, lp)
            };
            let (xp, lab) = (x.as_ptr(), labels.as_ptr());
            assert_eq!(call(xp, lab, &mut l, null_mut(), 0), HS_ERR_NULL_POINTER);
            assert_eq!(call(xp, lab, &mut l, lp, 7), HS_ERR_INVALID_REDUCTION);
            assert_eq!(
                call(xp, bad.as_ptr(), &mut l, lp, 0),
                HS_ERR_LABEL_OUT_OF_RANGE
            );
            assert_eq!(
                call(xn.as_ptr(), lab, &mut l, lp, 0),
                HS_ERR_NON_FINITE_INPUT
            );
            // λ overlapping the loss
            let mut both = [0.0f64; 8];
            let bp = both.as_mut_ptr();
            assert_eq!(call(xp, lab, bp.cast::<f32>(), bp, 0), HS_ERR_OVERLAP);
            let odd = (lp as *mut u8).add(1).cast::<f64>();
            assert_eq!(call(xp, lab, &mut l, odd, 0), HS_ERR_MISALIGNED);
        }
        assert_eq!(l, -1.0);
        assert!(g.iter().all(|&v| v == 9));
        assert!(lam.iter().all(|&v| v == 7.0), "{} wrote λ on error", f.name);
    }
}

#[test]
fn half_binary_loss_is_the_rounded_f32_loss() {
    for f in &FORMATS {
        let lf = f.loss;
        for &n in &[1usize, 9, 700] {
            let x = data(f, n, 11);
            let t: Vec<u16> = (0..n)
                .map(|i| {
                    (f.round)(if i % 3 == 0 {
                        1.0
                    } else {
                        0.25 * (i % 2) as f32
                    })
                })
                .collect();
            let (xw, tw) = (wide(f, &x), wide(f, &t));
            let k = tw.iter().map(|&v| f64::from(v)).sum::<f64>();
            let (mut l, mut l32) = (0.0f32, 0.0f32);
            let mut g = vec![0u16; n];
            let mut g32 = vec![0.0f32; n];
            unsafe {
                let s = lf(x.as_ptr(), t.as_ptr(), n, k, 0.7, &mut l, g.as_mut_ptr());
                assert_eq!(s, HS_OK);
                let s = hs_hypersimplex_loss_f32(
                    xw.as_ptr(),
                    tw.as_ptr(),
                    n,
                    k,
                    0.7,
                    &mut l32,
                    g32.as_mut_ptr(),
                );
                assert_eq!(s, HS_OK);
                // without a gradient: the same loss
                let mut l2 = 0.0f32;
                let s = lf(x.as_ptr(), t.as_ptr(), n, k, 0.7, &mut l2, null_mut());
                assert_eq!((s, l2.to_bits()), (HS_OK, l.to_bits()));
            }
            assert_eq!(l.to_bits(), l32.to_bits(), "{} n={n} loss", f.name);
            for (&a, &b) in g.iter().zip(&g32) {
                close(f, a, b, "loss grad");
            }
        }
        // refusals leave the outputs untouched
        let x = data(f, 8, 2);
        let mut tb = [(f.round)(0.0); 8];
        tb[1] = (f.round)(1.5);
        let mut l = -1.0f32;
        let mut g = vec![9u16; 9];
        unsafe {
            let gp = g.as_mut_ptr();
            let t = [(f.round)(0.5); 8];
            assert_eq!(
                lf(x.as_ptr(), tb.as_ptr(), 8, 1.0, 1.0, &mut l, gp),
                HS_ERR_INVALID_TARGET
            );
            assert_eq!(
                lf(x.as_ptr(), t.as_ptr(), 8, 9.0, 1.0, &mut l, gp),
                HS_ERR_INVALID_K
            );
            assert_eq!(
                lf(x.as_ptr(), t.as_ptr(), 8, 4.0, 0.0, &mut l, gp),
                HS_ERR_INVALID_TAU
            );
            assert_eq!(
                lf(x.as_ptr(), t.as_ptr(), 8, 4.0, 1.0, null_mut(), gp),
                HS_ERR_NULL_POINTER
            );
            assert_eq!(
                lf(null(), t.as_ptr(), 8, 4.0, 1.0, &mut l, gp),
                HS_ERR_NULL_POINTER
            );
            let mut buf = x.clone();
            buf.push(0);
            let bp = buf.as_mut_ptr();
            assert_eq!(
                lf(bp, t.as_ptr(), 8, 4.0, 1.0, &mut l, bp.add(1)),
                HS_ERR_OVERLAP
            );
            let mut xn = x.clone();
            xn[4] = f.nan;
            assert_eq!(
                lf(xn.as_ptr(), t.as_ptr(), 8, 4.0, 1.0, &mut l, gp),
                HS_ERR_NON_FINITE_INPUT
            );
        }
        assert_eq!(l, -1.0);
        assert!(g.iter().all(|&v| v == 9), "{} wrote on error", f.name);
    }
}
