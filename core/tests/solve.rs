//! The root finder (`internal::solve::solve`) through passes of the test's own, found needed by
//! mutation testing of `core/src/solve.rs` (`bash scripts/mutants.sh core-solver`): a bracket
//! supplied by the passes (as the `simd` crate's working-set passes supply one) is honoured,
//! the λ reported for `k = n` makes every `fl(z_i − λ) ≥ 1`, the reported passes are the passes
//! taken, an all-free root is found from the start, and the safeguards find the root in the
//! passes measured for them.

mod common;

use common::{f_of, Rand};
use hypersimplex::internal::kernel::{Passes, Piece, ScalarPasses, Stats};
use hypersimplex::internal::solve::{solve, Fill};
use hypersimplex::{soft_binary_argmax, Real};

/// Scalar passes that also report a bracket `[a, b]` and record every λ the solver asks about.
struct Bracketed<'a> {
    inner: ScalarPasses<'a, f64, [f64]>,
    bracket: (f64, f64),
    asked: Vec<f64>,
}

impl Passes<f64> for Bracketed<'_> {
    fn len(&self) -> usize {
        self.inner.len()
    }
    fn stats(&mut self) -> Stats<f64> {
        self.inner.stats()
    }
    fn piece(&mut self, lambda: f64) -> Piece {
        self.asked.push(lambda);
        self.inner.piece(lambda)
    }
    fn gaps(&mut self, lambda: f64) -> Option<(f64, f64)> {
        self.inner.gaps(lambda)
    }
    fn bracket(&self) -> Option<(f64, f64)> {
        Some(self.bracket)
    }
}

#[test]
fn the_passes_bracket_is_honoured() {
    let mut rng = Rand::new(7);
    let mut checked = 0;
    for case in 0..40 {
        let n = 20 + 9 * case;
        // a clipped majority far from the rest: the all-free start (Σz − k)/n lies far
        // from the root, outside the bracket below
        let z: Vec<f64> = (0..n)
            .map(|i| {
                if i % 4 == 0 {
                    rng.range(4.0, 6.0)
                } else {
                    rng.range(-40.0, -20.0)
                }
            })
            .collect();
        let k = 1.0 + rng.range(0.0, (n / 4 - 2) as f64);
        let root = solve(&mut ScalarPasses::new(&z[..], 1.0), k, None)
            .expect("solve")
            .lambda;
        let w = rng.range(0.01, 0.2);
        let (a, b) = (root - w, root + w * rng.range(0.5, 2.0));
        assert!(
            f_of(&z, a) >= k && f_of(&z, b) <= k,
            "a bracket of the root"
        );
        let mut p = Bracketed {
            inner: ScalarPasses::new(&z[..], 1.0),
            bracket: (a, b),
            asked: Vec::new(),
        };
        let s = solve(&mut p, k, None).expect("solve with a bracket");
        assert_eq!(s.fill, Fill::Clip);
        for &l in &p.asked {
            assert!(
                (a..=b).contains(&l),
                "case {case}: f asked at {l} outside the bracket [{a}, {b}]"
            );
        }
        assert!(
            (f_of(&z, s.lambda) - k).abs() <= 1e-12 * n as f64,
            "case {case}: f(λ) = {} for k = {k}",
            f_of(&z, s.lambda)
        );
        let all_free = (z.iter().sum::<f64>() - k) / n as f64;
        checked += usize::from(!(a..=b).contains(&all_free));
    }
    // the start had to be moved into the bracket
    assert!(checked >= 30, "{checked}");
}

/// `k = n`: every `y_i = 1`, and the reported λ keeps `fl(z_i − λ) ≥ 1` for every i (the
/// losses recompute ŷ from λ); where `min z − 1` is not finite, λ = −∞.
fn k_equals_n<T: Real + core::fmt::Debug>() {
    let mut rng = Rand::new(11);
    for n in [1usize, 2, 7, 64] {
        let x: Vec<T> = (0..n).map(|_| T::from_f64(rng.normal() * 3.0)).collect();
        let tau = T::from_f64(0.7);
        let mut y = vec![T::ZERO; n];
        let p = soft_binary_argmax(&x, n as f64, tau, &mut y).expect("k = n");
        assert!(y.iter().all(|&v| v == T::ONE));
        assert_eq!((p.free, p.upper), (0, n));
        let lam = T::from_f64(p.lambda);
        assert!(p.lambda.is_finite(), "n = {n}: λ = {}", p.lambda);
        let s = T::ONE / tau;
        for &v in &x {
            assert!(v * s - lam >= T::ONE, "n = {n}: z − λ < 1 at x = {v:?}");
        }
    }
    // the lowest finite value: min z − 1 saturates, no finite λ will do
    let x = [T::LOWEST, T::ZERO, T::ONE];
    let mut y = [T::ZERO; 3];
    let p = soft_binary_argmax(&x, 3.0, T::ONE, &mut y).expect("k = n");
    assert_eq!(p.lambda, f64::NEG_INFINITY);
    assert_eq!(y, [T::ONE; 3]);
}

#[test]
fn k_equals_n_f32() {
    k_equals_n::<f32>();
}

#[test]
fn k_equals_n_f64() {
    k_equals_n::<f64>();
}

/// Scalar passes that count the solver's passes over the data.
struct Counted<'a> {
    inner: ScalarPasses<'a, f64, [f64]>,
    calls: u32,
}

impl Passes<f64> for Counted<'_> {
    fn len(&self) -> usize {
        self.inner.len()
    }
    fn stats(&mut self) -> Stats<f64> {
        self.calls += 1;
        self.inner.stats()
    }
    fn piece(&mut self, lambda: f64) -> Piece {
        self.calls += 1;
        self.inner.piece(lambda)
    }
    fn piece_and_stats(&mut self, lambda: f64) -> (Piece, Stats<f64>) {
        self.calls += 1;
        self.inner.piece_and_stats(lambda)
    }
    fn gaps(&mut self, lambda: f64) -> Option<(f64, f64)> {
        self.calls += 1;
        self.inner.gaps(lambda)
    }
}

/// `±m·2^e`, `m ∈ [1, 2)`, `e` uniform in [−100, 100] (about 1e-30..1e30), exact on every
/// platform (no `powf`).
fn spread_value(rng: &mut Rand) -> f64 {
    let e = rng.below(201) as i64 - 100;
    let s = if rng.uniform() < 0.5 { -1.0 } else { 1.0 };
    s * rng.range(1.0, 2.0) * f64::from_bits(((1023 + e) as u64) << 52)
}

/// Data spread over 1e-30..1e30 in both signs with a fractional k: some run out of Newton
/// trials and bisect.
fn spread_inputs(rng: &mut Rand) -> Vec<(Vec<f64>, f64)> {
    let mut out = Vec::new();
    for n in [3usize, 30, 300] {
        for _ in 0..20 {
            let z: Vec<f64> = (0..n).map(|_| spread_value(rng)).collect();
            let k = rng.range(0.0, n as f64);
            out.push((z, k));
        }
    }
    out
}

/// Inputs of every kind the solver treats differently: Gaussian, all free at the root, ties,
/// data spread over many binades (flat pieces, breakpoint jumps, bisection), widely spaced
/// integers (f = k on a flat piece), with integer and fractional k.
fn kinds(rng: &mut Rand) -> Vec<(Vec<f64>, f64)> {
    let mut out = Vec::new();
    for n in [1usize, 2, 5, 17, 100, 1000] {
        let gauss: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        let narrow: Vec<f64> = (0..n).map(|_| rng.range(0.0, 0.9)).collect();
        let ties: Vec<f64> = (0..n).map(|i| (i % 3) as f64 * 0.25).collect();
        let spread: Vec<f64> = (0..n).map(|_| spread_value(rng)).collect();
        let spaced: Vec<f64> = (0..n).map(|i| 10.0 * i as f64).collect();
        for z in [gauss, narrow, ties, spread, spaced] {
            for k in [
                0.0,
                1.0,
                n as f64 * 0.37,
                (n / 2) as f64,
                n as f64 - 0.5,
                n as f64,
            ] {
                if k <= n as f64 && k >= 0.0 {
                    out.push((z.clone(), k));
                }
            }
        }
    }
    out
}

#[test]
fn the_reported_passes_are_the_passes_taken() {
    let mut rng = Rand::new(3);
    let mut inputs = kinds(&mut rng);
    inputs.extend(spread_inputs(&mut rng));
    for (case, (z, k)) in inputs.into_iter().enumerate() {
        for guess in [None, Some(z[0] - 0.5)] {
            let mut p = Counted {
                inner: ScalarPasses::new(&z[..], 1.0),
                calls: 0,
            };
            let s = solve(&mut p, k, guess).expect("solve");
            assert_eq!(
                s.passes,
                p.calls,
                "case {case} (n = {}, k = {k}, guess {guess:?})",
                z.len()
            );
        }
    }
}

/// Where every entry is free at the root, the all-free start `(Σz − k)/n` is the root: one
/// pass for the statistics, one at the start, and the solver stops there (or after one
/// Newton step of rounding size).
#[test]
fn an_all_free_root_is_found_from_the_start() {
    let mut rng = Rand::new(5);
    for n in [2usize, 3, 10, 64, 500] {
        for _ in 0..20 {
            let z: Vec<f64> = (0..n).map(|_| rng.range(-0.15, 0.15)).collect();
            let k = n as f64 * rng.range(0.35, 0.65);
            let start = (z.iter().sum::<f64>() - k) / n as f64;
            assert!(z.iter().all(|&v| v - start > 0.0 && v - start < 1.0));
            let mut p = Counted {
                inner: ScalarPasses::new(&z[..], 1.0),
                calls: 0,
            };
            let s = solve(&mut p, k, None).expect("solve");
            assert_eq!(s.free, n);
            assert!(
                s.passes <= 3,
                "n = {n}: {} passes from the all-free start",
                s.passes
            );
            assert!((s.lambda - start).abs() <= 4.0 * f64::EPSILON * (1.0 + start.abs()));
        }
    }
}

/// The safeguards' speed, in passes (deterministic, unlike time), and their answer: over every kind of input of
/// [`kinds`] and data spread over 1e-30..1e30 in both signs, the solver's total and worst pass
/// counts stay at what the breakpoint jumps and the binade-aware midpoint give (measured 7 Dec
/// 2026; a change that makes them slower, e.g. a jump in the wrong direction or a midpoint
/// halving in value over many binades, still finds the root, but shows here).
#[test]
fn the_safeguards_take_few_passes() {
    let mut rng = Rand::new(17);
    let (mut total, mut worst, mut cases) = (0u32, 0u32, 0u32);
    let mut inputs = kinds(&mut rng);
    inputs.extend(spread_inputs(&mut rng));
    for (z, k) in &inputs {
        let s = solve(&mut ScalarPasses::new(&z[..], 1.0), *k, None).expect("solve");
        if s.fill == Fill::Clip {
            // the root lies within the rounding of the passes' sums of λ: f(λ − δ) ≥ k ≥ f(λ + δ)
            let n = z.len() as f64;
            let delta = 4.0 * (n + 1.0) * f64::EPSILON * s.lambda.abs().max(1.0);
            let mut p = ScalarPasses::new(&z[..], 1.0);
            let (below, above) = (p.piece(s.lambda - delta), p.piece(s.lambda + delta));
            assert!(
                below.excess(*k) >= 0.0 && above.excess(*k) <= 0.0,
                "n = {n}, k = {k}: λ = {} is not the root: f − k = {} and {} on either side",
                s.lambda,
                below.excess(*k),
                above.excess(*k)
            );
        }
        total += s.passes;
        worst = worst.max(s.passes);
        cases += 1;
    }
    eprintln!("{cases} solves: {total} passes, worst {worst}");
    assert!(total <= TOTAL_PASSES, "{total} passes in all");
    assert!(worst <= WORST_PASSES, "worst {worst} passes");
}

/// The measured totals (7 Dec 2026; the inputs are exact on every platform, so the counts are
/// too): lower them when the solver gets faster. The worst case is a spread input with a
/// fractional k, most of whose trial points fall on flat pieces. (2406 and 139 while a bracket
/// holding 0 with ends of similar size was halved in value: such inputs ran out of Newton
/// trials, [`MAX_NEWTON`](hypersimplex::internal::solve::MAX_NEWTON), and bisected.)
const TOTAL_PASSES: u32 = 1438;
const WORST_PASSES: u32 = 33;
