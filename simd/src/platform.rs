//! Run-time detection of the instruction set and the choice of kernel path: [`Path`],
//! [`active_path`], and the [`Kernels`] token that proves a path runs on this CPU (the dispatch
//! itself is in `element.rs`).
//!
//! One portable build carries every path its target can have: on x86-64 the AVX2 kernels
//! (compiled with `#[target_feature(enable = "avx2")]`, executed only when
//! `is_x86_feature_detected!("avx2")` says the CPU has it; no kernel uses FMA; where the CPU
//! also has AVX-512 F, VL and DQ, [`Path::Avx512`] runs them with the short-row solver's passes
//! on 16 lanes), on aarch64 the NEON kernels (NEON is part
//! of the aarch64 baseline), and everywhere the portable scalar code of `hypersimplex`.
//!
//! [`active_path`] reports the path the free functions of this crate use. The scalar path can be
//! forced for testing and for bug reports: set the environment variable
//! `HYPERSIMPLEX_FORCE_SCALAR=1` (read once, at the first call), or call [`set_force_scalar`].

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;

/// A kernel implementation. Non-exhaustive: paths for more instruction sets may be added
/// (`Avx512` was, in 0.2), so a `match` needs a wildcard arm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Path {
    /// The portable scalar code of the `hypersimplex` crate.
    Scalar,
    /// 256-bit AVX2 kernels (x86-64): 8 `f32` or 4 `f64` lanes.
    Avx2,
    /// The AVX2 kernels, with the short-row solver's passes on 16 lanes of AVX-512 (x86-64 with
    /// AVX-512 F, VL and DQ): the same results, bit for bit. Not the detected path on AMD Zen 4
    /// (see [`detected_path`]).
    Avx512,
    /// 128-bit NEON kernels (aarch64): 4 `f32` or 2 `f64` lanes.
    Neon,
}

impl Path {
    /// Every path, best first.
    pub const ALL: [Path; 4] = [Path::Avx512, Path::Avx2, Path::Neon, Path::Scalar];

    /// A short lowercase name: `"scalar"`, `"avx2"`, `"avx512"` or `"neon"`.
    pub const fn name(self) -> &'static str {
        match self {
            Path::Scalar => "scalar",
            Path::Avx2 => "avx2",
            Path::Avx512 => "avx512",
            Path::Neon => "neon",
        }
    }

    /// `true` when this build contains the path and the CPU it runs on can execute it.
    pub fn is_supported(self) -> bool {
        match self {
            Path::Scalar => true,
            Path::Avx2 => avx2_supported(),
            Path::Avx512 => avx512_supported(),
            Path::Neon => neon_supported(),
        }
    }

    /// The paths this machine supports, best first (always ends with [`Path::Scalar`]).
    pub fn supported() -> Vec<Path> {
        Path::ALL.into_iter().filter(|p| p.is_supported()).collect()
    }
}

impl core::fmt::Display for Path {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(target_arch = "x86_64")]
fn avx2_supported() -> bool {
    std::arch::is_x86_feature_detected!("avx2")
}
#[cfg(not(target_arch = "x86_64"))]
fn avx2_supported() -> bool {
    false
}

/// (Built where the compiler has the AVX-512 intrinsics, Rust 1.89 on: `simd/build.rs`.)
#[cfg(all(target_arch = "x86_64", hs_avx512))]
fn avx512_supported() -> bool {
    avx2_supported()
        && std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512vl")
        && std::arch::is_x86_feature_detected!("avx512dq")
}
#[cfg(not(all(target_arch = "x86_64", hs_avx512)))]
fn avx512_supported() -> bool {
    false
}

#[cfg(target_arch = "aarch64")]
fn neon_supported() -> bool {
    std::arch::is_aarch64_feature_detected!("neon")
}
#[cfg(not(target_arch = "aarch64"))]
fn neon_supported() -> bool {
    false
}

/// The best path this CPU supports, ignoring any forcing: the first of [`Path::ALL`] it
/// supports, except that [`Path::Avx512`] gives way to [`Path::Avx2`] on a CPU that executes
/// 512-bit operations in two halves on 256-bit units (AMD family 19h, Zen 4: there the
/// AVX-512 path's two-block iteration took 1.06–1.20× the time of the AVX2 path's for rows
/// of 10 to 96, see the README's "Short rows"). Both give the same results, bit for bit, and
/// [`Kernels::new`] still makes either.
pub fn detected_path() -> Path {
    static DETECTED: OnceLock<Path> = OnceLock::new();
    *DETECTED.get_or_init(|| {
        Path::ALL
            .into_iter()
            .find(|&p| p.is_supported() && !(p == Path::Avx512 && avx512_split()))
            .unwrap_or(Path::Scalar)
    })
}

/// Whether the CPU runs 512-bit operations as two 256-bit halves: AMD family 19h (Zen 4; Zen
/// 3, the same family, has no AVX-512). CPUID leaf 0 names the vendor, leaf 1 the family.
#[cfg(target_arch = "x86_64")]
fn avx512_split() -> bool {
    use std::arch::x86_64::__cpuid;
    // SAFETY: CPUID leaves 0 and 1 exist on every x86-64 CPU (in newer Rust `__cpuid` is a
    // safe function, hence the allow).
    #[allow(unused_unsafe)]
    let (v, f) = unsafe { (__cpuid(0), __cpuid(1)) };
    splits_512(&[v.ebx, v.edx, v.ecx], f.eax)
}
#[cfg(not(target_arch = "x86_64"))]
fn avx512_split() -> bool {
    false
}

/// [`avx512_split`] from the vendor string (CPUID leaf 0: EBX, EDX, ECX) and the signature
/// (leaf 1: EAX): "AuthenticAMD" and family 19h (the base family, plus the extended family
/// where the base is 0xF).
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
fn splits_512(vendor: &[u32; 3], signature: u32) -> bool {
    let amd = *vendor == [0x6874_7541, 0x6974_6e65, 0x444d_4163]; // "Auth" "enti" "cAMD"
    let base = (signature >> 8) & 0xF;
    let family = if base == 0xF {
        base + ((signature >> 20) & 0xFF)
    } else {
        base
    };
    amd && family == 0x19
}

#[cfg(test)]
mod tests {
    use super::splits_512;

    const AMD: [u32; 3] = [0x6874_7541, 0x6974_6e65, 0x444d_4163];
    const INTEL: [u32; 3] = [0x756e_6547, 0x4965_6e69, 0x6c65_746e]; // "Genu" "ineI" "ntel"

    /// Real CPUID signatures: Zen 4 (EPYC 9004 0x00A10F11, Ryzen 7000 0x00A60F12) splits its
    /// 512-bit operations (so does Zen 3, 0x00A00F11, by its family: harmless, it has no
    /// AVX-512 to choose); Zen 5 (0x00B00F21), Zen 1 (0x00800F12), Intel Sapphire Rapids
    /// (0x000806F8) and Ice Lake (0x000606A6) do not, nor another vendor with Zen 4's
    /// signature.
    #[test]
    fn zen4_is_the_cpu_that_splits_512_bit_operations() {
        assert!(splits_512(&AMD, 0x00A1_0F11));
        assert!(splits_512(&AMD, 0x00A6_0F12));
        assert!(splits_512(&AMD, 0x00A0_0F11));
        assert!(!splits_512(&AMD, 0x00B0_0F21));
        assert!(!splits_512(&AMD, 0x0080_0F12));
        assert!(!splits_512(&INTEL, 0x0008_06F8));
        assert!(!splits_512(&INTEL, 0x0006_06A6));
        assert!(!splits_512(&INTEL, 0x00A1_0F11));
    }
}

/// 0: follow the environment variable; 1: scalar forced; 2: not forced.
static FORCE: AtomicU8 = AtomicU8::new(0);

fn env_forces_scalar() -> bool {
    static ENV: OnceLock<bool> = OnceLock::new();
    *ENV.get_or_init(|| {
        std::env::var("HYPERSIMPLEX_FORCE_SCALAR")
            .map(|v| {
                let v = v.trim();
                !(v.is_empty() || v == "0" || v.eq_ignore_ascii_case("false"))
            })
            .unwrap_or(false)
    })
}

/// Forces ( `true`) or stops forcing (`false`) the scalar path for the free functions of this
/// crate, overriding `HYPERSIMPLEX_FORCE_SCALAR`. Affects every thread.
pub fn set_force_scalar(on: bool) {
    FORCE.store(if on { 1 } else { 2 }, Ordering::Relaxed);
}

/// `true` when the scalar path is forced (by [`set_force_scalar`] or the environment).
pub fn scalar_forced() -> bool {
    match FORCE.load(Ordering::Relaxed) {
        1 => true,
        2 => false,
        _ => env_forces_scalar(),
    }
}

/// The path the free functions of this crate use now: [`Path::Scalar`] when forced, else
/// [`detected_path`].
pub fn active_path() -> Path {
    if scalar_forced() {
        Path::Scalar
    } else {
        detected_path()
    }
}

/// A kernel path that has been checked to run on this CPU. The only way to make one is
/// [`Kernels::new`] (or [`Kernels::active`]), which is what makes the dispatch in `element.rs` sound.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Kernels {
    path: Path,
}

impl Kernels {
    /// The kernels for `path`, or `None` when this CPU (or build) cannot run it.
    pub fn new(path: Path) -> Option<Kernels> {
        path.is_supported().then_some(Kernels { path })
    }
    /// The kernels of [`active_path`].
    pub fn active() -> Kernels {
        // `active_path` only returns supported paths.
        Kernels {
            path: active_path(),
        }
    }
    /// The portable scalar kernels (always available).
    pub const fn scalar() -> Kernels {
        Kernels { path: Path::Scalar }
    }
    /// Which path these kernels run.
    pub const fn path(self) -> Path {
        self.path
    }
}
