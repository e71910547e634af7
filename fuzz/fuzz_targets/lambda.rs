//! The multiclass loss's thresholds and what uses them:
//! - `hs_hypersimplex_loss_multiclass_lambda_*` (f32, f64) against the plain multiclass
//!   function: the same status, loss and gradient bit for bit, and each class column's λ_c
//!   such that the column's projection `Σ_b clip(X[b][c]/τ − λ_c, 0, 1)` is k_c (in f64, on
//!   columns of finite, moderate `X/τ`; λ = 0 for an empty batch);
//! - the f16 and bf16 multiclass losses, with and without λ, against the f32 ones on the
//!   widened logits: the same status (or `HS_ERR_SCALE_OVERFLOW` where a gradient is asked
//!   for and `2/τ` is large), the f32 loss and λ bit for bit, each gradient entry the f32 one
//!   rounded once to nearest even;
//! - `hs_calibrated_argmax_*` against its documented formula, `argmax_c (fl(X[b][c]·fl(1/τ))
//!   − λ_c)` in f64, ties to the lower class, and its refusals.
//!
//! Every output (`*loss`, the gradient, λ, the predictions) untouched on error.
#![no_main]

#[path = "common.rs"]
mod common;
use common::*;
use hs_ffi::half;

const LSENT: f64 = -3.125;
const SENT16: u16 = 0x7e5a;
const PSENT: u32 = 0xdead_beef;

/// The shape, labels, k, τ and reduction of one multiclass call.
struct Case {
    batch: usize,
    classes: usize,
    tau: f64,
    red: i32,
    labels: Vec<u32>,
    ks: Vec<f64>,
    /// `k` passed as NULL (label counts).
    null_k: bool,
    with_grad: bool,
}

impl Case {
    fn new(b: &mut Bytes<'_>) -> Case {
        let batch = b.below(40);
        let classes = b.below(7);
        let tau = b.tau();
        let red = match b.u8() {
            0..=120 => HS_REDUCTION_SUM,
            121..=250 => HS_REDUCTION_MEAN,
            v => i32::from(v),
        };
        let labels = (0..batch)
            .map(|_| match b.u8() {
                255 => classes as u32,
                v => u32::from(v) % (classes.max(1) as u32),
            })
            .collect();
        let ks = (0..classes).map(|_| b.k(batch)).collect();
        let null_k = b.u8() < 96;
        let with_grad = b.u8() & 1 == 0;
        Case {
            batch,
            classes,
            tau,
            red,
            labels,
            ks,
            null_k,
            with_grad,
        }
    }
    fn k(&self) -> *const f64 {
        if self.null_k {
            std::ptr::null()
        } else {
            self.ks.as_ptr()
        }
    }
    fn grad<T>(&self, g: &mut [T]) -> *mut T {
        if self.with_grad {
            g.as_mut_ptr()
        } else {
            std::ptr::null_mut()
        }
    }
}

/// `_lambda_` against the plain function, and the thresholds themselves.
fn lambda<T: F>(b: &mut Bytes<'_>) {
    let c = Case::new(b);
    let (batch, classes) = (c.batch, c.classes);
    let m = batch * classes;
    let x: Vec<T> = vector(b, m);
    let tau = T::of(c.tau);
    let (mut l1, mut g1) = (T::SENTINEL, vec![T::SENTINEL; m]);
    let (mut l2, mut g2) = (T::SENTINEL, vec![T::SENTINEL; m]);
    let mut lam = vec![LSENT; classes];
    let (gp1, gp2) = (c.grad(&mut g1), c.grad(&mut g2));
    // SAFETY (both calls): buffers of the stated lengths; NULL k and gradient are allowed.
    let s1 = unsafe {
        T::mc(
            x.as_ptr(),
            c.labels.as_ptr(),
            batch,
            classes,
            c.k(),
            tau,
            c.red,
            &mut l1,
            gp1,
        )
    };
    let s2 = unsafe {
        T::mc_lambda(
            x.as_ptr(),
            c.labels.as_ptr(),
            batch,
            classes,
            c.k(),
            tau,
            c.red,
            &mut l2,
            gp2,
            lam.as_mut_ptr(),
        )
    };
    check_status(s2, "multiclass lambda");
    assert_eq!(s2, s1, "lambda: other status than the plain function");
    if s2 != HS_OK {
        assert_eq!(
            l2.bits(),
            T::SENTINEL.bits(),
            "lambda: loss written on error"
        );
        untouched(&g2, "lambda gradient");
        assert!(
            lam.iter().all(|v| v.to_bits() == LSENT.to_bits()),
            "λ written on error"
        );
        return;
    }
    assert_eq!(
        l2.bits(),
        l1.bits(),
        "lambda: other loss than the plain function"
    );
    assert_eq!(
        bits(&g2),
        bits(&g1),
        "lambda: other gradient than the plain function"
    );
    let s = 1.0 / c.tau;
    for (col, &l) in lam.iter().enumerate() {
        if batch == 0 {
            assert_eq!(l, 0.0, "λ of an empty batch");
            continue;
        }
        let z: Vec<f64> = (0..batch).map(|r| x[r * classes + col].to() * s).collect();
        // columns of moderate, finite X/τ (λ's own rounding, relative, stays far below 1)
        if !z.iter().all(|v| v.abs() <= 64.0) {
            continue;
        }
        // NULL k: the label counts
        let k = if c.null_k {
            c.labels.iter().filter(|&&l| l as usize == col).count() as f64
        } else {
            c.ks[col]
        };
        let sum: f64 = z.iter().map(|v| (v - l).clamp(0.0, 1.0)).sum();
        let tol = 64.0 * T::EPS * 128.0 * batch as f64 + 1e-12;
        assert!(
            (sum - k).abs() <= tol,
            "class {col}: λ {l} projects to Σ {sum}, k {k} (batch {batch}, τ {tau:?})"
        );
    }
}

/// The half-precision multiclass losses (with and without λ) against the f32 ones.
fn half_multiclass(b: &mut Bytes<'_>) {
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
    type McL = unsafe extern "C" fn(
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
    let bf = b.u8() & 1 == 0;
    type Widen = fn(u16) -> f32;
    type Narrow = fn(f32) -> u16;
    let (name, max, widen, narrow, mc, mcl): (_, f64, Widen, Narrow, Mc, McL) = if bf {
        (
            "bf16",
            3.3895313892515355e38,
            widen_bf16,
            narrow_bf16,
            half::hs_hypersimplex_loss_multiclass_bf16,
            half::hs_hypersimplex_loss_multiclass_lambda_bf16,
        )
    } else {
        (
            "f16",
            65504.0,
            widen_f16,
            narrow_f16,
            half::hs_hypersimplex_loss_multiclass_f16,
            half::hs_hypersimplex_loss_multiclass_lambda_f16,
        )
    };
    let c = Case::new(b);
    let (batch, classes) = (c.batch, c.classes);
    let m = batch * classes;
    let mag = b.magnitude();
    let x: Vec<u16> = (0..m).map(|_| narrow(b.value(mag) as f32)).collect();
    let xw: Vec<f32> = x.iter().map(|&h| widen(h)).collect();
    let tau = c.tau as f32;
    let (mut l32, mut g32, mut lam32) = (-7.25f32, vec![-7.25f32; m], vec![LSENT; classes]);
    let gp = c.grad(&mut g32);
    // SAFETY (every call): buffers of the stated lengths; NULL k and gradient are allowed.
    let s32 = unsafe {
        hs_ffi::loss::hs_hypersimplex_loss_multiclass_lambda_f32(
            xw.as_ptr(),
            c.labels.as_ptr(),
            batch,
            classes,
            c.k(),
            tau,
            c.red,
            &mut l32,
            gp,
            lam32.as_mut_ptr(),
        )
    };
    let (mut lh, mut gh) = (-7.25f32, vec![SENT16; m]);
    let gp = c.grad(&mut gh);
    let sh = unsafe {
        mc(
            x.as_ptr(),
            c.labels.as_ptr(),
            batch,
            classes,
            c.k(),
            tau,
            c.red,
            &mut lh,
            gp,
        )
    };
    let (mut ll, mut gl, mut lam) = (-7.25f32, vec![SENT16; m], vec![LSENT; classes]);
    let gp = c.grad(&mut gl);
    let sl = unsafe {
        mcl(
            x.as_ptr(),
            c.labels.as_ptr(),
            batch,
            classes,
            c.k(),
            tau,
            c.red,
            &mut ll,
            gp,
            lam.as_mut_ptr(),
        )
    };
    check_status(sh, "half multiclass");
    check_status(sl, "half multiclass lambda");
    assert_eq!(sl, sh, "{name}: lambda and plain statuses differ");
    let refused = s32 == HS_OK && sh == HS_ERR_SCALE_OVERFLOW && c.with_grad;
    if refused {
        assert!(
            2.0 / f64::from(tau) > max / 2.0,
            "{name}: refused 2/τ = {}",
            2.0 / tau
        );
    } else {
        assert_eq!(sh, s32, "{name}: status against the f32 function");
    }
    if sh != HS_OK {
        for (l, g) in [(lh, &gh), (ll, &gl)] {
            assert_eq!(
                l.to_bits(),
                (-7.25f32).to_bits(),
                "{name}: loss written on error"
            );
            assert!(
                g.iter().all(|&v| v == SENT16),
                "{name}: gradient written on error"
            );
        }
        assert!(
            lam.iter().all(|v| v.to_bits() == LSENT.to_bits()),
            "{name}: λ written on error"
        );
        return;
    }
    assert_eq!(lh.to_bits(), l32.to_bits(), "{name}: not the f32 loss");
    assert_eq!(
        ll.to_bits(),
        l32.to_bits(),
        "{name} lambda: not the f32 loss"
    );
    assert_eq!(bits(&lam), bits(&lam32), "{name}: not the f32 λ");
    if c.with_grad {
        let want: Vec<u16> = g32.iter().map(|&v| narrow(v)).collect();
        assert_eq!(gh, want, "{name}: not the rounded f32 gradient");
        assert_eq!(gl, want, "{name} lambda: not the rounded f32 gradient");
    }
}

/// `hs_calibrated_argmax_*` against `argmax_c (fl(X·fl(1/τ)) − λ_c)`, ties to the lower class.
fn calibrated<T: F>(b: &mut Bytes<'_>) {
    let batch = b.below(24);
    let classes = b.below(8);
    let tau = T::of(b.tau());
    let x: Vec<T> = vector(b, batch * classes);
    let lam: Vec<f64> = (0..classes).map(|_| b.value(1.0)).collect();
    let mut pred = vec![PSENT; batch];
    // SAFETY: buffers of the stated lengths.
    let s = unsafe {
        T::calibrated(
            x.as_ptr(),
            batch,
            classes,
            lam.as_ptr(),
            tau,
            pred.as_mut_ptr(),
        )
    };
    check_status(s, "calibrated");
    let untouched_pred =
        |p: &[u32]| assert!(p.iter().all(|&v| v == PSENT), "pred written on error");
    if classes == 0 && batch > 0 {
        assert_eq!(s, HS_ERR_LENGTH_MISMATCH, "nothing to predict from");
        return untouched_pred(&pred);
    }
    let t = tau.to();
    // fl(1/τ) and fl(X·s) in T: both exact in f64 before the one rounding to T
    let scale = T::of(1.0 / t);
    let scaled: Vec<f64> = x.iter().map(|v| T::of(v.to() * scale.to()).to()).collect();
    let valid = t > 0.0
        && t.is_finite()
        && scale.to().is_finite()
        && lam.iter().all(|l| !l.is_nan())
        && x.iter().all(|v| v.to().is_finite())
        && scaled.iter().all(|v| v.is_finite());
    if !valid {
        assert!(
            [
                HS_ERR_INVALID_TAU,
                HS_ERR_SCALE_OVERFLOW,
                HS_ERR_NON_FINITE_INPUT
            ]
            .contains(&s),
            "calibrated: status {s} for invalid input"
        );
        return untouched_pred(&pred);
    }
    assert_eq!(s, HS_OK, "calibrated refused valid input (τ {t})");
    for (r, &p) in pred.iter().enumerate() {
        let mut best = (0usize, f64::NAN);
        for (col, &l) in lam.iter().enumerate() {
            let score = scaled[r * classes + col] - l;
            if col == 0 || score > best.1 {
                best = (col, score);
            }
        }
        assert_eq!(
            p as usize, best.0,
            "row {r}: predicted {p}, the formula {}",
            best.0
        );
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut b = Bytes(data);
    match b.u8() % 5 {
        0 => lambda::<f32>(&mut b),
        1 => lambda::<f64>(&mut b),
        2 => half_multiclass(&mut b),
        3 => calibrated::<f32>(&mut b),
        _ => calibrated::<f64>(&mut b),
    }
});
