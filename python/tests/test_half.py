"""Half precision (issue 15): NumPy float16 / ml_dtypes bfloat16 arrays and torch float16 /
bfloat16 tensors through the C library's bf16/f16 functions (no float32 copy), against the
float64 reference (tests/reference.py) on the widened input."""

import ml_dtypes
import numpy as np
import pytest

import hypersimplex as hs
import reference as ref
from hypersimplex import _numpy as hsn

BF16 = np.dtype(ml_dtypes.bfloat16)
F16 = np.dtype(np.float16)
# each output within one ulp of the half type: 2^-8 (bf16), 2^-11 (f16) absolute on [0, 1]
ULP1 = {BF16: 2.0**-8, F16: 2.0**-11}
DTYPES = [F16, BF16]


def ulp(dt, v):
    """The format's spacing at |v| (normal range)."""
    p = 7 if dt == BF16 else 10
    e = np.floor(np.log2(np.maximum(np.abs(v), 2.0**-14)))
    return 2.0 ** (e - p)


@pytest.fixture
def calls(monkeypatch):
    """Counts the C calls per (function, dtype), to see that the half functions ran."""
    seen = {}

    def spy(key, f):
        def g(*a):
            seen[key] = seen.get(key, 0) + 1
            return f(*a)

        return g

    for key, f in list(hsn._FN.items()):
        monkeypatch.setitem(hsn._FN, key, spy(key, f))
    return seen


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("seed", range(6))
def test_forward_vjp_topk_against_reference(dt, seed, calls):
    rng = np.random.default_rng(seed)
    shape = [(1, 1), (3, 7), (2, 50), (4, 3000)][seed % 4]
    x = (rng.standard_normal(shape) * 2).astype(dt)
    n = shape[-1]
    k = rng.uniform(0, n, size=shape[0])
    x0 = x.copy()
    y = hs.soft_binary_argmax(x, k, 0.6)
    assert y.dtype == dt and calls[("soft_binary_argmax_rows", dt)] == 1
    want = ref.soft_binary_argmax(x.astype(np.float64), k, 0.6, -1)
    err = np.abs(y.astype(np.float64) - want)
    assert np.all(err <= 0.5 * ulp(dt, want) + 1e-5), err.max()
    assert err.max() <= ULP1[dt]
    np.testing.assert_array_equal(x.view(np.uint16), x0.view(np.uint16))
    # VJP of the rounded y, reference on the widened values
    g = rng.standard_normal(shape).astype(dt)
    gx = hs.soft_binary_argmax_vjp(y, g, 0.6)
    assert gx.dtype == dt and calls[("soft_binary_argmax_vjp_rows", dt)] == 1
    yw, gw = y.astype(np.float64), g.astype(np.float64)
    want = np.stack([ref.vjp(yw[i], gw[i], 0.6) for i in range(shape[0])])
    err = np.abs(gx.astype(np.float64) - want)
    assert np.all(err <= 0.5 * ulp(dt, want) + 1e-5), err.max()
    # top-k: exactly the reference mask of the widened values (ties to the lower index)
    kk = n // 3
    m = hs.binary_argmax(x, kk)
    assert m.dtype == dt and calls[("binary_argmax", dt)] == shape[0]
    np.testing.assert_array_equal(m.astype(np.float64), ref.along(lambda v: ref.topk(v, kk), x.astype(np.float64), -1))


@pytest.mark.parametrize("dt", DTYPES)
def test_out_in_place_and_axis(dt, calls):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 8)).astype(dt)
    y = hs.soft_binary_argmax(x, 2.5, 0.5, axis=0)
    want = ref.soft_binary_argmax(x.astype(np.float64), 2.5, 0.5, 0)
    assert np.abs(y.astype(np.float64) - want).max() <= ULP1[dt]
    xi = x.copy()
    assert hs.soft_binary_argmax(xi, 2.5, 0.5, out=xi) is xi  # in place, the half function
    np.testing.assert_array_equal(xi.view(np.uint16), hs.soft_binary_argmax(x, 2.5, 0.5).view(np.uint16))
    assert np.abs(xi.astype(np.float64).sum(-1) - 2.5).max() <= 8 * ULP1[dt]


@pytest.mark.parametrize("dt", DTYPES)
def test_multiclass(dt, calls):
    rng = np.random.default_rng(5)
    logits = (rng.standard_normal((40, 5)) * 2).astype(dt)
    labels = rng.integers(0, 5, 40)
    for red in ("sum", "mean"):
        loss, grad = hs.hypersimplex_loss_multiclass(logits, labels, tau=0.8, reduction=red)
        assert grad.dtype == dt and calls[("hypersimplex_loss_multiclass", dt)] >= 1
        want_l, want_g = ref.multiclass(logits.astype(np.float64), labels, None, 0.8, red)
        assert abs(float(loss) - want_l) <= 2 * ulp(dt, want_l) + 1e-4 * abs(want_l)
        err = np.abs(grad.astype(np.float64) - want_g)
        assert np.all(err <= 0.5 * ulp(dt, want_g) + 1e-5), err.max()


@pytest.mark.parametrize("dt", DTYPES)
def test_nan_is_an_error_and_inf_a_mask(dt):
    x = np.array([[0.5, -1.0, 2.0, 0.25]], dt)
    xn = x.copy()
    xn[0, 1] = np.nan
    with pytest.raises(hs.HypersimplexError) as e:
        hs.soft_binary_argmax(xn, 1.0)
    assert e.value.name == "HS_ERR_NON_FINITE_INPUT"
    xi = x.copy()
    xi[0, 2] = np.inf
    y = hs.soft_binary_argmax(xi, 1.5, 0.5)
    assert y[0, 2] == 1 and abs(float(y.astype(np.float64).sum()) - 1.5) <= 4 * ULP1[dt]
    with pytest.raises(hs.HypersimplexError) as e:
        hs.soft_binary_argmax(xi, 0.5)
    assert e.value.name == "HS_ERR_INVALID_K"


def test_negative_control_the_spy_sees_float32_calls():
    # the spy is able to tell: a float32 array does not reach the half functions
    seen = {}
    key = ("soft_binary_argmax_rows", F16)
    f = hsn._FN[key]
    hsn._FN[key] = lambda *a: seen.setdefault("half", f(*a))
    try:
        hs.soft_binary_argmax(np.ones((2, 3), np.float32), 1.0)
        assert "half" not in seen
        hs.soft_binary_argmax(np.ones((2, 3), np.float16), 1.0)
        assert "half" in seen
    finally:
        hsn._FN[key] = f


# -- torch ----------------------------------------------------------------------------------------

torch = pytest.importorskip("torch")
import hypersimplex.torch as hst  # noqa: E402

TDT = {torch.float16: F16, torch.bfloat16: BF16}


@pytest.mark.parametrize("tdt", list(TDT))
def test_torch_half_tensors(tdt, calls):
    dt = TDT[tdt]
    g = torch.Generator().manual_seed(1)
    x = (torch.randn(3, 40, generator=g) * 2).to(tdt).requires_grad_()
    y = hst.soft_binary_argmax(x, 4.0, 0.7)
    assert y.dtype == tdt and calls[("soft_binary_argmax_rows", dt)] == 1
    xw = x.detach().double().numpy()
    want = ref.soft_binary_argmax(xw, 4.0, 0.7, -1)
    assert np.abs(y.detach().double().numpy() - want).max() <= ULP1[dt]
    w = torch.randn(3, 40, generator=g).to(tdt)
    (y * w).sum().backward()
    assert x.grad.dtype == tdt and calls[("soft_binary_argmax_vjp_rows", dt)] == 1
    yw = y.detach().double().numpy()
    gw = w.double().numpy()
    want_g = np.stack([ref.vjp(yw[i], gw[i], 0.7) for i in range(3)])
    err = np.abs(x.grad.double().numpy() - want_g)
    assert np.all(err <= 0.5 * ulp(dt, want_g) + 1e-4), err.max()
    m = hst.binary_argmax(x.detach(), 5)
    assert m.dtype == tdt and calls[("binary_argmax", dt)] == 3
    np.testing.assert_array_equal(m.double().numpy(), ref.along(lambda v: ref.topk(v, 5), xw, -1))


@pytest.mark.parametrize("tdt", list(TDT))
def test_torch_half_opcheck_and_compile(tdt):
    x = torch.randn(3, 6).to(tdt)
    k = torch.tensor(2.0, dtype=torch.float64)
    ops = torch.ops.hypersimplex
    torch.library.opcheck(ops.soft_binary_argmax, (x, k, 0.5))
    torch.library.opcheck(ops.soft_binary_argmax_backward, (x.clamp(0.1, 0.9), torch.randn(3, 6).to(tdt), 0.5))
    torch.library.opcheck(ops.binary_argmax, (x, k))
    torch._dynamo.reset()
    xr = x.clone().requires_grad_()

    def f(a):
        return (hst.soft_binary_argmax(a, 2, 0.5) * torch.arange(6, dtype=tdt)).sum()

    f(xr).backward()
    want = xr.grad.clone()
    xr.grad = None
    out = torch.compile(f, fullgraph=True)(xr)
    out.backward()
    torch.testing.assert_close(out, f(xr))
    torch.testing.assert_close(xr.grad, want)
