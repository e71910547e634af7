//! The C ABI, called through its `extern "C"` functions exactly as C would: results against
//! an independent f64 reference, in-place aliases against out-of-place calls, and the safety
//! contract (a specific status and untouched outputs for every kind of bad input).
//! (Unit tests rather than integration tests: the crate builds no rlib, see Cargo.toml.)
//! `values.rs`: results and aliases of every family; `refusals.rs`: bad input of every kind.
#![allow(clippy::float_cmp)]

mod half;
mod refusals;
#[cfg(feature = "std")] // the sharded functions are in the std build only
mod sharded;
mod values;

use crate::backward::*;
use crate::forward::*;
use crate::loss::*;
#[cfg(feature = "std")] // used by the std-only multiclass λ test
use crate::predict::*;
use crate::status::*;
use crate::topk::*;
use proptest::prelude::*;
use std::ffi::CStr;
use std::ptr::{null, null_mut};

/// Slow, obviously-correct projection onto Δ(n,k) in f64: sort the breakpoints and scan.
pub(super) fn reference_projection(z: &[f64], k: f64) -> Vec<f64> {
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
pub(super) fn reference_vjp(y: &[f64], g: &[f64], tau: f64) -> Vec<f64> {
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

pub(super) fn msg(status: i32) -> String {
    // SAFETY: hs_status_message returns a static NUL-terminated string for any input.
    unsafe { CStr::from_ptr(hs_status_message(status)) }
        .to_str()
        .unwrap()
        .to_owned()
}

/// Without the std feature the allocating multiclass functions are not built; the tests call
/// these stand-ins, which allocate the scratch (none when it cannot be had: the pointer checks
/// the tests exercise with impossible sizes come first) and call the caller-scratch variant.
#[cfg(not(feature = "std"))]
macro_rules! multiclass_stand_in {
    ($name:ident, $scratch_fn:ident, $t:ty) => {
        #[allow(clippy::too_many_arguments)]
        pub(super) unsafe fn $name(
            logits: *const $t,
            labels: *const u32,
            batch: usize,
            classes: usize,
            k: *const f64,
            tau: $t,
            reduction: i32,
            loss: *mut $t,
            grad_logits: *mut $t,
        ) -> i32 {
            let len = hs_multiclass_scratch_len(batch, classes);
            let mut buf: Vec<$t> = Vec::new();
            if buf.try_reserve_exact(len).is_ok() {
                buf.resize(len, 0.0);
            }
            let (p, n) = if buf.is_empty() {
                (null_mut(), 0)
            } else {
                (buf.as_mut_ptr(), len)
            };
            // SAFETY: the caller's pointers are passed on unchanged; the scratch is owned here.
            unsafe {
                $scratch_fn(
                    logits,
                    labels,
                    batch,
                    classes,
                    k,
                    tau,
                    reduction,
                    loss,
                    grad_logits,
                    p,
                    n,
                )
            }
        }
    };
}
#[cfg(not(feature = "std"))]
multiclass_stand_in!(
    hs_hypersimplex_loss_multiclass_f32,
    hs_hypersimplex_loss_multiclass_scratch_f32,
    f32
);
#[cfg(not(feature = "std"))]
multiclass_stand_in!(
    hs_hypersimplex_loss_multiclass_f64,
    hs_hypersimplex_loss_multiclass_scratch_f64,
    f64
);

/// Fill value of the outputs whose untouchedness the tests check.
pub(super) const SENTINEL: f32 = -12345.0;

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
        HS_ERR_COLLECTIVE,
    ];
    let msgs: Vec<String> = all.iter().map(|&s| msg(s)).collect();
    for (i, m) in msgs.iter().enumerate() {
        assert!(!m.is_empty() && m != "unknown status", "{}", all[i]);
        assert!(!msgs[i + 1..].contains(m), "duplicate message {m}");
    }
    for s in [1, 5, -12, -99, -105, i32::MIN, i32::MAX] {
        assert_eq!(msg(s), "unknown status");
    }
    // SAFETY: static NUL-terminated string.
    let v = unsafe { CStr::from_ptr(hs_version()) }.to_str().unwrap();
    assert_eq!(v, env!("CARGO_PKG_VERSION"));
}
