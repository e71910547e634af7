//! Times the hard top-k mask on one thread over `rows` rows of `n` (Gaussian logits, a fresh row
//! each time, so that the branch predictor cannot learn one input): memcpy of the same bytes,
//! the core's selection (`hypersimplex::binary_argmax`) and bisection (`_in_place`), this
//! crate's (`hypersimplex_simd::binary_argmax`, `_in_place`), and `slice::select_nth_unstable`
//! on a copy (which only finds the threshold), row by row; medians, ns per element.
//! `cargo run --release -p hypersimplex-simd --example topkbench -- [n] [k] [reps] [rows]` (k
//! defaults to n/2, rows to 2^20/n)
mod common;
use common::median_secs as med;

fn main() {
    let arg = |i: usize| {
        std::env::args()
            .nth(i)
            .and_then(|a| a.parse::<usize>().ok())
    };
    let n = arg(1).unwrap_or(1 << 20).max(1);
    let k = arg(2).unwrap_or(n / 2).min(n);
    let reps = arg(3).unwrap_or(11);
    let rows = arg(4).unwrap_or(((1 << 20) / n).max(1));
    let total = rows * n;
    let x = common::normal_logits(total);
    let (mut y, mut z) = (vec![0.0f32; total], vec![0.0f32; total]);
    let ns = |s: f64| s * 1e9 / total as f64;
    let copy = med(reps, || y.copy_from_slice(&x));
    println!("{rows} x {n}, k {k}: ns per element, ratio to memcpy");
    println!("memcpy              {:8.3}", ns(copy));
    let row = |name: &str, s: f64| println!("{name:<20}{:8.3}  {:6.1}x", ns(s), s / copy);
    let kf = k as f64;
    let each = |f: &dyn Fn(&[f32], &mut [f32]), y: &mut [f32]| {
        med(reps, || {
            for (xr, yr) in x.chunks(n).zip(y.chunks_mut(n)) {
                f(xr, yr)
            }
        })
    };
    row(
        "core select",
        each(
            &|a, b| hypersimplex::binary_argmax(a, kf, b).unwrap(),
            &mut y,
        ),
    );
    row(
        "simd",
        each(
            &|a, b| hypersimplex_simd::binary_argmax(a, kf, b).unwrap(),
            &mut z,
        ),
    );
    assert_eq!(y, z, "the two masks differ");
    let inplace = |f: &dyn Fn(&mut [f32])| {
        let mut w = x.clone();
        med(reps, || {
            w.copy_from_slice(&x);
            w.chunks_mut(n).for_each(f);
        }) - copy
    };
    row(
        "core in place",
        inplace(&|w| hypersimplex::binary_argmax_in_place(w, kf).unwrap()),
    );
    row(
        "simd in place",
        inplace(&|w| hypersimplex_simd::binary_argmax_in_place(w, kf).unwrap()),
    );
    if k >= 1 && k < n {
        let mut s = x.clone();
        row(
            "std select_nth",
            med(reps, || {
                s.copy_from_slice(&x);
                s.chunks_mut(n).for_each(|r| {
                    r.select_nth_unstable_by(n - k, f32::total_cmp);
                });
            }),
        );
    }
}
