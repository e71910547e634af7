//! The half-precision forward against the `f32` forward, alternated call by call and timed in
//! the thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), which is steadier than criterion's
//! back-to-back groups on a shared machine: every repetition times the `f32` forward, then
//! bf16, then f16, on a one-thread pool (Gaussian data rounded to bf16, τ = 1.5, k = n/2).
//!
//! Run: `cargo run --release -p hypersimplex-benches --example half_alternating -- N ROWS REPS`
//! (defaults 10000000 1 15); prints the medians and the ratios of the medians and minima.

use hypersimplex::half::{Bf16, Half, F16};
use hypersimplex_simd::Kernels;

#[repr(C)]
struct Timespec {
    sec: i64,
    nsec: i64,
}

extern "C" {
    fn clock_gettime(clock: i32, t: *mut Timespec) -> i32;
}

/// This thread's CPU time in seconds (Linux `CLOCK_THREAD_CPUTIME_ID` = 3).
fn cpu_time() -> f64 {
    let mut t = Timespec { sec: 0, nsec: 0 };
    // SAFETY: `t` is a valid, writable timespec (two 64-bit fields on 64-bit Linux).
    unsafe { clock_gettime(3, &mut t) };
    t.sec as f64 + t.nsec as f64 * 1e-9
}

fn arg(i: usize, default: usize) -> usize {
    std::env::args()
        .nth(i)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn time(f: impl FnOnce()) -> f64 {
    let t = cpu_time();
    f();
    cpu_time() - t
}

fn main() {
    let (n, rows, reps) = (arg(1, 10_000_000), arg(2, 1), arg(3, 15));
    let e = n * rows;
    let x32: Vec<f32> = hypersimplex_benches::gaussian_f32(e, 42)
        .iter()
        .map(|&v| Bf16::from_f32(v).to_f32())
        .collect();
    let xb: Vec<Bf16> = x32.iter().map(|&v| Bf16::from_f32(v)).collect();
    let xh: Vec<F16> = x32.iter().map(|&v| F16::from_f32(v)).collect();
    let (mut y32, mut yb, mut yh) = (vec![0.0f32; e], vec![Bf16::ZERO; e], vec![F16::ZERO; e]);
    let mut scratch = Vec::new();
    let k = Kernels::active();
    let kk = n as f64 / 2.0;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool");
    let mut t = [Vec::new(), Vec::new(), Vec::new()];
    pool.install(|| {
        for _ in 0..reps {
            t[0].push(time(|| {
                for (a, b) in x32.chunks(n).zip(y32.chunks_mut(n)) {
                    k.soft_binary_argmax(a, kk, 1.5, b).expect("valid");
                }
            }));
            t[1].push(time(|| {
                for (a, b) in xb.chunks(n).zip(yb.chunks_mut(n)) {
                    k.soft_binary_argmax_half(a, kk, 1.5, b, &mut scratch)
                        .expect("valid");
                }
            }));
            t[2].push(time(|| {
                for (a, b) in xh.chunks(n).zip(yh.chunks_mut(n)) {
                    k.soft_binary_argmax_half(a, kk, 1.5, b, &mut scratch)
                        .expect("valid");
                }
            }));
        }
    });
    for v in t.iter_mut() {
        v.sort_by(f64::total_cmp);
    }
    let med = |v: &[f64]| v.get(v.len() / 2).copied().unwrap_or(f64::NAN);
    let min = |v: &[f64]| v.first().copied().unwrap_or(f64::NAN);
    let [f, b, h] = &t;
    println!(
        "{rows}x{n} ({} path): f32 {:.3} ms, bf16 {:.2}x, f16 {:.2}x (medians); minima {:.2}x, {:.2}x",
        k.path(),
        med(f) * 1e3,
        med(b) / med(f),
        med(h) / med(f),
        min(b) / min(f),
        min(h) / min(f)
    );
}
