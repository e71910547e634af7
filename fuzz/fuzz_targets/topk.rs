//! `hs_binary_argmax_f32/_f64`: documented status only; on error the output is untouched; on
//! success exactly k ones, on the k largest entries (ties: lower index), in place the same; on
//! the ranks (n ≤ 24), the selection and the sampled bracket (n ≥ 4096) of the std build.
#![no_main]

#[path = "common.rs"]
mod common;
use common::*;

fn run<T: F>(b: &mut Bytes<'_>) {
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
