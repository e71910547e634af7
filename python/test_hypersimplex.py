"""Tests of the ctypes module against an independent NumPy reference (sort-based projection)."""

import numpy as np
import pytest

import hypersimplex as hs


def ref_projection(z, k):
    """Projection of z onto {y in [0,1]^n : sum y = k}, by scanning the sorted breakpoints of
    f(lam) = sum clip(z - lam, 0, 1) (f64, obviously correct, O(n^2))."""
    z = np.asarray(z, dtype=np.float64)
    n = z.size
    if k <= 0:
        return np.zeros(n)
    if k >= n:
        return np.ones(n)
    f = lambda lam: np.clip(z - lam, 0.0, 1.0).sum()
    bp = np.sort(np.concatenate([z, z - 1.0]))
    for a, b in zip(bp[:-1], bp[1:]):
        fa, fb = f(a), f(b)
        if fa >= k >= fb:
            lam = a if fa == fb else a + (fa - k) / (fa - fb) * (b - a)
            return np.clip(z - lam, 0.0, 1.0)
    raise AssertionError("no root")


def ref_vjp(y, g, tau):
    free = (y > 0) & (y < 1)
    out = np.zeros_like(g, dtype=np.float64)
    if free.any():
        out[free] = (g[free] - g[free].mean()) / tau
    return out


def ref_multiclass(logits, labels, tau, reduction="sum"):
    b, c = logits.shape
    total = 0.0
    for j in range(c):
        kc = float(np.sum(labels == j))
        p = ref_projection(logits[:, j] / tau, kc)
        total += np.sum((p - (labels == j)) ** 2)
    return 0.5 * total if reduction == "sum" else total / (b * c)


rng = np.random.default_rng(12345)


@pytest.mark.parametrize("dtype,tol", [(np.float32, 2e-5), (np.float64, 1e-11)])
def test_forward_matches_reference(dtype, tol):
    for _ in range(50):
        n = int(rng.integers(1, 60))
        x = (rng.standard_normal(n) * rng.choice([0.1, 1.0, 10.0])).astype(dtype)
        k = float(rng.uniform(0, n))
        tau = float(rng.uniform(0.1, 3.0))
        y = hs.soft_binary_argmax(x, k, tau)
        assert y.dtype == dtype
        want = ref_projection(x.astype(np.float64) / dtype(tau), k)
        np.testing.assert_allclose(y, want, atol=tol * max(1.0, np.abs(x).max() / tau))
        assert abs(y.sum(dtype=np.float64) - k) < 1e3 * tol * max(1, n)


def test_rows_and_in_place():
    x = rng.standard_normal((5, 17)).astype(np.float32)
    ks = np.array([0.0, 1.0, 2.5, 16.0, 17.0])
    y = hs.soft_binary_argmax(x, ks, 0.7)
    for r in range(5):
        np.testing.assert_array_equal(y[r], hs.soft_binary_argmax(x[r], ks[r], 0.7))
    xx = x.copy()
    out = hs.soft_binary_argmax(xx, ks, 0.7, out=xx)
    assert out is xx
    np.testing.assert_array_equal(xx, y)


def test_vjp_matches_reference_and_finite_differences():
    x = rng.standard_normal(12)
    k, tau = 4.0, 0.8
    y = hs.soft_binary_argmax(x, k, tau)
    g = rng.standard_normal(12)
    gx = hs.soft_binary_argmax_vjp(y, g, tau)
    np.testing.assert_allclose(gx, ref_vjp(y, g, tau), atol=1e-12)
    # finite differences of <g, y(x)>
    h = 1e-6
    fd = np.array([
        (g @ ref_projection((x + h * e) / tau, k) - g @ ref_projection((x - h * e) / tau, k)) / (2 * h)
        for e in np.eye(12)
    ])
    np.testing.assert_allclose(gx, fd, atol=1e-6)
    # rows
    Y = np.stack([y, y[::-1]])
    G = rng.standard_normal((2, 12))
    GX = hs.soft_binary_argmax_vjp(Y, G, tau)
    np.testing.assert_allclose(GX[1], ref_vjp(Y[1], G[1], tau), atol=1e-12)


def test_topk():
    x = np.array([0.3, 2.0, 0.3, -1.0, 0.3], dtype=np.float32)
    np.testing.assert_array_equal(hs.binary_argmax(x, 2), [1, 1, 0, 0, 0])
    for _ in range(30):
        x = rng.integers(-3, 3, size=int(rng.integers(1, 40))).astype(np.float64)
        k = int(rng.integers(0, x.size + 1))
        order = sorted(range(x.size), key=lambda i: (-x[i], i))
        want = np.zeros(x.size)
        want[order[:k]] = 1
        np.testing.assert_array_equal(hs.binary_argmax(x, k), want)


def test_losses():
    x = rng.standard_normal(10)
    t = (rng.random(10) < 0.3).astype(np.float64)
    t[0] = 1.0
    loss, g = hs.hypersimplex_loss(x, t, tau=0.5)
    p = ref_projection(x / 0.5, t.sum())
    assert abs(loss - 0.5 * np.sum((p - t) ** 2)) < 1e-12
    np.testing.assert_allclose(g, ref_vjp(p, p - t, 0.5), atol=1e-12)
    loss2, g2 = hs.hypersimplex_loss(x, t, tau=0.5, grad=False)
    assert loss2 == loss and g2 is None

    logits = rng.standard_normal((16, 4))
    labels = rng.integers(0, 4, size=16)
    for red in ("sum", "mean"):
        l, G = hs.hypersimplex_loss_multiclass(logits, labels, tau=0.9, reduction=red)
        assert abs(l - ref_multiclass(logits, labels, 0.9, red)) < 1e-12
        h = 1e-6
        for idx in [(0, 0), (3, 2), (15, 3)]:
            e = np.zeros_like(logits)
            e[idx] = h
            fd = (ref_multiclass(logits + e, labels, 0.9, red) - ref_multiclass(logits - e, labels, 0.9, red)) / (2 * h)
            assert abs(fd - G[idx]) < 1e-6
    l32, _ = hs.hypersimplex_loss_multiclass(logits.astype(np.float32), labels, tau=0.9)
    assert abs(l32 - ref_multiclass(logits, labels, 0.9)) < 1e-4


@pytest.mark.parametrize(
    "call,name",
    [
        (lambda: hs.soft_binary_argmax(np.ones(3), 4.0), "HS_ERR_INVALID_K"),
        (lambda: hs.soft_binary_argmax(np.ones(3), 1.0, tau=0.0), "HS_ERR_INVALID_TAU"),
        (lambda: hs.soft_binary_argmax(np.array([1.0, np.nan]), 1.0), "HS_ERR_NON_FINITE_INPUT"),
        (lambda: hs.soft_binary_argmax(np.array([1e30, 0], np.float32), 1.0, 1e-10), "HS_ERR_SCALE_OVERFLOW"),
        (lambda: hs.binary_argmax(np.ones(3), 4), "HS_ERR_INVALID_K"),
        (lambda: hs.hypersimplex_loss(np.ones(3), np.array([0, 2.0, 0])), "HS_ERR_INVALID_TARGET"),
        (lambda: hs.hypersimplex_loss_multiclass(np.ones((2, 3)), [0, 3]), "HS_ERR_LABEL_OUT_OF_RANGE"),
        (lambda: hs.hypersimplex_loss_multiclass(np.ones((2, 3)), [0, 1], k=[1, 3, 0]), "HS_ERR_INVALID_K"),
    ],
)
def test_errors(call, name):
    with pytest.raises(hs.HypersimplexError) as e:
        call()
    assert e.value.name == name and e.value.status == hs.STATUS[name]
    assert hs.status_message(e.value.status) in str(e.value)


def test_error_leaves_out_untouched():
    out = np.full(3, 7.0)
    with pytest.raises(hs.HypersimplexError):
        hs.soft_binary_argmax(np.array([1.0, np.inf, 0.0]), 1.0, out=out)
    np.testing.assert_array_equal(out, 7.0)


def test_misc():
    assert hs.status_message(0) == "success"
    assert hs.status_message(424242) == "unknown status"
    assert hs.version().count(".") == 2
    assert hs.soft_binary_argmax(np.zeros(0), 0.0).shape == (0,)
