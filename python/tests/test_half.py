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
    assert m.dtype == dt and calls[("binary_argmax_rows", dt)] == 1  # one call for the batch
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
def test_multiclass_lambda(dt, calls):
    # return_lambda=True: the half lambda function, no float32 call; λ is the widened column's
    # threshold (as the float32 call reports it), loss and gradient as without λ
    rng = np.random.default_rng(6)
    logits = (rng.standard_normal((50, 4)) * 2).astype(dt)
    labels = rng.integers(0, 4, 50)
    xw = logits.astype(np.float64)
    for red, k in (("sum", None), ("mean", [3.0, 0.0, 12.5, 50.0])):
        loss, grad, lam = hs.hypersimplex_loss_multiclass(logits, labels, k, 0.8, red, return_lambda=True)
        assert grad.dtype == dt and lam.dtype == np.float64 and lam.shape == (4,)
        assert calls[("hypersimplex_loss_multiclass_lambda", dt)] >= 1
        assert not any(key[1] == np.float32 for key in calls), calls
        l0, g0 = hs.hypersimplex_loss_multiclass(logits, labels, k, 0.8, red)
        assert float(loss) == float(l0)
        np.testing.assert_array_equal(grad.view(np.uint16), g0.view(np.uint16))
        _, _, lam32 = hs.hypersimplex_loss_multiclass(xw.astype(np.float32), labels, k, 0.8, red, return_lambda=True)
        np.testing.assert_allclose(lam, lam32, rtol=1e-5, atol=1e-5)
        # the projected columns clip(x/τ − λ, 0, 1) are the reference projection
        onehot = np.eye(4)[labels]
        kk = onehot.sum(0) if k is None else np.asarray(k)
        want = np.stack([ref.proj(xw[:, c] / 0.8, kk[c]) for c in range(4)], 1)
        assert np.abs(np.clip(xw / 0.8 - lam, 0, 1) - want).max() <= 1e-4
        calls.clear()


@pytest.mark.parametrize("dt", DTYPES)
def test_binary_loss(dt, calls):
    # the half binary loss: one C call per vector, float32 loss, gradient in dt (rounded once)
    rng = np.random.default_rng(7)
    x = (rng.standard_normal((3, 30)) * 2).astype(dt)
    t = (rng.random((3, 30)) < 0.3).astype(dt)
    for red, k in (("sum", None), ("none", 4.0), ("mean", None)):
        loss, grad = hs.hypersimplex_loss(x, t, k, 0.6, reduction=red)
        assert grad.dtype == dt and calls[("hypersimplex_loss", dt)] == 3
        assert not any(key[1] == np.float32 for key in calls), calls
        per, want_g = ref.loss(x.astype(np.float64), t.astype(np.float64), k, 0.6, -1)
        scale = {"sum": 1.0, "none": 1.0, "mean": 2.0 / x.size}[red]
        want_l = per if red == "none" else per.sum() * scale
        assert np.all(np.abs(np.asarray(loss, np.float64) - want_l) <= 2 * ulp(dt, want_l) + 1e-4)
        want_g = want_g * scale
        err = np.abs(grad.astype(np.float64) - want_g)
        # "mean" scales the rounded gradient: two roundings
        assert np.all(err <= (1.0 if red == "mean" else 0.5) * ulp(dt, want_g) + 1e-5), err.max()
        calls.clear()
    tb = t.copy()
    tb[1, 2] = 1.5
    with pytest.raises(hs.HypersimplexError) as e:
        hs.hypersimplex_loss(x, tb)
    assert e.value.name == "HS_ERR_INVALID_TARGET"


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
    assert m.dtype == tdt and calls[("binary_argmax_rows", dt)] == 1
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


@pytest.mark.parametrize("tdt", list(TDT))
def test_torch_half_losses(tdt, calls):
    # the multiclass op (which always asks for λ) and the binary loss on half tensors: the half
    # C functions, no float32 copy
    dt = TDT[tdt]
    g = torch.Generator().manual_seed(2)
    logits = (torch.randn(40, 5, generator=g) * 2).to(tdt).requires_grad_()
    labels = torch.randint(0, 5, (40,), generator=g)
    loss, lam = hst.hypersimplex_loss_multiclass(logits, labels, tau=0.8, return_lambda=True)
    loss.backward()
    assert logits.grad.dtype == tdt and lam.dtype == torch.float64
    assert calls[("hypersimplex_loss_multiclass_lambda", dt)] == 1
    assert not any(key[1] == np.float32 for key in calls), calls
    want_l, want_g = ref.multiclass(logits.detach().double().numpy(), labels.numpy(), None, 0.8, "mean")
    assert abs(float(loss.detach()) - want_l) <= 2 * ulp(dt, want_l) + 1e-4 * abs(want_l)
    err = np.abs(logits.grad.double().numpy() - want_g)
    assert np.all(err <= 1.0 * ulp(dt, want_g) + 1e-5), err.max()
    calls.clear()
    x = (torch.randn(3, 20, generator=g) * 2).to(tdt).requires_grad_()
    t = (torch.rand(3, 20, generator=g) < 0.3).to(tdt)
    hst.hypersimplex_loss(x, t, tau=0.6, reduction="sum").backward()
    assert x.grad.dtype == tdt and calls[("hypersimplex_loss", dt)] == 3
    assert not any(key[1] == np.float32 for key in calls), calls
    _, want_g = ref.loss(x.detach().double().numpy(), t.double().numpy(), None, 0.6, -1)
    err = np.abs(x.grad.double().numpy() - want_g)
    assert np.all(err <= 0.5 * ulp(dt, want_g) + 1e-5), err.max()


@pytest.mark.parametrize("tdt", list(TDT))
def test_torch_half_losses_opcheck_and_compile(tdt):
    g = torch.Generator().manual_seed(3)
    x = torch.randn(12, 4, generator=g).to(tdt)
    labels = torch.arange(12) % 4
    t = (torch.rand(12, 4, generator=g) < 0.4).to(tdt)
    ops = torch.ops.hypersimplex
    torch.library.opcheck(ops.hypersimplex_loss_multiclass, (x, labels, None, 0.7, "mean"))
    torch.library.opcheck(ops.hypersimplex_loss_rows, (x, t, None, 0.7))
    torch._dynamo.reset()
    xr = x.clone().requires_grad_()

    def f(a):
        return hst.hypersimplex_loss_multiclass(a, labels, tau=0.7) + hst.hypersimplex_loss(a, t, tau=0.7)

    f(xr).backward()
    want = xr.grad.clone()
    xr.grad = None
    out = torch.compile(f, fullgraph=True)(xr)
    out.backward()
    torch.testing.assert_close(out, f(xr))
    torch.testing.assert_close(xr.grad, want)
