"""JAX operators of hypersimplex (``import hypersimplex.jax as hsj``).

    loss, grad = jax.value_and_grad(hsj.hypersimplex_loss_multiclass)(logits, labels)

Forward and backward run the C library inside compiled JAX programs through XLA FFI handlers
(``jax.ffi.ffi_call``, CPU), with no host callback: they work under ``jax.jit``, ``jax.grad``
(``jax.custom_vjp`` over the library's VJP) and ``jax.vmap`` (one FFI call for the whole vmapped
batch: one call of the C row functions; the top-k mask and the multiclass loss loop over rows
or vmapped batches in C++ inside that call). float32, and float64 with ``jax_enable_x64``; integer inputs are
computed in the default float type; float16/bfloat16 go to the library's half-precision functions
as they are (computed in float32, each output rounded once; k is then a float32 operand). The handlers are registered for the CPU platform only: on a machine
whose default JAX device is a GPU, put the inputs on ``jax.devices("cpu")[0]``.

The handlers (``_jax_ffi.cc``, shipped in the package) are compiled on the first import of this
module with the system C++ compiler (``$CXX``, default ``c++``) against the installed jaxlib's
headers, linked to the package's own C library (``hypersimplex/_native/lib_native.so``), and
cached per user in ``$HYPERSIMPLEX_JAX_CACHE`` (default ``$XDG_CACHE_HOME/hypersimplex`` or
``~/.cache/hypersimplex``), keyed by the source, the jaxlib version and the library's path.
``python -m hypersimplex.jax`` builds it explicitly and prints its path.

Errors: bad shapes or arguments raise :class:`HypersimplexError` when the call is traced; bad
values (k out of range, NaN inputs, targets outside [0, 1], labels out of range, ...) are found
by the library when the program runs and come back as an FFI error whose message is
``hypersimplex error <status>: <library message>``: :class:`HypersimplexError` when these
functions are called outside ``jax.jit``, ``jax.errors.JaxRuntimeError`` with that message from
a jitted function. ``k`` may be traced (it is an operand, in the input's dtype: exact for integers up to 2^24 in
float32); ``tau`` and ``reduction`` must be concrete (they are compile-time attributes).
"""

import functools
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile

import jax
import jax.numpy as jnp
import jaxlib
import numpy as np

from . import _native
from ._numpy import STATUS, HypersimplexError, _fail

__all__ = [
    "soft_binary_argmax",
    "binary_argmax",
    "hypersimplex_loss",
    "hypersimplex_loss_multiclass",
    "HypersimplexError",
    "build",
]

_SRC = os.path.join(os.path.dirname(__file__), "_jax_ffi.cc")
_NATIVE_DIR = os.path.dirname(os.path.abspath(_native.__file__))
_NATIVE_LIB = "lib_native.so"
_TARGETS = {  # FFI target name -> symbol in the compiled handler library
    "hypersimplex_soft_binary_argmax": "HsSoftBinaryArgmax",
    "hypersimplex_soft_binary_argmax_vjp": "HsSoftBinaryArgmaxVjp",
    "hypersimplex_binary_argmax": "HsBinaryArgmax",
    "hypersimplex_loss": "HsHypersimplexLoss",
    "hypersimplex_loss_multiclass": "HsHypersimplexLossMulticlass",
}


def _cache_dir():
    d = os.environ.get("HYPERSIMPLEX_JAX_CACHE")
    if not d:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        d = os.path.join(base, "hypersimplex")
    return d


def build():
    """Compiles the XLA FFI handlers for the installed jaxlib (once; cached) and returns the path
    of the shared library."""
    cxx = os.environ.get("CXX", "c++")
    flags = [
        "-std=c++17", "-O2", "-shared", "-fPIC", "-I", jax.ffi.include_dir(), _SRC,
        "-L", _NATIVE_DIR, f"-l:{_NATIVE_LIB}", f"-Wl,-rpath,{_NATIVE_DIR}",
    ]
    with open(_SRC, "rb") as f:
        src = f.read()
    key = hashlib.sha256(
        b"\0".join([src, jaxlib.__version__.encode(), cxx.encode()] + [a.encode() for a in flags])
    ).hexdigest()[:16]
    cache = _cache_dir()
    so = os.path.join(cache, f"jax_ffi-{key}.so")
    if os.path.exists(so):
        return so
    if shutil.which(cxx) is None:
        raise ImportError(
            f"hypersimplex.jax compiles its XLA FFI handlers on first use and needs a C++17 "
            f"compiler: {cxx!r} was not found (set CXX)"
        )
    try:
        os.makedirs(cache, exist_ok=True)
        fd, tmp = tempfile.mkstemp(suffix=".so", dir=cache)
    except OSError as e:
        raise ImportError(f"hypersimplex.jax: cannot write its handler cache {cache!r} ({e}); "
                          f"set HYPERSIMPLEX_JAX_CACHE to a writable directory") from e
    os.close(fd)
    cmd = [cxx] + flags + ["-o", tmp]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        os.unlink(tmp)
        raise ImportError(f"hypersimplex.jax: compiling the XLA FFI handlers failed:\n"
                          f"{' '.join(cmd)}\n{r.stderr[-4000:]}")
    os.replace(tmp, so)  # atomic: concurrent first imports each publish a complete file
    return so


def _register():
    import ctypes

    lib = ctypes.cdll.LoadLibrary(build())
    for name, sym in _TARGETS.items():
        jax.ffi.register_ffi_target(name, jax.ffi.pycapsule(getattr(lib, sym)), platform="cpu")
    return lib


_LIB = _register()

# -- helpers --------------------------------------------------------------------------------------

_ERR = re.compile(r"hypersimplex error (-?\d+): ")


def _errors(fn):
    """Turns the handlers' FFI errors into HypersimplexError for calls outside jit (inside a
    jitted function the error surfaces from the outer call as JaxRuntimeError)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (jax.errors.JaxRuntimeError, ValueError) as e:  # eager FFI errors are ValueErrors
            m = None if isinstance(e, HypersimplexError) else _ERR.search(str(e))
            if m is None:
                raise
            raise HypersimplexError(int(m.group(1))) from e

    return wrapper


def _call(name, outs, *args, **attrs):
    return jax.ffi.ffi_call(name, outs, vmap_method="broadcast_all")(*args, **attrs)


def _float(x):
    x = jnp.asarray(x)
    if x.dtype not in (jnp.float32, jnp.float64, jnp.float16, jnp.bfloat16):
        if not (jnp.issubdtype(x.dtype, jnp.integer) or x.dtype == jnp.bool_):
            raise TypeError(f"hypersimplex.jax: unsupported dtype {x.dtype}")
        x = x.astype(jnp.result_type(float))
    return x


def _concrete(v, what):
    try:
        return float(v)
    except (jax.errors.ConcretizationTypeError, TypeError):
        raise TypeError(
            f"hypersimplex.jax: {what} must be a concrete number (it is compiled into the "
            f"program as an attribute), not a traced value; mark it static in jax.jit"
        ) from None


def _last(x, axis):
    if x.ndim == 0:
        _fail("HS_ERR_LENGTH_MISMATCH", "a 0-d array has no axis")
    return jnp.moveaxis(x, axis, -1)


def _k(k, shape, dtype):
    """k broadcast to ``shape`` in ``dtype`` (may be traced)."""
    kk = jnp.asarray(k, dtype=dtype)
    try:
        return jnp.broadcast_to(kk, shape)
    except ValueError:
        raise HypersimplexError(
            STATUS["HS_ERR_LENGTH_MISMATCH"], f"k of shape {kk.shape} does not broadcast to {shape}"
        ) from None


_HALF = (jnp.float16, jnp.bfloat16)


def _kdt(dtype):
    """The dtype of k (and of the loss values) for data of ``dtype``: float32 for the half types
    (the C half functions take a double k and report float losses)."""
    return jnp.dtype(jnp.float32) if dtype in _HALF else dtype


def _like(x):
    return jax.ShapeDtypeStruct(x.shape, x.dtype)


# -- Soft-Binary-Argmax ---------------------------------------------------------------------------


def _vjp_call(y, g, tau):
    return _call("hypersimplex_soft_binary_argmax_vjp", _like(y), y, g, tau=np.float64(tau))


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _sba(x, k, tau):
    return _call("hypersimplex_soft_binary_argmax", _like(x), x, k, tau=np.float64(tau))


def _sba_fwd(x, k, tau):
    y = _sba(x, k, tau)
    return y, (y,)


def _sba_bwd(tau, res, g):
    (y,) = res
    # ∂y/∂k = 1/|A| on the free set A = {0 < y < 1} (λ moves to keep Σy = k), 0 elsewhere.
    free = (y > 0) & (y < 1)
    cnt = jnp.sum(free, axis=-1)
    gk = jnp.where(cnt > 0, jnp.sum(jnp.where(free, g, 0), axis=-1) / jnp.maximum(cnt, 1), 0)
    return _vjp_call(y, g.astype(y.dtype), tau), gk.astype(_kdt(y.dtype))


_sba.defvjp(_sba_fwd, _sba_bwd)


@_errors
def soft_binary_argmax(x, k, tau=1.0, axis=-1):
    """Soft-Binary-Argmax@k along ``axis``: ``y = Π_Δ(n,k)(x/τ)``, i.e.
    ``y_i = clip(x_i/τ − λ, 0, 1)`` with ``Σ y = k`` per vector. ``k``: a number in [0, n] or an
    array broadcastable to x's shape without ``axis`` (may be traced; differentiable). ``tau``:
    a concrete number > 0. Differentiable in ``x`` (the library's VJP) and ``k``."""
    x = _float(x)
    xm = _last(x, axis)
    y = _sba(xm, _k(k, xm.shape[:-1], _kdt(xm.dtype)), _concrete(tau, "tau"))
    return jnp.moveaxis(y, -1, axis)


@_errors
def binary_argmax(x, k, axis=-1):
    """Hard top-k mask along ``axis``: 1 on the k largest entries of each vector (ties toward
    the lower index), 0 elsewhere; ``k``: integers in [0, n] (scalar or broadcastable; may be
    traced). Its gradient is zero."""
    x = jax.lax.stop_gradient(_float(x))
    xm = _last(x, axis)
    kk = jax.lax.stop_gradient(_k(k, xm.shape[:-1], _kdt(xm.dtype)))
    return jnp.moveaxis(_call("hypersimplex_binary_argmax", _like(xm), xm, kk), -1, axis)


# -- binary HyperSimplex loss ---------------------------------------------------------------------


def _loss_call(x, t, k, tau, auto_k):
    outs = (jax.ShapeDtypeStruct(x.shape[:-1], _kdt(x.dtype)), _like(x))
    return _call("hypersimplex_loss", outs, x, t, k, tau=np.float64(tau), auto_k=np.int32(auto_k))


@functools.partial(jax.custom_vjp, nondiff_argnums=(3, 4))
def _loss_rows(x, t, k, tau, auto_k):
    return _loss_call(x, t, k, tau, auto_k)[0]


def _loss_fwd(x, t, k, tau, auto_k):
    per, grad = _loss_call(x, t, k, tau, auto_k)
    return per, (grad, t, k)


def _loss_bwd(tau, auto_k, res, g):
    grad, t, k = res
    return g[..., None].astype(grad.dtype) * grad, jnp.zeros_like(t), jnp.zeros_like(k)


_loss_rows.defvjp(_loss_fwd, _loss_bwd)


@_errors
def hypersimplex_loss(x, target, k=None, tau=1.0, axis=-1, reduction="mean"):
    """Binary HyperSimplex loss along ``axis``: per vector ``½‖Π_Δ(n,k)(x/τ) − t‖²`` with
    targets in [0, 1]; ``k`` defaults to ``target.sum(axis)``. ``reduction``: "mean"
    (Σ(ŷ−t)² / x.size), "sum" (½ Σ over the vectors) or "none" (per vector). Differentiable in
    ``x``; targets and k get a zero gradient."""
    if reduction not in ("mean", "sum", "none"):
        _fail("HS_ERR_INVALID_REDUCTION", "reduction must be 'mean', 'sum' or 'none'")
    x = _float(x)
    t = jnp.asarray(target)
    if x.shape != t.shape:
        _fail("HS_ERR_LENGTH_MISMATCH", f"x {x.shape} and target {t.shape}")
    xm = _last(x, axis)
    tm = jnp.moveaxis(t, axis, -1).astype(xm.dtype)
    kdt = _kdt(xm.dtype)
    auto_k = k is None and xm.dtype not in _HALF  # half: k = Σ t here (the handler gets k)
    if k is None and not auto_k:
        kk = jax.lax.stop_gradient(tm.astype(kdt).sum(-1))
    else:
        kk = jnp.zeros(xm.shape[:-1], kdt) if auto_k else _k(k, xm.shape[:-1], kdt)
    per = _loss_rows(xm, tm, kk, _concrete(tau, "tau"), int(auto_k)).astype(xm.dtype)
    if reduction == "none":
        return per
    if reduction == "sum":
        return per.sum()
    return per.sum() * (2.0 / max(x.size, 1))


# -- multiclass HyperSimplex loss -----------------------------------------------------------------


def _mc_call(x, lab, k, tau, reduction, has_k):
    outs = (jax.ShapeDtypeStruct(x.shape[:-2], _kdt(x.dtype)), _like(x))
    return _call(
        "hypersimplex_loss_multiclass", outs, x, lab, k,
        tau=np.float64(tau), reduction=np.int32(reduction), has_k=np.int32(has_k),
    )


@functools.partial(jax.custom_vjp, nondiff_argnums=(3, 4, 5))
def _mc(x, lab, k, tau, reduction, has_k):
    return _mc_call(x, lab, k, tau, reduction, has_k)[0]


def _mc_fwd(x, lab, k, tau, reduction, has_k):
    loss, grad = _mc_call(x, lab, k, tau, reduction, has_k)
    return loss, (grad, lab, k)


def _mc_bwd(tau, reduction, has_k, res, g):
    grad, lab, k = res
    g = jnp.asarray(g, grad.dtype).reshape(g.shape + (1, 1))
    return g * grad, np.zeros(lab.shape, jax.dtypes.float0), jnp.zeros_like(k)


_mc.defvjp(_mc_fwd, _mc_bwd)
_REDUCTIONS = {"sum": 0, "mean": 1}


@_errors
def hypersimplex_loss_multiclass(logits, labels, k=None, tau=1.0, reduction="mean"):
    """Multiclass HyperSimplex loss of ``logits`` (batch, classes) and integer ``labels``
    (batch,): class column c is projected down the batch onto Δ(batch, k_c) and compared with
    the one-hot targets. ``k``: None (label counts of the batch), a number or (classes,).
    ``reduction``: "mean" (Σ/(batch·classes)) or "sum" (½·Σ). Differentiable in ``logits``."""
    if reduction not in _REDUCTIONS:
        _fail("HS_ERR_INVALID_REDUCTION", "reduction must be 'mean' or 'sum'")
    x = _float(logits)
    lab = jnp.asarray(labels)
    if not jnp.issubdtype(lab.dtype, jnp.integer):
        raise TypeError(f"labels must be an integer array, got dtype {lab.dtype}")
    if x.ndim != 2:
        _fail("HS_ERR_LENGTH_MISMATCH", f"logits must be 2-D (batch, classes), got shape {x.shape}")
    if lab.shape != x.shape[:1]:
        _fail("HS_ERR_LENGTH_MISMATCH", f"labels of shape {lab.shape} for logits {x.shape}")
    # the C labels are uint32: negative int32 labels become values >= 2^31, which the library
    # refuses (out of range); 64-bit labels outside [0, classes) are mapped to 2^32 - 1 first
    lab = jax.lax.stop_gradient(lab)
    if lab.dtype.itemsize > 4:
        lab = jnp.where((lab >= 0) & (lab < x.shape[1]), lab, 0xFFFFFFFF)
    lab = lab.astype(jnp.uint32)
    has_k = k is not None
    kdt = _kdt(x.dtype)
    kk = _k(k, x.shape[1:], kdt) if has_k else jnp.zeros(x.shape[1:], kdt)
    loss = _mc(x, lab, kk, _concrete(tau, "tau"), _REDUCTIONS[reduction], int(has_k))
    return loss.astype(x.dtype)


if __name__ == "__main__":
    print(build())
    sys.exit(0)
