//! Shared helpers for the benchmarks (the sort-based yardstick lives here).
