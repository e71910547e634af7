//! The working-set solver used for inputs of at least `WORKING_SET_FROM` elements on the vector
//! paths: the split kernel of every path against its scalar twin, the working set's pieces
//! against full passes, and whole projections against an independent f64 bisection reference
//! and against the core crate, on ordinary and adversarial inputs (including inputs built so
//! that the strided sample misleads the bracket, which must fall back to the full solve).

use std::mem::MaybeUninit;

use crate::common::*;
use hypersimplex::internal::kernel::{Passes, ScalarPasses};
use hypersimplex::Real;
use hypersimplex_simd::passes::BLOCK;
use hypersimplex_simd::working_set::{WorkingSet, SLOT, WORKING_SET_PAR_MIN};
use hypersimplex_simd::{portable, Element, Error, Kernels, WORKING_SET_FROM};

/// Runs the split kernel into a fresh buffer; returns the summary and the kept elements.
fn run_split<T: Element>(
    f: impl Fn(&[T], &mut [MaybeUninit<T>]) -> hypersimplex_simd::working_set::SplitSummary<T>,
    x: &[T],
) -> (hypersimplex_simd::working_set::SplitSummary<T>, Vec<T>) {
    let mut out = vec![MaybeUninit::<T>::uninit(); x.len()];
    let r = f(x, &mut out);
    let kept = out[..r.kept]
        .iter()
        // SAFETY: the split kernels initialize the first `kept` slots.
        .map(|v| unsafe { v.assume_init() })
        .collect();
    (r, kept)
}

fn check_split<T: Element>(k: Kernels, x: &[T], s: T, a: T, b: T) {
    let name = k.path().name();
    let n = x.len();
    let (v, vk) = run_split(|x, o| T::split(k, x, s, a, b, o), x);
    let (p, pk) = run_split(|x, o| portable::split(x, s, a, b, o), x);
    let ctx = format!("{name} n={n} [{a:?}, {b:?}]");
    assert_eq!(
        (v.upper, v.free, v.kept),
        (p.upper, p.free, p.kept),
        "{ctx}"
    );
    assert_eq!(bits(&vk), bits(&pk), "{ctx}: kept elements");
    if T::FIXED_SUM {
        // integers in 2^-23 units, rounded alike: exactly equal
        assert_eq!(
            v.free_sum.to_bits(),
            p.free_sum.to_bits(),
            "{ctx}: fixed sum"
        );
    } else {
        let tol = 4.0 * (n as f64 + 2.0) * f64::EPSILON * p.free as f64;
        assert!((v.free_sum - p.free_sum).abs() <= tol, "{ctx}: sum");
    }
    if x.iter().all(|v| !v.to_f64().is_nan()) {
        assert_eq!(v.stats.finite, p.stats.finite, "{ctx}");
        assert!(
            v.stats.min == p.stats.min && v.stats.max == p.stats.max,
            "{ctx}"
        );
    }
    // and the classes really are fixed: recount at both ends from scratch
    let mut upper = 0;
    let mut free = 0;
    let mut kept = 0;
    for &xi in x {
        let z = xi * s;
        let (da, db) = (z - a, z - b);
        if db >= T::ONE {
            upper += 1;
            assert!(da >= T::ONE);
        } else if db > T::ZERO && da < T::ONE {
            free += 1;
        } else if da <= T::ZERO {
            assert!(db <= T::ZERO);
        } else {
            kept += 1;
        }
    }
    assert_eq!(
        (upper, free, kept),
        (p.upper, p.free, p.kept),
        "{ctx}: recount"
    );
}

fn split_all<T: Element>(seed: u64) {
    let mut rng = Rng(seed);
    for k in all_kernels() {
        for &n in LENGTHS {
            for kind in 0..4 {
                let buf: Vec<T> = data(&mut rng, n + 3, kind);
                for off in 0..3 {
                    let x = &buf[off..off + n];
                    let s = T::from_f64([1.0, 0.5, 1.7][off]);
                    // brackets with ends exactly at some z_i and z_i − 1 (boundary cases)
                    let mut ends: Vec<(T, T)> = vec![
                        (T::from_f64(-0.3), T::from_f64(0.2)),
                        (T::from_f64(-5.0), T::from_f64(5.0)),
                    ];
                    for _ in 0..3 {
                        if n > 0 {
                            let z = x[rng.below(n)] * s;
                            let w = x[rng.below(n)] * s;
                            let (lo, hi) = if z < w { (z, w) } else { (w, z) };
                            ends.push((lo, hi));
                            ends.push((lo - T::ONE, hi - T::ONE));
                            ends.push((z - T::ONE, z));
                        }
                    }
                    for (a, b) in ends {
                        if a < b {
                            check_split(k, x, s, a, b);
                        }
                    }
                }
            }
        }
        // non-finite elements: ±∞ shows in the statistics, NaN is kept
        let mut x: Vec<T> = data(&mut rng, 301, 0);
        x[17] = T::from_f64(f64::NAN);
        x[200] = T::from_f64(f64::INFINITY);
        check_split(k, &x, T::ONE, T::from_f64(-0.5), T::from_f64(0.5));
        let (v, vk) = run_split(
            |x, o| T::split(k, x, T::ONE, T::from_f64(-0.5), T::from_f64(0.5), o),
            &x,
        );
        assert!(!v.stats.finite || vk.iter().any(|v| v.to_f64().is_nan()));
        assert!(vk.iter().any(|v| v.to_f64().is_nan()), "NaN must be kept");
    }
}

#[test]
fn split_kernel_matches_its_scalar_twin_on_every_path_f32() {
    split_all::<f32>(11);
}

#[test]
fn split_kernel_matches_its_scalar_twin_on_every_path_f64() {
    split_all::<f64>(12);
}

/// At every λ of the bracket the working set's piece has exactly the full pass's counts, and
/// its free-set sum is within the rounding of `fl(z − b) + (b − λ)` against `fl(z − λ)`.
fn pieces<T: Element>(n: usize, seed: u64) {
    let mut rng = Rng(seed);
    for k in all_kernels() {
        for kind in 0..4 {
            let x: Vec<T> = data(&mut rng, n, kind);
            let s = T::from_f64(0.8);
            for _ in 0..3 {
                let z = x[rng.below(n)] * s;
                let half = T::from_f64(0.02 + 0.1 * rng.unit());
                let (a, b) = (z - half, z + half);
                let Some(mut ws) = WorkingSet::build(k, &x, s, a, b) else {
                    continue; // a block kept more than SLOT: allowed, the caller falls back
                };
                let mut lams = vec![a, b];
                for j in 1..8 {
                    let t = j as f64 / 8.0;
                    lams.push(T::from_f64(a.to_f64() * (1.0 - t) + b.to_f64() * t));
                }
                // (`quick()`: the first 200 entries' λ only)
                for &v in x.iter().take(if quick() { 200 } else { 2000 }) {
                    let l = v * s;
                    if l >= a && l <= b {
                        lams.push(l); // some d_i exactly 0 or 1
                    }
                }
                for lam in lams {
                    let p = ws.piece(lam);
                    let q = ScalarPasses::new(&x[..], s).piece(lam);
                    assert_eq!((p.free, p.upper), (q.free, q.upper), "n={n} λ={lam:?}");
                    let unit = if T::FIXED_SUM {
                        2.0f64.powi(-22)
                    } else {
                        4.0 * f64::EPSILON
                    };
                    let tol = unit * q.free as f64 + 4.0 * n as f64 * f64::EPSILON * q.free as f64;
                    assert!(
                        (p.sum_free - q.sum_free).abs() <= tol,
                        "{:?} n={n} kind={kind} λ={lam:?}: {} vs {}",
                        k.path(),
                        p.sum_free,
                        q.sum_free
                    );
                }
            }
        }
    }
}

#[test]
fn working_set_pieces_equal_full_passes_f32() {
    pieces::<f32>(3 * BLOCK + 1234, 21);
}

#[test]
fn working_set_pieces_equal_full_passes_f64() {
    pieces::<f64>(2 * BLOCK + 77, 22);
}

#[test]
fn a_bracket_that_keeps_too_much_is_refused() {
    let x: Vec<f32> = (0..BLOCK).map(|i| (i % 1000) as f32 * 1e-3).collect();
    for k in all_kernels() {
        // every element is kept for [0, 1]: more than SLOT per block
        assert!(WorkingSet::build(k, &x, 1.0, 0.0, 1.0).is_none());
        let few = WorkingSet::build(k, &x, 1.0, 0.4, 0.401).expect("narrow bracket");
        assert!(few.kept() <= SLOT);
    }
}

/// Inputs of many shapes, including adversarial ones for the strided sample.
fn inputs<T: Real>(rng: &mut Rng, n: usize) -> Vec<(&'static str, Vec<T>)> {
    // the sample's stride at this n (`Kernels::sample`: 4·⌊√n⌋ elements, from stride/2)
    let stride = n / (4 * (n as f64).sqrt() as usize).clamp(256, 16384);
    let mut v: Vec<(&'static str, Vec<T>)> = (0..4)
        .map(|kind| (["normal", "ties", "grid", "wide"][kind], data(rng, n, kind)))
        .collect();
    let f =
        |mut g: Box<dyn FnMut(usize) -> f64>| (0..n).map(|i| T::from_f64(g(i))).collect::<Vec<T>>();
    v.push((
        "ascending",
        f(Box::new(move |i| i as f64 / n as f64 * 6.0 - 3.0)),
    ));
    v.push((
        "descending",
        f(Box::new(move |i| 3.0 - i as f64 / n as f64 * 6.0)),
    ));
    // the strided sample sees only one value; the rest of the data is elsewhere
    v.push((
        "periodic",
        f(Box::new(move |i| {
            if stride > 0 && i % stride == stride / 2 {
                0.0
            } else {
                2.0 + (i % 13) as f64 * 0.1
            }
        })),
    ));
    let mut r = Rng(rng.next_u64());
    v.push((
        "cauchy",
        f(Box::new(move |_| {
            (std::f64::consts::PI * (r.unit() - 0.5)).tan()
        })),
    ));
    v.push(("tiny", f(Box::new(|i| ((i * 7919) % 1000) as f64 * 1e-30))));
    let mut r = Rng(rng.next_u64());
    v.push((
        "spread",
        f(Box::new(move |_| {
            let sign = if r.unit() < 0.5 { -1.0 } else { 1.0 };
            (r.normal() * 8.0).exp2() * sign
        })),
    ));
    v
}

fn solve_all<T: Element>(n: usize, seed: u64) {
    let mut rng = Rng(seed);
    for (name, x) in inputs::<T>(&mut rng, n) {
        let nf = n as f64;
        for kk in [
            0.5,
            1.0,
            7.25,
            nf * 0.1,
            nf * 0.5 + 0.25,
            nf - 1.0,
            nf - 0.5,
        ] {
            for tau in [T::from_f64(1.5), T::from_f64(0.3)] {
                let (lam_ref, y_ref) = reference(&x, kk, tau);
                let mut yc = vec![T::ZERO; n];
                let pc = hypersimplex::soft_binary_argmax(&x, kk, tau, &mut yc).unwrap();
                for k in all_kernels() {
                    let ctx = format!("{:?} {name} n={n} k={kk} τ={tau:?}", k.path());
                    let mut y = vec![T::from_f64(7.0); n];
                    let p = k.soft_binary_argmax(&x, kk, tau, &mut y).unwrap();
                    let m = magnitude(&x, tau, p.lambda.abs().max(lam_ref.abs()));
                    // against the exact projection: the core crate's documented bound
                    let e = T::EPSILON.to_f64() * m;
                    let worst = y
                        .iter()
                        .zip(&y_ref)
                        .map(|(a, b)| (a.to_f64() - b).abs())
                        .fold(0.0, f64::max);
                    if e < 1.0 / 8.0 {
                        assert!(worst <= 8.0 * e + 1e-12 * nf, "{ctx}: |y − y*| = {worst:e}");
                    }
                    // against core: the crate's documented bound
                    let d = max_abs_diff(&y, &yc);
                    let mc = magnitude(&x, tau, p.lambda.abs().max(pc.lambda.abs()));
                    assert!(d <= bound::<T>(n, mc), "{ctx}: |y − y_core| = {d:e}");
                    let sum: f64 = y.iter().map(|v| v.to_f64()).sum();
                    assert!(
                        (sum - kk).abs() <= 16.0 * e * (p.free.max(1) as f64) + 1e-9 * nf,
                        "{ctx}: Σy = {sum}"
                    );
                    let mut yi = x.clone();
                    k.soft_binary_argmax_in_place(&mut yi, kk, tau).unwrap();
                    assert_eq!(bits(&yi), bits(&y), "{ctx}: in place");
                }
            }
        }
    }
}

#[test]
fn working_set_projection_matches_reference_f32() {
    solve_all::<f32>(WORKING_SET_FROM, 31);
    if !quick() {
        solve_all::<f32>(100_003, 32);
    }
}

#[test]
fn working_set_projection_matches_reference_f64() {
    solve_all::<f64>(WORKING_SET_FROM + 5, 33);
    if !quick() {
        solve_all::<f64>(70_001, 34);
    }
}

#[test]
fn working_set_path_rejects_non_finite_input_and_leaves_output_untouched() {
    let n = 100_000;
    let mut rng = Rng(41);
    let base: Vec<f32> = data(&mut rng, n, 0);
    // positions inside and outside the sample, inside and outside the working set
    for (pos, v, want) in [
        (12, f32::NAN, Error::NonFiniteInput),
        (n / 2, f32::NAN, Error::NonFiniteInput),
        (4321, 3e38, Error::ScaleOverflow),
    ] {
        let mut x = base.clone();
        x[pos] = v;
        for k in all_kernels() {
            let mut y = vec![5.0f32; n];
            let r = k.soft_binary_argmax(&x, n as f64 * 0.3, 0.5, &mut y);
            assert_eq!(r.unwrap_err(), want, "{:?} pos {pos}", k.path());
            assert!(y.iter().all(|&v| v == 5.0));
            let mut xi = x.clone();
            let r = k.soft_binary_argmax_in_place(&mut xi, n as f64 * 0.3, 0.5);
            assert_eq!(r.unwrap_err(), want);
            assert_eq!(bits(&xi), bits(&x));
        }
    }
}

/// `±∞` masks on the working-set path: the core crate's masked projection bit for bit (the
/// working set declines non-finite input and the masked solve runs), on every path, in place too.
#[test]
fn working_set_path_projects_masked_input_like_core() {
    let n = 100_000;
    let mut rng = Rng(43);
    let base: Vec<f32> = data(&mut rng, n, 0);
    for (pos, v) in [
        (n - 1, f32::INFINITY),
        (777, f32::NEG_INFINITY),
        (12, f32::INFINITY),
    ] {
        let mut x = base.clone();
        x[pos] = v;
        x[pos / 3] = -v;
        let kk = n as f64 * 0.3;
        let mut want = vec![0.0f32; n];
        hypersimplex::soft_binary_argmax(&x, kk, 0.5, &mut want).unwrap();
        assert_eq!(want[pos], if v > 0.0 { 1.0 } else { 0.0 });
        assert_eq!(want[pos / 3], if v > 0.0 { 0.0 } else { 1.0 });
        for k in all_kernels() {
            let mut y = vec![5.0f32; n];
            k.soft_binary_argmax(&x, kk, 0.5, &mut y).unwrap();
            assert_eq!(bits(&y), bits(&want), "{:?} pos {pos}", k.path());
            let mut xi = x.clone();
            k.soft_binary_argmax_in_place(&mut xi, kk, 0.5).unwrap();
            assert_eq!(bits(&xi), bits(&want));
        }
    }
}

/// A working set large enough to run its passes on the pool gives bitwise the same result for
/// every thread count.
#[test]
fn large_working_set_is_bitwise_identical_for_every_thread_count() {
    let n = 1 << 21;
    let mut rng = Rng(51);
    let x: Vec<f32> = data(&mut rng, n, 0);
    // the bracket keeps enough elements to go parallel
    let ws = WorkingSet::build(Kernels::active(), &x, 0.5, -0.1, 0.1).unwrap();
    assert!(ws.kept() >= WORKING_SET_PAR_MIN);
    for k in all_kernels() {
        let mut first: Option<(Vec<u64>, u64)> = None;
        for t in [1, 2, 3, 4] {
            let (y, lam) = with_threads(t, || {
                let mut y = vec![0.0f32; n];
                let p = k
                    .soft_binary_argmax(&x, n as f64 * 0.5, 2.0, &mut y)
                    .unwrap();
                let mut ws = WorkingSet::build(k, &x, 0.5, -0.1, 0.1).unwrap();
                let piece = ws.piece(0.05);
                let full = ScalarPasses::new(&x[..], 0.5f32).piece(0.05);
                assert_eq!((piece.free, piece.upper), (full.free, full.upper));
                (bits(&y), p.lambda.to_bits())
            });
            match &first {
                None => first = Some((y, lam)),
                Some(f) => assert!(f.0 == y && f.1 == lam, "{:?}: {t} threads", k.path()),
            }
        }
    }
}

/// `unit_threshold(c)` is the least value `t` with `fl(t − c) ≥ 1`: it qualifies and the value
/// just below it does not, including where the threshold lies among tiny or subnormal values
/// (`c = −1`: `fl(z + 1) ≥ 1` already for `z ≥ −2^-54`) and where `c + 1` rounds to `c`.
fn thresholds<T: Element>() {
    use hypersimplex_simd::working_set::unit_threshold;
    let mut rng = Rng(61);
    let mut cs: Vec<f64> = vec![
        -1.0,
        -0.5,
        0.0,
        -0.0,
        1.0,
        -2.0,
        1e-30,
        -1e-30,
        1e30,
        -1e30,
        3.0,
        -3.0,
        16777216.0,
        -16777216.0,
        9007199254740992.0,
        -9007199254740992.0,
        0.1,
        -0.1,
    ];
    cs.extend((0..200).map(|_| rng.normal() * 10f64.powi(rng.below(9) as i32 - 4)));
    for c in cs {
        let c = T::from_f64(c);
        let t = unit_threshold(c);
        assert!(t - c >= T::ONE, "{c:?}: {t:?} does not reach 1");
        let below = T::from_ordered(t.to_ordered() - 1);
        assert!(
            below - c < T::ONE,
            "{c:?}: {below:?} below {t:?} also reaches 1"
        );
    }
    assert_eq!(unit_threshold(T::MAX).to_f64(), f64::INFINITY);
}

#[test]
fn unit_threshold_is_the_least_value_reaching_one() {
    thresholds::<f32>();
    thresholds::<f64>();
}

/// Random inputs for the working-set path: a mixture of Gaussian values, ties on a coarse grid
/// and outliers, at random lengths from `WORKING_SET_FROM` up, random real `k` (including values
/// near 0 and near n) and τ; the projection must stay within the core crate's bound of the
/// exact one and within the documented bound of the core's result.
mod random {
    use super::*;
    use proptest::prelude::{prop_oneof, proptest, Just, Strategy};
    use proptest::test_runner::{Config, RngSeed};

    fn config() -> Config {
        Config {
            cases: 24,
            rng_seed: RngSeed::Fixed(71),
            failure_persistence: None,
            ..Config::default()
        }
    }

    fn input() -> impl Strategy<Value = (Vec<f32>, f64, f32)> {
        let n = WORKING_SET_FROM..3 * WORKING_SET_FROM;
        let mix = (0.0f64..1.0, 0.0f64..0.3, 0.1f64..30.0);
        let kf = prop_oneof![
            2 => 0.0f64..1.0,
            1 => Just(-1.0), // k = 0.5 or 1
            1 => Just(2.0),  // k = n − 0.5 or n − 1
        ];
        let tau = prop_oneof![Just(0.1f32), Just(1.5f32), Just(10.0f32), 0.3f32..3.0];
        (n, mix, kf, tau, 0u64..u64::MAX).prop_map(|(n, (ties, outl, scale), kf, tau, seed)| {
            let mut rng = Rng(seed);
            let x: Vec<f32> = (0..n)
                .map(|_| {
                    let u = rng.unit();
                    let v = if u < ties {
                        (rng.below(9) as f64 - 4.0) * 0.25
                    } else if u < ties + outl {
                        rng.normal() * 1000.0
                    } else {
                        rng.normal() * scale
                    };
                    v as f32
                })
                .collect();
            let nf = n as f64;
            let k = if kf < 0.0 {
                [0.5, 1.0][seed as usize % 2]
            } else if kf > 1.0 {
                nf - [0.5, 1.0][seed as usize % 2]
            } else {
                kf * nf
            };
            (x, k, tau)
        })
    }

    proptest! {
        #![proptest_config(config())]
        #[test]
        fn working_set_projection_is_within_bounds((x, k, tau) in input()) {
            let n = x.len();
            let (_, y_ref) = reference(&x, k, tau);
            let mut yc = vec![0.0f32; n];
            let pc = hypersimplex::soft_binary_argmax(&x, k, tau, &mut yc).unwrap();
            let kern = Kernels::active();
            let mut y = vec![7.0f32; n];
            let p = kern.soft_binary_argmax(&x, k, tau, &mut y).unwrap();
            let m = magnitude(&x, tau, p.lambda.abs().max(pc.lambda.abs()));
            let e = f32::EPSILON as f64 * m;
            let worst = y.iter().zip(&y_ref).map(|(a, b)| (*a as f64 - b).abs()).fold(0.0, f64::max);
            assert!(e >= 1.0 / 8.0 || worst <= 8.0 * e + 1e-12 * n as f64, "n={n} k={k}: |y − y*| = {worst:e}");
            assert!(max_abs_diff(&y, &yc) <= bound::<f32>(n, m), "n={n} k={k}: vs core");
        }
    }
}
