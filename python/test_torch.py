"""The PyTorch autograd.Functions, checked with torch.autograd.gradcheck.

Skipped, with a message saying so, where PyTorch is not installed."""

import pytest

torch = pytest.importorskip(
    "torch", reason="PyTorch is not installed: skipping the autograd.Function / gradcheck tests"
)

import hypersimplex_torch as hst  # noqa: E402


def test_soft_binary_argmax_gradcheck():
    torch.manual_seed(0)
    x = torch.randn(3, 9, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: hst.soft_binary_argmax(t, 3.0, 0.7), (x,), eps=1e-6, atol=1e-5)
    x1 = torch.randn(11, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: hst.soft_binary_argmax(t, 2.5, 1.3), (x1,), eps=1e-6, atol=1e-5)


def test_multiclass_loss_gradcheck_and_float32():
    torch.manual_seed(1)
    logits = torch.randn(8, 3, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([0, 1, 2, 0, 1, 2, 0, 0])
    assert torch.autograd.gradcheck(
        lambda t: hst.hypersimplex_loss_multiclass(t, labels, tau=0.9), (logits,), eps=1e-6, atol=1e-5
    )
    x = torch.randn(4, 6, requires_grad=True)  # float32
    y = hst.soft_binary_argmax(x, 2.0, 0.5)
    assert y.dtype == torch.float32
    assert torch.allclose(y.sum(dim=1), torch.full((4,), 2.0), atol=1e-5)
    y[:, 0].sum().backward()
    assert x.grad is not None and torch.allclose(x.grad.sum(dim=1), torch.zeros(4), atol=1e-5)
