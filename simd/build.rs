//! Enables `cfg(hs_avx512)`, the AVX-512 short-row iteration (`Path::Avx512`), when the
//! compiler has the AVX-512 intrinsics of `core::arch::x86_64` (stable since Rust 1.89; the
//! workspace's minimum is 1.82, where the path is simply not built). No dependency: the
//! version comes from `$RUSTC --version`.
use std::process::Command;

fn main() {
    println!("cargo:rustc-check-cfg=cfg(hs_avx512)");
    println!("cargo:rerun-if-env-changed=RUSTC");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let minor = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|v| {
            // "rustc 1.95.0 (59807616e 2026-04-14)"
            let mut parts = v.split_whitespace().nth(1)?.split('.');
            let major: u32 = parts.next()?.parse().ok()?;
            let minor: u32 = parts.next()?.parse().ok()?;
            (major == 1).then_some(minor)
        });
    if minor.is_some_and(|m| m >= 89) {
        println!("cargo:rustc-cfg=hs_avx512");
    }
}
