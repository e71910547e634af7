"""hypersimplex.torch against the float64 NumPy reference, and the torch machinery: opcheck,
gradcheck, torch.compile(fullgraph=True), torch.func.vmap/grad, torch.export."""

import io

import numpy as np
import pytest
import torch

import hypersimplex.torch as hst
import reference as ref
import hypersimplex as hs_numpy
from hypersimplex import HypersimplexError

OPS = torch.ops.hypersimplex
TOL = {torch.float64: 1e-9, torch.float32: 2e-5, torch.bfloat16: 2e-2, torch.float16: 2e-3}


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("dtype", list(TOL))
def test_soft_binary_argmax_random_shapes(seed, dtype):
    rng = np.random.default_rng(seed)
    rank = int(rng.integers(1, 5))
    shape = tuple(int(s) for s in rng.integers(1, 6, size=rank))
    dim = int(rng.integers(-rank, rank))
    n = shape[dim]
    x = torch.randn(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(seed)).to(dtype)
    batch = tuple(np.delete(shape, dim % rank))
    k = torch.tensor(rng.uniform(0, n, size=batch)) if seed % 2 else float(rng.uniform(0, n))
    x0 = x.clone()
    y = hst.soft_binary_argmax(x, k, 0.7, dim=dim)
    assert y.dtype == dtype and y.shape == x.shape
    want = ref.soft_binary_argmax(x.double().numpy(), np.asarray(k), 0.7, dim)
    np.testing.assert_allclose(y.double().numpy(), want, atol=TOL[dtype] * 10)
    assert torch.equal(x, x0)
    m = hst.binary_argmax(x.double(), int(n // 2), dim=dim)
    np.testing.assert_array_equal(m.numpy(), ref.along(lambda v: ref.topk(v, n // 2), x.double().numpy(), dim))


def test_gradcheck():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 5, 4, dtype=torch.float64, generator=g, requires_grad=True)
    t = (torch.rand(3, 5, 4, dtype=torch.float64, generator=g) < 0.5).double()
    k = torch.tensor([[1.5], [2.0], [0.5]], dtype=torch.float64)  # broadcasts to (3, 4)
    assert torch.autograd.gradcheck(lambda x: hst.soft_binary_argmax(x, k, 0.6, dim=1), (x,))
    assert torch.autograd.gradgradcheck(lambda x: hst.soft_binary_argmax(x, 2.0, 0.6, dim=1), (x,))
    for red in ("mean", "sum", "none"):
        assert torch.autograd.gradcheck(lambda x: hst.hypersimplex_loss(x, t, tau=0.6, dim=1, reduction=red), (x,))
    logits = torch.randn(10, 3, dtype=torch.float64, generator=g, requires_grad=True)
    labels = torch.randint(0, 3, (10,), generator=g)
    for red in ("mean", "sum"):
        assert torch.autograd.gradcheck(lambda l: hst.hypersimplex_loss_multiclass(l, labels, tau=0.8, reduction=red), (logits,))
    z = hst.binary_argmax(x, 2)
    (z * torch.arange(4.0, dtype=torch.float64)).sum().backward()
    assert torch.equal(x.grad, torch.zeros_like(x))  # the mask's gradient is zero


def test_losses_match_reference():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(4, 6, 3, dtype=torch.float64, generator=g, requires_grad=True)
    t = (torch.rand(x.shape, generator=g, dtype=torch.float64) < 0.5).double()
    per, grad = ref.loss(x.detach().numpy(), t.numpy(), None, 0.5, 1)
    loss = hst.hypersimplex_loss(x, t, tau=0.5, dim=1, reduction="mean")
    np.testing.assert_allclose(loss.item(), 2 * per.sum() / x.numel(), rtol=1e-9)
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), grad * 2 / x.numel(), atol=1e-9)
    none = hst.hypersimplex_loss(x, t, tau=0.5, dim=1, reduction="none")
    np.testing.assert_allclose(none.detach().numpy(), per, atol=1e-9)
    logits = torch.randn(16, 5, dtype=torch.float32, generator=g, requires_grad=True)
    labels = torch.randint(0, 5, (16,), generator=g)
    crit = hst.HyperSimplexLoss(k=None, tau=1.5)
    loss = crit(logits, labels)
    loss.backward()
    wl, wg = ref.multiclass(logits.detach().numpy(), labels.numpy(), None, 1.5, "mean")
    np.testing.assert_allclose(loss.item(), wl, rtol=1e-5)
    np.testing.assert_allclose(logits.grad.numpy(), wg, atol=1e-6)
    assert hst.hypersimplex_loss_multiclass(logits.half(), labels, tau=1.5).dtype == torch.float16
    mod = hst.SoftBinaryArgmax(2, tau=0.5, dim=0)
    np.testing.assert_allclose(mod(x).detach().numpy(), ref.soft_binary_argmax(x.detach().numpy(), 2, 0.5, 0), atol=1e-9)


def samples():
    x = torch.randn(3, 6, dtype=torch.float64, requires_grad=True)
    t = (torch.rand(3, 6, dtype=torch.float64) < 0.5).double()
    k = torch.tensor(2.0, dtype=torch.float64)
    return [
        (OPS.soft_binary_argmax, (x, k, 0.5)),
        (OPS.soft_binary_argmax, (x.float(), torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64), 0.5)),
        (OPS.soft_binary_argmax_backward, (x.detach().clamp(0.1, 0.9), torch.randn(3, 6, dtype=torch.float64), 0.5)),
        (OPS.binary_argmax, (x.detach(), k)),
        (OPS.hypersimplex_loss_rows, (x, t, None, 0.5)),
        (OPS.hypersimplex_loss_rows, (x, t, k, 0.5)),
        (OPS.hypersimplex_loss_multiclass, (x, torch.tensor([0, 5, 2]), None, 0.5, "mean")),
        (OPS.hypersimplex_loss_multiclass, (x.float(), torch.tensor([0, 5, 2]), k, 0.5, "sum")),
    ]


@pytest.mark.parametrize("i", range(8))
def test_opcheck(i):
    op, args = samples()[i]
    torch.library.opcheck(op, args)


def test_compile_fullgraph_forward_backward():
    torch._dynamo.reset()
    x = torch.randn(6, 5, requires_grad=True)
    labels = torch.randint(0, 5, (6,))
    fns = [
        lambda x: hst.soft_binary_argmax(x, 2, 0.5, dim=0).pow(2).sum(),
        lambda x: hst.hypersimplex_loss(x, (x.detach() > 0).float(), tau=0.5),
        lambda x: hst.hypersimplex_loss_multiclass(x, labels, tau=1.5),
        lambda x: (hst.binary_argmax(x, 2) * x).sum(),
    ]
    for f in fns:
        x.grad = None
        f(x).backward()
        want = x.grad.clone()
        x.grad = None
        out = torch.compile(f, fullgraph=True)(x)  # fullgraph: a graph break raises
        out.backward()
        torch.testing.assert_close(out, f(x))
        torch.testing.assert_close(x.grad, want)


def test_vmap_and_grad():
    x = torch.randn(4, 3, 6, dtype=torch.float64)
    k = torch.tensor([1.0, 2.0, 0.5, 3.0], dtype=torch.float64)
    vm = torch.func.vmap(lambda xi, ki: hst.soft_binary_argmax(xi, ki, 0.5))(x, k)
    torch.testing.assert_close(vm, hst.soft_binary_argmax(x, k[:, None], 0.5))
    vm = torch.func.vmap(lambda xi: hst.soft_binary_argmax(xi, 2, 0.5, dim=0), in_dims=1)(x)
    torch.testing.assert_close(vm, hst.soft_binary_argmax(x, 2, 0.5, dim=0).movedim(1, 0))

    def f(xi):
        return hst.soft_binary_argmax(xi, 2, 0.5)[..., 0].sum()

    xr = x.clone().requires_grad_()
    f(xr).backward()
    torch.testing.assert_close(torch.func.grad(f)(x), xr.grad)
    per_sample = torch.func.vmap(torch.func.grad(f))(x)
    torch.testing.assert_close(per_sample, xr.grad)
    t = (x > 0).double()
    gl = torch.func.vmap(torch.func.grad(lambda a, b: hst.hypersimplex_loss(a, b, tau=0.5)))(x, t)
    want = torch.stack([torch.func.grad(lambda a: hst.hypersimplex_loss(a, t[i], tau=0.5))(x[i]) for i in range(4)])
    torch.testing.assert_close(gl, want)
    logits, labels = torch.randn(2, 8, 3, dtype=torch.float64), torch.randint(0, 3, (2, 8))
    gm = torch.func.vmap(torch.func.grad(lambda a, b: hst.hypersimplex_loss_multiclass(a, b)))(logits, labels)
    torch.testing.assert_close(gm[1], torch.func.grad(lambda a: hst.hypersimplex_loss_multiclass(a, labels[1]))(logits[1]))


def test_export_round_trip():
    mod = hst.SoftBinaryArgmax(2, tau=0.5)
    x = torch.randn(4, 6)
    ep = torch.export.export(mod, (x,))
    buf = io.BytesIO()
    torch.export.save(ep, buf)
    buf.seek(0)
    loaded = torch.export.load(buf)
    assert "hypersimplex.soft_binary_argmax" in str(loaded.graph)
    x2 = torch.randn(4, 6)
    torch.testing.assert_close(loaded.module()(x2), mod(x2))


def test_bad_input():
    x = torch.tensor([[0.5, float("nan"), 1.0], [0.1, 0.2, 0.3]])
    x0 = x.clone()
    ok = torch.ones(2, 3)
    cases = [
        ("HS_ERR_NON_FINITE_INPUT", lambda: hst.soft_binary_argmax(x, 1)),
        ("HS_ERR_INVALID_K", lambda: hst.soft_binary_argmax(ok, 4)),
        ("HS_ERR_INVALID_K", lambda: hst.binary_argmax(ok, -1)),
        ("HS_ERR_INVALID_TAU", lambda: hst.soft_binary_argmax(ok, 1, 0.0)),
        ("HS_ERR_INVALID_TAU", lambda: hst.soft_binary_argmax(ok, 1, -2.0)),
        ("HS_ERR_LENGTH_MISMATCH", lambda: hst.soft_binary_argmax(ok, torch.ones(3))),
        ("HS_ERR_LENGTH_MISMATCH", lambda: hst.hypersimplex_loss(ok, torch.ones(3))),
        ("HS_ERR_INVALID_TARGET", lambda: hst.hypersimplex_loss(ok, ok * 2)),
        ("HS_ERR_INVALID_REDUCTION", lambda: hst.hypersimplex_loss(ok, ok, reduction="max")),
        ("HS_ERR_LABEL_OUT_OF_RANGE", lambda: hst.hypersimplex_loss_multiclass(ok, torch.tensor([0, 3]))),
        ("HS_ERR_LABEL_OUT_OF_RANGE", lambda: hst.hypersimplex_loss_multiclass(ok, torch.tensor([-1, 0]))),
        ("HS_ERR_LENGTH_MISMATCH", lambda: hst.hypersimplex_loss_multiclass(ok, torch.tensor([0, 1, 1]))),
        ("HS_ERR_NON_FINITE_INPUT", lambda: hst.hypersimplex_loss_multiclass(x, torch.tensor([0, 1]))),
        ("HS_ERR_INVALID_TAU", lambda: hst.hypersimplex_loss_multiclass(ok, torch.tensor([0, 1]), tau=0)),
    ]
    for status, fn in cases:
        with pytest.raises(HypersimplexError) as e:
            fn()
        assert e.value.name == status, (status, str(e.value))
    with pytest.raises(TypeError):
        hst.hypersimplex_loss_multiclass(ok, torch.tensor([0.0, 1.0]))
    assert torch.equal(torch.isnan(x), torch.isnan(x0)) and torch.equal(x.nan_to_num(), x0.nan_to_num())
    assert torch.equal(ok, torch.ones(2, 3))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_cuda_round_trip():
    x = torch.randn(3, 7, device="cuda", requires_grad=True)
    y = hst.soft_binary_argmax(x, 2, 0.5)
    assert y.device == x.device
    y[:, 0].sum().backward()
    assert x.grad.device == x.device
    torch.testing.assert_close(y.cpu(), hst.soft_binary_argmax(x.detach().cpu(), 2, 0.5))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_multiclass_lambda_and_calibrated_argmax(dtype):
    g = torch.Generator().manual_seed(5)
    logits = (torch.randn(32, 4, generator=g, dtype=torch.float64) * 2).to(dtype).requires_grad_()
    labels = torch.arange(32) % 4
    loss, lam = hst.hypersimplex_loss_multiclass(logits, labels, tau=0.8, return_lambda=True)
    _, _, want = hs_numpy.hypersimplex_loss_multiclass(
        logits.detach().numpy(), labels.numpy(), None, 0.8, "mean", return_lambda=True
    )
    assert lam.dtype == torch.float64 and not lam.requires_grad
    np.testing.assert_array_equal(lam.numpy(), want)
    loss.backward()
    torch.testing.assert_close(
        logits.grad, torch.func.grad(lambda a: hst.hypersimplex_loss_multiclass(a, labels, tau=0.8))(logits.detach())
    )
    pred = hst.calibrated_argmax(logits, lam, 0.8)
    assert pred.dtype == torch.int64
    np.testing.assert_array_equal(pred.numpy(), np.argmax(logits.detach().double().numpy() / 0.8 - want, axis=1))
    # compiled with the λ output
    f = torch.compile(lambda a: hst.hypersimplex_loss_multiclass(a, labels, tau=0.8, return_lambda=True), fullgraph=True)
    lc, lamc = f(logits.detach())
    torch.testing.assert_close(lamc, lam)
    torch.testing.assert_close(lc, loss.detach())


def test_loss_module_running_lambda():
    g = torch.Generator().manual_seed(6)
    mod = hst.HyperSimplexLoss(tau=1.5, momentum=0.25)
    assert mod.running_lambda is None
    x0 = torch.randn(16, 3, generator=g, dtype=torch.float64)
    assert torch.equal(mod.predict(x0), x0.argmax(dim=1))
    lams = []
    for _ in range(3):
        x = torch.randn(16, 3, generator=g, dtype=torch.float64)
        lab = torch.arange(16) % 3
        mod(x, lab)
        lams.append(hst.hypersimplex_loss_multiclass(x, lab, tau=1.5, return_lambda=True)[1])
    want = lams[0]
    for lam in lams[1:]:
        want = 0.75 * want + 0.25 * lam
    torch.testing.assert_close(mod.running_lambda, want)
    mod.eval()
    mod(x0, torch.arange(16) % 3)  # eval: no update
    torch.testing.assert_close(mod.running_lambda, want)
    assert torch.equal(mod.predict(x0), hst.calibrated_argmax(x0, want, 1.5))
    assert "running_lambda" in mod.state_dict()


def test_multiclass_backward_shortcut_keeps_saved_gradient_intact():
    """loss.backward() hands the saved gradient to autograd without a multiplication (eager,
    g = 1): a retained graph must still give the same gradient again, and g ≠ 1 must scale."""
    g = torch.Generator().manual_seed(8)
    logits = torch.randn(16, 3, generator=g, dtype=torch.float64, requires_grad=True)
    labels = torch.arange(16) % 3
    want = torch.func.grad(lambda a: hst.hypersimplex_loss_multiclass(a, labels))(logits.detach())
    loss = hst.hypersimplex_loss_multiclass(logits, labels)
    loss.backward(retain_graph=True)
    torch.testing.assert_close(logits.grad, want)
    loss.backward(retain_graph=True)
    torch.testing.assert_close(logits.grad, 2 * want)
    loss.backward()
    torch.testing.assert_close(logits.grad, 3 * want)
    logits.grad = None
    (0.5 * hst.hypersimplex_loss_multiclass(logits, labels)).backward()
    torch.testing.assert_close(logits.grad, 0.5 * want)
    (gx,) = torch.autograd.grad(hst.hypersimplex_loss_multiclass(logits, labels), logits)
    torch.testing.assert_close(gx, want)
