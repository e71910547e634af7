"""The NumPy API of the installed package against the float64 reference (tests/reference.py)."""

import importlib.metadata

import numpy as np
import pytest

import hypersimplex as hs
import reference as ref

TOL = {np.float32: 2e-5, np.float64: 1e-9}


def random_case(rng):
    rank = int(rng.integers(1, 5))
    shape = tuple(int(s) for s in rng.integers(1, 6, size=rank))
    return shape, int(rng.integers(-rank, rank))


def test_version_matches_metadata():
    assert hs.__version__ == hs.version() == importlib.metadata.version("hypersimplex") == "0.2.0"


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_soft_binary_argmax_random_shapes(seed, dtype):
    rng = np.random.default_rng(seed)
    shape, axis = random_case(rng)
    n = shape[axis]
    x = (rng.standard_normal(shape) * 2).astype(dtype)
    batch = np.delete(shape, axis % len(shape))
    k = rng.uniform(0, n, size=batch) if seed % 2 else float(rng.uniform(0, n))
    tau = float(rng.uniform(0.2, 3))
    x0 = x.copy()
    y = hs.soft_binary_argmax(x, k, tau, axis=axis)
    assert y.dtype == dtype and y.shape == shape
    np.testing.assert_allclose(y, ref.soft_binary_argmax(x, k, tau, axis), atol=TOL[dtype] * 10)
    np.testing.assert_array_equal(x, x0)
    g = rng.standard_normal(shape).astype(dtype)
    gx = hs.soft_binary_argmax_vjp(y, g, tau, axis=axis)
    yr = np.moveaxis(y.astype(np.float64), axis, -1)
    want = np.moveaxis(np.stack([ref.vjp(yr[i], np.moveaxis(g, axis, -1)[i], tau)
                                 for i in np.ndindex(*yr.shape[:-1])]).reshape(yr.shape), -1, axis)
    np.testing.assert_allclose(gx, want, atol=TOL[dtype] * 10)


@pytest.mark.parametrize("rank", [1, 2, 3, 4])
def test_every_axis(rank):
    rng = np.random.default_rng(rank)
    shape = (3, 4, 2, 5)[:rank]
    x = rng.standard_normal(shape)
    for axis in range(-rank, rank):
        y = hs.soft_binary_argmax(x, 1.5, 0.5, axis=axis)
        np.testing.assert_allclose(y, ref.soft_binary_argmax(x, 1.5, 0.5, axis), atol=1e-9)
        np.testing.assert_allclose(y.sum(axis), 1.5, atol=1e-9)
        m = hs.binary_argmax(x, 1, axis=axis)
        np.testing.assert_array_equal(m, ref.along(lambda v: ref.topk(v, 1), x, axis))


def test_k_zero_n_fractional_and_ties():
    x = np.array([[1.0, 1.0, 1.0, 0.0], [2.0, 2.0, -1.0, -1.0]])
    np.testing.assert_array_equal(hs.soft_binary_argmax(x, 0.0), 0)
    np.testing.assert_array_equal(hs.soft_binary_argmax(x, 4.0), 1)
    y = hs.soft_binary_argmax(x, 1.5, 1.0)
    np.testing.assert_allclose(y, ref.soft_binary_argmax(x, 1.5, 1.0, -1), atol=1e-12)
    np.testing.assert_allclose(y[0, :3], 0.5)  # tied entries share equally
    np.testing.assert_array_equal(hs.binary_argmax(x, 2), [[1, 1, 0, 0], [1, 1, 0, 0]])
    np.testing.assert_array_equal(hs.binary_argmax(x, [1, 3]), [[1, 0, 0, 0], [1, 1, 1, 0]])


def test_out_dtypes_and_no_modification():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 6)).astype(np.float32)
    out = np.full_like(x, 7)
    assert hs.soft_binary_argmax(x, 2, out=out) is out
    np.testing.assert_allclose(out, ref.soft_binary_argmax(x, 2, 1.0, -1), atol=1e-5)
    outT = np.full((6, 4), 7, np.float32)  # not contiguous along the axis: via a temporary
    hs.soft_binary_argmax(x.T, 2, axis=0, out=outT)
    np.testing.assert_allclose(outT, out.T, atol=1e-6)
    xi = x.copy()
    hs.soft_binary_argmax(xi, 2, out=xi)  # in place
    np.testing.assert_allclose(xi, out, atol=1e-6)
    with pytest.raises(ValueError):
        hs.soft_binary_argmax(x, 2, out=np.empty((4, 6)))  # wrong dtype
    h = hs.soft_binary_argmax(x.astype(np.float16), 2)
    assert h.dtype == np.float16
    np.testing.assert_allclose(h, out, atol=2e-3)
    assert hs.soft_binary_argmax(np.arange(6), 2).dtype == np.float64


@pytest.mark.parametrize("reduction", ["sum", "mean", "none"])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_binary_loss(reduction, axis):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((5, 6, 3))
    t = (rng.uniform(size=x.shape) < 0.4).astype(np.float64)
    t[0, 0, 0] = 0.3  # a soft target
    t0 = t.copy()
    per, grad = ref.loss(x, t, None, 0.7, axis)
    loss, g = hs.hypersimplex_loss(x, t, tau=0.7, axis=axis, reduction=reduction)
    want = {"sum": per.sum(), "mean": 2 * per.sum() / x.size, "none": per}[reduction]
    np.testing.assert_allclose(loss, want, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(g, grad * (2 / x.size if reduction == "mean" else 1), atol=1e-9)
    np.testing.assert_array_equal(t, t0)
    k = rng.uniform(0, x.shape[axis], size=np.delete(x.shape, axis % 3))
    loss, g = hs.hypersimplex_loss(x.astype(np.float32), t, k=k, tau=0.7, axis=axis, reduction="sum")
    np.testing.assert_allclose(loss, ref.loss(x, t, k, 0.7, axis)[0].sum(), rtol=1e-4)


@pytest.mark.parametrize("reduction", ["sum", "mean"])
@pytest.mark.parametrize("k", [None, 2.5, "per-class"])
def test_multiclass(reduction, k):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((12, 4))
    labels = rng.integers(0, 4, 12)
    kk = rng.uniform(0, 12, 4) if k == "per-class" else k
    loss, g = hs.hypersimplex_loss_multiclass(x, labels, kk, 1.5, reduction)
    wl, wg = ref.multiclass(x, labels, kk, 1.5, reduction)
    np.testing.assert_allclose(loss, wl, rtol=1e-9)
    np.testing.assert_allclose(g, wg, atol=1e-9)
    l32, g32 = hs.hypersimplex_loss_multiclass(x.astype(np.float32), labels.astype(np.int32), kk, 1.5, reduction)
    assert g32.dtype == np.float32
    np.testing.assert_allclose(l32, wl, rtol=1e-4)


def raises(status, fn, *args, **kw):
    with pytest.raises(hs.HypersimplexError) as e:
        fn(*args, **kw)
    assert e.value.status == hs.STATUS[status]
    assert hs.status_message(e.value.status) in str(e.value)
    assert isinstance(e.value, ValueError)


def test_bad_input_raises_and_leaves_inputs_unmodified():
    x = np.array([[0.5, np.nan, 1.0], [0.1, 0.2, 0.3]])
    x0, out = x.copy(), np.full((2, 3), 9.0)
    raises("HS_ERR_NON_FINITE_INPUT", hs.soft_binary_argmax, x, 1, out=out)
    np.testing.assert_array_equal(out, 9.0)  # an error writes nothing
    np.testing.assert_array_equal(x, x0)
    ok = np.ones((2, 3))
    raises("HS_ERR_INVALID_K", hs.soft_binary_argmax, ok, 3.5)
    raises("HS_ERR_INVALID_K", hs.soft_binary_argmax, ok, [1, -1])
    raises("HS_ERR_INVALID_K", hs.binary_argmax, ok, 4)
    raises("HS_ERR_NON_INTEGER_K", hs.binary_argmax, ok, 1.5)
    raises("HS_ERR_NON_FINITE_INPUT", hs.binary_argmax, x, 1)
    for tau in (0.0, -1.0, np.nan, np.inf):
        raises("HS_ERR_INVALID_TAU", hs.soft_binary_argmax, ok, 1, tau)
        raises("HS_ERR_INVALID_TAU", hs.soft_binary_argmax_vjp, ok * 0.5, ok, tau)
    raises("HS_ERR_LENGTH_MISMATCH", hs.soft_binary_argmax, ok, [1, 1, 1])
    raises("HS_ERR_LENGTH_MISMATCH", hs.soft_binary_argmax_vjp, ok, np.ones((3, 2)))
    raises("HS_ERR_LENGTH_MISMATCH", hs.hypersimplex_loss, ok, np.ones(3))
    raises("HS_ERR_INVALID_TARGET", hs.hypersimplex_loss, ok, ok * 2)
    raises("HS_ERR_INVALID_TARGET", hs.hypersimplex_loss, ok, x * 0)  # NaN target
    raises("HS_ERR_INVALID_REDUCTION", hs.hypersimplex_loss, ok, ok, reduction="max")
    raises("HS_ERR_NON_FINITE_INPUT", hs.hypersimplex_loss, x, ok * 0)
    lab = np.array([0, 2])
    raises("HS_ERR_LABEL_OUT_OF_RANGE", hs.hypersimplex_loss_multiclass, ok, np.array([0, 3]))
    raises("HS_ERR_LABEL_OUT_OF_RANGE", hs.hypersimplex_loss_multiclass, ok, np.array([0, -1]))
    raises("HS_ERR_LENGTH_MISMATCH", hs.hypersimplex_loss_multiclass, ok, np.array([0, 1, 2]))
    raises("HS_ERR_LENGTH_MISMATCH", hs.hypersimplex_loss_multiclass, ok[0], lab)
    raises("HS_ERR_INVALID_K", hs.hypersimplex_loss_multiclass, ok, lab, k=3)
    raises("HS_ERR_INVALID_REDUCTION", hs.hypersimplex_loss_multiclass, ok, lab, reduction="none")
    raises("HS_ERR_NON_FINITE_INPUT", hs.hypersimplex_loss_multiclass, x, lab)
    raises("HS_ERR_INVALID_TAU", hs.hypersimplex_loss_multiclass, ok, lab, tau=0)
    with pytest.raises(TypeError):
        hs.hypersimplex_loss_multiclass(ok, lab.astype(np.float64))
    np.testing.assert_array_equal(x, x0)


def test_reference_can_fail():
    """Negative control: a wrong k is caught by the comparison the tests use."""
    x = np.random.default_rng(0).standard_normal((3, 5))
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(hs.soft_binary_argmax(x, 2), ref.soft_binary_argmax(x, 2.01, 1.0, -1), atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("k", [None, 2.5, "per-class"])
def test_multiclass_lambda_and_calibrated_argmax(dtype, k):
    """λ_c from return_lambda: clip(x[:, c]/τ − λ_c, 0, 1) is the reference projection of the
    column, and the loss and gradient equal the call without λ; calibrated_argmax is the float64
    argmax of x/τ − λ with ties to the lower class."""
    rng = np.random.default_rng(11)
    x = (rng.standard_normal((40, 5)) * 3).astype(dtype)
    labels = rng.integers(0, 5, 40)
    labels[:5] = np.arange(5)  # every class present: k_c = count > 0 for k=None
    kk = rng.uniform(0, 40, 5) if k == "per-class" else k
    tau = 0.7
    loss, g, lam = hs.hypersimplex_loss_multiclass(x, labels, kk, tau, "mean", return_lambda=True)
    l0, g0 = hs.hypersimplex_loss_multiclass(x, labels, kk, tau, "mean")
    assert lam.dtype == np.float64 and lam.shape == (5,)
    assert loss == l0 and np.array_equal(g, g0)
    counts = np.bincount(labels, minlength=5).astype(np.float64)
    kc = counts if kk is None else np.broadcast_to(np.asarray(kk, np.float64), (5,))
    z = x.astype(np.float64) / tau
    for c in range(5):
        want = ref.proj(z[:, c], kc[c])
        got = np.clip(z[:, c] - lam[c], 0, 1)
        np.testing.assert_allclose(got, want, atol=TOL[dtype] * 10)
    pred = hs.calibrated_argmax(x, lam, tau)
    assert pred.dtype == np.uint32
    np.testing.assert_array_equal(pred, np.argmax(z - lam, axis=1))
    # the calibration matters: some predictions differ from the plain argmax for shifted columns
    shifted = x + np.arange(5, dtype=dtype) * 4
    _, _, lam_s = hs.hypersimplex_loss_multiclass(shifted, labels, kk, tau, "mean", return_lambda=True)
    np.testing.assert_array_equal(hs.calibrated_argmax(shifted, lam_s, tau), pred)
    assert not np.array_equal(np.argmax(shifted, axis=1), pred)


def test_calibrated_argmax_ties_and_errors():
    x = np.array([[1.0, 1.0, 0.0], [0.0, 2.0, 2.0]])
    np.testing.assert_array_equal(hs.calibrated_argmax(x, np.zeros(3)), [0, 1])
    np.testing.assert_array_equal(hs.calibrated_argmax(x, np.array([0.0, 0.5, 0.0]), 1.0), [0, 2])
    raises("HS_ERR_LENGTH_MISMATCH", hs.calibrated_argmax, x, np.zeros(2))
    raises("HS_ERR_LENGTH_MISMATCH", hs.calibrated_argmax, x[0], np.zeros(3))
    raises("HS_ERR_INVALID_TAU", hs.calibrated_argmax, x, np.zeros(3), 0.0)
    raises("HS_ERR_NON_FINITE_INPUT", hs.calibrated_argmax, x, np.array([0.0, np.nan, 0.0]))
    assert hs.calibrated_argmax(np.zeros((0, 3)), np.zeros(3)).shape == (0,)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_infinities_are_masks(dtype):
    """−inf → 0 and +inf → 1 exactly; the finite entries are the reference projection with
    k − #(+inf); k outside [#(+inf), n − #(−inf)] is HS_ERR_INVALID_K; NaN stays an error."""
    rng = np.random.default_rng(21)
    x = rng.standard_normal((6, 9)).astype(dtype)
    x[:, 2], x[:, 5], x[1, 7] = np.inf, -np.inf, -np.inf
    k = np.array([1.0, 3.5, 2.0, 6.0, 7.0, 1.0])
    y = hs.soft_binary_argmax(x, k, tau=0.6)
    for r in range(6):
        fin = np.isfinite(x[r])
        want = ref.proj(x[r, fin].astype(np.float64) / 0.6, k[r] - 1)
        np.testing.assert_allclose(y[r, fin], want, atol=TOL[dtype] * 10)
    assert np.all(y[:, 2] == 1) and np.all(y[:, 5] == 0) and y[1, 7] == 0
    m = hs.binary_argmax(x, 3)
    assert np.all(m[:, 2] == 1) and np.all(m[:, 5] == 0) and np.all(m.sum(axis=1) == 3)
    raises("HS_ERR_INVALID_K", hs.soft_binary_argmax, x, 0.5)  # k < #(+inf) = 1
    raises("HS_ERR_INVALID_K", hs.soft_binary_argmax, x[1], 7.5)  # k > n − #(−inf) = 7
    bad = x.copy()
    bad[0, 0] = np.nan
    raises("HS_ERR_NON_FINITE_INPUT", hs.soft_binary_argmax, bad, 2.0)
