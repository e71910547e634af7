//! The one error type of the library.

use core::fmt;

/// Why a call was refused. Every function validates all of its input before it writes
/// anything: when an `Error` is returned, every output, gradient and scratch buffer the caller
/// passed is left exactly as it was.
///
/// The discriminants are stable and are the (negated) status codes of the C ABI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
#[non_exhaustive]
pub enum Error {
    /// Two buffers that must have matching lengths do not (for example `y.len() != x.len()`,
    /// or `logits.len() != batch * classes`), or a size product overflows `usize`.
    LengthMismatch = 1,
    /// `k` is NaN, infinite, negative, or larger than the number of elements it counts; or,
    /// where the input holds `±∞` masks, outside `[#(+∞), n − #(−∞)]`.
    InvalidK = 2,
    /// The hard top-k mask needs an integer `k`.
    NonIntegerK = 3,
    /// The temperature τ is zero, negative, NaN or infinite.
    InvalidTau = 4,
    /// An input value is NaN, or infinite where `±∞` is not a mask: the backward pass's `y` and
    /// `g`, and every input on bare-metal targets (`target_os = "none"`).
    NonFiniteInput = 5,
    /// Every input is finite, but some `x_i / τ` overflows the element type
    /// (for example `x = 1e30`, `τ = 1e-10` in `f32`).
    ScaleOverflow = 6,
    /// A class label is `>= classes`.
    LabelOutOfRange = 7,
    /// The caller's scratch buffer is shorter than the documented size.
    ScratchTooSmall = 8,
    /// A target is outside `[0, 1]` (or NaN).
    InvalidTarget = 9,
    /// An unknown reduction code was passed (C ABI only; Rust uses [`crate::Reduction`]).
    InvalidReduction = 10,
    /// A sharded call's allreduce failed, or the ranks passed different parameters (`k`, τ,
    /// classes, reduction). Every rank returns it.
    Collective = 11,
    /// Scratch memory could not be allocated. Never returned by this crate, which does not
    /// allocate; the hosted crates (SIMD, C ABI) return it when an allocation fails. Its code
    /// is that of the C ABI's `HS_ERR_OUT_OF_MEMORY` (−103).
    OutOfMemory = 103,
}

impl Error {
    /// A short, static, human-readable description.
    pub const fn message(self) -> &'static str {
        match self {
            Error::LengthMismatch => "buffer lengths do not match (or a size overflows)",
            Error::InvalidK => {
                "k is NaN, infinite, negative, or larger than the number of elements"
            }
            Error::NonIntegerK => "the hard top-k mask needs an integer k",
            Error::InvalidTau => "tau must be finite and > 0",
            Error::NonFiniteInput => "an input value is NaN or infinite",
            Error::ScaleOverflow => "x / tau overflows the element type",
            Error::LabelOutOfRange => "a class label is >= the number of classes",
            Error::ScratchTooSmall => "the scratch buffer is too small",
            Error::InvalidTarget => "a target is outside [0, 1] or NaN",
            Error::InvalidReduction => "unknown reduction code",
            Error::Collective => "the allreduce failed or the ranks' parameters differ",
            Error::OutOfMemory => "could not allocate a temporary buffer",
        }
    }

    /// The stable numeric code (1, 2, …) of this error.
    pub const fn code(self) -> i32 {
        self as i32
    }

    /// Every error, in the order of their codes.
    pub const ALL: [Error; 12] = [
        Error::LengthMismatch,
        Error::InvalidK,
        Error::NonIntegerK,
        Error::InvalidTau,
        Error::NonFiniteInput,
        Error::ScaleOverflow,
        Error::LabelOutOfRange,
        Error::ScratchTooSmall,
        Error::InvalidTarget,
        Error::InvalidReduction,
        Error::Collective,
        Error::OutOfMemory,
    ];

    /// The error whose [`Error::code`] is `code`; `None` for any other number (0, negative
    /// C status codes, codes this version does not know).
    pub const fn from_code(code: i32) -> Option<Error> {
        Some(match code {
            1 => Error::LengthMismatch,
            2 => Error::InvalidK,
            3 => Error::NonIntegerK,
            4 => Error::InvalidTau,
            5 => Error::NonFiniteInput,
            6 => Error::ScaleOverflow,
            7 => Error::LabelOutOfRange,
            8 => Error::ScratchTooSmall,
            9 => Error::InvalidTarget,
            10 => Error::InvalidReduction,
            11 => Error::Collective,
            103 => Error::OutOfMemory,
            _ => return None,
        })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}
