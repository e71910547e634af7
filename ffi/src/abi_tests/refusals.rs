//! Bad input of every kind: a specific status, and every output left as it was.

use super::*;

/// One bad call: it must return `want` and leave the sentinel-filled outputs untouched.
pub(super) fn expect_refused(name: &str, want: i32, got: i32, outputs: &[&[f32]]) {
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
        let xb = [0.5f32, nan, 1.0, 2.0];
        let s = hs_soft_binary_argmax_f32(xb.as_ptr(), 4, 2.0, 1.0, yp);
        expect_refused("NaN x", HS_ERR_NON_FINITE_INPUT, s, &[&y]);
        let s = hs_binary_argmax_f32(xb.as_ptr(), 4, 2, yp);
        expect_refused("top-k NaN", HS_ERR_NON_FINITE_INPUT, s, &[&y]);
        // ±∞ are masks: k must keep every +∞ at 1 and every −∞ at 0
        let xm = [inf, inf, 1.0, -inf];
        for k in [1.0, 1.5, 3.5, 4.0] {
            let s = hs_soft_binary_argmax_f32(xm.as_ptr(), 4, k, 1.0, yp);
            expect_refused("infeasible masks", HS_ERR_INVALID_K, s, &[&y]);
        }
        let s = hs_binary_argmax_f32(xm.as_ptr(), 4, 1, yp);
        expect_refused("top-k infeasible masks", HS_ERR_INVALID_K, s, &[&y]);
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
            [nan, 0.0, 0.0, 0.0].as_ptr(),
            t.as_ptr(),
            4,
            2.0,
            1.0,
            lp,
            gp,
        );
        expect_refused("loss NaN x", HS_ERR_NON_FINITE_INPUT, s, &[&loss, &g]);
        let s = hs_hypersimplex_loss_f32(
            [-inf, 0.0, -inf, 0.0].as_ptr(),
            t.as_ptr(),
            4,
            2.5,
            1.0,
            lp,
            gp,
        );
        expect_refused("loss infeasible masks", HS_ERR_INVALID_K, s, &[&loss, &g]);
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

/// A bad row anywhere in a batch of short or long rows (first, middle, last; a batch small
/// enough for one thread and one the pool splits): the out-of-place rows functions leave the
/// finiteness, mask and VJP checks to the SIMD batch (issue 14), which must still refuse with
/// the status the row gets alone and write nothing; in place (`y = x`, `grad_x = g`), where
/// the C ABI checks every row itself and then solves them one by one, likewise.
#[test]
fn bad_row_anywhere_in_a_batch_is_refused_untouched() {
    for n in [1usize, 10, 64, 128, 129, 300] {
        for rows in [3usize, (1 << 15) / n + 9] {
            for at in [0, rows / 2, rows - 1] {
                let what = format!("n={n} rows={rows} at={at}");
                // (x value, tau, k for every row): NaN, x/τ overflow, +∞ with k < 1, −∞ with k = n
                let n_f = n as f64;
                let cases = [
                    (f32::NAN, 1.0f32, 0.5f64.min(n_f)),
                    (f32::MAX, 0.25, 0.5f64.min(n_f)),
                    (f32::INFINITY, 1.0, 0.5f64.min(n_f)),
                    (f32::NEG_INFINITY, 1.0, n_f),
                ];
                for (bad, tau, k) in cases {
                    let mut x = vec![0.25f32; rows * n];
                    x[at * n + n / 2] = bad;
                    let ks = vec![k; rows];
                    let mut alone = vec![SENTINEL; n];
                    // SAFETY: x holds rows·n floats, ks rows doubles, the outputs their lengths.
                    let want = unsafe {
                        let xr = x.as_ptr().add(at * n);
                        hs_soft_binary_argmax_rows_f32(
                            xr,
                            1,
                            n,
                            ks.as_ptr(),
                            tau,
                            alone.as_mut_ptr(),
                        )
                    };
                    assert_ne!(want, HS_OK, "{what} x={bad}: the row alone was accepted");
                    let mut y = vec![SENTINEL; rows * n];
                    // SAFETY: as above.
                    let s = unsafe {
                        hs_soft_binary_argmax_rows_f32(
                            x.as_ptr(),
                            rows,
                            n,
                            ks.as_ptr(),
                            tau,
                            y.as_mut_ptr(),
                        )
                    };
                    expect_refused(&format!("{what} rows x={bad}"), want, s, &[&y, &alone]);
                    // in place (y = x): checked before any row is overwritten
                    let mut xi = x.clone();
                    // SAFETY: as above; y is x itself, a documented alias.
                    let s = unsafe {
                        let p = xi.as_mut_ptr();
                        hs_soft_binary_argmax_rows_f32(p, rows, n, ks.as_ptr(), tau, p)
                    };
                    assert_eq!(s, want, "{what} rows in place x={bad}");
                    assert!(
                        same_bits(&xi, &x),
                        "{what} rows in place x={bad}: x modified"
                    );
                }
                // VJP: NaN in g, ±∞ in y, and an overflowing entry (g ≈ ±MAX on a free row, τ < 1)
                let y = vec![0.5f32; rows * n];
                for (yb, gb, tau) in [
                    (0.5f32, f32::NAN, 1.0f32),
                    (f32::INFINITY, 1.0, 1.0),
                    (0.5, f32::MAX, 0.25),
                ] {
                    let (mut yv, mut g) = (y.clone(), vec![1.0f32; rows * n]);
                    yv[at * n] = yb;
                    g[at * n] = gb;
                    if n > 1 {
                        g[at * n + 1] = -gb;
                    }
                    let mut alone = vec![SENTINEL; n];
                    // SAFETY: y, g hold rows·n floats; the outputs their lengths.
                    let want = unsafe {
                        let (yr, gr) = (yv.as_ptr().add(at * n), g.as_ptr().add(at * n));
                        hs_soft_binary_argmax_vjp_rows_f32(yr, gr, 1, n, tau, alone.as_mut_ptr())
                    };
                    let mut gx = vec![SENTINEL; rows * n];
                    // SAFETY: as above.
                    let s = unsafe {
                        hs_soft_binary_argmax_vjp_rows_f32(
                            yv.as_ptr(),
                            g.as_ptr(),
                            rows,
                            n,
                            tau,
                            gx.as_mut_ptr(),
                        )
                    };
                    // in place (grad_x = g), where the rows are solved one by one after
                    // the checks: a bad row must stop the call before the first row
                    let mut gi = g.clone();
                    // SAFETY: as above; grad_x is g itself, a documented alias.
                    let si = unsafe {
                        let p = gi.as_mut_ptr();
                        hs_soft_binary_argmax_vjp_rows_f32(yv.as_ptr(), p, rows, n, tau, p)
                    };
                    assert_eq!(si, want, "{what} vjp in place y={yb} g={gb}");
                    if want == HS_OK {
                        assert_eq!(s, HS_OK, "{what} vjp y={yb} g={gb}");
                        continue;
                    }
                    assert!(
                        same_bits(&gi, &g),
                        "{what} vjp in place y={yb} g={gb}: g modified"
                    );
                    expect_refused(
                        &format!("{what} vjp y={yb} g={gb}"),
                        want,
                        s,
                        &[&gx, &alone],
                    );
                }
            }
        }
    }
}

/// The same floats bit for bit (NaN included).
fn same_bits(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(p, q)| p.to_bits() == q.to_bits())
}

/// The multiclass family's outputs against its inputs and each other: `loss`, the gradient,
/// the caller's scratch and the thresholds `lambda` inside `logits`, `labels` or `k`, or inside
/// each other, are each `HS_ERR_OVERLAP`, with every output (and input) as it was.
#[cfg(feature = "std")]
#[test]
fn multiclass_outputs_may_not_overlap_inputs_or_each_other() {
    // Every buffer 8-byte aligned and at least 24 bytes long, so that any of them can hold the
    // λ of 3 classes (f64) or a gradient of 2 × 3 (f32) and no overlap tried below reaches
    // past its buffer: logits 2 × 3 in the bytes of three f64 zeros, labels, k and loss at the
    // start of theirs, the gradient in the first 6 of 8 floats.
    #[repr(align(8))]
    struct Al<T>(T);
    let mut lx = Al([0.0f64; 3]);
    let mut labels = Al([0u32, 2, 0, 0, 0, 0]);
    let mut k = Al([1.0f64, 1.0, 0.0]);
    let mut la = Al([SENTINEL; 6]);
    let mut ga = Al([SENTINEL; 8]);
    let mut lam = Al([f64::from(SENTINEL); 3]);
    let (loss, gl) = (&mut la.0, &mut ga.0);
    let xp = lx.0.as_mut_ptr().cast::<f32>();
    let (labp, kp) = (labels.0.as_mut_ptr(), k.0.as_mut_ptr());
    let (lp, glp, lamp) = (loss.as_mut_ptr(), gl.as_mut_ptr(), lam.0.as_mut_ptr());
    // SAFETY (all calls): every pointer is valid for the lengths the calls read and write.
    unsafe {
        let plain = |l: *mut f32, g: *mut f32| {
            hs_hypersimplex_loss_multiclass_f32(xp, labp, 2, 3, kp, 1.0, 0, l, g)
        };
        for (name, l, g) in [
            ("loss inside logits", xp.add(4), glp),
            ("loss inside labels", labp.add(1).cast::<f32>(), glp),
            ("loss inside k", kp.add(2).cast::<f32>(), glp),
            ("grad == logits", lp, xp),
            ("grad over labels", lp, labp.cast::<f32>()),
            ("grad over k", lp, kp.cast::<f32>()),
            ("loss inside grad", glp.add(5), glp),
        ] {
            let s = plain(l, g);
            expect_refused(name, HS_ERR_OVERLAP, s, &[loss, gl]);
        }
        let scratch = |sp: *mut f32, len: usize| {
            hs_hypersimplex_loss_multiclass_scratch_f32(
                xp, labp, 2, 3, kp, 1.0, 0, lp, glp, sp, len,
            )
        };
        // (2 floats: the batch, the least scratch the call takes)
        for (name, sp) in [
            ("scratch inside logits", xp.add(1)),
            ("scratch over labels", labp.cast::<f32>()),
            ("scratch over k", kp.cast::<f32>()),
            ("scratch over loss", lp),
            ("scratch over grad", glp.add(4)),
        ] {
            let s = scratch(sp, 2);
            expect_refused(name, HS_ERR_OVERLAP, s, &[loss, gl]);
        }
        let with_lambda = |lm: *mut f64| {
            hs_hypersimplex_loss_multiclass_lambda_f32(xp, labp, 2, 3, kp, 1.0, 0, lp, glp, lm)
        };
        for (name, lm) in [
            ("lambda == logits", lx.0.as_mut_ptr()),
            ("lambda over labels", labp.cast::<f64>()),
            ("lambda == k", kp),
            ("lambda over loss", lp.cast::<f64>()),
            ("lambda over grad", glp.add(2).cast::<f64>()),
        ] {
            let s = with_lambda(lm);
            expect_refused(name, HS_ERR_OVERLAP, s, &[loss, gl]);
            assert!(lam.0.iter().all(|&v| v == f64::from(SENTINEL)), "{name}");
        }
        assert_eq!(
            (lx.0, labels.0, k.0),
            ([0.0; 3], [0, 2, 0, 0, 0, 0], [1.0, 1.0, 0.0])
        );
        // the same buffers, apart: accepted
        assert_eq!(with_lambda(lamp), HS_OK);
        assert!(loss[0].is_finite() && loss[1..].iter().all(|&v| v == SENTINEL));
        assert!(lam.0.iter().all(|v| v.is_finite()));
        assert!(gl[..6].iter().all(|v| v.is_finite()) && gl[6..] == [SENTINEL; 2]);
    }
}
