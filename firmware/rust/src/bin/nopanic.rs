//! Link-time proof that no panic is reachable from the library's no_std public API.
//!
//! Every public function of `hypersimplex` (the f32 and the f64 instance, and the internals
//! other crates build on) is called from the reset handler with opaque arguments
//! (`black_box`: unknown lengths, values, k, τ, options), so the optimizer cannot remove a
//! panic path by knowing the input. The panic handler calls a symbol that is defined nowhere:
//! if any panic path survives optimization, `core::panicking::*` keeps a call to the handler
//! and the link fails with "undefined reference to `hypersimplex_core_panic_is_reachable`".
//! A successful link is the proof (for this target and profile; checked at opt-level "s"
//! and 3 by scripts/test-firmware.sh).
#![no_std]
#![no_main]

#[allow(dead_code, unused_macros)]
#[path = "../rt.rs"]
#[macro_use]
mod rt;

use core::hint::black_box as bb;
use hypersimplex::internal::kernel::{Passes, ScalarPasses, Source, Strided};
use hypersimplex::{ClassK, Error, Real, Reduction};

extern "C" {
    /// Defined nowhere: referenced only if a panic is reachable.
    fn hypersimplex_core_panic_is_reachable() -> !;
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    // SAFETY: never defined, so never called: a reference to it fails the link.
    unsafe { hypersimplex_core_panic_is_reachable() }
}

struct Sink(usize);
impl core::fmt::Write for Sink {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}

#[inline(never)]
fn all<T: Real>(a: &mut [T], b: &mut [T], c: &mut [T], d: &mut [T]) -> u32 {
    let a = bb(a);
    let b = bb(b);
    let c = bb(c);
    let d = bb(d);
    let k = bb(0.0f64);
    let tau = bb(T::ONE);
    let mut acc = 0u32;
    let mut note =
        |r: Result<(), Error>| acc = acc.wrapping_add(r.map_or_else(|e| e.code() as u32, |_| 0));

    note(
        hypersimplex::soft_binary_argmax(a, k, tau, b)
            .map(|p| bb(p))
            .map(drop),
    );
    note(hypersimplex::soft_binary_argmax_in_place(b, k, tau).map(drop));
    note(hypersimplex::binary_argmax(a, k, c));
    note(hypersimplex::internal::topk::prepare_rows(a, bb(2), &[bb(1), bb(2)]));
    note(hypersimplex::soft_binary_argmax_vjp(a, b, tau, c));
    note(hypersimplex::soft_binary_argmax_vjp_in_place(a, c, tau));
    note(hypersimplex::soft_binary_argmax_jvp(a, b, tau, c));
    note(hypersimplex::soft_binary_argmax_jacobian(a, tau, d));
    let grad = if bb(true) { Some(&mut *c) } else { None };
    note(
        hypersimplex::hypersimplex_loss(a, b, k, tau, grad).map(|v| {
            bb(v);
        }),
    );
    let labels: &[u32] = bb(&[0u32, 1, 2][..]);
    let ks: &[f64] = bb(&[1.0f64, 1.0, 1.0][..]);
    let class_k = match bb(0u8) {
        0 => ClassK::LabelCounts,
        1 => ClassK::Fixed(k),
        _ => ClassK::PerClass(ks),
    };
    let reduction = if bb(true) {
        Reduction::Sum
    } else {
        Reduction::Mean
    };
    let grad = if bb(true) { Some(&mut *c) } else { None };
    note(
        hypersimplex::hypersimplex_loss_multiclass(
            a,
            labels,
            bb(3),
            class_k,
            tau,
            reduction,
            grad,
            d,
        )
        .map(|v| {
            bb(v);
        }),
    );
    {
        let mut lam = [0.0f64; 3];
        let lam = bb(&mut lam[..]);
        let grad = if bb(true) { Some(&mut *c) } else { None };
        note(
            hypersimplex::hypersimplex_loss_multiclass_lambda(
                a,
                labels,
                bb(3),
                class_k,
                tau,
                reduction,
                grad,
                d,
                lam,
            )
            .map(|v| {
                bb(v);
            }),
        );
        let mut pred = [0u32; 3];
        note(hypersimplex::calibrated_argmax(
            a,
            bb(3),
            bb(&lam[..]),
            tau,
            bb(&mut pred[..]),
        ));
    }
    bb(hypersimplex::target_k(a));
    bb(hypersimplex::multiclass_scratch_len(bb(3), bb(4)));

    // the sharded functions, with an opaque allreduce
    {
        let mut ar = |v: &mut [i64]| {
            bb(&mut *v);
            bb(true)
        };
        note(hypersimplex::soft_binary_argmax_sharded(a, k, tau, &mut ar, b).map(|i| {
                bb(i);
            }));
        note(
            hypersimplex::soft_binary_argmax_vjp_sharded(a, b, tau, &mut ar, c)
                .map(|i| {
                bb(i);
            }),
        );
        let mut states = [hypersimplex::ColumnState::<T>::default(); 3];
        let mut buf = [0i64; hypersimplex::multiclass_buf_len(3)];
        let grad = if bb(true) { Some(&mut *c) } else { None };
        note(
            hypersimplex::hypersimplex_loss_multiclass_sharded(
                a,
                labels,
                bb(3),
                class_k,
                tau,
                reduction,
                grad,
                &mut ar,
                bb(&mut states[..]),
                bb(&mut buf[..]),
            )
            .map(|v| {
                bb(v);
            }),
        );
    }

    // internals other crates (ffi, simd) build on
    note(
        hypersimplex::internal::validate::k_tau(a.len(), k, tau).map(|s| {
            bb(s);
        }),
    );
    bb(hypersimplex::internal::validate::classify_nonfinite(a));
    bb(hypersimplex::internal::initial_guess(a, tau, k));
    let mut passes = ScalarPasses::new(&*a, tau);
    if let Ok(sol) = hypersimplex::internal::solve_lambda(&mut passes, a, k, tau) {
        hypersimplex::internal::write_solution(a, tau, &sol, b);
    }
    bb(passes.stats());
    bb(passes.piece(tau));
    bb(passes.piece_and_stats(tau));
    bb(passes.is_empty());
    let strided = Strided::new(&*a, bb(1), bb(3));
    let mut s = 0usize;
    strided.for_each(|_| s += 1);
    bb(strided.for_each_quad(|_| s += 1));
    bb(s);
    let mut sp = ScalarPasses::new(&strided, tau);
    let _ = bb(hypersimplex::internal::solve::solve(&mut sp, k, Some(tau)).map(|s| s.lambda));
    hypersimplex::internal::kernel::write_clip(a, tau, tau, b);
    hypersimplex::internal::kernel::write_clip_in_place(b, tau, tau);
    let res = hypersimplex::internal::residual(a.iter().copied().zip(b.iter().copied()), tau, tau);
    bb(res.mean::<T>());
    bb(hypersimplex::internal::grad_entry(tau, tau, tau, tau, tau, tau));
    bb(hypersimplex::internal::is_free(tau));

    // the error type: codes, messages, Display
    let e: Error = match bb(0u8) {
        0 => Error::LengthMismatch,
        1 => Error::InvalidK,
        2 => Error::NonIntegerK,
        3 => Error::InvalidTau,
        4 => Error::NonFiniteInput,
        5 => Error::ScaleOverflow,
        6 => Error::LabelOutOfRange,
        7 => Error::ScratchTooSmall,
        8 => Error::InvalidTarget,
        9 => Error::InvalidReduction,
        _ => Error::Collective,
    };
    bb(e.message());
    bb(e.code());
    let mut sink = Sink(0);
    bb(core::fmt::Write::write_fmt(&mut sink, format_args!("{}", e)).is_ok());
    bb(sink.0);
    drop(note);
    #[cfg(feature = "panic-control")]
    {
        let v: &[u32] = bb(&[1u32, 2, 3][..]);
        acc = acc.wrapping_add(v[bb(7usize)]);
    }
    acc
}

#[no_mangle]
extern "C" fn fw_main() -> ! {
    let mut a = [0.0f32; 16];
    let mut b = [0.0f32; 16];
    let mut c = [0.0f32; 16];
    let mut d = [0.0f32; 256];
    let r32 = all::<f32>(&mut a, &mut b, &mut c, &mut d);
    let mut a = [0.0f64; 16];
    let mut b = [0.0f64; 16];
    let mut c = [0.0f64; 16];
    let mut d = [0.0f64; 256];
    let r64 = all::<f64>(&mut a, &mut b, &mut c, &mut d);
    rt::print("nopanic: linked\n");
    rt::exit(bb(r32.wrapping_add(r64)) & 0)
}
