//! The VJP with huge cotangents (issue 13, item 2): entries outside the free set are exactly 0
//! whatever `g` holds there; a result that overflows is `Error::ScaleOverflow` with the output
//! untouched; otherwise every entry matches an f64 (for f32) reference.

use hypersimplex::{soft_binary_argmax_vjp, soft_binary_argmax_vjp_in_place, Error};

#[test]
fn issue_example_gives_zeros_not_nan() {
    let y = [0.5f32, 0.0, 1.0, 0.5];
    let g = [-f32::MAX, f32::MAX, 0.0, -f32::MAX];
    let mut out = [9.0f32; 4];
    soft_binary_argmax_vjp(&y, &g, 1.0, &mut out).unwrap();
    // mean over the free set {0, 3} is −MAX: both free entries are 0; the others exactly 0.
    assert_eq!(out.map(f32::to_bits), [0.0f32; 4].map(f32::to_bits));
}

#[test]
fn overflowing_result_is_an_error_and_output_untouched() {
    let y = [0.5f32, 0.5, 0.0];
    let g = [-f32::MAX, f32::MAX, 1.0];
    let mut out = [9.0f32; 3];
    assert_eq!(
        soft_binary_argmax_vjp(&y, &g, 0.5, &mut out),
        Err(Error::ScaleOverflow)
    );
    assert_eq!(out, [9.0; 3]);
    let mut gi = g;
    assert_eq!(
        soft_binary_argmax_vjp_in_place(&y, &mut gi, 0.5),
        Err(Error::ScaleOverflow)
    );
    assert_eq!(gi, g);
    // f64: Σg over the free set overflows: reported as ScaleOverflow (documented), untouched
    let y = [0.5f64, 0.5, 0.0];
    let g = [f64::MAX, f64::MAX, -f64::MAX];
    let mut out = [9.0f64; 3];
    assert_eq!(
        soft_binary_argmax_vjp(&y, &g, 1.0, &mut out),
        Err(Error::ScaleOverflow)
    );
    assert_eq!(out, [9.0; 3]);
    // NaN stays NonFiniteInput even next to huge values
    let y = [0.5f32, 0.5];
    let g = [f32::MAX, f32::NAN];
    let mut out = [9.0f32; 2];
    assert_eq!(
        soft_binary_argmax_vjp(&y, &g, 1.0, &mut out),
        Err(Error::NonFiniteInput)
    );
    assert_eq!(out, [9.0; 2]);
}

/// The quick bound `(max|g| + |mean|)·s` must not be trusted below its true value: here
/// `max|g| − |mean|` would fit in f32 while the free entry `g_1 − mean = −0.8·MAX` times
/// `s = 2` does not (found by mutation testing: a `−` for the `+` passed every other test).
#[test]
fn overflow_beyond_max_g_less_mean_is_an_error() {
    let m = f32::MAX;
    let y = [0.5f32, 0.5, 0.5];
    let g = [0.6 * m, -0.6 * m, 0.6 * m]; // mean 0.2·MAX; (g − mean)·2 = 0.8, −1.6, 0.8 ·MAX
    let mut out = [9.0f32; 3];
    assert_eq!(
        soft_binary_argmax_vjp(&y, &g, 0.5, &mut out),
        Err(Error::ScaleOverflow)
    );
    assert_eq!(out, [9.0; 3]);
    // τ = 1: the largest, 0.8·MAX, fits, and every entry matches (g − mean) in f64
    soft_binary_argmax_vjp(&y, &g, 1.0, &mut out).unwrap();
    let mean = g.iter().map(|&v| v as f64).sum::<f64>() / 3.0;
    for (o, gi) in out.iter().zip(g) {
        let want = gi as f64 - mean;
        assert!((*o as f64 - want).abs() <= 4.0 * f32::EPSILON as f64 * want.abs());
    }
}

/// Random y (free and clipped) and g with magnitudes up to f32::MAX, τ from 1e-3 to 1e3,
/// against the f64 reference: where the reference's largest free entry is clearly finite in
/// f32 the call succeeds and matches; where it clearly overflows the call fails.
#[test]
fn huge_cotangents_match_the_f64_reference() {
    let mut seed = 0x9e3779b97f4a7c15u64;
    let mut unit = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 11) as f64 / (1u64 << 53) as f64
    };
    let (mut ok, mut over) = (0, 0);
    for trial in 0..4000 {
        let n = 1 + (unit() * 12.0) as usize;
        let tau = 10f64.powf(unit() * 6.0 - 3.0) as f32;
        let y: Vec<f32> = (0..n)
            .map(|_| match (unit() * 3.0) as u32 {
                0 => 0.0,
                1 => 1.0,
                _ => (0.01 + 0.98 * unit()) as f32,
            })
            .collect();
        let top = 33.0 + 5.5 * unit(); // log10 of the largest |g|, up to ~3.4e38
        let g: Vec<f32> = (0..n)
            .map(|_| {
                let v = 10f64.powf(top - 6.0 * unit()).min(f32::MAX as f64);
                (if unit() < 0.5 { -v } else { v }) as f32
            })
            .collect();
        let free: Vec<usize> = (0..n).filter(|&i| y[i] > 0.0 && y[i] < 1.0).collect();
        let mean = if free.is_empty() {
            0.0
        } else {
            free.iter().map(|&i| g[i] as f64).sum::<f64>() / free.len() as f64
        };
        let s = 1.0 / tau as f64;
        let worst = free
            .iter()
            .map(|&i| ((g[i] as f64 - mean) * s).abs())
            .fold(0.0, f64::max);
        let mut out = vec![7.0f32; n];
        let r = soft_binary_argmax_vjp(&y, &g, tau, &mut out);
        if worst < 0.99 * f32::MAX as f64 {
            assert_eq!(r, Ok(()), "trial {trial}: worst {worst:e}");
            ok += 1;
            for i in 0..n {
                if free.contains(&i) {
                    let want = (g[i] as f64 - mean) * s;
                    let err = (out[i] as f64 - want).abs();
                    // mean rounded to f32, difference and product each rounded once
                    let tol = 4.0 * f32::EPSILON as f64 * ((g[i] as f64).abs() + mean.abs()) * s;
                    assert!(err <= tol, "trial {trial} i {i}: {} vs {want:e}", out[i]);
                } else {
                    assert_eq!(out[i].to_bits(), 0, "trial {trial} i {i} not free");
                }
            }
        } else if worst > 1.01 * f32::MAX as f64 {
            assert_eq!(r, Err(Error::ScaleOverflow), "trial {trial}");
            assert!(out.iter().all(|&v| v == 7.0));
            over += 1;
        }
    }
    // both outcomes are exercised
    assert!(ok > 500 && over > 40, "ok {ok} overflow {over}");
}

/// The losses' gradients: with `2/τ` beyond `MAX` (τ subnormal) an entry could overflow, so a
/// gradient request fails with `ScaleOverflow` (gradient untouched) while the loss alone works.
#[test]
fn loss_gradient_with_overflowing_scale_is_an_error() {
    use hypersimplex::{hypersimplex_loss, hypersimplex_loss_multiclass, ClassK, Reduction};
    let tau = 4e-39f32; // 1/τ ≈ 2.5e38 is finite, 2/τ is not
    let x = [1e-39f32, -1e-39, 2e-39, 0.0];
    let t = [1.0f32, 0.0, 1.0, 0.0];
    let mut g = [7.0f32; 4];
    assert_eq!(
        hypersimplex_loss(&x, &t, 2.0, tau, Some(&mut g[..])),
        Err(Error::ScaleOverflow)
    );
    assert_eq!(g, [7.0; 4]);
    assert!(hypersimplex_loss(&x, &t, 2.0, tau, None).is_ok());
    let labels = [0u32, 1];
    let mut scratch = [0.0f32; 8];
    let r = hypersimplex_loss_multiclass(
        &x,
        &labels,
        2,
        ClassK::LabelCounts,
        tau,
        Reduction::Sum,
        Some(&mut g[..]),
        &mut scratch,
    );
    assert_eq!(r, Err(Error::ScaleOverflow));
    assert_eq!(g, [7.0; 4]);
    // simd agrees (checked in simd's tests); a normal τ works
    assert!(hypersimplex_loss(&x, &t, 2.0, 1e-30, Some(&mut g[..])).is_ok());
}

/// `internal::validate::vjp_limit(s)`, the bound under which the vector kernels skip the
/// checking pass: with every `|g_i| ≤ L`, `|g_i − mean|·s ≤ 2L·s ≤ MAX/2`, so no entry can
/// overflow; and `L` is not needlessly small: `MAX/(4·max(s, 1))` up to rounding. (Only the
/// `simd` crate calls it; mutation testing of this crate alone found it untested here.)
#[test]
fn vjp_limit_is_the_documented_bound() {
    use hypersimplex::internal::validate::vjp_limit;
    fn check(l: f64, s: f64, max: f64) {
        // (L/MAX)·max(s, 1) = 1/4 to rounding; with s ≤ 1 the product 2L·s ≤ MAX/2 follows
        let r = (l / max) * s.max(1.0);
        assert!(
            (r - 0.25).abs() <= 0.25 * 1e-6,
            "s {s:e}: L {l:e} gives {r}"
        );
    }
    for s in [1e-30f32, 0.5, 1.0, 1.5, 2.0, 3.0e5, 1e10, 1e38, f32::MAX] {
        check(vjp_limit(s) as f64, s as f64, f32::MAX as f64);
    }
    for s in [1e-300f64, 0.25, 1.0, 7.0, 1e100, 1e300] {
        check(vjp_limit(s), s, f64::MAX);
    }
}
