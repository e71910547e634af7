//! `hs_soft_binary_argmax_rows_*` and `hs_soft_binary_argmax_vjp_rows_*` against the
//! single-vector functions row by row: the same status class (success iff every row succeeds),
//! bitwise the same rows, and all outputs untouched when any row fails.
#![no_main]

#[path = "common.rs"]
mod common;
use common::*;

fn run<T: F>(b: &mut Bytes<'_>) {
    // up to 40 rows: whole blocks of the short-row solver (16 rows, two groups of 8) and
    // partial ones, with a k per row
    let rows = b.below(41);
    let n = b.below(70);
    let tau = T::of(b.tau());
    let ks: Vec<f64> = (0..rows).map(|_| b.k(n)).collect();
    let x: Vec<T> = vector(b, rows * n);
    let mut y = vec![T::SENTINEL; rows * n];
    // SAFETY (every call): buffers of the stated lengths.
    let s = unsafe { T::rows(x.as_ptr(), rows, n, ks.as_ptr(), tau, y.as_mut_ptr()) };
    check_status(s, "rows");
    let mut singles = Vec::new();
    let mut all_ok = true;
    for r in 0..rows {
        let mut yr = vec![T::SENTINEL; n];
        let sr = unsafe { T::forward(x[r * n..].as_ptr(), n, ks[r], tau, yr.as_mut_ptr()) };
        all_ok &= sr == HS_OK;
        singles.extend(yr);
    }
    if s != HS_OK {
        untouched(&y, "rows");
        assert!(!all_ok || rows == 0, "rows failed ({s}) where every row succeeds alone: rows {rows} n {n} ks {ks:?} tau {tau:?}");
        return;
    }
    assert!(all_ok, "rows succeeded where a row fails alone");
    assert_eq!(bits(&y), bits(&singles), "rows: other bits than row by row");
    // backward over the computed y with cotangents from the remaining bytes
    let g: Vec<T> = vector(b, rows * n);
    let mut o = vec![T::SENTINEL; rows * n];
    let s = unsafe { T::vjp_rows(y.as_ptr(), g.as_ptr(), rows, n, tau, o.as_mut_ptr()) };
    check_status(s, "vjp_rows");
    let mut singles = Vec::new();
    let mut all_ok = true;
    for r in 0..rows {
        let mut or = vec![T::SENTINEL; n];
        let sr = unsafe {
            T::vjp(
                y[r * n..].as_ptr(),
                g[r * n..].as_ptr(),
                n,
                tau,
                or.as_mut_ptr(),
            )
        };
        all_ok &= sr == HS_OK;
        singles.extend(or);
    }
    if s != HS_OK {
        untouched(&o, "vjp_rows");
        assert!(
            !all_ok || rows == 0,
            "vjp_rows failed ({s}) where every row succeeds alone"
        );
        return;
    }
    assert!(all_ok, "vjp_rows succeeded where a row fails alone");
    assert_eq!(
        bits(&o),
        bits(&singles),
        "vjp_rows: other bits than row by row"
    );
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| by_type(data, run::<f32>, run::<f64>));
