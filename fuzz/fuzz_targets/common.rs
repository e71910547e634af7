//! Shared by the fuzz targets: the fuzzer's bytes decoded into sizes, values and flags; the two
//! element types with their C functions; an f64 bisection reference; the checks every target
//! makes (a documented status only, never `HS_ERR_PANIC`; outputs untouched on error).
#![allow(dead_code)]

use std::fmt::Debug;

pub use hs_ffi::status::*;

/// A reader over the fuzzer's bytes; reads past the end give zeros.
pub struct Bytes<'a>(pub &'a [u8]);

impl Bytes<'_> {
    pub fn u8(&mut self) -> u8 {
        let (b, rest) = self.0.split_first().map_or((0, &[][..]), |(b, r)| (*b, r));
        self.0 = rest;
        b
    }
    pub fn u16(&mut self) -> u16 {
        u16::from(self.u8()) | (u16::from(self.u8()) << 8)
    }
    /// In `0..n` (0 when n is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            usize::from(self.u16()) % n
        }
    }
    /// A value: mostly on a coarse grid (ties, exact breakpoints), some spread, some special.
    pub fn value(&mut self, mag: f64) -> f64 {
        match self.u8() {
            b @ 0..=199 => (f64::from(b) - 100.0) / 8.0 * mag,
            200..=239 => (f64::from(self.u16()) / 65536.0 - 0.5) * 1e3 * mag,
            240 => f64::NAN,
            241 => f64::INFINITY,
            242 => f64::NEG_INFINITY,
            243 => f64::MAX,
            244 => -f64::MAX,
            245 => f32::MAX as f64,
            246 => -(f32::MAX as f64),
            247 => 1e-40,
            248 => -1e-300,
            249 => 0.0,
            250 => -0.0,
            b => f64::from(b - 250) * 1e30,
        }
    }
    /// A magnitude for a whole vector: 1, or a power of ten up to 1e30 or down to 1e-30.
    pub fn magnitude(&mut self) -> f64 {
        match self.u8() {
            0..=159 => 1.0,
            b => 10f64.powi(i32::from(b - 160) % 61 - 30),
        }
    }
    /// A k for length n: in [0, n] mostly (0, n, integers, fractions), sometimes outside or NaN.
    pub fn k(&mut self, n: usize) -> f64 {
        let n = n as f64;
        match self.u8() {
            0..=49 => 0.0,
            50..=99 => n,
            100..=199 => (f64::from(self.u16()) / 65535.0 * n).floor(),
            200..=239 => f64::from(self.u16()) / 65535.0 * n,
            240 => f64::NAN,
            241 => -1.0,
            242 => n + 0.5,
            243 => f64::INFINITY,
            b => f64::from(b) * 1e-3 * n.min(1.0),
        }
    }
    /// A τ: mostly in [1e-3, 1e3], sometimes 0, negative, NaN, ±∞, subnormal, huge.
    pub fn tau(&mut self) -> f64 {
        match self.u8() {
            0..=219 => 10f64.powf(f64::from(self.u8()) / 255.0 * 6.0 - 3.0),
            220 => 0.0,
            221 => -1.0,
            222 => f64::NAN,
            223 => f64::INFINITY,
            224 => 1e-45,
            225 => 4e-39,
            226 => 1e-310,
            227 => 1e30,
            _ => 1.0,
        }
    }
}

/// The fuzzer's first byte picks the element type: `f32` (even) or `f64` (odd); the rest is
/// the run's.
pub fn by_type(data: &[u8], f32_run: fn(&mut Bytes<'_>), f64_run: fn(&mut Bytes<'_>)) {
    let mut b = Bytes(data);
    if b.u8() & 1 == 0 {
        f32_run(&mut b)
    } else {
        f64_run(&mut b)
    }
}

/// Every status the header documents (never `HS_ERR_PANIC`).
pub fn documented(s: i32) -> bool {
    s == HS_OK || (-10..=-1).contains(&s) || (-103..=-100).contains(&s)
}

pub fn check_status(s: i32, what: &str) {
    assert!(documented(s), "{what}: undocumented status {s}");
}

/// The element types (`f32`, `f64`) and their C functions.
pub trait F: Copy + PartialEq + Debug + Default + 'static {
    const EPS: f64;
    /// The smallest positive (subnormal) value.
    const TINY: f64;
    const SENTINEL: Self;
    fn of(v: f64) -> Self;
    fn to(self) -> f64;
    fn bits(self) -> u64;
    /// `x/τ` in f64: exact to f64 rounding (for f32 data far below f32's ε).
    fn z_exact(x: Self, tau: Self) -> f64 {
        x.to() / tau.to()
    }
    unsafe fn forward(x: *const Self, n: usize, k: f64, tau: Self, y: *mut Self) -> i32;
    unsafe fn vjp(y: *const Self, g: *const Self, n: usize, tau: Self, o: *mut Self) -> i32;
    unsafe fn topk(x: *const Self, n: usize, k: usize, y: *mut Self) -> i32;
    unsafe fn topk_rows(x: *const Self, r: usize, n: usize, k: *const usize, y: *mut Self) -> i32;
    unsafe fn rows(
        x: *const Self,
        r: usize,
        n: usize,
        k: *const f64,
        tau: Self,
        y: *mut Self,
    ) -> i32;
    unsafe fn vjp_rows(
        y: *const Self,
        g: *const Self,
        r: usize,
        n: usize,
        tau: Self,
        o: *mut Self,
    ) -> i32;
    unsafe fn loss(
        x: *const Self,
        t: *const Self,
        n: usize,
        k: f64,
        tau: Self,
        l: *mut Self,
        g: *mut Self,
    ) -> i32;
    #[allow(clippy::too_many_arguments)]
    unsafe fn mc(
        x: *const Self,
        lab: *const u32,
        b: usize,
        c: usize,
        k: *const f64,
        tau: Self,
        red: i32,
        l: *mut Self,
        g: *mut Self,
    ) -> i32;
    #[allow(clippy::too_many_arguments)]
    unsafe fn mc_scratch(
        x: *const Self,
        lab: *const u32,
        b: usize,
        c: usize,
        k: *const f64,
        tau: Self,
        red: i32,
        l: *mut Self,
        g: *mut Self,
        s: *mut Self,
        sl: usize,
    ) -> i32;
    /// `hs_hypersimplex_loss_multiclass_lambda_*`: `mc` plus each class column's λ.
    #[allow(clippy::too_many_arguments)]
    unsafe fn mc_lambda(
        x: *const Self,
        lab: *const u32,
        b: usize,
        c: usize,
        k: *const f64,
        tau: Self,
        red: i32,
        l: *mut Self,
        g: *mut Self,
        lam: *mut f64,
    ) -> i32;
    /// `hs_calibrated_argmax_*`.
    unsafe fn calibrated(
        x: *const Self,
        b: usize,
        c: usize,
        lam: *const f64,
        tau: Self,
        pred: *mut u32,
    ) -> i32;
}

macro_rules! element {
    ($t:ty, $eps:expr, $fw:ident, $vjp:ident, $topk:ident, $trows:ident, $rows:ident, $vrows:ident,
     $loss:ident, $mc:ident, $mcs:ident, $mcl:ident, $cal:ident) => {
        impl F for $t {
            const EPS: f64 = $eps;
            const TINY: f64 = <$t>::from_bits(1) as f64;
            const SENTINEL: Self = -7.25;
            fn of(v: f64) -> Self {
                v as $t
            }
            fn to(self) -> f64 {
                self as f64
            }
            fn bits(self) -> u64 {
                self.to_bits() as u64
            }
            unsafe fn forward(x: *const Self, n: usize, k: f64, tau: Self, y: *mut Self) -> i32 {
                unsafe { hs_ffi::forward::$fw(x, n, k, tau, y) }
            }
            unsafe fn vjp(
                y: *const Self,
                g: *const Self,
                n: usize,
                tau: Self,
                o: *mut Self,
            ) -> i32 {
                unsafe { hs_ffi::backward::$vjp(y, g, n, tau, o) }
            }
            unsafe fn topk(x: *const Self, n: usize, k: usize, y: *mut Self) -> i32 {
                unsafe { hs_ffi::topk::$topk(x, n, k, y) }
            }
            unsafe fn topk_rows(
                x: *const Self,
                r: usize,
                n: usize,
                k: *const usize,
                y: *mut Self,
            ) -> i32 {
                unsafe { hs_ffi::topk::$trows(x, r, n, k, y) }
            }
            unsafe fn rows(
                x: *const Self,
                r: usize,
                n: usize,
                k: *const f64,
                tau: Self,
                y: *mut Self,
            ) -> i32 {
                unsafe { hs_ffi::forward::$rows(x, r, n, k, tau, y) }
            }
            unsafe fn vjp_rows(
                y: *const Self,
                g: *const Self,
                r: usize,
                n: usize,
                tau: Self,
                o: *mut Self,
            ) -> i32 {
                unsafe { hs_ffi::backward::$vrows(y, g, r, n, tau, o) }
            }
            unsafe fn loss(
                x: *const Self,
                t: *const Self,
                n: usize,
                k: f64,
                tau: Self,
                l: *mut Self,
                g: *mut Self,
            ) -> i32 {
                unsafe { hs_ffi::loss::$loss(x, t, n, k, tau, l, g) }
            }
            unsafe fn mc(
                x: *const Self,
                lab: *const u32,
                b: usize,
                c: usize,
                k: *const f64,
                tau: Self,
                red: i32,
                l: *mut Self,
                g: *mut Self,
            ) -> i32 {
                unsafe { hs_ffi::loss::$mc(x, lab, b, c, k, tau, red, l, g) }
            }
            unsafe fn mc_scratch(
                x: *const Self,
                lab: *const u32,
                b: usize,
                c: usize,
                k: *const f64,
                tau: Self,
                red: i32,
                l: *mut Self,
                g: *mut Self,
                s: *mut Self,
                sl: usize,
            ) -> i32 {
                unsafe { hs_ffi::loss::$mcs(x, lab, b, c, k, tau, red, l, g, s, sl) }
            }
            unsafe fn mc_lambda(
                x: *const Self,
                lab: *const u32,
                b: usize,
                c: usize,
                k: *const f64,
                tau: Self,
                red: i32,
                l: *mut Self,
                g: *mut Self,
                lam: *mut f64,
            ) -> i32 {
                unsafe { hs_ffi::loss::$mcl(x, lab, b, c, k, tau, red, l, g, lam) }
            }
            unsafe fn calibrated(
                x: *const Self,
                b: usize,
                c: usize,
                lam: *const f64,
                tau: Self,
                pred: *mut u32,
            ) -> i32 {
                unsafe { hs_ffi::predict::$cal(x, b, c, lam, tau, pred) }
            }
        }
    };
}

element!(
    f32,
    f32::EPSILON as f64,
    hs_soft_binary_argmax_f32,
    hs_soft_binary_argmax_vjp_f32,
    hs_binary_argmax_f32,
    hs_binary_argmax_rows_f32,
    hs_soft_binary_argmax_rows_f32,
    hs_soft_binary_argmax_vjp_rows_f32,
    hs_hypersimplex_loss_f32,
    hs_hypersimplex_loss_multiclass_f32,
    hs_hypersimplex_loss_multiclass_scratch_f32,
    hs_hypersimplex_loss_multiclass_lambda_f32,
    hs_calibrated_argmax_f32
);
element!(
    f64,
    f64::EPSILON,
    hs_soft_binary_argmax_f64,
    hs_soft_binary_argmax_vjp_f64,
    hs_binary_argmax_f64,
    hs_binary_argmax_rows_f64,
    hs_soft_binary_argmax_rows_f64,
    hs_soft_binary_argmax_vjp_rows_f64,
    hs_hypersimplex_loss_f64,
    hs_hypersimplex_loss_multiclass_f64,
    hs_hypersimplex_loss_multiclass_scratch_f64,
    hs_hypersimplex_loss_multiclass_lambda_f64,
    hs_calibrated_argmax_f64
);

/// `n` values of one vector (one magnitude for all).
pub fn vector<T: F>(b: &mut Bytes<'_>, n: usize) -> Vec<T> {
    let mag = b.magnitude();
    (0..n).map(|_| T::of(b.value(mag))).collect()
}

pub fn bits<T: F>(v: &[T]) -> Vec<u64> {
    v.iter().map(|x| x.bits()).collect()
}

pub fn untouched<T: F>(v: &[T], what: &str) {
    assert!(
        v.iter().all(|x| x.bits() == T::SENTINEL.bits()),
        "{what}: output written on error"
    );
}

/// `Σ v` with Neumaier's compensation: within about one rounding of the exact sum.
pub fn neumaier(v: impl IntoIterator<Item = f64>) -> f64 {
    let (mut s, mut c) = (0.0f64, 0.0f64);
    for v in v {
        let t = s + v;
        c += if s.abs() >= v.abs() {
            (s - t) + v
        } else {
            (v - t) + s
        };
        s = t;
    }
    s + c
}

/// The projection of `z` onto Δ(n, k) in f64, by bisection on λ (the reference), and λ.
pub fn reference(z: &[f64], k: f64) -> (Vec<f64>, f64) {
    let f = |l: f64| z.iter().map(|&v| (v - l).clamp(0.0, 1.0)).sum::<f64>();
    let lo0 = z.iter().copied().fold(f64::INFINITY, f64::min) - 1.0;
    let hi0 = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (mut lo, mut hi) = (lo0, hi0);
    for _ in 0..2000 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if f(mid) > k {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let mut l = 0.5 * (lo + hi);
    // On the piece of l, λ = (Σ_F z + |U| − k)/|F| exactly solves f(λ) = k: recompute it with a
    // compensated sum so that the reference's own rounding stays far below the tolerance.
    let free: Vec<f64> = z
        .iter()
        .copied()
        .filter(|v| v - l > 0.0 && v - l < 1.0)
        .collect();
    let nu = z.iter().filter(|&&v| v - l >= 1.0).count();
    if !free.is_empty() {
        l = (neumaier(free.iter().copied()) + nu as f64 - k) / free.len() as f64;
    }
    (z.iter().map(|&v| (v - l).clamp(0.0, 1.0)).collect(), l)
}

/// Issue 13 item 1's contract: each `y_i` within `4·ε` (absolute) of the exact projection of
/// the real numbers `x_i/τ`. The reference projects `x_i/τ` computed in f64 (for f32 data exact
/// far below f32's ε), so the tolerance adds the reference's own rounding, `~n·ε_f64·M` with
/// `M = max(1, max|x/τ|, |λ|)` (it matters for f64 data and for huge |x/τ| only). `±∞` entries of
/// x are masks (exactly 1 and 0); the finite ones are compared with the projection of the finite
/// `x/τ` onto `Δ(n_finite, k − #(+∞))`. Every τ (also τ > `MAX/64`, re-solved in a pre-scaled
/// frame since issue 13's last exception was closed).
pub fn check_projection<T: F>(x: &[T], tau: T, k: f64, y: &[T], what: &str) {
    let z: Vec<f64> = x.iter().map(|&v| T::z_exact(v, tau)).collect();
    let plus = z.iter().filter(|v| **v == f64::INFINITY).count();
    let fin: Vec<f64> = z.iter().copied().filter(|v| v.is_finite()).collect();
    let (wf, lam) = reference(&fin, k - plus as f64);
    let mut it = wf.into_iter();
    let want: Vec<f64> = z
        .iter()
        .map(|&v| match v {
            f64::INFINITY => 1.0,
            f64::NEG_INFINITY => 0.0,
            _ => it.next().unwrap_or(f64::NAN),
        })
        .collect();
    let m = fin.iter().fold(1f64.max(lam.abs()), |a, v| a.max(v.abs()));
    let reference_error = 4.0 * f64::EPSILON * z.len() as f64 * m;
    let tol = 4.0 * T::EPS + reference_error;
    for (i, (&a, &b)) in y.iter().zip(&want).enumerate() {
        if z[i].is_infinite() {
            assert_eq!(a.to(), b, "{what}: y[{i}] at a mask");
            continue;
        }
        let a = a.to();
        assert!(
            (0.0..=1.0).contains(&a),
            "{what}: y[{i}] = {a} outside [0, 1]"
        );
        assert!(
            (a - b).abs() <= tol,
            "{what}: y[{i}] = {a}, reference {b} (tol {tol:e}); k {k} λ_ref {lam} tau {tau:?} x {x:?}"
        );
    }
    // Scale-free checks, which stay sharp where the reference's tolerance above does not
    // (|x/τ| near MAX makes `reference_error` huge): Σy = k to the contract's (n + 1)·4ε, and
    // any two free entries differ by the difference of their z (each y_i is within 4ε of the
    // exact projection, whose free entries are z_i − λ), up to the f64 rounding of z.
    // (compensated: a plain f64 sum of n values near 1 errs by up to n²·ε_f64)
    let sum = neumaier(y.iter().map(|v| v.to()));
    let n = y.len() as f64;
    assert!(
        (sum - k).abs() <= (n + 1.0) * 4.0 * T::EPS + 2.0 * f64::EPSILON * k.abs(),
        "{what}: Σy = {sum}, k = {k}; tau {tau:?} x {x:?}"
    );
    let free = |i: &usize| {
        let v = y[*i].to();
        v > 0.0 && v < 1.0 && z[*i].is_finite()
    };
    if let Some(j) = (0..y.len())
        .filter(free)
        .max_by(|&a, &b| z[a].total_cmp(&z[b]))
    {
        for i in (0..y.len()).filter(free) {
            let dy = y[j].to() - y[i].to();
            let dz = z[j] - z[i];
            let t = 8.0 * T::EPS + 2.0 * f64::EPSILON * z[i].abs().max(z[j].abs());
            assert!(
                (dy - dz).abs() <= t,
                "{what}: free y[{j}] − y[{i}] = {dy}, z difference {dz} (tol {t:e}); k {k} tau {tau:?} x {x:?}"
            );
        }
    }
}

// The half formats, written here from their definitions (not the library's conversions).

/// bfloat16: the top 16 bits of an f32.
pub fn widen_bf16(b: u16) -> f32 {
    f32::from_bits(u32::from(b) << 16)
}

/// f32 → bfloat16, to nearest even (NaN stays NaN, quiet).
pub fn narrow_bf16(v: f32) -> u16 {
    let b = v.to_bits();
    if v.is_nan() {
        return ((b >> 16) as u16) | 0x0040;
    }
    ((b + 0x7fff + ((b >> 16) & 1)) >> 16) as u16
}

/// binary16: sign, 5 exponent bits (bias 15), 10 fraction bits; every value exact in f32.
pub fn widen_f16(b: u16) -> f32 {
    let sign = if b & 0x8000 != 0 { -1.0f32 } else { 1.0 };
    let (e, m) = (i32::from((b >> 10) & 0x1f), f32::from(b & 0x3ff));
    sign * match e {
        0 => m * 2f32.powi(-24),
        31 if m == 0.0 => f32::INFINITY,
        31 => f32::NAN,
        _ => (1.0 + m / 1024.0) * 2f32.powi(e - 15),
    }
}

/// f32 → binary16, to nearest even (in f64, where every step below is exact).
pub fn narrow_f16(v: f32) -> u16 {
    let sign = if v.is_sign_negative() { 0x8000u16 } else { 0 };
    if v.is_nan() {
        return 0x7e00 | sign;
    }
    let a = f64::from(v.abs());
    // 65520 lies halfway between the largest finite value, 65504 (odd fraction), and 2^16
    if a >= 65520.0 {
        return 0x7c00 | sign;
    }
    if a < 2f64.powi(-14) {
        // subnormal (a fraction of 1024 rounds up to the smallest normal, encoded alike)
        return sign | (a * 2f64.powi(24)).round_ties_even() as u16;
    }
    let mut e = a.log2().floor() as i32;
    // guard the logarithm's rounding at powers of two
    if 2f64.powi(e) > a {
        e -= 1;
    } else if 2f64.powi(e + 1) <= a {
        e += 1;
    }
    let mut m = ((a / 2f64.powi(e) - 1.0) * 1024.0).round_ties_even() as u16;
    if m == 1024 {
        m = 0;
        e += 1;
    }
    sign | (((e + 15) as u16) << 10) | m
}
