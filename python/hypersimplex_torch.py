"""PyTorch autograd Functions built on the ctypes module :mod:`hypersimplex`.

    import torch, hypersimplex_torch as hst
    x = torch.randn(8, 100, dtype=torch.float64, requires_grad=True)
    y = hst.soft_binary_argmax(x, k=10, tau=0.5)      # rows projected onto Δ(100, 10)
    y[:, 0].sum().backward()                           # x.grad via the library's VJP

Computation runs on the CPU through the C library (CUDA tensors are copied to the CPU and the
results copied back). float32 and float64 tensors are supported.
"""

import numpy as np
import torch

import hypersimplex as hs


def _np(t):
    return t.detach().cpu().contiguous().numpy()


class SoftBinaryArgmax(torch.autograd.Function):
    """``y = Π_Δ(n,k)(x/τ)`` row-wise for 1-D or 2-D ``x``; backward is the exact VJP
    ``(Jᵀg)_i = (g_i − mean_{j∈A} g_j)/τ`` on the free set A (0 elsewhere)."""

    @staticmethod
    def forward(ctx, x, k, tau):
        y = torch.from_numpy(hs.soft_binary_argmax(_np(x), k, tau)).to(x.device)
        ctx.save_for_backward(y)
        ctx.tau = tau
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        gx = hs.soft_binary_argmax_vjp(_np(y), _np(g).astype(_np(y).dtype), ctx.tau)
        return torch.from_numpy(gx).to(g.device), None, None


class MulticlassLoss(torch.autograd.Function):
    """Multiclass HyperSimplex loss of ``logits`` (batch, classes) and ``labels`` (batch,)."""

    @staticmethod
    def forward(ctx, logits, labels, k, tau, reduction):
        loss, grad = hs.hypersimplex_loss_multiclass(
            _np(logits), _np(labels).astype(np.uint32), k=k, tau=tau, reduction=reduction
        )
        ctx.save_for_backward(torch.from_numpy(grad).to(logits.device))
        return torch.tensor(loss, dtype=logits.dtype, device=logits.device)

    @staticmethod
    def backward(ctx, g):
        (grad,) = ctx.saved_tensors
        return grad * g, None, None, None, None


def soft_binary_argmax(x, k, tau=1.0):
    """Differentiable Soft-Binary-Argmax@k (see :class:`SoftBinaryArgmax`)."""
    return SoftBinaryArgmax.apply(x, k, tau)


def hypersimplex_loss_multiclass(logits, labels, k=None, tau=1.0, reduction="mean"):
    """Differentiable multiclass HyperSimplex loss (see :class:`MulticlassLoss`)."""
    return MulticlassLoss.apply(logits, labels, k, tau, reduction)
