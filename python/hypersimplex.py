"""hypersimplex: Soft-Binary-Argmax@k, top-k mask and HyperSimplex losses from Python.

A thin ctypes + NumPy wrapper over the C ABI of ``libhypersimplex.so`` (no compiled extension).
The library is found through the environment variable ``HYPERSIMPLEX_LIB`` (a path to the
``.so``), else in the repository's ``target/release`` (then ``target/debug``) next to this file.

    import numpy as np, hypersimplex as hs
    x = np.array([1.2, -0.3, 0.8, 0.1, -2.0], dtype=np.float32)
    y = hs.soft_binary_argmax(x, k=2, tau=2.0)      # projection of x/tau onto {y in [0,1]^n: sum y = k}
    gx = hs.soft_binary_argmax_vjp(y, np.eye(5, dtype=np.float32)[0], tau=2.0)

Arrays of dtype float32 call the ``_f32`` functions, float64 the ``_f64`` ones (other dtypes are
converted to float64). 2-D arrays are processed row by row. Errors raise
:class:`HypersimplexError` carrying the library's status code and message.
"""

import ctypes
import os
from pathlib import Path

import numpy as np

__all__ = [
    "HypersimplexError",
    "soft_binary_argmax",
    "soft_binary_argmax_vjp",
    "binary_argmax",
    "hypersimplex_loss",
    "hypersimplex_loss_multiclass",
    "status_message",
    "version",
    "library_path",
    "STATUS",
]

# Status codes (include/hypersimplex.h).
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
    "HS_ERR_NULL_POINTER": -100,
    "HS_ERR_MISALIGNED": -101,
    "HS_ERR_OVERLAP": -102,
    "HS_ERR_OUT_OF_MEMORY": -103,
    "HS_ERR_PANIC": -104,
}
_NAMES = {v: k for k, v in STATUS.items()}
_REDUCTIONS = {"sum": 0, "mean": 1}


class HypersimplexError(ValueError):
    """A call was refused; ``.status`` is the library's status code, ``.name`` its constant."""

    def __init__(self, status):
        self.status = status
        self.name = _NAMES.get(status, "unknown")
        super().__init__(f"{self.name} ({status}): {status_message(status)}")


def _find_library():
    env = os.environ.get("HYPERSIMPLEX_LIB")
    if env:
        return env
    root = Path(__file__).resolve().parent.parent
    for profile in ("release", "debug"):
        p = root / "target" / profile / "libhypersimplex.so"
        if p.exists():
            return str(p)
    raise OSError(
        "libhypersimplex.so not found: build it with `cargo build --release -p hypersimplex-ffi` "
        "or set HYPERSIMPLEX_LIB to its path"
    )


library_path = _find_library()
_lib = ctypes.CDLL(library_path)

_i32, _sz, _f64 = ctypes.c_int32, ctypes.c_size_t, ctypes.c_double
_P = ctypes.c_void_p


def _declare(name, *args):
    f = getattr(_lib, name)
    f.argtypes = list(args)
    f.restype = _i32
    return f


_lib.hs_status_message.argtypes = [_i32]
_lib.hs_status_message.restype = ctypes.c_char_p
_lib.hs_version.argtypes = []
_lib.hs_version.restype = ctypes.c_char_p
_lib.hs_multiclass_scratch_len.argtypes = [_sz, _sz]
_lib.hs_multiclass_scratch_len.restype = _sz

_FN = {}
for _t, _ct in (("f32", ctypes.c_float), ("f64", ctypes.c_double)):
    _FN["forward", _t] = _declare(f"hs_soft_binary_argmax_{_t}", _P, _sz, _f64, _ct, _P)
    _FN["rows", _t] = _declare(f"hs_soft_binary_argmax_rows_{_t}", _P, _sz, _sz, _P, _ct, _P)
    _FN["vjp", _t] = _declare(f"hs_soft_binary_argmax_vjp_{_t}", _P, _P, _sz, _ct, _P)
    _FN["vjp_rows", _t] = _declare(f"hs_soft_binary_argmax_vjp_rows_{_t}", _P, _P, _sz, _sz, _ct, _P)
    _FN["topk", _t] = _declare(f"hs_binary_argmax_{_t}", _P, _sz, _sz, _P)
    _FN["loss", _t] = _declare(f"hs_hypersimplex_loss_{_t}", _P, _P, _sz, _f64, _ct, _P, _P)
    _FN["multiclass", _t] = _declare(
        f"hs_hypersimplex_loss_multiclass_{_t}", _P, _P, _sz, _sz, _P, _ct, _i32, _P, _P
    )


def status_message(status):
    """The library's description of a status code (any integer)."""
    return _lib.hs_status_message(int(status)).decode()


def version():
    """The library's version string."""
    return _lib.hs_version().decode()


def _check(status):
    if status != 0:
        raise HypersimplexError(status)


def _dtype(*arrays):
    """float32 if every array is float32, else float64."""
    return np.float32 if all(np.asarray(a).dtype == np.float32 for a in arrays) else np.float64


def _arr(a, dtype):
    return np.ascontiguousarray(a, dtype=dtype)


def _ptr(a):
    return a.ctypes.data if a is not None and a.size > 0 else None


def _tag(dtype):
    return "f32" if dtype == np.float32 else "f64"


def soft_binary_argmax(x, k, tau=1.0, out=None):
    """Soft-Binary-Argmax@k: ``y = Π_Δ(n,k)(x/τ)``, i.e. ``y_i = clip(x_i/τ − λ, 0, 1)`` with
    ``Σ y = k``. ``x``: 1-D (n,) or 2-D (rows, n), projected row by row; ``k``: real in
    ``[0, n]``, a scalar or one value per row. ``out`` (optional, same shape and dtype, may be
    ``x`` itself for in-place) receives the result. Returns ``y``."""
    dt = _dtype(x)
    x = _arr(x, dt)
    y = np.empty_like(x) if out is None else out
    if y.shape != x.shape or y.dtype != x.dtype or not y.flags.c_contiguous:
        raise ValueError("out must be C-contiguous with the shape and dtype of x")
    if x.ndim == 1:
        _check(_FN["forward", _tag(dt)](_ptr(x), x.size, float(k), float(tau), _ptr(y)))
    elif x.ndim == 2:
        rows, n = x.shape
        ks = _arr(np.broadcast_to(np.asarray(k, dtype=np.float64), (rows,)), np.float64)
        _check(_FN["rows", _tag(dt)](_ptr(x), rows, n, _ptr(ks), float(tau), _ptr(y)))
    else:
        raise ValueError("x must be 1-D or 2-D")
    return y


def soft_binary_argmax_vjp(y, g, tau=1.0):
    """Backward pass: ``Jᵀ g`` with ``(Jᵀg)_i = (g_i − mean_{j∈A} g_j)/τ`` on the free set
    ``A = {0 < y_i < 1}`` of the forward output ``y``, 0 elsewhere (row by row for 2-D)."""
    dt = _dtype(y, g)
    y, g = _arr(y, dt), _arr(g, dt)
    if y.shape != g.shape:
        raise ValueError("y and g must have the same shape")
    gx = np.empty_like(g)
    if y.ndim == 1:
        _check(_FN["vjp", _tag(dt)](_ptr(y), _ptr(g), y.size, float(tau), _ptr(gx)))
    elif y.ndim == 2:
        rows, n = y.shape
        _check(_FN["vjp_rows", _tag(dt)](_ptr(y), _ptr(g), rows, n, float(tau), _ptr(gx)))
    else:
        raise ValueError("y must be 1-D or 2-D")
    return gx


def binary_argmax(x, k):
    """Hard top-k mask of a 1-D array: 1 on the k largest entries (ties toward the lower
    index), 0 elsewhere."""
    dt = _dtype(x)
    x = _arr(x, dt)
    if x.ndim != 1:
        raise ValueError("x must be 1-D")
    if int(k) != k or k < 0:
        raise HypersimplexError(STATUS["HS_ERR_INVALID_K"])
    y = np.empty_like(x)
    _check(_FN["topk", _tag(dt)](_ptr(x), x.size, int(k), _ptr(y)))
    return y


def hypersimplex_loss(x, target, k=None, tau=1.0, grad=True):
    """Binary HyperSimplex loss ``½‖Π_Δ(n,k)(x/τ) − t‖²`` of 1-D logits and targets in [0, 1].
    ``k`` defaults to ``Σ target``. Returns ``(loss, grad_x)`` (``grad_x`` is None when
    ``grad`` is False)."""
    dt = _dtype(x, target)
    x, t = _arr(x, dt), _arr(target, dt)
    if x.ndim != 1 or x.shape != t.shape:
        raise ValueError("x and target must be 1-D of the same length")
    if k is None:
        k = float(np.sum(t, dtype=np.float64))
    loss = np.zeros(1, dtype=dt)
    gx = np.empty_like(x) if grad else None
    _check(_FN["loss", _tag(dt)](_ptr(x), _ptr(t), x.size, float(k), float(tau), _ptr(loss), _ptr(gx)))
    return loss[0], gx


def hypersimplex_loss_multiclass(logits, labels, k=None, tau=1.0, reduction="sum", grad=True):
    """Multiclass HyperSimplex loss of ``logits`` (batch, classes) and integer ``labels``
    (batch,): each class column is projected down the batch onto Δ(batch, k_c) and compared
    with the one-hot targets. ``k``: None (label counts of the batch) or one value per class.
    ``reduction``: "sum" (½·Σ) or "mean" (Σ/(batch·classes)). Returns ``(loss, grad)``."""
    dt = _dtype(logits)
    x = _arr(logits, dt)
    if x.ndim != 2:
        raise ValueError("logits must be 2-D (batch, classes)")
    batch, classes = x.shape
    lab = np.asarray(labels)
    if lab.shape != (batch,):
        raise ValueError("labels must have shape (batch,)")
    if np.any(lab < 0) or np.any(lab > np.iinfo(np.uint32).max):
        raise HypersimplexError(STATUS["HS_ERR_LABEL_OUT_OF_RANGE"])
    lab = _arr(lab, np.uint32)
    ks = None if k is None else _arr(np.broadcast_to(np.asarray(k, np.float64), (classes,)), np.float64)
    if reduction not in _REDUCTIONS:
        raise HypersimplexError(STATUS["HS_ERR_INVALID_REDUCTION"])
    loss = np.zeros(1, dtype=dt)
    gx = np.empty_like(x) if grad else None
    _check(
        _FN["multiclass", _tag(dt)](
            _ptr(x), _ptr(lab), batch, classes, _ptr(ks), float(tau), _REDUCTIONS[reduction],
            _ptr(loss), _ptr(gx),
        )
    )
    return loss[0], gx
