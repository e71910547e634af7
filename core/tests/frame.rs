//! The shifted frame's bookkeeping (`frame::refine_with`), found untested by mutation testing
//! (`bash scripts/mutants.sh core-solver`): the passes it reports, the start point each frame
//! is solved from, and which λ the forward reports where τ > `MAX/64`.

mod common;

use common::Rand;
use hypersimplex::internal::frame::{bound, refine_with, shift_at, Shift, HUGE_TAU, PRE};
use hypersimplex::internal::solve::{Fill, Solution};
use hypersimplex::{soft_binary_argmax, Real};

fn solution(lambda: f64, passes: u32) -> Solution<f64> {
    Solution {
        lambda,
        free: 2,
        upper: 1,
        fill: Fill::Clip,
        passes,
    }
}

/// What each call of `step` saw: (shifts so far, guess).
type Calls = Vec<(Vec<f64>, Option<f64>)>;

/// Runs `refine_with` from `first` with the shift `sh`, the step returning `answers[i]` (λ,
/// passes) on its i-th call.
fn refine(
    first: &Solution<f64>,
    sh: &Shift<f64>,
    answers: &[(f64, u32)],
) -> (Solution<f64>, Option<f64>, Calls) {
    let mut calls = Vec::new();
    let r = refine_with(first, sh, |replay, guess| {
        calls.push((replay.shifts[..replay.count].to_vec(), guess));
        let (l, p) = answers[calls.len() - 1];
        Ok(solution(l, p))
    })
    .expect("refine_with");
    (r.sol, r.lambda0, calls)
}

#[test]
fn one_shift_counts_the_first_solve_the_shift_and_the_new_solve() {
    let tau = 0.5;
    let first = solution(40.0, 5);
    let sh = shift_at(first.lambda, tau, 1.0 / tau).expect("λ = 40 is outside the window");
    assert_eq!(sh.c, (40.0 - 1.5) * tau);
    let (sol, lambda0, calls) = refine(&first, &sh, &[(1.25, 3)]);
    // 5 of the first solve, 1 for the shift, 3 in the shifted frame
    assert_eq!(sol.passes, 9);
    assert_eq!(sol.lambda, 1.25);
    assert_eq!(lambda0, None);
    // the shifted frame starts from the first λ moved by c/τ
    assert_eq!(calls, vec![(vec![sh.c], Some(40.0 - sh.c / tau))]);
}

#[test]
fn a_second_shift_is_counted_and_starts_from_the_new_frames_lambda() {
    let tau = 2.0;
    let first = solution(-1e9, 4);
    let sh = shift_at(first.lambda, tau, 1.0 / tau).expect("outside the window");
    // the first shifted frame still has λ outside the window: a second shift
    let (sol, _, calls) = refine(&first, &sh, &[(-80.0, 6), (1.5, 2)]);
    assert_eq!(sol.passes, 4 + 1 + 6 + 1 + 2);
    assert_eq!(calls.len(), 2);
    let c2 = (-80.0 - 1.5) * tau;
    assert_eq!(calls[1].0, vec![sh.c, c2]);
    assert_eq!(calls[1].1, Some(-80.0 - c2 / tau));
}

#[test]
fn huge_tau_solves_its_first_frame_from_scratch_and_reports_its_lambda() {
    let tau = f64::MAX * 0.5;
    assert!(tau > f64::MAX * HUGE_TAU);
    let first = solution(0.75, 3);
    let sh = shift_at(first.lambda, tau, 1.0 / tau).expect("huge τ always shifts");
    assert_eq!((sh.c, sh.pre, sh.tau), (0.0, PRE, tau * PRE));
    assert_eq!(sh.b, bound(tau * PRE));
    // one frame (λ in the window) and two (λ outside it, then inside)
    let (sol, lambda0, calls) = refine(&first, &sh, &[(0.5, 4)]);
    assert_eq!((sol.passes, lambda0), (3 + 1 + 4, Some(0.5)));
    assert_eq!(calls, vec![(vec![0.0], None)]);
    let (sol, lambda0, calls) = refine(&first, &sh, &[(12.0, 4), (1.0, 2)]);
    assert_eq!((sol.passes, sol.lambda), (3 + 1 + 4 + 1 + 2, 1.0));
    assert_eq!(
        lambda0,
        Some(12.0),
        "the pre-scaled frame's λ, not a later frame's"
    );
    let c2 = (12.0 - 1.5) * (tau * PRE);
    assert_eq!(calls[1], (vec![0.0, c2], Some(12.0 - c2 / (tau * PRE))));
}

/// Where τ > `MAX/64`, `fl(1/τ)` may be subnormal, and the forward reports the λ (and writes the
/// y) of the frame pre-scaled by `2^-8`: bit for bit what projecting `x·2^-8` with `τ·2^-8`
/// (an ordinary τ) gives.
fn huge_tau_is_the_prescaled_projection<T: Real + core::fmt::Debug>() {
    let tau = T::MAX * T::from_f64(0.6);
    // fl(1/τ) is subnormal here: the first solve's z lose bits
    let min_normal = if T::BITS == 32 {
        f64::from(f32::MIN_POSITIVE)
    } else {
        f64::MIN_POSITIVE
    };
    assert!((T::ONE / tau).to_f64() < min_normal);
    let pre = T::from_f64(PRE);
    let mut lambdas = Vec::new();
    for seed in 0..24u64 {
        let n = 3 + 7 * seed as usize;
        let mut rng = Rand::new(seed);
        let x: Vec<T> = (0..n)
            .map(|_| T::from_f64(rng.range(-1.6, 1.6)) * tau)
            .collect();
        let k = n as f64 * 0.37;
        let mut y = vec![T::ZERO; n];
        let p = soft_binary_argmax(&x, k, tau, &mut y).expect("huge τ");
        let xs: Vec<T> = x.iter().map(|&v| v * pre).collect();
        let mut ys = vec![T::ZERO; n];
        let q = soft_binary_argmax(&xs, k, tau * pre, &mut ys).expect("pre-scaled");
        assert_eq!(
            p.lambda.to_bits(),
            q.lambda.to_bits(),
            "seed {seed}: λ {} against {}",
            p.lambda,
            q.lambda
        );
        assert_eq!((p.free, p.upper), (q.free, q.upper), "seed {seed}");
        let bits = |v: &[T]| v.iter().map(|e| e.to_f64().to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&y), bits(&ys), "seed {seed}");
        lambdas.push(p.lambda);
    }
    // not one λ for every input
    assert!(lambdas.iter().any(|&l| l != lambdas[0]));
}

#[test]
fn huge_tau_is_the_prescaled_projection_f32() {
    huge_tau_is_the_prescaled_projection::<f32>();
}

#[test]
fn huge_tau_is_the_prescaled_projection_f64() {
    huge_tau_is_the_prescaled_projection::<f64>();
}

/// `Replay::apply` (the last frame's value of an input entry, computed on the fly by the
/// half-precision forward and the losses) is bitwise what the buffer shifts of `refine` wrote,
/// on `±∞` masks, on an entry that one shift puts exactly at 0, and on entries the clamp bound
/// catches; `Refined::sentinels` are where the masks ended.
#[test]
fn replay_apply_is_what_the_buffer_shifts_wrote() {
    use hypersimplex::internal::frame::{refine, shift_in_place};
    let tau = 2.0f64;
    let first = solution(1e9, 3);
    let sh = shift_at(first.lambda, tau, 1.0 / tau).expect("outside the window");
    let c1 = sh.c;
    let x = [
        f64::NEG_INFINITY,
        f64::INFINITY,
        c1,
        c1 * (1.0 + f64::EPSILON),
        0.0,
        -0.0,
        1e308,
        -1e308,
        f64::MAX,
        c1 - 163.0,
        7.25,
    ];
    let mut v = x;
    shift_in_place(&mut v, &sh, f64::NEG_INFINITY, f64::INFINITY);
    let mut answers = [(-80.0, 4), (1.5, 2)].into_iter();
    let r = refine(&mut v, &first, &sh, |_, _, _| {
        let (l, p) = answers.next().expect("two frames");
        Ok(solution(l, p))
    })
    .expect("refine");
    assert_eq!(r.replay.count, 2);
    let c2 = r.replay.shifts[1];
    assert_eq!(c2, (-80.0 - 1.5) * tau);
    for (&xi, &vi) in x.iter().zip(&v) {
        assert_eq!(
            r.value(xi).to_bits(),
            vi.to_bits(),
            "x = {xi:e}: apply against the buffer"
        );
    }
    // the entry the first shift put at 0 is an ordinary value in the second frame
    assert_eq!(v[2], -c2);
    let b = r.replay.b;
    assert_eq!((v[0], v[1]), (-(b + b), b + b));
    assert_eq!(r.sentinels(), (v[0], v[1]));
    assert_eq!((v[6], v[7]), (b, -b), "clamped to ±b");
}
