//! The sharded functions, run on simulated ranks (threads with an in-process allreduce),
//! against the unsharded functions on the concatenated input; results must not depend on the
//! number of ranks or the split, bit for bit, and errors must be agreed.

use hypersimplex::{
    hypersimplex_loss_multiclass, hypersimplex_loss_multiclass_sharded, multiclass_buf_len,
    soft_binary_argmax, soft_binary_argmax_sharded, soft_binary_argmax_vjp,
    soft_binary_argmax_vjp_sharded, ClassK, ColumnState, Error, Reduction,
};
use std::sync::{Arc, Barrier, Mutex};

mod exact;

/// An in-process sum-allreduce for `p` threads.
struct Group {
    acc: Mutex<Vec<i64>>,
    barrier: Barrier,
}

impl Group {
    fn new(p: usize) -> Arc<Self> {
        Arc::new(Group {
            acc: Mutex::new(vec![0; 1 << 16]),
            barrier: Barrier::new(p),
        })
    }
    fn allreduce(&self, v: &mut [i64]) -> bool {
        {
            let mut a = self.acc.lock().unwrap();
            for (s, x) in a.iter_mut().zip(v.iter()) {
                *s += *x;
            }
        }
        self.barrier.wait();
        v.copy_from_slice(&self.acc.lock().unwrap()[..v.len()]);
        if self.barrier.wait().is_leader() {
            self.acc.lock().unwrap().iter_mut().for_each(|s| *s = 0);
        }
        self.barrier.wait();
        true
    }
}

/// Splits `0..n` into `p` contiguous ranges (some may be empty).
fn ranges(n: usize, p: usize) -> Vec<(usize, usize)> {
    // Uneven on purpose: rank 0 gets nothing when p > 2.
    (0..p)
        .map(|r| {
            let cut = |r: usize| if p > 2 && r == 1 { 0 } else { n * r / p };
            (cut(r), if r + 1 == p { n } else { cut(r + 1) })
        })
        .collect()
}

/// Runs `f(rank, allreduce)` on `p` threads and returns their results in rank order.
fn run<R: Send + 'static>(
    p: usize,
    f: impl Fn(usize, &mut dyn FnMut(&mut [i64]) -> bool) -> R + Send + Sync + 'static,
) -> Vec<R> {
    let g = Group::new(p);
    let f = Arc::new(f);
    let hs: Vec<_> = (0..p)
        .map(|r| {
            let (g, f) = (g.clone(), f.clone());
            std::thread::spawn(move || f(r, &mut |v: &mut [i64]| g.allreduce(v)))
        })
        .collect();
    hs.into_iter().map(|h| h.join().unwrap()).collect()
}

/// The sharded multiclass loss on one rank, with scratch of the lengths it needs.
#[allow(clippy::too_many_arguments)]
fn mc_rank<T: hypersimplex::Real>(
    logits: &[T],
    labels: &[u32],
    classes: usize,
    k: ClassK<'_>,
    tau: T,
    reduction: Reduction,
    grad: Option<&mut [T]>,
    ar: &mut dyn FnMut(&mut [i64]) -> bool,
) -> Result<(T, hypersimplex::ShardedInfo), Error> {
    let mut st = vec![ColumnState::default(); classes];
    let mut buf = vec![0i64; multiclass_buf_len(classes)];
    hypersimplex_loss_multiclass_sharded(
        logits, labels, classes, k, tau, reduction, grad, ar, &mut st, &mut buf,
    )
}

/// The unsharded multiclass loss on the whole batch (`labels.len()` rows) and its gradient.
fn mc_whole<T: hypersimplex::Real>(
    logits: &[T],
    labels: &[u32],
    classes: usize,
    k: ClassK<'_>,
    tau: T,
    reduction: Reduction,
) -> Result<(T, Vec<T>), Error> {
    let mut g = vec![T::ZERO; logits.len()];
    let mut scratch = vec![T::ZERO; labels.len()];
    hypersimplex_loss_multiclass(
        logits,
        labels,
        classes,
        k,
        tau,
        reduction,
        Some(&mut g),
        &mut scratch,
    )
    .map(|l| (l, g))
}

fn data(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) * 6.0 - 3.0
        })
        .collect()
}

/// Each rank's allreduce count for the sharded forward of `x` (τ = 0.5) over `p` ranks.
fn allreduce_counts(x: &[f64], k: f64, p: usize) -> Vec<u32> {
    let (x, n) = (x.to_vec(), x.len());
    run(p, move |r, ar| {
        let (a, b) = ranges(n, p)[r];
        let mut ys = vec![0.0; b - a];
        soft_binary_argmax_sharded(&x[a..b], k, 0.5, ar, &mut ys)
            .unwrap()
            .allreduces
    })
}

/// Few allreduce calls on ordinary data: the check, then Newton from the all-free start,
/// which lands on the root's piece in a few steps (the bound `max_allreduces` allows a
/// bisection over all the bits as well). A regression guard: the count is the same for any
/// number of ranks (the sums are), and a Newton step lost (no slope, a poorer start) shows.
#[test]
fn few_allreduces_on_ordinary_data() {
    let mut worst = 0;
    for &n in &[100usize, 1000, 10_000] {
        let x = data(n, n as u64 + 5);
        for k in [1.0, n as f64 / 10.0, n as f64 / 2.0, n as f64 - 1.5] {
            let counts: Vec<u32> = (1..=3).flat_map(|p| allreduce_counts(&x, k, p)).collect();
            assert!(counts.iter().all(|&c| c == counts[0]), "{counts:?}");
            eprintln!("n={n} k={k}: {} allreduces", counts[0]);
            worst = worst.max(counts[0]);
        }
    }
    // k at an end needs no solve (the check only); data whose root clips nothing (z within
    // 0.3 of each other: every y is in (0, 1)) start near the root, at the all-free estimate
    // from the rounded `Σ round(z)`: one Newton step onto it and one piece to confirm it
    let n = 1000;
    let near: Vec<f64> = data(n, 3).iter().map(|v| v * 0.05).collect();
    for (x, k, want) in [
        (data(n, 4), 0.0, 1),
        (data(n, 4), n as f64, 1),
        (near.clone(), n as f64 / 2.0, 3),
        (near, 437.5, 3),
    ] {
        for p in 1..=2 {
            let c = allreduce_counts(&x, k, p);
            assert!(
                c.iter().all(|&c| c == want),
                "k={k} p={p}: {c:?}, not {want}"
            );
        }
    }
    // observed: 4–12 (the check, then 3–11 Newton steps; the most at k near 0 or n, where
    // the all-free start is far from the root)
    assert!(worst <= 12, "{worst} allreduces");
}

/// The multiclass loss solves its classes together, one allreduce per iteration for all of
/// them, each from the all-free start on its own column's `Σ round(z)`, as the forward: so it
/// makes the check, as many solver calls as its slowest class makes in the sharded forward of
/// that column (one call fewer than the forward's count, its check), and the final sums.
#[test]
fn multiclass_allreduces_follow_the_slowest_column() {
    let (b, c) = (301usize, 5usize);
    let logits = data(b * c, 17);
    let labels: Vec<u32> = (0..b).map(|i| ((i * 31) % c) as u32).collect();
    let counts: Vec<f64> = (0..c)
        .map(|j| labels.iter().filter(|&&l| l as usize == j).count() as f64)
        .collect();
    let ks = [1.0, 30.5, 150.0, 299.25, 2.0];
    for kind in 0..3 {
        let kc = |j: usize| match kind {
            0 => counts[j],
            1 => 75.5,
            _ => ks[j],
        };
        let slowest = (0..c)
            .map(|j| {
                let col: Vec<f64> = (0..b).map(|i| logits[i * c + j]).collect();
                allreduce_counts(&col, kc(j), 1)[0]
            })
            .max()
            .unwrap();
        for p in [1usize, 3] {
            let (lg, lb) = (logits.clone(), labels.clone());
            let calls = run(p, move |r, ar| {
                let (a, e) = ranges(b, p)[r];
                let k = match kind {
                    0 => ClassK::LabelCounts,
                    1 => ClassK::Fixed(75.5),
                    _ => ClassK::PerClass(&ks),
                };
                mc_rank(
                    &lg[a * c..e * c],
                    &lb[a..e],
                    c,
                    k,
                    0.5,
                    Reduction::Sum,
                    None,
                    ar,
                )
                .unwrap()
                .1
                .allreduces
            });
            assert!(
                calls.iter().all(|&n| n == slowest + 1),
                "{kind} {p}: {calls:?}, slowest {slowest}"
            );
        }
    }
}

#[test]
fn forward_and_vjp_match_unsharded() {
    for &n in &[1usize, 7, 100, 1000] {
        for &(k, tau) in &[
            (0.0, 1.0),
            (3.5, 0.5),
            (n as f64 * 0.3, 0.1),
            (n as f64, 1.0),
        ] {
            let k: f64 = if k > n as f64 { n as f64 } else { k };
            let x = data(n, n as u64);
            let gup = data(n, 99);
            let mut y = vec![0.0; n];
            soft_binary_argmax(&x, k, tau, &mut y).unwrap();
            let mut gx = vec![0.0; n];
            soft_binary_argmax_vjp(&y, &gup, tau, &mut gx).unwrap();
            let mut first: Option<(Vec<f64>, Vec<f64>)> = None;
            for p in 1..=4 {
                let (x2, g2) = (x.clone(), gup.clone());
                let parts = run(p, move |r, ar| {
                    let (a, b) = ranges(n, p)[r];
                    let mut ys = vec![0.0; b - a];
                    let i = soft_binary_argmax_sharded(&x2[a..b], k, tau, ar, &mut ys).unwrap();
                    assert!(i.allreduces <= hypersimplex::max_allreduces(64));
                    let mut gs = vec![0.0; b - a];
                    soft_binary_argmax_vjp_sharded(&ys, &g2[a..b], tau, ar, &mut gs).unwrap();
                    (ys, gs)
                });
                let ys: Vec<f64> = parts.iter().flat_map(|p| p.0.clone()).collect();
                let gs: Vec<f64> = parts.iter().flat_map(|p| p.1.clone()).collect();
                for i in 0..n {
                    assert!((ys[i] - y[i]).abs() <= 1e-12, "n={n} k={k} p={p} y[{i}]");
                    assert!((gs[i] - gx[i]).abs() <= 1e-9, "n={n} k={k} p={p} g[{i}]");
                }
                let s: f64 = ys.iter().sum();
                assert!((s - k).abs() <= 1e-9 * n as f64, "sum {s} k {k}");
                // Independent of the number of ranks, bit for bit (each term of the sums on
                // the fixed-point grid by itself)
                match &first {
                    None => first = Some((ys, gs)),
                    Some((y1, g1)) => {
                        for i in 0..n {
                            assert_eq!(ys[i].to_bits(), y1[i].to_bits(), "p={p} y[{i}]");
                            assert_eq!(gs[i].to_bits(), g1[i].to_bits(), "p={p} g[{i}]");
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn forward_f32_matches_unsharded() {
    let n = 2000;
    let x: Vec<f32> = data(n, 5).iter().map(|&v| v as f32 * 10.0).collect();
    let mut y = vec![0.0f32; n];
    soft_binary_argmax(&x, 77.25, 0.3f32, &mut y).unwrap();
    let parts = run(3, move |r, ar| {
        let (a, b) = ranges(n, 3)[r];
        let mut ys = vec![0.0f32; b - a];
        soft_binary_argmax_sharded(&x[a..b], 77.25, 0.3f32, ar, &mut ys).unwrap();
        ys
    });
    let ys: Vec<f32> = parts.concat();
    // both within 4ε of the exact projection (issue 13)
    for i in 0..n {
        assert!((ys[i] - y[i]).abs() <= 2e-6, "y[{i}] {} {}", ys[i], y[i]);
    }
}

#[test]
fn multiclass_matches_unsharded() {
    let (b, c) = (301usize, 7usize);
    let logits = data(b * c, 11);
    let labels: Vec<u32> = (0..b).map(|i| ((i * 7919) % c) as u32).collect();
    let ks: Vec<f64> = (0..c).map(|i| 10.0 + 3.5 * i as f64).collect();
    for red in [Reduction::Sum, Reduction::Mean] {
        for kind in 0..3 {
            let k = match kind {
                0 => ClassK::LabelCounts,
                1 => ClassK::Fixed(150.5),
                _ => ClassK::PerClass(&ks),
            };
            let (l, g) = mc_whole(&logits, &labels, c, k, 0.5, red).unwrap();
            let mut first: Option<(u64, Vec<u64>)> = None;
            for p in 1..=4 {
                let (lg, lb, ks) = (logits.clone(), labels.clone(), ks.clone());
                let parts = run(p, move |r, ar| {
                    let (a, e) = ranges(b, p)[r];
                    let k = match kind {
                        0 => ClassK::LabelCounts,
                        1 => ClassK::Fixed(150.5),
                        _ => ClassK::PerClass(&ks),
                    };
                    let mut gs = vec![0.0; (e - a) * c];
                    let (l, _) = mc_rank(
                        &lg[a * c..e * c],
                        &lb[a..e],
                        c,
                        k,
                        0.5,
                        red,
                        Some(&mut gs),
                        ar,
                    )
                    .unwrap();
                    (l, gs)
                });
                for q in &parts {
                    assert_eq!(
                        q.0.to_bits(),
                        parts[0].0.to_bits(),
                        "loss differs across ranks"
                    );
                }
                assert!(
                    (parts[0].0 - l).abs() <= 1e-12 * (1.0 + l.abs()),
                    "{red:?} {kind} {p}: {} {l}",
                    parts[0].0
                );
                let gs: Vec<f64> = parts.iter().flat_map(|q| q.1.clone()).collect();
                for i in 0..b * c {
                    assert!(
                        (gs[i] - g[i]).abs() <= 1e-12,
                        "{red:?} {kind} {p} g[{i}] {} {}",
                        gs[i],
                        g[i]
                    );
                }
                // the loss and the gradient bit for bit for every number of ranks
                let bits = (
                    parts[0].0.to_bits(),
                    gs.iter().map(|v| v.to_bits()).collect(),
                );
                match &first {
                    None => first = Some(bits),
                    Some(f) => assert!(*f == bits, "{red:?} {kind}: {p} ranks differ from 1"),
                }
            }
        }
    }
}

/// The multiclass loss's k, checked against the global batch (4 rows on 2 ranks) as the
/// unsharded loss checks it against the whole batch: a per-class k of the wrong length,
/// negative, NaN or above the global batch is an error on every rank, the same error as
/// unsharded, and the gradients are untouched; k at 0 and at the global batch are fine.
#[test]
fn multiclass_k_checked_against_the_global_batch() {
    let logits = [0.1f64, 0.2, 0.3, 0.4, -0.5, 0.6, 0.7, -0.8];
    let labels = [0u32, 1, 1, 0];
    // (k, whether it is valid for 2 classes and 4 rows)
    let cases: [(ClassK<'static>, bool); 9] = [
        (ClassK::PerClass(&[1.0]), false),
        (ClassK::PerClass(&[1.0, 1.0, 1.0]), false),
        (ClassK::PerClass(&[1.0, -0.5]), false),
        (ClassK::PerClass(&[f64::NAN, 1.0]), false),
        (ClassK::PerClass(&[4.5, 1.0]), false),
        (ClassK::Fixed(-0.5), false),
        (ClassK::Fixed(4.25), false),
        (ClassK::PerClass(&[0.0, 4.0]), true),
        (ClassK::Fixed(4.0), true),
    ];
    for (i, (k, valid)) in cases.into_iter().enumerate() {
        let want = mc_whole(&logits, &labels, 2, k, 1.0, Reduction::Mean).err();
        assert_eq!(want.is_none(), valid, "case {i}: {want:?}");
        let res = run(2, move |r, ar| {
            let mut g = vec![7.0; 4];
            let e = mc_rank(
                &logits[4 * r..][..4],
                &labels[2 * r..][..2],
                2,
                k,
                1.0,
                Reduction::Mean,
                Some(&mut g),
                ar,
            )
            .err();
            (e, g)
        });
        for (e, g) in &res {
            assert_eq!(*e, want, "case {i}");
            assert_eq!(g.iter().all(|&v| v == 7.0), want.is_some(), "case {i}");
        }
    }
}

/// Columns with no free entry (a class at k = 0 and one at k = the global batch: every ŷ is
/// 0 or 1) have a zero gradient, not the NaN of an empty free-set mean, as unsharded; an empty
/// global batch has loss 0 under either reduction, as unsharded (no 0/0).
#[test]
fn multiclass_empty_free_sets_and_empty_batch() {
    let (b, c) = (10usize, 3usize);
    let logits = data(b * c, 23);
    let labels: Vec<u32> = (0..b).map(|i| (i % c) as u32).collect();
    let ks = [0.0, b as f64, 4.5];
    for red in [Reduction::Sum, Reduction::Mean] {
        let (want, g) = mc_whole(&logits, &labels, c, ClassK::PerClass(&ks), 0.5, red).unwrap();
        for p in 1..=2 {
            let (lg, lb) = (logits.clone(), labels.clone());
            let parts = run(p, move |r, ar| {
                let (a, e) = ranges(b, p)[r];
                let mut gs = vec![7.0; (e - a) * c];
                let (l, _) = mc_rank(
                    &lg[a * c..e * c],
                    &lb[a..e],
                    c,
                    ClassK::PerClass(&ks),
                    0.5,
                    red,
                    Some(&mut gs),
                    ar,
                )
                .unwrap();
                (l, gs)
            });
            let gs: Vec<f64> = parts.iter().flat_map(|q| q.1.clone()).collect();
            assert!((parts[0].0 - want).abs() <= 1e-12 * (1.0 + want.abs()));
            for i in 0..b * c {
                if i % c < 2 {
                    assert_eq!(gs[i], 0.0, "{red:?} {p}: g[{i}]");
                }
                assert!(
                    (gs[i] - g[i]).abs() <= 1e-12,
                    "{red:?} {p}: g[{i}] {} {}",
                    gs[i],
                    g[i]
                );
            }
        }
        // no rows on any rank
        let want = mc_whole(&[], &[], c, ClassK::Fixed(0.0), 0.5f64, red);
        assert_eq!(want, Ok((0.0, vec![])));
        let res = run(2, move |_, ar| {
            mc_rank(&[], &[], c, ClassK::Fixed(0.0), 0.5, red, Some(&mut []), ar)
                .map(|(l, i): (f64, _)| (l.to_bits(), i.global_len))
        });
        assert!(
            res.iter().all(|r| *r == Ok((0.0f64.to_bits(), 0))),
            "{red:?} {res:?}"
        );
    }
}

/// The multiclass loss's scratch: `states` shorter than `classes` or `buf` shorter than
/// [`multiclass_buf_len`] is `ScratchTooSmall` (checked before any allreduce, the gradient
/// untouched), each alone; longer ones are fine and give the same bits as exact lengths.
#[test]
fn multiclass_scratch_lengths() {
    let (b, c) = (6usize, 3usize);
    let logits = data(b * c, 5);
    let labels: Vec<u32> = (0..b).map(|i| (i % c) as u32).collect();
    let solve = |states: usize, buf: usize| {
        let mut g = vec![7.0; b * c];
        let mut st = vec![ColumnState::default(); states];
        let mut bf = vec![0i64; buf];
        let mut calls = 0;
        let mut one_rank = |_: &mut [i64]| {
            calls += 1;
            true
        };
        let r = hypersimplex_loss_multiclass_sharded(
            &logits,
            &labels,
            c,
            ClassK::LabelCounts,
            0.7,
            Reduction::Mean,
            Some(&mut g),
            &mut one_rank,
            &mut st,
            &mut bf,
        )
        .map(|(l, _)| l.to_bits());
        (r, g.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), calls)
    };
    let len = multiclass_buf_len(c);
    let (exact, g, calls) = solve(c, len);
    assert!(exact.is_ok() && calls >= 2, "{exact:?} {calls}");
    assert!(g.iter().all(|&v| v != 7.0f64.to_bits()));
    for (states, buf) in [(c - 1, len), (c, len - 1), (0, len), (c, 0)] {
        let (r, g2, calls) = solve(states, buf);
        assert_eq!(r, Err(Error::ScratchTooSmall), "{states} {buf}");
        assert_eq!(calls, 0);
        assert!(g2.iter().all(|&v| v == 7.0f64.to_bits()));
    }
    for (states, buf) in [(c + 3, len), (c, len + 5), (c + 1, len + 1)] {
        assert_eq!(
            solve(states, buf),
            (exact, g.clone(), calls),
            "{states} {buf}"
        );
    }
}

#[test]
fn errors_are_agreed_and_outputs_untouched() {
    // NaN on rank 1 only: every rank gets NonFiniteInput.
    let res = run(3, |r, ar| {
        let mut x = vec![0.5f64, 1.0, -1.0];
        if r == 1 {
            x[2] = f64::NAN;
        }
        let mut y = vec![7.0; 3];
        let e = soft_binary_argmax_sharded(&x, 2.0, 1.0, ar, &mut y).err();
        (e, y)
    });
    for (e, y) in &res {
        assert_eq!(*e, Some(Error::NonFiniteInput));
        assert_eq!(y, &vec![7.0; 3]);
    }
    // Different k on one rank: Collective everywhere.
    let res = run(2, |r, ar| {
        let mut y = vec![7.0; 2];
        let k = if r == 0 { 1.0 } else { 1.5 };
        (
            soft_binary_argmax_sharded(&[0.1, 0.2], k, 1.0, ar, &mut y).err(),
            y,
        )
    });
    for (e, y) in &res {
        assert_eq!(*e, Some(Error::Collective));
        assert_eq!(y, &vec![7.0; 2]);
    }
    // A bad label on rank 0 only.
    let res = run(2, |r, ar| {
        let labels = if r == 0 { vec![0u32, 5] } else { vec![1, 0] };
        let mut g = vec![7.0; 4];
        let e = mc_rank(
            &[0.1, 0.2, 0.3, 0.4],
            &labels,
            2,
            ClassK::LabelCounts,
            1.0,
            Reduction::Sum,
            Some(&mut g),
            ar,
        )
        .err();
        (e, g)
    });
    for (e, g) in &res {
        assert_eq!(*e, Some(Error::LabelOutOfRange));
        assert_eq!(g, &vec![7.0; 4]);
    }
    // k larger than the global n.
    let res = run(2, |_, ar| {
        let mut y = vec![7.0; 2];
        (
            soft_binary_argmax_sharded(&[0.1, 0.2], 4.5, 1.0, ar, &mut y).err(),
            y,
        )
    });
    for (e, _) in &res {
        assert_eq!(*e, Some(Error::InvalidK));
    }
    // An early error (a length) on one rank outranks a k no rank can take (k > global n):
    // every rank reports the length.
    let res = run(2, |r, ar| {
        let mut y = vec![7.0; if r == 0 { 1 } else { 2 }];
        (
            soft_binary_argmax_sharded(&[0.1, 0.2], 10.0, 1.0, ar, &mut y).err(),
            y,
        )
    });
    for (r, (e, y)) in res.iter().enumerate() {
        assert_eq!(*e, Some(Error::LengthMismatch), "rank {r}");
        assert!(y.iter().all(|&v| v == 7.0));
    }
    // No data on any rank: k = 0 is the only k, and it is fine.
    let res = run(3, |_, ar| {
        let mut y: Vec<f64> = vec![];
        soft_binary_argmax_sharded(&[], 0.0, 1.0, ar, &mut y).map(|i| i.global_len)
    });
    assert!(res.iter().all(|r| *r == Ok(0)), "{res:?}");
    // A broken allreduce that reports success but sums nothing (or a negative row count):
    // the header shows it.
    for bad in [0i64, -5] {
        let mut zeroing = |v: &mut [i64]| {
            v.iter_mut().for_each(|x| *x = 0);
            if let Some(r) = v.get_mut(1) {
                *r = bad;
            }
            if let Some(p) = v.first_mut() {
                *p = if bad < 0 { 1 } else { 0 };
            }
            true
        };
        let mut y = vec![7.0; 3];
        assert_eq!(
            soft_binary_argmax_sharded(&[0.1, 0.2, 0.9], 1.5, 1.0, &mut zeroing, &mut y).err(),
            Some(Error::Collective)
        );
        assert_eq!(y, vec![7.0; 3]);
    }
    // A VJP whose outputs (g − mean)/τ overflow: ScaleOverflow on every rank, as unsharded
    // (g = ±1e300 on the free set, τ = 1e-10), and nothing written; the same g at τ = 1 fits.
    let (yv, gv) = ([0.5f64, 0.25, 0.5, 0.75], [1e300f64, -1e300, 3.0, -2.0]);
    let mut o = [7.0; 4];
    assert_eq!(
        soft_binary_argmax_vjp(&yv, &gv, 1e-10, &mut o),
        Err(Error::ScaleOverflow)
    );
    for tau in [1e-10, 1.0] {
        let res = run(2, move |r, ar| {
            let mut o = vec![7.0; 2];
            let e = soft_binary_argmax_vjp_sharded(
                &yv[2 * r..][..2],
                &gv[2 * r..][..2],
                tau,
                ar,
                &mut o,
            );
            (e.err(), o)
        });
        for (e, o) in &res {
            if tau < 1.0 {
                assert_eq!(*e, Some(Error::ScaleOverflow));
                assert_eq!(o, &vec![7.0; 2]);
            } else {
                assert_eq!(*e, None);
            }
        }
    }
    // A callback failing at its second call.
    let res = run(2, |_, ar| {
        let mut calls = 0;
        let mut failing = |v: &mut [i64]| {
            calls += 1;
            calls < 2 && ar(v)
        };
        let mut y = vec![7.0; 3];
        (
            soft_binary_argmax_sharded(&[0.1, 0.2, 0.9], 1.5, 1.0, &mut failing, &mut y).err(),
            y,
        )
    });
    for (e, y) in &res {
        assert_eq!(*e, Some(Error::Collective));
        assert_eq!(y, &vec![7.0; 3]);
    }
}

/// Issue 13 on the sharded functions: at `|x/τ|` from 1 to 1e6 the sharded forward (1 and 3
/// ranks) is within 4ε of the exact projection, and the sharded multiclass loss and gradient
/// (a shifted frame per class where λ is large) agree with the unsharded ones (which
/// `tests/scale_losses.rs` checks against the exact loss) to a few ε.
///
/// With `huge`: τ above `MAX/64` instead (`exact::huge_tau_cases`, where every rank re-solves
/// in the pre-scaled frame).
fn sharded_scale<T: hypersimplex::Real + Send + Sync + 'static>(huge: bool) {
    let eps = T::EPSILON.to_f64();
    let n = 300;
    let sets: Vec<(f64, Vec<exact::Case>)> = if huge {
        vec![(f64::NAN, exact::huge_tau_cases(n, T::MAX.to_f64(), 21))]
    } else {
        exact::MAGS
            .iter()
            .map(|&m| (m, exact::cases(n, m, 21)))
            .collect()
    };
    for (mag, cases) in sets {
        let mut worst = 0.0f64;
        for case in cases.into_iter().step_by(3) {
            let x: Vec<T> = case.x.iter().map(|&v| T::from_f64(v)).collect();
            let tau = T::from_f64(case.tau);
            let xr: Vec<f64> = x.iter().map(|v| v.to_f64()).collect();
            let reference = if huge {
                exact::project_huge(&xr, tau.to_f64(), case.k)
            } else {
                exact::project(&xr, tau.to_f64(), case.k)
            };
            for p in [1, 3] {
                let (xs, k) = (x.clone(), case.k);
                let parts = run(p, move |r, ar| {
                    let (a, b) = ranges(n, p)[r];
                    let mut ys = vec![T::ZERO; b - a];
                    let info = soft_binary_argmax_sharded(&xs[a..b], k, tau, ar, &mut ys).unwrap();
                    assert!(info.allreduces <= hypersimplex::max_allreduces(T::BITS));
                    ys
                });
                let ys: Vec<f64> = parts.concat().iter().map(|v| v.to_f64()).collect();
                let (e, s) = exact::errors(&ys, &reference, case.k, eps);
                let s = s / (n as f64 + 1.0);
                assert!(
                    e <= 4.0 && s <= 4.0,
                    "sharded p={p} |x/τ|≈{mag} τ={} k={}: {e:.2}ε, sum {s:.2}",
                    case.tau,
                    case.k
                );
                worst = worst.max(e);
            }
            // multiclass: 2 classes (columns from the case), 2 ranks, against unsharded
            let c = 2;
            let b = n / 2;
            let lg: Vec<T> = (0..b * c).map(|j| x[(j / c + 7 * (j % c)) % n]).collect();
            let lb: Vec<u32> = (0..b).map(|i| (i % 3 == 0) as u32).collect();
            let kc = (case.k / 2.0).min(b as f64);
            let k = ClassK::Fixed(kc);
            let (l, g) = mc_whole(&lg, &lb, c, k, tau, Reduction::Sum).unwrap();
            let l = l.to_f64();
            let parts = run(2, move |r, ar| {
                let (a, e) = ranges(b, 2)[r];
                let mut gs = vec![T::ZERO; (e - a) * c];
                let (l, _) = mc_rank(
                    &lg[a * c..e * c],
                    &lb[a..e],
                    c,
                    ClassK::Fixed(kc),
                    tau,
                    Reduction::Sum,
                    Some(&mut gs),
                    ar,
                )
                .unwrap();
                (l.to_f64(), gs)
            });
            let ls = parts[0].0;
            assert!(
                (ls - l).abs() <= 16.0 * eps * (1.0 + l),
                "multiclass |x/τ|≈{mag}: {ls} {l}"
            );
            let gs: Vec<f64> = parts
                .iter()
                .flat_map(|q| q.1.iter().map(|v| v.to_f64()))
                .collect();
            let s = 1.0 / tau.to_f64();
            for (i, (a, w)) in gs.iter().zip(&g).enumerate() {
                let w = w.to_f64();
                // agree to a few ε, or both sides of a breakpoint (an entry within ε of 0 or 1)
                let ok = (a - w).abs() <= 24.0 * eps * (s + w.abs()) || (a == &0.0) != (w == 0.0);
                assert!(ok, "multiclass |x/τ|≈{mag} g[{i}]: {a} {w}");
            }
        }
        println!(
            "sharded {}-bit: max|y−y*| = {worst:.2}ε at |x/τ|≈{mag:e}",
            T::BITS
        );
    }
}

#[test]
fn sharded_accuracy_at_every_scale() {
    sharded_scale::<f32>(false);
    sharded_scale::<f64>(false);
}

#[test]
fn sharded_accuracy_huge_tau() {
    sharded_scale::<f32>(true);
    sharded_scale::<f64>(true);
}

/// Logits at both ends of the range (`±MAX`, τ = 1) beside moderate ones: a trial λ at one end
/// makes `d = z − λ` overflow for entries at the other, which must not poison the free-set
/// sum (`∞·0`). The sharded forward matches the unsharded one (itself checked against an
/// exact block reference in the SIMD crate's `tests/kernels/extremes.rs`) on 1–4 ranks.
#[test]
fn sharded_forward_with_max_logits() {
    let m = f64::MAX;
    let n = 60;
    let x: Vec<f64> = (0..n)
        .map(|i| match i % 10 {
            3 => m,
            7 | 8 => -m,
            _ => ((i * 37) % 200) as f64 / 8.0 - 12.5,
        })
        .collect();
    for &k in &[0.5, 1.0, 2.0, 3.0, 6.0, 20.5, 53.0, 55.5] {
        let mut y = vec![0.0; n];
        soft_binary_argmax(&x, k, 1.0, &mut y).unwrap();
        // the +MAX block first: its 6 entries share k when k ≤ 6
        if k <= 6.0 {
            assert!(
                y.iter()
                    .enumerate()
                    .all(|(i, v)| (*v - if i % 10 == 3 { k / 6.0 } else { 0.0 }).abs() < 1e-15),
                "k={k}: {y:?}"
            );
        }
        let mut first: Option<Vec<f64>> = None;
        for p in 1..=4 {
            let x2 = x.clone();
            let parts = run(p, move |r, ar| {
                let (a, b) = ranges(n, p)[r];
                let mut ys = vec![0.0; b - a];
                soft_binary_argmax_sharded(&x2[a..b], k, 1.0, ar, &mut ys).unwrap();
                ys
            });
            let ys: Vec<f64> = parts.into_iter().flatten().collect();
            match &first {
                None => first = Some(ys.clone()),
                Some(f) => assert!(
                    f.iter().zip(&ys).all(|(a, b)| a.to_bits() == b.to_bits()),
                    "k={k}: {p} ranks differ from 1"
                ),
            }
            for i in 0..n {
                assert!(
                    (ys[i] - y[i]).abs() <= 1e-14,
                    "k={k} p={p} y[{i}] {} vs {}",
                    ys[i],
                    y[i]
                );
            }
        }
    }
}

/// The VJP's mean is the same bits for any number of ranks and any split, also where an f64
/// running sum per rank would round differently: `g` spread over many binades (the `sharded`
/// fuzz target's case: f64, six entries, three ranks, the outputs 1–2 ulps apart).
#[test]
fn vjp_is_bitwise_independent_of_the_ranks() {
    let n = 64;
    let y: Vec<f64> = (0..n)
        .map(|i| if i % 5 == 4 { 0.0 } else { 0.25 })
        .collect();
    let g: Vec<f64> = data(n, 7)
        .iter()
        .enumerate()
        .map(|(i, v)| v * 10f64.powi(-((i % 9) as i32) * 3))
        .collect();
    let mut want: Option<Vec<u64>> = None;
    for p in 1..=4 {
        let (y2, g2) = (y.clone(), g.clone());
        let parts = run(p, move |r, ar| {
            let (a, b) = ranges(n, p)[r];
            let mut o = vec![0.0; b - a];
            soft_binary_argmax_vjp_sharded(&y2[a..b], &g2[a..b], 0.7, ar, &mut o).unwrap();
            o
        });
        let got: Vec<u64> = parts.iter().flatten().map(|v| v.to_bits()).collect();
        match &want {
            None => want = Some(got),
            Some(w) => assert_eq!(&got, w, "{p} ranks"),
        }
    }
}

/// Splits `0..n` at the sorted cut points `cuts` (ranks of any size, empty ones included).
fn split_at(n: usize, cuts: &[usize]) -> Vec<(usize, usize)> {
    let mut at = vec![0];
    at.extend(cuts.iter().map(|&c| c.min(n)));
    at.push(n);
    at.windows(2).map(|w| (w[0], w[1])).collect()
}

/// The projection (f64 and f32) and the VJP are the same bits for every number of ranks and
/// every split (the multiclass loss: `multiclass_matches_unsharded`), on data where per-rank
/// `f64` sums round differently: entries over many binades (down to 2^-60 of the others),
/// fractional k, f64 and f32, 1–7 ranks at random cut points (the `sharded` fuzz target found
/// an f64 forward 1 ulp apart between 1 and 2 ranks with the earlier compensated per-rank
/// sums; its input is in `fuzz/regressions/sharded/`).
#[test]
fn results_are_bitwise_independent_of_the_split() {
    let mut s = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    for case in 0..40 {
        let n = 1 + (next() % 300) as usize;
        let x: Vec<f64> = (0..n)
            .map(|_| {
                let v = (next() >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
                v * 2f64.powi((next() % 64) as i32 - 60) + if next() % 3 == 0 { 0.3 } else { 0.0 }
            })
            .collect();
        let k = (next() % (100 * n as u64 + 1)) as f64 / 100.0;
        let tau = [1.0, 1e-3, 0.37][case % 3];
        let g: Vec<f64> = data(n, case as u64).iter().map(|v| v * 1e-7).collect();
        let mut want: Option<(Vec<u64>, Vec<u64>, Vec<u32>)> = None;
        for p in 1..=7usize {
            let mut cuts: Vec<usize> = (1..p).map(|_| (next() % (n as u64 + 1)) as usize).collect();
            cuts.sort();
            let parts = split_at(n, &cuts);
            let (x2, g2, parts2) = (x.clone(), g.clone(), parts.clone());
            let out = run(p, move |r, ar| {
                let (a, b) = parts2[r];
                let mut y = vec![0.0; b - a];
                soft_binary_argmax_sharded(&x2[a..b], k, tau, ar, &mut y).unwrap();
                let mut gx = vec![0.0; b - a];
                soft_binary_argmax_vjp_sharded(&y, &g2[a..b], tau, ar, &mut gx).unwrap();
                let xf: Vec<f32> = x2[a..b].iter().map(|&v| v as f32).collect();
                let mut yf = vec![0.0f32; b - a];
                soft_binary_argmax_sharded(&xf, k, tau as f32, ar, &mut yf).unwrap();
                (y, gx, yf)
            });
            let bits = (
                out.iter().flat_map(|o| &o.0).map(|v| v.to_bits()).collect(),
                out.iter().flat_map(|o| &o.1).map(|v| v.to_bits()).collect(),
                out.iter().flat_map(|o| &o.2).map(|v| v.to_bits()).collect(),
            );
            match &want {
                None => want = Some(bits),
                Some(w) => assert!(*w == bits, "case {case}: n {n} k {k}, split {parts:?}"),
            }
        }
    }
}
