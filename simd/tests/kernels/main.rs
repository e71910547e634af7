//! The kernels' tests, one test binary: each module was its own binary before, and each binary
//! compiled the library's generic kernels again (fifteen release builds of the same code, the
//! largest part of the test command's build time). The tests that read process-wide state stay
//! their own binaries: `active_path.rs` and `force_scalar.rs` (the path chosen once per process)
//! and `pool.rs` (the global thread pool); `topk.rs` too (no kernels of the rows).
//!
//! Run one module with a filter: `cargo test --release -p hypersimplex-simd --test kernels
//! small_paths::`.

#[path = "../common/mod.rs"]
mod common;
#[path = "../../../core/tests/exact/mod.rs"]
mod exact;

mod accuracy_table;
mod batch;
mod calibrated;
mod extremes;
mod half_forward;
mod half_loss;
mod half_rows;
mod half_vjp;
mod masks;
mod paths;
mod scale;
mod small_paths;
mod small_rows;
mod vjp_overflow;
mod working_set;
