"""NumPy API of hypersimplex (re-exported by the package) and the row kernels that
:mod:`hypersimplex.torch` shares.

The ``_*_rows`` helpers call the C library on C-contiguous 2-D ``(rows, n)`` float32/float64
arrays with no conversion; the public functions move ``axis`` last (a view), make it contiguous
in the compute dtype (no copy when it already is), reshape to rows, call them, and move back.
"""

import numpy as np

from ._native import ffi, lib

try:  # bfloat16 arrays (optional): ml_dtypes, as JAX uses
    import ml_dtypes as _ml_dtypes
except ImportError:  # pragma: no cover - ml_dtypes comes with jax
    _ml_dtypes = None

# Status codes of include/hypersimplex.h.
STATUS = {
    "HS_OK": 0,
    "HS_ERR_LENGTH_MISMATCH": -1,
    "HS_ERR_INVALID_K": -2,
    "HS_ERR_NON_INTEGER_K": -3,
    "HS_ERR_INVALID_TAU": -4,
    "HS_ERR_NON_FINITE_INPUT": -5,
    "HS_ERR_SCALE_OVERFLOW": -6,
    "HS_ERR_LABEL_OUT_OF_RANGE": -7,
    "HS_ERR_SCRATCH_TOO_SMALL": -8,
    "HS_ERR_INVALID_TARGET": -9,
    "HS_ERR_INVALID_REDUCTION": -10,
    "HS_ERR_COLLECTIVE": -11,
    "HS_ERR_NULL_POINTER": -100,
    "HS_ERR_MISALIGNED": -101,
    "HS_ERR_OVERLAP": -102,
    "HS_ERR_OUT_OF_MEMORY": -103,
    "HS_ERR_PANIC": -104,
}
_NAMES = {v: k for k, v in STATUS.items()}
_REDUCTIONS = {"sum": 0, "mean": 1}
_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)
_F16 = np.dtype(np.float16)
_BF16 = None if _ml_dtypes is None else np.dtype(_ml_dtypes.bfloat16)
# Half precision (issue 15): the bits go to the C library's uint16_t functions, which compute in
# float32 and round each output once (no float32 copy of the data).
_HALF = {_F16: "f16"} if _BF16 is None else {_F16: "f16", _BF16: "bf16"}
_CTYPE = {_F32: "float[]", _F64: "double[]", **{dt: "uint16_t[]" for dt in _HALF}}
_FN = {
    (name, dt): getattr(lib, f"hs_{name}_{tag}")
    for name in (
        "soft_binary_argmax_rows",
        "soft_binary_argmax_vjp_rows",
        "binary_argmax",
        "binary_argmax_rows",
        "hypersimplex_loss_multiclass",
        "hypersimplex_loss_multiclass_lambda",
        "calibrated_argmax",
        "soft_binary_argmax_sharded",
        "soft_binary_argmax_vjp_sharded",
        "hypersimplex_loss_multiclass_sharded",
    )
    for dt, tag in ((_F32, "f32"), (_F64, "f64"))
}
_FN.update(
    {
        (name, dt): getattr(lib, f"hs_{name}_{tag}")
        for name in (
            "soft_binary_argmax_rows",
            "soft_binary_argmax_vjp_rows",
            "binary_argmax",
            "binary_argmax_rows",
            "hypersimplex_loss",
            "hypersimplex_loss_multiclass",
            "hypersimplex_loss_multiclass_lambda",
        )
        for dt, tag in _HALF.items()
    }
)


def status_message(status):
    """The library's description of a status code."""
    return ffi.string(lib.hs_status_message(int(status))).decode()


def version():
    """The C library's version, ``"MAJOR.MINOR.PATCH"`` (``hs_version()``)."""
    return ffi.string(lib.hs_version()).decode()


class HypersimplexError(ValueError):
    """A call was refused: ``.status`` is the library's status code (``STATUS``), ``.name`` its
    constant; the message is the library's (``hs_status_message``), plus a detail if any."""

    def __init__(self, status, detail=None):
        self.status = int(status)
        self.name = _NAMES.get(self.status, "unknown")
        msg = f"{self.name} ({self.status}): {status_message(self.status)}"
        super().__init__(msg + (f" ({detail})" if detail else ""))


def _fail(name, detail=None):
    raise HypersimplexError(STATUS[name], detail)


def _check(status):
    if status != 0:
        raise HypersimplexError(status)


def _rd(a):
    return ffi.from_buffer(_CTYPE[a.dtype], a)


def _wr(a):
    return ffi.from_buffer(_CTYPE[a.dtype], a, require_writable=True)


def _k_ptr(k1):
    return ffi.NULL if k1 is None else ffi.from_buffer("double[]", k1)


# -- row kernels (C-contiguous (rows, n) float32/float64 arrays, one dtype) -----------------------


def _sba_rows(x2, k1, tau, y2):
    """``y2[r] = Π_Δ(n,k1[r])(x2[r]/τ)``; k1: (rows,) float64."""
    rows, n = x2.shape
    _check(_FN["soft_binary_argmax_rows", x2.dtype](_rd(x2), rows, n, _k_ptr(k1), tau, _wr(y2)))
    return y2


def _vjp_rows(y2, g2, tau, gx2):
    """``gx2[r] = J_rᵀ g2[r]`` from the forward output y2."""
    rows, n = y2.shape
    _check(_FN["soft_binary_argmax_vjp_rows", y2.dtype](_rd(y2), _rd(g2), rows, n, tau, _wr(gx2)))
    return gx2


def _topk_rows(x2, k1, y2):
    """Top-k mask of each row; k1 (rows,) float64 must hold integers in [0, n]."""
    rows, n = x2.shape
    if not np.all(np.isfinite(k1) & (k1 >= 0) & (k1 <= n)):
        _fail("HS_ERR_INVALID_K", f"k must lie in [0, {n}]")
    if not np.all(k1 == np.floor(k1)):
        _fail("HS_ERR_NON_INTEGER_K", "the top-k mask needs an integer k")
    # one call for the batch (every row checked before any is written)
    kz = np.ascontiguousarray(k1, dtype=np.uintp)
    f = _FN["binary_argmax_rows", x2.dtype]
    _check(f(_rd(x2), rows, n, ffi.from_buffer("size_t[]", kz), _wr(y2)))
    return y2


def _loss_rows(x2, t2, k1, tau):
    """Per-row ``½‖Π_Δ(n,k)(x/τ) − t‖²`` (float64, (rows,)) and its gradient (x2's dtype);
    k1 None: k = Σ t per row."""
    if not np.all((t2 >= 0) & (t2 <= 1)):  # NaN fails both comparisons
        _fail("HS_ERR_INVALID_TARGET", "targets must lie in [0, 1]")
    if k1 is None:
        k1 = t2.sum(axis=1, dtype=np.float64)
    if x2.dtype in _HALF:  # one C call per row: float32 loss, gradient in x2's dtype
        rows, n = x2.shape
        per, g2, loss = np.empty(rows, np.float64), np.empty_like(x2), np.zeros(1, _F32)
        f, px, pt, pg, pl = _FN["hypersimplex_loss", x2.dtype], _rd(x2), _rd(t2), _wr(g2), _wr(loss)
        for r, k in enumerate(k1.tolist()):
            _check(f(px + r * n, pt + r * n, n, k, tau, pl, pg + r * n))
            per[r] = loss[0]
        return per, g2
    y2 = _sba_rows(x2, k1, tau, np.empty_like(x2))
    r2 = y2 - t2
    per = 0.5 * np.einsum("ij,ij->i", r2, r2, dtype=np.float64)
    return per, _vjp_rows(y2, r2, tau, r2)  # in place: grad_x == g is allowed


def _multiclass(x2, lab, k1, tau, reduction, lam=None):
    """Multiclass loss of (batch, classes) logits and uint32 labels: (loss, grad) in x2's dtype.
    With ``lam`` (float64, (classes,)), the same call also writes each column's threshold λ_c."""
    batch, classes = x2.shape
    # the half-precision losses report a float32 loss (their gradient is in x2's dtype)
    loss, gx = np.zeros(1, _F32 if x2.dtype in _HALF else x2.dtype), np.empty_like(x2)
    lp = ffi.from_buffer("uint32_t[]", lab)
    args = (_rd(x2), lp, batch, classes, _k_ptr(k1), tau, reduction, _wr(loss), _wr(gx))
    if lam is None:
        _check(_FN["hypersimplex_loss_multiclass", x2.dtype](*args))
    else:
        lw = ffi.from_buffer("double[]", lam, require_writable=True)
        _check(_FN["hypersimplex_loss_multiclass_lambda", x2.dtype](*args, lw))
    return loss[0], gx


# -- NumPy API --------------------------------------------------------------------------------------


def _dtypes(*arrays, half=True):
    """(compute dtype, result dtype): float16 and bfloat16 (ml_dtypes) through the library's
    half-precision functions (``half=False``: computed in float32), non-floats in float64."""
    dt = np.result_type(*arrays)
    if dt in (_F32, _F64):
        return dt, dt
    if dt in _HALF:
        return (dt if half else _F32), dt
    if dt.kind in "biu" or dt == np.longdouble:
        return _F64, _F64
    raise TypeError(f"hypersimplex: unsupported dtype {dt}")


def _rows(a, axis, dt):
    """``a`` with ``axis`` moved last, as C-contiguous (rows, n) of dtype dt (a view when it can
    be), and the moved shape."""
    if a.ndim == 0:
        _fail("HS_ERR_LENGTH_MISMATCH", "a 0-d array has no axis")
    m = np.moveaxis(a, axis, -1)
    c = np.ascontiguousarray(m, dtype=dt)
    return c.reshape(int(np.prod(m.shape[:-1])), m.shape[-1]), m.shape


def _unrows(a2, mshape, axis, rdt):
    return np.moveaxis(a2.reshape(mshape), -1, axis).astype(rdt, copy=False)


def _k_rows(k, batch_shape):
    kk = np.asarray(k, dtype=np.float64)
    try:
        kk = np.broadcast_to(kk, batch_shape)
    except ValueError:
        raise HypersimplexError(
            STATUS["HS_ERR_LENGTH_MISMATCH"], f"k of shape {kk.shape} does not broadcast to {batch_shape}"
        ) from None
    return np.ascontiguousarray(kk).reshape(-1)


def _same_shape(a, b, what):
    if a.shape != b.shape:
        _fail("HS_ERR_LENGTH_MISMATCH", f"{what}: shapes {a.shape} and {b.shape} differ")


def soft_binary_argmax(x, k, tau=1.0, axis=-1, out=None):
    """Soft-Binary-Argmax@k along ``axis``: ``y = Π_Δ(n,k)(x/τ)``, i.e.
    ``y_i = clip(x_i/τ − λ, 0, 1)`` with ``Σ_i y_i = k`` for every vector along ``axis``.

    ``k``: real in ``[0, n]``, a scalar or an array broadcastable to ``x``'s shape without
    ``axis``. ``tau`` > 0. ``out``: optional array of x's shape and result dtype (written in
    place, without a temporary, when it is C-contiguous along ``axis = -1``; may be ``x``)."""
    x = np.asarray(x)
    dt, rdt = _dtypes(x)
    x2, mshape = _rows(x, axis, dt)
    k1 = _k_rows(k, mshape[:-1])
    direct = None
    if out is not None:
        if not isinstance(out, np.ndarray) or out.shape != x.shape or out.dtype != rdt:
            raise ValueError(f"out must be an ndarray of shape {x.shape} and dtype {rdt}")
        om = np.moveaxis(out, axis, -1)
        if om.dtype == dt and om.flags.c_contiguous:
            direct = om.reshape(x2.shape)
    y2 = _sba_rows(x2, k1, float(tau), np.empty_like(x2) if direct is None else direct)
    if out is None:
        return _unrows(y2, mshape, axis, rdt)
    if direct is None:
        np.copyto(out, _unrows(y2, mshape, axis, rdt))
    return out


def soft_binary_argmax_vjp(y, g, tau=1.0, axis=-1):
    """Backward pass: ``Jᵀ g`` along ``axis``, ``(Jᵀg)_i = (g_i − mean_{j∈A} g_j)/τ`` on the
    free set ``A = {0 < y_i < 1}`` of the forward output ``y``, 0 elsewhere."""
    y, g = np.asarray(y), np.asarray(g)
    _same_shape(y, g, "y and g")
    dt, rdt = _dtypes(y, g)
    y2, mshape = _rows(y, axis, dt)
    g2, _ = _rows(g, axis, dt)
    return _unrows(_vjp_rows(y2, g2, float(tau), np.empty_like(y2)), mshape, axis, rdt)


def binary_argmax(x, k, axis=-1):
    """Binary-Argmax@k along ``axis``: 1 on the k largest entries of each vector (ties toward
    the lower index), 0 elsewhere. ``k``: integers in ``[0, n]``, scalar or broadcastable."""
    x = np.asarray(x)
    dt, rdt = _dtypes(x)
    x2, mshape = _rows(x, axis, dt)
    y2 = _topk_rows(x2, _k_rows(k, mshape[:-1]), np.empty_like(x2))
    return _unrows(y2, mshape, axis, rdt)


def hypersimplex_loss(x, target, k=None, tau=1.0, axis=-1, reduction="sum"):
    """Binary HyperSimplex loss along ``axis``: per vector ``½‖Π_Δ(n,k)(x/τ) − t‖²`` with
    targets t in [0, 1]; ``k`` defaults to ``target.sum(axis)``.

    ``reduction``: ``"sum"`` (½ Σ over all vectors), ``"mean"`` (Σ(ŷ−t)² / x.size) or
    ``"none"`` (per-vector losses, shape of x without axis). Returns ``(loss, grad)``, grad =
    ∂(reduced loss)/∂x (for "none": of the sum of the per-vector losses)."""
    x, t = np.asarray(x), np.asarray(target)
    _same_shape(x, t, "x and target")
    if reduction not in ("sum", "mean", "none"):
        _fail("HS_ERR_INVALID_REDUCTION", "reduction must be 'sum', 'mean' or 'none'")
    dt, rdt = _dtypes(x, t)
    x2, mshape = _rows(x, axis, dt)
    t2, _ = _rows(t, axis, dt)
    k1 = None if k is None else _k_rows(k, mshape[:-1])
    per, g2 = _loss_rows(x2, t2, k1, float(tau))
    if reduction == "none":
        loss = per.reshape(mshape[:-1]).astype(rdt)
    elif reduction == "sum":
        loss = rdt.type(per.sum())
    else:
        scale = 2.0 / x.size if x.size else 0.0
        loss = rdt.type(per.sum() * scale)
        g2 *= g2.dtype.type(scale)
    return loss, _unrows(g2, mshape, axis, rdt)


def _multiclass_args(logits, labels):
    """Checked (logits, labels) of the multiclass functions."""
    x, lab = np.asarray(logits), np.asarray(labels)
    if x.ndim != 2:
        _fail("HS_ERR_LENGTH_MISMATCH", f"logits must be 2-D (batch, classes), got shape {x.shape}")
    if lab.dtype.kind not in "iu":
        raise TypeError(f"labels must be an integer array, got dtype {lab.dtype}")
    if lab.shape != x.shape[:1]:
        _fail("HS_ERR_LENGTH_MISMATCH", f"labels of shape {lab.shape} for logits {x.shape}")
    if lab.size and (lab.min() < 0 or lab.max() >= x.shape[1]):
        _fail("HS_ERR_LABEL_OUT_OF_RANGE", f"labels must lie in [0, {x.shape[1]})")
    return x, lab


def hypersimplex_loss_multiclass(
    logits, labels, k=None, tau=1.0, reduction="sum", return_lambda=False
):
    """Multiclass HyperSimplex loss of ``logits`` (batch, classes) and integer ``labels``
    (batch,): each class column is projected down the batch onto Δ(batch, k_c) and compared
    with the one-hot targets. ``k``: None (label counts of the batch) or per-class values
    (scalar or (classes,)). ``reduction``: "sum" (½·Σ) or "mean" (Σ/(batch·classes)).
    Returns ``(loss, grad)`` with grad = ∂loss/∂logits; with ``return_lambda=True``,
    ``(loss, grad, lam)``: ``lam`` (float64, (classes,)) holds each column's threshold λ_c, the
    ŷ[:, c] = clip(logits[:, c]/τ − λ_c, 0, 1) of this batch, from the same call. A running mean
    of ``lam`` over training batches is what :func:`calibrated_argmax` expects."""
    x, lab = _multiclass_args(logits, labels)
    if reduction not in _REDUCTIONS:
        _fail("HS_ERR_INVALID_REDUCTION", "reduction must be 'sum' or 'mean'")
    dt, rdt = _dtypes(x)
    k1 = None if k is None else _k_rows(k, x.shape[1:])
    lam = np.zeros(x.shape[1], np.float64) if return_lambda else None
    loss, gx = _multiclass(
        np.ascontiguousarray(x, dt), np.ascontiguousarray(lab, np.uint32), k1, float(tau),
        _REDUCTIONS[reduction], lam,
    )
    if return_lambda:
        return rdt.type(loss), gx.astype(rdt, copy=False), lam
    return rdt.type(loss), gx.astype(rdt, copy=False)


def calibrated_argmax(logits, lam, tau=1.0):
    """Calibrated prediction for a model trained with the multiclass HyperSimplex loss:
    ``pred[b] = argmax_c (logits[b, c]/τ − λ_c)`` (ties to the lower class), with ``lam`` the
    per-class thresholds λ_c (e.g. a running mean of the ``lam`` that
    ``hypersimplex_loss_multiclass(..., return_lambda=True)`` reports in training) and τ the
    training temperature. ``logits``: (batch, classes). Returns uint32 class indices (batch,)."""
    x = np.asarray(logits)
    if x.ndim != 2:
        _fail("HS_ERR_LENGTH_MISMATCH", f"logits must be 2-D (batch, classes), got shape {x.shape}")
    lam = np.ascontiguousarray(lam, np.float64)
    if lam.shape != x.shape[1:]:
        _fail("HS_ERR_LENGTH_MISMATCH", f"lam of shape {lam.shape} for logits {x.shape}")
    dt, _ = _dtypes(x, half=False)
    x2 = np.ascontiguousarray(x, dt)
    pred = np.zeros(x.shape[0], np.uint32)
    f = _FN["calibrated_argmax", dt]
    _check(f(_rd(x2), x.shape[0], x.shape[1], ffi.from_buffer("double[]", lam), float(tau),
             ffi.from_buffer("uint32_t[]", pred, require_writable=True)))
    return pred


# -- sharded calls (issue 16): the batch split over processes, an int64 sum-allreduce -------------


class _Collective:
    """``allreduce(a)`` (sums the int64 NumPy array ``a`` over every process, in place) as the C
    library's ``hs_allreduce_i64`` callback; an exception in it makes the call return
    ``HS_ERR_COLLECTIVE`` and is re-raised after the call (as its ``__cause__``)."""

    def __init__(self, allreduce):
        self.error = None

        def cb(values, length, _ctx):
            a = np.frombuffer(ffi.buffer(values, 8 * length), dtype=np.int64)
            allreduce(a)
            return 0

        def onerror(exc, value, tb):
            self.error = value
            return -1

        self.cb = ffi.callback("int32_t(int64_t *, size_t, void *)", cb, error=-1, onerror=onerror)

    def check(self, status):
        if status != 0:
            raise HypersimplexError(status) from self.error


def _sba_sharded_rows(x2, k1, tau, allreduce, y2):
    """Each row of ``x2`` is this process's part of a global row: ``y2[r]`` = its part of
    ``Π_Δ(n,k1[r])(x/τ)`` (n: the global length). Every process passes the same number of rows."""
    c, f = _Collective(allreduce), _FN["soft_binary_argmax_sharded", x2.dtype]
    rows, n = x2.shape
    px, py = _rd(x2), _wr(y2)
    for r in range(rows):
        c.check(f(px + r * n, n, float(k1[r]), tau, c.cb, ffi.NULL, py + r * n))
    return y2


def _vjp_sharded_rows(y2, g2, tau, allreduce, gx2):
    """Sharded ``J_rᵀ g2[r]`` per row, from the forward output ``y2``."""
    c, f = _Collective(allreduce), _FN["soft_binary_argmax_vjp_sharded", y2.dtype]
    rows, n = y2.shape
    py, pg, po = _rd(y2), _rd(g2), _wr(gx2)
    for r in range(rows):
        c.check(f(py + r * n, pg + r * n, n, tau, c.cb, ffi.NULL, po + r * n))
    return gx2


def _multiclass_sharded(x2, lab, k1, tau, reduction, allreduce):
    """Sharded multiclass loss: (global loss, this process's rows of its gradient)."""
    batch, classes = x2.shape
    loss, gx = np.zeros(1, x2.dtype), np.empty_like(x2)
    c, f = _Collective(allreduce), _FN["hypersimplex_loss_multiclass_sharded", x2.dtype]
    lp = ffi.from_buffer("uint32_t[]", lab)
    ptrs = (_rd(x2), lp, batch, classes, _k_ptr(k1), tau, reduction)
    c.check(f(*ptrs, c.cb, ffi.NULL, _wr(loss), _wr(gx)))
    return loss[0], gx
