//! The passes' plumbing (`internal::kernel`): the sources (a slice, a strided column, a mapped
//! slice) visit exactly their elements in order, one at a time and four at a time; the passes
//! over a strided column and over a mapped slice give the bits of the passes over the same
//! values copied into one slice; `Piece::excess` is `f(λ) − k`; and the trait's defaults are
//! what the solver relies on. Found needed by mutation testing of `core/src/kernel.rs` (`bash
//! scripts/mutants.sh core-kernel`): the strided source's four-at-a-time visit is used by no
//! solve in this crate, and the mapped passes' block size changed no result the other tests see;
//! of `core/src/half.rs` (`core-half`): the half slice's four-at-a-time visit feeds only the
//! masked solve's start statistics, which no result showed.

mod common;

use common::Rand;
use hypersimplex::half::{Half, HalfSlice, F16};
use hypersimplex::internal::kernel::{
    gaps_scalar, Mapped, MappedPasses, Passes, Piece, ScalarPasses, Source, Stats, Strided,
};
use hypersimplex::Real;

/// What `src` visits, one at a time and four at a time (the groups, then the remainder).
fn visits<T: Real, S: Source<T> + ?Sized>(src: &S) -> (Vec<T>, Vec<T>) {
    let mut one = Vec::new();
    src.for_each(|v| one.push(v));
    let mut four = Vec::new();
    let (rest, m) = src.for_each_quad(|q| four.extend_from_slice(&q));
    assert!(m < 4, "remainder of {m}");
    four.extend_from_slice(&rest[..m]);
    (one, four)
}

#[test]
fn sources_visit_exactly_their_elements_in_order() {
    for len in 0..=13usize {
        let data: Vec<f64> = (0..len).map(|i| 10.0 + i as f64).collect();
        // a slice
        let (one, four) = visits(&data[..]);
        assert_eq!((&one, &four), (&data, &data));
        assert_eq!(Source::len(&data[..]), len);
        assert_eq!(Source::is_empty(&data[..]), len == 0);
        assert_eq!(Source::as_slice(&data[..]), Some(&data[..]));
        // every column of every width (a stride of 0 reads as 1), and starts past the end
        for stride in 0..=5usize {
            for start in 0..=len + 1 {
                let want: Vec<f64> = data
                    .iter()
                    .skip(start)
                    .step_by(stride.max(1))
                    .copied()
                    .collect();
                let s = Strided::new(&data, start, stride);
                let (one, four) = visits(&s);
                assert_eq!(one, want, "len {len} start {start} stride {stride}");
                assert_eq!(four, want, "len {len} start {start} stride {stride}");
                assert_eq!(s.len(), want.len());
                assert_eq!(s.is_empty(), want.is_empty());
                assert!(s.as_slice().is_none());
            }
        }
        // a mapped slice
        let small: Vec<f32> = (0..len).map(|i| i as f32 - 3.5).collect();
        let m = Mapped {
            x: &small[..],
            map: |v: f32| 2.0 * v as f64,
        };
        let want: Vec<f64> = small.iter().map(|&v| 2.0 * v as f64).collect();
        let (one, four) = visits(&m);
        assert_eq!((&one, &four), (&want, &want));
        assert_eq!(m.len(), len);
        assert_eq!(m.is_empty(), len == 0);
        assert!(m.as_slice().is_none());
        // half-precision storage read as `f32` (`half.rs`, the masked solve's source)
        let halves: Vec<F16> = small.iter().map(|&v| F16::from_f32(v)).collect();
        let h = HalfSlice(&halves[..]);
        let (one, four) = visits(&h);
        assert_eq!((&one, &four), (&small, &small));
        assert_eq!(h.len(), len);
        assert_eq!(h.is_empty(), len == 0);
        assert!(h.as_slice().is_none());
    }
}

fn same_piece(a: Piece, b: Piece) -> bool {
    (a.free, a.upper, a.sum_free.to_bits()) == (b.free, b.upper, b.sum_free.to_bits())
}

fn same_stats<T: Copy + Into<f64>>(a: Stats<T>, b: Stats<T>) -> bool {
    let bits = |s: Stats<T>| {
        (
            s.sum.to_bits(),
            s.min.into().to_bits(),
            s.max.into().to_bits(),
            s.finite,
        )
    };
    bits(a) == bits(b)
}

/// The passes over column `c` of a row-major matrix, read in place, give the bits of the
/// passes over the column copied out (`f64`: the same four accumulators in the same order).
#[test]
fn passes_over_a_strided_column_are_those_of_the_column_copied() {
    let mut rng = Rand::new(41);
    for (rows, cols) in [(1usize, 1usize), (5, 3), (17, 4), (64, 7), (301, 2)] {
        let x: Vec<f64> = (0..rows * cols).map(|_| 3.0 * rng.normal()).collect();
        for c in 0..cols {
            let col: Vec<f64> = x.iter().skip(c).step_by(cols).copied().collect();
            let src = Strided::new(&x, c, cols);
            let (mut a, mut b) = (
                ScalarPasses::new(&src, 0.75),
                ScalarPasses::new(&col[..], 0.75),
            );
            assert_eq!(a.len(), rows);
            assert!(same_stats(a.stats(), b.stats()), "{rows}×{cols} column {c}");
            for lam in [-4.0, -0.3, 0.0, 0.2, 1.7, 9.0] {
                assert!(same_piece(a.piece(lam), b.piece(lam)), "λ = {lam}");
                let ((pa, sa), (pb, sb)) = (a.piece_and_stats(lam), b.piece_and_stats(lam));
                assert!(same_piece(pa, pb) && same_stats(sa, sb), "λ = {lam}");
                assert_eq!(a.gaps(lam), b.gaps(lam), "λ = {lam}");
            }
        }
    }
}

/// `MappedPasses` (block by block through a stack buffer of `MAP_BLOCK` elements) gives, for
/// `f32`, the bits of the slice passes over the mapped values as one slice: counts and the
/// fixed-point free-set sums add exactly across blocks, and `Σz` adds the blocks' sums in the
/// slice pass's order (its own blocks are `MAP_BLOCK` long).
#[test]
fn mapped_passes_are_the_slice_passes_bit_for_bit() {
    let mut rng = Rand::new(43);
    for n in [1usize, 7, 511, 512, 513, 1100, 2048, 3001] {
        // stored as f64, read as f32 (a narrowing map: what the values read as is what counts)
        let x: Vec<f64> = (0..n).map(|_| 2.0 * rng.normal()).collect();
        let read = |v: f64| v as f32;
        let flat: Vec<f32> = x.iter().map(|&v| read(v)).collect();
        let mut a = MappedPasses::new(&x[..], read, 1.25f32);
        let mut b = ScalarPasses::new(&flat[..], 1.25f32);
        assert_eq!(a.len(), n);
        assert!(same_stats(a.stats(), b.stats()), "n = {n}");
        for lam in [-3.0f32, -0.5, 0.0, 0.4, 1.0, 2.5] {
            assert!(same_piece(a.piece(lam), b.piece(lam)), "n = {n}, λ = {lam}");
            let ((pa, sa), (pb, sb)) = (a.piece_and_stats(lam), b.piece_and_stats(lam));
            assert!(same_piece(pa, pb), "n = {n}, λ = {lam}");
            assert!(same_stats(sa, sb), "n = {n}, λ = {lam}: {sa:?} {sb:?}");
            assert_eq!(a.gaps(lam), b.gaps(lam));
            assert_eq!(a.gaps(lam), Some(gaps_scalar(&flat[..], 1.25f32, lam)));
        }
        // a non-finite value in any block (the last one here) makes the statistics say so
        let mut bad = x.clone();
        bad[n - 1] = f64::INFINITY;
        let mut c = MappedPasses::new(&bad[..], read, 1.25f32);
        assert!(
            !c.stats().finite && !c.piece_and_stats(0.0).1.finite,
            "n = {n}"
        );
    }
}

#[test]
fn excess_is_f_minus_k() {
    let p = Piece {
        free: 3,
        upper: 5,
        sum_free: 1.25,
    };
    assert_eq!(p.excess(4.0), 2.25);
    assert_eq!(p.excess(6.25), 0.0);
    assert_eq!(p.excess(7.5), -1.25);
}

/// Passes that override nothing: no breakpoint gaps (the solver bisects flat pieces) and no
/// bracket (the solver's own `[min z − 1, max z]`).
struct Plain(Vec<f64>);

impl Passes<f64> for Plain {
    fn len(&self) -> usize {
        self.0.len()
    }
    fn stats(&mut self) -> Stats<f64> {
        ScalarPasses::new(&self.0[..], 1.0).stats()
    }
    fn piece(&mut self, lambda: f64) -> Piece {
        ScalarPasses::new(&self.0[..], 1.0).piece(lambda)
    }
}

#[test]
fn the_passes_defaults() {
    let mut p = Plain(vec![0.5, 3.0, -2.0]);
    assert!(!p.is_empty());
    assert!(Plain(Vec::new()).is_empty());
    assert_eq!(p.gaps(0.0), None);
    assert_eq!(p.bracket(), None);
    // the default `piece_and_stats` is the two passes
    let (piece, st) = p.piece_and_stats(0.25);
    assert!(same_piece(piece, p.piece(0.25)) && same_stats(st, p.stats()));
    // the solver still finds the root by bisecting the flat pieces
    let s = hypersimplex::internal::solve::solve(&mut p, 1.5, None).unwrap();
    let f: f64 = p.0.iter().map(|&z| (z - s.lambda).clamp(0.0, 1.0)).sum();
    assert!((f - 1.5).abs() < 1e-12, "f(λ) = {f}");
}

/// The passes by their definition: `d_i = fl(fl(x_i·s) − λ)` in the element type, free where
/// `0 < d_i < 1`, upper where `d_i ≥ 1` (`±∞` when `x·s` and λ lie at opposite ends of the
/// range), and the statistics of `fl(x_i·s)`.
fn direct<T: Real>(x: &[T], s: T, lambda: T) -> (usize, usize, f64, f64, f64, f64) {
    let (mut free, mut upper, mut sum) = (0, 0, 0.0);
    let z: Vec<T> = x.iter().map(|&v| v * s).collect();
    for &zi in &z {
        let d = zi - lambda;
        if d >= T::ONE {
            upper += 1;
        } else if d > T::ZERO {
            free += 1;
            sum += d.to_f64();
        }
    }
    let min = z.iter().map(|v| v.to_f64()).fold(f64::INFINITY, f64::min);
    let max = z
        .iter()
        .map(|v| v.to_f64())
        .fold(f64::NEG_INFINITY, f64::max);
    let total = z.iter().map(|v| v.to_f64()).sum();
    (free, upper, sum, min, max, total)
}

fn check_direct<T: Real, S: Source<T> + ?Sized>(src: &S, x: &[T], s: T, lambdas: &[T], ctx: &str) {
    let mut p = ScalarPasses::new(src, s);
    let st = p.stats();
    let (_, _, _, min, max, total) = direct(x, s, T::ZERO);
    let mag: f64 = x.iter().map(|&v| (v * s).to_f64().abs()).sum();
    let eps = T::EPSILON.to_f64();
    assert_eq!((st.min.to_f64(), st.max.to_f64()), (min, max), "{ctx}");
    // (Σz may overflow where the entries do not: it only seeds the start)
    let summable = mag <= T::MAX.to_f64();
    if summable {
        assert!(
            (st.sum - total).abs() <= 64.0 * eps * mag,
            "{ctx}: Σz {} for {total}",
            st.sum
        );
    }
    assert!(st.finite, "{ctx}");
    for &lam in lambdas {
        let (free, upper, sum, ..) = direct(x, s, lam);
        // the fused pass's statistics are the statistics pass's, but for the order of Σz
        let (fused, fs) = p.piece_and_stats(lam);
        assert_eq!(
            (fs.min, fs.max, fs.finite),
            (st.min, st.max, st.finite),
            "{ctx}"
        );
        if summable {
            assert!(
                (fs.sum - total).abs() <= 64.0 * eps * mag,
                "{ctx}: fused Σz {}",
                fs.sum
            );
        }
        for (q, how) in [(p.piece(lam), "piece"), (fused, "fused")] {
            assert_eq!((q.free, q.upper), (free, upper), "{ctx} {how} λ = {lam:?}");
            // (f32 slices sum the free set in 2^-23 fixed point: within 2^-23 per entry)
            let tol = 64.0 * eps * sum.abs() + free as f64 * eps;
            assert!(
                (q.sum_free - sum).abs() <= tol,
                "{ctx} {how} λ = {lam:?}: {} for {sum}",
                q.sum_free
            );
        }
    }
}

fn passes_by_definition<T: Real>(seed: u64) {
    let mut rng = Rand::new(seed);
    let s = T::from_f64(0.75);
    for n in [1usize, 3, 4, 5, 9, 64, 513, 1500] {
        let x: Vec<T> = (0..n).map(|_| T::from_f64(2.0 * rng.normal())).collect();
        let lambdas: Vec<T> = [-3.0, -0.5, 0.0, 0.3, 1.1, 4.0]
            .into_iter()
            .map(T::from_f64)
            .collect();
        check_direct(&x[..], &x, s, &lambdas, &format!("slice n = {n}"));
        // the same values as a column (the four-at-a-time path for f32 too)
        let wide: Vec<T> = x.iter().flat_map(|&v| [v, T::ZERO]).collect();
        check_direct(
            &Strided::new(&wide, 0, 2),
            &x,
            s,
            &lambdas,
            &format!("column n = {n}"),
        );
    }
    // logits near both ends of the range with λ near either end: `d` overflows to ±∞ (the
    // passes then redo the sum without the NaN that `∞·0` would give)
    let big = T::MAX * T::from_f64(0.75);
    let x: Vec<T> = [1.0, -1.0, 0.5, 1.0, -1.0, 0.25, 1.0]
        .into_iter()
        .map(|v| big * T::from_f64(v))
        .collect();
    let lambdas = [-big, big, T::ZERO, big - big * T::from_f64(0.5)];
    check_direct(&x[..], &x, T::ONE, &lambdas, "huge");
    check_direct(&Strided::new(&x, 0, 1), &x, T::ONE, &lambdas, "huge column");
    // the same at scale ½: the redo must scale as the fast pass does (at λ = −big, `z = −big/2`
    // is upper, but `−big + ½` or `−2·big` would not be)
    let half = T::from_f64(0.5);
    check_direct(&x[..], &x, half, &lambdas, "huge, scaled");
    check_direct(
        &Strided::new(&x, 0, 1),
        &x,
        half,
        &lambdas,
        "huge column, scaled",
    );
}

#[test]
fn scalar_passes_compute_their_definition() {
    passes_by_definition::<f64>(47);
    passes_by_definition::<f32>(53);
}

/// `Real::to_fixed`, the fixed-point value of `clip(v, 0, 1)` in units of `2^-23` that the
/// `f32` passes sum as integers, against its documented properties for both types (the `f64`
/// one is used by no pass: `f64::FIXED_SUM` is false; mutation testing of `real.rs` found it
/// untested): in `[0, 2^23]`, within one unit of `clip(v, 0, 1)·2^23`, exact on multiples of
/// `2^-23`, non-decreasing in `v`, and 0 for NaN.
#[test]
fn to_fixed_is_the_clipped_value_in_units_of_2_pow_minus_23() {
    fn check<T: Real>() {
        let unit = 8_388_608.0f64;
        let mut vs: Vec<f64> = vec![-1e30, -1.0, -0.0, 0.0, 1e-40, 1.0, 1.5, 1e30, f64::MAX];
        let mut r = Rand::new(7);
        vs.extend((0..2000).map(|_| r.range(-0.1, 1.1)));
        vs.extend((0..=64).map(|m| (m as f64 * 131_072.0 + (m % 3) as f64) / unit));
        vs.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let mut last = i32::MIN;
        for &v in &vs {
            let x = T::from_f64(v);
            let q = x.to_fixed();
            let exact = x.to_f64().clamp(0.0, 1.0) * unit;
            assert!((0..=1 << 23).contains(&q), "{v:e}: {q}");
            assert!((q as f64 - exact).abs() <= 1.0, "{v:e}: {q} vs {exact}");
            if exact == exact.round() {
                assert_eq!(q as f64, exact, "{v:e}: a multiple of the unit");
            }
            assert!(q >= last, "{v:e}: {q} after {last}");
            last = q;
        }
        assert_eq!(T::from_f64(f64::NAN).to_fixed(), 0);
    }
    check::<f32>();
    check::<f64>();
}
