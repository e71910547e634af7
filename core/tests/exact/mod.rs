//! A reference projection accurate far beyond `f64`: the exact projection of the real numbers
//! `x_i/τ`, rounded once to `f64` (shared by `core/tests/scale.rs` and `simd/tests/kernels/scale.rs`).
//!
//! Independent of the crates' algorithms: an `f64` bisection finds the threshold roughly, the
//! inputs are re-expressed exactly as `x_i − c` (`c` a float near `τ·λ`, the difference kept as
//! an unevaluated sum of two `f64`) and divided by τ in double-double arithmetic, a second
//! bisection in that frame finds the free set, and the last piece is solved in double-double.
//! Its own error is far below `2^-60` for the tests' inputs (|x/τ| ≤ 1e7, moderate n).
#![allow(dead_code)]

/// `a + b = s + e` exactly.
fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb))
}

/// A sum in double-double, rounded once (its error is far below the tests' bounds).
fn sum2(v: impl Iterator<Item = f64>) -> f64 {
    let (mut h, mut l) = (0.0f64, 0.0f64);
    for x in v {
        let (s, e) = two_sum(h, x);
        h = s;
        l += e;
    }
    h + l
}

/// `Σ clip(w_i − λ, 0, 1)` in `f64` (for the bisections).
fn f_at(w: &[f64], lam: f64) -> f64 {
    w.iter().map(|&v| (v - lam).clamp(0.0, 1.0)).sum()
}

/// The λ with `Σ clip(w_i − λ, 0, 1) = k`, to `f64` precision, by bisection.
fn bisect(w: &[f64], k: f64) -> f64 {
    let mut lo = w.iter().copied().fold(f64::INFINITY, f64::min) - 1.0;
    let mut hi = w.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    for _ in 0..2000 {
        let mid = 0.5 * (lo + hi);
        if !(mid > lo && mid < hi) {
            break;
        }
        if f_at(w, mid) > k {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// The exact projection of the reals `x_i/τ` onto `{y ∈ [0,1]^n : Σy = k}`, each entry
/// rounded to `f64`. `±∞` in `x` are masks (0 and 1), the rest projected onto what is left.
pub fn project(x: &[f64], tau: f64, k: f64) -> Vec<f64> {
    unclipped(x, tau, k)
        .iter()
        .map(|&d| d.clamp(0.0, 1.0))
        .collect()
}

/// `d_i = x_i/τ − λ*` of the exact projection (rounded to `f64`; `±∞` at the masks), whose
/// clip to [0, 1] is [`project`]. Where `k` leaves no free entry (0 or all), ±2 at the ends.
pub fn unclipped(x: &[f64], tau: f64, k: f64) -> Vec<f64> {
    let fin: Vec<f64> = x.iter().copied().filter(|v| v.is_finite()).collect();
    let ups = x.iter().filter(|&&v| v == f64::INFINITY).count() as f64;
    let kf = k - ups;
    let mut out: Vec<f64> = x
        .iter()
        .map(|&v| if v.is_finite() { -2.0 } else { v })
        .collect();
    if fin.is_empty() || kf <= 0.0 {
        return out;
    }
    if kf >= fin.len() as f64 {
        for (o, &v) in out.iter_mut().zip(x) {
            if v.is_finite() {
                *o = 2.0;
            }
        }
        return out;
    }
    // 1. rough λ of x/τ, and the shift c = fl(τ·λ)
    let z: Vec<f64> = fin.iter().map(|&v| v / tau).collect();
    let c = tau * bisect(&z, kf);
    // 2. w_i = (x_i − c)/τ as double-double
    let w: Vec<(f64, f64)> = fin
        .iter()
        .map(|&v| {
            let (s, e) = two_sum(v, -c);
            let q = s / tau;
            let r = (-q).mul_add(tau, s); // exact remainder s − q·τ
            (q, (r + e) / tau)
        })
        .collect();
    let whi: Vec<f64> = w.iter().map(|p| p.0 + p.1).collect();
    // 3. the free set at the rough λ of that frame, then the last piece in double-double
    // 3. the free set at the rough λ of that frame, the last piece in double-double, and again
    // from the free set at that λ until the set is the one its λ gives (an entry within a few
    // ulps of a breakpoint can be misplaced by the f64 bisection)
    let (mut lh, mut ll) = (bisect(&whi, kf), 0.0f64);
    let mut last = (usize::MAX, usize::MAX);
    for _ in 0..64 {
        let (mut nf, mut nu) = (0usize, 0usize);
        let (mut sh, mut sl) = (0.0f64, 0.0f64);
        for &(h, l) in &w {
            let (d, e) = two_sum(h, -lh);
            let d = d + (e + l - ll);
            if d >= 1.0 {
                nu += 1;
            } else if d > 0.0 {
                nf += 1;
                let (s, e) = two_sum(sh, h);
                sh = s;
                sl += e + l;
            }
        }
        if (nf, nu) == last || nf == 0 {
            break;
        }
        last = (nf, nu);
        // λ = (Σ_F w + |U| − k)/|F|
        let (s, e) = two_sum(sh, nu as f64 - kf);
        let (s, e2) = two_sum(s, sl + e);
        let q = s / nf as f64;
        let r = (-q).mul_add(nf as f64, s);
        (lh, ll) = (q, (r + e2) / nf as f64);
    }
    let mut it = w.iter();
    for (o, &v) in out.iter_mut().zip(x) {
        if v.is_finite() {
            if let Some(&(h, l)) = it.next() {
                let (d, e) = two_sum(h, -lh);
                *o = d + (e + l - ll);
            }
        }
    }
    out
}

/// The largest `|y_i − y*_i|` and `|Σy − k|`, in units of `eps`.
pub fn errors(y: &[f64], reference: &[f64], k: f64, eps: f64) -> (f64, f64) {
    let e = y
        .iter()
        .zip(reference)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    // Σy − k in double-double (an f64 sum of n values near k errs by up to n·ulp(k)/2)
    let (mut h, mut l) = (-k, 0.0f64);
    for &v in y {
        let (s, e) = two_sum(h, v);
        h = s;
        l += e;
    }
    (e / eps, (h + l).abs() / eps)
}

/// xorshift64* (deterministic inputs without dependencies).
pub struct Gen(pub u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let s: f64 = (0..4).map(|_| self.unit()).sum();
        (s - 2.0) * 1.732
    }
}

/// One test input: `x` (as `f64`, to be rounded to the element type), τ, k and `|x/τ|`.
pub struct Case {
    pub x: Vec<f64>,
    pub tau: f64,
    pub k: f64,
    pub mag: f64,
}

/// Magnitudes of `x/τ` the tests cover.
/// One case per k near 0, fractional, and near n (those `≤ n`) for the input `x`.
fn push_ks(out: &mut Vec<Case>, x: &[f64], tau: f64, mag: f64) {
    let nf = x.len() as f64;
    for &k in &[0.001, 1.5, (nf / 3.0).floor() + 0.25, nf - 0.5] {
        if k <= nf {
            out.push(Case {
                x: x.to_vec(),
                tau,
                k,
                mag,
            });
        }
    }
}

pub const MAGS: &[f64] = &[1.0, 10.0, 1e2, 1e3, 1e4, 1e5, 1e6];

/// Inputs of length `n` with `x/τ` near `±mag`: Gaussian logits of spread 0.3, 3 and 30 (the
/// first with ties on a grid of 1/8), τ = 1e-3, 1 and 7.3, and k near 0, fractional, and near n.
pub fn cases(n: usize, mag: f64, seed: u64) -> Vec<Case> {
    let mut g = Gen(seed ^ 0x9e37_79b9_7f4a_7c15);
    let mut out = Vec::new();
    for (si, &spread) in [0.3, 3.0, 30.0].iter().enumerate() {
        for &tau in &[1e-3, 1.0, 7.3] {
            for &sign in &[1.0, -1.0] {
                let x: Vec<f64> = (0..n)
                    .map(|_| {
                        let v = g.normal() * spread;
                        let v = if si == 0 { (v * 8.0).round() / 8.0 } else { v };
                        tau * (sign * mag + v)
                    })
                    .collect();
                push_ks(&mut out, &x, tau, mag);
            }
        }
    }
    out
}

/// The exact loss of one line against targets `t`: `½‖y* − t‖²`, `Σ|y* − t|`, the gradient
/// direction `r*_i − mean_{A*} r*` on the free set `A*` (0 elsewhere; multiply by the
/// factor, `w/τ`), and whether an entry lies within `16·eps` of a breakpoint (then a float
/// free set may differ and the gradient is not compared).
pub struct LossRef {
    pub half_sq: f64,
    pub sum_abs_r: f64,
    pub g: Vec<f64>,
    pub ambiguous: bool,
}

/// [`LossRef`] of the exact projection of `x/τ`.
pub fn loss_ref(x: &[f64], t: &[f64], tau: f64, k: f64, eps: f64) -> LossRef {
    let d = unclipped(x, tau, k);
    let y: Vec<f64> = d.iter().map(|&v| v.clamp(0.0, 1.0)).collect();
    let r: Vec<f64> = y.iter().zip(t).map(|(a, b)| a - b).collect();
    let free: Vec<bool> = d.iter().map(|&v| v > 0.0 && v < 1.0).collect();
    let nf = free.iter().filter(|&&f| f).count();
    let mean = if nf > 0 {
        sum2(r.iter().zip(&free).filter(|p| *p.1).map(|p| *p.0)) / nf as f64
    } else {
        0.0
    };
    LossRef {
        half_sq: 0.5 * sum2(r.iter().map(|v| v * v)),
        sum_abs_r: r.iter().map(|v| v.abs()).sum(),
        g: r.iter()
            .zip(&free)
            .map(|(&v, &f)| if f { v - mean } else { 0.0 })
            .collect(),
        ambiguous: d
            .iter()
            .any(|&v| v.is_finite() && (v.abs() < 16.0 * eps || (v - 1.0).abs() < 16.0 * eps)),
    }
}

/// The error of a loss value `half_sq` (the ½‖ŷ − t‖² part, summed over lines by the caller)
/// in units of `ε·(Σ|r*| + ½‖r*‖²)`: at most 4 + 2 when each `ŷ_i` is within 4ε of `y*_i`.
pub fn loss_error(half_sq: f64, want_half_sq: f64, sum_abs_r: f64, eps: f64) -> f64 {
    (half_sq - want_half_sq).abs() / (eps * (sum_abs_r + want_half_sq + 1e-300))
}

/// The largest gradient error, `|g_i − factor·g*_i|` in units of `factor·ε·(1 + |g*_i|)`:
/// at most about 8 + 2 when each `ŷ_i` is within 4ε of `y*_i`.
pub fn grad_error(g: &[f64], want: &[f64], factor: f64, eps: f64) -> f64 {
    g.iter()
        .zip(want)
        .map(|(&a, &b)| (a - factor * b).abs() / (factor * eps * (1.0 + b.abs())))
        .fold(0.0, f64::max)
}

/// Inputs beyond `|x/τ| ≈ 1/ε` (where distinct floats lie at least 1 apart in `x/τ`) with an
/// exact answer: three entries at `A = ±C`, two at the next float below `A` (1 or more below
/// in `x/τ`), and `n − 5` far below (`A − |C|·(1/2 + j·2^-12)`). For `k = 1.5` the exact
/// projection is `1/2` at the three, 0 elsewhere; for `k = 3.25` it is 1 at the three, `1/8` at
/// the two, 0 elsewhere. Returns `(x, τ, k, y*)` for `C/τ` = each of `mags`, τ = 1e-3, 1, 1e-30
/// (as the element type rounds them: `to` and `from`), both signs, both `k`.
#[allow(clippy::type_complexity)]
pub fn beyond_one_over_eps(
    n: usize,
    mags: &[f64],
    round: impl Fn(f64) -> f64,
    below: impl Fn(f64) -> f64,
) -> Vec<(Vec<f64>, f64, f64, Vec<f64>)> {
    let mut out = Vec::new();
    for &mag in mags {
        for &tau in &[1e-3, 1.0, 1e-30] {
            let tau = round(tau);
            for &sign in &[1.0, -1.0] {
                let a = round(sign * 1.3 * mag * tau);
                let b = below(a);
                let mut x = vec![a, a, a, b, b];
                x.extend((0..n - 5).map(|j| round(a - a.abs() * (0.5 + j as f64 / 4096.0))));
                for (k, ya, yb) in [(1.5, 0.5, 0.0), (3.25, 1.0, 0.125)] {
                    let mut y = vec![ya, ya, ya, yb, yb];
                    y.resize(n, 0.0);
                    out.push((x.clone(), tau, k, y));
                }
            }
        }
    }
    out
}

/// The divisors `d` of the huge temperatures τ = `MAX/d` the tests cover (issue 13: τ above
/// `MAX/64`, where `|x/τ| < 64`, `fl(1/τ)` may be subnormal and the plain shift is unsafe).
pub const HUGE_TAU_DIVS: &[f64] = &[60.0, 8.0, 3.9, 2.0, 1.0];

/// Inputs of length `n` with τ = `max/d` (`max`: the element type's largest float, as `f64`)
/// for each `d` of [`HUGE_TAU_DIVS`] and `x/τ` near `±0.6·d` (λ up to about ±40, far outside
/// [−3, 3], where `d` allows): Gaussian logits of spread `0.1·d` (on a grid of `d/64`: ties)
/// and `0.01·d`, so `|x/τ| < 0.95·d` and `x` stays finite; k near 0, fractional, and near n.
/// `x` is to be rounded to the element type (the reference then takes the rounded values).
pub fn huge_tau_cases(n: usize, max: f64, seed: u64) -> Vec<Case> {
    let mut g = Gen(seed ^ 0x5851_f42d_4c95_7f2d);
    let mut out = Vec::new();
    for &d in HUGE_TAU_DIVS {
        let tau = max / d;
        for (si, &spread) in [0.1 * d, 0.01 * d].iter().enumerate() {
            for &sign in &[1.0, -1.0] {
                let x: Vec<f64> = (0..n)
                    .map(|_| {
                        let v = g.normal() * spread;
                        let v = if si == 0 {
                            (v * 64.0 / d).round() * d / 64.0
                        } else {
                            v
                        };
                        tau * (sign * 0.6 * d + v)
                    })
                    .collect();
                push_ks(&mut out, &x, tau, 0.6 * d);
            }
        }
    }
    out
}

/// [`project`] for huge τ: `x` and τ scaled by `2^-8` first (exact but for subnormal products,
/// whose loss is far below `2^-60` in units of `x/τ`), so the reference's own shift `τ·λ`
/// cannot overflow.
pub fn project_huge(x: &[f64], tau: f64, k: f64) -> Vec<f64> {
    let p = 1.0 / 256.0;
    let xs: Vec<f64> = x.iter().map(|&v| v * p).collect();
    project(&xs, tau * p, k)
}

/// [`grad_error`] for huge τ (factor `1/τ` near or below the smallest normal float): in units
/// of `ε·(1 + |g*_i|)/τ`, computed as `|g_i·τ − g*_i|`.
pub fn grad_error_tau(g: &[f64], want: &[f64], tau: f64, eps: f64) -> f64 {
    g.iter()
        .zip(want)
        .map(|(&a, &b)| (a * tau - b).abs() / (eps * (1.0 + b.abs())))
        .fold(0.0, f64::max)
}
