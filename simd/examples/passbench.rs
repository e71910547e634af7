//! Times single passes over one long f32 vector (default 10^7): memcpy, one reduction pass
//! (`piece`), the fused piece+write pass, the clip write and the whole forward pass.
//! `cargo run --release -p hypersimplex-simd --example passbench -- [n]`
use hypersimplex_simd::{Element, Kernels};
use std::time::Instant;

fn med(mut f: impl FnMut()) -> f64 {
    f();
    let mut t: Vec<f64> = (0..15)
        .map(|_| {
            let t0 = Instant::now();
            f();
            t0.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000_000);
    let x: Vec<f32> = (0..n)
        .map(|i| ((i * 7919) % 10007) as f32 * 1e-3 - 5.0)
        .collect();
    let mut y = vec![0.0f32; n];
    let k = Kernels::active();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    pool.install(|| {
        let ms = |v: f64| v * 1e6;
        println!("path {} n {n}", k.path());
        println!("memcpy      {:7.3} us", ms(med(|| y.copy_from_slice(&x))));
        println!(
            "piece       {:9.2} us",
            ms(med(|| {
                std::hint::black_box(f32::piece(k, &x, 0.7, 0.1));
            }))
        );
        println!(
            "piece_write {:9.2} us",
            ms(med(|| {
                std::hint::black_box(f32::piece_write(k, &x, 0.7, 0.1, &mut y));
            }))
        );
        println!(
            "clip        {:9.2} us",
            ms(med(|| f32::clip(k, &x, 0.7, 0.1, &mut y)))
        );
        println!(
            "piece_stats {:9.2} us",
            ms(med(|| {
                std::hint::black_box(f32::piece_stats(k, &x, 0.7, 0.1));
            }))
        );
        println!(
            "{:?}",
            k.soft_binary_argmax(&x, n as f64 / 2.0, 1.5, &mut y)
                .unwrap()
        );
        println!(
            "sp.piece    {:9.2} us",
            ms(med(|| {
                use hypersimplex::kernel::Reductions;
                let mut sp = hypersimplex_simd::passes::SimdPasses::new(k, &x, 0.7f32);
                std::hint::black_box(sp.piece(0.1));
            }))
        );
        println!(
            "sp.p&stats  {:9.2} us",
            ms(med(|| {
                use hypersimplex::kernel::Reductions;
                let mut sp = hypersimplex_simd::passes::SimdPasses::new(k, &x, 0.7f32);
                std::hint::black_box(sp.piece_and_stats(0.1));
            }))
        );
        println!(
            "solve only  {:9.2} us",
            ms(med(|| {
                let mut sp = hypersimplex_simd::passes::SimdPasses::new(k, &x, 1.0f32 / 1.5);
                std::hint::black_box(
                    hypersimplex::forward::solve_lambda(&mut sp, &x, n as f64 / 2.0, 1.0f32 / 1.5)
                        .unwrap(),
                );
            }))
        );
        println!(
            "guess       {:9.2} us",
            ms(med(|| {
                std::hint::black_box(hypersimplex::forward::initial_guess(
                    &x,
                    1.0f32 / 1.5,
                    n as f64 / 2.0,
                ));
            }))
        );
        println!(
            "forward     {:9.2} us",
            ms(med(|| {
                k.soft_binary_argmax(&x, n as f64 / 2.0, 1.5, &mut y)
                    .unwrap();
            }))
        );
    });
}
