//! Exact widening of `bf16`/`f16` bit patterns to `f32`, and rounding of `f32` to them
//! (round to nearest, ties to even), without any dependency. Tested exhaustively against the
//! `half` crate in `tests/half.rs`.

/// `bf16` bits → `f32`: the upper half of the `f32` pattern (exact; NaN stays NaN).
#[inline(always)]
pub fn bf16_to_f32(h: u16) -> f32 {
    f32::from_bits((h as u32) << 16)
}

/// `f32` → `bf16` bits, round to nearest even; NaN gives a quiet NaN of the same sign and
/// the payload's top 6 bits, overflow gives `±∞`.
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

/// `f16` bits → `f32` (exact; `±∞` and NaN keep their payload). Branch-free, so that
/// slice loops vectorize: the 15 magnitude bits shifted into an `f32` pattern are the value
/// times 2^-112 (normals re-biased, subnormals as `f32` subnormals), and one exact
/// multiplication by 2^112 scales them back.
#[inline(always)]
pub fn f16_to_f32(h: u16) -> f32 {
    let h = h as u32;
    let sign = (h & 0x8000) << 16;
    let em = h & 0x7fff;
    let scaled = (f32::from_bits(em << 13) * f32::from_bits(0x7780_0000)).to_bits();
    let special = 0x7f80_0000 | ((em & 0x03ff) << 13);
    f32::from_bits(sign | if em >= 0x7c00 { special } else { scaled })
}

/// The smallest `f32` magnitude that rounds to `f16` infinity: 65520 (the midpoint between
/// 65504 and 2^16, which ties to the even pattern, ∞).
pub const F16_OVERFLOW: f32 = 65520.0;

/// `f32` → `f16` bits, round to nearest even; NaN gives a quiet NaN of the same sign and
/// the payload's top 9 bits, magnitudes from 65520 up give `±∞`, and values below 2^-14
/// round to subnormals. Every case is computed and one selected (no branches), so that slice
/// loops vectorize.
#[inline(always)]
pub fn f32_to_f16(v: f32) -> u16 {
    let b = v.to_bits();
    let sign = (b >> 16) & 0x8000;
    let a = b & 0x7fff_ffff;
    // ≥ 2^-14, a normal f16: round the 13 dropped bits to nearest even (a carry into the
    // exponent is correct), then re-bias the exponent 127 → 15
    let lsb = (a >> 13) & 1;
    let normal = (a.wrapping_add(0x0fff + lsb) >> 13).wrapping_sub((127 - 15) << 10);
    // below 2^-14: 0.5 + |v| has the spacing 2^-24 of the f16 subnormals, so the addition
    // rounds |v| to nearest even among them; its low bits are m (1024 is the smallest normal,
    // whose pattern 0x0400 carries over)
    let sub = (f32::from_bits(a) + 0.5)
        .to_bits()
        .wrapping_sub(0x3f00_0000);
    let nan = 0x7e00 | ((a >> 13) & 0x03ff);
    let r = if a > 0x7f80_0000 {
        nan
    } else if a >= 0x477f_f000 {
        0x7c00 // ≥ 65520 (and ∞)
    } else if a >= 0x3880_0000 {
        normal
    } else {
        sub
    };
    (sign | r) as u16
}
