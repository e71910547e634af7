//! The SIMD crate's top-k mask (`binary_argmax`, `binary_argmax_in_place`: ranks up to 24
//! entries, a selection on a copy, a sampled bracket from `TOPK_SAMPLED_MIN` entries) against
//! an independent reference, a stable sort, and against the core's selection, on random and
//! adversarial inputs; and its errors.

use hypersimplex_simd::{binary_argmax, binary_argmax_in_place, Error, TOPK_SAMPLED_MIN};

/// The reference mask: indices stably sorted by value, descending (so equal values keep
/// their index order), the first k set.
fn reference(x: &[f64], k: usize) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..x.len()).collect();
    idx.sort_by(|&a, &b| x[b].partial_cmp(&x[a]).unwrap());
    let mut y = vec![0.0; x.len()];
    for &i in &idx[..k] {
        y[i] = 1.0;
    }
    y
}

fn lcg(seed: u64) -> impl FnMut() -> f64 {
    let mut s = seed;
    move || {
        s = s
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((s >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
}

/// Inputs of length `n` by name: random, heavy ties, signed zeros, sorted both ways,
/// periodic against the sample, ±∞ masks, huge and tiny magnitudes.
fn inputs(n: usize, seed: u64) -> Vec<(&'static str, Vec<f64>)> {
    let mut u = lcg(seed);
    let mut v = Vec::new();
    v.push((
        "gaussian",
        (0..n)
            .map(|_| (-2.0 * u().ln()).sqrt() * (std::f64::consts::TAU * u()).cos())
            .collect(),
    ));
    v.push((
        "eight values",
        (0..n).map(|_| (u() * 8.0).floor()).collect(),
    ));
    v.push(("all equal", vec![0.25; n]));
    v.push((
        "signed zeros",
        (0..n)
            .map(|_| match (u() * 3.0) as u32 {
                0 => 0.0,
                1 => -0.0,
                _ => u() - 0.5,
            })
            .collect(),
    ));
    v.push(("ascending", (0..n).map(|i| i as f64).collect()));
    v.push(("descending", (0..n).map(|i| -(i as f64)).collect()));
    // a value repeated at every position of a small stride (the sample's positions among them)
    v.push((
        "periodic",
        (0..n).map(|i| if i % 4 == 2 { 5.0 } else { u() }).collect(),
    ));
    v.push((
        "masks",
        (0..n)
            .map(|i| match i % 97 {
                0 => f64::INFINITY,
                1 => f64::NEG_INFINITY,
                _ => u() - 0.5,
            })
            .collect(),
    ));
    v.push((
        "magnitudes",
        (0..n)
            .map(|_| (u() - 0.5) * 10f64.powi((u() * 60.0) as i32 - 30))
            .collect(),
    ));
    v
}

fn ks(n: usize, x: &[f64]) -> Vec<usize> {
    // with ±∞ entries k must keep every +∞ and drop every −∞
    let plus = x.iter().filter(|v| **v == f64::INFINITY).count();
    let minus = x.iter().filter(|v| **v == f64::NEG_INFINITY).count();
    let mut k = vec![
        0,
        1,
        2,
        7,
        n / 3,
        n / 2,
        n.saturating_sub(2),
        n.saturating_sub(1),
        n,
    ];
    k.retain(|&k| k >= plus && k <= n - minus);
    k.dedup();
    k
}

#[test]
fn matches_the_sort_and_the_core() {
    for n in [
        1,
        2,
        3,
        10,
        16,
        17,
        100,
        2049,
        TOPK_SAMPLED_MIN - 1,
        TOPK_SAMPLED_MIN,
        70_001,
    ] {
        for (name, x) in inputs(n, n as u64) {
            let xf: Vec<f32> = x.iter().map(|&v| v as f32).collect();
            let xr: Vec<f64> = xf.iter().map(|&v| v as f64).collect();
            for k in ks(n, &x) {
                let want = reference(&xr, k);
                let mut y = vec![9.0f32; n];
                binary_argmax(&xf, k as f64, &mut y).unwrap();
                let got: Vec<f64> = y.iter().map(|&v| v as f64).collect();
                assert!(got == want, "f32 {name}, n = {n}, k = {k}");
                let mut core = vec![0.0f32; n];
                hypersimplex::binary_argmax(&xf, k as f64, &mut core).unwrap();
                assert_eq!(y, core, "f32 {name}, n = {n}, k = {k}: the core differs");
                let mut w = xf.clone();
                binary_argmax_in_place(&mut w, k as f64).unwrap();
                assert_eq!(w, y, "f32 in place {name}, n = {n}, k = {k}");

                let want = reference(&x, k);
                let mut y = vec![9.0f64; n];
                binary_argmax(&x, k as f64, &mut y).unwrap();
                assert!(y == want, "f64 {name}, n = {n}, k = {k}");
                let mut w = x.clone();
                binary_argmax_in_place(&mut w, k as f64).unwrap();
                assert_eq!(w, y, "f64 in place {name}, n = {n}, k = {k}");
            }
        }
    }
}

#[test]
fn errors_leave_the_output_untouched() {
    let n = 2 * TOPK_SAMPLED_MIN;
    let mut u = lcg(3);
    let x: Vec<f32> = (0..n).map(|_| u() as f32).collect();
    let cases: Vec<(Vec<f32>, f64, Error)> = vec![
        (x.clone(), f64::NAN, Error::InvalidK),
        (x.clone(), -1.0, Error::InvalidK),
        (x.clone(), n as f64 + 1.0, Error::InvalidK),
        (x.clone(), 2.5, Error::NonIntegerK),
        (
            {
                let mut v = x.clone();
                v[n - 1] = f32::NAN;
                v
            },
            3.0,
            Error::NonFiniteInput,
        ),
        (
            {
                let mut v = x.clone();
                v[7] = f32::INFINITY;
                v[9] = f32::INFINITY;
                v
            },
            1.0,
            Error::InvalidK,
        ),
        (
            {
                let mut v = x.clone();
                v[7] = f32::NEG_INFINITY;
                v
            },
            n as f64,
            Error::InvalidK,
        ),
    ];
    for (i, (v, k, e)) in cases.into_iter().enumerate() {
        let mut y = vec![7.0f32; n];
        assert_eq!(binary_argmax(&v, k, &mut y), Err(e), "case {i}");
        assert!(y.iter().all(|&o| o == 7.0), "case {i}: output written");
        let mut w = v.clone();
        assert_eq!(
            binary_argmax_in_place(&mut w, k),
            Err(e),
            "case {i} in place"
        );
        assert!(
            w.iter().zip(&v).all(|(a, b)| a.to_bits() == b.to_bits()),
            "case {i}: x written"
        );
    }
    let mut short = vec![7.0f32; n - 1];
    assert_eq!(
        binary_argmax(&x, 3.0, &mut short),
        Err(Error::LengthMismatch)
    );
    assert!(short.iter().all(|&o| o == 7.0));
}

/// The rows functions: each row as the single-vector call, on one thread and on a pool (the
/// batch splits from `BATCH_PAR_MIN` values), in place too.
#[test]
fn rows_match_single_rows_on_any_pool() {
    use hypersimplex_simd::{binary_argmax_rows, binary_argmax_rows_in_place, BATCH_PAR_MIN};
    let mut u = lcg(11);
    for (rows, n) in [(4000usize, 10usize), (9, 2 * TOPK_SAMPLED_MIN + 3), (2, 1)] {
        assert!(rows * n >= BATCH_PAR_MIN || rows < 10);
        let x: Vec<f32> = (0..rows * n)
            .map(|_| ((u() * 16.0).floor() - 8.0) as f32)
            .collect();
        let ks: Vec<usize> = (0..rows).map(|r| (r * 5 + 3) % (n + 1)).collect();
        let mut want = vec![0.0f32; rows * n];
        for ((xr, yr), &k) in x.chunks(n).zip(want.chunks_mut(n)).zip(&ks) {
            binary_argmax(xr, k as f64, yr).unwrap();
        }
        for threads in [1, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let mut y = vec![9.0f32; rows * n];
                binary_argmax_rows(&x, n, &ks, &mut y).unwrap();
                assert_eq!(y, want, "{rows} x {n}, {threads} threads");
                let mut w = x.clone();
                binary_argmax_rows_in_place(&mut w, n, &ks).unwrap();
                assert_eq!(w, want, "{rows} x {n}, {threads} threads, in place");
                // the first bad row (k > n in the last row) refuses the batch, nothing written
                let mut bad = ks.clone();
                *bad.last_mut().unwrap() = n + 1;
                let mut y = vec![9.0f32; rows * n];
                assert_eq!(
                    binary_argmax_rows(&x, n, &bad, &mut y),
                    Err(Error::InvalidK)
                );
                assert!(y.iter().all(|&v| v == 9.0));
                assert_eq!(
                    binary_argmax_rows(&x, n, &ks[1..], &mut y),
                    Err(Error::LengthMismatch)
                );
            });
        }
    }
    // rows of nothing: only k = 0
    let mut none: [f32; 0] = [];
    assert_eq!(binary_argmax_rows(&[], 0, &[0, 0], &mut none), Ok(()));
    assert_eq!(
        binary_argmax_rows(&[], 0, &[0, 1], &mut none),
        Err(Error::InvalidK)
    );
}
