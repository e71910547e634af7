//! Every kernel path against the core crate's scalar code: the per-block kernels (counts and
//! written values bitwise, sums within the summation-order bound) and the whole operators
//! (within 16·ε·M of core, the documented bound), for lengths around the lane counts, offset
//! (unaligned) sub-slices, both element types, and several thread counts.

use crate::common::*;
use hypersimplex::internal::kernel::{Passes, ScalarPasses};
use hypersimplex::Real;
use hypersimplex_simd::passes::{SimdPasses, PAR_MIN};
use hypersimplex_simd::{Element, Error, Kernels, Path};

/// Bound on the difference of two f64 sums of the same n terms in different orders.
fn sum_tol(n: usize, abs_sum: f64) -> f64 {
    2.0 * (n as f64 + 2.0) * f64::EPSILON * abs_sum + 1e-300
}

fn check_kernels<T: Element>(k: Kernels, x: &[T], tau: T, rng: &mut Rng) {
    let s = T::ONE / tau;
    let n = x.len();
    let name = k.path().name();
    // stats
    let a = T::stats(k, x, s);
    let b = ScalarPasses::new(x, s).stats();
    assert_eq!(a.finite, b.finite, "{name} n={n}");
    assert!(
        a.min == b.min && a.max == b.max,
        "{name} n={n}: {a:?} vs {b:?}"
    );
    let abs: f64 = x.iter().map(|v| (*v * s).to_f64().abs()).sum();
    assert!((a.sum - b.sum).abs() <= sum_tol(n, abs), "{name} n={n}");
    // pieces at λ chosen so that some d_i are exactly 0 and exactly 1
    let mut lams: Vec<T> = vec![T::ZERO, T::from_f64(0.3), T::from_f64(-2.5)];
    for _ in 0..4 {
        if n > 0 {
            let z = x[rng.below(n)] * s;
            lams.push(z);
            lams.push(z - T::ONE);
        }
    }
    for &lam in &lams {
        let p = T::piece(k, x, s, lam);
        let q = ScalarPasses::new(x, s).piece(lam);
        assert_eq!(
            (p.free, p.upper),
            (q.free, q.upper),
            "{name} n={n} λ={lam:?}"
        );
        // core's f32 passes sum the free set in 2^-23 fixed point (< 2^-23 per term); the SIMD
        // kernels use the same integers, so this slack is for the portable paths only
        let fixed = if <T as hypersimplex::Real>::FIXED_SUM {
            q.free as f64 * (1.0 / 8_388_608.0)
        } else {
            0.0
        };
        assert!((p.sum_free - q.sum_free).abs() <= sum_tol(n, q.free as f64) + fixed);
        if <T as hypersimplex::Real>::FIXED_SUM {
            // integer sums: every path and the core agree exactly
            assert_eq!(
                p.sum_free.to_bits(),
                q.sum_free.to_bits(),
                "{name} fixed sum n={n}"
            );
        }
        let (p2, st) = T::piece_stats(k, x, s, lam);
        assert_eq!((p2.free, p2.upper), (q.free, q.upper));
        assert!((p2.sum_free - q.sum_free).abs() <= sum_tol(n, q.free as f64) + fixed);
        assert!(st.min == b.min && st.max == b.max && st.finite == b.finite);
        // Σz only seeds the start point when there is none: the vector paths' fused pass
        // leaves it out (NaN); the scalar code's sums 512-element blocks in f32 (documented on
        // `Stats::sum`), so compare at the element type's precision.
        let eps_t = T::EPSILON.to_f64();
        if n >= hypersimplex_simd::VECTOR_MIN && k.path() != Path::Scalar {
            assert!(st.sum.is_nan(), "{name}: piece_stats computes no Σz");
        } else {
            assert!((st.sum - b.sum).abs() <= sum_tol(n, abs) + 128.0 * eps_t * abs);
        }
        // the clip is bitwise the scalar one
        let mut y1 = vec![T::from_f64(9.0); n];
        let mut y2 = vec![T::from_f64(9.0); n];
        T::clip(k, x, s, lam, &mut y1);
        hypersimplex::internal::kernel::write_clip(x, s, lam, &mut y2);
        assert_eq!(bits(&y1), bits(&y2), "{name} clip n={n}");
        // the streaming clip, into every alignment of the output
        let mut yb = vec![T::from_f64(9.0); n + 8];
        for off in 0..8 {
            T::clip_stream(k, x, s, lam, &mut yb[off..off + n]);
            assert_eq!(
                bits(&yb[off..off + n]),
                bits(&y2),
                "{name} clip_stream n={n}"
            );
        }
        // the fused pass: the same piece and the same written values
        let mut y4 = vec![T::from_f64(9.0); n];
        let p4 = T::piece_write(k, x, s, lam, &mut y4);
        assert_eq!((p4.free, p4.upper), (q.free, q.upper));
        assert_eq!(p4.sum_free.to_bits(), p.sum_free.to_bits());
        assert_eq!(bits(&y4), bits(&y2), "{name} piece_write n={n}");
        let mut y3 = x.to_vec();
        T::clip_in_place(k, &mut y3, s, lam);
        assert_eq!(bits(&y3), bits(&y2), "{name} clip_in_place n={n}");
        // backward kernels on this y
        let g: Vec<T> = (0..n).map(|_| T::from_f64(rng.normal())).collect();
        let (c1, s1, f1) = T::free_mean(k, &y1, &g, T::MAX);
        let (c2, s2, f2) = hypersimplex_simd::portable::free_mean(&y1, &g, T::MAX);
        assert_eq!((c1, f1), (c2, f2));
        let gabs: f64 = g.iter().map(|v| v.to_f64().abs()).sum();
        assert!((s1 - s2).abs() <= sum_tol(n, gabs));
        let mean = T::from_f64(0.37);
        let mut o1 = vec![T::from_f64(5.0); n];
        let mut o2 = vec![T::from_f64(5.0); n];
        T::vjp(k, &y1, &g, mean, s, &mut o1);
        hypersimplex_simd::portable::vjp(&y1, &g, mean, s, &mut o2);
        assert_eq!(bits(&o1), bits(&o2), "{name} vjp n={n}");
        // the streaming VJP, into every alignment of the output
        let mut ob = vec![T::from_f64(5.0); n + 8];
        for off in 0..8 {
            T::vjp_stream(k, &y1, &g, mean, s, &mut ob[off..off + n]);
            assert_eq!(
                bits(&ob[off..off + n]),
                bits(&o2),
                "{name} vjp_stream n={n}"
            );
        }
        let mut o3 = g.clone();
        T::vjp_in_place(k, &y1, &mut o3, mean, s);
        assert_eq!(bits(&o3), bits(&o2), "{name} vjp_in_place n={n}");
        // loss kernels with 0/1 and soft targets
        let t: Vec<T> = (0..n)
            .map(|i| T::from_f64(if i % 3 == 0 { 1.0 } else { rng.unit() * 0.5 }))
            .collect();
        let r1 = T::residual(k, x, &t, s, lam);
        let r2 = hypersimplex_simd::portable::residual(x, &t, s, lam);
        assert_eq!(r1.free, r2.free);
        assert!((r1.sq - r2.sq).abs() <= sum_tol(n, r2.sq));
        assert!((r1.sum_free - r2.sum_free).abs() <= sum_tol(n, n as f64));
        let f = T::from_f64(0.7);
        T::grad(k, x, &t, s, lam, mean, f, &mut o1);
        hypersimplex_simd::portable::grad(x, &t, s, lam, mean, f, &mut o2);
        assert_eq!(bits(&o1), bits(&o2), "{name} grad n={n}");
        // multiclass kernels: one-hot targets read from labels (bitwise the residual kernel
        // on the materialized one-hot), and a λ and a mean per element with target 0
        let labels: Vec<u32> = (0..n).map(|_| rng.below(3) as u32).collect();
        for class in [0u32, 2, 7] {
            let t: Vec<T> = labels
                .iter()
                .map(|&l| if l == class { T::ONE } else { T::ZERO })
                .collect();
            let r1 = T::residual_labels(k, x, &labels, class, s, lam);
            let r2 = hypersimplex_simd::portable::residual_labels(x, &labels, class, s, lam);
            let r3 = T::residual(k, x, &t, s, lam);
            assert_eq!(r1.free, r2.free);
            assert!((r1.sq - r2.sq).abs() <= sum_tol(n, r2.sq));
            assert!((r1.sum_free - r2.sum_free).abs() <= sum_tol(n, n as f64));
            assert_eq!(
                (r1.sq.to_bits(), r1.free, r1.sum_free.to_bits()),
                (r3.sq.to_bits(), r3.free, r3.sum_free.to_bits()),
                "{name} residual_labels n={n}"
            );
        }
        let lamv: Vec<T> = (0..n)
            .map(|i| lam + T::from_f64((i % 5) as f64 * 0.25 - 0.5))
            .collect();
        let meanv: Vec<T> = (0..n).map(|i| T::from_f64((i % 3) as f64 * 0.05)).collect();
        T::grad_pattern(k, x, &t, &lamv, &meanv, s, f, &mut o1);
        hypersimplex_simd::portable::grad_pattern(x, &t, &lamv, &meanv, s, f, &mut o2);
        assert_eq!(bits(&o1), bits(&o2), "{name} grad_pattern n={n}");
    }
}

fn check_transpose<T: Element>(rng: &mut Rng) {
    let shapes: &[(usize, usize)] = &[
        (0, 3),
        (1, 1),
        (5, 3),
        (8, 8),
        (9, 8),
        (17, 10),
        (33, 7),
        (40, 16),
        (100, 10),
        (31, 17),
        (64, 1),
        (3, 40),
        (70, 5),
    ];
    let s = T::from_f64(0.75);
    for k in all_kernels() {
        let name = k.path().name();
        for &(rows, cols) in shapes {
            let buf: Vec<T> = data(rng, rows * cols + 1, 0);
            for off in 0..2 {
                let mut x = buf[off..off + rows * cols].to_vec();
                for (extra, short) in [(0, 0), (3, 0), (0, 1)] {
                    let stride = rows + extra;
                    let len = (cols * stride).saturating_sub(short);
                    let mut o1 = vec![T::from_f64(9.0); len];
                    let mut o2 = o1.clone();
                    let f1 = T::transpose(k, &x, cols, s, &mut o1, stride);
                    let f2 = hypersimplex_simd::portable::transpose(&x, cols, s, &mut o2, stride);
                    assert!(f1 && f2, "{name} {rows}x{cols}");
                    assert_eq!(bits(&o1), bits(&o2), "{name} transpose {rows}x{cols}");
                    for r in 0..rows {
                        for c in 0..cols {
                            if let Some(&v) = o1.get(c * stride + r) {
                                assert_eq!(
                                    v.to_f64().to_bits(),
                                    x[r * cols + c].to_f64().to_bits()
                                );
                            }
                        }
                    }
                }
                // a non-finite logit (or one whose x·s overflows) anywhere is reported
                if rows * cols > 0 {
                    let at = rng.below(rows * cols);
                    let keep = x[at];
                    for bad in [T::from_f64(f64::NAN), T::MAX] {
                        x[at] = bad;
                        let mut o1 = vec![T::ZERO; rows * cols];
                        let big = T::from_f64(2.0);
                        assert!(!T::transpose(k, &x, cols, big, &mut o1, rows), "{name}");
                        assert!(!hypersimplex_simd::portable::transpose(
                            &x, cols, big, &mut o1, rows
                        ));
                    }
                    x[at] = keep;
                }
            }
        }
    }
}

#[test]
fn transpose_matches_scalar_on_every_path() {
    let mut rng = Rng(17);
    check_transpose::<f32>(&mut rng);
    check_transpose::<f64>(&mut rng);
}

fn check_operators<T: Element>(k: Kernels, x: &[T], kk: f64, tau: T) {
    let n = x.len();
    let name = k.path().name();
    let mut y = vec![T::from_f64(3.0); n];
    let mut yc = vec![T::from_f64(3.0); n];
    let p = k.soft_binary_argmax(x, kk, tau, &mut y).unwrap();
    let pc = hypersimplex::soft_binary_argmax(x, kk, tau, &mut yc).unwrap();
    let m = magnitude(x, tau, p.lambda.abs().max(pc.lambda.abs()));
    let tol = bound::<T>(n, m);
    let d = max_abs_diff(&y, &yc);
    assert!(
        d <= tol,
        "{name} n={n} k={kk}: |y − y_core| = {d:e} > {tol:e}"
    );
    // λ is unique only where f has a slope there (free > 0); on a flat piece any λ of the
    // piece is valid, and different summation orders may stop at different ones.
    if p.free > 0 && pc.free > 0 {
        let dl = (p.lambda - pc.lambda).abs();
        assert!(dl <= tol, "{name} λ {} vs {}", p.lambda, pc.lambda);
    }
    let sum: f64 = y.iter().map(|v| v.to_f64()).sum();
    assert!(
        (sum - kk).abs()
            <= 16.0 * T::EPSILON.to_f64() * m * (p.free.max(1) as f64)
                + 2.0 * n as f64 * f64::EPSILON * kk,
        "{name} Σy={sum} k={kk}"
    );
    let mut yi = x.to_vec();
    k.soft_binary_argmax_in_place(&mut yi, kk, tau).unwrap();
    assert_eq!(bits(&yi), bits(&y), "{name} in place");
    // backward from the core's y, with the same g
    let g: Vec<T> = (0..n)
        .map(|i| T::from_f64(((i * 37 % 11) as f64 - 5.0) * 0.3))
        .collect();
    let mut gx = vec![T::ZERO; n];
    let mut gc = vec![T::ZERO; n];
    k.soft_binary_argmax_vjp(&yc, &g, tau, &mut gx).unwrap();
    hypersimplex::soft_binary_argmax_vjp(&yc, &g, tau, &mut gc).unwrap();
    let s = (T::ONE / tau).to_f64();
    assert!(
        max_abs_diff(&gx, &gc) <= 4.0 * s * bound::<T>(n, 4.0),
        "{name} vjp"
    );
    let mut gi = g.clone();
    k.soft_binary_argmax_vjp_in_place(&yc, &mut gi, tau)
        .unwrap();
    assert_eq!(bits(&gi), bits(&gx));
    // loss
    let t: Vec<T> = (0..n)
        .map(|i| T::from_f64((i % 4 == 1) as u8 as f64))
        .collect();
    let kt = hypersimplex::target_k(&t);
    let mut lg = vec![T::ZERO; n];
    let mut lc = vec![T::ZERO; n];
    let l = k.hypersimplex_loss(x, &t, kt, tau, Some(&mut lg)).unwrap();
    let lcore = hypersimplex::hypersimplex_loss(x, &t, kt, tau, Some(&mut lc)).unwrap();
    let mm = magnitude(x, tau, 0.0);
    let tol = 64.0 * T::EPSILON.to_f64() * mm * (n.max(1) as f64);
    assert!(
        (l.to_f64() - lcore.to_f64()).abs() <= tol,
        "{name} loss {l:?} vs {lcore:?}"
    );
    // The loss's ŷ is each side's forward output (short f32 vectors: the short-row solver's;
    // the core: its general path). The two may put an entry at a breakpoint on different
    // sides (0 against 2^-24), where the gradient jumps (either side is a valid generalized
    // gradient): compare the gradients where the free sets agree.
    let (mut yl, mut ylc) = (vec![T::ZERO; n], vec![T::ZERO; n]);
    k.soft_binary_argmax(x, kt, tau, &mut yl).unwrap();
    hypersimplex::soft_binary_argmax(x, kt, tau, &mut ylc).unwrap();
    let free = |v: &T| v.to_f64() > 0.0 && v.to_f64() < 1.0;
    let same_sets = yl.iter().zip(&ylc).all(|(a, b)| free(a) == free(b));
    // and where they do not, the loss gradient is still the VJP of ŷ − t at the forward's ŷ
    if !same_sets {
        let r: Vec<T> = yl.iter().zip(&t).map(|(a, b)| *a - *b).collect();
        let mut gv = vec![T::ZERO; n];
        k.soft_binary_argmax_vjp(&yl, &r, tau, &mut gv).unwrap();
        assert!(
            max_abs_diff(&lg, &gv) <= 8.0 * s * bound::<T>(n, 4.0),
            "{name} loss grad vs vjp of the forward, n={n}"
        );
    }
    assert!(
        !same_sets || max_abs_diff(&lg, &lc) <= 8.0 * s * bound::<T>(n, mm),
        "{name} loss grad n={n} diff={} bound={}",
        max_abs_diff(&lg, &lc),
        8.0 * s * bound::<T>(n, mm)
    );
}

fn run_all<T: Element>(seed: u64) {
    let mut rng = Rng(seed);
    for k in all_kernels() {
        for &n in LENGTHS {
            for kind in 0..4 {
                // offset sub-slices: the kernels must not assume alignment
                let buf: Vec<T> = data(&mut rng, n + 3, kind);
                for off in 0..3 {
                    let x = &buf[off..off + n];
                    let tau = T::from_f64([1.0, 0.5, 1.7][off]);
                    check_kernels(k, x, tau, &mut rng);
                    for kk in [0.0, 1.0, n as f64 * 0.1, n as f64 * 0.5 + 0.25, n as f64] {
                        if kk <= n as f64 {
                            check_operators(k, x, kk, tau);
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn every_path_matches_core_f32() {
    run_all::<f32>(1);
}

#[test]
fn every_path_matches_core_f64() {
    run_all::<f64>(2);
}

#[test]
fn avx2_path_is_detected_where_the_cpu_has_it() {
    let paths = Path::supported();
    assert_eq!(*paths.last().unwrap(), Path::Scalar);
    #[cfg(target_arch = "x86_64")]
    {
        let has = std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma");
        assert_eq!(paths.contains(&Path::Avx2), has);
        let wide = has
            && std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vl")
            && std::arch::is_x86_feature_detected!("avx512dq");
        assert_eq!(paths.contains(&Path::Avx512), wide);
        assert_eq!(Kernels::new(Path::Neon), None);
    }
    #[cfg(target_arch = "aarch64")]
    assert!(paths.contains(&Path::Neon));
    eprintln!(
        "supported paths: {paths:?}; detected: {}",
        hypersimplex_simd::detected_path()
    );
}

/// Non-finite input is found in the vector body and in the scalar tail, on every path, and
/// nothing is written.
#[test]
fn nonfinite_input_is_rejected_and_output_untouched() {
    for k in all_kernels() {
        for n in [1usize, 5, 16, 17, 40, 3000] {
            for pos in [0, n / 2, n - 1] {
                for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
                    let mut x: Vec<f32> = (0..n).map(|i| (i % 13) as f32 * 0.1).collect();
                    x[pos] = bad;
                    let mut y = vec![7.0f32; n];
                    let r = k.soft_binary_argmax(&x, 1.0, 1.0, &mut y);
                    if bad.is_nan() {
                        assert_eq!(r, Err(Error::NonFiniteInput), "{:?} n={n}", k.path());
                        assert!(y.iter().all(|&v| v == 7.0));
                    } else {
                        // ±∞ is a mask: the core crate's masked projection, bit for bit
                        masked_as_core(&k, &x, 1.0, &y, r);
                    }
                    let mut g = vec![7.0f32; n];
                    let yy: Vec<f32> = (0..n).map(|i| (i % 3) as f32 * 0.4).collect();
                    let r = k.soft_binary_argmax_vjp(&yy, &x, 1.0, &mut g);
                    assert_eq!(r, Err(Error::NonFiniteInput));
                    assert!(g.iter().all(|&v| v == 7.0));
                }
            }
            // finite input whose scaling overflows
            let x: Vec<f32> = (0..n)
                .map(|i| if i == n - 1 { 1e30 } else { 0.5 })
                .collect();
            let mut y = vec![7.0f32; n];
            let r = k.soft_binary_argmax(&x, 1.0, 1e-10, &mut y);
            assert_eq!(r, Err(Error::ScaleOverflow));
            assert!(y.iter().all(|&v| v == 7.0));
        }
        let mut y = vec![7.0f64; 4];
        let x = [1.0f64, 2.0, 3.0, 4.0];
        assert_eq!(
            k.soft_binary_argmax(&x, 5.0, 1.0, &mut y),
            Err(Error::InvalidK)
        );
        assert_eq!(
            k.soft_binary_argmax(&x, 1.0, 0.0, &mut y),
            Err(Error::InvalidTau)
        );
        assert_eq!(
            k.soft_binary_argmax(&x, 1.0, 1.0, &mut y[..3]),
            Err(Error::LengthMismatch)
        );
        let t = [0.0f64, 1.5, 0.0, 0.0];
        assert_eq!(
            k.hypersimplex_loss(&x, &t, 1.0, 1.0, Some(&mut y)),
            Err(Error::InvalidTarget)
        );
        assert!(y.iter().all(|&v| v == 7.0));
    }
}

/// A vector long enough to split its passes over threads gives bitwise the same result for
/// every thread count, and stays within the bound of core.
#[test]
fn long_vector_is_bitwise_identical_for_every_thread_count() {
    let mut rng = Rng(7);
    let n = PAR_MIN + 12_345;
    let x: Vec<f32> = data(&mut rng, n, 0);
    let g: Vec<f32> = data(&mut rng, n, 0);
    let mut yc = vec![0.0f32; n];
    let pc = hypersimplex::soft_binary_argmax(&x, n as f64 * 0.3, 0.8, &mut yc).unwrap();
    for k in all_kernels() {
        let mut reference: Option<(Vec<u64>, Vec<u64>, u64)> = None;
        for t in [1, 2, 3, 4] {
            let (y, gx, lam) = with_threads(t, || {
                let mut y = vec![0.0f32; n];
                let p = k
                    .soft_binary_argmax(&x, n as f64 * 0.3, 0.8, &mut y)
                    .unwrap();
                let mut gx = vec![0.0f32; n];
                k.soft_binary_argmax_vjp(&y, &g, 0.8, &mut gx).unwrap();
                // the Passes impl itself
                let mut sp = SimdPasses::new(k, &x, 1.25f32);
                let piece = sp.piece(0.5);
                let sc = ScalarPasses::new(&x[..], 1.25f32).piece(0.5);
                assert_eq!((piece.free, piece.upper), (sc.free, sc.upper));
                (bits(&y), bits(&gx), p.lambda.to_bits())
            });
            match &reference {
                None => reference = Some((y.clone(), gx, lam)),
                Some(r) => {
                    assert!(
                        r.0 == y && r.1 == gx && r.2 == lam,
                        "{:?}: {t} threads differ",
                        k.path()
                    )
                }
            }
        }
        let r = reference.unwrap();
        let y: Vec<f32> = r.0.iter().map(|&b| f64::from_bits(b) as f32).collect();
        let m = magnitude(&x, 0.8f32, pc.lambda);
        assert!(
            max_abs_diff(&y, &yc) <= bound::<f32>(n, m),
            "{:?}",
            k.path()
        );
    }
}

/// The sampled-start path in f64 (its first pass checks finiteness without a Σz).
#[test]
fn nonfinite_f64_input_on_the_sampled_path_is_rejected() {
    let n = 3000;
    for k in all_kernels() {
        for pos in [0, n / 2, n - 1] {
            for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
                let mut x: Vec<f64> = (0..n).map(|i| (i % 13) as f64 * 0.1).collect();
                x[pos] = bad;
                let mut y = vec![7.0f64; n];
                let r = k.soft_binary_argmax(&x, 100.0, 1.0, &mut y);
                if bad.is_nan() {
                    assert_eq!(r, Err(Error::NonFiniteInput), "{:?} pos={pos}", k.path());
                    assert!(y.iter().all(|&v| v == 7.0));
                } else {
                    masked_as_core(&k, &x, 100.0, &y, r);
                }
            }
        }
    }
}

/// A projection of input with `±∞` masks (issue 13): bitwise the core crate's (the masked solve
/// is the same scalar code on every path), exact 0 and 1 at the masks, and the same in place.
fn masked_as_core<T: Element + Real + core::fmt::Debug>(
    k: &Kernels,
    x: &[T],
    kk: f64,
    y: &[T],
    r: Result<hypersimplex::Projection, Error>,
) {
    let mut want = vec![T::ZERO; x.len()];
    let core_r = hypersimplex::soft_binary_argmax(x, kk, T::ONE, &mut want);
    if let Err(e) = core_r {
        // an infeasible k (e.g. n = 1, x = −∞, k = 1): the same error, y untouched
        assert_eq!(r, Err(e), "{:?}", k.path());
        assert!(y.iter().all(|v| v.to_f64() == 7.0));
        return;
    }
    let core_info = core_r.unwrap();
    let info = r.unwrap_or_else(|e| panic!("{:?}: masked input refused: {e:?}", k.path()));
    // f32: bit for bit (fixed-point sums); f64: the vector paths add in lane order, so within
    // the accuracy bound of the core's answer (as for unmasked f64 input)
    let exact = core::mem::size_of::<T>() == 4;
    let same = |a: &[T], b: &[T], what: &str| {
        if exact {
            assert_eq!(bits(a), bits(b), "{:?} n={} {what}", k.path(), x.len());
        } else {
            let m = magnitude(&[T::ONE], T::ONE, info.lambda.max(core_info.lambda));
            assert!(
                max_ulps(a, b, m * 3.0) <= 8.0,
                "{:?} n={} {what}",
                k.path(),
                x.len()
            );
        }
    };
    same(y, &want, "");
    assert_eq!((info.free, info.upper), (core_info.free, core_info.upper));
    if exact {
        assert_eq!(info.lambda, core_info.lambda);
    }
    for (xi, yi) in x.iter().zip(y) {
        if !xi.is_finite() {
            assert_eq!(yi.to_f64(), if xi.to_f64() > 0.0 { 1.0 } else { 0.0 });
        }
    }
    let mut xi = x.to_vec();
    k.soft_binary_argmax_in_place(&mut xi, kk, T::ONE)
        .expect("in place");
    same(&xi, &want, "in place");
}
