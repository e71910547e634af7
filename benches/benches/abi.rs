//! Criterion benchmarks of the C ABI rows functions (issue 14's measurement): the shared
//! library's `hs_soft_binary_argmax_rows_f32` and `hs_soft_binary_argmax_vjp_rows_f32`
//! (f32, τ = 1.5, k = n/2 for every row through the `k` array, Gaussian logits), with memcpy
//! of the same bytes and the sort-based projection of `hypersimplex_benches` measured in the
//! same run.
//!
//! Groups `abi-forward/RxN` (ids `c-1t`, `c-2t`: the library's pool at one and two threads,
//! `hs_set_num_threads`; `memcpy`: copy of the `rows·n` floats input → output; `sort`: the
//! sort-based yardstick, row by row) and `abi-backward/RxN` (`c-1t`, `c-2t`, `memcpy`), for the
//! shapes 1×10 and 256×10 (the cost of a call), 65536×10, 16384×32, 16384×64, 4096×256 (short
//! rows), 65536×10k1 and 16384×64k1 (short rows with k = 1), 4096×256k4 (k = 4) and 10×8192,
//! 1024×1024, 1×10^7 (the general solver).
//!
//! The library is loaded at run time (`dlopen`), so the same benchmark binary can time two
//! builds of it: `HS_BENCH_LIB=/path/to/libhypersimplex.so` (default: `libhypersimplex.so`
//! next to the `deps` folder of this binary, i.e. `target/release/`). Build it first:
//!
//! ```text
//! cargo build --release -p hypersimplex-ffi
//! cargo bench -p hypersimplex-benches --bench abi
//! python3 simd/bench-table.py
//! ```
//!
//! `HS_BENCH_THREADS=1,2,4,16` times other thread counts (ids `c-Nt`; default `1,2`).
//!
//! Without the library (or on a system without `dlopen`) the benchmarks are skipped with a
//! message.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use hypersimplex_benches::gaussian_f32;
use std::ffi::{c_char, c_int, c_void, CString};

mod common;
use common::{configure, yardsticks};

const TAU: f32 = 1.5;
/// `(rows, n, k)`: `k = 0` stands for n/2; the `k1` shapes (k = 1 in every row, ids
/// `RxNk1`) time the top-1 selection of multi-label use, where the short-row solver starts
/// from a bound on the root, and `4096x256k4` a small k among many labels (the accelerated
/// step of `small::accelerated`).
const SHAPES: [(usize, usize, usize); 12] = [
    (1, 10, 0),
    (256, 10, 0),
    (65536, 10, 0),
    (65536, 10, 1),
    (16384, 32, 0),
    (16384, 64, 0),
    (16384, 64, 1),
    (4096, 256, 0),
    (4096, 256, 4),
    (10, 8192, 0),
    (1024, 1024, 0),
    (1, 10_000_000, 0),
];

type Fwd = unsafe extern "C" fn(*const f32, usize, usize, *const f64, f32, *mut f32) -> i32;
type Vjp = unsafe extern "C" fn(*const f32, *const f32, usize, usize, f32, *mut f32) -> i32;
type Threads = extern "C" fn(usize) -> i32;

extern "C" {
    fn dlopen(filename: *const c_char, flag: c_int) -> *mut c_void;
    fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
}
const RTLD_NOW: c_int = 2;

struct Lib {
    fwd: Fwd,
    vjp: Vjp,
    threads: Threads,
}

fn load() -> Option<Lib> {
    let path = std::env::var("HS_BENCH_LIB").ok().or_else(|| {
        let exe = std::env::current_exe().ok()?;
        let dir = exe.parent()?.parent()?; // target/release/deps/abi-… → target/release
        Some(dir.join("libhypersimplex.so").to_str()?.to_owned())
    })?;
    let c = CString::new(path.clone()).ok()?;
    // SAFETY: `c` is a NUL-terminated path; dlopen has no other precondition.
    let h = unsafe { dlopen(c.as_ptr(), RTLD_NOW) };
    if h.is_null() {
        eprintln!(
            "abi bench: cannot load {path} (build it: cargo build --release -p hypersimplex-ffi)"
        );
        return None;
    }
    let sym = |name: &str| {
        let n = CString::new(name).ok()?;
        // SAFETY: `h` is a live handle from dlopen, `n` a NUL-terminated symbol name.
        let p = unsafe { dlsym(h, n.as_ptr()) };
        (!p.is_null()).then_some(p)
    };
    let (f, v, t) = (
        sym("hs_soft_binary_argmax_rows_f32")?,
        sym("hs_soft_binary_argmax_vjp_rows_f32")?,
        sym("hs_set_num_threads")?,
    );
    eprintln!("abi bench: {path}");
    // SAFETY: the symbols are the C functions of include/hypersimplex.h with these signatures.
    unsafe {
        Some(Lib {
            fwd: std::mem::transmute::<*mut c_void, Fwd>(f),
            vjp: std::mem::transmute::<*mut c_void, Vjp>(v),
            threads: std::mem::transmute::<*mut c_void, Threads>(t),
        })
    }
}

fn bench_abi(c: &mut Criterion) {
    let Some(lib) = load() else {
        return;
    };
    // thread counts to time: `HS_BENCH_THREADS=1,2,4,16` (default 1,2)
    let counts: Vec<usize> = std::env::var("HS_BENCH_THREADS")
        .ok()
        .map(|v| v.split(',').filter_map(|t| t.trim().parse().ok()).collect())
        .filter(|v: &Vec<usize>| !v.is_empty())
        .unwrap_or_else(|| vec![1, 2]);
    for (rows, n, k1) in SHAPES {
        let e = rows * n;
        let (shape, k) = if k1 == 0 {
            (format!("{rows}x{n}"), n as f64 / 2.0)
        } else {
            (format!("{rows}x{n}k{k1}"), k1 as f64)
        };
        let ks = vec![k; rows];
        let x = gaussian_f32(e, 42);
        let gin = gaussian_f32(e, 7);
        let mut y = vec![0.0f32; e];
        let mut gx = vec![0.0f32; e];
        let fwd = |x: &[f32], y: &mut [f32]| {
            // SAFETY: x, y hold rows·n floats, ks holds rows doubles; no overlap.
            let rc = unsafe { (lib.fwd)(x.as_ptr(), rows, n, ks.as_ptr(), TAU, y.as_mut_ptr()) };
            assert_eq!(rc, 0);
        };
        let vjp = |y: &[f32], g: &[f32], o: &mut [f32]| {
            // SAFETY: y, g, o hold rows·n floats; o overlaps neither.
            let rc = unsafe { (lib.vjp)(y.as_ptr(), g.as_ptr(), rows, n, TAU, o.as_mut_ptr()) };
            assert_eq!(rc, 0);
        };
        fwd(&x, &mut y);
        let y0 = y.clone();

        let mut g = c.benchmark_group(format!("abi-forward/{shape}"));
        configure(&mut g, e);
        g.throughput(Throughput::Elements(e as u64));
        for &t in &counts {
            (lib.threads)(t);
            g.bench_function(format!("c-{t}t"), |b| {
                b.iter(|| fwd(black_box(&x), black_box(&mut y)))
            });
        }
        (lib.threads)(1);
        yardsticks(&mut g, &x, &mut y, n, k, TAU);
        g.finish();

        let mut g = c.benchmark_group(format!("abi-backward/{shape}"));
        configure(&mut g, e);
        g.throughput(Throughput::Elements(e as u64));
        for &t in &counts {
            (lib.threads)(t);
            g.bench_function(format!("c-{t}t"), |b| {
                b.iter(|| vjp(black_box(&y0), black_box(&gin), black_box(&mut gx)))
            });
        }
        (lib.threads)(1);
        g.bench_function("memcpy", |b| {
            b.iter(|| black_box(&mut gx[..]).copy_from_slice(black_box(&gin)))
        });
        g.finish();
    }
}

criterion_group!(benches, bench_abi);
criterion_main!(benches);
