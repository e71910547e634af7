//! `±∞` entries as masks (issue 13): `x_i = −∞` gives `y_i = 0`, `x_i = +∞` gives `y_i = 1`, and
//! the finite entries are projected onto what is left, `Δ(n_finite, k − #(+∞))`.
//!
//! The masked projection is the limit of the ordinary one as the masked entries go to `±∞`, and
//! that limit is already reached at finite *sentinels*: if the finite `z = x/τ` lie in `[a, b]`,
//! the masked answer has a threshold `λ ∈ [a − 1, b]` (`f` falls from `n_finite` to 0 there), so
//! any `z⁺ ≥ b + 1` gives `clip(z⁺ − λ) = 1` and any `z⁻ ≤ a − 1` gives 0. The projection is
//! unique, so solving with `+∞ → z⁺`, `−∞ → z⁻` gives exactly the masked `y`; writing
//! `clip(x_i/τ − λ, 0, 1)` with the real `x_i = ±∞` then gives exact 1s and 0s. The sentinels
//! here are `b + 2 + 2^-10·|b|` and `a − 2 − 2^-10·|a|` (in units of z), whose margin is far
//! above the rounding of `x·(1/τ)`.
//!
//! This path runs only after the ordinary first pass met a non-finite `z` (rare), once per
//! input, with the portable scalar passes on every ISA path, so its results are the same on
//! every path and thread count. It is compiled out on bare-metal targets (`target_os =
//! "none"`: flash), where `±∞` stays [`Error::NonFiniteInput`].

use crate::error::Error;
use crate::kernel::{ScalarPasses, Source, Strided};
use crate::loss::ClassK;
use crate::real::Real;
use crate::solve::{solve, Fill, Solution};

/// What one pass over `x` says about its non-finite entries.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MaskCounts {
    /// Entries equal to `+∞` (forced to 1).
    pub plus: usize,
    /// Entries equal to `−∞` (forced to 0).
    pub minus: usize,
    /// Whether any entry is NaN (always an error).
    pub nan: bool,
    /// Smallest and largest finite entry (`None` when there is none).
    pub range: Option<(f64, f64)>,
}

/// Counts `±∞` and NaN entries and the finite range of `src`, in one pass.
pub fn mask_counts<T: Real, S: Source<T> + ?Sized>(src: &S) -> MaskCounts {
    let (mut plus, mut minus, mut nan) = (0usize, 0usize, false);
    // the finite range in T (min/max selects; the masks are the rare branch)
    let (mut lo, mut hi) = (T::MAX, T::LOWEST);
    let mut finite = 0usize;
    src.for_each(|v| {
        if v.is_finite() {
            lo = if v < lo { v } else { lo };
            hi = if v > hi { v } else { hi };
            finite += 1;
        } else if v > T::ZERO {
            plus += 1;
        } else if v < T::ZERO {
            minus += 1;
        } else {
            nan = true;
        }
    });
    MaskCounts {
        plus,
        minus,
        nan,
        range: (finite > 0).then(|| (lo.to_f64(), hi.to_f64())),
    }
}

impl MaskCounts {
    /// `Ok` when `k` is feasible with these masks: `#(+∞) ≤ k ≤ n − #(−∞)`, and no NaN.
    ///
    /// # Errors
    /// [`Error::NonFiniteInput`] for NaN; [`Error::InvalidK`] for an infeasible `k`.
    pub fn check(&self, n: usize, k: f64) -> Result<(), Error> {
        if self.nan {
            return Err(Error::NonFiniteInput);
        }
        if k < self.plus as f64 || k > n.saturating_sub(self.minus) as f64 {
            return Err(Error::InvalidK);
        }
        Ok(())
    }

    /// The answer when `k` sits at an end of its feasible range, `k = #(+∞)` (every finite entry
    /// 0) or `k = n − #(−∞)` (every finite entry 1): there the solve on the sentinels could stop
    /// anywhere on a flat piece that reaches a sentinel's breakpoint, so these are answered
    /// directly, with `λ = max z` (as for `k = 0`) or `λ` below `min z − 1`.
    pub fn at_an_end<T: Real>(&self, n: usize, k: f64, scale: T) -> Option<Solution<T>> {
        let s = scale.to_f64();
        // z = x·s of the extreme finite entries: exact in f64 for f32, and fl(x·s) for f64
        let (a, b) = self.range.map_or((0.0, 0.0), |(a, b)| (a * s, b * s));
        let (lambda, upper) = if k <= self.plus as f64 {
            (b, self.plus)
        } else if k >= n.saturating_sub(self.minus) as f64 {
            (
                a - 2.0 - a.abs() * (1.0 / 1024.0),
                n.saturating_sub(self.minus),
            )
        } else {
            return None;
        };
        Some(Solution {
            lambda: T::from_f64(lambda),
            free: 0,
            upper,
            fill: Fill::Clip,
            passes: 1,
        })
    }

    /// The sentinels `(x⁻, x⁺)` that replace `−∞` and `+∞` (in units of x), for `scale = 1/τ`.
    ///
    /// # Errors
    /// [`Error::ScaleOverflow`] when a sentinel or its `x·s` is not finite.
    pub fn sentinels<T: Real>(&self, scale: T) -> Result<(T, T), Error> {
        let s = scale.to_f64();
        let (a, b) = self.range.unwrap_or((0.0, 0.0));
        let (za, zb) = (a * s, b * s);
        let margin = |z: f64| 2.0 + z.abs() * (1.0 / 1024.0);
        let lo = T::from_f64((za - margin(za)) / s);
        let hi = T::from_f64((zb + margin(zb)) / s);
        let ok = |v: T| v.is_finite() && (v * scale).is_finite();
        if ok(lo) && ok(hi) {
            Ok((lo, hi))
        } else {
            Err(Error::ScaleOverflow)
        }
    }
}

/// `src` with `−∞ → lo` and `+∞ → hi` (see the module docs).
#[derive(Clone, Copy, Debug)]
pub struct Masked<'a, T, S: ?Sized> {
    src: &'a S,
    lo: T,
    hi: T,
}

impl<'a, T: Real, S: Source<T> + ?Sized> Masked<'a, T, S> {
    /// `src` with the sentinels `lo` (for `−∞`) and `hi` (for `+∞`).
    pub fn new(src: &'a S, lo: T, hi: T) -> Self {
        Masked { src, lo, hi }
    }
    #[inline(always)]
    fn map(&self, v: T) -> T {
        if v.is_finite() {
            v
        } else if v > T::ZERO {
            self.hi
        } else {
            self.lo
        }
    }
}

impl<T: Real, S: Source<T> + ?Sized> Source<T> for Masked<'_, T, S> {
    fn len(&self) -> usize {
        self.src.len()
    }
    fn for_each<F: FnMut(T)>(&self, mut f: F) {
        self.src.for_each(|v| f(self.map(v)))
    }
    fn for_each_quad<Q: FnMut([T; 4])>(&self, mut quad: Q) -> ([T; 4], usize) {
        let (rest, m) = self.src.for_each_quad(|q| {
            quad([
                self.map(q[0]),
                self.map(q[1]),
                self.map(q[2]),
                self.map(q[3]),
            ])
        });
        (
            [
                self.map(rest[0]),
                self.map(rest[1]),
                self.map(rest[2]),
                self.map(rest[3]),
            ],
            m,
        )
    }
}

/// What the masked forward needs after its checks.
#[derive(Clone, Copy, Debug)]
pub struct Prepared<T> {
    /// The sentinel for `−∞`.
    pub lo: T,
    /// The sentinel for `+∞`.
    pub hi: T,
    /// The answer, when `k` is at an end of its range ([`MaskCounts::at_an_end`]).
    pub end: Option<Solution<T>>,
}

/// The masked forward's checks, when `x` holds `±∞` masks that `k` can meet; the error
/// otherwise (as [`solve_masked`]).
///
/// # Errors
/// As [`solve_masked`].
pub fn prepare<T: Real>(x: &[T], k: f64, scale: T) -> Result<Prepared<T>, Error> {
    let counts = mask_counts(x);
    counts.check(x.len(), k)?;
    if counts.plus == 0 && counts.minus == 0 {
        return Err(Error::ScaleOverflow);
    }
    let (lo, hi) = counts.sentinels(scale)?;
    Ok(Prepared {
        lo,
        hi,
        end: counts.at_an_end(x.len(), k, scale),
    })
}

/// `y_i = x_i` with `−∞ → lo`, `+∞ → hi` (`y` may be `x` itself: see [`substitute_in_place`]).
pub fn substitute<T: Real>(x: &[T], y: &mut [T], lo: T, hi: T) {
    let m = Masked::new(x, lo, hi);
    for (o, &v) in y.iter_mut().zip(x) {
        *o = m.map(v);
    }
}

/// [`substitute`] in place.
pub fn substitute_in_place<T: Real>(x: &mut [T], lo: T, hi: T) {
    for v in x.iter_mut() {
        *v = if v.is_finite() {
            *v
        } else if *v > T::ZERO {
            hi
        } else {
            lo
        };
    }
}

/// The masked forward's write over the substituted values `v` (in place): exactly 1 at `hi`,
/// exactly 0 at `lo` (no finite input equals a sentinel: they lie outside the finite range),
/// else `clip(fl(v·s) − λ, 0, 1)` as the ordinary write.
pub fn write_masked<T: Real>(v: &mut [T], scale: T, sol: &Solution<T>, lo: T, hi: T) {
    let lam = sol.lambda;
    match sol.fill {
        Fill::Zeros => v.iter_mut().for_each(|o| *o = T::ZERO),
        Fill::Ones => v.iter_mut().for_each(|o| *o = T::ONE),
        Fill::Clip => v.iter_mut().for_each(|o| {
            let c = (*o * scale - lam).clip01();
            // selects, not branches: the clip vectorizes
            let c = if *o == hi { T::ONE } else { c };
            *o = if *o == lo { T::ZERO } else { c };
        }),
    }
}

/// λ for an input whose ordinary solve met a non-finite `z`: the masked solve when `src` holds
/// `±∞` (and no NaN), else the error that explains the failure.
///
/// # Errors
/// [`Error::NonFiniteInput`] for NaN; [`Error::ScaleOverflow`] when every entry is finite (so
/// `x·(1/τ)` overflowed) or a sentinel overflows; [`Error::InvalidK`] when
/// `k ∉ [#(+∞), n − #(−∞)]`.
pub fn solve_masked<T: Real, S: Source<T> + ?Sized>(
    src: &S,
    k: f64,
    scale: T,
) -> Result<Solution<T>, Error> {
    let counts = mask_counts(src);
    counts.check(src.len(), k)?;
    if counts.plus == 0 && counts.minus == 0 {
        return Err(Error::ScaleOverflow);
    }
    let (lo, hi) = counts.sentinels(scale)?;
    if let Some(sol) = counts.at_an_end(src.len(), k, scale) {
        return Ok(sol);
    }
    solve(
        &mut ScalarPasses::new(&Masked::new(src, lo, hi), scale),
        k,
        None,
    )
}

/// `Ok` when one line (row or vector) can be projected: no NaN, `k` feasible with its masks,
/// and every `x_i·(1/τ)` (sentinels included) finite. How the batched functions check every
/// line before writing any.
///
/// # Errors
/// As [`solve_masked`].
pub fn check_line<T: Real, S: Source<T> + ?Sized>(src: &S, k: f64, scale: T) -> Result<(), Error> {
    let counts = mask_counts(src);
    counts.check(src.len(), k)?;
    if counts.plus == 0 && counts.minus == 0 {
        let mut ok = true;
        src.for_each(|v| ok &= (v * scale).is_finite());
        return if ok {
            Ok(())
        } else {
            Err(Error::ScaleOverflow)
        };
    }
    counts.sentinels(scale).map(|_| ())
}

/// [`check_line`] for each row of `x` (rows of `n`; row `i` with `k(i)`), in order: how a batch
/// whose finiteness check failed is checked before any of its rows is written.
///
/// # Errors
/// The first failing row's error, as [`solve_masked`].
pub fn check_rows<T: Real, K: Fn(usize) -> f64>(
    x: &[T],
    n: usize,
    k: K,
    scale: T,
) -> Result<(), Error> {
    if n == 0 {
        return Ok(());
    }
    let mut rest = x;
    let mut i = 0usize;
    while let Some((row, tail)) = rest.split_at_checked(n) {
        check_line(row, k(i), scale)?;
        rest = tail;
        i += 1;
    }
    Ok(())
}

/// The multiclass loss's check of row-major `(batch, classes)` logits whose finiteness check
/// failed, before any column is solved: NaN anywhere is [`Error::NonFiniteInput`] (as before
/// masks), then each class column in order must pass [`check_line`] with its `k_c`.
///
/// # Errors
/// As [`solve_masked`], for the first failing column.
pub fn check_columns<T: Real>(
    logits: &[T],
    labels: &[u32],
    classes: usize,
    k: ClassK<'_>,
    scale: T,
) -> Result<(), Error> {
    if logits.iter().any(|v| v.partial_cmp(v).is_none()) {
        return Err(Error::NonFiniteInput);
    }
    for c in 0..classes {
        check_line(
            &Strided::new(logits, c, classes),
            k.of_class(labels, c),
            scale,
        )?;
    }
    Ok(())
}
