//! Shared helpers for the benchmarks: the sort-based yardstick and deterministic data.
//!
//! # The yardstick: sort + breakpoint scan
//! The paper's reference code (and Duchi 2008 / Wang & Lu 2015 for the capped simplex) finds
//! the threshold λ of `y_i = clip(z_i − λ, 0, 1)`, `z = x/τ`, `Σ y = k`, by sorting `z`. This
//! module implements that class of algorithm from the math, as fast as plain Rust allows, so
//! that the comparison with `hypersimplex` is fair:
//!
//! 1. `z_i = fl(x_i · fl(1/τ))` (f32, the same rounding as `hypersimplex`), copied into a
//!    caller-provided scratch buffer and sorted descending with `sort_unstable_by` +
//!    `f32::total_cmp` (std's pattern-defeating quicksort; no allocation in the timed loop).
//! 2. One merge scan over the two sorted breakpoint sequences `z_(i)` (coordinate i becomes
//!    free as λ decreases past it) and `z_(i) − 1` (it saturates at 1). Between consecutive
//!    breakpoints the upper set U is a prefix `z_(0..u)` and the free set F is `z_(u..f)`, and
//!    `φ(λ) = Σ clip(z_i − λ, 0, 1) = |U| + Σ_F z_i − |F| λ` is linear. The scan stops on the
//!    first piece whose lower end has `φ ≥ k` and solves it exactly:
//!    `λ = (Σ_F z_i + |U| − k) / |F|`. This is `O(n)` after the `O(n log n)` sort (Wang & Lu's
//!    published code is `O(n²)` here; the linear merge is the fair, faster version).
//! 3. `y_i = clip(fl(x_i·s) − fl(λ), 0, 1)` in f32.
//!
//! Precision: elements and the output are f32; the scan's running sum, φ and λ are computed
//! in **f64**, then λ is rounded to f32 for the clip (as `hypersimplex` does).

#![warn(missing_docs)]

use hypersimplex::{ClassK, Reduction};

/// What the sort-based projection found.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SortProjection {
    /// The threshold λ in units of `x/τ` (f64, before rounding to f32 for the clip).
    pub lambda: f64,
    /// `|F|`, coordinates with `0 < z_i − λ < 1` on the solved piece.
    pub free: usize,
    /// `|U|`, coordinates with `z_i − λ ≥ 1`.
    pub upper: usize,
}

/// Finds λ for `z` already sorted **descending** (see the module docs); f64 arithmetic.
///
/// Requires `0 ≤ k ≤ n` and finite `z`. For `n = 0` returns λ = 0.
pub fn sorted_scan(z: &[f32], k: f64) -> SortProjection {
    let n = z.len();
    if n == 0 {
        return SortProjection {
            lambda: 0.0,
            free: 0,
            upper: 0,
        };
    }
    let (mut u, mut f) = (0usize, 0usize); // U = z[..u], F = z[u..f]
    let mut sum = 0.0f64; // Σ_F z
    let mut hi = f64::INFINITY; // upper end of the current piece
    loop {
        // The next breakpoint below `hi`: the larger of z[f] (enter F) and z[u] − 1 (enter U).
        let enter = if f < n {
            z[f] as f64
        } else {
            f64::NEG_INFINITY
        };
        let saturate = if u < f {
            z[u] as f64 - 1.0
        } else {
            f64::NEG_INFINITY
        };
        let lo = enter.max(saturate);
        // φ at the lower end of the piece (lo, hi), with the piece's counts.
        let phi_lo = if lo == f64::NEG_INFINITY {
            n as f64 // every coordinate saturated
        } else {
            u as f64 + sum - (f - u) as f64 * lo
        };
        if phi_lo >= k {
            let lambda = if f > u {
                let l = (sum + u as f64 - k) / (f - u) as f64;
                l.clamp(lo, hi) // guards rounding at the piece's ends
            } else if hi.is_finite() {
                hi // flat piece (only through rounding): any λ in it works
            } else {
                z[0] as f64 // k = 0: all zeros
            };
            return SortProjection {
                lambda,
                free: f - u,
                upper: u,
            };
        }
        // Cross the breakpoint `lo`. Ties: entering first keeps u ≤ f.
        if enter >= saturate {
            sum += z[f] as f64;
            f += 1;
        } else {
            sum -= z[u] as f64;
            u += 1;
        }
        hi = lo;
    }
}

/// Sort-based Soft-Binary-Argmax@k for f32: `y = Π_Δ(n,k)(x/τ)`.
///
/// `scratch` must hold at least `x.len()` elements (it receives the sorted `z`). Panics on
/// length mismatch (bench code: inputs are valid by construction). Requires `0 ≤ k ≤ n`,
/// `τ > 0` and finite `x/τ`.
pub fn sort_projection(
    x: &[f32],
    k: f64,
    tau: f32,
    y: &mut [f32],
    scratch: &mut [f32],
) -> SortProjection {
    assert_eq!(x.len(), y.len());
    let z = &mut scratch[..x.len()];
    let s = 1.0f32 / tau;
    for (zi, &xi) in z.iter_mut().zip(x) {
        *zi = xi * s;
    }
    z.sort_unstable_by(|a, b| b.total_cmp(a));
    let p = sorted_scan(z, k);
    let lam = p.lambda as f32;
    for (yi, &xi) in y.iter_mut().zip(x) {
        *yi = (xi * s - lam).clamp(0.0, 1.0);
    }
    p
}

/// Reusable buffers for [`sort_multiclass_loss`] (allocated once, outside the timed loop).
pub struct SortScratch {
    col: Vec<f32>,
    sorted: Vec<f32>,
    proj: Vec<f32>,
}

impl SortScratch {
    /// Buffers for a batch of `batch` rows.
    pub fn new(batch: usize) -> Self {
        SortScratch {
            col: vec![0.0; batch],
            sorted: vec![0.0; batch],
            proj: vec![0.0; batch],
        }
    }
}

/// The multiclass HyperSimplex loss and its gradient, sort-based: for every class column
/// `c`, `p = Π_Δ(B,k_c)(X[:,c]/τ)` by [`sort_projection`], `r = p − Y[:,c]`,
/// `L = ½Σ‖r‖²` (Sum) or `Σ‖r‖²/(B·C)` (Mean), and
/// `∇ = w·(1/τ)(r_i − mean_{j∈A} r_j)` on `A = {0 < p < 1}` (w = 1 for Sum, 2/(B·C) for Mean).
/// Same contract as `hypersimplex::hypersimplex_loss_multiclass`, but panics on bad input.
#[allow(clippy::too_many_arguments)]
pub fn sort_multiclass_loss(
    logits: &[f32],
    labels: &[u32],
    classes: usize,
    k: ClassK<'_>,
    tau: f32,
    reduction: Reduction,
    grad: &mut [f32],
    scratch: &mut SortScratch,
) -> f32 {
    let batch = labels.len();
    let total = batch * classes;
    assert_eq!(logits.len(), total);
    assert_eq!(grad.len(), total);
    let s = 1.0f32 / tau;
    let factor = match reduction {
        Reduction::Sum => s,
        Reduction::Mean => (2.0 / total as f64) as f32 * s,
    };
    let mut sq = 0.0f64;
    for c in 0..classes {
        let mut count = 0usize;
        for ((dst, row), &l) in scratch
            .col
            .iter_mut()
            .zip(logits.chunks_exact(classes))
            .zip(labels)
        {
            *dst = row[c];
            count += (l as usize == c) as usize;
        }
        let kc = match k {
            ClassK::LabelCounts => count as f64,
            ClassK::Fixed(v) => v,
            ClassK::PerClass(ks) => ks[c],
        };
        sort_projection(
            &scratch.col,
            kc,
            tau,
            &mut scratch.proj,
            &mut scratch.sorted,
        );
        let (mut free, mut sum_free) = (0usize, 0.0f64);
        for (&p, &l) in scratch.proj.iter().zip(labels) {
            let r = p - (l as usize == c) as u32 as f32;
            sq += (r as f64) * (r as f64);
            if p > 0.0 && p < 1.0 {
                free += 1;
                sum_free += r as f64;
            }
        }
        let mean = if free > 0 {
            (sum_free / free as f64) as f32
        } else {
            0.0
        };
        for ((grow, &p), &l) in grad
            .chunks_exact_mut(classes)
            .zip(&scratch.proj)
            .zip(labels)
        {
            let r = p - (l as usize == c) as u32 as f32;
            grow[c] = if p > 0.0 && p < 1.0 {
                (r - mean) * factor
            } else {
                0.0
            };
        }
    }
    match reduction {
        Reduction::Sum => (0.5 * sq) as f32,
        Reduction::Mean => (sq / total as f64) as f32,
    }
}

/// A small deterministic generator (SplitMix64): reproducible data without a `rand` dependency.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `[0, 1)` with 53 random bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
    /// Standard normal (Box–Muller; one value per call, the second is discarded).
    pub fn gaussian(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform(); // (0, 1]
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * core::f64::consts::PI * u2).cos()
    }
}

/// `n` standard Gaussian logits (f32), deterministic in `seed`.
pub fn gaussian_f32(n: usize, seed: u64) -> Vec<f32> {
    let mut r = SplitMix64::new(seed);
    (0..n).map(|_| r.gaussian() as f32).collect()
}

/// `n` values uniform in `[lo, hi)` (f32), deterministic in `seed`.
pub fn uniform_f32(n: usize, lo: f32, hi: f32, seed: u64) -> Vec<f32> {
    let mut r = SplitMix64::new(seed);
    (0..n)
        .map(|_| lo + (hi - lo) * r.uniform() as f32)
        .collect()
}

/// `n` values drawn from `levels` distinct integers `0..levels` (many ties).
pub fn ties_f32(n: usize, levels: u64, seed: u64) -> Vec<f32> {
    let mut r = SplitMix64::new(seed);
    (0..n).map(|_| (r.next_u64() % levels) as f32).collect()
}

/// `batch` labels uniform in `0..classes`, deterministic in `seed`.
pub fn labels(batch: usize, classes: usize, seed: u64) -> Vec<u32> {
    let mut r = SplitMix64::new(seed);
    (0..batch)
        .map(|_| (r.next_u64() % classes as u64) as u32)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hypersimplex::{hypersimplex_loss_multiclass, multiclass_scratch_len, soft_binary_argmax};

    /// Slow, obviously correct f64 check: bisection on φ(λ) = Σ clip(z − λ, 0, 1) = k.
    fn bisect(z: &[f64], k: f64) -> f64 {
        let phi = |l: f64| z.iter().map(|&v| (v - l).clamp(0.0, 1.0)).sum::<f64>();
        let mut lo = z.iter().cloned().fold(f64::INFINITY, f64::min) - 1.0;
        let mut hi = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if phi(mid) > k {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        0.5 * (lo + hi)
    }

    /// Sort-based vs core: `|Δy| ≤ max(1e-5, 16·ε·M)`, the same λ, `|Σy − k| ≤ 8·ε·M·max(1, |F|)` (core's
    /// stated bound, `M = max(1, max|z|, |λ|)`), and for untied data the same |F| and |U|.
    fn check_against_core(x: &[f32], k: f64, tau: f32, untied: bool) {
        let n = x.len();
        let (mut y0, mut y1, mut sc) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        let p = sort_projection(x, k, tau, &mut y0, &mut sc);
        let q = soft_binary_argmax(x, k, tau, &mut y1).unwrap();
        let err = y0
            .iter()
            .zip(&y1)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        let zmax = x.iter().fold(0.0f32, |m, &v| m.max((v / tau).abs())) as f64;
        let m = zmax.max(p.lambda.abs()).max(1.0);
        // the sort-based yardstick works on fl(x/τ), accurate to about ε·M; core is within 4ε
        // of the exact projection of x/τ at every scale (issue 13)
        let tol = 1e-5f64.max(16.0 * f32::EPSILON as f64 * m);
        assert!(
            err as f64 <= tol,
            "n={n} k={k} tau={tau}: max |Δy| = {err} (tol {tol:e})"
        );
        let sum: f64 = y0.iter().map(|&v| v as f64).sum();
        let bound = 8.0 * f32::EPSILON as f64 * m * (p.free.max(1) as f64);
        assert!(
            (sum - k).abs() <= bound,
            "n={n} k={k} tau={tau}: Σy = {sum}, bound {bound}"
        );
        if q.free > 0 && p.free > 0 {
            let tol = 1e-5 * m;
            assert!(
                (p.lambda - q.lambda).abs() <= tol,
                "λ: sort {} vs core {}",
                p.lambda,
                q.lambda
            );
        }
        if untied {
            assert_eq!(
                (p.free, p.upper),
                (q.free, q.upper),
                "n={n} k={k} tau={tau}"
            );
        }
    }

    #[test]
    fn scan_matches_bisection() {
        for (n, seed) in [(1usize, 1u64), (2, 2), (7, 3), (100, 4), (1000, 5)] {
            let x = gaussian_f32(n, seed);
            let mut z: Vec<f32> = x.iter().map(|&v| v * 0.5).collect();
            z.sort_unstable_by(|a, b| b.total_cmp(a));
            let zd: Vec<f64> = z.iter().map(|&v| v as f64).collect();
            for k in [0.3, 1.0, n as f64 / 2.0, n as f64 - 0.25] {
                if k > n as f64 {
                    continue;
                }
                let l = sorted_scan(&z, k).lambda;
                let phi: f64 = zd.iter().map(|&v| (v - l).clamp(0.0, 1.0)).sum();
                assert!((phi - k).abs() < 1e-9, "n={n} k={k}: φ(λ) = {phi}");
                let lb = bisect(&zd, k);
                assert!((l - lb).abs() < 1e-9, "n={n} k={k}: {l} vs {lb}");
            }
        }
    }

    #[test]
    fn endpoints_k0_and_kn() {
        let x = gaussian_f32(50, 9);
        let (mut y, mut sc) = (vec![0.5; 50], vec![0.0; 50]);
        sort_projection(&x, 0.0, 1.5, &mut y, &mut sc);
        assert!(y.iter().all(|&v| v == 0.0));
        sort_projection(&x, 50.0, 1.5, &mut y, &mut sc);
        assert!(y.iter().all(|&v| v == 1.0));
        // a single element
        let mut y1 = [0.0f32];
        sort_projection(&[3.0], 0.4, 1.0, &mut y1, &mut [0.0]);
        assert!((y1[0] - 0.4).abs() < 1e-7);
    }

    #[test]
    fn agrees_with_core_on_gaussian_logits() {
        for (n, seed) in [(10usize, 11u64), (1024, 12), (8192, 13), (100_000, 14)] {
            let x = gaussian_f32(n, seed);
            for k in [
                1.0,
                n as f64 / 2.0,
                n as f64 / 2.0 + 0.37,
                n as f64 - 1.0,
                0.0,
                n as f64,
            ] {
                check_against_core(&x, k, 1.5, k > 0.0 && k < n as f64);
            }
        }
    }

    #[test]
    fn agrees_with_core_on_ties_uniform_and_tau() {
        for (i, n) in [3usize, 17, 1000, 5000].into_iter().enumerate() {
            let seed = 100 + i as u64;
            let t = ties_f32(n, 3, seed);
            let u = uniform_f32(n, -10.0, 10.0, seed);
            for tau in [1e-2f32, 1.0, 1.5, 100.0] {
                for k in [1.0, n as f64 / 2.0, n as f64 / 3.0 + 0.5] {
                    check_against_core(&t, k, tau, false);
                    check_against_core(&u, k, tau, false);
                }
            }
        }
    }

    #[test]
    fn multiclass_agrees_with_core() {
        let (b, c) = (2048usize, 10usize);
        let x = gaussian_f32(b * c, 21);
        let l = labels(b, c, 22);
        let fixed = [b as f64 / 2.0];
        let per: Vec<f64> = (0..c).map(|i| 100.0 + 13.5 * i as f64).collect();
        for k in [
            ClassK::LabelCounts,
            ClassK::Fixed(fixed[0]),
            ClassK::PerClass(&per),
        ] {
            for red in [Reduction::Mean, Reduction::Sum] {
                let (mut g0, mut g1) = (vec![0.0; b * c], vec![0.0; b * c]);
                let mut ss = SortScratch::new(b);
                let l0 = sort_multiclass_loss(&x, &l, c, k, 1.5, red, &mut g0, &mut ss);
                let mut sc = vec![0.0; multiclass_scratch_len(b, c)];
                let l1 =
                    hypersimplex_loss_multiclass(&x, &l, c, k, 1.5, red, Some(&mut g1), &mut sc)
                        .unwrap();
                assert!((l0 - l1).abs() <= 1e-5 * l1.abs().max(1.0), "{l0} vs {l1}");
                let gmax = g1.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                assert!(gmax > 0.0);
                for (a, bb) in g0.iter().zip(&g1) {
                    assert!((a - bb).abs() <= 1e-5 * gmax.max(1e-3), "{a} vs {bb}");
                }
            }
        }
    }

    #[test]
    fn generators_are_deterministic_and_sane() {
        assert_eq!(gaussian_f32(100, 5), gaussian_f32(100, 5));
        assert_ne!(gaussian_f32(100, 5), gaussian_f32(100, 6));
        let g = gaussian_f32(100_000, 1);
        let mean = g.iter().map(|&v| v as f64).sum::<f64>() / g.len() as f64;
        let var = g.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / g.len() as f64;
        assert!(
            mean.abs() < 0.02 && (var - 1.0).abs() < 0.02,
            "{mean} {var}"
        );
        assert!(labels(1000, 10, 3).iter().all(|&l| l < 10));
    }
}
