//! Turning the caller's raw pointers into slices, without undefined behaviour on bad input.
//!
//! Every buffer first becomes a [`Region`] (pointer + length, checked for NULL, alignment and
//! size overflow). Overlaps are decided on regions, as address ranges, *before* any Rust
//! reference exists; only then are slices created. So a bad pointer combination is reported as
//! a status instead of creating aliasing `&`/`&mut` references.

use crate::status::{
    HS_ERR_LENGTH_MISMATCH, HS_ERR_MISALIGNED, HS_ERR_NULL_POINTER, HS_ERR_OVERLAP,
};
use core::mem::size_of;
use core::ptr::NonNull;

/// A checked buffer: `len` elements of `T` at `ptr` (dangling, never dereferenced, when
/// `len == 0`).
#[derive(Debug)]
pub(crate) struct Region<T> {
    ptr: *mut T,
    len: usize,
}

impl<T> Clone for Region<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Region<T> {}

impl<T> Region<T> {
    /// Checks a buffer of `len` elements: NULL is accepted only for `len == 0`; otherwise the
    /// pointer must be aligned and `len * size_of::<T>()` bytes must neither exceed
    /// `isize::MAX` nor wrap around the address space.
    pub(crate) fn new(ptr: *const T, len: usize) -> Result<Self, i32> {
        if len == 0 {
            return Ok(Region {
                ptr: NonNull::<T>::dangling().as_ptr(),
                len: 0,
            });
        }
        if ptr.is_null() {
            return Err(HS_ERR_NULL_POINTER);
        }
        if !ptr.is_aligned() {
            return Err(HS_ERR_MISALIGNED);
        }
        let bytes = len
            .checked_mul(size_of::<T>())
            .filter(|&b| b <= isize::MAX as usize)
            .ok_or(HS_ERR_LENGTH_MISMATCH)?;
        if (ptr as usize).checked_add(bytes).is_none() {
            return Err(HS_ERR_LENGTH_MISMATCH);
        }
        Ok(Region {
            ptr: ptr as *mut T,
            len,
        })
    }

    /// As [`Region::new`] for a buffer of `a * b` elements (`LENGTH_MISMATCH` on overflow).
    pub(crate) fn new2(ptr: *const T, a: usize, b: usize) -> Result<Self, i32> {
        Self::new(ptr, a.checked_mul(b).ok_or(HS_ERR_LENGTH_MISMATCH)?)
    }

    /// A single element that must exist (NULL is always an error).
    pub(crate) fn one(ptr: *mut T) -> Result<Self, i32> {
        if ptr.is_null() {
            return Err(HS_ERR_NULL_POINTER);
        }
        Self::new(ptr, 1)
    }

    /// The byte range `[start, end)`; empty for `len == 0`.
    fn range(&self) -> (usize, usize) {
        let start = self.ptr as usize;
        (start, start + self.len * size_of::<T>())
    }

    /// `true` when both regions are the same non-empty buffer (same start, same length).
    pub(crate) fn same(&self, other: &Region<T>) -> bool {
        self.len > 0 && self.ptr == other.ptr && self.len == other.len
    }

    /// The region as a shared slice.
    ///
    /// # Safety
    /// The caller of the C function guarantees that the memory holds `len` initialised
    /// elements that stay valid and are not written by anyone else during the call, and the
    /// caller of this method that no `&mut` slice overlapping it exists.
    pub(crate) unsafe fn slice<'a>(self) -> &'a [T] {
        // SAFETY: non-NULL (or dangling with len 0), aligned, size ≤ isize::MAX and not
        // wrapping (checked in `new`); validity and exclusivity are the caller's contract.
        unsafe { core::slice::from_raw_parts(self.ptr, self.len) }
    }

    /// The region as a mutable slice.
    ///
    /// # Safety
    /// As [`Region::slice`], and no other slice overlapping it exists during `'a`.
    pub(crate) unsafe fn slice_mut<'a>(self) -> &'a mut [T] {
        // SAFETY: as in `slice`; exclusivity is checked by the caller with `overlaps`.
        unsafe { core::slice::from_raw_parts_mut(self.ptr, self.len) }
    }

    /// Writes one value to a region made by [`Region::one`].
    ///
    /// # Safety
    /// The caller guarantees the element is writable and not referenced by any live slice.
    pub(crate) unsafe fn write_first(self, v: T) {
        if self.len > 0 {
            // SAFETY: len ≥ 1, so `ptr` is a real, aligned pointer to writable memory.
            unsafe { self.ptr.write(v) }
        }
    }
}

/// `Err(HS_ERR_OVERLAP)` when the output region overlaps any of the others.
pub(crate) fn disjoint<T>(out: &Region<T>, others: &[(usize, usize)]) -> Result<(), i32> {
    let (a0, a1) = out.range();
    if a0 < a1 && others.iter().any(|&(b0, b1)| b0 < b1 && a0 < b1 && b0 < a1) {
        Err(HS_ERR_OVERLAP)
    } else {
        Ok(())
    }
}

/// The regions `(x, y, k)` of a rows call ([`rows_regions`]).
pub(crate) type RowsRegions<T, K> = (Region<T>, Region<T>, Region<K>);

/// The regions of a rows call: `x` and `y` of `rows·n` elements, `k` of `rows`, with `y`
/// checked not to overlap `k` (whether `y` is `x`, or overlaps it, is the caller's to check:
/// some calls allow the in-place alias).
pub(crate) fn rows_regions<T, K>(
    x: *const T,
    y: *mut T,
    k: *const K,
    rows: usize,
    n: usize,
) -> Result<RowsRegions<T, K>, i32> {
    let rx = Region::new2(x, rows, n)?;
    let ry = Region::new2(y, rows, n)?;
    let rk = Region::new(k, rows)?;
    disjoint(&ry, &[span(&rk)])?;
    Ok((rx, ry, rk))
}

/// The byte range of a region, for [`disjoint`] lists over mixed element types.
pub(crate) fn span<T>(r: &Region<T>) -> (usize, usize) {
    r.range()
}

/// A call whose output `y` may be its input `x` exactly (the documented in-place alias):
/// `in_place` on the one buffer when `ry` is `rx`, else, when they do not overlap at all,
/// `apart` on the two (a partial overlap is `HS_ERR_OVERLAP`).
///
/// # Safety
/// As [`Region::slice`] for `rx` and [`Region::slice_mut`] for `ry`: no live slice of `ry`'s
/// memory exists (slices of other regions the caller checked to be disjoint from it may).
// Inlined into each caller: outlined, its instances cost the Cortex-M4F firmware 200 bytes of
// flash (8300 against the 8192 budget, `scripts/test-firmware.sh`).
#[inline(always)]
pub(crate) unsafe fn in_place_or<T, R>(
    rx: &Region<T>,
    ry: &Region<T>,
    in_place: impl FnOnce(&mut [T]) -> Result<R, i32>,
    apart: impl FnOnce(&[T], &mut [T]) -> Result<R, i32>,
) -> Result<R, i32> {
    if ry.same(rx) {
        // SAFETY: one buffer, of which no other slice exists (the caller's guarantee).
        return in_place(unsafe { ry.slice_mut() });
    }
    disjoint(ry, &[span(rx)])?;
    // SAFETY: checked regions; y does not overlap x, and no other slice of y exists.
    let (xs, ys) = unsafe { (rx.slice(), ry.slice_mut()) };
    apart(xs, ys)
}
