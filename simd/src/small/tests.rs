use super::*;
use crate::platform::Path;
#[cfg(all(target_arch = "x86_64", hs_avx512))]
use core::arch::x86_64::{__m256, __m256i};

/// xorshift64: a reproducible stream of bits.
pub(super) fn xorshift(mut s: u64) -> impl FnMut() -> u64 {
    move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    }
}

/// [`applies`]: the short-row solver takes `f32` rows of 1..=`SMALL_MAX` elements with τ up
/// to `MAX/64` (`HUGE_TAU`); longer rows, `f64` rows and larger τ (where `fl(1/τ)` may be
/// subnormal) go to the general path. Both meet the same contract, so no result shows which
/// ran: this pins the routing itself.
#[test]
fn short_solver_routing() {
    let edge = f32::MAX / 64.0;
    for n in [1, 2, 10, 64, SMALL_MAX] {
        assert!(applies::<f32>(n, 1.5f32), "n={n}");
        assert!(applies::<f32>(n, 1e-30f32), "n={n}");
        assert!(applies::<f32>(n, edge), "n={n} τ=MAX/64");
        assert!(!applies::<f32>(n, edge * 1.001), "n={n} τ>MAX/64");
        assert!(!applies::<f32>(n, f32::MAX), "n={n} τ=MAX");
        assert!(!applies::<f64>(n, 1.5f64), "n={n} f64");
    }
    assert!(!applies::<f32>(SMALL_MAX + 1, 1.5f32));
}

/// [`row_index`]'s multiply-shift gives `min(⌊p/n⌋, LANES − 1)` at every position of every
/// short-row length.
#[test]
fn rows_of_lanes() {
    for n in 1..=VJP_SHORT_MAX {
        let mut idx = [[0i32; LANES]; VJP_SHORT_MAX];
        row_index(n, &mut idx);
        for (v, iv) in idx.iter().enumerate().take(n) {
            for (i, &r) in iv.iter().enumerate() {
                let want = ((LANES * v + i) / n).min(LANES - 1) as i32;
                assert_eq!(r, want, "n={n} v={v} i={i}");
            }
        }
    }
}

/// [`block_ks`]: the rows' k copied in, `true` whenever they differ from what the block held
/// (and on the first block), and, past the end of a slice shorter than the rows (which
/// validation rules out), NaN for each missing k.
#[test]
fn block_ks_reports_and_copies_the_rows_k() {
    let all: Vec<f64> = (0..40).map(|r| (r % 7) as f64 + 0.5).collect();
    let mut ks = [-1.0f64; BLOCK];
    // the first block copies whatever `ks` held
    assert!(block_ks(&mut ks, &all, 0, BLOCK, true));
    assert_eq!(ks[..], all[..BLOCK]);
    // the same values again: nothing to do, on the first block still reported
    assert!(!block_ks(&mut ks, &all, 0, BLOCK, false));
    assert!(block_ks(&mut ks, &all, 0, BLOCK, true));
    // rows 7..7 + BLOCK (k repeats every 7 rows): the same k, not reported, `ks` unchanged
    assert!(!block_ks(&mut ks, &all, 7, BLOCK, false));
    assert_eq!(ks[..], all[..BLOCK]);
    // one row differs: reported and copied
    assert!(block_ks(&mut ks, &all, 1, BLOCK, false));
    assert_eq!(ks[..], all[1..1 + BLOCK]);
    // a partial block of 3 rows: only `ks[..3]` is read and written
    let before = ks;
    assert!(block_ks(&mut ks, &all, 30, 3, false));
    assert_eq!(ks[..3], all[30..33]);
    assert_eq!(ks[3..], before[3..]);
    // a slice ending inside the block: the rows it holds, NaN past its end, always reported
    let short = &all[..BLOCK / 2 + 3];
    let at = BLOCK / 2;
    assert!(block_ks(&mut ks, short, at, 5, false));
    assert_eq!(ks[..3], all[at..at + 3]);
    assert!(ks[3].is_nan() && ks[4].is_nan(), "{:?}", &ks[..5]);
    assert_eq!(ks[5..], before[5..]);
}

/// The VJP across rows gives, on every path, the bits of [`vjp_row`] (the scalar definition,
/// which the single-vector VJP shares) for each row: rows of every length up to 16, with
/// free entries, exact 0s and 1s, and a row with no free entry; partial blocks too.
#[test]
fn vjp_blocks_match_the_rows() {
    let mut next = xorshift(0x1234_5678_9abc_def1);
    for n in [
        1usize,
        2,
        3,
        4,
        5,
        6,
        7,
        8,
        9,
        10,
        11,
        12,
        13,
        15,
        16,
        33,
        64,
        VJP_SHORT_MAX,
    ] {
        // 19 and 35: one and two pairs of blocks (the tiles route's interleave) and a rest
        for rows in [1usize, 5, 8, 19, 35] {
            let y: Vec<f32> = (0..rows * n)
                .map(|i| match (next() % 4, i / n) {
                    (_, 3) => 1.0, // no free entry in row 3
                    (0, _) => 0.0,
                    (1, _) => 1.0,
                    _ => (next() % 1000) as f32 / 1000.0,
                })
                .collect();
            let g: Vec<f32> = (0..rows * n)
                .map(|_| ((next() >> 11) as f64 / (1u64 << 53) as f64 - 0.5) as f32 * 1e3)
                .collect();
            let mut want = vec![7.0f32; rows * n];
            for ((yr, gr), o) in y.chunks(n).zip(g.chunks(n)).zip(want.chunks_mut(n)) {
                vjp_row(yr, gr, 1.0 / 0.7, o);
            }
            let b = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            for k in Path::supported() {
                let kern = Kernels::new(k).expect("supported");
                let mut got = vec![7.0f32; rows * n];
                vjp_rows(kern, &y, &g, n, 1.0 / 0.7, &mut got);
                assert_eq!(b(&got), b(&want), "{k:?} n = {n} rows = {rows}");
                // both loading routes, whichever `vjp_rows` takes for this n
                for two in [false, true] {
                    let mut got = vec![7.0f32; rows * n];
                    with_buffer(2 * n, |buf| {
                        if two {
                            vjp_blocks_tiles(kern, &y, &g, n, 1.0 / 0.7, &mut got, buf)
                        } else {
                            vjp_blocks(kern, &y, &g, n, 1.0 / 0.7, &mut got, buf)
                        }
                    });
                    assert_eq!(b(&got), b(&want), "{k:?} two {two} n = {n} rows = {rows}");
                }
            }
        }
    }
}

/// Values where the ISAs' instructions differ: NaN, signed zeros, infinities, subnormals,
/// the ends of `i32`'s range, ties of the rounding, and random ones.
fn awkward(next: &mut impl FnMut() -> u64) -> Lane {
    const SPECIAL: [f32; 20] = [
        f32::NAN,
        -f32::NAN,
        0.0,
        -0.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        1e-45,
        -1e-40,
        2_147_483_648.0,
        2_147_483_520.0,
        -2_147_483_648.0,
        -2_147_483_904.0,
        0.5,
        1.5,
        -2.5,
        16_777_216.0,
        f32::MAX,
        -f32::MAX,
        3.0e9,
        1.0,
    ];
    core::array::from_fn(|_| match next() % 3 {
        0 => SPECIAL[(next() % SPECIAL.len() as u64) as usize],
        1 => f32::from_bits(next() as u32),
        _ => ((next() % 33) as f32 - 16.0) * 0.25,
    })
}

/// Each primitive of `O` against [`Portable`]'s, bit for bit, on [`awkward`] values.
///
/// # Safety
/// The CPU features of `O`.
unsafe fn primitives_match<O: Ops>() {
    type P = Portable;
    let mut next = xorshift(0x0bad_5eed_1234_5678);
    // bits, every NaN as one: IEEE 754 leaves the payload of an arithmetic result open
    // (x86 and aarch64 differ), and no NaN computed here reaches an output
    let fb = |v: Lane| v.map(|x| if x.is_nan() { u32::MAX } else { x.to_bits() });
    let exact = |v: Lane| v.map(f32::to_bits);
    // SAFETY: the caller guarantees `O`'s features; `Portable` needs none.
    unsafe {
        let v = |a: O::V| {
            let mut o = [0.0f32; LANES];
            O::store(&mut o, a);
            fb(o)
        };
        let vx = |a: O::V| {
            let mut o = [0.0f32; LANES];
            O::store(&mut o, a);
            exact(o)
        };
        let i = |a: O::I| {
            let mut o = [0i32; LANES];
            O::store_i(&mut o, a);
            o
        };
        let db = |x: f64| if x.is_nan() { u64::MAX } else { x.to_bits() };
        let d = |lo: O::D, hi: O::D| {
            let mut o = [[0.0f64; 4]; 2];
            O::store_d(&mut o[0], lo);
            O::store_d(&mut o[1], hi);
            o.map(|h| h.map(db))
        };
        let dp = |lo: [f64; 4], hi: [f64; 4]| [lo.map(db), hi.map(db)];
        for trial in 0..3000 {
            let (a, b) = (awkward(&mut next), awkward(&mut next));
            let m: ILane = core::array::from_fn(|_| mask(next() % 2 == 0));
            let (ia, ib): (ILane, ILane) = (
                core::array::from_fn(|_| next() as i32 >> (next() % 32)),
                core::array::from_fn(|_| next() as i32 >> (next() % 32)),
            );
            let (oa, ob, om) = (O::load(&a), O::load(&b), O::load_i(&m));
            let (oia, oib) = (O::load_i(&ia), O::load_i(&ib));
            let t = format!("trial {trial}: a = {a:?}, b = {b:?}, ia = {ia:?}, ib = {ib:?}");
            assert_eq!(v(O::add(oa, ob)), fb(P::add(a, b)), "add {t}");
            assert_eq!(v(O::sub(oa, ob)), fb(P::sub(a, b)), "sub {t}");
            assert_eq!(v(O::mul(oa, ob)), fb(P::mul(a, b)), "mul {t}");
            assert_eq!(v(O::div(oa, ob)), fb(P::div(a, b)), "div {t}");
            // (negative values: NaN, every NaN one value in `fb`)
            assert_eq!(v(O::sqrt(oa)), fb(P::sqrt(a)), "sqrt {t}");
            assert_eq!(vx(O::min(oa, ob)), exact(P::min(a, b)), "min {t}");
            assert_eq!(vx(O::max(oa, ob)), exact(P::max(a, b)), "max {t}");
            assert_eq!(vx(O::abs(oa)), exact(P::abs(a)), "abs {t}");
            assert_eq!(i(O::gt(oa, ob)), P::gt(a, b), "gt {t}");
            assert_eq!(i(O::lt(oa, ob)), P::lt(a, b), "lt {t}");
            assert_eq!(i(O::eq(oa, ob)), P::eq(a, b), "eq {t}");
            assert_eq!(i(O::abs_le(oa, ob)), P::abs_le(a, b), "abs_le {t}");
            // the reductions of rows solved where they lie: integer sums (wrapping), and
            // without NaN the least lane and a row's statistics (the tree sum bit for bit;
            // `min` and `max` by value: the sign of a zero there is left open)
            assert_eq!(O::hsum2_i(oia, oib), P::hsum2_i(ia, ib), "hsum2_i {t}");
            if !a.iter().chain(&b).any(|x| x.is_nan()) {
                let a0 = a.map(|x| x.abs());
                assert_eq!(O::hmin(O::load(&a0)), P::hmin(a0), "hmin {t}");
                let (s, l, h) = O::hstats(oa, oa, ob);
                let (ps, pl, ph) = P::hstats(a, a, b);
                assert_eq!(
                    (fb([s; LANES]), l, h),
                    (fb([ps; LANES]), pl, ph),
                    "hstats {t}"
                );
                let tree = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
                assert_eq!(fb([ps; LANES]), fb([tree; LANES]), "hstats' tree {t}");
            }
            // the same reductions eight rows at once (row r into lane r): each lane the
            // one-row reduction's value
            let rows: [Lane; LANES] = core::array::from_fn(|r| match r {
                0 => a,
                1 => b,
                _ => awkward(&mut next),
            });
            let irows: [ILane; LANES] =
                core::array::from_fn(|_| core::array::from_fn(|_| next() as i32 >> (next() % 32)));
            let per_row_i: ILane = core::array::from_fn(|r| P::hsum2_i(irows[r], irows[r]).0);
            assert_eq!(
                i(O::hsum8_i(&irows.map(|v| O::load_i(&v)))),
                per_row_i,
                "hsum8_i {t}"
            );
            assert_eq!(P::hsum8_i(&irows), per_row_i, "Portable::hsum8_i {t}");
            if !rows.iter().flatten().any(|x| x.is_nan()) {
                let pos = rows.map(|v| v.map(f32::abs));
                let mins: Lane = core::array::from_fn(|r| P::hmin(pos[r]));
                assert_eq!(
                    vx(O::hmin8(&pos.map(|v| O::load(&v)))),
                    exact(mins),
                    "hmin8 {t}"
                );
                let lo = rows.map(|v| v.map(|x| x * 0.5));
                let hi: [Lane; LANES] = core::array::from_fn(|r| rows[(r + 3) % LANES]);
                let want: [(f32, f32, f32); LANES] =
                    core::array::from_fn(|r| P::hstats(rows[r], lo[r], hi[r]));
                let ld = |v: [Lane; LANES]| v.map(|w| O::load(&w));
                let (s8, l8, h8) = O::hstats8(&ld(rows), &ld(lo), &ld(hi));
                let val = |a: O::V| {
                    let mut o = [0.0f32; LANES];
                    O::store(&mut o, a);
                    o
                };
                assert_eq!(v(s8), fb(want.map(|w| w.0)), "hstats8 sums {t}");
                assert_eq!(val(l8), want.map(|w| w.1), "hstats8 minima {t}");
                assert_eq!(val(h8), want.map(|w| w.2), "hstats8 maxima {t}");
            }
            let inside = a.map(|x| x.abs() < 2_147_483_648.0);
            let within =
                |r: ILane| core::array::from_fn::<_, LANES, _>(|j| inside[j].then_some(r[j]));
            assert_eq!(
                within(i(O::round_i(oa))),
                within(P::round_i(a)),
                "round_i {t}"
            );
            assert_eq!(vx(O::or_v(oa, om, ob)), exact(P::or_v(a, m, b)), "or_v {t}");
            assert_eq!(
                vx(O::select(om, oa, ob)),
                exact(P::select(m, a, b)),
                "select {t}"
            );
            assert_eq!(O::any(om), P::any(m), "any {t}");
            assert_eq!(O::bits(om), P::bits(m), "bits {t}");
            assert_eq!(O::bits(oia), P::bits(ia), "bits {t}");
            let lb = next() as u32;
            assert_eq!(i(O::lane_mask(lb)), P::lane_mask(lb), "lane_mask {lb:#x}");
            assert_eq!(i(O::and(oia, oib)), P::and(ia, ib), "and {t}");
            assert_eq!(i(O::or(oia, oib)), P::or(ia, ib), "or {t}");
            assert_eq!(i(O::andnot(oia, oib)), P::andnot(ia, ib), "andnot {t}");
            assert_eq!(i(O::add_i(oia, oib)), P::add_i(ia, ib), "add_i {t}");
            assert_eq!(i(O::sub_i(oia, oib)), P::sub_i(ia, ib), "sub_i {t}");
            assert_eq!(i(O::eq_i(oia, oib)), P::eq_i(ia, ib), "eq_i {t}");
            assert_eq!(i(O::gt_i(oia, oib)), P::gt_i(ia, ib), "gt_i {t}");
            assert_eq!(i(O::max_i(oia, oib)), P::max_i(ia, ib), "max_i {t}");
            assert_eq!(v(O::to_f32(oia)), fb(P::to_f32(ia)), "to_f32 {t}");
            let (wl, wh) = (O::widen(oa, false), O::widen(oa, true));
            let (pl, ph) = (P::widen(a, false), P::widen(a, true));
            assert_eq!(d(wl, wh), dp(pl, ph), "widen {t}");
            let (il, ih) = (O::widen_i(oia, false), O::widen_i(oia, true));
            let (jl, jh) = (P::widen_i(ia, false), P::widen_i(ia, true));
            assert_eq!(d(il, ih), dp(jl, jh), "widen_i {t}");
            // f64 halves: from the widened lanes, scaled to leave f32's range at times
            let small = if trial % 2 == 0 { 1.0 } else { 1e-40 };
            let (bl, bh) = (P::widen(b, false), P::widen(b, true));
            let (xl, xh) = (O::div_d(wl, O::splat_d(small)), O::widen(ob, true));
            let (yl, yh) = (P::div_d(pl, P::splat_d(small)), bh);
            let ob_l = O::widen(ob, false);
            assert_eq!(d(xl, xh), dp(yl, yh), "div_d by a small {t}");
            assert_eq!(
                d(O::add_d(xl, ob_l), O::sub_d(xh, il)),
                dp(P::add_d(yl, bl), P::sub_d(yh, jl)),
                "add_d/sub_d {t}"
            );
            assert_eq!(
                d(O::div_d(xl, ob_l), O::div_d(il, xh)),
                dp(P::div_d(yl, bl), P::div_d(jl, yh)),
                "div_d {t}"
            );
            assert_eq!(v(O::narrow(xl, il)), fb(P::narrow(yl, jl)), "narrow {t}");
            let mut st = [[0.0f64; 4]; 2];
            O::store_d(&mut st[0], O::load_d(&yl));
            assert_eq!(dp(st[0], st[1]), dp(yl, [0.0; 4]), "load_d {t}");
        }
    }
}

/// `isa::avx2::Small512`: [`Portable`]'s bits on each primitive, and its 16-lane
/// [`Ops::pass_pair`] the bits of two [`pass_sums`] of [`Portable`] (with and without `R`),
/// on awkward values and on entries and μ placed so that `h` is exactly ±½ (the free-set
/// bound), 0 or one unit off it, for lengths 1–40 and both units.
///
/// # Safety
/// AVX2 and AVX-512 F, VL and DQ.
#[cfg(all(target_arch = "x86_64", hs_avx512))]
#[target_feature(enable = "avx2,avx512f,avx512vl,avx512dq")]
unsafe fn primitives_match_512() {
    type W = crate::isa::avx2::Small512;
    // SAFETY: the caller guarantees the features.
    unsafe { primitives_match::<W>() };
    let mut next = xorshift(0x5151_7e57_0dd5_eed5);
    let fb = |v: Lane| v.map(|x| if x.is_nan() { u32::MAX } else { x.to_bits() });
    for trial in 0..2000 {
        let len = 1 + (next() % 40) as usize;
        let unit_f = if trial % 2 == 0 {
            16_777_216.0
        } else {
            8_388_608.0
        };
        let half = unit_f * 0.5;
        let mu: [Lane; 2] = core::array::from_fn(|_| {
            core::array::from_fn(|_| match next() % 3 {
                0 => ((next() % 2001) as f32 - 1000.0) * (unit_f / 256.0),
                1 => (next() % 7) as f32 * half - 1.5 * unit_f,
                _ => f32::from_bits(next() as u32),
            })
        });
        let mut z = vec![[0.0f32; LANES]; 2 * len];
        for (i, zi) in z.iter_mut().enumerate() {
            let g = i / len;
            *zi = match next() % 3 {
                0 => awkward(&mut next),
                // h at, next to, or inside the free set's bound
                1 => core::array::from_fn(|j| {
                    let off = [-half, half, 0.0, half + 1.0, -half - 1.0, half - 1.0];
                    mu[g][j] + off[(next() % off.len() as u64) as usize]
                }),
                _ => core::array::from_fn(|_| ((next() % 4001) as f32 - 2000.0) * (unit_f / 512.0)),
            };
        }
        let (z0, z1) = z.split_at(len);
        let show = |r: (ILane, ILane, Lane)| (r.0, r.1, fb(r.2));
        // SAFETY: the caller guarantees the features; `Portable` needs none.
        unsafe {
            let (m0, m1) = (W::load(&mu[0]), W::load(&mu[1]));
            let got = |r: (__m256i, __m256i, __m256)| {
                let (mut q, mut c, mut v) = ([0i32; LANES], [0i32; LANES], [0.0f32; LANES]);
                W::store_i(&mut q, r.0);
                W::store_i(&mut c, r.1);
                W::store(&mut v, r.2);
                (q, c, fb(v))
            };
            let (a0, a1) = W::pass_pair::<true>(z0, z1, m0, m1, unit_f);
            let (b0, b1) = W::pass_pair::<false>(z0, z1, m0, m1, unit_f);
            let want = |zg: &[Lane], m: Lane, r: bool| {
                show(if r {
                    pass_sums::<Portable, true>(zg, m, unit_f)
                } else {
                    pass_sums::<Portable, false>(zg, m, unit_f)
                })
            };
            let t = format!("trial {trial}, len {len}");
            assert_eq!(got(a0), want(z0, mu[0], true), "pass_pair group 0, {t}");
            assert_eq!(got(a1), want(z1, mu[1], true), "pass_pair group 1, {t}");
            assert_eq!(got(b0), want(z0, mu[0], false), "pass_pair without R, {t}");
            assert_eq!(got(b1), want(z1, mu[1], false), "pass_pair without R, {t}");
        }
    }
}

/// Every [`Ops`] implementation this machine can run computes [`Portable`]'s bits on each
/// primitive (a mutation such as `fmin` for `min` or a saturating `round_i` fails here).
#[test]
fn primitives_match_the_portable_twin() {
    let mut tested = 0;
    for k in Path::supported() {
        match k {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Path::supported` lists AVX2 only when the CPU has it.
            Path::Avx2 => unsafe { primitives_match::<crate::isa::avx2::Small>() },
            #[cfg(all(target_arch = "x86_64", hs_avx512))]
            // SAFETY: `Path::supported` lists AVX-512 only when the CPU has it.
            Path::Avx512 => unsafe { primitives_match_512() },
            #[cfg(target_arch = "aarch64")]
            // SAFETY: NEON is in the aarch64 baseline.
            Path::Neon => unsafe { primitives_match::<crate::isa::neon::Small>() },
            _ => continue,
        }
        tested += 1;
    }
    // SAFETY: `Portable` needs no CPU feature (against itself: the harness runs).
    unsafe { primitives_match::<Portable>() };
    println!("{tested} vector implementations checked");
}

/// [`block_any`] on [`Portable`], in a frame of its own: in a debug build the inlined solver
/// takes about 0.6 MB of stack, which inlined into the test's frame beside the vector paths'
/// own (about 1.5 MB, called from it) overflowed a 2 MB test thread.
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn portable_block(
    x: &[f32],
    n: usize,
    rows: usize,
    kl: &KLanes,
    scale: f32,
    y: &mut [f32],
    zt: &mut [Lane],
    details: Option<&mut [Row; BLOCK]>,
) -> u32 {
    // SAFETY: `Portable` needs no CPU feature.
    unsafe { block_any::<Portable, f32>(x, n, rows, kl, scale, y, zt, details) }
}

/// Every [`Ops`] implementation gives the bits of [`Portable`] on the primitives and on whole
/// blocks: data at the breakpoints (`d = 0`, `d = 1`), signed zeros, ties, a spread of
/// magnitudes, every k class.
#[test]
fn blocks_match_the_portable_twin() {
    let mut next = xorshift(0x9e37_79b9_7f4a_7c15);
    // (n = 4…15: the AVX2 path's 4-column tiles and their overlapping last tile)
    for n in [1usize, 2, 4, 5, 7, 10, 12, 13, 15, 33, 128, 129, 256] {
        for trial in 0..120 {
            // whole blocks, and partial ones (one group, or a second one of a few rows)
            let rows = [BLOCK, 1, 5, 8, 9, 13][trial % 6];
            let x: Vec<f32> = (0..n * BLOCK)
                .map(|_| match next() % 5 {
                    0 => 0.5,
                    1 => 1.5,
                    2 => -0.0,
                    3 => ((next() % 7) as f32) * 0.25,
                    _ => ((next() >> 11) as f64 / (1u64 << 53) as f64 - 0.5) as f32 * 6.0,
                })
                .collect();
            let ks: [f64; BLOCK] = core::array::from_fn(|r| match (r + trial) % 4 {
                0 => 0.0,
                1 => n as f64,
                2 => (next() % (n as u64 + 1)) as f64,
                _ => n as f64 * 0.37,
            });
            let mut zt = vec![[0.0f32; LANES]; block_lanes(n)];
            let mut want = vec![7.0f32; n * BLOCK];
            let mut rw = [Row::default(); BLOCK];
            let dw = portable_block(
                &x,
                n,
                rows,
                &KLanes::new(&ks, n),
                0.75,
                &mut want,
                &mut zt,
                Some(&mut rw),
            );
            // only rows of the block are written, and (typical data) most of them
            assert_eq!(dw >> rows, 0, "n = {n}, rows = {rows}");
            assert!(want[rows * n..].iter().all(|&v| v == 7.0));
            let solved = dw.count_ones() as usize;
            assert!(solved * 2 >= rows, "n = {n}, rows = {rows}: {dw:b}");
            for (r, yr) in want.chunks(n).enumerate().take(rows) {
                if dw >> r & 1 != 0 {
                    let sum: f64 = yr.iter().map(|&v| v as f64).sum();
                    let k = ks[r].clamp(0.0, n as f64);
                    assert!(
                        (sum - k).abs() <= 1e-5 * n as f64,
                        "n = {n}, row {r}: {sum} vs {k}"
                    );
                }
            }
            for k in Path::supported() {
                let kern = Kernels::new(k).expect("supported");
                let mut got = vec![7.0f32; n * BLOCK];
                let mut rg = [Row::default(); BLOCK];
                let kl = KLanes::new(&ks, n);
                let dg = block(
                    kern,
                    &x,
                    n,
                    rows,
                    &kl,
                    0.75f32,
                    &mut got,
                    &mut zt,
                    Some(&mut rg),
                );
                assert_eq!(dg, dw, "{k:?} n = {n}, rows = {rows}");
                let b = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                assert_eq!(b(&got), b(&want), "{k:?} n = {n}");
                assert_eq!(rg, rw, "{k:?} n = {n}");
            }
        }
    }
}
