//! The sharded functions on one rank (the identity allreduce) against the unsharded ones, and
//! their refusals: a specific status, outputs untouched, the callback's failure reported.

use super::refusals::expect_refused;
use super::*;
use crate::sharded::*;
use core::ffi::c_void;

/// One rank: the sum over ranks is the values themselves; counts the calls in `*ctx`.
unsafe extern "C" fn identity(_v: *mut i64, _len: usize, ctx: *mut c_void) -> i32 {
    if !ctx.is_null() {
        // SAFETY: the tests pass a pointer to a live u32 or NULL.
        unsafe { *ctx.cast::<u32>() += 1 };
    }
    0
}

/// Fails at its second call (the first is the parameter check).
unsafe extern "C" fn fails_second(_v: *mut i64, _len: usize, ctx: *mut c_void) -> i32 {
    // SAFETY: the tests pass a pointer to a live u32.
    let n = unsafe { &mut *ctx.cast::<u32>() };
    *n += 1;
    if *n >= 2 {
        -1
    } else {
        0
    }
}

#[test]
fn one_rank_equals_unsharded() {
    let x: Vec<f64> = (0..200)
        .map(|i| ((i * 37 % 101) as f64 - 50.0) / 17.0)
        .collect();
    let g: Vec<f64> = (0..200)
        .map(|i| ((i * 13 % 29) as f64 - 14.0) / 7.0)
        .collect();
    let (mut y0, mut y1) = (vec![0.0; 200], vec![0.0; 200]);
    let mut calls = 0u32;
    let ctx = (&mut calls as *mut u32).cast::<c_void>();
    // SAFETY: every buffer holds 200 elements; ctx points to a live u32.
    unsafe {
        assert_eq!(
            hs_soft_binary_argmax_f64(x.as_ptr(), 200, 31.5, 0.7, y0.as_mut_ptr()),
            HS_OK
        );
        let s = hs_soft_binary_argmax_sharded_f64(
            x.as_ptr(),
            200,
            31.5,
            0.7,
            Some(identity),
            ctx,
            y1.as_mut_ptr(),
        );
        assert_eq!(s, HS_OK);
        assert!(
            (2..=1 + 40 + 64 + 2).contains(&*ctx.cast::<u32>()),
            "{} allreduce calls",
            *ctx.cast::<u32>()
        );
        for i in 0..200 {
            assert!((y0[i] - y1[i]).abs() <= 1e-12, "y[{i}]");
        }
        let (mut g0, mut g1) = (vec![0.0; 200], vec![0.0; 200]);
        assert_eq!(
            hs_soft_binary_argmax_vjp_f64(y0.as_ptr(), g.as_ptr(), 200, 0.7, g0.as_mut_ptr()),
            HS_OK
        );
        *ctx.cast::<u32>() = 0;
        let s = hs_soft_binary_argmax_vjp_sharded_f64(
            y0.as_ptr(),
            g.as_ptr(),
            200,
            0.7,
            Some(identity),
            ctx,
            g1.as_mut_ptr(),
        );
        assert_eq!((s, *ctx.cast::<u32>()), (HS_OK, 2));
        for i in 0..200 {
            assert!((g0[i] - g1[i]).abs() <= 1e-12, "g[{i}]");
        }
        let labels: Vec<u32> = (0..40).map(|i| (i * 7 % 5) as u32).collect();
        let (mut l0, mut l1) = (0.0f64, 0.0f64);
        let (mut gl0, mut gl1) = (vec![0.0; 200], vec![0.0; 200]);
        let s = hs_hypersimplex_loss_multiclass_f64(
            x.as_ptr(),
            labels.as_ptr(),
            40,
            5,
            null(),
            0.5,
            HS_REDUCTION_MEAN,
            &mut l0,
            gl0.as_mut_ptr(),
        );
        assert_eq!(s, HS_OK);
        let s = hs_hypersimplex_loss_multiclass_sharded_f64(
            x.as_ptr(),
            labels.as_ptr(),
            40,
            5,
            null(),
            0.5,
            HS_REDUCTION_MEAN,
            Some(identity),
            null_mut(),
            &mut l1,
            gl1.as_mut_ptr(),
        );
        assert_eq!(s, HS_OK);
        assert!((l0 - l1).abs() <= 1e-12 * l0.abs().max(1.0), "{l0} {l1}");
        for i in 0..200 {
            assert!((gl0[i] - gl1[i]).abs() <= 1e-12, "grad[{i}]");
        }
    }
}

#[test]
fn sharded_refusals() {
    let x = [0.5f32, 1.0, -1.0, 2.0];
    let labels = [0u32, 1];
    let mut y = [SENTINEL; 4];
    let mut loss = [SENTINEL; 1];
    let mut calls = 0u32;
    let ctx = (&mut calls as *mut u32).cast::<c_void>();
    let yp = y.as_mut_ptr();
    // SAFETY (whole block): every pointer is valid for the length passed, or deliberately
    // NULL / overlapping, which the library must reject without touching the outputs.
    unsafe {
        let s = hs_soft_binary_argmax_sharded_f32(x.as_ptr(), 4, 2.0, 1.0, None, null_mut(), yp);
        expect_refused("NULL callback", HS_ERR_NULL_POINTER, s, &[&y]);
        let s = hs_soft_binary_argmax_sharded_f32(
            x.as_ptr(),
            4,
            5.0,
            1.0,
            Some(identity),
            null_mut(),
            yp,
        );
        expect_refused("k > global n", HS_ERR_INVALID_K, s, &[&y]);
        let s = hs_soft_binary_argmax_sharded_f32(
            x.as_ptr(),
            4,
            2.0,
            0.0,
            Some(identity),
            null_mut(),
            yp,
        );
        expect_refused("tau 0", HS_ERR_INVALID_TAU, s, &[&y]);
        let xb = [0.5f32, f32::NAN, 1.0, 2.0];
        let s = hs_soft_binary_argmax_sharded_f32(
            xb.as_ptr(),
            4,
            2.0,
            1.0,
            Some(identity),
            null_mut(),
            yp,
        );
        expect_refused("NaN x", HS_ERR_NON_FINITE_INPUT, s, &[&y]);
        let xp = yp.cast_const();
        let s = hs_soft_binary_argmax_sharded_f32(xp, 4, 2.0, 1.0, Some(identity), null_mut(), yp);
        expect_refused("y == x", HS_ERR_OVERLAP, s, &[&y]);
        let s =
            hs_soft_binary_argmax_sharded_f32(x.as_ptr(), 4, 2.0, 1.0, Some(fails_second), ctx, yp);
        expect_refused("callback fails", HS_ERR_COLLECTIVE, s, &[&y]);
        *ctx.cast::<u32>() = 0;
        let g = [1.0f32, 0.0, 0.0, 0.0];
        let yv = [0.5f32, 0.5, 0.0, 1.0];
        let s = hs_soft_binary_argmax_vjp_sharded_f32(
            yv.as_ptr(),
            g.as_ptr(),
            4,
            1.0,
            Some(fails_second),
            ctx,
            yp,
        );
        expect_refused("vjp callback fails", HS_ERR_COLLECTIVE, s, &[&y]);
        let gb = [f32::INFINITY, 0.0, 0.0, 0.0];
        let s = hs_soft_binary_argmax_vjp_sharded_f32(
            yv.as_ptr(),
            gb.as_ptr(),
            4,
            1.0,
            Some(identity),
            null_mut(),
            yp,
        );
        expect_refused("vjp inf g", HS_ERR_NON_FINITE_INPUT, s, &[&y]);
        let lp = loss.as_mut_ptr();
        let s = hs_hypersimplex_loss_multiclass_sharded_f32(
            x.as_ptr(),
            labels.as_ptr(),
            2,
            2,
            null(),
            1.0,
            7,
            Some(identity),
            null_mut(),
            lp,
            yp,
        );
        expect_refused("bad reduction", HS_ERR_INVALID_REDUCTION, s, &[&y, &loss]);
        let bad = [0u32, 2];
        let s = hs_hypersimplex_loss_multiclass_sharded_f32(
            x.as_ptr(),
            bad.as_ptr(),
            2,
            2,
            null(),
            1.0,
            HS_REDUCTION_SUM,
            Some(identity),
            null_mut(),
            lp,
            yp,
        );
        expect_refused("bad label", HS_ERR_LABEL_OUT_OF_RANGE, s, &[&y, &loss]);
        let k = [3.0f64, 0.5];
        let s = hs_hypersimplex_loss_multiclass_sharded_f32(
            x.as_ptr(),
            labels.as_ptr(),
            2,
            2,
            k.as_ptr(),
            1.0,
            HS_REDUCTION_SUM,
            Some(identity),
            null_mut(),
            lp,
            yp,
        );
        expect_refused("k_c > global batch", HS_ERR_INVALID_K, s, &[&y, &loss]);
        let s = hs_hypersimplex_loss_multiclass_sharded_f32(
            x.as_ptr(),
            labels.as_ptr(),
            2,
            2,
            null(),
            1.0,
            HS_REDUCTION_SUM,
            Some(identity),
            null_mut(),
            null_mut(),
            yp,
        );
        expect_refused("NULL loss", HS_ERR_NULL_POINTER, s, &[&y]);
        *ctx.cast::<u32>() = 0;
        let s = hs_hypersimplex_loss_multiclass_sharded_f32(
            x.as_ptr(),
            labels.as_ptr(),
            2,
            2,
            null(),
            1.0,
            HS_REDUCTION_SUM,
            Some(fails_second),
            ctx,
            lp,
            yp,
        );
        expect_refused("loss callback fails", HS_ERR_COLLECTIVE, s, &[&y, &loss]);
    }
}
