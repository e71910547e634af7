//! The VJP with huge cotangents on every path (issue 13, item 2): the single-vector, in-place,
//! rows and columns forms give exactly the core crate's result (bitwise, including the exact
//! zeros outside the free set) or its error (`ScaleOverflow`, `NonFiniteInput`) with the
//! output untouched.

use crate::common::*;
use hypersimplex_simd::{Element, Error};

fn core_vjp<T: Element>(y: &[T], g: &[T], tau: T) -> Result<Vec<T>, Error> {
    let mut out = vec![T::from_f64(7.0); y.len()];
    hypersimplex::soft_binary_argmax_vjp(y, g, tau, &mut out).map(|_| out)
}

/// Returns (rows that succeeded, rows that failed).
fn check<T: Element>(rng: &mut Rng, n: usize, rows: usize) -> (usize, usize) {
    let tau = T::from_f64(10f64.powf(rng.unit() * 4.0 - 2.0));
    let big = T::MAX.to_f64();
    let total = n * rows;
    let y: Vec<T> = (0..total)
        .map(|_| match rng.below(3) {
            0 => T::ZERO,
            1 => T::ONE,
            _ => T::from_f64(0.01 + 0.98 * rng.unit()),
        })
        .collect();
    let g: Vec<T> = (0..total)
        .map(|_| {
            let v = match rng.below(4) {
                0 => big,
                1 => big * rng.unit(),
                2 => rng.normal(),
                _ => big * 1e-3 * rng.normal(),
            };
            T::from_f64(if rng.unit() < 0.5 { -v } else { v })
        })
        .collect();
    let seven = T::from_f64(7.0);
    // rows: each row against core
    let want: Vec<Result<Vec<T>, Error>> = y
        .chunks(n)
        .zip(g.chunks(n))
        .map(|(yr, gr)| core_vjp(yr, gr, tau))
        .collect();
    let first_err = want.iter().find_map(|r| r.as_ref().err().copied());
    for k in all_kernels() {
        let name = k.path().name();
        for (r, w) in want.iter().enumerate() {
            let (yr, gr) = (&y[r * n..][..n], &g[r * n..][..n]);
            let mut out = vec![seven; n];
            let got = k
                .soft_binary_argmax_vjp(yr, gr, tau, &mut out)
                .map(|_| out.clone());
            match (w, &got) {
                (Ok(a), Ok(b)) => assert_eq!(bits(a), bits(b), "{name} n={n} row {r}"),
                (Err(a), Err(b)) => {
                    assert_eq!(a, b, "{name} row {r}");
                    assert!(out.iter().all(|&v| v == seven), "{name}: output written");
                }
                _ => panic!("{name} n={n} row {r}: core {w:?} vs {got:?}"),
            }
            let mut gi = gr.to_vec();
            let got_in = k.soft_binary_argmax_vjp_in_place(yr, &mut gi, tau);
            match w {
                Ok(a) => assert_eq!(bits(a), bits(&gi), "{name} in place row {r}"),
                Err(e) => {
                    assert_eq!(got_in, Err(*e));
                    assert_eq!(bits(&gi), bits(gr), "{name} in place: g changed");
                }
            }
        }
        let mut out = vec![seven; total];
        let got = k.soft_binary_argmax_vjp_rows(&y, &g, rows, n, tau, &mut out);
        match first_err {
            None => {
                assert_eq!(got, Ok(()), "{name} rows");
                let flat: Vec<T> = want.iter().flat_map(|r| r.clone().unwrap()).collect();
                assert_eq!(bits(&flat), bits(&out), "{name} rows");
            }
            Some(_) => {
                assert!(got.is_err(), "{name} rows: {got:?}");
                assert!(
                    out.iter().all(|&v| v == seven),
                    "{name} rows: output written"
                );
            }
        }
        // columns: the transpose, each column against core
        let yt: Vec<T> = (0..total).map(|i| y[(i % rows) * n + i / rows]).collect();
        let gt: Vec<T> = (0..total).map(|i| g[(i % rows) * n + i / rows]).collect();
        let mut out = vec![seven; total];
        let got = k.soft_binary_argmax_vjp_columns(&yt, &gt, n, rows, tau, &mut out);
        match first_err {
            None => {
                assert_eq!(got, Ok(()), "{name} columns");
                for (r, w) in want.iter().enumerate() {
                    let col: Vec<T> = (0..n).map(|i| out[i * rows + r]).collect();
                    assert_eq!(bits(w.as_ref().unwrap()), bits(&col), "{name} column {r}");
                }
            }
            Some(_) => {
                assert!(got.is_err(), "{name} columns: {got:?}");
                assert!(
                    out.iter().all(|&v| v == seven),
                    "{name} columns: output written"
                );
            }
        }
    }
    let failed = want.iter().filter(|r| r.is_err()).count();
    (want.len() - failed, failed)
}

#[test]
fn huge_cotangents_on_every_path_match_core() {
    let mut rng = Rng(0x5eed_0f0e_4f10);
    let (mut ok, mut failed) = (0, 0);
    for &n in &[1usize, 3, 9, 17, 40, 100] {
        for _ in 0..20 {
            let rows = 1 + rng.below(4);
            for (a, b) in [
                check::<f32>(&mut rng, n, rows),
                check::<f64>(&mut rng, n, rows),
            ] {
                ok += a;
                failed += b;
            }
        }
    }
    assert!(ok > 100 && failed > 100, "ok {ok}, failed {failed}");
}

/// The losses' gradients with `2/τ` beyond `MAX`: `ScaleOverflow` on every path, as core.
#[test]
fn loss_gradient_with_overflowing_scale_is_an_error_on_every_path() {
    use hypersimplex::{ClassK, Reduction};
    let tau = 4e-39f32;
    let x: Vec<f32> = (0..64).map(|i| (i as f32 - 30.0) * 1e-40).collect();
    let t: Vec<f32> = (0..64).map(|i| (i % 3 == 0) as u8 as f32).collect();
    let labels: Vec<u32> = (0..32).map(|i| i % 2).collect();
    for k in all_kernels() {
        let mut g = vec![7.0f32; 64];
        let r = k.hypersimplex_loss(&x, &t, hypersimplex::target_k(&t), tau, Some(&mut g[..]));
        assert_eq!(r, Err(Error::ScaleOverflow), "{}", k.path().name());
        let r = k.hypersimplex_loss_multiclass(
            &x,
            &labels,
            2,
            ClassK::LabelCounts,
            tau,
            Reduction::Mean,
            Some(&mut g[..]),
        );
        assert_eq!(r, Err(Error::ScaleOverflow), "{}", k.path().name());
        assert!(g.iter().all(|&v| v == 7.0));
    }
}

/// The rows' fast check (`|y| ≤ MAX` and `|g|` within the bound where no entry can overflow,
/// on every value, before the short rows' VJP runs in lanes) when *every* value fails it, which
/// random rows never give: every `|g|` beyond the bound (entries that overflow: the core's
/// `ScaleOverflow`; or no free entry: zeros) and every `y` infinite (`NonFiniteInput`). The
/// rows function must give the core's result of each row, or its error with the output
/// untouched, on every path.
#[test]
fn rows_whose_every_value_fails_the_fast_check_match_core() {
    fn rows_vs_core(y: &[f32], g: &[f32], n: usize, tau: f32, want_err: Option<Error>) {
        let rows = y.len() / n;
        let want: Result<Vec<f32>, Error> = y
            .chunks(n)
            .zip(g.chunks(n))
            .map(|(yr, gr)| core_vjp(yr, gr, tau))
            .collect::<Result<Vec<Vec<f32>>, Error>>()
            .map(|r| r.concat());
        assert_eq!(want.as_ref().err().copied(), want_err, "n={n}: the core");
        for k in all_kernels() {
            let name = k.path().name();
            let mut out = vec![7.0f32; y.len()];
            let got = k.soft_binary_argmax_vjp_rows(y, g, rows, n, tau, &mut out);
            match &want {
                Ok(w) => {
                    assert_eq!(got, Ok(()), "{name} n={n} rows={rows}");
                    assert_eq!(bits(w), bits(&out), "{name} n={n} rows={rows}");
                }
                Err(e) => {
                    assert_eq!(got, Err(*e), "{name} n={n} rows={rows}");
                    assert!(out.iter().all(|&v| v == 7.0), "{name}: output written");
                }
            }
        }
    }
    let tau = 0.5f32;
    let big = 0.9 * f32::MAX;
    for n in [2usize, 5, 10, 16, 64, 96] {
        for rows in [2usize, 3, 9, 17, 40] {
            let total = n * rows;
            let free = vec![0.5f32; total];
            let alternating: Vec<f32> = (0..total)
                .map(|i| if i % 2 == 0 { big } else { -big })
                .collect();
            // free entries whose (g − mean)/τ overflows
            rows_vs_core(&free, &alternating, n, tau, Some(Error::ScaleOverflow));
            // no free entry: every output 0, whatever g
            let bounds: Vec<f32> = (0..total).map(|i| (i % 3 == 0) as u8 as f32).collect();
            rows_vs_core(&bounds, &alternating, n, tau, None);
            // every y infinite, g ordinary
            let inf: Vec<f32> = (0..total)
                .map(|i| {
                    if i % 2 == 0 {
                        f32::INFINITY
                    } else {
                        f32::NEG_INFINITY
                    }
                })
                .collect();
            let g: Vec<f32> = (0..total).map(|i| (i % 7) as f32 - 3.0).collect();
            rows_vs_core(&inf, &g, n, tau, Some(Error::NonFiniteInput));
        }
    }
}
