"""PyTorch operators of hypersimplex (``import hypersimplex.torch as hst``).

    model = torch.nn.Linear(64, 10)
    loss = hst.HyperSimplexLoss(tau=1.5)(model(x), labels)     # like nn.CrossEntropyLoss
    loss.backward()

The computation is registered as ``torch.library`` custom ops ``torch.ops.hypersimplex.*`` (with
fake, autograd and vmap rules), so ``torch.compile(fullgraph=True)``, ``torch.export`` and
``opcheck`` see opaque ops. The public functions call those ops through
``torch.autograd.Function``s with ``setup_context`` and ``generate_vmap_rule`` (what
``torch.func.grad``/``vmap`` need; the wrapper ``register_autograd`` builds has no
``setup_context``). float32/float64 run in their precision; float16/bfloat16 tensors go to the
library's half-precision functions as they are (computed in float32, each output rounded once;
bfloat16 needs ml_dtypes; the binary loss only when the target has the same half type). The C
library runs on the CPU: tensors on another device are copied to the CPU and the result back
(two transfers and a synchronisation per call). Targets and labels get no gradient.
"""

from typing import Optional, Tuple

import numpy as np
import torch
from torch.utils._python_dispatch import _get_current_dispatch_mode

from . import _numpy as _hs
from ._numpy import HypersimplexError

__all__ = [
    "soft_binary_argmax",
    "binary_argmax",
    "hypersimplex_loss",
    "hypersimplex_loss_multiclass",
    "calibrated_argmax",
    "SoftBinaryArgmax",
    "HyperSimplexLoss",
    "HypersimplexError",
]

_HALF = (torch.float16, torch.bfloat16)


def _np(t, dtype=None, half=False):
    """A CPU NumPy view (or copy) of ``t``; half types as float32, or with ``half`` as NumPy
    float16 / ml_dtypes bfloat16 views of the same memory (bfloat16 without ml_dtypes: float32)."""
    t = t.detach()
    if t.device.type != "cpu":
        t = t.cpu()
    if t.dtype == torch.bfloat16 and half and _hs._BF16 is not None:
        a = t.view(torch.int16).numpy().view(_hs._BF16)
    elif t.dtype in _HALF and not (half and t.dtype == torch.float16):
        a = t.float().numpy()
    else:
        a = t.numpy()
    return a if dtype is None else a.astype(dtype, copy=False)


def _tensor(a, like):
    if a.dtype == _hs._BF16:  # torch.from_numpy does not know ml_dtypes: same bits, as int16
        return torch.from_numpy(a.view(np.int16)).view(torch.bfloat16).to(like.device)
    return torch.from_numpy(a).to(device=like.device, dtype=like.dtype)


def _rows(t, dtype=None, half=False):
    """``t`` as C-contiguous (rows, n) NumPy array (last dim n) and its shape."""
    a = _np(t, dtype, half)
    return _hs._rows(a, -1, a.dtype)


def _k_np(k, batch_shape):
    return None if k is None else _hs._k_rows(_np(k, np.float64), batch_shape)


# -- custom ops -----------------------------------------------------------------------------------


def _sba_impl(x: torch.Tensor, k: torch.Tensor, tau: float) -> torch.Tensor:
    """y = Π_Δ(n,k)(x/τ) along the last dim; k broadcasts to x.shape[:-1]."""
    x2, shape = _rows(x, half=True)
    y2 = _hs._sba_rows(x2, _k_np(k, shape[:-1]), tau, np.empty_like(x2))
    return _tensor(y2.reshape(shape), x)


def _sba_bwd_impl(y: torch.Tensor, g: torch.Tensor, tau: float) -> torch.Tensor:
    """Jᵀg along the last dim, from the forward output y."""
    y2, shape = _rows(y, half=True)
    g2, _ = _rows(g, y2.dtype, half=True)
    return _tensor(_hs._vjp_rows(y2, g2, tau, np.empty_like(y2)).reshape(shape), y)


def _topk_impl(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Top-k mask along the last dim; k (integers) broadcasts to x.shape[:-1]."""
    x2, shape = _rows(x, half=True)
    y2 = _hs._topk_rows(x2, _k_np(k, shape[:-1]), np.empty_like(x2))
    return _tensor(y2.reshape(shape), x)


def _loss_impl(
    x: torch.Tensor, target: torch.Tensor, k: Optional[torch.Tensor], tau: float
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Per-vector ½‖Π_Δ(n,k)(x/τ) − t‖² along the last dim (shape x.shape[:-1]) and its
    gradient with respect to x."""
    if x.shape != target.shape:
        _hs._fail("HS_ERR_LENGTH_MISMATCH", f"x {tuple(x.shape)} and target {tuple(target.shape)}")
    half = x.dtype in _HALF and target.dtype == x.dtype
    x2, shape = _rows(x, half=half)
    t2, _ = _rows(target, x2.dtype, half=half)
    per, g2 = _hs._loss_rows(x2, t2, _k_np(k, shape[:-1]), tau)
    return _tensor(per.reshape(shape[:-1]), x), _tensor(g2.reshape(shape), x)


def _mc_impl(
    logits: torch.Tensor, labels: torch.Tensor, k: Optional[torch.Tensor], tau: float, reduction: str
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Multiclass loss of (batch, classes) logits and integer labels, ∂loss/∂logits, and the
    columns' thresholds λ_c (float64, (classes,)) from the same library call."""
    loss, grad, lam = _hs.hypersimplex_loss_multiclass(
        _np(logits, half=True), _np(labels), None if k is None else _np(k, np.float64), tau, reduction,
        return_lambda=True,
    )
    return _tensor(np.asarray(loss), logits), _tensor(grad, logits), torch.from_numpy(lam).to(logits.device)


_sba_op = torch.library.custom_op("hypersimplex::soft_binary_argmax", _sba_impl, mutates_args=())
_sba_bwd_op = torch.library.custom_op(
    "hypersimplex::soft_binary_argmax_backward", _sba_bwd_impl, mutates_args=()
)
_topk_op = torch.library.custom_op("hypersimplex::binary_argmax", _topk_impl, mutates_args=())
_loss_op = torch.library.custom_op(
    "hypersimplex::hypersimplex_loss_rows", _loss_impl, mutates_args=()
)
_mc_op = torch.library.custom_op(
    "hypersimplex::hypersimplex_loss_multiclass", _mc_impl, mutates_args=()
)


@_sba_op.register_fake
def _(x, k, tau):
    return x.new_empty(x.shape)


@_sba_bwd_op.register_fake
def _(y, g, tau):
    return y.new_empty(y.shape)


@_topk_op.register_fake
def _(x, k):
    return x.new_empty(x.shape)


@_loss_op.register_fake
def _(x, target, k, tau):
    return x.new_empty(x.shape[:-1]), x.new_empty(x.shape)


@_mc_op.register_fake
def _(logits, labels, k, tau, reduction):
    lam = logits.new_empty(logits.shape[1:], dtype=torch.float64)
    return logits.new_empty(()), logits.new_empty(logits.shape), lam


# -- autograd (shared by the ops' registrations and the autograd.Functions) -----------------------


def _sba_setup(ctx, inputs, output):
    ctx.save_for_backward(output)
    ctx.tau = inputs[2]


def _sba_backward(ctx, g):
    (y,) = ctx.saved_tensors
    return _apply(_SBABwd, y, g, ctx.tau), None, None


def _sba_bwd_setup(ctx, inputs, output):
    ctx.save_for_backward(inputs[0])
    ctx.tau = inputs[2]


def _sba_bwd_backward(ctx, gg):
    # Jᵀg is linear in g with a symmetric J, so its gradient in g is J gg = Jᵀ gg; in y it is
    # zero almost everywhere (the free set is piecewise constant).
    (y,) = ctx.saved_tensors
    return None, _apply(_SBABwd, y, gg, ctx.tau), None


def _topk_setup(ctx, inputs, output):
    pass  # (mark_non_differentiable on a single output breaks Dynamo's graph in torch 2.15)


def _topk_backward(ctx, g):
    return torch.zeros_like(g), None


def _grad_setup(ctx, inputs, output):  # the losses: output = (loss, ∂loss/∂x[, λ])
    ctx.save_for_backward(output[1])
    ctx.mark_non_differentiable(*output[1:])
    # the gradient and λ outputs never receive a gradient: do not fill zeros for them
    ctx.set_materialize_grads(False)
    ctx.n_inputs = len(inputs)


def _loss_backward(ctx, g_loss, _g_grad):
    (grad,) = ctx.saved_tensors
    if g_loss is None:
        return (None,) * ctx.n_inputs
    return (g_loss.unsqueeze(-1) * grad,) + (None,) * (ctx.n_inputs - 1)


def _mc_backward(ctx, g_loss, _g_grad, _g_lam):
    (grad,) = ctx.saved_tensors
    if g_loss is None:
        return (None,) * ctx.n_inputs
    if getattr(ctx, "eager", False) and g_loss.device.type == "cpu" and g_loss.item() == 1.0:
        # loss.backward() on the loss itself (eager only: .item() would break a traced graph):
        # the saved gradient is the answer; autograd takes it over (or copies it when the
        # graph is retained), which saves a multiplication into fresh memory.
        return (grad,) + (None,) * (ctx.n_inputs - 1)
    return (g_loss * grad,) + (None,) * (ctx.n_inputs - 1)


_sba_op.register_autograd(_sba_backward, setup_context=_sba_setup)
_sba_bwd_op.register_autograd(_sba_bwd_backward, setup_context=_sba_bwd_setup)
_topk_op.register_autograd(_topk_backward, setup_context=_topk_setup)
_loss_op.register_autograd(_loss_backward, setup_context=_grad_setup)
_mc_op.register_autograd(_mc_backward, setup_context=_grad_setup)


def _function(name, op, impl, setup, backward):
    """Two autograd.Functions over one op: the traced one (through ``torch.ops``, with
    ``setup_context`` and a generated vmap rule: compile, export, vmap, grad) and an eager one
    that calls the implementation directly (no custom-op dispatch: less per-call overhead)."""
    op = getattr(torch.ops.hypersimplex, op._name).default  # an OpOverload, which Dynamo traces
    traced = type(
        name,
        (torch.autograd.Function,),
        {
            "generate_vmap_rule": True,
            "forward": staticmethod(lambda *args: op(*args)),
            "setup_context": staticmethod(setup),
            "backward": staticmethod(backward),
        },
    )

    def forward(ctx, *args):
        out = impl(*args)
        setup(ctx, args, out)
        ctx.eager = True
        return out

    eager = type(
        name + "Eager",
        (torch.autograd.Function,),
        {"forward": staticmethod(forward), "backward": staticmethod(backward)},
    )
    return traced, eager


_PLAIN = (torch.Tensor, torch.nn.Parameter)


def _apply(fns, *args):
    """The eager Function for plain tensors outside compile, tracing and torch.func
    transforms; the traced one otherwise."""
    eager = (
        not torch.compiler.is_compiling()
        and not torch._C._are_functorch_transforms_active()
        and _get_current_dispatch_mode() is None
        and all(type(a) in _PLAIN for a in args if isinstance(a, torch.Tensor))
    )
    return fns[eager].apply(*args)


_SBA = _function("_SoftBinaryArgmaxFn", _sba_op, _sba_impl, _sba_setup, _sba_backward)
_SBABwd = _function(
    "_SoftBinaryArgmaxBackwardFn", _sba_bwd_op, _sba_bwd_impl, _sba_bwd_setup, _sba_bwd_backward
)
_TopK = _function("_BinaryArgmaxFn", _topk_op, _topk_impl, _topk_setup, _topk_backward)
_Loss = _function("_HypersimplexLossFn", _loss_op, _loss_impl, _grad_setup, _loss_backward)
_MC = _function("_MulticlassLossFn", _mc_op, _mc_impl, _grad_setup, _mc_backward)


# -- vmap rules (batch dim moved to the front; every op works row-wise) ---------------------------


def _front(t, bdim, size):
    return t.movedim(bdim, 0) if bdim is not None else t.expand(size, *t.shape)


def _k_front(k, kdim, size, batch_ndim):
    """Batched k (logical shape broadcastable to x's batch shape of batch_ndim dims) with its
    batch dim in front and ones inserted so that it broadcasts against (size, *batch)."""
    if k is None or kdim is None:
        return k
    k = k.movedim(kdim, 0)
    return k.reshape(size, *([1] * (batch_ndim - k.dim() + 1)), *k.shape[1:])


@torch.library.register_vmap("hypersimplex::soft_binary_argmax")
def _(info, in_dims, x, k, tau):
    x = _front(x, in_dims[0], info.batch_size)
    return _sba_op(x, _k_front(k, in_dims[1], info.batch_size, x.dim() - 2), tau), 0


@torch.library.register_vmap("hypersimplex::soft_binary_argmax_backward")
def _(info, in_dims, y, g, tau):
    b = info.batch_size
    return _sba_bwd_op(_front(y, in_dims[0], b), _front(g, in_dims[1], b), tau), 0


@torch.library.register_vmap("hypersimplex::binary_argmax")
def _(info, in_dims, x, k):
    x = _front(x, in_dims[0], info.batch_size)
    return _topk_op(x, _k_front(k, in_dims[1], info.batch_size, x.dim() - 2)), 0


@torch.library.register_vmap("hypersimplex::hypersimplex_loss_rows")
def _(info, in_dims, x, target, k, tau):
    b = info.batch_size
    x, t = _front(x, in_dims[0], b), _front(target, in_dims[1], b)
    return _loss_op(x, t, _k_front(k, in_dims[2], b, x.dim() - 2), tau), (0, 0)


@torch.library.register_vmap("hypersimplex::hypersimplex_loss_multiclass")
def _(info, in_dims, logits, labels, k, tau, reduction):
    b = info.batch_size
    x, lab = _front(logits, in_dims[0], b), _front(labels, in_dims[1], b)
    kk = None if k is None else _front(k, in_dims[2], b)
    outs = [_mc_op(x[i], lab[i], None if kk is None else kk[i], tau, reduction) for i in range(b)]
    return tuple(torch.stack([o[j] for o in outs]) for j in range(3)), (0, 0, 0)


# -- public functions -----------------------------------------------------------------------------


def _k_tensor(k):
    if k is None or isinstance(k, torch.Tensor):
        return k
    return torch.as_tensor(k, dtype=torch.float64)


def soft_binary_argmax(x, k, tau=1.0, dim=-1, process_group=None):
    """Soft-Binary-Argmax@k along ``dim``: ``y = Π_Δ(n,k)(x/τ)``, i.e.
    ``y_i = clip(x_i/τ − λ, 0, 1)`` with ``Σ y = k`` per vector. ``k``: a number in [0, n] or a
    tensor broadcastable to x's shape without ``dim``. Differentiable in ``x``.

    ``process_group``: a ``torch.distributed`` group (or ``torch.distributed.group.WORLD``):
    ``dim`` is then sharded over its processes (the global vector is the concatenation of the
    shards in rank order, ``k`` is the global k) and each process gets its part of the global
    projection, through a few int64 ``all_reduce`` calls per vector; every process must call
    it together with the same other dims, ``k`` and ``tau``."""
    if process_group is not None:
        return _sharded_sba(x, k, float(tau), dim, process_group)
    y = _apply(_SBA, x.movedim(dim, -1), _k_tensor(k), float(tau))
    return y.movedim(-1, dim)


def binary_argmax(x, k, dim=-1):
    """Hard top-k mask along ``dim`` (1 on the k largest entries, ties toward the lower index);
    its gradient is zero."""
    return _apply(_TopK, x.movedim(dim, -1), _k_tensor(k)).movedim(-1, dim)


def hypersimplex_loss(x, target, k=None, tau=1.0, dim=-1, reduction="mean"):
    """Binary HyperSimplex loss along ``dim``: per vector ``½‖Π_Δ(n,k)(x/τ) − t‖²`` with targets
    in [0, 1]; ``k`` defaults to ``target.sum(dim)``. ``reduction``: "mean" (Σ(ŷ−t)² /
    x.numel()), "sum" (½ Σ over the vectors) or "none" (per vector)."""
    if reduction not in ("mean", "sum", "none"):
        _hs._fail("HS_ERR_INVALID_REDUCTION", "reduction must be 'mean', 'sum' or 'none'")
    per, _ = _apply(_Loss, x.movedim(dim, -1), target.movedim(dim, -1), _k_tensor(k), float(tau))
    if reduction == "none":
        return per
    if reduction == "sum":
        return per.sum()
    return per.sum() * (2.0 / max(x.numel(), 1))


def hypersimplex_loss_multiclass(
    logits, labels, k=None, tau=1.0, reduction="mean", return_lambda=False, process_group=None
):
    """Multiclass HyperSimplex loss of ``logits`` (batch, classes) and integer ``labels``
    (batch,): class column c is projected down the batch onto Δ(batch, k_c) and compared with
    the one-hot targets. ``k``: None (label counts of the batch), a number or (classes,).
    ``reduction``: "mean" (Σ/(batch·classes)) or "sum" (½·Σ). With ``return_lambda=True``
    returns ``(loss, lam)``: ``lam`` (float64, (classes,), no gradient) holds the thresholds λ_c
    of ŷ[:, c] = clip(logits[:, c]/τ − λ_c, 0, 1) in this batch, from the same call; keep a
    running mean of it for :func:`calibrated_argmax` (as :class:`HyperSimplexLoss` does).

    ``process_group``: a ``torch.distributed`` group: the batch (dim 0) is then sharded over its
    processes and the result is the loss of the *global* batch (k: global label counts or
    global values; the mean divides by the global batch × classes), the same value on every
    process; its gradient is this process's rows of the global gradient. (DistributedDataParallel
    averages gradients over processes: multiply the loss by the world size to train on the
    global loss.) ``return_lambda`` is not available with a process group."""
    if labels.dtype.is_floating_point or labels.dtype.is_complex or labels.dtype == torch.bool:
        raise TypeError(f"labels must be an integer tensor, got {labels.dtype}")
    if process_group is not None:
        if return_lambda:
            raise ValueError("return_lambda is not available with a process_group")
        return _sharded_mc(logits, labels, k, float(tau), reduction, process_group)
    loss, _, lam = _apply(_MC, logits, labels, _k_tensor(k), float(tau), reduction)
    return (loss, lam) if return_lambda else loss


def calibrated_argmax(logits, lam, tau=1.0):
    """Calibrated prediction ``argmax_c (logits[b, c]/τ − λ_c)`` (ties to the lower class) for
    (batch, classes) logits, with per-class thresholds ``lam`` (e.g. the running mean of the λ
    that :func:`hypersimplex_loss_multiclass` reports in training) and the training τ. Returns
    int64 class indices (batch,) on logits' device; not differentiable."""
    lam = lam.detach().cpu().numpy() if isinstance(lam, torch.Tensor) else lam
    pred = _hs.calibrated_argmax(_np(logits.detach()), lam, float(tau))
    return torch.from_numpy(pred.astype(np.int64)).to(logits.device)


# -- sharded (issue 16): torch.distributed groups -------------------------------------------------


def _allreduce(group):
    """Sums an int64 NumPy array over ``group`` in place (``torch.distributed.all_reduce``)."""
    import torch.distributed as dist

    def run(a):
        t = torch.from_numpy(a)  # shares a's memory
        dist.all_reduce(t, op=dist.ReduceOp.SUM, group=group)

    return run


class _ShardedSBA(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, k1, tau, group):
        x2, shape = _rows(x)
        y2 = _hs._sba_sharded_rows(x2, k1, tau, _allreduce(group), np.empty_like(x2))
        ctx.tau, ctx.group, ctx.shape = tau, group, shape
        ctx.y2 = y2
        return _tensor(y2.reshape(shape), x)

    @staticmethod
    def backward(ctx, g):
        g2, _ = _rows(g, ctx.y2.dtype)
        gx2 = _hs._vjp_sharded_rows(ctx.y2, g2, ctx.tau, _allreduce(ctx.group), np.empty_like(g2))
        return _tensor(gx2.reshape(ctx.shape), g), None, None, None


def _sharded_sba(x, k, tau, dim, group):
    xm = x.movedim(dim, -1)
    k1 = _hs._k_rows(_np(k, np.float64) if isinstance(k, torch.Tensor) else k, xm.shape[:-1])
    return _ShardedSBA.apply(xm, k1, tau, group).movedim(-1, dim)


class _ShardedMC(torch.autograd.Function):
    @staticmethod
    def forward(ctx, logits, lab, k1, tau, reduction, group):
        x = _np(logits)
        if x.dtype not in (np.float32, np.float64):
            x = x.astype(np.float64)
        loss, grad = _hs._multiclass_sharded(
            np.ascontiguousarray(x), lab, k1, tau, _hs._REDUCTIONS[reduction], _allreduce(group)
        )
        ctx.grad = _tensor(grad, logits)
        return torch.tensor(float(loss), dtype=logits.dtype, device=logits.device)

    @staticmethod
    def backward(ctx, g):
        return ctx.grad * g, None, None, None, None, None


def _sharded_mc(logits, labels, k, tau, reduction, group):
    if logits.dim() != 2 or labels.shape != logits.shape[:1]:
        shapes = f"logits {tuple(logits.shape)}, labels {tuple(labels.shape)}"
        _hs._fail("HS_ERR_LENGTH_MISMATCH", shapes)
    if reduction not in _hs._REDUCTIONS:
        _hs._fail("HS_ERR_INVALID_REDUCTION", "reduction must be 'sum' or 'mean'")
    lab = _np(labels).astype(np.int64)
    # A label outside [0, classes) is refused by the library on every process alike; clip to
    # uint32 without wrapping a negative label into range.
    lab = np.where((lab < 0) | (lab > 0xFFFFFFFF), 0xFFFFFFFF, lab).astype(np.uint32)
    k1 = None
    if k is not None:
        kk = _np(k, np.float64) if isinstance(k, torch.Tensor) else k
        k1 = _hs._k_rows(kk, logits.shape[1:])
    return _ShardedMC.apply(logits, np.ascontiguousarray(lab), k1, tau, reduction, group)


class SoftBinaryArgmax(torch.nn.Module):
    """Module form of :func:`soft_binary_argmax`."""

    def __init__(self, k, tau=1.0, dim=-1):
        super().__init__()
        self.k, self.tau, self.dim = k, tau, dim

    def forward(self, x):
        return soft_binary_argmax(x, self.k, self.tau, self.dim)


class HyperSimplexLoss(torch.nn.Module):
    """Multiclass HyperSimplex loss as a module taking ``(logits, labels)`` like
    ``nn.CrossEntropyLoss`` (see :func:`hypersimplex_loss_multiclass`)."""

    def __init__(self, k=None, tau=1.0, reduction="mean", momentum=0.1):
        super().__init__()
        self.k, self.tau, self.reduction, self.momentum = k, tau, reduction, momentum
        self.register_buffer("running_lambda", None)

    def forward(self, logits, labels):
        """The loss; in training mode also updates ``running_lambda`` with the batch's λ_c, the
        way batch normalization keeps running statistics:
        ``running ← (1 − momentum)·running + momentum·λ`` (the first batch sets it)."""
        loss, lam = hypersimplex_loss_multiclass(
            logits, labels, self.k, self.tau, self.reduction, return_lambda=True
        )
        if self.training:
            with torch.no_grad():
                if self.running_lambda is None:
                    self.running_lambda = lam.clone()
                else:
                    self.running_lambda.lerp_(lam, self.momentum)
        return loss

    def predict(self, logits):
        """:func:`calibrated_argmax` with ``running_lambda`` (plain argmax before any training
        batch)."""
        if self.running_lambda is None:
            return logits.argmax(dim=1)
        return calibrated_argmax(logits, self.running_lambda, self.tau)
