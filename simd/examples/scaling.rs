//! Thread scaling of the batched forward pass on rows (f32, 1024 × 1024 by default).
//!
//! `cargo run --release -p hypersimplex-simd --example scaling -- [max_threads] [rows] [n]`
//! prints, for 1..=max_threads threads, the median time of one batched forward pass
//! (`soft_binary_argmax_rows`) and the speed-up over one thread.

use std::time::Instant;

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let max_t = args.first().copied().unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|v| v.get())
            .unwrap_or(1)
    });
    let rows = args.get(1).copied().unwrap_or(1024);
    let n = args.get(2).copied().unwrap_or(1024);
    let mut s = 0x9e37_79b9_7f4a_7c15u64;
    let x: Vec<f32> = (0..rows * n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 6.0
        })
        .collect();
    let mut y = vec![0.0f32; rows * n];
    println!(
        "rows {rows} × n {n} f32, path {}, k = n/2, τ = 1",
        hypersimplex_simd::active_path()
    );
    let mut base = 0.0;
    for t in 1..=max_t {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build()
            .expect("pool");
        let mut times: Vec<f64> = pool.install(|| {
            let run = |y: &mut [f32]| {
                hypersimplex_simd::soft_binary_argmax_rows(
                    &x,
                    rows,
                    n,
                    hypersimplex_simd::RowK::All(n as f64 / 2.0),
                    1.0,
                    y,
                )
                .expect("valid input")
            };
            for _ in 0..3 {
                run(&mut y);
            }
            (0..31)
                .map(|_| {
                    let t0 = Instant::now();
                    run(&mut y);
                    t0.elapsed().as_secs_f64()
                })
                .collect()
        });
        times.sort_by(f64::total_cmp);
        let med = times[times.len() / 2];
        if t == 1 {
            base = med;
        }
        println!(
            "threads {t:2}: median {:8.3} ms  {:6.3} ns/element  speed-up {:5.2}x",
            med * 1e3,
            med * 1e9 / (rows * n) as f64,
            base / med
        );
    }
}
