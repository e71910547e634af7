//! `hs_soft_binary_argmax_vjp_f32/_f64`, out of place and in place: documented status only; on
//! error the output is untouched; on success entries outside the free set are exactly +0, the
//! free entries match `(g_i − mean)/τ` computed in f64, and the in-place call gives the same
//! bits.
#![no_main]

#[path = "common.rs"]
mod common;
use common::*;

fn run<T: F>(b: &mut Bytes<'_>) {
    let n = b.below(300);
    let tau = T::of(b.tau());
    // y: free values, exact 0 and 1, and now and then something out of range or NaN
    let y: Vec<T> = (0..n)
        .map(|_| {
            T::of(match b.u8() {
                0..=79 => 0.0,
                80..=159 => 1.0,
                160..=253 => f64::from(b.u8()) / 256.0 + 1.0 / 512.0,
                254 => f64::NAN,
                _ => 1.5,
            })
        })
        .collect();
    let g: Vec<T> = vector(b, n);
    let mut o = vec![T::SENTINEL; n];
    // SAFETY: buffers of length n.
    let s = unsafe { T::vjp(y.as_ptr(), g.as_ptr(), n, tau, o.as_mut_ptr()) };
    check_status(s, "vjp");
    let mut gi = g.clone();
    // SAFETY: grad_x == g, both of length n.
    let si = unsafe { T::vjp(y.as_ptr(), gi.as_ptr(), n, tau, gi.as_mut_ptr()) };
    assert_eq!(s, si, "in place: other status");
    if s != HS_OK {
        untouched(&o, "vjp");
        assert_eq!(bits(&gi), bits(&g), "in place: g changed on error");
        return;
    }
    assert_eq!(bits(&gi), bits(&o), "in place: other bits");
    let free: Vec<bool> = y.iter().map(|v| v.to() > 0.0 && v.to() < 1.0).collect();
    let cnt = free.iter().filter(|&&f| f).count();
    let mean = if cnt > 0 {
        g.iter()
            .zip(&free)
            .filter(|p| *p.1)
            .map(|p| p.0.to())
            .sum::<f64>()
            / cnt as f64
    } else {
        0.0
    };
    // the sum's rounding: at most about cnt·ε·Σ|g| over the free set, so ε·Σ|g| on the mean
    let abs_sum: f64 = g
        .iter()
        .zip(&free)
        .filter(|p| *p.1)
        .map(|p| p.0.to().abs())
        .sum();
    let s = 1.0 / tau.to();
    for i in 0..n {
        let v = o[i].to();
        assert!(v.is_finite(), "vjp: non-finite entry {i} with status 0");
        if free[i] {
            let want = (g[i].to() - mean) * s;
            let tol = 8.0 * T::EPS * (g[i].to().abs() + mean.abs() + abs_sum) * s
                + 4.0 * T::TINY * s.max(1.0);
            assert!(
                (v - want).abs() <= tol,
                "vjp[{i}] = {v}, want {want}: tau {tau:?} y {y:?} g {g:?}"
            );
        } else {
            assert_eq!(o[i].bits(), 0, "vjp[{i}] outside the free set is not +0");
        }
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| by_type(data, run::<f32>, run::<f64>));
