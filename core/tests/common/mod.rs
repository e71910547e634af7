//! Shared test code: an independent `f64` reference for the projection, deterministic random
//! inputs (random and adversarial), and small numeric helpers.
//!
//! Nothing here calls the crate's algorithm: the references sort and scan breakpoints, or
//! bisect, in plain `f64`, so that the tests compare two unrelated computations.
#![allow(dead_code)]

use hypersimplex::Real;

// ---------------------------------------------------------------------------------------------
// Element types
// ---------------------------------------------------------------------------------------------

/// The two element types, with the constants the tests need.
pub trait TestReal: Real + core::fmt::Display {
    /// Name for messages.
    const NAME: &'static str;
    /// Smallest positive normal value, as f64.
    const MIN_POSITIVE: f64;
    /// Machine epsilon as f64.
    const EPS: f64;
}

impl TestReal for f32 {
    const NAME: &'static str = "f32";
    const MIN_POSITIVE: f64 = f32::MIN_POSITIVE as f64;
    const EPS: f64 = f32::EPSILON as f64;
}

impl TestReal for f64 {
    const NAME: &'static str = "f64";
    const MIN_POSITIVE: f64 = f64::MIN_POSITIVE;
    const EPS: f64 = f64::EPSILON;
}

/// Rounds a vector of f64 to T.
pub fn cast<T: TestReal>(v: &[f64]) -> Vec<T> {
    v.iter().map(|&a| T::from_f64(a)).collect()
}

/// Widens a vector of T to f64.
pub fn widen<T: TestReal>(v: &[T]) -> Vec<f64> {
    v.iter().map(|a| a.to_f64()).collect()
}

/// `x_i / τ` computed in f64 from the element values (one rounding, in f64): the input of the
/// reference.
pub fn scaled_exact<T: TestReal>(x: &[T], tau: T) -> Vec<f64> {
    let t = tau.to_f64();
    x.iter().map(|a| a.to_f64() / t).collect()
}

/// `z_i = fl(x_i · fl(1/τ))` in T, as the crate's documentation defines it (for the bound's M).
pub fn scaled_as_crate<T: TestReal>(x: &[T], tau: T) -> Vec<f64> {
    let s = T::ONE / tau;
    x.iter().map(|&a| (a * s).to_f64()).collect()
}

// ---------------------------------------------------------------------------------------------
// Accurate summation
// ---------------------------------------------------------------------------------------------

/// Neumaier's compensated sum: error ≤ 2ε|Σ| + O(nε²)Σ|v|.
pub fn nsum<I: IntoIterator<Item = f64>>(it: I) -> f64 {
    let mut s = 0.0f64;
    let mut c = 0.0f64;
    for v in it {
        let t = s + v;
        if s.abs() >= v.abs() {
            c += (s - t) + v;
        } else {
            c += (v - t) + s;
        }
        s = t;
    }
    s + c
}

// ---------------------------------------------------------------------------------------------
// Reference projection (sort + breakpoint search), f64
// ---------------------------------------------------------------------------------------------

/// The result of a reference projection.
#[derive(Clone, Debug)]
pub struct RefProj {
    /// λ (on a flat piece, some valid λ).
    pub lambda: f64,
    /// `y_i = clip(z_i − λ, 0, 1)`.
    pub y: Vec<f64>,
    /// Number of coordinates with 0 < y < 1 on the piece of λ.
    pub free: usize,
    /// Number of coordinates with y = 1.
    pub upper: usize,
}

/// `f(λ) = Σ clip(z_i − λ, 0, 1)`, summed accurately.
pub fn f_of(z: &[f64], lambda: f64) -> f64 {
    nsum(z.iter().map(|&zi| (zi - lambda).clamp(0.0, 1.0)))
}

/// Exact projection of `z` onto `{y ∈ [0,1]^n : Σy = k}` (up to f64 rounding), by sorting.
///
/// `f(λ) = Σ clip(z_i − λ, 0, 1)` is non-increasing and linear between consecutive
/// breakpoints `{z_i} ∪ {z_i − 1}`. Sort the breakpoints, binary-search the last one with
/// `f ≥ k`; on the open interval to the next breakpoint the sets U = {z_i − λ > 1},
/// F = {0 < z_i − λ < 1} are fixed, and `λ = (Σ_F z + |U| − k)/|F|` exactly solves `f(λ) = k`.
pub fn reference_projection(z: &[f64], k: f64) -> RefProj {
    Reference::new(z).project(k)
}

/// [`reference_projection`] with the sorted breakpoints kept, for many k on one z.
pub struct Reference {
    z: Vec<f64>,
    b: Vec<f64>,
}

impl Reference {
    pub fn new(z: &[f64]) -> Self {
        assert!(z.iter().all(|v| v.is_finite()));
        let mut b: Vec<f64> = z.iter().flat_map(|&v| [v, v - 1.0]).collect();
        if !z.is_empty() {
            // two sentinels, so that f(b[0]) = n and f(b[last]) = 0 even when z_i − 1 rounds
            let mn = z.iter().cloned().fold(f64::INFINITY, f64::min);
            let mx = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            b.push(mn - 2.0 - mn.abs());
            b.push(mx + 1.0 + mx.abs());
        }
        b.sort_by(|a, c| a.partial_cmp(c).unwrap());
        b.dedup();
        Reference { z: z.to_vec(), b }
    }

    pub fn project(&self, k: f64) -> RefProj {
        let (z, b) = (&self.z[..], &self.b[..]);
        let n = z.len();
        assert!(k >= 0.0 && k <= n as f64);
        if n == 0 {
            return RefProj {
                lambda: 0.0,
                y: vec![],
                free: 0,
                upper: 0,
            };
        }
        if k == 0.0 {
            return RefProj {
                lambda: f64::INFINITY,
                y: vec![0.0; n],
                free: 0,
                upper: 0,
            };
        }
        if k == n as f64 {
            return RefProj {
                lambda: f64::NEG_INFINITY,
                y: vec![1.0; n],
                free: 0,
                upper: n,
            };
        }
        let (mut lo, mut hi) = (0usize, b.len() - 1);
        assert!(f_of(z, b[lo]) >= k && f_of(z, b[hi]) < k);
        while hi - lo > 1 {
            let mid = (lo + hi) / 2;
            if f_of(z, b[mid]) >= k {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let (blo, bhi) = (b[lo], b[hi]);
        // Sets on the open interval (blo, bhi): no breakpoint lies strictly inside.
        let upper = z.iter().filter(|&&zi| zi - 1.0 >= bhi).count();
        let free: Vec<f64> = z
            .iter()
            .cloned()
            .filter(|&zi| zi >= bhi && zi - 1.0 <= blo)
            .collect();
        let lambda = if free.is_empty() {
            // Only when z_i − 1 rounds to z_i (|z_i| ≥ 2^53, where ε·M ≥ 1 and every bound is
            // vacuous): f jumps; take the better end.
            if (f_of(z, blo) - k).abs() <= (f_of(z, bhi) - k).abs() {
                blo
            } else {
                bhi
            }
        } else {
            // Σ_F z + (|U| − k), summed accurately; |U| − k is formed first (it is exact
            // whenever k/|U| ∈ [1/2, 2]), so a large |U| does not swamp the small result.
            let c = upper as f64 - k;
            let num = nsum(free.iter().cloned().chain(core::iter::once(c)));
            (num / free.len() as f64).clamp(blo, bhi)
        };
        let y = z.iter().map(|&zi| (zi - lambda).clamp(0.0, 1.0)).collect();
        RefProj {
            lambda,
            y,
            free: free.len(),
            upper,
        }
    }
}

/// A second, independent reference: bisection on λ over all representable f64 values
/// (64 halvings of the ordered-integer range), then the better of the two neighbours.
pub fn bisection_projection(z: &[f64], k: f64) -> RefProj {
    let n = z.len();
    if n == 0 {
        return RefProj {
            lambda: 0.0,
            y: vec![],
            free: 0,
            upper: 0,
        };
    }
    fn ord(v: f64) -> i64 {
        let b = v.to_bits() as i64;
        if b < 0 {
            b ^ 0x7fff_ffff_ffff_ffff
        } else {
            b
        }
    }
    fn unord(v: i64) -> f64 {
        f64::from_bits((if v < 0 { v ^ 0x7fff_ffff_ffff_ffff } else { v }) as u64)
    }
    let mn = z.iter().cloned().fold(f64::INFINITY, f64::min);
    let mx = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    // f(lo) = n, f(hi) = 0
    let (mut lo, mut hi) = (
        ord(mn - 2.0 - mn.abs()) as i128,
        ord(mx + 1.0 + mx.abs()) as i128,
    );
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if f_of(z, unord(mid as i64)) >= k {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let (a, b) = (unord(lo as i64), unord(hi as i64));
    let lambda = if (f_of(z, a) - k).abs() <= (f_of(z, b) - k).abs() {
        a
    } else {
        b
    };
    let y: Vec<f64> = z.iter().map(|&zi| (zi - lambda).clamp(0.0, 1.0)).collect();
    let free = y.iter().filter(|&&v| v > 0.0 && v < 1.0).count();
    let upper = y.iter().filter(|&&v| v == 1.0).count();
    RefProj {
        lambda,
        y,
        free,
        upper,
    }
}

/// Sparsemax (projection onto the probability simplex), the classic sort-based algorithm
/// (Martins & Astudillo 2016), with no upper clip: an independent check of k = 1.
pub fn sparsemax(z: &[f64]) -> Vec<f64> {
    let mut s = z.to_vec();
    s.sort_by(|a, b| b.partial_cmp(a).unwrap());
    let mut cum = Vec::with_capacity(s.len());
    let mut acc = 0.0;
    let mut support = 1usize; // the largest entry is always in the support
    for (j, &v) in s.iter().enumerate() {
        acc += v;
        cum.push(acc);
        if j > 0 && 1.0 + (j as f64 + 1.0) * v > acc {
            support = j + 1;
        }
    }
    let sum = nsum(s[..support].iter().cloned());
    let thr = (sum - 1.0) / support as f64;
    z.iter().map(|&v| (v - thr).max(0.0)).collect()
}

/// The indices of `x` sorted by (value descending, index ascending).
pub fn topk_order(x: &[f64]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..x.len()).collect();
    idx.sort_by(|&a, &b| x[b].partial_cmp(&x[a]).unwrap().then(a.cmp(&b)));
    idx
}

/// The top-k mask from a [`topk_order`].
pub fn topk_from_order(order: &[usize], k: usize) -> Vec<f64> {
    let mut y = vec![0.0; order.len()];
    for &i in &order[..k] {
        y[i] = 1.0;
    }
    y
}

/// The top-k mask by a stable sort on (value descending, index ascending).
pub fn topk_reference(x: &[f64], k: usize) -> Vec<f64> {
    topk_from_order(&topk_order(x), k)
}

// ---------------------------------------------------------------------------------------------
// Accuracy bound
// ---------------------------------------------------------------------------------------------

/// The accuracy bound documented in `core/src/forward.rs`, per element of y:
/// `|y_i − y*_i| ≤ 8·ε·M + ε_Σ·|F|/4`, and `|Σy − k| ≤ (8·ε·M + ε_Σ·|F|/4)·max(1, |F|)`,
/// where ε is the element type's epsilon, `ε_Σ = 2^-52` the relative precision of the `f64`
/// accumulator of the free-set sums, `M = max(1, max_i |z_i|, |λ|)`.
pub fn bound_unit<T: TestReal>(m: f64, free: usize) -> f64 {
    8.0 * T::EPS * m + f64::EPSILON * free as f64 / 4.0
}

/// How far a crate output is from the reference.
#[derive(Clone, Copy, Debug, Default)]
pub struct Ratios {
    /// `max_i |y_i − y*_i| / (ε·M)` (the original claim was ≤ 8).
    pub y: f64,
    /// `|Σy − k| / (ε·M·max(1, |F|))` (the original claim was ≤ 8).
    pub sum: f64,
    /// `max_i |y_i − y*_i| / (8εM + ε_Σ|F|/4)` (the documented bound: ≤ 1).
    pub y_bound: f64,
    /// `|Σy − k| / ((8εM + ε_Σ|F|/4)·max(1, |F|))` (the documented bound: ≤ 1).
    pub sum_bound: f64,
}

impl Ratios {
    pub fn max(self, o: Ratios) -> Ratios {
        Ratios {
            y: self.y.max(o.y),
            sum: self.sum.max(o.sum),
            y_bound: self.y_bound.max(o.y_bound),
            sum_bound: self.sum_bound.max(o.sum_bound),
        }
    }
}

/// Computes the [`Ratios`] of a crate output `y` (for input `x`, `k`, `τ`, with the crate's
/// `lambda` and `free`) against the reference projection of the f64 values `x_i/τ`.
///
/// `M = max(1, max_i |z_i|, |λ|)` with `z_i = fl(x_i·fl(1/τ))` in T (and, to be safe, the
/// reference's `x_i/τ` and λ); `|F|` is the larger of the crate's and the reference's free counts.
pub fn ratios<T: TestReal>(
    x: &[T],
    k: f64,
    tau: T,
    y: &[T],
    lambda: f64,
    free: usize,
) -> (Ratios, RefProj) {
    ratios_with(
        &Reference::new(&scaled_exact(x, tau)),
        x,
        k,
        tau,
        y,
        lambda,
        free,
    )
}

/// [`ratios`] with a prepared reference for `x/τ`.
pub fn ratios_with<T: TestReal>(
    reference: &Reference,
    x: &[T],
    k: f64,
    tau: T,
    y: &[T],
    lambda: f64,
    free: usize,
) -> (Ratios, RefProj) {
    let zr = &reference.z;
    let r = reference.project(k);
    let zc = scaled_as_crate(x, tau);
    let mut m = 1.0f64;
    for &v in zc.iter().chain(zr.iter()) {
        m = m.max(v.abs());
    }
    if lambda.is_finite() {
        m = m.max(lambda.abs());
    }
    if r.lambda.is_finite() {
        m = m.max(r.lambda.abs());
    }
    let mut dy = 0.0f64;
    for (a, b) in y.iter().zip(&r.y) {
        dy = dy.max((a.to_f64() - b).abs());
    }
    let s = nsum(y.iter().map(|v| v.to_f64()));
    let f = free.max(r.free);
    let f1 = f.max(1) as f64;
    let unit = T::EPS * m;
    let b = bound_unit::<T>(m, f);
    (
        Ratios {
            y: dy / unit,
            sum: (s - k).abs() / (unit * f1),
            y_bound: dy / b,
            sum_bound: (s - k).abs() / (b * f1),
        },
        r,
    )
}

// ---------------------------------------------------------------------------------------------
// Deterministic random numbers and input families
// ---------------------------------------------------------------------------------------------

/// SplitMix64: small, deterministic, good enough for test inputs.
#[derive(Clone, Debug)]
pub struct Rand(pub u64);

impl Rand {
    pub fn new(seed: u64) -> Self {
        Rand(seed ^ 0x9e37_79b9_7f4a_7c15)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
    /// Uniform in (0, 1].
    pub fn uniform_pos(&mut self) -> f64 {
        1.0 - self.uniform()
    }
    /// Uniform integer in [0, m).
    pub fn below(&mut self, m: usize) -> usize {
        (self.next_u64() % m as u64) as usize
    }
    pub fn range(&mut self, a: f64, b: f64) -> f64 {
        a + (b - a) * self.uniform()
    }
    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u = self.uniform_pos();
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
    pub fn sign(&mut self) -> f64 {
        if self.next_u64() & 1 == 0 {
            1.0
        } else {
            -1.0
        }
    }
    pub fn shuffle<V>(&mut self, v: &mut [V]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
}

/// The input families of issue 2, item 5.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Gaussian,
    Uniform,
    AllEqual,
    LongTies,
    TwoValues,
    ThreeValues,
    Sorted,
    ReverseSorted,
    /// |x| log-uniform in [1e-30, 1e30], random signs.
    Magnitudes,
    /// Subnormal values of the element type, mixed with a few normal ones.
    Subnormal,
    /// Cauchy-distributed.
    HeavyTail,
    /// Gaussian with a few huge outliers.
    Outliers,
    /// Values spaced so that many z_i − 1 coincide with other z_j (breakpoints collide).
    UnitGrid,
}

pub const FAMILIES: [Family; 13] = [
    Family::Gaussian,
    Family::Uniform,
    Family::AllEqual,
    Family::LongTies,
    Family::TwoValues,
    Family::ThreeValues,
    Family::Sorted,
    Family::ReverseSorted,
    Family::Magnitudes,
    Family::Subnormal,
    Family::HeavyTail,
    Family::Outliers,
    Family::UnitGrid,
];

/// `n` values (as f64, to be rounded to T) of a family. `scale` is the spread for the
/// location families (so that x/τ ranges over the interesting region); `min_positive` is the
/// element type's smallest normal value (for `Subnormal`).
pub fn family(fam: Family, n: usize, scale: f64, min_positive: f64, rng: &mut Rand) -> Vec<f64> {
    let v: Vec<f64> = match fam {
        Family::Gaussian => (0..n).map(|_| scale * rng.normal()).collect(),
        Family::Uniform => (0..n).map(|_| scale * rng.range(-2.0, 2.0)).collect(),
        Family::AllEqual => {
            let c = scale * rng.normal();
            vec![c; n]
        }
        Family::LongTies => {
            let mut out = Vec::with_capacity(n);
            while out.len() < n {
                let c = scale * rng.normal();
                let run = 1 + rng.below(n.max(4) / 2 + 1);
                for _ in 0..run.min(n - out.len()) {
                    out.push(c);
                }
            }
            out
        }
        Family::TwoValues => {
            let (a, b) = (scale * rng.normal(), scale * rng.normal());
            (0..n)
                .map(|_| if rng.uniform() < 0.5 { a } else { b })
                .collect()
        }
        Family::ThreeValues => {
            let c = [
                scale * rng.normal(),
                scale * rng.normal(),
                scale * rng.normal(),
            ];
            (0..n).map(|_| c[rng.below(3)]).collect()
        }
        Family::Sorted | Family::ReverseSorted => {
            let mut s: Vec<f64> = (0..n).map(|_| scale * rng.normal()).collect();
            s.sort_by(|a, b| a.partial_cmp(b).unwrap());
            if fam == Family::ReverseSorted {
                s.reverse();
            }
            s
        }
        Family::Magnitudes => (0..n)
            .map(|_| rng.sign() * 10f64.powf(rng.range(-30.0, 30.0)))
            .collect(),
        Family::Subnormal => (0..n)
            .map(|_| {
                if rng.uniform() < 0.9 {
                    rng.sign() * min_positive * rng.uniform()
                } else {
                    scale * rng.normal()
                }
            })
            .collect(),
        Family::HeavyTail => (0..n)
            .map(|_| scale * (std::f64::consts::PI * (rng.uniform_pos() - 0.5)).tan())
            .collect(),
        Family::Outliers => (0..n)
            .map(|_| {
                if rng.uniform() < 0.05 {
                    rng.sign() * scale * 1e6 * rng.uniform_pos()
                } else {
                    scale * rng.normal()
                }
            })
            .collect(),
        Family::UnitGrid => (0..n)
            .map(|_| scale * (rng.below(9) as f64 - 4.0) * 0.5)
            .collect(),
    };
    // Sorted families keep their order, long runs of ties stay contiguous; the others are
    // already in random order.
    v
}

/// The k values of issue 2, item 5, that lie in [0, n] (deduplicated), plus `extra` random reals.
pub fn k_values(n: usize, rng: &mut Rand, extra: usize) -> Vec<f64> {
    let nf = n as f64;
    let mut ks = vec![0.0, 1e-6, 1.0, nf / 2.0, nf - 1.0, nf - 1e-6, nf];
    for _ in 0..extra {
        ks.push(rng.range(0.0, nf));
    }
    ks.retain(|&k| (0.0..=nf).contains(&k));
    ks.sort_by(|a, b| a.partial_cmp(b).unwrap());
    ks.dedup();
    ks
}

pub const TAUS: [f64; 3] = [1e-4, 1.0, 1e4];
pub const SIZES: [usize; 10] = [1, 2, 3, 7, 8, 9, 15, 16, 17, 1000];

/// Max-abs difference.
pub fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(p, q)| (p - q).abs())
        .fold(0.0, f64::max)
}
