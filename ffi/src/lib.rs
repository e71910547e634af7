//! # hypersimplex-ffi: the C ABI of hypersimplex
//!
//! Builds `libhypersimplex.a` and `libhypersimplex.so`; the C declarations are in
//! `include/hypersimplex.h`, generated from this crate by cbindgen (`ffi/cbindgen.toml`).
//!
//! The operator: `y = Π_Δ(n,k)(x/τ)`, the Euclidean projection of `x/τ` onto the hypersimplex
//! `Δ(n,k) = { y ∈ [0,1]^n : Σ y_i = k }`, i.e. `y_i = clip(x_i/τ − λ, 0, 1)` with `Σ y = k`;
//! its vector-Jacobian product `(Jᵀg)_i = (1/τ)(g_i − mean_{j∈A} g_j)` on `A = {0 < y_i < 1}`
//! (0 elsewhere); the hard top-k mask; and the HyperSimplex losses. See the core crate
//! `hypersimplex` for the mathematics and accuracy guarantees.
//!
//! ## Contract of every function (also in the header)
//! * Returns an `int32_t` status: `HS_OK` (0) or a negative `HS_ERR_*` code. Core errors are
//!   `-(hs_core::Error::code())` (−1 … −99), ABI errors are −100 and below.
//! * On any error, every output buffer is left exactly as it was.
//! * Pointer checks come first (NULL, alignment, size overflow, overlap), then the values.
//! * A data pointer may be NULL only when its length is 0. Optional outputs (`grad_x`,
//!   `grad_logits`) and the multiclass `k` may be NULL with the documented meaning; `loss`
//!   may never be NULL.
//! * Outputs must not overlap inputs or each other, except the exact aliases each function
//!   allows (same pointer, same length): `y == x` in the forward and top-k functions,
//!   `grad_x == g` in the VJPs. Any other overlap returns `HS_ERR_OVERLAP`.
//! * No global mutable state except the thread pool; every function is thread-safe and
//!   reentrant. The std build computes with the `hypersimplex-simd` kernels (AVX2 on x86-64
//!   when the CPU has it, NEON on aarch64, portable code otherwise, chosen at run time) and,
//!   for batches of at least 16384 elements or vectors of at least 2^20, splits the work over
//!   the library's own thread pool (`hs_set_num_threads`; default `RAYON_NUM_THREADS` or the
//!   CPU count); results are bitwise the same for every thread count. If threads cannot be
//!   started the call runs on the calling thread; after `fork()` the child builds its own pool.
//!   `HYPERSIMPLEX_FORCE_SCALAR=1` forces the portable kernels (for bug reports).
//! * std build: a panic (a bug) is caught and reported as `HS_ERR_PANIC`; it never unwinds
//!   into C. no_std build: the crate's panic handler halts (loops); the core never panics.
//!
//! ## no_std
//! With default features off, the crate is `#![no_std]` over the core crate alone: no
//! allocation, no threads. It exports every function except
//! `hs_hypersimplex_loss_multiclass_f32/_f64` (they allocate their scratch) and the sharded
//! functions `hs_*_sharded_*` (hosted only); use
//! `hs_hypersimplex_loss_multiclass_scratch_f32/_f64` with caller scratch there.
#![cfg_attr(all(not(feature = "std"), not(test)), no_std)]
#![forbid(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

#[cfg(test)]
mod abi_tests;
mod backend;
mod ptr;

// One module per operation family; the extern "C" functions are thin typed wrappers over one
// generic body each. The order of these modules is the order of the functions in the generated
// header (cbindgen, `sort_by = "None"`), so `status` (codes, messages, version) comes last.
// (Blank lines keep rustfmt from sorting them.) The modules are public (hidden) only so that the
// fuzz targets in `fuzz/`, which compile this crate as a Rust library, can name the functions;
// C callers see the same functions through the header.
#[doc(hidden)]
pub mod forward;

#[doc(hidden)]
pub mod backward;

#[doc(hidden)]
pub mod topk;

#[doc(hidden)]
pub mod loss;

#[doc(hidden)]
pub mod half;

#[doc(hidden)]
pub mod predict;

#[doc(hidden)]
pub mod threads;

#[cfg(feature = "std")]
#[doc(hidden)]
pub mod sharded;

pub mod status;

pub use status::*;

#[cfg(feature = "std")]
use hypersimplex_simd::pool::Work;

/// What a call computes (the std build's `pool::Work`, which picks the thread it runs on);
/// unused without threads.
#[cfg(not(feature = "std"))]
#[derive(Clone, Copy)]
#[allow(dead_code)]
enum Work {
    Solve,
    Pass,
    Vector,
    Serial,
}

/// Runs an ABI function body on the library's pool (`hypersimplex_simd::pool`): `Ok` →
/// `HS_OK`, `Err(s)` → `s`; a panic → `HS_ERR_PANIC`.
///
/// `work`: what the call computes; `elements`: the values it works on (`n`, `rows·n`,
/// `batch·classes`, saturating). Below the size at which that kind of call gains from the pool
/// (`pool::Work::min_elements`) the body runs on the calling thread (`pool::run_for`): the
/// hand-over to the pool would cost more than it saves (~12 µs, and the data leaves the
/// calling core's cache).
#[cfg(feature = "std")]
#[inline]
fn run<F: FnOnce() -> Result<(), i32>>(work: Work, elements: usize, f: F) -> i32 {
    /// The body with its raw pointers, moved to the pool's thread for the duration of the call.
    struct Body<F>(F);
    // SAFETY: the body only reads and writes the caller's buffers through the pointers it
    // captured, and the calling thread is blocked in `pool::run` until the body has finished,
    // exactly as if the body ran on that thread; the C contract already requires the buffers
    // to stay valid and unshared with concurrent writers for the duration of the call.
    unsafe impl<F> Send for Body<F> {}
    impl<F: FnOnce() -> Result<(), i32>> Body<F> {
        fn call(self) -> i32 {
            // AssertUnwindSafe: after a panic nothing of the closure's state is used again; the
            // caller only gets the status (outputs are unspecified after HS_ERR_PANIC).
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(self.0)) {
                Ok(Ok(())) => HS_OK,
                Ok(Err(s)) => s,
                Err(_) => HS_ERR_PANIC,
            }
        }
    }
    let body = Body(f);
    // A panic escaping `pool::run` itself (not the body) must not unwind into C either.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        hypersimplex_simd::pool::run_for(work, elements, move || body.call())
    }))
    .unwrap_or(HS_ERR_PANIC)
}

/// Runs an ABI function body: `Ok` → `HS_OK`, `Err(s)` → `s` (no_std: panics never return).
// `#[inline]` here and on the generic bodies: each instance has one caller, and the family
// modules are separate codegen units, so without it every extern function would call out to
// its body (about 300 bytes more flash on the Cortex-M4F, where the budget is 8 KiB).
#[cfg(not(feature = "std"))]
#[inline]
fn run<F: FnOnce() -> Result<(), i32>>(work: Work, elements: usize, f: F) -> i32 {
    let _ = (work, elements);
    match f() {
        Ok(()) => HS_OK,
        Err(s) => s,
    }
}

/// The no_std build's panic handler. The core crate never panics; should a panic happen
/// anyway, the program halts here (there is no unwinding through C).
#[cfg(all(not(feature = "std"), not(test)))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {
        core::hint::spin_loop();
    }
}

/// Hosted no_std builds link against a `core` compiled with unwinding, which refers to this
/// symbol; nothing ever unwinds (the panic handler above never returns).
#[cfg(all(not(feature = "std"), not(target_os = "none"), not(test)))]
#[no_mangle]
pub extern "C" fn rust_eh_personality() {}

/// Maps a core error to its status.
fn core_err(e: hs_core::Error) -> i32 {
    status::from_error(e)
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;

    #[test]
    fn panic_becomes_status() {
        // on the calling thread (a small call) and on the pool
        for elements in [0, usize::MAX] {
            assert_eq!(run(Work::Solve, elements, || Ok(())), HS_OK);
            assert_eq!(
                run(Work::Solve, elements, || Err(HS_ERR_INVALID_K)),
                HS_ERR_INVALID_K
            );
            let prev = std::panic::take_hook();
            std::panic::set_hook(std::boxed::Box::new(|_| {}));
            let s = run(Work::Solve, elements, || panic!("boom"));
            std::panic::set_hook(prev);
            assert_eq!(s, HS_ERR_PANIC);
        }
    }
}
