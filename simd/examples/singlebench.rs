//! Times single short vectors (issue 14) on one thread: the f32 binary loss with its gradient
//! and the f32 forward (both the short-row solver, one row across the lanes, for n ≤ 256), and
//! the f64 forward (the general solver) as a yardstick in the same run; best of 7 runs of
//! 50,000 calls, ns per call.
//! `cargo run --release -p hypersimplex-simd --example singlebench`
/// Best of 7 runs of `reps` calls of `f`, in ns per call.
fn best_ns(reps: usize, mut f: impl FnMut()) -> f64 {
    (0..7)
        .map(|_| {
            let st = std::time::Instant::now();
            for _ in 0..reps {
                f();
            }
            st.elapsed().as_secs_f64() / reps as f64 * 1e9
        })
        .fold(f64::MAX, f64::min)
}

use std::hint::black_box as bb;

fn main() {
    let k = hypersimplex_simd::Kernels::active();
    println!("path {}", k.path());
    for n in [2usize, 4, 8, 10, 12, 16, 20, 24, 32, 48, 64, 128, 256] {
        let mut s = 7u64;
        let x: Vec<f32> = (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) * 6.0 - 3.0
            })
            .collect();
        let xd: Vec<f64> = x.iter().map(|&v| v as f64).collect();
        let t: Vec<f32> = (0..n).map(|i| (i % 2) as f32).collect();
        let (mut g, mut y, mut yd) = (vec![0.0f32; n], vec![0.0f32; n], vec![0.0f64; n]);
        let kk = n as f64 / 2.0;
        let reps = 50_000;
        let loss = best_ns(reps, || {
            bb(k.hypersimplex_loss(bb(&x), &t, kk, 1.5, Some(&mut g))
                .unwrap());
        });
        let fwd = best_ns(reps, || {
            bb(k.soft_binary_argmax(bb(&x), kk, 1.5, &mut y).unwrap());
        });
        let fwd64 = best_ns(reps, || {
            bb(k.soft_binary_argmax(bb(&xd), kk, 1.5, &mut yd).unwrap());
        });
        println!("n={n:3}  f32 loss+grad {loss:4.0} ns  f32 forward {fwd:4.0} ns  f64 forward {fwd64:4.0} ns");
    }
}
