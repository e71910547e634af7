//! The kernels in use are the ones the machine should run: with `HYPERSIMPLEX_EXPECT_PATH`
//! set (`avx512`, `avx2`, `neon` or `scalar`), the active path must be that one, and every path the
//! machine supports must be listed. The test scripts set it from `/proc/cpuinfo` (and to
//! `scalar` with `HYPERSIMPLEX_FORCE_SCALAR=1`), so a dispatch that silently falls back to the
//! scalar code fails the test command. Without the variable the test only checks consistency.

use hypersimplex_simd::{active_path, detected_path, scalar_forced, Path};

#[test]
fn active_path_is_the_expected_one() {
    let active = active_path();
    assert!(active.is_supported());
    assert!(Path::supported().contains(&detected_path()));
    assert_eq!(
        active == Path::Scalar,
        scalar_forced() || detected_path() == Path::Scalar
    );
    if cfg!(target_arch = "aarch64") {
        assert!(
            Path::Neon.is_supported(),
            "NEON is part of the aarch64 baseline"
        );
    }
    match std::env::var("HYPERSIMPLEX_EXPECT_PATH") {
        Ok(want) if !want.is_empty() => {
            assert_eq!(
                active.name(),
                want.trim(),
                "active path {active}, expected {want}"
            );
            eprintln!("active path: {active} (as expected)");
        }
        _ => eprintln!("active path: {active} (HYPERSIMPLEX_EXPECT_PATH not set)"),
    }
}
