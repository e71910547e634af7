//! The sharded functions (`hs_*_sharded_*`: forward, VJP, multiclass loss; f32 and f64) over 2
//! to 4 simulated ranks (threads, with an int64 sum-allreduce built on a barrier) against the
//! same global call on one rank: every rank returns the same status, and the outputs put
//! together are the one-rank outputs bit for bit (each term of the sums goes onto the
//! fixed-point grid by itself: this target found per-rank f64 sums moving the last bits of the
//! VJP and of the forward), the loss the same bits on every rank of a call; outputs untouched
//! on error. An allreduce that fails (on every rank, at
//! the same call) gives `HS_ERR_COLLECTIVE` everywhere, with outputs untouched, and so does one
//! rank passing another k, τ or reduction than the others. A library that
//! made the ranks disagree on the number or the length of the allreduce calls would hang here
//! (libFuzzer's timeout) or abort (the length check).
#![no_main]

#[path = "common.rs"]
mod common;
use common::*;
use hs_ffi::sharded as sh;
use std::ffi::c_void;
use std::sync::{Barrier, Mutex};

/// The ranks of one simulated group.
struct Group {
    barrier: Barrier,
    acc: Mutex<Vec<i64>>,
    /// The allreduce call (counted per rank) that fails on every rank.
    fail_at: usize,
}

/// One rank's callback context.
struct Rank<'a> {
    group: &'a Group,
    calls: usize,
}

/// The group's sum-allreduce: every rank adds its values into the shared sums between
/// barriers, then copies the totals back.
unsafe extern "C" fn allreduce(values: *mut i64, len: usize, ctx: *mut c_void) -> i32 {
    // SAFETY: `ctx` is this rank's `Rank`, alive for the call; `values` holds `len` i64.
    let r = unsafe { &mut *ctx.cast::<Rank<'_>>() };
    let v = unsafe { std::slice::from_raw_parts_mut(values, len) };
    let call = r.calls;
    r.calls += 1;
    if call == r.group.fail_at {
        return 1;
    }
    let g = r.group;
    if g.barrier.wait().is_leader() {
        *g.acc.lock().unwrap() = vec![0; len];
    }
    g.barrier.wait();
    {
        let mut acc = g.acc.lock().unwrap();
        // a mismatch here aborts (no unwinding out of the callback): a finding
        assert_eq!(acc.len(), len, "ranks disagree on an allreduce's length");
        for (s, &x) in acc.iter_mut().zip(v.iter()) {
            *s = s.wrapping_add(x);
        }
    }
    g.barrier.wait();
    v.copy_from_slice(&g.acc.lock().unwrap());
    g.barrier.wait();
    0
}

/// Runs `f(rank, ctx)` on `ranks` threads that share one group; returns each rank's result
/// and its number of allreduce calls.
fn group<R: Send>(
    ranks: usize,
    fail_at: usize,
    f: impl Fn(usize, *mut c_void) -> R + Sync,
) -> Vec<(R, usize)> {
    let g = Group {
        barrier: Barrier::new(ranks),
        acc: Mutex::new(Vec::new()),
        fail_at,
    };
    std::thread::scope(|s| {
        let hs: Vec<_> = (0..ranks)
            .map(|i| {
                let (g, f) = (&g, &f);
                s.spawn(move || {
                    let mut r = Rank { group: g, calls: 0 };
                    let out = f(i, (&mut r as *mut Rank<'_>).cast());
                    (out, r.calls)
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// Cut points of `n` into `ranks` parts (some possibly empty).
fn cuts(b: &mut Bytes<'_>, n: usize, ranks: usize) -> Vec<usize> {
    let mut c: Vec<usize> = (1..ranks).map(|_| b.below(n + 1)).collect();
    c.push(0);
    c.push(n);
    c.sort_unstable();
    c
}

/// The element types' sharded functions.
trait Sharded: F + Send + Sync {
    unsafe fn sh_fwd(
        x: *const Self,
        n: usize,
        k: f64,
        tau: Self,
        ctx: *mut c_void,
        y: *mut Self,
    ) -> i32;
    unsafe fn sh_vjp(
        y: *const Self,
        g: *const Self,
        n: usize,
        tau: Self,
        ctx: *mut c_void,
        o: *mut Self,
    ) -> i32;
    #[allow(clippy::too_many_arguments)]
    unsafe fn sh_mc(
        x: *const Self,
        lab: *const u32,
        b: usize,
        c: usize,
        k: *const f64,
        tau: Self,
        red: i32,
        ctx: *mut c_void,
        l: *mut Self,
        g: *mut Self,
    ) -> i32;
}

macro_rules! sharded {
    ($t:ty, $fwd:ident, $vjp:ident, $mc:ident) => {
        impl Sharded for $t {
            unsafe fn sh_fwd(
                x: *const Self,
                n: usize,
                k: f64,
                tau: Self,
                ctx: *mut c_void,
                y: *mut Self,
            ) -> i32 {
                unsafe { sh::$fwd(x, n, k, tau, Some(allreduce), ctx, y) }
            }
            unsafe fn sh_vjp(
                y: *const Self,
                g: *const Self,
                n: usize,
                tau: Self,
                ctx: *mut c_void,
                o: *mut Self,
            ) -> i32 {
                unsafe { sh::$vjp(y, g, n, tau, Some(allreduce), ctx, o) }
            }
            unsafe fn sh_mc(
                x: *const Self,
                lab: *const u32,
                b: usize,
                c: usize,
                k: *const f64,
                tau: Self,
                red: i32,
                ctx: *mut c_void,
                l: *mut Self,
                g: *mut Self,
            ) -> i32 {
                unsafe { sh::$mc(x, lab, b, c, k, tau, red, Some(allreduce), ctx, l, g) }
            }
        }
    };
}
sharded!(
    f32,
    hs_soft_binary_argmax_sharded_f32,
    hs_soft_binary_argmax_vjp_sharded_f32,
    hs_hypersimplex_loss_multiclass_sharded_f32
);
sharded!(
    f64,
    hs_soft_binary_argmax_sharded_f64,
    hs_soft_binary_argmax_vjp_sharded_f64,
    hs_hypersimplex_loss_multiclass_sharded_f64
);

/// The ranks' results against the one-rank result `(status, output, calls)`: the same status
/// on every rank (`HS_ERR_COLLECTIVE` where the failing call comes before the one-rank run's
/// last), the outputs put together the one-rank output, or untouched.
fn compare<T: F>(
    what: &str,
    one: (i32, &[T], usize),
    many: &[(i32, Vec<T>)],
    fail_at: usize,
    tol: f64,
) {
    let (s1, y1, calls) = one;
    check_status(s1, what);
    let want = if fail_at < calls {
        HS_ERR_COLLECTIVE
    } else {
        s1
    };
    for (r, (s, y)) in many.iter().enumerate() {
        assert_eq!(*s, want, "{what}: rank {r} of {}: status", many.len());
        if *s != HS_OK {
            untouched(y, what);
        }
    }
    if want == HS_OK {
        let all: Vec<T> = many.iter().flat_map(|(_, y)| y.iter().copied()).collect();
        if tol == 0.0 {
            assert_eq!(
                bits(&all),
                bits(y1),
                "{what}: {} ranks against one",
                many.len()
            );
        }
        for (i, (a, b)) in all.iter().zip(y1).enumerate() {
            let (a, b) = (a.to(), b.to());
            assert!(
                (a - b).abs() <= tol,
                "{what}: [{i}] {a} against one rank's {b}"
            );
        }
    }
}

/// Every rank of a call where one rank passed other parameters: `HS_ERR_COLLECTIVE`, the
/// outputs untouched.
fn skewed<T: F>(what: &str, out: &[((i32, Vec<T>), usize)]) {
    for (r, ((s, o), _)) in out.iter().enumerate() {
        assert_eq!(*s, HS_ERR_COLLECTIVE, "{what}: rank {r}'s status");
        untouched(o, what);
    }
}

fn run<T: Sharded>(b: &mut Bytes<'_>) {
    let ranks = 2 + b.below(3);
    let fail_at = if b.u8() < 40 { b.below(12) } else { usize::MAX };
    let n = b.below(80);
    let tau = T::of(b.tau());
    let x: Vec<T> = vector(b, n);
    let k = b.k(n);
    let cut = cuts(b, n, ranks);

    // the forward
    let one = &group(1, usize::MAX, |_, ctx| {
        let mut y = vec![T::SENTINEL; n];
        // SAFETY (every call): buffers of the stated lengths, no aliasing.
        let s = unsafe { T::sh_fwd(x.as_ptr(), n, k, tau, ctx, y.as_mut_ptr()) };
        (s, y)
    })[0];
    let many: Vec<(i32, Vec<T>)> = group(ranks, fail_at, |r, ctx| {
        let xs = &x[cut[r]..cut[r + 1]];
        let mut y = vec![T::SENTINEL; xs.len()];
        let s = unsafe { T::sh_fwd(xs.as_ptr(), xs.len(), k, tau, ctx, y.as_mut_ptr()) };
        (s, y)
    })
    .into_iter()
    .map(|(o, _)| o)
    .collect();
    // the forward: each d_i on the grid by itself, bit for bit
    compare("forward", (one.0 .0, &one.0 .1, one.1), &many, fail_at, 0.0);
    // one rank with another k (its last bit flipped): the parameter check makes every rank
    // return HS_ERR_COLLECTIVE, outputs untouched
    if b.u8() < 40 {
        let odd = b.below(ranks);
        let k2 = f64::from_bits(k.to_bits() ^ 1);
        let out = group(ranks, usize::MAX, |r, ctx| {
            let xs = &x[cut[r]..cut[r + 1]];
            let mut y = vec![T::SENTINEL; xs.len()];
            let kr = if r == odd { k2 } else { k };
            let s = unsafe { T::sh_fwd(xs.as_ptr(), xs.len(), kr, tau, ctx, y.as_mut_ptr()) };
            (s, y)
        });
        skewed("forward, one rank with another k", &out);
    }

    // the VJP at the forward's output (or any y)
    let y = if one.0 .0 == HS_OK {
        one.0 .1.clone()
    } else {
        vector(b, n)
    };
    let g: Vec<T> = vector(b, n);
    let one = &group(1, usize::MAX, |_, ctx| {
        let mut o = vec![T::SENTINEL; n];
        let s = unsafe { T::sh_vjp(y.as_ptr(), g.as_ptr(), n, tau, ctx, o.as_mut_ptr()) };
        (s, o)
    })[0];
    let many: Vec<(i32, Vec<T>)> = group(ranks, fail_at, |r, ctx| {
        let (lo, hi) = (cut[r], cut[r + 1]);
        let mut o = vec![T::SENTINEL; hi - lo];
        let s = unsafe {
            T::sh_vjp(
                y[lo..hi].as_ptr(),
                g[lo..hi].as_ptr(),
                hi - lo,
                tau,
                ctx,
                o.as_mut_ptr(),
            )
        };
        (s, o)
    })
    .into_iter()
    .map(|(o, _)| o)
    .collect();
    if std::env::var_os("HS_FUZZ_DEBUG").is_some() {
        eprintln!("vjp: tau {tau:?} cut {cut:?} y {y:?} g {g:?}");
    }
    // the VJP: each g_i on the grid by itself, bit for bit
    compare("vjp", (one.0 .0, &one.0 .1, one.1), &many, fail_at, 0.0);
    // one rank with another τ
    let tau2 = T::of(if tau.to().is_finite() {
        tau.to() * 0.5 + 1.0
    } else {
        1.0
    });
    if b.u8() < 40 && tau2.bits() != tau.bits() {
        let odd = b.below(ranks);
        let out = group(ranks, usize::MAX, |r, ctx| {
            let (lo, hi) = (cut[r], cut[r + 1]);
            let mut o = vec![T::SENTINEL; hi - lo];
            let t = if r == odd { tau2 } else { tau };
            let (yp, gp) = (y[lo..hi].as_ptr(), g[lo..hi].as_ptr());
            let s = unsafe { T::sh_vjp(yp, gp, hi - lo, t, ctx, o.as_mut_ptr()) };
            (s, o)
        });
        skewed("vjp, one rank with another tau", &out);
    }

    // the multiclass loss, the batch's rows split over the ranks
    let batch = b.below(30);
    let classes = 1 + b.below(5);
    let red = if b.u8() < 128 {
        HS_REDUCTION_SUM
    } else {
        HS_REDUCTION_MEAN
    };
    let labels: Vec<u32> = (0..batch)
        .map(|_| match b.u8() {
            255 => classes as u32,
            v => u32::from(v) % classes as u32,
        })
        .collect();
    let ks: Vec<f64> = (0..classes).map(|_| b.k(batch)).collect();
    let use_k = b.u8() >= 128;
    let with_grad = b.u8() & 1 == 0;
    let xm: Vec<T> = vector(b, batch * classes);
    let cut = cuts(b, batch, ranks);
    let mc = |lo: usize, hi: usize, ctx: *mut c_void, red: i32| {
        let mut l = T::SENTINEL;
        let mut gr = vec![T::SENTINEL; (hi - lo) * classes];
        let gp = if with_grad {
            gr.as_mut_ptr()
        } else {
            std::ptr::null_mut()
        };
        let kp = if use_k { ks.as_ptr() } else { std::ptr::null() };
        let s = unsafe {
            T::sh_mc(
                xm[lo * classes..hi * classes].as_ptr(),
                labels[lo..hi].as_ptr(),
                hi - lo,
                classes,
                kp,
                tau,
                red,
                ctx,
                &mut l,
                gp,
            )
        };
        // the loss first, then the gradient: compared as one output
        let mut out = vec![l];
        out.extend(gr);
        (s, out)
    };
    let one = &group(1, usize::MAX, |_, ctx| mc(0, batch, ctx, red))[0];
    let many: Vec<(i32, Vec<T>)> = group(ranks, fail_at, |r, ctx| mc(cut[r], cut[r + 1], ctx, red))
        .into_iter()
        .map(|(o, _)| o)
        .collect();
    // one rank with the other reduction
    if b.u8() < 40 {
        let odd = b.below(ranks);
        let other = if red == HS_REDUCTION_SUM {
            HS_REDUCTION_MEAN
        } else {
            HS_REDUCTION_SUM
        };
        let out = group(ranks, usize::MAX, |r, ctx| {
            mc(cut[r], cut[r + 1], ctx, if r == odd { other } else { red })
        });
        skewed("multiclass, one rank with the other reduction", &out);
    }
    // every rank's loss is the global loss, the same bits on every rank of the call and as
    // one rank's; the gradient's rows put together are one rank's, bit for bit
    let (s1, out1, calls) = (one.0 .0, &one.0 .1, one.1);
    let want = if fail_at < calls {
        HS_ERR_COLLECTIVE
    } else {
        s1
    };
    for (r, (s, out)) in many.iter().enumerate() {
        assert_eq!(*s, want, "multiclass: rank {r} of {ranks}: status");
        if *s == HS_OK {
            assert_eq!(
                out[0].bits(),
                out1[0].bits(),
                "multiclass: rank {r}'s loss against one rank's"
            );
        } else {
            untouched(out, "multiclass");
        }
    }
    if want != HS_OK || !with_grad {
        return;
    }
    let grads: Vec<T> = many
        .iter()
        .flat_map(|(_, o)| o[1..].iter().copied())
        .collect();
    assert_eq!(
        bits(&grads),
        bits(&out1[1..]),
        "multiclass gradient: {ranks} ranks against one"
    );
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| by_type(data, run::<f32>, run::<f64>));
