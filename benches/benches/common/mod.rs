//! Criterion sampling and yardsticks shared by the `simd` and `abi` benchmarks.

use criterion::measurement::WallTime;
use criterion::{black_box, BenchmarkGroup, SamplingMode};
use hypersimplex_benches::sort_projection;
use std::time::Duration;

/// Per-group sampling for `e` elements: big inputs get few flat samples so a whole run stays
/// short.
pub fn configure(g: &mut BenchmarkGroup<'_, WallTime>, e: usize) {
    if e >= 1_000_000 {
        g.sample_size(10)
            .sampling_mode(SamplingMode::Flat)
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_secs(2));
    } else {
        g.sample_size(20)
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_millis(1000));
    }
}

/// The yardsticks of a forward group, measured in the same run as the operation: `memcpy`
/// (`x` copied into `y`, the same bytes) and, up to 2^20 elements, `sort` (the sort-based
/// projection of `hypersimplex_benches`, row by row, rows of `n`, τ = `tau`).
pub fn yardsticks(
    g: &mut BenchmarkGroup<'_, WallTime>,
    x: &[f32],
    y: &mut [f32],
    n: usize,
    k: f64,
    tau: f32,
) {
    g.bench_function("memcpy", |b| {
        b.iter(|| black_box(&mut y[..]).copy_from_slice(black_box(x)))
    });
    if x.len() <= 1 << 20 {
        let mut scratch = vec![0.0f32; n];
        g.bench_function("sort", |b| {
            b.iter(|| {
                for (xr, yr) in x.chunks_exact(n).zip(y.chunks_exact_mut(n)) {
                    sort_projection(black_box(xr), k, tau, yr, &mut scratch);
                }
            })
        });
    }
}
