//! Exact widening of `bf16`/`f16` bit patterns to `f32`, and rounding of `f32` to them
//! (round to nearest, ties to even), without any dependency. Tested exhaustively against the
//! `half` crate in `tests/half.rs`.

/// `bf16` bits → `f32`: the upper half of the `f32` pattern (exact; NaN stays NaN).
#[inline(always)]
pub fn bf16_to_f32(h: u16) -> f32 {
    f32::from_bits((h as u32) << 16)
}

/// `f32` → `bf16` bits, round to nearest even; NaN gives a quiet NaN of the same sign,
/// overflow gives `±∞`.
#[inline(always)]
pub fn f32_to_bf16(v: f32) -> u16 {
    let b = v.to_bits();
    if b & 0x7fff_ffff > 0x7f80_0000 {
        // NaN: keep the sign and the upper payload bits, set the quiet bit
        return ((b >> 16) as u16) | 0x0040;
    }
    // Adding 0x7fff plus the lowest kept bit rounds to nearest even; a carry into the exponent
    // is the correct result (up to +∞ from the largest finite values).
    let lsb = (b >> 16) & 1;
    (b.wrapping_add(0x7fff + lsb) >> 16) as u16
}

/// `f16` bits → `f32` (exact: normals are re-biased, subnormals scaled by 2^-24; `±∞`
/// and NaN keep their payload).
#[inline(always)]
pub fn f16_to_f32(h: u16) -> f32 {
    let h = h as u32;
    let sign = (h & 0x8000) << 16;
    let em = h & 0x7fff;
    let bits = if em >= 0x7c00 {
        // ±∞ and NaN
        0x7f80_0000 | ((em & 0x03ff) << 13)
    } else if em < 0x0400 {
        // zero and subnormals: m · 2^-24, exact in f32 (m < 2^10)
        (em as f32 * (1.0 / 16_777_216.0)).to_bits()
    } else {
        // normals: exponent bias 15 → 127
        (em << 13) + ((127 - 15) << 23)
    };
    f32::from_bits(sign | bits)
}

/// The smallest `f32` magnitude that rounds to `f16` infinity: 65520 (the midpoint between
/// 65504 and 2^16, which ties to the even pattern, ∞).
pub const F16_OVERFLOW: f32 = 65520.0;

/// `f32` → `f16` bits, round to nearest even; NaN gives a quiet NaN of the same sign,
/// magnitudes from 65520 up give `±∞`, and values below 2^-14 round to subnormals.
#[inline(always)]
pub fn f32_to_f16(v: f32) -> u16 {
    let b = v.to_bits();
    let sign = ((b >> 16) & 0x8000) as u16;
    let a = b & 0x7fff_ffff;
    if a > 0x7f80_0000 {
        // NaN: quiet bit set, upper payload bits kept
        return sign | 0x7e00 | ((a >> 13) & 0x03ff) as u16;
    }
    if a >= 0x477f_f000 {
        // ≥ 65520 (and ∞)
        return sign | 0x7c00;
    }
    if a >= 0x3880_0000 {
        // ≥ 2^-14: a normal f16. Round the 13 dropped bits to nearest even (a carry into the
        // exponent is correct), then re-bias the exponent 127 → 15.
        let lsb = (a >> 13) & 1;
        let r = (a + 0x0fff + lsb) >> 13;
        return sign | (r - ((127 - 15) << 10)) as u16;
    }
    // Below 2^-14: the subnormal m · 2^-24 nearest to v, m = round(v · 2^24) ≤ 1024 (1024 is
    // the smallest normal, whose pattern is 0x0400: the encoding carries over).
    let e = a >> 23;
    if e == 0 {
        return sign; // f32 subnormals are far below 2^-25
    }
    let mant = (a & 0x007f_ffff) | 0x0080_0000;
    // v · 2^24 = mant · 2^(e − 126); e ≤ 112 here, so the shift is at least 14
    let shift = 126 - e;
    if shift >= 25 {
        return sign; // v < 2^-25: rounds to zero (mant < 2^24)
    }
    let q = mant >> shift;
    let rem = mant & ((1u32 << shift) - 1);
    let half = 1u32 << (shift - 1);
    let up = (rem > half) | ((rem == half) & (q & 1 == 1));
    sign | (q + up as u32) as u16
}
