//! Criterion benchmarks of `hypersimplex-simd` against the scalar core (f32, τ = 1.5,
//! k = n/2, Gaussian logits), with the yardsticks measured in the same run.
//!
//! Groups `simd-forward/RxN`, `simd-backward/RxN`, `simd-fwdbwd/RxN` for the shapes
//! 10×8192, 1024×1024, 65536×10, 16384×32, 16384×64, 4096×256 (the short rows of issue 14),
//! 1×10^5, 1×10^7 (rows × n, one projection per row), and
//! `simd-multiclass/8192x10` (loss + gradient, one projection per class column). Ids:
//! `scalar` (core, row by row, one thread), `simd-1t` (the batched SIMD entry point on a
//! one-thread rayon pool), `simd-all` (the same on a pool of all cores), `memcpy` (copy of
//! the same number of bytes, input → output) and `sort` (the sort-based projection of
//! `hypersimplex_benches`; up to 2^20 elements: not at 10^7, where one call takes about a second).
//!
//! Run: `cargo bench -p hypersimplex-benches --bench simd` (about 4 minutes on 2 cores),
//! then `python3 simd/bench-table.py` for ns/element and the target ratios.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use hypersimplex::{ClassK, Reduction};
use hypersimplex_benches::{gaussian_f32, labels, sort_multiclass_loss, SortScratch};
use hypersimplex_simd::{Kernels, RowK};
use rayon::ThreadPool;

mod common;
use common::{configure, yardsticks};

const TAU: f32 = 1.5;
const SHAPES: [(usize, usize); 8] = [
    (10, 8192),
    (1024, 1024),
    (65536, 10),
    (16384, 32),
    (16384, 64),
    (4096, 256),
    (1, 100_000),
    (1, 10_000_000),
];

fn pool(t: usize) -> ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(t)
        .build()
        .expect("thread pool")
}

fn bench_shapes(c: &mut Criterion) {
    let p1 = pool(1);
    let pall = pool(
        std::thread::available_parallelism()
            .map(|v| v.get())
            .unwrap_or(1),
    );
    let simd = Kernels::active();
    eprintln!(
        "simd bench: active path {}, {} threads for simd-all",
        simd.path(),
        pall.current_num_threads()
    );
    pall.install(|| eprintln!("inside pall: {} threads", rayon::current_num_threads()));
    for (rows, n) in SHAPES {
        let e = rows * n;
        let shape = format!("{rows}x{n}");
        let k = n as f64 / 2.0;
        let x = gaussian_f32(e, 42);
        let gin = gaussian_f32(e, 7);
        let mut y = vec![0.0f32; e];
        let mut gx = vec![0.0f32; e];
        simd.soft_binary_argmax_rows(&x, rows, n, RowK::All(k), TAU, &mut y)
            .expect("valid");
        let y0 = y.clone();

        let fwd_scalar = |x: &[f32], y: &mut [f32]| {
            for (xr, yr) in x.chunks_exact(n).zip(y.chunks_exact_mut(n)) {
                hypersimplex::soft_binary_argmax(xr, k, TAU, yr).expect("valid");
            }
        };
        let bwd_scalar = |y: &[f32], g: &[f32], o: &mut [f32]| {
            for ((yr, gr), or) in y
                .chunks_exact(n)
                .zip(g.chunks_exact(n))
                .zip(o.chunks_exact_mut(n))
            {
                hypersimplex::soft_binary_argmax_vjp(yr, gr, TAU, or).expect("valid");
            }
        };
        let fwd_simd = |x: &[f32], y: &mut [f32]| {
            simd.soft_binary_argmax_rows(x, rows, n, RowK::All(k), TAU, y)
                .expect("valid")
        };
        let bwd_simd = |y: &[f32], g: &[f32], o: &mut [f32]| {
            simd.soft_binary_argmax_vjp_rows(y, g, rows, n, TAU, o)
                .expect("valid")
        };

        let mut g = c.benchmark_group(format!("simd-forward/{shape}"));
        configure(&mut g, e);
        g.throughput(Throughput::Elements(e as u64));
        g.bench_function("scalar", |b| {
            b.iter(|| fwd_scalar(black_box(&x), black_box(&mut y)))
        });
        g.bench_function("simd-1t", |b| {
            p1.install(|| b.iter(|| fwd_simd(black_box(&x), black_box(&mut y))))
        });
        g.bench_function("simd-all", |b| {
            pall.install(|| b.iter(|| fwd_simd(black_box(&x), black_box(&mut y))))
        });
        yardsticks(&mut g, &x, &mut y, n, k, TAU);
        g.finish();

        let mut g = c.benchmark_group(format!("simd-backward/{shape}"));
        configure(&mut g, e);
        g.throughput(Throughput::Elements(e as u64));
        g.bench_function("scalar", |b| {
            b.iter(|| bwd_scalar(black_box(&y0), black_box(&gin), black_box(&mut gx)))
        });
        g.bench_function("simd-1t", |b| {
            p1.install(|| b.iter(|| bwd_simd(black_box(&y0), black_box(&gin), black_box(&mut gx))))
        });
        g.bench_function("simd-all", |b| {
            pall.install(|| {
                b.iter(|| bwd_simd(black_box(&y0), black_box(&gin), black_box(&mut gx)))
            })
        });
        g.finish();

        let mut g = c.benchmark_group(format!("simd-fwdbwd/{shape}"));
        configure(&mut g, e);
        g.throughput(Throughput::Elements(e as u64));
        g.bench_function("scalar", |b| {
            b.iter(|| {
                fwd_scalar(black_box(&x), &mut y);
                bwd_scalar(&y, black_box(&gin), black_box(&mut gx));
            })
        });
        g.bench_function("simd-1t", |b| {
            p1.install(|| {
                b.iter(|| {
                    fwd_simd(black_box(&x), &mut y);
                    bwd_simd(&y, black_box(&gin), black_box(&mut gx));
                })
            })
        });
        g.bench_function("simd-all", |b| {
            pall.install(|| {
                b.iter(|| {
                    fwd_simd(black_box(&x), &mut y);
                    bwd_simd(&y, black_box(&gin), black_box(&mut gx));
                })
            })
        });
        g.finish();
    }
}

fn bench_multiclass(c: &mut Criterion) {
    let p1 = pool(1);
    let pall = pool(
        std::thread::available_parallelism()
            .map(|v| v.get())
            .unwrap_or(1),
    );
    let simd = Kernels::active();
    let (batch, classes) = (8192usize, 10usize);
    let e = batch * classes;
    let x = gaussian_f32(e, 42);
    let lab = labels(batch, classes, 3);
    let mut grad = vec![0.0f32; e];
    let mut scratch = vec![0.0f32; hypersimplex::multiclass_scratch_len(batch, classes)];
    let mut sort_scratch = SortScratch::new(batch);
    let ck = ClassK::LabelCounts;
    let red = Reduction::Mean;
    let mut g = c.benchmark_group(format!("simd-multiclass/{batch}x{classes}"));
    configure(&mut g, e);
    g.throughput(Throughput::Elements(e as u64));
    g.bench_function("scalar", |b| {
        b.iter(|| {
            hypersimplex::hypersimplex_loss_multiclass(
                black_box(&x),
                &lab,
                classes,
                ck,
                TAU,
                red,
                Some(&mut grad),
                &mut scratch,
            )
            .expect("valid")
        })
    });
    let run = |grad: &mut [f32]| {
        simd.hypersimplex_loss_multiclass(black_box(&x), &lab, classes, ck, TAU, red, Some(grad))
            .expect("valid")
    };
    g.bench_function("simd-1t", |b| p1.install(|| b.iter(|| run(&mut grad))));
    g.bench_function("simd-all", |b| pall.install(|| b.iter(|| run(&mut grad))));
    g.bench_function("memcpy", |b| {
        b.iter(|| black_box(&mut grad[..]).copy_from_slice(black_box(&x)))
    });
    g.bench_function("sort", |b| {
        b.iter(|| {
            sort_multiclass_loss(
                black_box(&x),
                &lab,
                classes,
                ck,
                TAU,
                red,
                &mut grad,
                &mut sort_scratch,
            )
        })
    });
    g.finish();
}

criterion_group!(benches, bench_shapes, bench_multiclass);
criterion_main!(benches);
