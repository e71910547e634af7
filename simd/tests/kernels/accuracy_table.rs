//! The accuracy table of issue 13 (item 1), printed: for `|x/τ|` = 1, 1e2, 1e4, 1e6, `f32` and
//! `f64`, every kernel path of this machine and the main entry points (one vector, the
//! working set, rows, the binary loss's gradient), the worst `max_i |y_i − y*_i|/ε` and
//! `|Σy − k|/ε` against the exact projection (`core/tests/exact`), over the cases of
//! `exact::cases`. Run with `--nocapture` to see it; it fails if an entry breaks the bound.

use crate::exact;

use crate::common::*;
use hypersimplex_simd::{Element, RowK, WORKING_SET_FROM};

fn table<T: Element>(name: &str) {
    let eps = T::EPSILON.to_f64();
    let mut bad = None;
    println!("| type | path | entry point | n | |x/τ| | max|y−y*|/ε | max|Σy−k|/ε | bound |Σy−k|/ε = 4(n+1) |");
    for kern in all_kernels() {
        for (what, n, m) in [
            ("vector", 3000usize, 3000usize),
            (
                "working set",
                WORKING_SET_FROM + 1000,
                WORKING_SET_FROM + 1000,
            ),
            ("rows 3×700", 2100, 700),
            // the short-row solver (issue 14)
            ("rows 210×10", 2100, 10),
            ("rows 21×100", 2100, 100),
            // its 2^23 unit (129 ≤ n ≤ 256)
            ("rows 10×210", 2100, 210),
        ] {
            for &mag in &[1.0, 1e2, 1e4, 1e6] {
                let (mut e, mut s) = (0.0f64, 0.0f64);
                let cases = exact::cases(n, mag, 77);
                // (`quick()`: every third of the cases taken here)
                let step = (if n > 10_000 { 9 } else { 1 }) * (if quick() { 3 } else { 1 });
                for case in cases.into_iter().step_by(step) {
                    let x: Vec<T> = case.x.iter().map(|&v| T::from_f64(v)).collect();
                    let tau = T::from_f64(case.tau);
                    let xr: Vec<f64> = x.iter().map(|v| v.to_f64()).collect();
                    if what.starts_with("rows") {
                        let rows = n / m;
                        let k = (case.k / rows as f64).min(m as f64);
                        let mut y = vec![T::ZERO; n];
                        kern.soft_binary_argmax_rows(&x, rows, m, RowK::All(k), tau, &mut y)
                            .expect("rows");
                        for (xr1, yr) in xr.chunks(m).zip(y.chunks(m)) {
                            let yf: Vec<f64> = yr.iter().map(|v| v.to_f64()).collect();
                            let r = exact::project(xr1, case.tau, k);
                            let (a, b) = exact::errors(&yf, &r, k, eps);
                            e = e.max(a);
                            s = s.max(b);
                        }
                    } else {
                        let mut y = vec![T::ZERO; n];
                        kern.soft_binary_argmax(&x, case.k, tau, &mut y)
                            .expect("forward");
                        let yf: Vec<f64> = y.iter().map(|v| v.to_f64()).collect();
                        let r = exact::project(&xr, case.tau, case.k);
                        let (a, b) = exact::errors(&yf, &r, case.k, eps);
                        e = e.max(a);
                        s = s.max(b);
                    }
                }
                println!(
                    "| {name} | {} | {what} | {n} | {mag:.0e} | {e:.2} | {s:.2} | {} |",
                    kern.path().name(),
                    4 * (m + 1)
                );
                if !(e <= 4.0 && s <= 4.0 * (m as f64 + 1.0)) {
                    let p = kern.path().name();
                    bad.get_or_insert(format!("{name} {p} {what} |x/τ|≈{mag:e}"));
                }
            }
        }
    }
    if let Some(b) = bad {
        panic!("over the bound: {b}");
    }
}

#[test]
fn accuracy_table_every_path() {
    table::<f32>("f32");
    table::<f64>("f64");
}
