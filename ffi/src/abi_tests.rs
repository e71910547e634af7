//! The C ABI, called through its `extern "C"` functions exactly as C would: results against
//! an independent f64 reference, in-place aliases against out-of-place calls, and the safety
//! contract (a specific status and untouched outputs for every kind of bad input).
//! (Unit tests rather than integration tests: the crate builds no rlib, see Cargo.toml.)
#![allow(clippy::float_cmp)]

use crate::*;
use proptest::prelude::*;
use std::ffi::CStr;
use std::ptr::{null, null_mut};

/// Slow, obviously-correct projection onto Δ(n,k) in f64: sort the breakpoints and scan.
fn reference_projection(z: &[f64], k: f64) -> Vec<f64> {
    let n = z.len();
    if n == 0 {
        return vec![];
    }
    // f(λ) = Σ clip(z_i − λ, 0, 1) is piecewise linear in λ with breakpoints z_i and z_i − 1.
    let mut bp: Vec<f64> = z.iter().flat_map(|&v| [v, v - 1.0]).collect();
    bp.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let f = |l: f64| z.iter().map(|&v| (v - l).clamp(0.0, 1.0)).sum::<f64>();
    // f is non-increasing; find consecutive breakpoints with f(a) ≥ k ≥ f(b), interpolate.
    let mut lam = bp[0];
    for w in bp.windows(2) {
        let (fa, fb) = (f(w[0]), f(w[1]));
        if fa >= k && k >= fb {
            lam = if fa == fb {
                w[0]
            } else {
                w[0] + (fa - k) / (fa - fb) * (w[1] - w[0])
            };
            break;
        }
    }
    if k >= n as f64 {
        return vec![1.0; n];
    }
    if k <= 0.0 {
        return vec![0.0; n];
    }
    z.iter().map(|&v| (v - lam).clamp(0.0, 1.0)).collect()
}

/// Reference VJP in f64.
fn reference_vjp(y: &[f64], g: &[f64], tau: f64) -> Vec<f64> {
    let free: Vec<usize> = (0..y.len()).filter(|&i| y[i] > 0.0 && y[i] < 1.0).collect();
    let mean = if free.is_empty() {
        0.0
    } else {
        free.iter().map(|&i| g[i]).sum::<f64>() / free.len() as f64
    };
    (0..y.len())
        .map(|i| {
            if free.contains(&i) {
                (g[i] - mean) / tau
            } else {
                0.0
            }
        })
        .collect()
}

fn msg(status: i32) -> String {
    // SAFETY: hs_status_message returns a static NUL-terminated string for any input.
    unsafe { CStr::from_ptr(hs_status_message(status)) }
        .to_str()
        .unwrap()
        .to_owned()
}

const SENTINEL: f32 = -12345.0;

#[test]
fn forward_matches_reference_and_in_place() {
    let x = [1.2f32, -0.3, 0.8, 0.1, -2.0, 0.8];
    for &(k, tau) in &[
        (2.0, 0.5f32),
        (1.0, 1.0),
        (0.0, 1.0),
        (6.0, 2.0),
        (3.5, 0.1),
    ] {
        let mut y = [SENTINEL; 6];
        // SAFETY: valid buffers of length 6.
        let s = unsafe { hs_soft_binary_argmax_f32(x.as_ptr(), 6, k, tau, y.as_mut_ptr()) };
        assert_eq!(s, HS_OK);
        let z: Vec<f64> = x.iter().map(|&v| v as f64 / tau as f64).collect();
        let r = reference_projection(&z, k);
        for (a, b) in y.iter().zip(&r) {
            assert!((*a as f64 - b).abs() < 1e-5, "{y:?} vs {r:?}");
        }
        let mut xy = x;
        // SAFETY: y == x is the documented in-place alias.
        let s = unsafe { hs_soft_binary_argmax_f32(xy.as_ptr(), 6, k, tau, xy.as_mut_ptr()) };
        assert_eq!(s, HS_OK);
        assert_eq!(xy, y);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn forward_f64_and_rows_match_reference(
        data in prop::collection::vec(-50.0f64..50.0, 1..40),
        kf in 0.0f64..1.0,
        tau in 0.05f64..5.0,
        rows in 1usize..4,
    ) {
        let n = data.len();
        let k = kf * n as f64;
        let mut y = vec![0.0f64; n];
        // SAFETY: valid buffers of length n.
        let s = unsafe { hs_soft_binary_argmax_f64(data.as_ptr(), n, k, tau, y.as_mut_ptr()) };
        prop_assert_eq!(s, HS_OK);
        let z: Vec<f64> = data.iter().map(|v| v / tau).collect();
        let r = reference_projection(&z, k);
        for (a, b) in y.iter().zip(&r) {
            prop_assert!((a - b).abs() < 1e-9 * (1.0 + z.iter().fold(0.0f64, |m, v| m.max(v.abs()))));
        }
        // rows: row r is the data shifted by r, with its own k
        let x: Vec<f32> = (0..rows).flat_map(|r| data.iter().map(move |&v| (v + r as f64) as f32)).collect();
        let ks: Vec<f64> = (0..rows).map(|r| (k + r as f64).min(n as f64)).collect();
        let mut yr = vec![SENTINEL; rows * n];
        // SAFETY: valid buffers of rows*n and rows elements.
        let s = unsafe { hs_soft_binary_argmax_rows_f32(x.as_ptr(), rows, n, ks.as_ptr(), tau as f32, yr.as_mut_ptr()) };
        prop_assert_eq!(s, HS_OK);
        for r in 0..rows {
            let mut y1 = vec![0.0f32; n];
            // SAFETY: valid buffers of length n.
            let s = unsafe { hs_soft_binary_argmax_f32(x[r * n..].as_ptr(), n, ks[r], tau as f32, y1.as_mut_ptr()) };
            prop_assert_eq!(s, HS_OK);
            prop_assert_eq!(&yr[r * n..(r + 1) * n], &y1[..]);
        }
        let mut xy = x.clone();
        // SAFETY: y == x in-place alias.
        let s = unsafe { hs_soft_binary_argmax_rows_f32(xy.as_ptr(), rows, n, ks.as_ptr(), tau as f32, xy.as_mut_ptr()) };
        prop_assert_eq!(s, HS_OK);
        prop_assert_eq!(&xy, &yr);

        // backward, single and rows, out of place and in place, against the reference
        let g: Vec<f32> = (0..rows * n).map(|i| ((i * 7919) % 13) as f32 - 6.0).collect();
        let mut gx = vec![SENTINEL; rows * n];
        // SAFETY: valid buffers of rows*n elements.
        let s = unsafe { hs_soft_binary_argmax_vjp_rows_f32(yr.as_ptr(), g.as_ptr(), rows, n, tau as f32, gx.as_mut_ptr()) };
        prop_assert_eq!(s, HS_OK);
        for r in 0..rows {
            let y64: Vec<f64> = yr[r * n..(r + 1) * n].iter().map(|&v| v as f64).collect();
            let g64: Vec<f64> = g[r * n..(r + 1) * n].iter().map(|&v| v as f64).collect();
            let want = reference_vjp(&y64, &g64, tau as f32 as f64);
            for (a, b) in gx[r * n..(r + 1) * n].iter().zip(&want) {
                prop_assert!((*a as f64 - b).abs() < 1e-4 * (1.0 + b.abs()), "{} vs {}", a, b);
            }
            let mut g1 = vec![0.0f32; n];
            // SAFETY: valid buffers of length n.
            let s = unsafe { hs_soft_binary_argmax_vjp_f32(yr[r * n..].as_ptr(), g[r * n..].as_ptr(), n, tau as f32, g1.as_mut_ptr()) };
            prop_assert_eq!(s, HS_OK);
            prop_assert_eq!(&gx[r * n..(r + 1) * n], &g1[..]);
        }
        let mut gg = g.clone();
        // SAFETY: grad_x == g in-place alias.
        let s = unsafe { hs_soft_binary_argmax_vjp_rows_f32(yr.as_ptr(), gg.as_ptr(), rows, n, tau as f32, gg.as_mut_ptr()) };
        prop_assert_eq!(s, HS_OK);
        prop_assert_eq!(&gg, &gx);
        let mut gg = g[..n].to_vec();
        // SAFETY: grad_x == g in-place alias.
        let s = unsafe { hs_soft_binary_argmax_vjp_f32(yr.as_ptr(), gg.as_ptr(), n, tau as f32, gg.as_mut_ptr()) };
        prop_assert_eq!(s, HS_OK);
        prop_assert_eq!(&gg[..], &gx[..n]);
    }

    #[test]
    fn topk_matches_sort_reference(data in prop::collection::vec(-4i32..4, 0..60), kf in 0.0f64..=1.0) {
        let n = data.len();
        let k = ((kf * n as f64) as usize).min(n);
        let x: Vec<f64> = data.iter().map(|&v| v as f64 * 0.5).collect();
        // reference: stable sort of indices by value descending, ties by index
        let mut idx: Vec<usize> = (0..n).collect();
        idx.sort_by(|&a, &b| x[b].partial_cmp(&x[a]).unwrap().then(a.cmp(&b)));
        let mut want = vec![0.0f64; n];
        for &i in &idx[..k] { want[i] = 1.0; }
        let mut y = vec![7.0f64; n];
        // SAFETY: valid buffers of length n.
        let s = unsafe { hs_binary_argmax_f64(x.as_ptr(), n, k, y.as_mut_ptr()) };
        prop_assert_eq!(s, HS_OK);
        prop_assert_eq!(&y, &want);
        let mut xy = x.clone();
        // SAFETY: y == x in-place alias.
        let s = unsafe { hs_binary_argmax_f64(xy.as_ptr(), n, k, xy.as_mut_ptr()) };
        prop_assert_eq!(s, HS_OK);
        prop_assert_eq!(&xy, &want);
        let xf: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let mut yf = vec![7.0f32; n];
        // SAFETY: valid buffers of length n.
        let s = unsafe { hs_binary_argmax_f32(xf.as_ptr(), n, k, yf.as_mut_ptr()) };
        prop_assert_eq!(s, HS_OK);
        prop_assert!(yf.iter().zip(&want).all(|(a, b)| *a as f64 == *b));
    }
}

/// Reference multiclass loss in f64 (sum reduction, label-count k).
fn reference_multiclass(logits: &[f64], labels: &[u32], classes: usize, tau: f64) -> f64 {
    let b = labels.len();
    let mut total = 0.0;
    for c in 0..classes {
        let z: Vec<f64> = (0..b).map(|i| logits[i * classes + c] / tau).collect();
        let kc = labels.iter().filter(|&&l| l as usize == c).count() as f64;
        let p = reference_projection(&z, kc);
        for i in 0..b {
            let t = if labels[i] as usize == c { 1.0 } else { 0.0 };
            total += 0.5 * (p[i] - t) * (p[i] - t);
        }
    }
    total
}

#[test]
fn losses_match_reference_and_finite_differences() {
    // binary
    let x = [0.9f64, 0.5, 0.1, -3.0, 1.5, 0.2];
    let t = [1.0f64, 0.0, 1.0, 0.0, 0.0, 0.0];
    let (k, tau) = (2.0, 0.7);
    let mut loss = f64::NAN;
    let mut g = [0.0f64; 6];
    // SAFETY: valid buffers.
    let s = unsafe {
        hs_hypersimplex_loss_f64(x.as_ptr(), t.as_ptr(), 6, k, tau, &mut loss, g.as_mut_ptr())
    };
    assert_eq!(s, HS_OK);
    let lf = |x: &[f64]| {
        let z: Vec<f64> = x.iter().map(|v| v / tau).collect();
        let p = reference_projection(&z, k);
        p.iter()
            .zip(&t)
            .map(|(a, b)| 0.5 * (a - b) * (a - b))
            .sum::<f64>()
    };
    assert!((loss - lf(&x)).abs() < 1e-12);
    for i in 0..6 {
        let h = 1e-6;
        let (mut xp, mut xm) = (x, x);
        xp[i] += h;
        xm[i] -= h;
        let fd = (lf(&xp) - lf(&xm)) / (2.0 * h);
        assert!((fd - g[i]).abs() < 1e-5, "i={i} fd={fd} g={}", g[i]);
    }
    // no gradient requested
    let mut loss2 = 0.0f64;
    // SAFETY: grad_x NULL means "skip".
    let s = unsafe {
        hs_hypersimplex_loss_f64(x.as_ptr(), t.as_ptr(), 6, k, tau, &mut loss2, null_mut())
    };
    assert_eq!(s, HS_OK);
    assert_eq!(loss, loss2);

    // multiclass: alloc and scratch variants agree, match the reference and finite differences
    let (b, c) = (6usize, 3usize);
    let logits: Vec<f64> = (0..b * c).map(|i| (i as f64 * 1.37).sin() * 1.5).collect();
    let labels = [0u32, 2, 1, 0, 2, 2];
    let mut l1 = 0.0f64;
    let mut g1 = vec![0.0f64; b * c];
    // SAFETY: valid buffers.
    let s = unsafe {
        hs_hypersimplex_loss_multiclass_f64(
            logits.as_ptr(),
            labels.as_ptr(),
            b,
            c,
            null(),
            0.9,
            HS_REDUCTION_SUM,
            &mut l1,
            g1.as_mut_ptr(),
        )
    };
    assert_eq!(s, HS_OK);
    assert!((l1 - reference_multiclass(&logits, &labels, c, 0.9)).abs() < 1e-12);
    let mut l2 = 0.0f64;
    let mut g2 = vec![0.0f64; b * c];
    let mut scratch = vec![0.0f64; hs_multiclass_scratch_len(b, c)];
    // SAFETY: valid buffers.
    let s = unsafe {
        hs_hypersimplex_loss_multiclass_scratch_f64(
            logits.as_ptr(),
            labels.as_ptr(),
            b,
            c,
            null(),
            0.9,
            HS_REDUCTION_SUM,
            &mut l2,
            g2.as_mut_ptr(),
            scratch.as_mut_ptr(),
            scratch.len(),
        )
    };
    assert_eq!(s, HS_OK);
    assert_eq!((l1, &g1), (l2, &g2));
    for i in 0..b * c {
        let h = 1e-6;
        let (mut p, mut m) = (logits.clone(), logits.clone());
        p[i] += h;
        m[i] -= h;
        let fd = (reference_multiclass(&p, &labels, c, 0.9)
            - reference_multiclass(&m, &labels, c, 0.9))
            / (2.0 * h);
        assert!((fd - g1[i]).abs() < 1e-5, "i={i} fd={fd} g={}", g1[i]);
    }
    // mean reduction = sum·2/(B·C); explicit per-class k equal to the label counts = NULL k
    let counts = [2.0f64, 1.0, 3.0];
    let mut l3 = 0.0f64;
    let mut g3 = vec![0.0f64; b * c];
    // SAFETY: valid buffers.
    let s = unsafe {
        hs_hypersimplex_loss_multiclass_f64(
            logits.as_ptr(),
            labels.as_ptr(),
            b,
            c,
            counts.as_ptr(),
            0.9,
            HS_REDUCTION_MEAN,
            &mut l3,
            g3.as_mut_ptr(),
        )
    };
    assert_eq!(s, HS_OK);
    assert!((l3 - l1 * 2.0 / (b * c) as f64).abs() < 1e-12);
    for (a, b_) in g3.iter().zip(&g1) {
        assert!((a - b_ * 2.0 / (b * c) as f64).abs() < 1e-12);
    }
    // f32 version agrees with f64
    let lf32: Vec<f32> = logits.iter().map(|&v| v as f32).collect();
    let mut l4 = 0.0f32;
    // SAFETY: valid buffers.
    let s = unsafe {
        hs_hypersimplex_loss_multiclass_f32(
            lf32.as_ptr(),
            labels.as_ptr(),
            b,
            c,
            null(),
            0.9,
            HS_REDUCTION_SUM,
            &mut l4,
            null_mut(),
        )
    };
    assert_eq!(s, HS_OK);
    assert!((l4 as f64 - l1).abs() < 1e-5);
}

/// One bad call: it must return `want` and leave the sentinel-filled outputs untouched.
fn expect_refused(name: &str, want: i32, got: i32, outputs: &[&[f32]]) {
    assert_eq!(
        got,
        want,
        "{name}: got {got} ({}), want {want} ({})",
        msg(got),
        msg(want)
    );
    for o in outputs {
        assert!(o.iter().all(|&v| v == SENTINEL), "{name}: output modified");
    }
}

#[test]
fn bad_input_gives_specific_status_and_untouched_outputs() {
    let x = [0.5f32, 1.0, -1.0, 2.0];
    let t = [1.0f32, 0.0, 0.0, 1.0];
    let mut y = [SENTINEL; 4];
    let mut g = [SENTINEL; 4];
    let mut loss = [SENTINEL; 1];
    let inf = f32::INFINITY;
    let nan = f32::NAN;
    unsafe {
        // SAFETY (whole block): every pointer is valid for the length passed, or deliberately
        // NULL / misaligned / overlapping, which the library must reject without touching it.
        let yp = y.as_mut_ptr();
        let s = hs_soft_binary_argmax_f32(x.as_ptr(), 4, 5.0, 1.0, yp);
        expect_refused("k > n", HS_ERR_INVALID_K, s, &[&y]);
        let s = hs_soft_binary_argmax_f32(x.as_ptr(), 4, -0.5, 1.0, yp);
        expect_refused("k < 0", HS_ERR_INVALID_K, s, &[&y]);
        let s = hs_soft_binary_argmax_f32(x.as_ptr(), 4, f64::NAN, 1.0, yp);
        expect_refused("k NaN", HS_ERR_INVALID_K, s, &[&y]);
        for tau in [0.0, -1.0, nan, inf] {
            let s = hs_soft_binary_argmax_f32(x.as_ptr(), 4, 2.0, tau, yp);
            expect_refused("bad tau", HS_ERR_INVALID_TAU, s, &[&y]);
        }
        let s = hs_soft_binary_argmax_f32(x.as_ptr(), 4, 2.0, 1e-45, yp);
        expect_refused("1/tau overflow", HS_ERR_SCALE_OVERFLOW, s, &[&y]);
        let big = [1e30f32, 0.0, 1.0, 2.0];
        let s = hs_soft_binary_argmax_f32(big.as_ptr(), 4, 2.0, 1e-10, yp);
        expect_refused("x/tau overflow", HS_ERR_SCALE_OVERFLOW, s, &[&y]);
        for bad in [nan, inf, -inf] {
            let xb = [0.5f32, bad, 1.0, 2.0];
            let s = hs_soft_binary_argmax_f32(xb.as_ptr(), 4, 2.0, 1.0, yp);
            expect_refused("non-finite x", HS_ERR_NON_FINITE_INPUT, s, &[&y]);
            let s = hs_binary_argmax_f32(xb.as_ptr(), 4, 2, yp);
            expect_refused("top-k non-finite", HS_ERR_NON_FINITE_INPUT, s, &[&y]);
        }
        let s = hs_soft_binary_argmax_f32(null(), 4, 2.0, 1.0, yp);
        expect_refused("NULL x", HS_ERR_NULL_POINTER, s, &[&y]);
        let s = hs_soft_binary_argmax_f32(x.as_ptr(), 4, 2.0, 1.0, null_mut());
        assert_eq!(s, HS_ERR_NULL_POINTER);
        // NULL is fine with n == 0
        assert_eq!(
            hs_soft_binary_argmax_f32(null(), 0, 0.0, 1.0, null_mut()),
            HS_OK
        );
        assert_eq!(
            hs_soft_binary_argmax_f32(null(), 0, 1.0, 1.0, null_mut()),
            HS_ERR_INVALID_K
        );
        assert_eq!(hs_binary_argmax_f32(null(), 0, 0, null_mut()), HS_OK);
        assert_eq!(
            hs_soft_binary_argmax_vjp_f32(null(), null(), 0, 1.0, null_mut()),
            HS_OK
        );
        // misaligned
        let mut raw = [SENTINEL; 9];
        let mis = (raw.as_mut_ptr() as *mut u8).add(1) as *mut f32;
        let s = hs_soft_binary_argmax_f32(x.as_ptr(), 4, 2.0, 1.0, mis);
        expect_refused("misaligned y", HS_ERR_MISALIGNED, s, &[&raw]);
        // partial overlap (y = x shifted by one element)
        let mut buf = [0.5f32, 1.0, -1.0, 2.0, SENTINEL];
        let before = buf;
        let s = hs_soft_binary_argmax_f32(buf.as_ptr(), 4, 2.0, 1.0, buf.as_mut_ptr().add(1));
        assert_eq!(s, HS_ERR_OVERLAP);
        assert_eq!(buf, before);
        let s = hs_binary_argmax_f32(buf.as_ptr().add(1), 4, 2, buf.as_mut_ptr());
        assert_eq!(s, HS_ERR_OVERLAP);
        assert_eq!(buf, before);
        // size overflow
        let s = hs_soft_binary_argmax_f32(x.as_ptr(), usize::MAX / 2, 2.0, 1.0, yp);
        expect_refused("len overflow", HS_ERR_LENGTH_MISMATCH, s, &[&y]);
        let s = hs_binary_argmax_f32(x.as_ptr(), 4, 5, yp);
        expect_refused("top-k k > n", HS_ERR_INVALID_K, s, &[&y]);

        // rows
        let ks = [2.0f64, 5.0];
        let x8 = [0.5f32, 1.0, -1.0, 2.0, 0.0, 0.1, 0.2, 0.3];
        let mut y8 = [SENTINEL; 8];
        let s =
            hs_soft_binary_argmax_rows_f32(x8.as_ptr(), 2, 4, ks.as_ptr(), 1.0, y8.as_mut_ptr());
        expect_refused("rows: k of row 1 > n", HS_ERR_INVALID_K, s, &[&y8]);
        let ks = [2.0f64, 1.0];
        let x8b = [0.5f32, 1.0, -1.0, 2.0, 0.0, 0.1, nan, 0.3];
        let s =
            hs_soft_binary_argmax_rows_f32(x8b.as_ptr(), 2, 4, ks.as_ptr(), 1.0, y8.as_mut_ptr());
        expect_refused("rows: NaN in row 1", HS_ERR_NON_FINITE_INPUT, s, &[&y8]);
        let mut xb = x8b;
        let s =
            hs_soft_binary_argmax_rows_f32(xb.as_ptr(), 2, 4, ks.as_ptr(), 1.0, xb.as_mut_ptr());
        assert_eq!(s, HS_ERR_NON_FINITE_INPUT);
        assert_eq!(
            xb[..6],
            x8b[..6],
            "in-place rows: row 0 must not be written"
        );
        let s = hs_soft_binary_argmax_rows_f32(
            x8.as_ptr(),
            usize::MAX,
            4,
            ks.as_ptr(),
            1.0,
            y8.as_mut_ptr(),
        );
        expect_refused("rows*n overflow", HS_ERR_LENGTH_MISMATCH, s, &[&y8]);
        let s = hs_soft_binary_argmax_rows_f32(x8.as_ptr(), 2, 4, null(), 1.0, y8.as_mut_ptr());
        expect_refused("rows: NULL k", HS_ERR_NULL_POINTER, s, &[&y8]);
        let s =
            hs_soft_binary_argmax_rows_f32(x8.as_ptr(), 2, 4, ks.as_ptr(), 0.0, y8.as_mut_ptr());
        expect_refused("rows: tau", HS_ERR_INVALID_TAU, s, &[&y8]);
        assert_eq!(
            hs_soft_binary_argmax_rows_f32(null(), 3, 0, [0.0; 3].as_ptr(), 1.0, null_mut()),
            HS_OK
        );
        assert_eq!(
            hs_soft_binary_argmax_rows_f32(null(), 3, 0, [1.0, 0.0, 0.0].as_ptr(), 1.0, null_mut()),
            HS_ERR_INVALID_K
        );
        let s = hs_soft_binary_argmax_vjp_rows_f32(
            x8.as_ptr(),
            x8b.as_ptr(),
            2,
            4,
            1.0,
            y8.as_mut_ptr(),
        );
        expect_refused("vjp rows: NaN g", HS_ERR_NON_FINITE_INPUT, s, &[&y8]);
        let s = hs_soft_binary_argmax_vjp_rows_f32(
            x8.as_ptr(),
            x8.as_ptr(),
            2,
            4,
            -1.0,
            y8.as_mut_ptr(),
        );
        expect_refused("vjp rows: tau", HS_ERR_INVALID_TAU, s, &[&y8]);

        // vjp
        let gp = g.as_mut_ptr();
        let s =
            hs_soft_binary_argmax_vjp_f32(x.as_ptr(), [0.0, nan, 0.0, 0.0].as_ptr(), 4, 1.0, gp);
        expect_refused("vjp NaN g", HS_ERR_NON_FINITE_INPUT, s, &[&g]);
        let s = hs_soft_binary_argmax_vjp_f32(x.as_ptr(), x.as_ptr(), 4, 0.0, gp);
        expect_refused("vjp tau", HS_ERR_INVALID_TAU, s, &[&g]);
        let mut yy = [0.5f32, 0.5, 0.0, 1.0];
        let s = hs_soft_binary_argmax_vjp_f32(yy.as_ptr(), x.as_ptr(), 4, 1.0, yy.as_mut_ptr());
        assert_eq!(s, HS_ERR_OVERLAP, "grad_x == y is not an allowed alias");
        assert_eq!(yy, [0.5, 0.5, 0.0, 1.0]);

        // binary loss
        let lp = loss.as_mut_ptr();
        let s = hs_hypersimplex_loss_f32(
            x.as_ptr(),
            [0.0, 1.5, 0.0, 1.0].as_ptr(),
            4,
            2.0,
            1.0,
            lp,
            gp,
        );
        expect_refused("target > 1", HS_ERR_INVALID_TARGET, s, &[&loss, &g]);
        let s = hs_hypersimplex_loss_f32(
            x.as_ptr(),
            [0.0, nan, 0.0, 1.0].as_ptr(),
            4,
            2.0,
            1.0,
            lp,
            gp,
        );
        expect_refused("target NaN", HS_ERR_INVALID_TARGET, s, &[&loss, &g]);
        let s = hs_hypersimplex_loss_f32(x.as_ptr(), t.as_ptr(), 4, 4.5, 1.0, lp, gp);
        expect_refused("loss k", HS_ERR_INVALID_K, s, &[&loss, &g]);
        let s = hs_hypersimplex_loss_f32(x.as_ptr(), t.as_ptr(), 4, 2.0, nan, lp, gp);
        expect_refused("loss tau", HS_ERR_INVALID_TAU, s, &[&loss, &g]);
        let s = hs_hypersimplex_loss_f32(
            [inf, 0.0, 0.0, 0.0].as_ptr(),
            t.as_ptr(),
            4,
            2.0,
            1.0,
            lp,
            gp,
        );
        expect_refused("loss inf x", HS_ERR_NON_FINITE_INPUT, s, &[&loss, &g]);
        let s = hs_hypersimplex_loss_f32(x.as_ptr(), t.as_ptr(), 4, 2.0, 1.0, null_mut(), gp);
        expect_refused("NULL loss", HS_ERR_NULL_POINTER, s, &[&g]);
        let mut xl = [0.5f32, 1.0, -1.0, 2.0, SENTINEL];
        let s = hs_hypersimplex_loss_f32(
            xl.as_ptr(),
            t.as_ptr(),
            4,
            2.0,
            1.0,
            xl.as_mut_ptr().add(2),
            gp,
        );
        expect_refused("loss inside x", HS_ERR_OVERLAP, s, &[&g]);
        let s = hs_hypersimplex_loss_f32(xl.as_ptr(), t.as_ptr(), 4, 2.0, 1.0, lp, xl.as_mut_ptr());
        expect_refused("grad_x == x", HS_ERR_OVERLAP, s, &[&loss]);
        assert_eq!(xl, [0.5, 1.0, -1.0, 2.0, SENTINEL]);

        // multiclass
        let logits = [0.1f32, 0.2, 0.3, 0.4, 0.5, 0.6];
        let labels = [0u32, 2];
        let mut gl = [SENTINEL; 6];
        let glp = gl.as_mut_ptr();
        let s = hs_hypersimplex_loss_multiclass_f32(
            logits.as_ptr(),
            [0, 3].as_ptr(),
            2,
            3,
            null(),
            1.0,
            0,
            lp,
            glp,
        );
        expect_refused(
            "label 3 of 3 classes",
            HS_ERR_LABEL_OUT_OF_RANGE,
            s,
            &[&loss, &gl],
        );
        let s = hs_hypersimplex_loss_multiclass_f32(
            logits.as_ptr(),
            labels.as_ptr(),
            2,
            3,
            null(),
            1.0,
            2,
            lp,
            glp,
        );
        expect_refused("reduction 2", HS_ERR_INVALID_REDUCTION, s, &[&loss, &gl]);
        let s = hs_hypersimplex_loss_multiclass_f32(
            logits.as_ptr(),
            labels.as_ptr(),
            2,
            3,
            [1.0, 3.0, 0.0].as_ptr(),
            1.0,
            0,
            lp,
            glp,
        );
        expect_refused("k_c > batch", HS_ERR_INVALID_K, s, &[&loss, &gl]);
        let s = hs_hypersimplex_loss_multiclass_f32(
            logits.as_ptr(),
            labels.as_ptr(),
            2,
            3,
            null(),
            -2.0,
            0,
            lp,
            glp,
        );
        expect_refused("multiclass tau", HS_ERR_INVALID_TAU, s, &[&loss, &gl]);
        let s = hs_hypersimplex_loss_multiclass_f32(
            [0.1f32, 0.2, nan, 0.4, 0.5, 0.6].as_ptr(),
            labels.as_ptr(),
            2,
            3,
            null(),
            1.0,
            0,
            lp,
            glp,
        );
        expect_refused("multiclass NaN", HS_ERR_NON_FINITE_INPUT, s, &[&loss, &gl]);
        let s = hs_hypersimplex_loss_multiclass_f32(
            logits.as_ptr(),
            labels.as_ptr(),
            usize::MAX,
            3,
            null(),
            1.0,
            0,
            lp,
            glp,
        );
        expect_refused(
            "batch*classes overflow",
            HS_ERR_LENGTH_MISMATCH,
            s,
            &[&loss, &gl],
        );
        let s = hs_hypersimplex_loss_multiclass_f32(
            logits.as_ptr(),
            null(),
            2,
            3,
            null(),
            1.0,
            0,
            lp,
            glp,
        );
        expect_refused("NULL labels", HS_ERR_NULL_POINTER, s, &[&loss, &gl]);
        let mut scratch = [SENTINEL; 1];
        let s = hs_hypersimplex_loss_multiclass_scratch_f32(
            logits.as_ptr(),
            labels.as_ptr(),
            2,
            3,
            null(),
            1.0,
            0,
            lp,
            glp,
            scratch.as_mut_ptr(),
            1,
        );
        expect_refused("scratch 1 < 2", HS_ERR_SCRATCH_TOO_SMALL, s, &[&loss, &gl]);
        let s = hs_hypersimplex_loss_multiclass_scratch_f32(
            logits.as_ptr(),
            labels.as_ptr(),
            2,
            3,
            null(),
            1.0,
            0,
            lp,
            glp,
            glp,
            6,
        );
        expect_refused("scratch == grad", HS_ERR_OVERLAP, s, &[&loss, &gl]);
        // empty batch is fine and writes loss 0
        let mut l0 = SENTINEL;
        assert_eq!(
            hs_hypersimplex_loss_multiclass_f32(
                null(),
                null(),
                0,
                3,
                null(),
                1.0,
                1,
                &mut l0,
                null_mut()
            ),
            HS_OK
        );
        assert_eq!(l0, 0.0);
    }
}

#[test]
fn status_messages_and_version() {
    let all = [
        HS_OK,
        HS_ERR_LENGTH_MISMATCH,
        HS_ERR_INVALID_K,
        HS_ERR_NON_INTEGER_K,
        HS_ERR_INVALID_TAU,
        HS_ERR_NON_FINITE_INPUT,
        HS_ERR_SCALE_OVERFLOW,
        HS_ERR_LABEL_OUT_OF_RANGE,
        HS_ERR_SCRATCH_TOO_SMALL,
        HS_ERR_INVALID_TARGET,
        HS_ERR_INVALID_REDUCTION,
        HS_ERR_NULL_POINTER,
        HS_ERR_MISALIGNED,
        HS_ERR_OVERLAP,
        HS_ERR_OUT_OF_MEMORY,
        HS_ERR_PANIC,
    ];
    let msgs: Vec<String> = all.iter().map(|&s| msg(s)).collect();
    for (i, m) in msgs.iter().enumerate() {
        assert!(!m.is_empty() && m != "unknown status", "{}", all[i]);
        assert!(!msgs[i + 1..].contains(m), "duplicate message {m}");
    }
    for s in [1, 5, -11, -99, -105, i32::MIN, i32::MAX] {
        assert_eq!(msg(s), "unknown status");
    }
    // SAFETY: static NUL-terminated string.
    let v = unsafe { CStr::from_ptr(hs_version()) }.to_str().unwrap();
    assert_eq!(v, env!("CARGO_PKG_VERSION"));
}
