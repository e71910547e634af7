//! Times the hard top-k mask on one thread: memcpy of the same bytes, the core's selection
//! (`hypersimplex::binary_argmax`) and bisection (`_in_place`), and this crate's sampled
//! bracket (`hypersimplex_simd::binary_argmax`, `_in_place`), medians.
//! `cargo run --release -p hypersimplex-simd --example topkbench -- [n] [k] [reps]` (k defaults
//! to n/2; Gaussian logits)
mod common;
use common::median_secs as med;

fn main() {
    let arg = |i: usize| {
        std::env::args()
            .nth(i)
            .and_then(|a| a.parse::<usize>().ok())
    };
    let n = arg(1).unwrap_or(1 << 20);
    let k = arg(2).unwrap_or(n / 2) as f64;
    let reps = arg(3).unwrap_or(21);
    let x = common::normal_logits(n);
    let (mut y, mut z) = (vec![0.0f32; n], vec![0.0f32; n]);
    let ns = |s: f64| s * 1e9 / n as f64;
    let copy = med(reps, || y.copy_from_slice(&x));
    println!("n {n} k {k}: ns per element, ratio to memcpy");
    println!("memcpy              {:8.3}", ns(copy));
    let row = |name: &str, s: f64| println!("{name:<20}{:8.3}  {:6.1}x", ns(s), s / copy);
    row(
        "core select",
        med(reps, || hypersimplex::binary_argmax(&x, k, &mut y).unwrap()),
    );
    row(
        "simd sampled",
        med(reps, || {
            hypersimplex_simd::binary_argmax(&x, k, &mut z).unwrap()
        }),
    );
    assert_eq!(y, z, "the two masks differ");
    let inplace = |f: &dyn Fn(&mut [f32])| {
        let mut w = x.clone();
        med(reps, || {
            w.copy_from_slice(&x);
            f(&mut w);
        }) - copy
    };
    row(
        "core in place",
        inplace(&|w| hypersimplex::binary_argmax_in_place(w, k).unwrap()),
    );
    row(
        "simd in place",
        inplace(&|w| hypersimplex_simd::binary_argmax_in_place(w, k).unwrap()),
    );
    if k < 1.0 || k >= n as f64 {
        return;
    }
    let mut s = x.clone();
    row(
        "std select_nth",
        med(reps, || {
            s.copy_from_slice(&x);
            s.select_nth_unstable_by(n - k as usize, f32::total_cmp);
        }),
    );
}
