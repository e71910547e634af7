//! The committed `include/hypersimplex.h` must equal a fresh cbindgen generation.
//!
//! Regenerate it with `HS_UPDATE_HEADER=1 cargo test -p hypersimplex-ffi --test header`.

use std::path::PathBuf;

#[test]
fn header_is_fresh() {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let config =
        cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let bindings = cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen failed");
    let mut fresh = Vec::new();
    bindings.write(&mut fresh);
    let fresh = String::from_utf8(fresh).expect("utf-8 header");
    let path = crate_dir.join("../include/hypersimplex.h");
    if std::env::var_os("HS_UPDATE_HEADER").is_some() {
        std::fs::write(&path, &fresh).expect("write header");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "include/hypersimplex.h is stale: regenerate it with \
         `HS_UPDATE_HEADER=1 cargo test -p hypersimplex-ffi --test header` and commit it"
    );
    // Every exported function is declared and documented.
    for f in [
        "hs_soft_binary_argmax_f32",
        "hs_soft_binary_argmax_f64",
        "hs_soft_binary_argmax_vjp_f32",
        "hs_binary_argmax_f32",
        "hs_soft_binary_argmax_rows_f32",
        "hs_soft_binary_argmax_vjp_rows_f32",
        "hs_hypersimplex_loss_f32",
        "hs_hypersimplex_loss_multiclass_f32",
        "hs_hypersimplex_loss_multiclass_scratch_f32",
        "hs_status_message",
        "hs_version",
        "hs_hypersimplex_loss_multiclass_lambda_f32",
        "hs_calibrated_argmax_f32",
        "hs_set_num_threads",
        "hs_get_num_threads",
        "hs_soft_binary_argmax_sharded_f32",
        "hs_soft_binary_argmax_sharded_f64",
        "hs_soft_binary_argmax_vjp_sharded_f32",
        "hs_soft_binary_argmax_vjp_sharded_f64",
        "hs_hypersimplex_loss_multiclass_sharded_f32",
        "hs_hypersimplex_loss_multiclass_sharded_f64",
        "hs_soft_binary_argmax_bf16",
        "hs_soft_binary_argmax_vjp_bf16",
        "hs_binary_argmax_bf16",
        "hs_soft_binary_argmax_rows_bf16",
        "hs_soft_binary_argmax_vjp_rows_bf16",
        "hs_hypersimplex_loss_multiclass_bf16",
        "hs_hypersimplex_loss_multiclass_lambda_bf16",
        "hs_hypersimplex_loss_bf16",
        "hs_soft_binary_argmax_f16",
        "hs_soft_binary_argmax_vjp_f16",
        "hs_binary_argmax_f16",
        "hs_soft_binary_argmax_rows_f16",
        "hs_soft_binary_argmax_vjp_rows_f16",
        "hs_hypersimplex_loss_multiclass_f16",
        "hs_hypersimplex_loss_multiclass_lambda_f16",
        "hs_hypersimplex_loss_f16",
    ] {
        let lines: Vec<&str> = fresh.lines().collect();
        let decl = lines
            .iter()
            .position(|l| {
                let t = l.trim_start();
                !t.starts_with("//") && !t.starts_with('*') && t.contains(&format!("{f}("))
            })
            .unwrap_or_else(|| panic!("{f} not declared"));
        assert!(
            decl > 0 && lines[decl - 1].trim_start().starts_with("//"),
            "{f} has no documentation"
        );
    }
}
