//! `hs_binary_argmax_f32/_f64`: documented status only; on error the output is untouched; on
//! success exactly k ones, on the k largest entries (ties: lower index), in place the same; on
//! the ranks (n ≤ 24), the selection and the sampled bracket (n ≥ 4096) of the std build.
//! `hs_binary_argmax_rows_f32/_f64` (up to 40 rows, a k per row): each row bit for bit the
//! single-vector call's, the status the first failing row's, nothing written on error, in
//! place the same.
#![no_main]

#[path = "common.rs"]
mod common;
use common::*;

/// Rows of one length, each k its own: against the single-vector function row by row.
fn rows<T: F>(b: &mut Bytes<'_>) {
    let r = b.below(41);
    let n = b.below(70);
    let ks: Vec<usize> = (0..r)
        .map(|_| if b.u8() < 8 { n + 1 } else { b.below(n + 1) })
        .collect();
    let x: Vec<T> = vector(b, r * n);
    let mut y = vec![T::SENTINEL; r * n];
    // SAFETY: buffers of r·n values and r counts.
    let s = unsafe { T::topk_rows(x.as_ptr(), r, n, ks.as_ptr(), y.as_mut_ptr()) };
    check_status(s, "topk rows");
    let mut xi = x.clone();
    // SAFETY: as above, in place.
    let si = unsafe { T::topk_rows(xi.as_ptr(), r, n, ks.as_ptr(), xi.as_mut_ptr()) };
    assert_eq!(s, si, "topk rows in place: other status");
    // row by row: the first failing row's status, else every row's mask
    let mut want = HS_OK;
    let mut single = vec![T::SENTINEL; r * n];
    for (i, &k) in ks.iter().enumerate() {
        let (xr, yr) = (&x[i * n..][..n], &mut single[i * n..][..n]);
        // SAFETY: buffers of n values.
        let st = unsafe { T::topk(xr.as_ptr(), n, k, yr.as_mut_ptr()) };
        if st != HS_OK {
            want = st;
            break;
        }
    }
    assert_eq!(
        s, want,
        "topk rows: status against row by row (n {n}, ks {ks:?})"
    );
    if s != HS_OK {
        untouched(&y, "topk rows");
        assert_eq!(
            bits(&xi),
            bits(&x),
            "topk rows in place: x changed on error"
        );
        return;
    }
    assert_eq!(bits(&y), bits(&single), "topk rows against row by row");
    assert_eq!(bits(&xi), bits(&y), "topk rows in place: other bits");
}

fn run<T: F>(b: &mut Bytes<'_>) {
    if b.u8() & 3 == 0 {
        return rows::<T>(b);
    }
    // short vectors (ranks, the selection), and one in eight past the sampled bracket's 4096
    let n = if b.u8() & 7 == 0 {
        4096 + b.below(2000)
    } else {
        b.below(300)
    };
    let k = b.below(n + 2);
    let x: Vec<T> = vector(b, n);
    let mut y = vec![T::SENTINEL; n];
    // SAFETY: buffers of length n.
    let s = unsafe { T::topk(x.as_ptr(), n, k, y.as_mut_ptr()) };
    check_status(s, "topk");
    let mut xi = x.clone();
    // SAFETY: one buffer of length n, in place.
    let si = unsafe { T::topk(xi.as_ptr(), n, k, xi.as_mut_ptr()) };
    assert_eq!(s, si, "in place: other status");
    if s != HS_OK {
        untouched(&y, "topk");
        assert_eq!(bits(&xi), bits(&x), "in place: x changed on error");
        // refused only for k > n, NaN, or ±∞ masks that k cannot keep (k < #(+∞) or
        // k > n − #(−∞))
        let plus = x.iter().filter(|v| v.to() == f64::INFINITY).count();
        let minus = x.iter().filter(|v| v.to() == f64::NEG_INFINITY).count();
        assert!(
            k > n || x.iter().any(|v| v.to().is_nan()) || k < plus || k + minus > n,
            "topk refused valid input: {s}"
        );
        return;
    }
    assert_eq!(bits(&xi), bits(&y), "in place: other bits");
    let mut order: Vec<usize> = (0..n).collect();
    // By value (−0 and +0 tie), larger first, ties to the lower index.
    order.sort_by(|&i, &j| x[j].to().partial_cmp(&x[i].to()).unwrap().then(i.cmp(&j)));
    for (rank, &i) in order.iter().enumerate() {
        let want = if rank < k { 1.0 } else { 0.0 };
        assert_eq!(y[i].to(), want, "topk: y[{i}] (rank {rank}, k {k})");
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| by_type(data, run::<f32>, run::<f64>));
