//! Shared test helpers: deterministic data, thread pools, the kernels to test, and the
//! accuracy bound between two solutions of the same projection.
#![allow(dead_code)]

use hypersimplex::Real;
use hypersimplex_simd::{Kernels, Path};

/// xorshift64* generator (deterministic, no dependencies).
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Approximately standard normal (sum of 4 uniforms, rescaled).
    pub fn normal(&mut self) -> f64 {
        let s: f64 = (0..4).map(|_| self.unit()).sum();
        (s - 2.0) * 1.732
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// Test data of several kinds: smooth, with many ties, on a coarse grid (so `z − λ` hits 0
/// and 1 exactly), and with large magnitudes.
pub fn data<T: Real>(rng: &mut Rng, n: usize, kind: usize) -> Vec<T> {
    (0..n)
        .map(|i| {
            let v = match kind % 4 {
                0 => rng.normal() * 2.0,
                1 => (rng.below(5) as f64) * 0.5 - 1.0,
                2 => (rng.below(64) as f64) * 0.125 - 4.0 + if i % 7 == 0 { 1.0 } else { 0.0 },
                _ => rng.normal() * 1000.0,
            };
            T::from_f64(v)
        })
        .collect()
}

/// Whether the tests whose cost is their size take a subset of their cases: in debug builds
/// (the workspace's debug run, there to catch integer overflow on every path, where the
/// sort-based references are ten times slower) and where `HYPERSIMPLEX_QUICK_TESTS` is set
/// (`scripts/test-simd-aarch64.sh`, under qemu). The release run on the host takes every case.
pub fn quick() -> bool {
    cfg!(debug_assertions) || std::env::var_os("HYPERSIMPLEX_QUICK_TESTS").is_some()
}

/// Every kernel path this machine supports (scalar included).
pub fn all_kernels() -> Vec<Kernels> {
    Path::supported()
        .into_iter()
        .map(|p| Kernels::new(p).expect("supported path"))
        .collect()
}

/// Runs `f` on a rayon pool of `t` threads.
pub fn with_threads<R: Send>(t: usize, f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new()
        .num_threads(t)
        .build()
        .expect("pool")
        .install(f)
}

/// `M = max(1, max_i |x_i·s|, |λ|)` as used in the accuracy bound.
pub fn magnitude<T: Real>(x: &[T], tau: T, lambda: f64) -> f64 {
    let s = (T::ONE / tau).to_f64();
    x.iter()
        .map(|v| (v.to_f64() * s).abs())
        .fold(1.0f64.max(lambda.abs()), f64::max)
}

/// `|a_i − b_i| ≤ c·ε·M` for all i; returns the largest ratio `|a_i − b_i| / (ε·M)`.
pub fn max_ulps<T: Real>(a: &[T], b: &[T], m: f64) -> f64 {
    assert_eq!(a.len(), b.len());
    let e = T::EPSILON.to_f64() * m;
    a.iter()
        .zip(b)
        .map(|(x, y)| (x.to_f64() - y.to_f64()).abs() / e)
        .fold(0.0, f64::max)
}

pub fn bits<T: Real>(v: &[T]) -> Vec<u64> {
    v.iter().map(|x| x.to_f64().to_bits()).collect()
}

/// Lengths around the lane counts (8 and 4 for f32, 4 and 2 for f64; main loops take two
/// vectors at a time, so every remainder 0..15 of the scalar tail occurs), below and above
/// `VECTOR_MIN` (32: shorter inputs take the scalar code on every path) and around the
/// core's sampled-start threshold (2048).
pub const LENGTHS: &[usize] = &[
    0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 23, 31, 32, 33, 34, 40, 45, 63, 71, 100, 257, 1000,
    2047, 2048, 2049, 5003,
];

/// The documented bound between this crate's projection and the core crate's:
/// `16·ε·M + n·ε_f64` (each is within `8·ε·M` of the exact projection up to the rounding of
/// its f64 sum `Σ_F d_i`, which differs between summation orders by at most `n·ε_f64·|F|`
/// and moves λ by that over `|F|`).
pub fn bound<T: Real>(n: usize, m: f64) -> f64 {
    16.0 * T::EPSILON.to_f64() * m + n as f64 * f64::EPSILON
}

pub fn max_abs_diff<T: Real>(a: &[T], b: &[T]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x.to_f64() - y.to_f64()).abs())
        .fold(0.0, f64::max)
}

/// λ of the exact projection of `z = x·s` (computed in f64) onto Δ(n,k), by bisection: an
/// independent reference, slow and obviously correct.
pub fn reference<T: Real>(x: &[T], k: f64, tau: T) -> (f64, Vec<f64>) {
    let s = (T::ONE / tau).to_f64();
    let z: Vec<f64> = x.iter().map(|v| v.to_f64() * s).collect();
    let f = |l: f64| z.iter().map(|&v| (v - l).clamp(0.0, 1.0)).sum::<f64>();
    let mut lo = z.iter().cloned().fold(f64::INFINITY, f64::min) - 1.0;
    let mut hi = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if f(mid) > k {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let l = 0.5 * (lo + hi);
    (l, z.iter().map(|&v| (v - l).clamp(0.0, 1.0)).collect())
}

/// `Σ v` with Neumaier's compensation: within about one rounding of the exact sum (a plain
/// `f64` sum of n values near 1 errs by up to n²·ε).
pub fn neumaier(v: impl IntoIterator<Item = f64>) -> f64 {
    let (mut s, mut c) = (0.0f64, 0.0f64);
    for v in v {
        let t = s + v;
        c += if s.abs() >= v.abs() {
            (s - t) + v
        } else {
            (v - t) + s
        };
        s = t;
    }
    s + c
}
