//! Criterion benchmarks of the scalar core (f32, τ = 1.5, k = n/2, Gaussian logits).
//!
//! Every group holds the operation under test beside two yardsticks measured in the same run:
//! `memcpy` (`copy_from_slice` of the n-element input into the n-element output, i.e. 4n bytes
//! read and 4n written) and `sort` (the sort-based projection of `hypersimplex_benches`, the
//! paper's class of algorithm). Throughput is in elements (n, or rows·n, or B·C), so criterion
//! prints elem/s; `scripts/bench-table.py` turns the medians into ns per element.
//!
//! Caveat: each benchmark repeats one input, so for a single short vector (n ≤ 8192) the
//! branch predictor can learn the data's pattern and flatter branchy code; the 10 × 8192 rows
//! (ten different rows), 10^5 and 10^7 shapes are not affected.
//!
//! Run: `cargo bench -p hypersimplex-benches --bench core` (about 2 minutes).
//! Filter with a group name, e.g. `... --bench core -- forward/10x8192`.

use criterion::{black_box, criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use hypersimplex::{
    hypersimplex_loss_multiclass, multiclass_scratch_len, soft_binary_argmax,
    soft_binary_argmax_vjp, ClassK, Reduction,
};
use hypersimplex_benches::{
    gaussian_f32, labels, sort_multiclass_loss, sort_projection, SortScratch,
};
use std::time::Duration;

const TAU: f32 = 1.5;

/// `(rows, n)` shapes: one vector of n, and the paper's 10 × 8192.
const SHAPES: [(usize, usize); 6] = [
    (1, 10),
    (1, 1024),
    (1, 8192),
    (1, 100_000),
    (1, 10_000_000),
    (10, 8192),
];

/// The shapes to run: all of [`SHAPES`] under `cargo bench`; under `cargo test` (criterion's
/// one-iteration smoke test, usually a debug build) the 10^7 shape is skipped.
fn shapes() -> impl Iterator<Item = (usize, usize)> {
    let bench = std::env::args().any(|a| a == "--bench");
    SHAPES
        .into_iter()
        .filter(move |&(r, n)| bench || r * n <= 1_000_000)
}

/// Per-group sampling: big inputs get few flat samples so the whole run stays short.
fn configure(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    elems: usize,
) {
    if elems >= 1_000_000 {
        g.sample_size(10)
            .sampling_mode(SamplingMode::Flat)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(4));
    } else {
        g.sample_size(30)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_millis(1500));
    }
}

fn name(rows: usize, n: usize) -> String {
    format!("{rows}x{n}")
}

/// Runs `f(row_in, row_out)` over the rows of a row-major `rows × n` matrix.
#[inline(always)]
fn per_row(x: &[f32], y: &mut [f32], n: usize, mut f: impl FnMut(&[f32], &mut [f32])) {
    for (xr, yr) in x.chunks_exact(n).zip(y.chunks_exact_mut(n)) {
        f(xr, yr);
    }
}

fn forward(c: &mut Criterion) {
    for (rows, n) in shapes() {
        let total = rows * n;
        let k = (n / 2) as f64;
        let x = gaussian_f32(total, 0x5eed ^ total as u64);
        let mut y = vec![0.0f32; total];
        let mut scratch = vec![0.0f32; n];
        let mut g = c.benchmark_group(format!("forward/{}", name(rows, n)));
        configure(&mut g, total);
        g.throughput(Throughput::Elements(total as u64));
        g.bench_function("hypersimplex", |b| {
            b.iter(|| {
                per_row(black_box(&x), &mut y, n, |xr, yr| {
                    soft_binary_argmax(xr, k, TAU, yr).unwrap();
                })
            })
        });
        g.bench_function("memcpy", |b| b.iter(|| y.copy_from_slice(black_box(&x))));
        g.bench_function("sort", |b| {
            b.iter(|| {
                per_row(black_box(&x), &mut y, n, |xr, yr| {
                    sort_projection(xr, k, TAU, yr, &mut scratch);
                })
            })
        });
        g.finish();
    }
}

fn backward(c: &mut Criterion) {
    for (rows, n) in shapes() {
        let total = rows * n;
        let k = (n / 2) as f64;
        let x = gaussian_f32(total, 0x5eed ^ total as u64);
        let up = gaussian_f32(total, 0xbac4 ^ total as u64);
        let mut y = vec![0.0f32; total];
        per_row(&x, &mut y, n, |xr, yr| {
            soft_binary_argmax(xr, k, TAU, yr).unwrap();
        });
        let mut gx = vec![0.0f32; total];
        let mut scratch = vec![0.0f32; n];
        let mut g = c.benchmark_group(format!("backward/{}", name(rows, n)));
        configure(&mut g, total);
        g.throughput(Throughput::Elements(total as u64));
        g.bench_function("hypersimplex", |b| {
            b.iter(|| {
                for ((yr, ur), gr) in black_box(&y)
                    .chunks_exact(n)
                    .zip(up.chunks_exact(n))
                    .zip(gx.chunks_exact_mut(n))
                {
                    soft_binary_argmax_vjp(yr, ur, TAU, gr).unwrap();
                }
            })
        });
        g.bench_function("memcpy", |b| b.iter(|| gx.copy_from_slice(black_box(&up))));
        // The sort-based *forward* projection of the same shape, for scale.
        g.bench_function("sort", |b| {
            b.iter(|| {
                per_row(black_box(&x), &mut gx, n, |xr, yr| {
                    sort_projection(xr, k, TAU, yr, &mut scratch);
                })
            })
        });
        g.finish();
    }
}

fn multiclass(c: &mut Criterion) {
    let (batch, classes) = (8192usize, 10usize);
    let total = batch * classes;
    let x = gaussian_f32(total, 0xc1a55);
    let l = labels(batch, classes, 0x1abe1);
    let mut grad = vec![0.0f32; total];
    let mut out = vec![0.0f32; total];
    let mut scratch = vec![0.0f32; multiclass_scratch_len(batch, classes)];
    let mut sort_scratch = SortScratch::new(batch);
    let mut g = c.benchmark_group(format!("multiclass/{batch}x{classes}"));
    configure(&mut g, total);
    g.throughput(Throughput::Elements(total as u64));
    g.bench_function("hypersimplex", |b| {
        b.iter(|| {
            hypersimplex_loss_multiclass(
                black_box(&x),
                &l,
                classes,
                ClassK::LabelCounts,
                TAU,
                Reduction::Mean,
                Some(&mut grad),
                &mut scratch,
            )
            .unwrap()
        })
    });
    g.bench_function("memcpy", |b| b.iter(|| out.copy_from_slice(black_box(&x))));
    g.bench_function("sort", |b| {
        b.iter(|| {
            sort_multiclass_loss(
                black_box(&x),
                &l,
                classes,
                ClassK::LabelCounts,
                TAU,
                Reduction::Mean,
                &mut grad,
                &mut sort_scratch,
            )
        })
    });
    g.finish();
}

criterion_group!(benches, forward, backward, multiclass);
criterion_main!(benches);
