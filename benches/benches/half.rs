//! Criterion benchmarks of the half-precision forward (issue 15) against the `f32` forward in
//! the same run (τ = 1.5, k = n/2, Gaussian logits rounded to the format), one thread.
//!
//! Groups `half-forward/RxN` for 10×8192 and 1×10^7 (rows × n, one projection per row). Ids:
//! `f32` (the SIMD `f32` forward of each row, `Kernels::soft_binary_argmax`, what
//! `hs_soft_binary_argmax_f32` runs), `bf16` and `f16` (`Kernels::soft_binary_argmax_half`
//! with one scratch for all rows, what `hs_soft_binary_argmax_{bf16,f16}` and their `_rows`
//! run), and `bf16-roundtrip`, `f16-roundtrip` (the caller's alternative: widen into an `f32`
//! array, the `f32` forward into another, round back; both arrays allocated beforehand, so the
//! cheapest such round trip). All on a one-thread rayon pool.
//!
//! Groups `half-vjp/RxN` (same shapes; y the `f32` forward's output rounded to the format, g
//! Gaussian): `f32` (`Kernels::soft_binary_argmax_vjp` per row), `bf16` and `f16`
//! (`Kernels::soft_binary_argmax_vjp_half` per row, what `hs_soft_binary_argmax_vjp_{bf16,f16}`
//! run), and `bf16-roundtrip`, `f16-roundtrip` (widen y and g into `f32` arrays, the `f32` VJP,
//! round back; arrays allocated beforehand).
//!
//! Run: `cargo bench -p hypersimplex-benches --bench half` (about a minute), then
//! `python3 benches/half-table.py` for the README's rows (median times and ratios).

use criterion::{black_box, criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use hypersimplex::half::{Bf16, Half, F16};
use hypersimplex_benches::gaussian_f32;
use hypersimplex_simd::{ClassK, Kernels, Reduction};
use rayon::ThreadPool;
use std::time::Duration;

const TAU: f32 = 1.5;
const SHAPES: [(usize, usize); 2] = [(10, 8192), (1, 10_000_000)];

fn to_half<H: Half>(x: &[f32]) -> Vec<H> {
    x.iter().map(|&v| H::from_f32(v)).collect()
}

/// Sampling for `e` elements per iteration (fewer, flat samples for the long vector).
fn configure(g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>, e: usize) {
    if e >= 1_000_000 {
        g.sample_size(20)
            .sampling_mode(SamplingMode::Flat)
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_secs(3));
    } else {
        g.sample_size(30)
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_millis(1500));
    }
    g.throughput(Throughput::Elements(e as u64));
}

fn bench_format<H: Half + Send + Sync>(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    x32: &[f32],
    n: usize,
    p1: &ThreadPool,
) {
    let simd = Kernels::active();
    let k = n as f64 / 2.0;
    let x: Vec<H> = to_half(x32);
    let mut y = vec![H::ZERO; x.len()];
    let mut scratch = Vec::new();
    g.bench_function(name, |b| {
        p1.install(|| {
            b.iter(|| {
                for (xr, yr) in x.chunks_exact(n).zip(y.chunks_exact_mut(n)) {
                    simd.soft_binary_argmax_half(black_box(xr), k, TAU, yr, &mut scratch)
                        .expect("valid");
                }
            })
        })
    });
    // the caller's buffers exist already (no allocation counted): the cheapest round trip
    let (mut w, mut o) = (vec![0.0f32; x.len()], vec![0.0f32; x.len()]);
    g.bench_function(format!("{name}-roundtrip"), |b| {
        p1.install(|| {
            b.iter(|| {
                hypersimplex_simd::half::widen(black_box(&x), &mut w);
                for (wr, or) in w.chunks_exact(n).zip(o.chunks_exact_mut(n)) {
                    simd.soft_binary_argmax(wr, k, TAU, or).expect("valid");
                }
                hypersimplex_simd::half::narrow(&o, &mut y);
            })
        })
    });
}

/// A one-thread rayon pool (every measurement here is one thread).
fn one_thread() -> ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("thread pool")
}

/// A group of quick measurements (30 samples, 1.5 s) of `elements` per iteration.
fn short_group<'a>(
    c: &'a mut Criterion,
    name: String,
    elements: usize,
) -> criterion::BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut g = c.benchmark_group(name);
    g.sample_size(30)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(1500));
    g.throughput(Throughput::Elements(elements as u64));
    g
}

fn bench_half(c: &mut Criterion) {
    let p1 = one_thread();
    let simd = Kernels::active();
    eprintln!(
        "half bench: active path {}, F16C {}",
        simd.path(),
        hypersimplex_simd::half::f16c_active()
    );
    for (rows, n) in SHAPES {
        let e = rows * n;
        let k = n as f64 / 2.0;
        // the f32 yardstick runs on the same values as the half inputs (rounded to bf16)
        let x32: Vec<f32> = to_half::<Bf16>(&gaussian_f32(e, 42))
            .iter()
            .map(|v| v.to_f32())
            .collect();
        let mut y32 = vec![0.0f32; e];
        let mut g = c.benchmark_group(format!("half-forward/{rows}x{n}"));
        configure(&mut g, e);
        g.bench_function("f32", |b| {
            p1.install(|| {
                b.iter(|| {
                    for (xr, yr) in x32.chunks_exact(n).zip(y32.chunks_exact_mut(n)) {
                        simd.soft_binary_argmax(black_box(xr), k, TAU, yr)
                            .expect("valid");
                    }
                })
            })
        });
        bench_format::<Bf16>(&mut g, "bf16", &x32, n, &p1);
        bench_format::<F16>(&mut g, "f16", &x32, n, &p1);
        g.finish();
    }
}

fn bench_vjp_format<H: Half + Send + Sync>(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    (y32, g32): (&[f32], &[f32]),
    n: usize,
    p1: &ThreadPool,
) {
    let simd = Kernels::active();
    let (y, gr): (Vec<H>, Vec<H>) = (to_half(y32), to_half(g32));
    let mut o = vec![H::ZERO; y.len()];
    g.bench_function(name, |b| {
        p1.install(|| {
            b.iter(|| {
                let rows = y.chunks_exact(n).zip(gr.chunks_exact(n));
                for ((yr, grr), or) in rows.zip(o.chunks_exact_mut(n)) {
                    simd.soft_binary_argmax_vjp_half(black_box(yr), grr, TAU, or)
                        .expect("valid");
                }
            })
        })
    });
    let (mut yw, mut gw, mut ow) = (
        vec![0.0f32; y.len()],
        vec![0.0f32; y.len()],
        vec![0.0f32; y.len()],
    );
    g.bench_function(format!("{name}-roundtrip"), |b| {
        p1.install(|| {
            b.iter(|| {
                hypersimplex_simd::half::widen(black_box(&y), &mut yw);
                hypersimplex_simd::half::widen(&gr, &mut gw);
                let rows = yw.chunks_exact(n).zip(gw.chunks_exact(n));
                for ((yr, grr), or) in rows.zip(ow.chunks_exact_mut(n)) {
                    simd.soft_binary_argmax_vjp(yr, grr, TAU, or)
                        .expect("valid");
                }
                hypersimplex_simd::half::narrow(&ow, &mut o);
            })
        })
    });
}

fn bench_half_vjp(c: &mut Criterion) {
    let p1 = one_thread();
    let simd = Kernels::active();
    for (rows, n) in SHAPES {
        let e = rows * n;
        let k = n as f64 / 2.0;
        let bf =
            |v: Vec<f32>| -> Vec<f32> { to_half::<Bf16>(&v).iter().map(|h| h.to_f32()).collect() };
        let x32 = gaussian_f32(e, 42);
        let mut y32 = vec![0.0f32; e];
        for (xr, yr) in x32.chunks_exact(n).zip(y32.chunks_exact_mut(n)) {
            simd.soft_binary_argmax(xr, k, TAU, yr).expect("valid");
        }
        // the same values for every format (rounded to bf16, exact in f16 where in range)
        let (y32, g32) = (bf(y32), bf(gaussian_f32(e, 7)));
        let mut o32 = vec![0.0f32; e];
        let mut g = c.benchmark_group(format!("half-vjp/{rows}x{n}"));
        configure(&mut g, e);
        g.bench_function("f32", |b| {
            p1.install(|| {
                b.iter(|| {
                    let rows = y32.chunks_exact(n).zip(g32.chunks_exact(n));
                    for ((yr, gr), or) in rows.zip(o32.chunks_exact_mut(n)) {
                        simd.soft_binary_argmax_vjp(black_box(yr), gr, TAU, or)
                            .expect("valid");
                    }
                })
            })
        });
        bench_vjp_format::<Bf16>(&mut g, "bf16", (&y32, &g32), n, &p1);
        bench_vjp_format::<F16>(&mut g, "f16", (&y32, &g32), n, &p1);
        g.finish();
    }
}

/// The multiclass loss with its gradient (8192 × 10, labels uniform, k_c = the label counts,
/// mean reduction): `f32` (the SIMD crate), and for each half type the SIMD crate's
/// (`Kernels::hypersimplex_loss_multiclass_half`, what `hs_hypersimplex_loss_multiclass_bf16`
/// runs) against the core crate's scalar half loss (`-core`).
fn bench_half_multiclass(c: &mut Criterion) {
    let p1 = one_thread();
    let simd = Kernels::active();
    let (batch, classes) = (8192usize, 10usize);
    let e = batch * classes;
    let x32: Vec<f32> = to_half::<Bf16>(&gaussian_f32(e, 7))
        .iter()
        .map(|v| v.to_f32())
        .collect();
    let labels: Vec<u32> = (0..batch).map(|i| ((i * 7919) % classes) as u32).collect();
    let (k, red) = (ClassK::LabelCounts, Reduction::Mean);
    let mut g = short_group(c, format!("half-multiclass/{batch}x{classes}"), e);
    let mut g32 = vec![0.0f32; e];
    g.bench_function("f32", |b| {
        p1.install(|| {
            b.iter(|| {
                let l = simd.hypersimplex_loss_multiclass(
                    black_box(&x32),
                    &labels,
                    classes,
                    k,
                    TAU,
                    red,
                    Some(&mut g32),
                );
                l.expect("valid")
            })
        })
    });
    fn one<H: Half + hypersimplex_simd::McStore<f32>>(
        g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
        name: &str,
        x32: &[f32],
        labels: &[u32],
        classes: usize,
        p1: &ThreadPool,
    ) {
        let simd = Kernels::active();
        let (k, red) = (ClassK::LabelCounts, Reduction::Mean);
        let x: Vec<H> = to_half(x32);
        let mut gh = vec![H::ZERO; x.len()];
        g.bench_function(name, |b| {
            p1.install(|| {
                b.iter(|| {
                    let l = simd.hypersimplex_loss_multiclass_half(
                        black_box(&x),
                        labels,
                        classes,
                        k,
                        TAU,
                        red,
                        Some(&mut gh),
                    );
                    l.expect("valid")
                })
            })
        });
        let mut scratch = vec![0.0f32; labels.len()];
        g.bench_function(format!("{name}-core"), |b| {
            b.iter(|| {
                hypersimplex::half::hypersimplex_loss_multiclass_half(
                    black_box(&x),
                    labels,
                    classes,
                    k,
                    TAU,
                    red,
                    Some(&mut gh),
                    &mut scratch,
                )
                .expect("valid")
            })
        });
    }
    one::<Bf16>(&mut g, "bf16", &x32, &labels, classes, &p1);
    one::<F16>(&mut g, "f16", &x32, &labels, classes, &p1);
    g.finish();
}

/// The binary loss with its gradient (one vector of 2^16, targets 0/1, k = n/2): `f32` (the
/// SIMD crate), and for each half type the SIMD crate's (`Kernels::hypersimplex_loss_half`,
/// what `hs_hypersimplex_loss_bf16` runs) against the core crate's scalar half loss (`-core`).
fn bench_half_binary(c: &mut Criterion) {
    let p1 = one_thread();
    let simd = Kernels::active();
    let n = 1usize << 16;
    let k = n as f64 / 2.0;
    let x32: Vec<f32> = to_half::<Bf16>(&gaussian_f32(n, 9))
        .iter()
        .map(|v| v.to_f32())
        .collect();
    let t32: Vec<f32> = (0..n).map(|i| ((i * 7919) % 2) as f32).collect();
    let mut g = short_group(c, format!("half-loss/1x{n}"), n);
    let mut g32 = vec![0.0f32; n];
    g.bench_function("f32", |b| {
        p1.install(|| {
            b.iter(|| {
                let l = simd.hypersimplex_loss(black_box(&x32), &t32, k, TAU, Some(&mut g32));
                l.expect("valid")
            })
        })
    });
    fn one<H: Half + hypersimplex_simd::McStore<f32>>(
        g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
        name: &str,
        x32: &[f32],
        t32: &[f32],
        k: f64,
        p1: &ThreadPool,
    ) {
        let simd = Kernels::active();
        let (x, t): (Vec<H>, Vec<H>) = (to_half(x32), to_half(t32));
        let mut gh = vec![H::ZERO; x.len()];
        let mut scratch = Vec::new();
        g.bench_function(name, |b| {
            p1.install(|| {
                b.iter(|| {
                    let l = simd.hypersimplex_loss_half(
                        black_box(&x),
                        &t,
                        k,
                        TAU,
                        Some(&mut gh),
                        &mut scratch,
                    );
                    l.expect("valid")
                })
            })
        });
        g.bench_function(format!("{name}-core"), |b| {
            b.iter(|| {
                hypersimplex::half::hypersimplex_loss_half(black_box(&x), &t, k, TAU, Some(&mut gh))
                    .expect("valid")
            })
        });
    }
    one::<Bf16>(&mut g, "bf16", &x32, &t32, k, &p1);
    one::<F16>(&mut g, "f16", &x32, &t32, k, &p1);
    g.finish();
}

/// Short rows (65536 × 10, k = 5): the `f32` rows function (`Kernels::soft_binary_argmax_rows`,
/// issue 14's short-row solver) against the half rows (`Kernels::soft_binary_argmax_half_rows`,
/// what `hs_soft_binary_argmax_rows_{bf16,f16}` run).
fn bench_half_rows(c: &mut Criterion) {
    let p1 = one_thread();
    let simd = Kernels::active();
    let (rows, n) = (65536usize, 10usize);
    let e = rows * n;
    let x32: Vec<f32> = to_half::<Bf16>(&gaussian_f32(e, 5))
        .iter()
        .map(|v| v.to_f32())
        .collect();
    let ks = vec![n as f64 / 2.0; rows];
    let mut g = short_group(c, format!("half-rows/{rows}x{n}"), e);
    let mut y32 = vec![0.0f32; e];
    g.bench_function("f32", |b| {
        p1.install(|| {
            b.iter(|| {
                let k = hypersimplex_simd::RowK::PerRow(&ks);
                simd.soft_binary_argmax_rows(black_box(&x32), rows, n, k, TAU, &mut y32)
                    .expect("valid")
            })
        })
    });
    fn one<H: Half + Send + Sync>(
        g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
        name: &str,
        x32: &[f32],
        n: usize,
        ks: &[f64],
        p1: &ThreadPool,
    ) {
        let simd = Kernels::active();
        let x: Vec<H> = to_half(x32);
        let mut y = vec![H::ZERO; x.len()];
        let mut scratch = Vec::new();
        g.bench_function(name, |b| {
            p1.install(|| {
                b.iter(|| {
                    simd.soft_binary_argmax_half_rows(
                        black_box(&x),
                        n,
                        ks,
                        TAU,
                        &mut y,
                        &mut scratch,
                    )
                    .expect("valid")
                })
            })
        });
        g.bench_function(format!("{name}-per-row"), |b| {
            p1.install(|| {
                b.iter(|| {
                    for ((xr, yr), &k) in x.chunks(n).zip(y.chunks_mut(n)).zip(ks) {
                        simd.soft_binary_argmax_half(black_box(xr), k, TAU, yr, &mut scratch)
                            .expect("valid");
                    }
                })
            })
        });
    }
    one::<Bf16>(&mut g, "bf16", &x32, n, &ks, &p1);
    one::<F16>(&mut g, "f16", &x32, n, &ks, &p1);
    g.finish();
}

criterion_group!(
    benches,
    bench_half,
    bench_half_vjp,
    bench_half_multiclass,
    bench_half_binary,
    bench_half_rows
);
criterion_main!(benches);
