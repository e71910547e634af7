//! Times the sharded functions on one rank (an allreduce that returns at once), so that the
//! local passes alone are measured: the forward on 2^20 elements (f64 and f32, k = 1000.5,
//! τ = 0.7) and the multiclass loss with its gradient (8192 × 10, f32, label counts as k).
//! Medians of 15 calls, three times.
//!
//! `cargo run --release -p hypersimplex --example shardbench`
use hypersimplex::{
    hypersimplex_loss_multiclass_sharded, multiclass_buf_len, soft_binary_argmax_sharded, ClassK,
    ColumnState, Reduction,
};
use std::time::Instant;

/// The median of `runs` timings of `f`, in ms.
fn median_ms(runs: usize, mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..runs)
        .map(|_| {
            let a = Instant::now();
            f();
            a.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[runs / 2]
}

fn main() {
    let n = 1 << 20;
    let mut s = 1u64;
    let x: Vec<f64> = (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) * 6.0 - 3.0
        })
        .collect();
    let xf: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    let (mut y, mut yf) = (vec![0.0; n], vec![0.0f32; n]);
    let (b, c) = (8192usize, 10usize);
    let labels: Vec<u32> = (0..b).map(|i| (i % c) as u32).collect();
    let mut g = vec![0.0f32; b * c];
    let mut st = vec![ColumnState::<f32>::default(); c];
    let mut buf = vec![0i64; multiclass_buf_len(c)];
    let mut ar = |_: &mut [i64]| true;
    for _ in 0..3 {
        let f64_fwd = median_ms(15, || {
            soft_binary_argmax_sharded(&x, 1000.5, 0.7, &mut ar, &mut y).unwrap();
        });
        let f32_fwd = median_ms(15, || {
            soft_binary_argmax_sharded(&xf, 1000.5, 0.7f32, &mut ar, &mut yf).unwrap();
        });
        let mc = median_ms(15, || {
            hypersimplex_loss_multiclass_sharded(
                &xf[..b * c],
                &labels,
                c,
                ClassK::LabelCounts,
                1.0f32,
                Reduction::Mean,
                Some(&mut g),
                &mut ar,
                &mut st,
                &mut buf,
            )
            .unwrap();
        });
        println!(
            "forward 2^20 f64 {f64_fwd:.2} ms, f32 {f32_fwd:.2} ms; multiclass 8192 x 10 f32 {mc:.3} ms"
        );
    }
}
