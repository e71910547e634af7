//! Status codes of the C ABI and their messages.
//!
//! Convention: `0` is success; a negative value is an error. Errors reported by the core
//! library are `-(code)` of [`hs_core::Error`] (`-1 ..= -99` reserved for them); errors of the
//! ABI layer itself (pointers, memory, panics) are `-100` and below. No function returns a
//! positive value.

use core::ffi::{c_char, CStr};
use hs_core::Error;

/// Success.
pub const HS_OK: i32 = 0;
/// Buffer lengths do not match, or a size product (`rows*n`, `batch*classes`, bytes) overflows.
pub const HS_ERR_LENGTH_MISMATCH: i32 = -1;
/// `k` is NaN, infinite, negative, or larger than the number of elements it counts; or, where x
/// holds +-inf masks, outside [#(+inf), n - #(-inf)].
pub const HS_ERR_INVALID_K: i32 = -2;
/// The hard top-k mask needs an integer k (not returned by the current C functions, whose
/// top-k `k` is a `size_t`; reserved so that the numbering matches the core library).
pub const HS_ERR_NON_INTEGER_K: i32 = -3;
/// The temperature tau is zero, negative, NaN or infinite.
pub const HS_ERR_INVALID_TAU: i32 = -4;
/// An input value is NaN, or infinite where +-inf is not a mask (the backward functions' y and g;
/// every input in the no_std build).
pub const HS_ERR_NON_FINITE_INPUT: i32 = -5;
/// Every input is finite but some x/tau overflows the element type (or 1/tau does).
pub const HS_ERR_SCALE_OVERFLOW: i32 = -6;
/// A class label is >= the number of classes.
pub const HS_ERR_LABEL_OUT_OF_RANGE: i32 = -7;
/// The caller's scratch buffer is shorter than hs_multiclass_scratch_len().
pub const HS_ERR_SCRATCH_TOO_SMALL: i32 = -8;
/// A target is outside [0, 1] or NaN.
pub const HS_ERR_INVALID_TARGET: i32 = -9;
/// The reduction code is neither HS_REDUCTION_SUM nor HS_REDUCTION_MEAN.
pub const HS_ERR_INVALID_REDUCTION: i32 = -10;
/// A sharded call's allreduce callback returned non-zero, or the ranks passed different
/// parameters (k, tau, classes, reduction). Every rank of the call returns it.
pub const HS_ERR_COLLECTIVE: i32 = -11;
/// A pointer that must point to data is NULL (data pointers may be NULL only when their
/// length is 0; `loss` may never be NULL).
pub const HS_ERR_NULL_POINTER: i32 = -100;
/// A pointer is not aligned for its element type.
pub const HS_ERR_MISALIGNED: i32 = -101;
/// An output buffer overlaps another buffer in a way that is not supported (only the exact
/// aliases documented per function are allowed).
pub const HS_ERR_OVERLAP: i32 = -102;
/// A temporary buffer could not be allocated (std build only).
pub const HS_ERR_OUT_OF_MEMORY: i32 = -103;
/// Internal error: a Rust panic was caught at the ABI boundary (std build only; a bug, please
/// report it). Output buffers may have been partially written.
pub const HS_ERR_PANIC: i32 = -104;

/// `hs_hypersimplex_loss_multiclass_*` reduction: `L = 1/2 * sum of squared errors`.
pub const HS_REDUCTION_SUM: i32 = 0;
/// `hs_hypersimplex_loss_multiclass_*` reduction: `L = (sum of squared errors) / (batch*classes)`.
pub const HS_REDUCTION_MEAN: i32 = 1;

// The ABI numbering is tied to the core library's error codes.
const _: () = {
    assert!(HS_ERR_LENGTH_MISMATCH == -Error::LengthMismatch.code());
    assert!(HS_ERR_INVALID_K == -Error::InvalidK.code());
    assert!(HS_ERR_NON_INTEGER_K == -Error::NonIntegerK.code());
    assert!(HS_ERR_INVALID_TAU == -Error::InvalidTau.code());
    assert!(HS_ERR_NON_FINITE_INPUT == -Error::NonFiniteInput.code());
    assert!(HS_ERR_SCALE_OVERFLOW == -Error::ScaleOverflow.code());
    assert!(HS_ERR_LABEL_OUT_OF_RANGE == -Error::LabelOutOfRange.code());
    assert!(HS_ERR_SCRATCH_TOO_SMALL == -Error::ScratchTooSmall.code());
    assert!(HS_ERR_INVALID_TARGET == -Error::InvalidTarget.code());
    assert!(HS_ERR_INVALID_REDUCTION == -Error::InvalidReduction.code());
    assert!(HS_ERR_COLLECTIVE == -Error::Collective.code());
};

/// The status code of a core error: `-(code)`.
#[inline]
pub(crate) fn from_error(e: Error) -> i32 {
    -e.code()
}

/// Every status and its message (NUL-terminated, static). The core messages are the core
/// crate's `Error::message()` texts (a test checks they agree).
pub(crate) const MESSAGES: &[(i32, &CStr)] = &[
    (HS_OK, c"success"),
    (
        HS_ERR_LENGTH_MISMATCH,
        c"buffer lengths do not match (or a size overflows)",
    ),
    (
        HS_ERR_INVALID_K,
        c"k is NaN, infinite, negative, or larger than the number of elements",
    ),
    (
        HS_ERR_NON_INTEGER_K,
        c"the hard top-k mask needs an integer k",
    ),
    (HS_ERR_INVALID_TAU, c"tau must be finite and > 0"),
    (
        HS_ERR_NON_FINITE_INPUT,
        c"an input value is NaN or infinite",
    ),
    (HS_ERR_SCALE_OVERFLOW, c"x / tau overflows the element type"),
    (
        HS_ERR_LABEL_OUT_OF_RANGE,
        c"a class label is >= the number of classes",
    ),
    (HS_ERR_SCRATCH_TOO_SMALL, c"the scratch buffer is too small"),
    (HS_ERR_INVALID_TARGET, c"a target is outside [0, 1] or NaN"),
    (HS_ERR_INVALID_REDUCTION, c"unknown reduction code"),
    (
        HS_ERR_COLLECTIVE,
        c"the allreduce failed or the ranks' parameters differ",
    ),
    (
        HS_ERR_NULL_POINTER,
        c"a required pointer is NULL (NULL is allowed only for length 0)",
    ),
    (
        HS_ERR_MISALIGNED,
        c"a pointer is not aligned for its element type",
    ),
    (
        HS_ERR_OVERLAP,
        c"an output buffer overlaps another buffer (only documented exact aliases are allowed)",
    ),
    (
        HS_ERR_OUT_OF_MEMORY,
        c"could not allocate a temporary buffer",
    ),
    (
        HS_ERR_PANIC,
        c"internal error: a panic was caught at the C boundary (please report)",
    ),
];

/// Returned by `hs_status_message` for any code not in [`MESSAGES`].
pub(crate) const UNKNOWN: &CStr = c"unknown status";

/// The message for `status` as a pointer to a static NUL-terminated string.
pub(crate) fn message(status: i32) -> *const c_char {
    MESSAGES
        .iter()
        .find(|(s, _)| *s == status)
        .map_or(UNKNOWN, |(_, m)| m)
        .as_ptr()
}

/// A static, NUL-terminated, human-readable description of any status value (`"success"` for
/// `HS_OK`, `"unknown status"` for values that are not status codes). Never NULL; do not free.
#[no_mangle]
pub extern "C" fn hs_status_message(status: i32) -> *const c_char {
    message(status)
}

/// The library version, `"MAJOR.MINOR.PATCH"`, as a static NUL-terminated string. Never
/// NULL; do not free.
#[no_mangle]
pub extern "C" fn hs_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_match_core() {
        for e in hs_core::Error::ALL {
            let p = hs_status_message(from_error(e));
            // SAFETY: hs_status_message returns a static NUL-terminated string.
            let s = unsafe { core::ffi::CStr::from_ptr(p) }.to_str().unwrap();
            assert_eq!(s, e.message(), "{e:?}");
        }
        let codes: std::vec::Vec<i32> = MESSAGES.iter().map(|m| m.0).collect();
        for (i, c) in codes.iter().enumerate() {
            assert!(*c <= 0);
            assert!(!codes[i + 1..].contains(c), "duplicate status {c}");
        }
    }
}
