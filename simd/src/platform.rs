//! Run-time detection of the instruction set, the choice of kernel path, and dispatch.
//!
//! One portable build carries every path its target can have: on x86-64 the AVX2+FMA kernels
//! (compiled with `#[target_feature(enable = "avx2,fma")]`, executed only when
//! `is_x86_feature_detected!` says the CPU has both), on aarch64 the NEON kernels (NEON is part
//! of the aarch64 baseline), and everywhere the portable scalar code of `hypersimplex`.
//!
//! [`active_path`] reports the path the free functions of this crate use. The scalar path can be
//! forced for testing and for bug reports: set the environment variable
//! `HYPERSIMPLEX_FORCE_SCALAR=1` (read once, at the first call), or call [`set_force_scalar`].

use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;

use hypersimplex::kernel::{Piece, ScalarPasses, Stats};
use hypersimplex::loss::Residual;
use hypersimplex::Real;

use crate::portable;

/// A kernel implementation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Path {
    /// The portable scalar code of the `hypersimplex` crate.
    Scalar,
    /// 256-bit AVX2 + FMA kernels (x86-64): 8 `f32` or 4 `f64` lanes.
    Avx2,
    /// 128-bit NEON kernels (aarch64): 4 `f32` or 2 `f64` lanes.
    Neon,
}

impl Path {
    /// Every path, best first.
    pub const ALL: [Path; 3] = [Path::Avx2, Path::Neon, Path::Scalar];

    /// A short lowercase name: `"scalar"`, `"avx2"` or `"neon"`.
    pub const fn name(self) -> &'static str {
        match self {
            Path::Scalar => "scalar",
            Path::Avx2 => "avx2",
            Path::Neon => "neon",
        }
    }

    /// `true` when this build contains the path and the CPU it runs on can execute it.
    pub fn is_supported(self) -> bool {
        match self {
            Path::Scalar => true,
            Path::Avx2 => avx2_supported(),
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
    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
}
#[cfg(not(target_arch = "x86_64"))]
fn avx2_supported() -> bool {
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

/// The best path this CPU supports, ignoring any forcing.
pub fn detected_path() -> Path {
    static DETECTED: OnceLock<Path> = OnceLock::new();
    *DETECTED.get_or_init(|| {
        Path::ALL
            .into_iter()
            .find(|p| p.is_supported())
            .unwrap_or(Path::Scalar)
    })
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
/// [`Kernels::new`] (or [`Kernels::active`]), which is what makes the dispatch below sound.
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

/// What the split pass ([`Element::split`]) learns about `z = x·s` relative to a bracket
/// `a < b` of λ: the elements whose class is the same for every `λ ∈ [a, b]`, summarized,
/// and how many others (*kept*) it wrote out. Because `fl(z − λ)` is monotone in λ, an element
/// is upper throughout when `fl(z − b) ≥ 1`, lower throughout when `fl(z − a) ≤ 0`, and free
/// throughout when `fl(z − b) > 0` and `fl(z − a) < 1`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Split<T> {
    /// min and max of `z`, and `finite` when neither is infinite. Not computed: `sum`
    /// (NaN; the working-set solver always has a start point) and NaN inputs, which are
    /// never classified (every comparison with NaN is false) and so are always kept: the
    /// caller checks the kept elements.
    pub stats: Stats<T>,
    /// Elements upper throughout the bracket.
    pub upper: usize,
    /// Elements free throughout the bracket.
    pub free: usize,
    /// `Σ fl(z_i − b)` over the elements free throughout, in the element type's free-set sum
    /// (the `f32` 2^-23 fixed point, or `f64`).
    pub free_sum: f64,
    /// Elements whose class can change inside the bracket, written to `out`.
    pub kept: usize,
}

/// The least `t` with `fl(t − c) ≥ 1` (`+∞` when only `+∞` qualifies), for finite `c`: by
/// the monotonicity of `fl(z − c)` in `z`, `fl(z − c) ≥ 1` exactly when `z ≥ t`. Found by
/// bisection over the representable values between `c` (where it fails) and `fl(c + 1)`
/// rounded up (where it holds): at most 64 steps, where a linear search can meet billions of
/// values (for `c = −1` the threshold is about `−2^-54`, far below `fl(c + 1) = 0` in
/// representable values).
pub fn unit_threshold<T: Real>(c: T) -> T {
    let reaches = |t: T| t - c >= T::ONE;
    let mut hi = c + T::ONE;
    for _ in 0..4 {
        if reaches(hi) {
            break;
        }
        hi = T::from_ordered(hi.to_ordered() + 1);
    }
    if !reaches(hi) {
        return T::from_f64(f64::INFINITY); // not reached for finite c
    }
    // Ordered integers (`Real::to_ordered`), widened so that the difference cannot overflow.
    let (mut lo, mut up) = (c.to_ordered() as i128, hi.to_ordered() as i128);
    while up - lo > 1 {
        let mid = lo + (up - lo) / 2;
        if reaches(T::from_ordered(mid as i64)) {
            up = mid;
        } else {
            lo = mid;
        }
    }
    T::from_ordered(up as i64)
}

/// The element types with vectorized kernels (`f32`, `f64`): the per-block kernels behind
/// [`Kernels`]. Each function works on one block of at most [`crate::passes::BLOCK`]
/// elements (the callers split longer inputs) and has the semantics of the scalar code in
/// `hypersimplex` (see [`crate::portable`]).
pub trait Element: Real {
    /// Σz, min z, max z, finiteness of `z = x·s`.
    fn stats(k: Kernels, x: &[Self], s: Self) -> Stats<Self>;
    /// The piece at λ: `d_i = fl(fl(x_i·s) − λ)`.
    fn piece(k: Kernels, x: &[Self], s: Self, lam: Self) -> Piece;
    /// [`Element::piece`] and [`Element::stats`] in one pass, except that the vector paths do
    /// not compute `Stats::sum` (NaN): the core solver runs this pass only from a start point,
    /// where it does not use Σz.
    fn piece_stats(k: Kernels, x: &[Self], s: Self, lam: Self) -> (Piece, Stats<Self>);
    /// The working-set split of `z = x·s` for the bracket `[a, b]` (see [`Split`]); the kept
    /// `z_i` are written to the front of `out` (`out.len() ≥ x.len()`).
    fn split(
        k: Kernels,
        x: &[Self],
        s: Self,
        a: Self,
        b: Self,
        out: &mut [MaybeUninit<Self>],
    ) -> Split<Self>;
    /// `true` when every `fl(x_i·s)` is finite.
    fn all_finite(k: Kernels, x: &[Self], s: Self) -> bool;
    /// [`Element::piece`], also writing `y_i = clip(d_i, 0, 1)` like [`Element::clip`].
    fn piece_write(k: Kernels, x: &[Self], s: Self, lam: Self, y: &mut [Self]) -> Piece;
    /// `y_i = clip(fl(x_i·s) − λ, 0, 1)` over `min(x.len(), y.len())` elements.
    fn clip(k: Kernels, x: &[Self], s: Self, lam: Self, y: &mut [Self]);
    /// [`Element::clip`] with streaming (non-temporal) stores where the path has them, for
    /// outputs much larger than the caches; bitwise the same values.
    fn clip_stream(k: Kernels, x: &[Self], s: Self, lam: Self, y: &mut [Self]);
    /// In-place [`Element::clip`].
    fn clip_in_place(k: Kernels, x: &mut [Self], s: Self, lam: Self);
    /// `(|A|, Σ_{A} g_i, all finite)` over `A = {0 < y_i < 1}`.
    fn free_mean(k: Kernels, y: &[Self], g: &[Self]) -> (usize, f64, bool);
    /// `out_i = (g_i − m)·s` where `0 < y_i < 1`, else 0.
    fn vjp(k: Kernels, y: &[Self], g: &[Self], mean: Self, s: Self, out: &mut [Self]);
    /// [`Element::vjp`] with streaming (non-temporal) stores where the path has them, for
    /// outputs much larger than the caches; bitwise the same values.
    fn vjp_stream(k: Kernels, y: &[Self], g: &[Self], mean: Self, s: Self, out: &mut [Self]);
    /// In-place [`Element::vjp`] (`g ← out`).
    fn vjp_in_place(k: Kernels, y: &[Self], g: &mut [Self], mean: Self, s: Self);
    /// The loss residual at λ (see `hypersimplex::loss::residual`).
    fn residual(k: Kernels, x: &[Self], t: &[Self], s: Self, lam: Self) -> Residual;
    /// `out_i = hypersimplex::loss::grad_entry(x_i, t_i, s, λ, m, factor)`.
    #[allow(clippy::too_many_arguments)]
    fn grad(
        k: Kernels,
        x: &[Self],
        t: &[Self],
        s: Self,
        lam: Self,
        mean: Self,
        factor: Self,
        out: &mut [Self],
    );
    /// `out[c·stride + r] = x[r·cols + c]` for the `x.len() / cols` rows of the row-major
    /// `x`; `true` when every `fl(x_i·s)` of those rows is finite (see
    /// [`crate::portable::transpose`]).
    fn transpose(
        k: Kernels,
        x: &[Self],
        cols: usize,
        s: Self,
        out: &mut [Self],
        stride: usize,
    ) -> bool;
    /// [`Element::residual`] against the one-hot targets of `class`
    /// (`t_i = 1` where `labels[i] == class`, else 0).
    fn residual_labels(
        k: Kernels,
        x: &[Self],
        labels: &[u32],
        class: u32,
        s: Self,
        lam: Self,
    ) -> Residual;
    /// `out_i = hypersimplex::loss::grad_entry(x_i, t_i, s, λ_i, m_i, factor)`: [`Element::grad`]
    /// with a λ and a mean per element.
    #[allow(clippy::too_many_arguments)]
    fn grad_pattern(
        k: Kernels,
        x: &[Self],
        t: &[Self],
        lam: &[Self],
        mean: &[Self],
        s: Self,
        factor: Self,
        out: &mut [Self],
    );
}

/// Inputs shorter than this run the scalar code on every path (see `dispatch!`).
pub const VECTOR_MIN: usize = 32;

/// Expands to the dispatch of one kernel: `$m` is the module of the element type inside
/// `avx2`/`neon`, `$f` the function, the rest its arguments.
macro_rules! dispatch {
    ($k:expr, $m:ident, $f:ident ( $x:expr $(, $a:expr)* ), $portable:expr) => {{
        match $k.path {
            // Short inputs: the vector kernels' fixed costs (horizontal reductions) exceed
            // their gain, so they take the scalar code, which computes the same values.
            _ if $x.len() < VECTOR_MIN => $portable,
            #[cfg(target_arch = "x86_64")]
            // SAFETY: a `Kernels` with `Path::Avx2` exists only after `Path::is_supported`
            // confirmed (with `is_x86_feature_detected!`) that this CPU has AVX2 and FMA.
            Path::Avx2 => unsafe { crate::avx2::$m::$f($x $(, $a)*) },
            #[cfg(target_arch = "aarch64")]
            // SAFETY: a `Kernels` with `Path::Neon` exists only after `Path::is_supported`
            // confirmed that this CPU has NEON (always true on aarch64).
            Path::Neon => unsafe { crate::neon::$m::$f($x $(, $a)*) },
            _ => $portable,
        }
    }};
}

macro_rules! element_impl {
    ($t:ty, $m:ident) => {
        impl Element for $t {
            fn stats(k: Kernels, x: &[$t], s: $t) -> Stats<$t> {
                use hypersimplex::kernel::Reductions;
                dispatch!(k, $m, stats(x, s), ScalarPasses::new(x, s).stats())
            }
            fn piece(k: Kernels, x: &[$t], s: $t, lam: $t) -> Piece {
                use hypersimplex::kernel::Reductions;
                dispatch!(k, $m, piece(x, s, lam), ScalarPasses::new(x, s).piece(lam))
            }
            fn piece_stats(k: Kernels, x: &[$t], s: $t, lam: $t) -> (Piece, Stats<$t>) {
                use hypersimplex::kernel::Reductions;
                dispatch!(
                    k,
                    $m,
                    piece_stats(x, s, lam),
                    ScalarPasses::new(x, s).piece_and_stats(lam)
                )
            }
            fn split(
                k: Kernels,
                x: &[$t],
                s: $t,
                a: $t,
                b: $t,
                out: &mut [MaybeUninit<$t>],
            ) -> Split<$t> {
                dispatch!(
                    k,
                    $m,
                    split(x, s, a, b, out),
                    portable::split(x, s, a, b, out)
                )
            }
            fn all_finite(k: Kernels, x: &[$t], s: $t) -> bool {
                dispatch!(k, $m, all_finite(x, s), portable::all_finite(x, s))
            }
            fn piece_write(k: Kernels, x: &[$t], s: $t, lam: $t, y: &mut [$t]) -> Piece {
                dispatch!(k, $m, piece_write(x, s, lam, y), {
                    portable::clip(x, s, lam, y);
                    hypersimplex::kernel::Reductions::piece(&mut ScalarPasses::new(x, s), lam)
                })
            }
            fn clip(k: Kernels, x: &[$t], s: $t, lam: $t, y: &mut [$t]) {
                dispatch!(k, $m, clip(x, s, lam, y), portable::clip(x, s, lam, y))
            }
            fn clip_stream(k: Kernels, x: &[$t], s: $t, lam: $t, y: &mut [$t]) {
                dispatch!(
                    k,
                    $m,
                    clip_stream(x, s, lam, y),
                    portable::clip(x, s, lam, y)
                )
            }
            fn clip_in_place(k: Kernels, x: &mut [$t], s: $t, lam: $t) {
                dispatch!(
                    k,
                    $m,
                    clip_in_place(x, s, lam),
                    portable::clip_in_place(x, s, lam)
                )
            }
            fn free_mean(k: Kernels, y: &[$t], g: &[$t]) -> (usize, f64, bool) {
                dispatch!(k, $m, free_mean(y, g), portable::free_mean(y, g))
            }
            fn vjp(k: Kernels, y: &[$t], g: &[$t], mean: $t, s: $t, out: &mut [$t]) {
                dispatch!(
                    k,
                    $m,
                    vjp(y, g, mean, s, out),
                    portable::vjp(y, g, mean, s, out)
                )
            }
            fn vjp_stream(k: Kernels, y: &[$t], g: &[$t], mean: $t, s: $t, out: &mut [$t]) {
                dispatch!(
                    k,
                    $m,
                    vjp_stream(y, g, mean, s, out),
                    portable::vjp(y, g, mean, s, out)
                )
            }
            fn vjp_in_place(k: Kernels, y: &[$t], g: &mut [$t], mean: $t, s: $t) {
                dispatch!(
                    k,
                    $m,
                    vjp_in_place(y, g, mean, s),
                    portable::vjp_in_place(y, g, mean, s)
                )
            }
            fn residual(k: Kernels, x: &[$t], t: &[$t], s: $t, lam: $t) -> Residual {
                dispatch!(
                    k,
                    $m,
                    residual(x, t, s, lam),
                    portable::residual(x, t, s, lam)
                )
            }
            fn grad(
                k: Kernels,
                x: &[$t],
                t: &[$t],
                s: $t,
                lam: $t,
                mean: $t,
                factor: $t,
                out: &mut [$t],
            ) {
                dispatch!(
                    k,
                    $m,
                    grad(x, t, s, lam, mean, factor, out),
                    portable::grad(x, t, s, lam, mean, factor, out)
                )
            }
            fn transpose(
                k: Kernels,
                x: &[$t],
                cols: usize,
                s: $t,
                out: &mut [$t],
                stride: usize,
            ) -> bool {
                dispatch!(
                    k,
                    $m,
                    transpose(x, cols, s, out, stride),
                    portable::transpose(x, cols, s, out, stride)
                )
            }
            fn residual_labels(
                k: Kernels,
                x: &[$t],
                labels: &[u32],
                class: u32,
                s: $t,
                lam: $t,
            ) -> Residual {
                dispatch!(
                    k,
                    $m,
                    residual_labels(x, labels, class, s, lam),
                    portable::residual_labels(x, labels, class, s, lam)
                )
            }
            fn grad_pattern(
                k: Kernels,
                x: &[$t],
                t: &[$t],
                lam: &[$t],
                mean: &[$t],
                s: $t,
                factor: $t,
                out: &mut [$t],
            ) {
                dispatch!(
                    k,
                    $m,
                    grad_pattern(x, t, lam, mean, s, factor, out),
                    portable::grad_pattern(x, t, lam, mean, s, factor, out)
                )
            }
        }
    };
}

element_impl!(f32, f32k);
element_impl!(f64, f64k);
