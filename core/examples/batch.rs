//! The main job (for now): project a batch of logits onto the hypersimplex, run the backward
//! pass, print results and timings.
//!
//! `cargo run --release -p hypersimplex --example batch`
//!
//! A batch of 10 rows × 8192 standard Gaussian logits (deterministic), τ = 1.5, is projected
//! row by row, `y = Π_Δ(n,k)(x/τ)`, for an integer k = 4096 and a fractional k = 1234.5; the
//! backward pass `Jᵀg` is applied to an upstream gradient `g = y − t` (the gradient of
//! `½‖y − t‖²` for random 0/1 targets t). It checks `Σy ≈ k` and `Σ(Jᵀg) ≈ 0` per row (the
//! Jacobian's rows sum to zero) and exits with status 1 if a check fails. Timings are medians
//! over repeated runs (std::time::Instant), in ns per element.

use hypersimplex::{
    hypersimplex_loss_multiclass, multiclass_scratch_len, soft_binary_argmax,
    soft_binary_argmax_vjp, ClassK, Projection, Reduction,
};
use std::process::ExitCode;
use std::time::Instant;

const ROWS: usize = 10;
const N: usize = 8192;
const TAU: f32 = 1.5;

/// SplitMix64 + Box–Muller: reproducible Gaussian data without dependencies.
struct Rng(u64);
impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn gaussian(&mut self) -> f32 {
        let (u1, u2) = (1.0 - self.uniform(), self.uniform());
        ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()) as f32
    }
}

/// Median wall time of `reps` runs of `f`, in ns per element of `elems`.
fn median_ns_per_elem(reps: usize, elems: usize, mut f: impl FnMut()) -> f64 {
    f(); // warm up
    let mut t: Vec<f64> = (0..reps)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_nanos() as f64
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[reps / 2] / elems as f64
}

fn forward(x: &[f32], k: f64, y: &mut [f32], info: &mut [Projection]) {
    for ((xr, yr), p) in x.chunks_exact(N).zip(y.chunks_exact_mut(N)).zip(info) {
        *p = soft_binary_argmax(xr, k, TAU, yr).expect("valid input");
    }
}

fn backward(y: &[f32], g: &[f32], gx: &mut [f32]) {
    for ((yr, gr), or) in y
        .chunks_exact(N)
        .zip(g.chunks_exact(N))
        .zip(gx.chunks_exact_mut(N))
    {
        soft_binary_argmax_vjp(yr, gr, TAU, or).expect("valid input");
    }
}

fn main() -> ExitCode {
    let total = ROWS * N;
    let mut rng = Rng(2026);
    let x: Vec<f32> = (0..total).map(|_| rng.gaussian()).collect();
    let t: Vec<f32> = (0..total).map(|_| (rng.next_u64() & 1) as f32).collect();
    let mut y = vec![0.0f32; total];
    let mut g = vec![0.0f32; total];
    let mut gx = vec![0.0f32; total];
    let mut info = [Projection {
        lambda: 0.0,
        free: 0,
        upper: 0,
        passes: 0,
    }; ROWS];
    let mut ok = true;

    println!("hypersimplex: {ROWS} rows x {N} Gaussian logits (f32), tau = {TAU}");
    for k in [4096.0f64, 1234.5] {
        forward(&x, k, &mut y, &mut info);
        for ((gi, &yi), &ti) in g.iter_mut().zip(&y).zip(&t) {
            *gi = yi - ti; // upstream gradient of ½‖y − t‖²
        }
        backward(&y, &g, &mut gx);

        println!("\nk = {k}");
        println!("row  lambda        |F|    |U|   passes  sum(y)         sum(y)-k    sum(J^T g)");
        for (r, p) in info.iter().enumerate() {
            let yr = &y[r * N..(r + 1) * N];
            let sum_y: f64 = yr.iter().map(|&v| v as f64).sum();
            let sum_gx: f64 = gx[r * N..(r + 1) * N].iter().map(|&v| v as f64).sum();
            // the same bound as the crate's tested accuracy: 8·ε·M·max(1, |F|)
            let zmax = x[r * N..(r + 1) * N]
                .iter()
                .fold(0.0f32, |a, &v| a.max((v / TAU).abs()));
            let m = p.lambda.abs().max(zmax as f64).max(1.0);
            let tol = 8.0 * f32::EPSILON as f64 * m * p.free.max(1) as f64;
            let good = (sum_y - k).abs() <= tol && sum_gx.abs() <= 1e-3;
            ok &= good;
            println!(
                "{r:>3}  {:<12.7} {:>5}  {:>5}  {:>6}  {sum_y:<13.6} {:>+10.2e}  {sum_gx:>+10.2e} {}",
                p.lambda,
                p.free,
                p.upper,
                p.passes,
                sum_y - k,
                if good { "" } else { "  <-- FAILED" }
            );
        }
        print!("row 0: x[0..4] = ");
        x[..4].iter().for_each(|v| print!("{v:+.4} "));
        print!("\n       y[0..4] = ");
        y[..4].iter().for_each(|v| print!("{v:.5} "));
        print!("\n  (J^T g)[0..4] = ");
        gx[..4].iter().for_each(|v| print!("{v:+.5} "));
        println!();
    }

    // Timings: median of repeated runs over the whole batch.
    let k = 4096.0;
    let reps = 301;
    let fwd = median_ns_per_elem(reps, total, || forward(&x, k, &mut y, &mut info));
    let bwd = median_ns_per_elem(reps, total, || backward(&y, &g, &mut gx));
    let mut copy = vec![0.0f32; total];
    let cpy = median_ns_per_elem(reps, total, || {
        copy.copy_from_slice(std::hint::black_box(&x));
        std::hint::black_box(&mut copy);
    });
    // The multiclass loss with gradient on the same data read as 8192 × 10 (B × C).
    let (batch, classes) = (N, ROWS);
    let labels: Vec<u32> = (0..batch)
        .map(|_| (rng.next_u64() % classes as u64) as u32)
        .collect();
    let mut scratch = vec![0.0f32; multiclass_scratch_len(batch, classes)];
    let mut loss = 0.0f32;
    let mc = median_ns_per_elem(reps, total, || {
        loss = hypersimplex_loss_multiclass(
            &x,
            &labels,
            classes,
            ClassK::LabelCounts,
            TAU,
            Reduction::Mean,
            Some(&mut gx),
            &mut scratch,
        )
        .expect("valid input");
    });
    println!("\ntimings (median of {reps} runs, ns per element, {total} elements):");
    println!("  forward  {ROWS}x{N}, k = {k}: {fwd:7.3} ns/elem");
    println!("  backward {ROWS}x{N}:           {bwd:7.3} ns/elem");
    println!("  multiclass loss+grad {batch}x{classes} (Mean, label counts): {mc:7.3} ns/elem (loss = {loss:.6})");
    println!("  memcpy of the same bytes:        {cpy:7.3} ns/elem");
    println!(
        "  (passes per row at k = {k}: {:?})",
        info.map(|p| p.passes)
    );

    if ok {
        println!("\nall checks passed (|sum(y) - k| within bound, sum(J^T g) ~ 0)");
        ExitCode::SUCCESS
    } else {
        println!("\nFAILED: a check did not hold");
        ExitCode::FAILURE
    }
}
