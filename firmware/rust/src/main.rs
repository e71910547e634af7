//! Cortex-M4F firmware: runs the forward projection, the hard top-k mask, the backward pass
//! (VJP) and the binary loss with its gradient in `f32` (and one forward pass in `f64`) on fixed
//! inputs, and compares with values from an independent float64 sort-based reference
//! (`../gen/gen.py`, run by build.rs). Measures the stack depth of every call by stack painting
//! and enforces the 512-byte budget. Prints over semihosting; exit status 0 when every check
//! passes, 1 on a value mismatch, 2 when the values are right but a function went over the
//! stack budget (98 on a processor fault, 101 on a panic).
//!
//! Run: `RUSTC_BOOTSTRAP=1 /usr/bin/cargo run --release` in this directory
//! (`--features force-fail` compares one value against a deliberately wrong expectation).
#![no_std]
#![no_main]

#[macro_use]
mod rt;

mod expected {
    include!(concat!(env!("OUT_DIR"), "/expected.rs"));
}

use core::hint::black_box;
use expected::{SoftCase, SOFT, SOFT64, TOPK};
use hypersimplex::{Error, Projection};

/// Stack budget per public function, in bytes.
const STACK_BUDGET: usize = 512;
/// Largest case length.
const MAX_N: usize = 2500;

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    println!("PANIC: {}", info);
    rt::exit(101)
}

struct Report {
    passed: u32,
    failed: u32,
    over_budget: u32,
    /// (function, deepest stack use seen)
    stack: [(&'static str, usize); 8],
}

impl Report {
    fn check(&mut self, ok: bool, what: &str, case: &str) {
        if ok {
            self.passed += 1;
        } else {
            self.failed += 1;
            println!("MISMATCH: {} [{}]", what, case);
        }
    }
    fn stack(&mut self, func: &'static str, bytes: usize) {
        for slot in self.stack.iter_mut() {
            if slot.0 == func || slot.0.is_empty() {
                slot.0 = func;
                slot.1 = slot.1.max(bytes);
                return;
            }
        }
    }
}

/// Largest |a_i − b_i| (∞ if the lengths differ or a value is NaN).
fn max_err(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return f32::INFINITY;
    }
    let mut m = 0.0f32;
    for (&x, &y) in a.iter().zip(b) {
        let d = (x - y).abs();
        if !(d <= m) {
            m = if d.is_nan() { f32::INFINITY } else { d };
        }
    }
    m
}

type Fwd32 = fn(&[f32], f64, f32, &mut [f32]) -> Result<Projection, Error>;
type FwdIp32 = fn(&mut [f32], f64, f32) -> Result<Projection, Error>;
type Topk32 = fn(&[f32], f64, &mut [f32]) -> Result<(), Error>;
type Vjp32 = fn(&[f32], &[f32], f32, &mut [f32]) -> Result<(), Error>;
type VjpIp32 = fn(&[f32], &mut [f32], f32) -> Result<(), Error>;
type Loss32 = fn(&[f32], &[f32], f64, f32, Option<&mut [f32]>) -> Result<f32, Error>;
type Fwd64 = fn(&[f64], f64, f64, &mut [f64]) -> Result<Projection, Error>;

fn soft_case(r: &mut Report, c: &SoftCase, idx: usize, bufs: &mut [[f32; MAX_N]; 3]) {
    let n = c.x.len();
    let [yb, gb, tb] = bufs;
    let (y, gx, tmp) = (&mut yb[..n], &mut gb[..n], &mut tb[..n]);
    let name = c.name;

    // forward
    let fwd: Fwd32 = black_box(hypersimplex::soft_binary_argmax::<f32>);
    let (res, depth) = rt::stack_use(|| fwd(c.x, c.k, c.tau, y));
    r.stack("soft_binary_argmax<f32>", depth);
    let p = match res {
        Ok(p) => p,
        Err(e) => {
            r.check(false, e.message(), name);
            return;
        }
    };
    // The deliberately wrong expectation (feature force-fail): y_0 shifted by 0.25.
    let wrong = if cfg!(feature = "force-fail") && idx == 0 {
        0.25
    } else {
        0.0
    };
    let ey = max_err(y, c.y).max(max_err(&y[..1], &[c.y[0] + wrong]));
    r.check(ey <= c.tol_y, "forward y", name);
    let sum: f64 = y.iter().map(|&v| v as f64).sum();
    r.check((sum - c.k).abs() <= c.tol_sum, "forward sum y = k", name);
    r.check(
        p.free == c.free && p.upper == c.upper,
        "forward |F|, |U|",
        name,
    );
    r.check(
        (p.lambda - c.lambda).abs() <= c.tol_y as f64,
        "forward lambda",
        name,
    );
    println!(
        "  forward   {}: max|y-y*| = {:e} (tol {:e}), lambda = {}, |F| = {}, |U| = {}, passes = {}",
        name, ey, c.tol_y, p.lambda, p.free, p.upper, p.passes
    );

    // forward, in place: bit-identical to the out-of-place result
    tmp.copy_from_slice(c.x);
    let fip: FwdIp32 = black_box(hypersimplex::soft_binary_argmax_in_place::<f32>);
    let (res, depth) = rt::stack_use(|| fip(tmp, c.k, c.tau));
    r.stack("soft_binary_argmax_in_place<f32>", depth);
    r.check(
        res.is_ok()
            && tmp
                .iter()
                .zip(y.iter())
                .all(|(a, b)| a.to_bits() == b.to_bits()),
        "forward in place",
        name,
    );

    // backward (VJP) from the computed y
    let vjp: Vjp32 = black_box(hypersimplex::soft_binary_argmax_vjp::<f32>);
    let (res, depth) = rt::stack_use(|| vjp(y, c.g, c.tau, gx));
    r.stack("soft_binary_argmax_vjp<f32>", depth);
    let ev = max_err(gx, c.vjp);
    r.check(res.is_ok() && ev <= c.tol_vjp, "vjp", name);
    println!(
        "  vjp       {}: max err = {:e} (tol {:e})",
        name, ev, c.tol_vjp
    );
    tmp.copy_from_slice(c.g);
    let vip: VjpIp32 = black_box(hypersimplex::soft_binary_argmax_vjp_in_place::<f32>);
    let (res, depth) = rt::stack_use(|| vip(y, tmp, c.tau));
    r.stack("soft_binary_argmax_vjp_in_place<f32>", depth);
    r.check(
        res.is_ok()
            && tmp
                .iter()
                .zip(gx.iter())
                .all(|(a, b)| a.to_bits() == b.to_bits()),
        "vjp in place",
        name,
    );

    // binary loss with gradient, and without
    let loss: Loss32 = black_box(hypersimplex::hypersimplex_loss::<f32>);
    let (res, depth) = rt::stack_use(|| loss(c.x, c.t, c.loss_k, c.tau, Some(&mut *gx)));
    r.stack("hypersimplex_loss<f32>", depth);
    match res {
        Ok(l) => {
            let eg = max_err(gx, c.loss_grad);
            r.check((l - c.loss).abs() <= c.tol_loss, "loss", name);
            r.check(eg <= c.tol_loss_grad, "loss gradient", name);
            println!(
                "  loss      {}: L = {} (expected {}, tol {:e}), max grad err = {:e} (tol {:e})",
                name, l, c.loss, c.tol_loss, eg, c.tol_loss_grad
            );
            let (res2, _) = rt::stack_use(|| loss(c.x, c.t, c.loss_k, c.tau, None));
            r.check(res2 == Ok(l), "loss without gradient", name);
        }
        Err(e) => r.check(false, e.message(), name),
    }

    // hard top-k
    let topk: Topk32 = black_box(hypersimplex::binary_argmax::<f32>);
    let (res, depth) = rt::stack_use(|| topk(c.x, c.topk_k, y));
    r.stack("binary_argmax<f32>", depth);
    r.check(res.is_ok() && y[..] == *c.mask, "top-k mask", name);
}

#[no_mangle]
extern "C" fn fw_main() -> ! {
    println!("hypersimplex on Cortex-M4F (thumbv7em-none-eabihf, qemu mps2-an386)");
    let mut r = Report {
        passed: 0,
        failed: 0,
        over_budget: 0,
        stack: [("", 0); 8],
    };
    let mut bufs = [[0.0f32; MAX_N]; 3];
    for (i, c) in SOFT.iter().enumerate() {
        soft_case(&mut r, c, i, &mut bufs);
    }

    // hard top-k with ties at the k-th value (lower index wins)
    let topk: Topk32 = black_box(hypersimplex::binary_argmax::<f32>);
    for c in TOPK.iter() {
        let y = &mut bufs[0][..c.x.len()];
        let (res, depth) = rt::stack_use(|| topk(c.x, c.k, y));
        r.stack("binary_argmax<f32>", depth);
        r.check(
            res.is_ok() && y[..] == *c.mask,
            "top-k mask with ties",
            c.name,
        );
    }

    // one forward pass in f64 (software double precision on this FPU)
    {
        let c = &SOFT64;
        let mut y = [0.0f64; 64];
        let y = &mut y[..c.x.len()];
        let fwd: Fwd64 = black_box(hypersimplex::soft_binary_argmax::<f64>);
        let (res, depth) = rt::stack_use(|| fwd(c.x, c.k, c.tau, y));
        r.stack("soft_binary_argmax<f64>", depth);
        let e = y
            .iter()
            .zip(c.y)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f64, |m, d| if d > m || d.is_nan() { d } else { m });
        r.check(res.is_ok() && e <= c.tol, "forward f64", c.name);
        println!(
            "  forward   {}: max|y-y*| = {:e} (tol {:e})",
            c.name, e, c.tol
        );
    }

    // bad input: a specific error, output untouched
    {
        let x = [1.0f32, 2.0, f32::NAN, 0.5];
        let mut y = [7.0f32; 4];
        let fwd: Fwd32 = black_box(hypersimplex::soft_binary_argmax::<f32>);
        let e1 = fwd(&x[..], 2.0, 1.0, &mut y);
        let e2 = fwd(&[1.0, 2.0, 3.0, 4.0], 2.0, 0.0, &mut y);
        let e3 = fwd(&[1.0, 2.0, 3.0, 4.0], 5.0, 1.0, &mut y);
        let e4 = topk(&[1.0, 2.0, 3.0, 4.0], 1.5, &mut y);
        let e5 = fwd(&[1.0, 2.0, 3.0], 1.0, 1.0, &mut y);
        r.check(
            e1 == Err(Error::NonFiniteInput)
                && e2 == Err(Error::InvalidTau)
                && e3 == Err(Error::InvalidK)
                && e4 == Err(Error::NonIntegerK)
                && e5 == Err(Error::LengthMismatch)
                && y == [7.0; 4],
            "errors leave the output untouched",
            "bad input",
        );
    }

    println!("stack depth (stack painting, deepest over all cases; budget {STACK_BUDGET} bytes):");
    let stack = r.stack;
    for &(f, b) in stack.iter().filter(|s| !s.0.is_empty()) {
        println!("  stack {:>5} bytes  {}", b, f);
        // The budget is for the f32 API (the M4F's FPU is single precision; f64 runs on
        // software double routines and is reported for information only).
        if b > STACK_BUDGET && !f.contains("f64") {
            r.over_budget += 1;
            println!("OVER BUDGET: {f} uses {b} bytes of stack (budget {STACK_BUDGET})");
        }
    }
    println!(
        "{} passed, {} failed, {} over the stack budget",
        r.passed, r.failed, r.over_budget
    );
    rt::exit(if r.failed > 0 {
        1
    } else if r.over_budget > 0 {
        2
    } else {
        0
    })
}
