//! Times the short-row batch (issue 14) on one thread: memcpy of the same bytes, the finiteness
//! pre-pass, the rows forward and the rows VJP, medians of 31 runs.
//! `cargo run --release -p hypersimplex-simd --example rowsbench -- [rows] [n] [reps] [per-row]`
//! (`HS_THREADS=t`: a pool of t threads instead of one; `HS_K=k`: k instead of n/2;
//! `HS_PATH=avx2`: that kernel path instead of the active one; `HS_ONLY=forward`: the forward
//! alone, without the yardsticks, for a profiler)
use hypersimplex_simd::{Element, Kernels, Path, RowK};
mod common;
use common::median_secs as med;

fn main() {
    let arg = |i: usize, d: usize| {
        std::env::args()
            .nth(i)
            .and_then(|a| a.parse().ok())
            .unwrap_or(d)
    };
    let (rows, n, reps) = (arg(1, 65536), arg(2, 10), arg(3, 31));
    let total = rows * n;
    let x = common::normal_logits(total);
    let mut y = vec![0.0f32; total];
    // `HS_PATH=avx2` (or another path's name): that path instead of the active one
    let kern = std::env::var("HS_PATH")
        .ok()
        .and_then(|p| Path::ALL.into_iter().find(|q| q.name() == p))
        .and_then(Kernels::new)
        .unwrap_or_else(Kernels::active);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(
            std::env::var("HS_THREADS")
                .ok()
                .and_then(|t| t.parse().ok())
                .unwrap_or(1),
        )
        .build()
        .unwrap();
    // `per-row` as the fourth argument: k = n/2 through a per-row array, as the C ABI's
    // benchmark passes it
    let per_row = std::env::args().nth(4).is_some_and(|a| a == "per-row");
    // `HS_K=k`: another k than n/2 (e.g. 1, the multi-label top-1 shape)
    let k = std::env::var("HS_K")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(n as f64 / 2.0);
    let kv = vec![k; rows];
    let kk = if per_row {
        RowK::PerRow(&kv)
    } else {
        RowK::All(k)
    };
    pool.install(|| {
        let us = |v: f64| v * 1e6;
        // `HS_ONLY=forward`: the forward alone (for profilers), no yardsticks
        if std::env::var("HS_ONLY").is_ok_and(|v| v == "forward") {
            let fwd = med(reps, || {
                kern.soft_binary_argmax_rows(&x, rows, n, kk, 1.5, &mut y)
                    .unwrap()
            });
            println!("forward  {:9.2} us", us(fwd));
            return;
        }
        println!("path {} rows {rows} n {n}", kern.path());
        let copy = med(reps, || y.copy_from_slice(&x));
        println!("memcpy   {:9.2} us", us(copy));
        let fin = med(reps, || {
            std::hint::black_box(f32::all_finite(kern, &x, 1.0 / 1.5));
        });
        println!("finite   {:9.2} us  {:5.2}x", us(fin), fin / copy);
        let fwd = med(reps, || {
            kern.soft_binary_argmax_rows(&x, rows, n, kk, 1.5, &mut y)
                .unwrap()
        });
        println!("forward  {:9.2} us  {:5.2}x", us(fwd), fwd / copy);
        let g: Vec<f32> = x.iter().map(|v| v * 0.3).collect();
        let mut gx = vec![0.0f32; total];
        let vjp = med(reps, || {
            kern.soft_binary_argmax_vjp_rows(&y, &g, rows, n, 1.5, &mut gx)
                .unwrap()
        });
        println!("vjp      {:9.2} us  {:5.2}x", us(vjp), vjp / copy);
    });
}
