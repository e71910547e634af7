//! The library's own pool (`hypersimplex_simd::pool`): thread counts, one thread meaning the
//! caller's thread, recovery from a failed start, and results independent of all of it.
//! One test function: the pool is process-wide state.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use hypersimplex_simd::pool;

fn forward_bits(x: &[f32]) -> (Vec<u32>, Option<usize>, usize) {
    pool::run(|| {
        let mut y = vec![0.0f32; x.len()];
        hypersimplex_simd::soft_binary_argmax(x, x.len() as f64 * 0.3 + 0.5, 1.5, &mut y).unwrap();
        let bits = y.iter().map(|v| v.to_bits()).collect();
        (
            bits,
            rayon::current_thread_index(),
            rayon::current_num_threads(),
        )
    })
}

#[test]
fn thread_counts_failures_and_results() {
    // Long enough for the parallel passes (above `passes::PAR_MIN`).
    let n = (1 << 21) + 77;
    let x: Vec<f32> = (0..n)
        .map(|i| ((i as u64 * 2_654_435_761) % 10_007) as f32 * 1e-3 - 5.0)
        .collect();

    pool::set_num_threads(0);
    assert_eq!(pool::num_threads(), pool::default_num_threads());
    assert!(pool::default_num_threads() >= 1);

    // One thread: the caller's, with no pool at all.
    pool::set_num_threads(1);
    assert_eq!(pool::num_threads(), 1);
    let (one, idx, _) = forward_bits(&x);
    assert_eq!(idx, None, "one thread must run on the caller's thread");

    // Three threads: a pool of three, whatever the machine has.
    pool::set_num_threads(3);
    assert_eq!(pool::num_threads(), 3);
    let (three, idx, threads) = forward_bits(&x);
    assert!(idx.is_some(), "the call must run on the library's pool");
    assert_eq!(threads, 3);
    assert_eq!(one, three, "results must not depend on the thread count");

    // A refused start: the call still succeeds, on the caller's thread, silently...
    pool::set_num_threads(2);
    pool::fail_next_builds(1);
    let (refused, idx, _) = forward_bits(&x);
    assert_eq!(idx, None);
    assert_eq!(refused, one);
    // ...and is not permanent: the next attempt builds the pool.
    pool::fail_next_builds(0);
    let (again, idx, threads) = forward_bits(&x);
    assert!(idx.is_some());
    assert_eq!(threads, 2);
    assert_eq!(again, one);

    // Nested calls run where they are.
    let inner = pool::run(|| pool::run(rayon::current_num_threads));
    assert_eq!(inner, 2);

    // `run_for`: a call below its kind's minimum stays on the caller's thread (and keeps its
    // passes there), a larger one goes to the pool; the same bits either way.
    let solve_min = pool::Work::Solve.min_elements();
    let small = &x[..solve_min - 1];
    let on = |w: pool::Work, m: usize, v: &[f32]| {
        pool::run_for(w, m, || {
            let mut y = vec![0.0f32; v.len()];
            hypersimplex_simd::soft_binary_argmax(v, 100.5, 1.5, &mut y).unwrap();
            let bits: Vec<u32> = y.iter().map(|v| v.to_bits()).collect();
            (bits, rayon::current_thread_index(), pool::current_threads())
        })
    };
    let (here, idx, threads) = on(pool::Work::Solve, small.len(), small);
    assert_eq!(idx, None, "a small call must run on the caller's thread");
    assert_eq!(threads, 1, "and its passes there");
    let (pooled, idx, threads) = on(pool::Work::Solve, solve_min, small);
    assert!(
        idx.is_some(),
        "a call of Work::Solve.min_elements() values must run on the pool"
    );
    assert_eq!(threads, 2);
    assert_eq!(here, pooled);
    // each kind's threshold: a VJP batch from 2^16, one vector from passes::PAR_MIN, and work
    // that never splits never
    for (w, min) in [
        (pool::Work::Pass, 1usize << 16),
        (pool::Work::Vector, hypersimplex_simd::passes::PAR_MIN),
    ] {
        assert_eq!(w.min_elements(), min);
        assert_eq!(on(w, min - 1, small).1, None, "{w:?} below its minimum");
        assert!(on(w, min, small).1.is_some(), "{w:?} at its minimum");
    }
    assert_eq!(on(pool::Work::Serial, usize::MAX - 1, small).1, None);
    // nested in a pooled call, a small call runs where it is
    let nested = pool::run(|| pool::run_for(pool::Work::Serial, 1, rayon::current_thread_index));
    assert!(nested.is_some());
    // and a call nested in one kept on the caller's thread stays there
    let kept = pool::run_for(pool::Work::Serial, 1, || {
        pool::run(|| (rayon::current_thread_index(), pool::current_threads()))
    });
    assert_eq!(
        kept,
        (None, 1),
        "a call inside a sequential one must stay on its thread"
    );

    // The pool is built once and reused: successive calls run on the same two workers.
    pool::set_num_threads(2);
    let workers: HashSet<_> = (0..32)
        .map(|_| pool::run(|| std::thread::current().id()))
        .collect();
    assert!(
        (1..=2).contains(&workers.len()),
        "{} distinct workers for a pool of 2",
        workers.len()
    );

    // After a refused start the next calls within a second do not try again (they run on the
    // caller's thread although starting would now succeed); a second later the pool is built.
    pool::set_num_threads(2);
    pool::fail_next_builds(1);
    let t = Instant::now();
    assert_eq!(
        pool::run(rayon::current_thread_index),
        None,
        "a refused start"
    );
    let again = pool::run(rayon::current_thread_index);
    // (meaningful only within that second: a machine that stalled longer skips the check)
    if t.elapsed() < Duration::from_millis(900) {
        assert_eq!(again, None, "retried at once");
    }
    std::thread::sleep(Duration::from_millis(1100));
    let (later, idx, threads) = forward_bits(&x);
    assert!(idx.is_some(), "not retried a second later");
    assert_eq!((threads, &later), (2, &one));

    // Setting the count releases the workers of the pool it replaces (they exit once their
    // pool is dropped, which takes a moment), and one thread starts none.
    #[cfg(target_os = "linux")]
    {
        let workers = || {
            std::fs::read_dir("/proc/self/task")
                .map(|d| {
                    d.filter_map(Result::ok)
                        .filter(|e| {
                            std::fs::read_to_string(e.path().join("comm"))
                                .is_ok_and(|c| c.starts_with("hypersimplex-"))
                        })
                        .count()
                })
                .unwrap_or(0)
        };
        let settle = |want: usize| {
            let t = Instant::now();
            while workers() != want && t.elapsed() < Duration::from_secs(20) {
                std::thread::sleep(Duration::from_millis(10));
            }
            workers()
        };
        pool::set_num_threads(3);
        let _ = forward_bits(&x);
        assert_eq!(settle(3), 3, "a pool of three workers");
        pool::set_num_threads(1);
        let _ = forward_bits(&x);
        assert_eq!(settle(0), 0, "the workers of a released pool must exit");
    }

    // `RAYON_NUM_THREADS`, when a positive integer, sets the default count (this binary's only
    // test, so nothing else reads the environment meanwhile).
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    for (value, want) in [(" 3 ", 3), ("1", 1), ("0", cpus), ("-2", cpus), ("x", cpus)] {
        std::env::set_var("RAYON_NUM_THREADS", value);
        assert_eq!(
            pool::default_num_threads(),
            want,
            "RAYON_NUM_THREADS={value:?}"
        );
    }
    std::env::remove_var("RAYON_NUM_THREADS");
    assert_eq!(pool::default_num_threads(), cpus);
    pool::set_num_threads(0);
}
