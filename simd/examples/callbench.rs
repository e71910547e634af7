//! Times the cost of one small call (one thread, f32, τ = 1.5, k = n/2): a single vector of n,
//! the rows functions on 1 row and on 256 rows of n, forward and VJP, and the sort-free
//! floor of touching the bytes (memcpy), medians of 31 runs of many calls each.
//! `cargo run --release -p hypersimplex-simd --example callbench -- [n]`
use hypersimplex_simd::{Kernels, RowK};
mod common;
use common::median_secs as med;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10);
    let kern = Kernels::active();
    let k = n as f64 / 2.0;
    let reps = 2000;
    let ns = |s: f64| s * 1e9 / reps as f64;
    println!("path {} n {n}: ns per call", kern.path());
    for rows in [1usize, 2, 3, 4, 6, 8, 16, 256] {
        let x = common::normal_logits(rows * n);
        let g: Vec<f32> = x.iter().map(|v| v * 0.3).collect();
        let mut y = vec![0.0f32; rows * n];
        let mut gx = vec![0.0f32; rows * n];
        let copy = med(31, || {
            for _ in 0..reps {
                std::hint::black_box(&mut y).copy_from_slice(std::hint::black_box(&x));
            }
        });
        let fwd = med(31, || {
            for _ in 0..reps {
                kern.soft_binary_argmax_rows(&x, rows, n, RowK::All(k), 1.5, &mut y)
                    .unwrap();
            }
        });
        let vjp = med(31, || {
            for _ in 0..reps {
                kern.soft_binary_argmax_vjp_rows(&y, &g, rows, n, 1.5, &mut gx)
                    .unwrap();
            }
        });
        println!(
            "rows {rows:4}: memcpy {:8.1}  forward {:8.1}  vjp {:8.1}",
            ns(copy),
            ns(fwd),
            ns(vjp)
        );
        if rows == 1 {
            let single = med(31, || {
                for _ in 0..reps {
                    kern.soft_binary_argmax(&x, k, 1.5, &mut y).unwrap();
                }
            });
            let vjp1 = med(31, || {
                for _ in 0..reps {
                    kern.soft_binary_argmax_vjp(&y, &g, 1.5, &mut gx).unwrap();
                }
            });
            println!(
                "single   : forward {:8.1}  vjp {:8.1}",
                ns(single),
                ns(vjp1)
            );
        }
    }
}
