//! The thread count of the library's pool (`hs_set_num_threads`, `hs_get_num_threads`).
//!
//! The std build runs every call through `hypersimplex_simd::pool::run`: the library's own
//! pool, built lazily, rebuilt in a child after `fork()`, and replaced by the caller's thread
//! whenever the system refuses to start threads (retried later, nothing printed).

/// Sets the number of threads the library computes with.
///
/// * `n = 0`: the default: `RAYON_NUM_THREADS` when it holds a positive integer, else the
///   number of CPUs the process may use (an invalid, empty or zero `RAYON_NUM_THREADS` is
///   ignored, never an error);
/// * `n = 1`: every call runs on the calling thread and no worker thread is started;
/// * `n > 1`: a pool of `n` threads (the calling thread waits while they work). Smaller calls
///   run on the calling thread whatever the count, where handing them to the pool and back
///   (about 12 µs, and the data leaves the calling core's cache) was measured to cost more
///   than it saves: batch projections, losses and top-k masks of fewer than 32768 values
///   (`rows·n` or `batch·classes`), batch VJPs of fewer than 65536, single vectors
///   (projection, VJP, loss) of fewer than 2^20 elements (below, nothing splits them), and
///   a single vector's top-k mask and the calibrated prediction always (they do not split).
///
/// Takes effect for the next call; a pool already running finishes its calls first. Results
/// are bitwise the same for every thread count. If threads cannot be started, calls run on the
/// calling thread instead (and starting is retried a second later). After `fork()`, the child
/// gets a fresh pool on its first large call (the parent's workers do not exist there).
/// Thread-safe. Returns `HS_OK`. In the no_std build (no threads) it accepts any `n` and
/// changes nothing.
#[no_mangle]
pub extern "C" fn hs_set_num_threads(n: usize) -> i32 {
    #[cfg(feature = "std")]
    hypersimplex_simd::pool::set_num_threads(n);
    #[cfg(not(feature = "std"))]
    let _ = n;
    crate::HS_OK
}

/// The number of threads the library computes with (the calling thread counts as one; 1 means
/// no pool). The default is the value `hs_set_num_threads(0)` describes. Always 1 in the no_std
/// build.
#[no_mangle]
pub extern "C" fn hs_get_num_threads() -> usize {
    #[cfg(feature = "std")]
    return hypersimplex_simd::pool::num_threads();
    #[cfg(not(feature = "std"))]
    1
}
