//! Results against the f64 references and finite differences; in-place aliases against
//! out-of-place calls.

use super::*;

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

/// The `_scratch_` variant (core code, caller scratch only) and the allocating one (SIMD
/// kernels, columns in parallel, working sets for long columns) give the same loss and
/// gradient: bitwise for one block, up to the summation order above, for every class-k rule and reduction, up to batches that take the
/// working-set and multi-thread paths.
#[cfg(feature = "std")]
#[test]
fn multiclass_scratch_and_alloc_agree_bitwise() {
    let mut seed = 0x2545f4914f6cdd1du64;
    let mut unit = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 11) as f64 / (1u64 << 53) as f64
    };
    for &(b, c) in &[(1usize, 1usize), (7, 3), (1000, 10), (40_000, 3)] {
        let logits: Vec<f32> = (0..b * c).map(|_| (unit() * 6.0 - 3.0) as f32).collect();
        let labels: Vec<u32> = (0..b)
            .map(|_| (unit() * c as f64) as u32 % c as u32)
            .collect();
        let ks: Vec<f64> = (0..c).map(|_| unit() * b as f64).collect();
        for (kp, red) in [(null(), HS_REDUCTION_SUM), (ks.as_ptr(), HS_REDUCTION_MEAN)] {
            let (mut l1, mut l2) = (0.0f32, 0.0f32);
            let (mut g1, mut g2) = (vec![0.0f32; b * c], vec![0.0f32; b * c]);
            let mut scratch = vec![0.0f32; hs_multiclass_scratch_len(b, c)];
            // SAFETY: valid buffers of the stated lengths.
            let (s1, s2) = unsafe {
                (
                    hs_hypersimplex_loss_multiclass_f32(
                        logits.as_ptr(),
                        labels.as_ptr(),
                        b,
                        c,
                        kp,
                        0.7,
                        red,
                        &mut l1,
                        g1.as_mut_ptr(),
                    ),
                    hs_hypersimplex_loss_multiclass_scratch_f32(
                        logits.as_ptr(),
                        labels.as_ptr(),
                        b,
                        c,
                        kp,
                        0.7,
                        red,
                        &mut l2,
                        g2.as_mut_ptr(),
                        scratch.as_mut_ptr(),
                        scratch.len(),
                    ),
                )
            };
            assert_eq!((s1, s2), (HS_OK, HS_OK), "b={b} c={c}");
            // The loss sums in a different order (the SIMD crate by blocks), so it may differ
            // in the last bit of the f32 result above one block.
            assert!(
                (l1 - l2).abs() <= 2.0 * f32::EPSILON * l1.abs(),
                "loss b={b} c={c}: {l1} vs {l2}"
            );
            // Above one block the free-set means are summed in another order too.
            let gmax = g1.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let tol = if b <= 1000 {
                0.0
            } else {
                4.0 * f32::EPSILON * gmax
            };
            assert!(
                g1.iter().zip(&g2).all(|(p, q)| (p - q).abs() <= tol),
                "gradient b={b} c={c}"
            );
        }
    }
}

/// Issue 18: the multiclass λ through the C ABI equals the Rust functions' (same loss, same
/// gradient), and the calibrated prediction equals core's; bad pointers are refused with
/// the outputs untouched.
#[cfg(feature = "std")]
#[test]
fn multiclass_lambda_and_calibrated_argmax() {
    let (b, c) = (50usize, 4usize);
    let logits: Vec<f32> = (0..b * c)
        .map(|i| ((i * 37 % 23) as f32 - 11.0) * 0.3)
        .collect();
    let labels: Vec<u32> = (0..b).map(|i| (i * 7 % c) as u32).collect();
    let mut l1 = 0.0f32;
    let (mut g1, mut g2) = (vec![0.0f32; b * c], vec![0.0f32; b * c]);
    let mut lambda = vec![f64::NAN; c];
    // SAFETY (every call): buffers of the stated lengths.
    let s = unsafe {
        hs_hypersimplex_loss_multiclass_lambda_f32(
            logits.as_ptr(),
            labels.as_ptr(),
            b,
            c,
            null(),
            0.8,
            HS_REDUCTION_MEAN,
            &mut l1,
            g1.as_mut_ptr(),
            lambda.as_mut_ptr(),
        )
    };
    assert_eq!(s, HS_OK);
    let mut want = vec![0.0f64; c];
    let l2 = hypersimplex_simd::hypersimplex_loss_multiclass_lambda(
        &logits,
        &labels,
        c,
        hs_core::ClassK::LabelCounts,
        0.8,
        hs_core::Reduction::Mean,
        Some(&mut g2[..]),
        &mut want,
    )
    .unwrap();
    assert_eq!((l1, &g1, &lambda), (l2, &g2, &want));
    // calibrated prediction against core
    let mut pred = vec![99u32; b];
    let s = unsafe {
        hs_calibrated_argmax_f32(
            logits.as_ptr(),
            b,
            c,
            lambda.as_ptr(),
            0.8,
            pred.as_mut_ptr(),
        )
    };
    assert_eq!(s, HS_OK);
    let mut pw = vec![0u32; b];
    hs_core::calibrated_argmax(&logits, c, &lambda, 0.8f32, &mut pw).unwrap();
    assert_eq!(pred, pw);
    // refusals: NULL lambda, λ overlapping the gradient, pred overlapping λ; NaN in λ
    let mut keep = vec![5u32; b];
    let s =
        unsafe { hs_calibrated_argmax_f32(logits.as_ptr(), b, c, null(), 0.8, keep.as_mut_ptr()) };
    assert_eq!(s, HS_ERR_NULL_POINTER);
    let bad = [0.0, f64::NAN, 0.0, 0.0];
    let s = unsafe {
        hs_calibrated_argmax_f32(logits.as_ptr(), b, c, bad.as_ptr(), 0.8, keep.as_mut_ptr())
    };
    assert_eq!(s, HS_ERR_NON_FINITE_INPUT);
    let mut lam8 = [0.0f64; 8];
    let p = lam8.as_mut_ptr();
    let s =
        unsafe { hs_calibrated_argmax_f64(lam8.as_ptr(), 2, 2, p.add(4), 1.0, p.add(5).cast()) };
    assert_eq!(s, HS_ERR_OVERLAP);
    assert!(keep.iter().all(|&v| v == 5));
    let mut g3 = vec![7.0f32; b * c];
    let mut l3 = 7.0f32;
    let s = unsafe {
        hs_hypersimplex_loss_multiclass_lambda_f32(
            logits.as_ptr(),
            labels.as_ptr(),
            b,
            c,
            null(),
            0.8,
            HS_REDUCTION_MEAN,
            &mut l3,
            g3.as_mut_ptr(),
            null_mut(),
        )
    };
    assert_eq!(s, HS_ERR_NULL_POINTER);
    let s = unsafe {
        hs_hypersimplex_loss_multiclass_lambda_f32(
            logits.as_ptr(),
            labels.as_ptr(),
            b,
            c,
            null(),
            0.8,
            HS_REDUCTION_MEAN,
            &mut l3,
            g3.as_mut_ptr(),
            g3.as_mut_ptr().cast(),
        )
    };
    assert_eq!(s, HS_ERR_OVERLAP);
    assert!(l3 == 7.0 && g3.iter().all(|&v| v == 7.0));
}

/// `hs_binary_argmax_rows_*`: each row as the single-vector call (short rows and rows past the
/// sampled threshold, in place too), every row checked before any is written, and the
/// pointer refusals.
#[test]
fn topk_rows_match_single_calls_and_refuse_bad_rows() {
    let mut s = 0x1234_5678u64;
    let mut next = move || {
        s = s
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        // values on a coarse grid: ties in every row
        ((s >> 33) % 64) as f32 * 0.25 - 8.0
    };
    for (rows, n) in [
        (0usize, 5usize),
        (3, 1),
        (7, 10),
        (40, 33),
        (3, 5000),
        (5, 0),
    ] {
        let x: Vec<f32> = (0..rows * n).map(|_| next()).collect();
        let ks: Vec<usize> = (0..rows)
            .map(|r| if n == 0 { 0 } else { (r * 7 + 1) % (n + 1) })
            .collect();
        let mut want = vec![0.0f32; rows * n];
        for (r, &kr) in ks.iter().enumerate().take(rows) {
            // SAFETY: row r of x and want, n values each.
            let st = unsafe {
                hs_binary_argmax_f32(x.as_ptr().add(r * n), n, kr, want.as_mut_ptr().add(r * n))
            };
            assert_eq!(st, HS_OK);
        }
        let mut y = vec![SENTINEL; rows * n];
        // SAFETY: valid buffers of rows·n values and rows counts.
        let st =
            unsafe { hs_binary_argmax_rows_f32(x.as_ptr(), rows, n, ks.as_ptr(), y.as_mut_ptr()) };
        assert_eq!(st, HS_OK, "{rows} x {n}");
        assert_eq!(y, want, "{rows} x {n}");
        let mut xy = x.clone();
        // SAFETY: y == x, the in-place alias.
        let st = unsafe {
            hs_binary_argmax_rows_f32(xy.as_ptr(), rows, n, ks.as_ptr(), xy.as_mut_ptr())
        };
        assert_eq!(st, HS_OK);
        assert_eq!(xy, want, "{rows} x {n} in place");
        let xd: Vec<f64> = x.iter().map(|&v| v as f64).collect();
        let mut yd = vec![7.0f64; rows * n];
        // SAFETY: as above, in double.
        let st = unsafe {
            hs_binary_argmax_rows_f64(xd.as_ptr(), rows, n, ks.as_ptr(), yd.as_mut_ptr())
        };
        assert_eq!(st, HS_OK);
        assert!(
            yd.iter().zip(&want).all(|(a, b)| *a == *b as f64),
            "{rows} x {n} f64"
        );
    }
    // a bad last row (NaN) or middle row (k > n): nothing written, in place or not
    let (rows, n) = (6usize, 3000usize);
    let x: Vec<f32> = (0..rows * n).map(|_| next()).collect();
    let ks = vec![n / 2; rows];
    let mut nan = x.clone();
    nan[rows * n - 1] = f32::NAN;
    let mut big = ks.clone();
    big[3] = n + 1;
    for (xs, kk, err) in [
        (&nan, &ks, HS_ERR_NON_FINITE_INPUT),
        (&x, &big, HS_ERR_INVALID_K),
    ] {
        let mut y = vec![SENTINEL; rows * n];
        // SAFETY: valid buffers.
        let st =
            unsafe { hs_binary_argmax_rows_f32(xs.as_ptr(), rows, n, kk.as_ptr(), y.as_mut_ptr()) };
        assert_eq!(st, err);
        assert!(y.iter().all(|&v| v == SENTINEL), "output written on error");
        let mut xy = xs.clone();
        // SAFETY: in place.
        let st = unsafe {
            hs_binary_argmax_rows_f32(xy.as_ptr(), rows, n, kk.as_ptr(), xy.as_mut_ptr())
        };
        assert_eq!(st, err);
        assert!(
            xy.iter()
                .zip(xs.iter())
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "x written on error"
        );
    }
    let k1 = [1usize];
    let mut y = [0.0f32; 4];
    // SAFETY: NULL and overlapping pointers, refused before any access.
    unsafe {
        assert_eq!(
            hs_binary_argmax_rows_f32(null(), 1, 4, k1.as_ptr(), y.as_mut_ptr()),
            HS_ERR_NULL_POINTER
        );
        assert_eq!(
            hs_binary_argmax_rows_f32(y.as_ptr(), 1, 4, null(), y.as_mut_ptr()),
            HS_ERR_NULL_POINTER
        );
        assert_eq!(
            hs_binary_argmax_rows_f32(null(), 0, 4, null(), null_mut()),
            HS_OK
        );
        assert_eq!(
            hs_binary_argmax_rows_f32(y.as_ptr().add(1), 1, 2, k1.as_ptr(), y.as_mut_ptr()),
            HS_ERR_OVERLAP
        );
        assert_eq!(
            hs_binary_argmax_rows_f32(y.as_ptr(), usize::MAX, 2, k1.as_ptr(), y.as_mut_ptr()),
            HS_ERR_LENGTH_MISMATCH
        );
    }
}

/// `hs_set_num_threads` and `hs_get_num_threads`: the count set is the count reported (1: no
/// pool), 0 restores the documented default (`RAYON_NUM_THREADS` when it is a positive
/// integer, else the CPUs the process may use), every call returns `HS_OK`, and a batch large
/// enough for the pool to split (65536 values) gives the same bits on 3, 1 and the default
/// number of threads.
#[cfg(feature = "std")]
#[test]
fn thread_count_round_trips_and_leaves_results_alone() {
    use crate::threads::{hs_get_num_threads, hs_set_num_threads};
    let default = std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let (rows, n) = (4096usize, 16usize);
    let x: Vec<f32> = (0..rows * n)
        .map(|i| ((i * 7919 % 1000) as f32 - 500.0) / 300.0)
        .collect();
    let ks = vec![3.5f64; rows];
    let mut outs = vec![];
    for t in [3usize, 1, 0] {
        assert_eq!(hs_set_num_threads(t), HS_OK);
        assert_eq!(hs_get_num_threads(), if t == 0 { default } else { t });
        let mut y = vec![SENTINEL; rows * n];
        // SAFETY: x holds rows·n floats, ks rows doubles, y rows·n floats.
        let s = unsafe {
            hs_soft_binary_argmax_rows_f32(x.as_ptr(), rows, n, ks.as_ptr(), 1.0, y.as_mut_ptr())
        };
        assert_eq!(s, HS_OK);
        outs.push(y.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
    }
    assert!(
        outs.iter().all(|o| *o == outs[0]),
        "results depend on the thread count"
    );
}
