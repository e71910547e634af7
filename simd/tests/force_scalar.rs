//! Forcing the scalar path: `HYPERSIMPLEX_FORCE_SCALAR=1` (read once, at the first call) and
//! `set_force_scalar`. One test function, because the environment is read once per process.

use hypersimplex_simd::{
    active_path, detected_path, scalar_forced, set_force_scalar, Kernels, Path,
};

#[test]
fn force_scalar_by_environment_and_by_function() {
    // Set before the first call into the crate's path selection in this process.
    std::env::set_var("HYPERSIMPLEX_FORCE_SCALAR", "1");
    assert!(scalar_forced());
    assert_eq!(active_path(), Path::Scalar);
    assert_eq!(Kernels::active(), Kernels::scalar());

    // Forced scalar through the free functions is the core crate's computation exactly
    // (one block: the same ScalarPasses, the same solver, the same writes).
    let x: Vec<f32> = (0..3001)
        .map(|i| ((i * 7919) % 1000) as f32 * 0.013 - 6.0)
        .collect();
    let mut y = vec![0.0f32; x.len()];
    let mut yc = vec![0.0f32; x.len()];
    let p = hypersimplex_simd::soft_binary_argmax(&x, 100.5, 0.9, &mut y).unwrap();
    let pc = hypersimplex::soft_binary_argmax(&x, 100.5, 0.9, &mut yc).unwrap();
    assert_eq!(p, pc);
    assert_eq!(
        y.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        yc.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
    );

    // The function overrides the environment, both ways.
    set_force_scalar(false);
    assert!(!scalar_forced());
    assert_eq!(active_path(), detected_path());
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // `avx512` where supported, but `avx2` on AMD Zen 4 (`detected_path`; which one this
        // machine gets is pinned by `active_path.rs` with `HYPERSIMPLEX_EXPECT_PATH`)
        let active = active_path();
        if Path::Avx512.is_supported() {
            assert!(matches!(active, Path::Avx512 | Path::Avx2), "{active}");
        } else {
            assert_eq!(active, Path::Avx2);
        }
    }
    #[cfg(target_arch = "aarch64")]
    assert_eq!(active_path(), Path::Neon);
    set_force_scalar(true);
    assert_eq!(active_path(), Path::Scalar);
    eprintln!("detected path: {}", detected_path());
}
