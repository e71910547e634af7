//! The library's own thread pool, for callers that do not manage rayon themselves (the C ABI,
//! Python): [`run`] executes a call on it.
//!
//! * Built lazily, with [`num_threads`] workers: set by [`set_num_threads`], or by default
//!   `RAYON_NUM_THREADS` when it is a positive integer, else the number of CPUs. One thread
//!   means no pool at all: the work runs on the caller's thread and no worker is started.
//! * If the pool cannot be built (the system refuses threads), the call runs on the caller's
//!   thread instead, nothing is printed, and building is retried at most once a second.
//! * After `fork()` the child has none of the parent's workers: a pool built in another process
//!   is abandoned (never touched again) and a new one is built, so a child never waits on
//!   threads that do not exist.
//!
//! The Rust API of this crate does not use it: its functions run on the *current* rayon pool
//! (the global one, or one the caller `install`s), which is what Rust callers expect.
//! Results are bitwise the same for every thread count either way.

use std::cell::Cell;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rayon::{ThreadPool, ThreadPoolBuilder};

/// How long after a failed build the next call tries again.
const RETRY_AFTER: Duration = Duration::from_secs(1);

struct State {
    /// 0: the default count; otherwise the count set by [`set_num_threads`].
    requested: usize,
    /// The pool, with the process that built it.
    pool: Option<(Arc<ThreadPool>, u32)>,
    /// When a build last failed.
    failed_at: Option<Instant>,
    /// Test hook: the next this-many builds fail as if the system refused threads.
    fail_builds: usize,
}

static STATE: Mutex<State> = Mutex::new(State {
    requested: 0,
    pool: None,
    failed_at: None,
    fail_builds: 0,
});

thread_local! {
    /// Set while [`run`] executes a call on the caller's thread: the passes then stay on this
    /// thread instead of asking rayon (whose global pool may be the one that failed).
    static SEQUENTIAL: Cell<bool> = const { Cell::new(false) };
}

fn state() -> MutexGuard<'static, State> {
    // A panic while holding the lock cannot leave `State` inconsistent (every update is a
    // single assignment), so a poisoned lock is used as it is.
    STATE.lock().unwrap_or_else(|e| e.into_inner())
}

/// `RAYON_NUM_THREADS` when it is a positive integer, else the number of CPUs (1 when that
/// cannot be determined). An invalid or zero `RAYON_NUM_THREADS` is ignored.
pub fn default_num_threads() -> usize {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Sets the number of threads [`run`] uses: 0 restores the default
/// ([`default_num_threads`]), 1 runs every call on the caller's thread. The current pool (if
/// any) is released once the calls running on it finish; the next call builds one of the new
/// size.
pub fn set_num_threads(n: usize) {
    let mut s = state();
    s.requested = n;
    abandon_or_drop(&mut s);
    s.failed_at = None;
}

/// The number of threads [`run`] uses (the calling thread counts as one when it is 1).
pub fn num_threads() -> usize {
    let requested = state().requested;
    if requested == 0 {
        default_num_threads()
    } else {
        requested
    }
}

/// Releases the pool: dropped if this process built it, else (after `fork`) forgotten, since
/// its workers and their locks belong to the parent.
fn abandon_or_drop(s: &mut State) {
    if let Some((pool, pid)) = s.pool.take() {
        if pid != std::process::id() {
            std::mem::forget(pool);
        }
    }
}

/// The pool for the current settings, building it if needed; `None` for one thread or when
/// the pool cannot be built now.
fn pool() -> Option<Arc<ThreadPool>> {
    let mut s = state();
    let pid = std::process::id();
    if matches!(&s.pool, Some((_, p)) if *p != pid) {
        abandon_or_drop(&mut s);
        s.failed_at = None;
    }
    if let Some((pool, _)) = &s.pool {
        return Some(pool.clone());
    }
    let n = if s.requested == 0 {
        default_num_threads()
    } else {
        s.requested
    };
    if n <= 1 || s.failed_at.is_some_and(|t| t.elapsed() < RETRY_AFTER) {
        return None;
    }
    let refuse = s.fail_builds > 0;
    s.fail_builds = s.fail_builds.saturating_sub(1);
    let builder = ThreadPoolBuilder::new()
        .num_threads(n)
        .spawn_handler(move |thread| {
            if refuse {
                return Err(std::io::Error::other("thread start refused (test hook)"));
            }
            let name = format!("hypersimplex-{}", thread.index());
            std::thread::Builder::new()
                .name(name)
                .spawn(|| thread.run())?;
            Ok(())
        });
    match builder.build() {
        Ok(pool) => {
            let pool = Arc::new(pool);
            s.pool = Some((pool.clone(), pid));
            s.failed_at = None;
            Some(pool)
        }
        Err(_) => {
            s.failed_at = Some(Instant::now());
            None
        }
    }
}

/// What a call computes, for [`run_for`]'s choice between the pool and the caller's thread.
///
/// Handing a call to the pool and back costs about 12 µs on the 2-core AMD guest (an empty
/// call), and more when the data sits in the calling core's cache: the pool's threads read it
/// from a shared level. A call therefore goes to the pool only from the size at which it was
/// measured faster there (`min_elements`), per kind: through the C ABI, one thread against two
/// on that guest (5 Dec 2026, medians; before, every call of at least 2^14 values went to the
/// pool):
///
/// | call | pool faster from | measured (1 thread ÷ 2) |
/// |---|---|---|
/// | batch projection (rows × n) | 2^15 values | 2048 × 10 1.07×, 4096 × 10 1.31×; 512 × 64 1.21×; 2 × 8192 0.37×, 4 × 8192 1.21× |
/// | batch VJP | 2^16 | 4096 × 10 1.14×, 8192 × 10 1.35×; 512 × 64 0.92×, 1024 × 64 1.21×; 4 × 8192 0.69×, 10 × 8192 1.26× |
/// | one vector (projection, VJP) | 2^20 | projection 2^19 0.66×, 2^20 1.19×, 10^7 1.74×; VJP 2^19 0.68×, 2^20 1.59× |
/// | top-k mask of one vector, calibrated prediction | never | they do not split: 0.94–1.01× at every size (top-k) |
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Work {
    /// A batch of lines, each solved for its λ or its top-k threshold: the rows and columns
    /// projections, the multiclass losses, the rows' top-k masks.
    Solve,
    /// A batch of lines with a pass or two each and no solve: the VJPs of rows and columns.
    Pass,
    /// One vector: projection, loss or VJP (its passes split from [`crate::passes::PAR_MIN`]
    /// values; below, the pool could only add its hand-over).
    Vector,
    /// Work that never splits: the hard top-k mask of one vector (a selection) and the
    /// calibrated prediction (the core's, one pass per row).
    Serial,
}

impl Work {
    /// The smallest call of this kind that runs on the pool (see [`Work`]).
    pub const fn min_elements(self) -> usize {
        match self {
            Work::Solve => 1 << 15,
            Work::Pass => 1 << 16,
            Work::Vector => crate::passes::PAR_MIN,
            Work::Serial => usize::MAX,
        }
    }
}

/// Runs `f` on the library's pool (see the module documentation), or on the caller's thread
/// when the pool has one thread or cannot be built; nested calls run where they are.
pub fn run<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    if SEQUENTIAL.with(Cell::get) || rayon::current_thread_index().is_some() {
        return f();
    }
    match pool() {
        Some(p) => p.install(f),
        None => here(f),
    }
}

/// [`run`] for a call of kind `work` on `elements` values: below `work`'s
/// [`min_elements`](Work::min_elements) on the caller's thread (as with one thread: the pool
/// is neither built nor woken), else [`run`]. Results are bitwise the same either way.
pub fn run_for<R: Send>(work: Work, elements: usize, f: impl FnOnce() -> R + Send) -> R {
    if elements < work.min_elements()
        && !SEQUENTIAL.with(Cell::get)
        && rayon::current_thread_index().is_none()
    {
        here(f)
    } else {
        run(f)
    }
}

/// Runs `f` on the caller's thread with the passes kept there ([`current_threads`] is 1).
fn here<R>(f: impl FnOnce() -> R) -> R {
    SEQUENTIAL.with(|c| c.set(true));
    // Reset even if `f` panics (the C ABI catches panics and the thread lives on).
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            SEQUENTIAL.with(|c| c.set(false));
        }
    }
    let _reset = Reset;
    f()
}

/// The number of threads the passes may use here: 1 inside a sequential [`run`], else the
/// current rayon pool's.
pub fn current_threads() -> usize {
    if SEQUENTIAL.with(Cell::get) {
        1
    } else {
        rayon::current_num_threads()
    }
}

/// Test hook: makes the next `n` pool builds fail as if the system refused to start threads,
/// and forgets the last failure so that the next call tries at once.
#[doc(hidden)]
pub fn fail_next_builds(n: usize) {
    let mut s = state();
    s.fail_builds = n;
    s.failed_at = None;
}
