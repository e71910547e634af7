//! Times single passes over one long f32 vector of normal logits (default 10^7): memcpy, one
//! reduction pass (`piece`), the fused piece+write pass, the clip write (plain and streaming),
//! the working-set split pass and the whole forward pass.
//! `cargo run --release -p hypersimplex-simd --example passbench -- [n]`
use hypersimplex_simd::{Element, Kernels};
mod common;
use common::median_secs as med;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000_000);
    let x = common::normal_logits(n);
    let mut y = vec![0.0f32; n];
    let k = Kernels::active();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    pool.install(|| {
        let ms = |v: f64| v * 1e6;
        println!("path {} n {n}", k.path());
        println!(
            "memcpy      {:7.3} us",
            ms(med(15, || y.copy_from_slice(&x)))
        );
        println!(
            "piece       {:9.2} us",
            ms(med(15, || {
                std::hint::black_box(f32::piece(k, &x, 0.7, 0.1));
            }))
        );
        println!(
            "piece_write {:9.2} us",
            ms(med(15, || {
                std::hint::black_box(f32::piece_write(k, &x, 0.7, 0.1, &mut y));
            }))
        );
        println!(
            "clip        {:9.2} us",
            ms(med(15, || f32::clip(k, &x, 0.7, 0.1, &mut y)))
        );
        println!(
            "clip_stream {:9.2} us",
            ms(med(15, || f32::clip_stream(k, &x, 0.7, 0.1, &mut y)))
        );
        let g: Vec<f32> = x.iter().map(|v| v * 0.3).collect();
        let mut gx = vec![0.0f32; n];
        println!(
            "free_mean   {:9.2} us",
            ms(med(15, || {
                std::hint::black_box(f32::free_mean(k, &y, &g, f32::MAX));
            }))
        );
        println!(
            "vjp         {:9.2} us",
            ms(med(15, || f32::vjp(k, &y, &g, 0.1, 0.7, &mut gx)))
        );
        println!(
            "vjp_stream  {:9.2} us",
            ms(med(15, || f32::vjp_stream(k, &y, &g, 0.1, 0.7, &mut gx)))
        );
        println!(
            "backward    {:9.2} us",
            ms(med(15, || k
                .soft_binary_argmax_vjp(&y, &g, 1.5, &mut gx)
                .unwrap()))
        );
        println!(
            "piece_stats {:9.2} us",
            ms(med(15, || {
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
            ms(med(15, || {
                use hypersimplex::internal::kernel::Passes;
                let mut sp = hypersimplex_simd::passes::SimdPasses::new(k, &x, 0.7f32);
                std::hint::black_box(sp.piece(0.1));
            }))
        );
        println!(
            "sp.p&stats  {:9.2} us",
            ms(med(15, || {
                use hypersimplex::internal::kernel::Passes;
                let mut sp = hypersimplex_simd::passes::SimdPasses::new(k, &x, 0.7f32);
                std::hint::black_box(sp.piece_and_stats(0.1));
            }))
        );
        println!(
            "solve only  {:9.2} us",
            ms(med(15, || {
                let mut sp = hypersimplex_simd::passes::SimdPasses::new(k, &x, 1.0f32 / 1.5);
                std::hint::black_box(
                    hypersimplex::internal::solve_lambda(&mut sp, &x, n as f64 / 2.0, 1.0f32 / 1.5)
                        .unwrap(),
                );
            }))
        );
        println!(
            "guess       {:9.2} us",
            ms(med(15, || {
                std::hint::black_box(hypersimplex::internal::initial_guess(
                    &x,
                    1.0f32 / 1.5,
                    n as f64 / 2.0,
                ));
            }))
        );
        println!(
            "split       {:9.2} us",
            ms(med(15, || {
                let ws =
                    hypersimplex_simd::working_set::WorkingSet::build(k, &x, 0.7f32, -0.55, -0.45);
                std::hint::black_box(ws.map(|w| w.kept()));
            }))
        );
        for (a, b) in [(-10.0f32, -9.99f32), (-0.51, -0.49), (-0.55, -0.45)] {
            let ws = hypersimplex_simd::working_set::WorkingSet::build(k, &x, 0.7f32, a, b);
            println!(
                "split [{a}, {b}] keeps {:?}: {:9.2} us",
                ws.map(|w| w.kept()),
                ms(med(15, || {
                    let ws = hypersimplex_simd::working_set::WorkingSet::build(k, &x, 0.7f32, a, b);
                    std::hint::black_box(ws.map(|w| w.kept()));
                }))
            );
        }
        {
            // one working-set pass, for a bracket around this data's λ ≈ −0.5 (k = n/2, τ = 1.5)
            use hypersimplex::internal::kernel::Passes;
            let mut ws = hypersimplex_simd::working_set::WorkingSet::build(
                k,
                &x,
                1.0f32 / 1.5,
                -0.53,
                -0.47,
            )
            .unwrap();
            println!(
                "ws.piece ({} kept) {:9.2} us",
                ws.kept(),
                ms(med(15, || {
                    std::hint::black_box(ws.piece(-0.5));
                }))
            );
        }
        println!(
            "forward     {:9.2} us",
            ms(med(15, || {
                k.soft_binary_argmax(&x, n as f64 / 2.0, 1.5, &mut y)
                    .unwrap();
            }))
        );
    });
}
