//! `hs_soft_binary_argmax_f32/_f64`, out of place and in place, with bad pointers too:
//! documented status only; on error the output is untouched; on success y ∈ [0,1] within the
//! documented bound of an f64 reference, and the in-place call gives the same bits.
#![no_main]

#[path = "common.rs"]
mod common;
use common::*;

fn run<T: F>(b: &mut Bytes<'_>) {
    let n = b.below(300);
    let k = b.k(n);
    let tau = T::of(b.tau());
    let mode = b.u8() % 8;
    let x: Vec<T> = vector(b, n);
    let mut y = vec![T::SENTINEL; n + 1];
    // SAFETY (every call): the pointers point to buffers of the stated lengths, except where a
    // mode passes NULL or an overlapping pointer on purpose (the ABI must refuse those).
    let s = match mode {
        0 if n > 0 => unsafe { T::forward(std::ptr::null(), n, k, tau, y.as_mut_ptr()) },
        1 if n > 2 => {
            let mut buf = x.clone();
            let p = buf.as_mut_ptr();
            let s = unsafe { T::forward(p, n - 1, k, tau, p.add(1)) };
            assert_eq!(
                s, HS_ERR_OVERLAP,
                "partial overlap: n {n} k {k} tau {tau:?}"
            );
            assert_eq!(bits(&buf), bits(&x), "overlap: buffer changed");
            return;
        }
        _ => unsafe { T::forward(x.as_ptr(), n, k, tau, y.as_mut_ptr()) },
    };
    check_status(s, "forward");
    if mode == 0 && n > 0 {
        assert_eq!(s, HS_ERR_NULL_POINTER);
    }
    assert_eq!(y[n].bits(), T::SENTINEL.bits(), "forward wrote past n");
    if s != HS_OK {
        untouched(&y, "forward");
        if mode == 0 && n > 0 {
            return; // the NULL-pointer call; an in-place call with real data is another input
        }
        let mut xi = x.clone();
        let si = unsafe { T::forward(xi.as_ptr(), n, k, tau, xi.as_mut_ptr()) };
        assert_eq!(si, s, "in place: other status");
        assert_eq!(
            bits(&xi),
            bits(&x),
            "in place: x changed on error: s {s} si {si} n {n} k {k} tau {tau:?} x {x:?} xi {xi:?}"
        );
        return;
    }
    check_projection(&x, tau, k, &y[..n], "forward");
    let mut xi = x.clone();
    let si = unsafe { T::forward(xi.as_ptr(), n, k, tau, xi.as_mut_ptr()) };
    assert_eq!(si, HS_OK, "in place");
    assert_eq!(bits(&xi), bits(&y[..n]), "in place: other bits");
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| by_type(data, run::<f32>, run::<f64>));
