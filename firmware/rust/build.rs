//! Passes the linker script and generates the expected values (`../gen/gen.py`) into OUT_DIR.
use std::{env, path::PathBuf, process::Command};

fn main() {
    let dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap());
    println!(
        "cargo:rustc-link-arg-bins=-T{}",
        dir.join("link.ld").display()
    );
    println!("cargo:rustc-link-arg-bins=--gc-sections");
    println!("cargo:rerun-if-changed=link.ld");
    let gen = dir.join("../gen/gen.py");
    println!("cargo:rerun-if-changed={}", gen.display());
    let python = env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let status = Command::new(&python)
        .arg(&gen)
        .arg("--quiet")
        .arg("--rust")
        .arg(out.join("expected.rs"))
        .status()
        .unwrap_or_else(|e| panic!("running {python} {}: {e}", gen.display()));
    assert!(status.success(), "gen.py failed: {status}");
}
