//! Row loops over row-major buffers (`n` elements a row), for the row-wise functions of the
//! half module and the C ABI. Each step splits one row off every buffer with
//! `split_at_checked` (no indexing, no division: no panic path, which the firmware's link-time
//! no-panic proof checks) and calls `f` on the rows (its value is dropped); a loop stops at the first error and ends
//! with the shortest buffer (or the last `k`). The callers validate the lengths first.

/// `f(x_r, ks[r], y_r)` for each row `r < ks.len()` of `x` (read) and `y` (written).
///
/// # Errors
/// The first error of `f`; the rows before it are written.
#[inline(always)]
pub fn with_k<X, Y, R, E>(
    x: &[X],
    n: usize,
    ks: &[f64],
    y: &mut [Y],
    mut f: impl FnMut(&[X], f64, &mut [Y]) -> Result<R, E>,
) -> Result<(), E> {
    let (mut x, mut y) = (x, y);
    for &k in ks {
        let (Some((xr, xt)), Some((yr, yt))) = (
            x.split_at_checked(n),
            core::mem::take(&mut y).split_at_mut_checked(n),
        ) else {
            break;
        };
        f(xr, k, yr)?;
        (x, y) = (xt, yt);
    }
    Ok(())
}

/// `f(x_r, ks[r])` for each row `r < ks.len()` of `x`, in place.
///
/// # Errors
/// The first error of `f`; the rows before it are written.
#[inline(always)]
pub fn with_k_in_place<X, R, E>(
    x: &mut [X],
    n: usize,
    ks: &[f64],
    mut f: impl FnMut(&mut [X], f64) -> Result<R, E>,
) -> Result<(), E> {
    let mut x = x;
    for &k in ks {
        let Some((xr, xt)) = core::mem::take(&mut x).split_at_mut_checked(n) else {
            break;
        };
        f(xr, k)?;
        x = xt;
    }
    Ok(())
}

/// `f(a_r, b_r)` for each row of two inputs; nothing when `n == 0`.
///
/// # Errors
/// The first error of `f`.
#[inline(always)]
pub fn pairs<A, B, R, E>(
    a: &[A],
    b: &[B],
    n: usize,
    mut f: impl FnMut(&[A], &[B]) -> Result<R, E>,
) -> Result<(), E> {
    if n == 0 {
        return Ok(());
    }
    let (mut a, mut b) = (a, b);
    while let (Some((ar, at)), Some((br, bt))) = (a.split_at_checked(n), b.split_at_checked(n)) {
        f(ar, br)?;
        (a, b) = (at, bt);
    }
    Ok(())
}

/// `f(a_r, b_r)` for each row of `a` (read) and `b` (written); nothing when `n == 0`.
///
/// # Errors
/// The first error of `f`; the rows before it are written.
#[inline(always)]
pub fn pairs_mut<A, B, R, E>(
    a: &[A],
    b: &mut [B],
    n: usize,
    mut f: impl FnMut(&[A], &mut [B]) -> Result<R, E>,
) -> Result<(), E> {
    if n == 0 {
        return Ok(());
    }
    let (mut a, mut b) = (a, b);
    while let (Some((ar, at)), Some((br, bt))) = (
        a.split_at_checked(n),
        core::mem::take(&mut b).split_at_mut_checked(n),
    ) {
        f(ar, br)?;
        (a, b) = (at, bt);
    }
    Ok(())
}

/// `f(a_r, b_r, o_r)` for each row of two inputs and an output `o`; nothing when `n == 0`.
///
/// # Errors
/// The first error of `f`; the rows before it are written.
#[inline(always)]
pub fn triples<A, B, O, R, E>(
    a: &[A],
    b: &[B],
    o: &mut [O],
    n: usize,
    mut f: impl FnMut(&[A], &[B], &mut [O]) -> Result<R, E>,
) -> Result<(), E> {
    if n == 0 {
        return Ok(());
    }
    let (mut a, mut b, mut o) = (a, b, o);
    while let (Some((ar, at)), Some((br, bt)), Some((or, ot))) = (
        a.split_at_checked(n),
        b.split_at_checked(n),
        core::mem::take(&mut o).split_at_mut_checked(n),
    ) {
        f(ar, br, or)?;
        (a, b, o) = (at, bt, ot);
    }
    Ok(())
}
