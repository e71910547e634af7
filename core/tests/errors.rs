//! Every error case of every public function, with every output, gradient and scratch buffer
//! checked bit for bit unchanged (filled with a sentinel before the call).

mod common;

use common::*;
use hypersimplex::{
    binary_argmax, binary_argmax_in_place, hypersimplex_loss, hypersimplex_loss_multiclass,
    multiclass_scratch_len, soft_binary_argmax, soft_binary_argmax_in_place,
    soft_binary_argmax_jacobian, soft_binary_argmax_jvp, soft_binary_argmax_vjp,
    soft_binary_argmax_vjp_in_place, ClassK, Error, Reduction,
};

/// A recognisable value that no function would write.
fn sentinel<T: TestReal>() -> T {
    T::from_f64(7.0)
}

fn filled<T: TestReal>(n: usize) -> Vec<T> {
    vec![sentinel::<T>(); n]
}

/// Asserts that `buf` still holds only the sentinel.
fn untouched<T: TestReal>(buf: &[T], what: &str) {
    let s = sentinel::<T>().to_f64().to_bits();
    assert!(
        buf.iter().all(|v| v.to_f64().to_bits() == s),
        "{}: {what}: buffer was modified",
        T::NAME
    );
}

fn bits<T: TestReal>(v: &[T]) -> Vec<u64> {
    v.iter().map(|a| a.to_f64().to_bits()).collect()
}

fn nan<T: TestReal>() -> T {
    T::from_f64(f64::NAN)
}
fn inf<T: TestReal>() -> T {
    T::from_f64(f64::INFINITY)
}

/// τ values that are not finite and positive.
fn bad_taus<T: TestReal>() -> Vec<T> {
    vec![
        T::ZERO,
        -T::ZERO,
        T::from_f64(-1.0),
        nan(),
        inf(),
        -inf::<T>(),
        -T::MAX,
    ]
}

/// A subnormal τ (its reciprocal overflows the element type).
fn subnormal_tau<T: TestReal>() -> T {
    T::from_f64(T::MIN_POSITIVE * 0.25)
}

/// Finite x whose x/τ overflows T at τ = 1e-10... scaled to the type.
fn overflow_case<T: TestReal>() -> (Vec<T>, T) {
    let big = T::MAX.to_f64() / 4.0;
    (
        vec![T::from_f64(0.5), T::from_f64(big), T::ZERO],
        T::from_f64(1e-3),
    )
}

/// Inputs with a NaN at the start, the middle, the end; short, and long enough for the sampled
/// start (n ≥ 2048), with the bad value off the sample's stride. (±∞ are masks, not errors:
/// see [`infeasible_masks`] and tests/masks.rs.)
fn nonfinite_inputs<T: TestReal>() -> Vec<Vec<T>> {
    with_value(nan::<T>())
}

/// Inputs holding `bad` at the positions of [`nonfinite_inputs`].
fn with_value<T: TestReal>(bad: T) -> Vec<Vec<T>> {
    let mut out = vec![];
    for (n, pos) in [
        (1usize, 0usize),
        (5, 0),
        (5, 2),
        (5, 4),
        (4099, 4098),
        (4099, 1),
    ] {
        let mut x: Vec<T> = (0..n).map(|i| T::from_f64((i % 7) as f64 * 0.3)).collect();
        x[pos] = bad;
        out.push(x);
    }
    out
}

/// `(x, k)` where `k` cannot be met with x's `±∞` masks (`k < #(+∞)` or `k > n − #(−∞)`):
/// [`Error::InvalidK`].
fn infeasible_masks<T: TestReal>() -> Vec<(Vec<T>, f64)> {
    let mut out = vec![];
    for x in with_value(inf::<T>()) {
        out.push((x.clone(), 0.0));
        out.push((x, 0.5));
    }
    for x in with_value(-inf::<T>()) {
        let n = x.len() as f64;
        out.push((x.clone(), n));
        out.push((x, n - 0.25));
    }
    let mut two = vec![T::ONE; 6];
    two[1] = inf();
    two[4] = inf();
    out.push((two.clone(), 1.5));
    two[2] = -inf::<T>();
    two[3] = -inf::<T>();
    out.push((two, 4.125)); // > n − #(−∞) = 4
    out
}

fn forward_errors<T: TestReal>() {
    let x: Vec<T> = cast(&[0.3, -1.0, 2.0, 0.0, 5.0]);
    let n = x.len();
    let one = T::ONE;
    let check = |x: &[T], ylen: usize, k: f64, tau: T, want: Error, what: &str| {
        let mut y = filled::<T>(ylen);
        assert_eq!(
            soft_binary_argmax(x, k, tau, &mut y),
            Err(want),
            "{} {what}",
            T::NAME
        );
        untouched(&y, what);
        if ylen == x.len() {
            let mut xi = x.to_vec();
            let before = bits(&xi);
            assert_eq!(
                soft_binary_argmax_in_place(&mut xi, k, tau),
                Err(want),
                "{} in place {what}",
                T::NAME
            );
            assert_eq!(bits(&xi), before, "{} in place {what}: x modified", T::NAME);
        }
    };
    check(&x, n - 1, 1.0, one, Error::LengthMismatch, "y shorter");
    check(&x, n + 1, 1.0, one, Error::LengthMismatch, "y longer");
    check(&x, 0, 0.0, one, Error::LengthMismatch, "y empty");
    for k in [
        -1e-300,
        -1.0,
        n as f64 + 1e-9,
        n as f64 + 1.0,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
    ] {
        check(&x, n, k, one, Error::InvalidK, &format!("k = {k}"));
    }
    check(&[], 0, 1e-6, one, Error::InvalidK, "n = 0, k > 0");
    for tau in bad_taus::<T>() {
        check(&x, n, 1.0, tau, Error::InvalidTau, &format!("tau = {tau}"));
    }
    check(
        &x,
        n,
        1.0,
        subnormal_tau(),
        Error::ScaleOverflow,
        "subnormal tau",
    );
    let (xo, to) = overflow_case::<T>();
    check(
        &xo,
        xo.len(),
        1.0,
        to,
        Error::ScaleOverflow,
        "x/tau overflows",
    );
    for xb in nonfinite_inputs::<T>() {
        check(
            &xb,
            xb.len(),
            1.0,
            one,
            Error::NonFiniteInput,
            "non-finite x",
        );
        check(
            &xb,
            xb.len(),
            0.0,
            one,
            Error::NonFiniteInput,
            "non-finite x, k = 0",
        );
        check(
            &xb,
            xb.len(),
            xb.len() as f64,
            one,
            Error::NonFiniteInput,
            "non-finite x, k = n",
        );
    }
    for (xb, k) in infeasible_masks::<T>() {
        check(
            &xb,
            xb.len(),
            k,
            one,
            Error::InvalidK,
            &format!("masks, k = {k}"),
        );
    }
    // NaN together with an overflowing finite value: the NaN is reported
    let mut xo2 = xo.clone();
    xo2.push(nan());
    check(
        &xo2,
        xo2.len(),
        1.0,
        to,
        Error::NonFiniteInput,
        "NaN and overflow",
    );

    // valid edge cases: n = 0 with k = 0; n = 1 with k = 0, 1
    let mut e: Vec<T> = vec![];
    assert!(soft_binary_argmax(&[] as &[T], 0.0, one, &mut e).is_ok());
    assert!(soft_binary_argmax_in_place(&mut e, 0.0, one).is_ok());
    let mut y = filled::<T>(1);
    soft_binary_argmax(&x[..1], 1.0, one, &mut y).unwrap();
    assert_eq!(y[0], T::ONE);
    soft_binary_argmax(&x[..1], 0.0, one, &mut y).unwrap();
    assert_eq!(y[0], T::ZERO);
}

#[test]
fn forward_errors_f32() {
    forward_errors::<f32>();
}
#[test]
fn forward_errors_f64() {
    forward_errors::<f64>();
}

fn topk_errors<T: TestReal>() {
    let x: Vec<T> = cast(&[0.3, -1.0, 2.0, 0.0, 5.0]);
    let n = x.len();
    let check = |x: &[T], ylen: usize, k: f64, want: Error, what: &str| {
        let mut y = filled::<T>(ylen);
        assert_eq!(binary_argmax(x, k, &mut y), Err(want), "{} {what}", T::NAME);
        untouched(&y, what);
        if want != Error::LengthMismatch {
            // the in-place variant refuses the same input and leaves x as it was
            let mut z = x.to_vec();
            assert_eq!(
                binary_argmax_in_place(&mut z, k),
                Err(want),
                "in place {what}"
            );
            assert!(z
                .iter()
                .zip(x)
                .all(|(a, b)| a.to_f64().to_bits() == b.to_f64().to_bits()));
        }
    };
    check(&x, n - 1, 1.0, Error::LengthMismatch, "y shorter");
    check(&x, n + 1, 1.0, Error::LengthMismatch, "y longer");
    for k in [
        -1.0,
        -1e-300,
        n as f64 + 1.0,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
    ] {
        check(&x, n, k, Error::InvalidK, &format!("k = {k}"));
    }
    for k in [0.5, 1e-6, n as f64 - 1e-6, 2.25] {
        check(&x, n, k, Error::NonIntegerK, &format!("k = {k}"));
    }
    for xb in nonfinite_inputs::<T>() {
        for k in [0.0, 1.0, xb.len() as f64] {
            check(&xb, xb.len(), k, Error::NonFiniteInput, "non-finite x");
        }
    }
    for (xb, k) in infeasible_masks::<T>() {
        if k.fract() == 0.0 {
            check(
                &xb,
                xb.len(),
                k,
                Error::InvalidK,
                &format!("masks, k = {k}"),
            );
        }
    }
    check(&[], 0, 1.0, Error::InvalidK, "n = 0, k = 1");
    let mut e: Vec<T> = vec![];
    assert!(binary_argmax(&[] as &[T], 0.0, &mut e).is_ok());
}

#[test]
fn topk_errors_f32() {
    topk_errors::<f32>();
}
#[test]
fn topk_errors_f64() {
    topk_errors::<f64>();
}

fn backward_errors<T: TestReal>() {
    // a valid forward output with a free set
    let y: Vec<T> = cast(&[0.7, 0.3, 0.0, 1.0]);
    let g: Vec<T> = cast(&[1.0, -2.0, 0.5, 3.0]);
    let n = y.len();
    let one = T::ONE;
    // VJP, JVP and in-place VJP share the checks
    let check = |y: &[T], g: &[T], outlen: usize, tau: T, want: Error, what: &str| {
        let mut o = filled::<T>(outlen);
        assert_eq!(
            soft_binary_argmax_vjp(y, g, tau, &mut o),
            Err(want),
            "{} vjp {what}",
            T::NAME
        );
        untouched(&o, what);
        let mut o = filled::<T>(outlen);
        assert_eq!(
            soft_binary_argmax_jvp(y, g, tau, &mut o),
            Err(want),
            "{} jvp {what}",
            T::NAME
        );
        untouched(&o, what);
        if outlen == y.len() {
            let mut gi = g.to_vec();
            let before = bits(&gi);
            assert_eq!(
                soft_binary_argmax_vjp_in_place(y, &mut gi, tau),
                Err(want),
                "{} in place {what}",
                T::NAME
            );
            assert_eq!(bits(&gi), before, "{what}: g modified");
        }
    };
    check(&y, &g[..n - 1], n, one, Error::LengthMismatch, "g shorter");
    check(&y, &g, n - 1, one, Error::LengthMismatch, "out shorter");
    check(&y, &g, n + 1, one, Error::LengthMismatch, "out longer");
    for tau in bad_taus::<T>() {
        check(&y, &g, n, tau, Error::InvalidTau, &format!("tau = {tau}"));
    }
    check(
        &y,
        &g,
        n,
        subnormal_tau(),
        Error::ScaleOverflow,
        "subnormal tau",
    );
    for bad in [nan::<T>(), inf::<T>(), -inf::<T>()] {
        for pos in 0..n {
            let mut yb = y.clone();
            yb[pos] = bad;
            check(&yb, &g, n, one, Error::NonFiniteInput, "non-finite y");
            let mut gb = g.clone();
            gb[pos] = bad;
            check(&y, &gb, n, one, Error::NonFiniteInput, "non-finite g");
        }
    }
    // in place with mismatched g length
    let mut gs = g[..n - 1].to_vec();
    let before = bits(&gs);
    assert_eq!(
        soft_binary_argmax_vjp_in_place(&y, &mut gs, one),
        Err(Error::LengthMismatch)
    );
    assert_eq!(bits(&gs), before);

    // dense Jacobian
    let checkj = |y: &[T], len: usize, tau: T, want: Error, what: &str| {
        let mut j = filled::<T>(len);
        assert_eq!(
            soft_binary_argmax_jacobian(y, tau, &mut j),
            Err(want),
            "{} jacobian {what}",
            T::NAME
        );
        untouched(&j, what);
    };
    checkj(&y, n * n - 1, one, Error::LengthMismatch, "jac shorter");
    checkj(&y, n * n + 1, one, Error::LengthMismatch, "jac longer");
    checkj(&y, n, one, Error::LengthMismatch, "jac of length n");
    checkj(&[], 1, one, Error::LengthMismatch, "n = 0, jac of length 1");
    for tau in bad_taus::<T>() {
        checkj(&y, n * n, tau, Error::InvalidTau, &format!("tau = {tau}"));
    }
    checkj(
        &y,
        n * n,
        subnormal_tau(),
        Error::ScaleOverflow,
        "subnormal tau",
    );
    for bad in [nan::<T>(), inf::<T>(), -inf::<T>()] {
        let mut yb = y.clone();
        yb[n - 1] = bad;
        checkj(&yb, n * n, one, Error::NonFiniteInput, "non-finite y");
    }
    // n = 0 is valid everywhere
    let mut e: Vec<T> = vec![];
    assert!(soft_binary_argmax_vjp(&[] as &[T], &[], one, &mut e).is_ok());
    assert!(soft_binary_argmax_vjp_in_place(&[] as &[T], &mut e, one).is_ok());
    assert!(soft_binary_argmax_jacobian(&[] as &[T], one, &mut e).is_ok());
}

#[test]
fn backward_errors_f32() {
    backward_errors::<f32>();
}
#[test]
fn backward_errors_f64() {
    backward_errors::<f64>();
}

fn loss_errors<T: TestReal>() {
    let x: Vec<T> = cast(&[0.3, -1.0, 2.0, 0.0, 5.0]);
    let t: Vec<T> = cast(&[1.0, 0.0, 1.0, 0.0, 0.0]);
    let n = x.len();
    let one = T::ONE;
    let check = |x: &[T], t: &[T], glen: usize, k: f64, tau: T, want: Error, what: &str| {
        let mut g = filled::<T>(glen);
        assert_eq!(
            hypersimplex_loss(x, t, k, tau, Some(&mut g)),
            Err(want),
            "{} loss {what}",
            T::NAME
        );
        untouched(&g, what);
        if glen == x.len() {
            assert_eq!(
                hypersimplex_loss(x, t, k, tau, None),
                Err(want),
                "{} loss (no grad) {what}",
                T::NAME
            );
        }
    };
    check(
        &x,
        &t[..n - 1],
        n,
        2.0,
        one,
        Error::LengthMismatch,
        "t shorter",
    );
    check(
        &x,
        &t,
        n - 1,
        2.0,
        one,
        Error::LengthMismatch,
        "grad shorter",
    );
    check(
        &x,
        &t,
        n + 1,
        2.0,
        one,
        Error::LengthMismatch,
        "grad longer",
    );
    for bad in [
        -0.1,
        1.0 + 1e-6,
        f64::NAN,
        f64::INFINITY,
        -f64::INFINITY,
        2.0,
    ] {
        let mut tb = t.clone();
        tb[n - 1] = T::from_f64(bad);
        check(
            &x,
            &tb,
            n,
            2.0,
            one,
            Error::InvalidTarget,
            &format!("target {bad}"),
        );
    }
    for k in [-1.0, n as f64 + 1.0, f64::NAN, f64::INFINITY] {
        check(&x, &t, n, k, one, Error::InvalidK, &format!("k = {k}"));
    }
    for tau in bad_taus::<T>() {
        check(
            &x,
            &t,
            n,
            2.0,
            tau,
            Error::InvalidTau,
            &format!("tau = {tau}"),
        );
    }
    check(
        &x,
        &t,
        n,
        2.0,
        subnormal_tau(),
        Error::ScaleOverflow,
        "subnormal tau",
    );
    let (xo, to) = overflow_case::<T>();
    let tz = vec![T::ZERO; xo.len()];
    check(
        &xo,
        &tz,
        xo.len(),
        1.0,
        to,
        Error::ScaleOverflow,
        "x/tau overflows",
    );
    for xb in nonfinite_inputs::<T>() {
        let tb = vec![T::ZERO; xb.len()];
        check(
            &xb,
            &tb,
            xb.len(),
            1.0,
            one,
            Error::NonFiniteInput,
            "non-finite x",
        );
    }
    for (xb, k) in infeasible_masks::<T>() {
        let tb = vec![T::ZERO; xb.len()];
        check(
            &xb,
            &tb,
            xb.len(),
            k,
            one,
            Error::InvalidK,
            &format!("masks, k = {k}"),
        );
    }
    // n = 0, k = 0 is valid, the loss is 0
    let mut e: Vec<T> = vec![];
    assert_eq!(
        hypersimplex_loss(&[] as &[T], &[], 0.0, one, Some(&mut e)),
        Ok(T::ZERO)
    );
    // target_k: Σt
    assert_eq!(hypersimplex::target_k(&t), 2.0);
    assert_eq!(hypersimplex::target_k::<T>(&[]), 0.0);
}

#[test]
fn loss_errors_f32() {
    loss_errors::<f32>();
}
#[test]
fn loss_errors_f64() {
    loss_errors::<f64>();
}

fn multiclass_errors<T: TestReal>() {
    let (b, c) = (4usize, 3usize);
    let logits: Vec<T> = cast(
        &(0..b * c)
            .map(|i| (i as f64 * 0.37).sin())
            .collect::<Vec<_>>(),
    );
    let labels = [0u32, 2, 1, 2];
    let one = T::ONE;
    let sl = multiclass_scratch_len(b, c);
    assert_eq!(sl, b);
    #[allow(clippy::too_many_arguments)]
    fn check<T: TestReal>(
        logits: &[T],
        labels: &[u32],
        classes: usize,
        k: ClassK<'_>,
        tau: T,
        glen: usize,
        slen: usize,
        want: Error,
        what: &str,
    ) {
        for red in [Reduction::Sum, Reduction::Mean] {
            let mut g = filled::<T>(glen);
            let mut s = filled::<T>(slen);
            let r = hypersimplex_loss_multiclass(
                logits,
                labels,
                classes,
                k,
                tau,
                red,
                Some(&mut g),
                &mut s,
            );
            assert_eq!(r, Err(want), "{} multiclass {what} {red:?}", T::NAME);
            untouched(&g, what);
            untouched(&s, &format!("{what} (scratch)"));
            if glen == logits.len() {
                let mut s = filled::<T>(slen);
                let r = hypersimplex_loss_multiclass(
                    logits, labels, classes, k, tau, red, None, &mut s,
                );
                assert_eq!(r, Err(want), "{} multiclass (no grad) {what}", T::NAME);
                untouched(&s, what);
            }
        }
    }
    let lc = ClassK::LabelCounts;
    let n = b * c;
    check(
        &logits[..n - 1],
        &labels,
        c,
        lc,
        one,
        n - 1,
        sl,
        Error::LengthMismatch,
        "logits shorter",
    );
    check(
        &logits,
        &labels[..b - 1],
        c,
        lc,
        one,
        n,
        sl,
        Error::LengthMismatch,
        "labels shorter",
    );
    check(
        &logits,
        &labels,
        c,
        lc,
        one,
        n - 1,
        sl,
        Error::LengthMismatch,
        "grad shorter",
    );
    check(
        &logits,
        &labels,
        c,
        lc,
        one,
        n + 1,
        sl,
        Error::LengthMismatch,
        "grad longer",
    );
    check(
        &logits,
        &labels,
        c + 1,
        lc,
        one,
        n,
        sl,
        Error::LengthMismatch,
        "classes mismatch",
    );
    check(
        &[],
        &[0, 0],
        usize::MAX,
        lc,
        one,
        0,
        2,
        Error::LengthMismatch,
        "B·C overflows",
    );
    check(
        &logits,
        &labels,
        c,
        ClassK::PerClass(&[1.0, 1.0]),
        one,
        n,
        sl,
        Error::LengthMismatch,
        "PerClass too short",
    );
    check(
        &logits,
        &labels,
        c,
        ClassK::PerClass(&[1.0; 4]),
        one,
        n,
        sl,
        Error::LengthMismatch,
        "PerClass too long",
    );
    // labels
    for bad in [c as u32, c as u32 + 1, u32::MAX] {
        let mut lb = labels;
        lb[b - 1] = bad;
        check(
            &logits,
            &lb,
            c,
            lc,
            one,
            n,
            sl,
            Error::LabelOutOfRange,
            &format!("label {bad}"),
        );
    }
    check(
        &[],
        &[0],
        0,
        lc,
        one,
        0,
        1,
        Error::LabelOutOfRange,
        "C = 0 with a label",
    );
    // k
    for k in [-1.0, b as f64 + 0.5, f64::NAN, f64::INFINITY] {
        check(
            &logits,
            &labels,
            c,
            ClassK::Fixed(k),
            one,
            n,
            sl,
            Error::InvalidK,
            &format!("Fixed({k})"),
        );
        let per = [1.0, k, 1.0];
        check(
            &logits,
            &labels,
            c,
            ClassK::PerClass(&per),
            one,
            n,
            sl,
            Error::InvalidK,
            &format!("PerClass({k})"),
        );
    }
    // τ
    for tau in bad_taus::<T>() {
        check(
            &logits,
            &labels,
            c,
            lc,
            tau,
            n,
            sl,
            Error::InvalidTau,
            &format!("tau = {tau}"),
        );
    }
    check(
        &logits,
        &labels,
        c,
        lc,
        subnormal_tau(),
        n,
        sl,
        Error::ScaleOverflow,
        "subnormal tau",
    );
    // scratch
    check(
        &logits,
        &labels,
        c,
        lc,
        one,
        n,
        sl - 1,
        Error::ScratchTooSmall,
        "scratch B − 1",
    );
    check(
        &logits,
        &labels,
        c,
        lc,
        one,
        n,
        0,
        Error::ScratchTooSmall,
        "scratch empty",
    );
    // NaN and overflowing logits, in a later column and a later row; ±∞ masks a column's k_c
    // cannot meet (k_c < #(+∞) or k_c > batch − #(−∞))
    let mut lb = logits.clone();
    lb[2 * c + 2] = nan();
    check(
        &lb,
        &labels,
        c,
        lc,
        one,
        n,
        sl,
        Error::NonFiniteInput,
        "NaN logit",
    );
    let batch = (n / c) as f64;
    for (bad, kc) in [
        (inf::<T>(), 0.0),
        (inf::<T>(), 0.5),
        (-inf::<T>(), batch),
        (-inf::<T>(), batch - 0.5),
    ] {
        let mut lb = logits.clone();
        lb[2 * c + 2] = bad;
        let kf = ClassK::Fixed(kc);
        check(
            &lb,
            &labels,
            c,
            kf,
            one,
            n,
            sl,
            Error::InvalidK,
            &format!("mask {bad}, k {kc}"),
        );
    }
    let mut lo = logits.clone();
    lo[n - 1] = T::from_f64(T::MAX.to_f64() / 4.0);
    check(
        &lo,
        &labels,
        c,
        lc,
        T::from_f64(1e-3),
        n,
        sl,
        Error::ScaleOverflow,
        "logit/tau overflows",
    );

    // valid edge cases: empty batch, a scratch longer than needed
    let mut s = filled::<T>(0);
    let mut g = filled::<T>(0);
    assert_eq!(
        hypersimplex_loss_multiclass(
            &[] as &[T],
            &[],
            c,
            lc,
            one,
            Reduction::Sum,
            Some(&mut g),
            &mut s
        ),
        Ok(T::ZERO)
    );
    let mut s = filled::<T>(sl + 5);
    let mut g = filled::<T>(n);
    assert!(hypersimplex_loss_multiclass(
        &logits,
        &labels,
        c,
        lc,
        one,
        Reduction::Mean,
        Some(&mut g),
        &mut s
    )
    .is_ok());
}

#[test]
fn multiclass_errors_f32() {
    multiclass_errors::<f32>();
}
#[test]
fn multiclass_errors_f64() {
    multiclass_errors::<f64>();
}

#[test]
fn error_codes_and_messages() {
    let all = Error::ALL;
    for (i, e) in all.iter().enumerate() {
        let want = if i < 11 { i as i32 + 1 } else { 103 };
        assert_eq!(e.code(), want, "{e:?}");
        assert_eq!(Error::from_code(e.code()), Some(*e));
        assert!(!e.message().is_empty());
        assert_eq!(format!("{e}"), e.message());
    }
    for code in [-1, 0, 12, 102, 104, i32::MIN, i32::MAX] {
        assert_eq!(Error::from_code(code), None, "code {code}");
    }
    let mut msgs: Vec<&str> = all.iter().map(|e| e.message()).collect();
    msgs.sort();
    msgs.dedup();
    assert_eq!(msgs.len(), all.len(), "messages are distinct");
}
