"""hypersimplex: Soft-Binary-Argmax@k, the top-k mask and the HyperSimplex losses.

NumPy API over the bundled C library (``hypersimplex._native``, cffi ABI mode); the PyTorch
operators are in :mod:`hypersimplex.torch`, the JAX ones in :mod:`hypersimplex.jax` (neither is
imported here).

    import numpy as np, hypersimplex as hs
    x = np.random.randn(4, 100).astype(np.float32)
    y = hs.soft_binary_argmax(x, k=10, tau=0.5)          # each row projected onto Δ(100, 10)
    loss, grad = hs.hypersimplex_loss(x, (y > 0.5).astype(np.float32), tau=0.5)

Every function works along one ``axis`` of an array of any rank. float32 and float64 run in
their own precision; float16 and bfloat16 (``ml_dtypes.bfloat16`` arrays) are read and written
as they are by the library's half-precision functions, computed in float32 and rounded once to
nearest even (each output within one ulp of the half type: Σy equals k only to that precision;
the binary loss and ``return_lambda`` compute on a float32 copy); other dtypes are computed in
float64. Inputs are never modified. Errors raise :class:`HypersimplexError`.
"""

from ._numpy import (
    STATUS,
    HypersimplexError,
    binary_argmax,
    calibrated_argmax,
    hypersimplex_loss,
    hypersimplex_loss_multiclass,
    soft_binary_argmax,
    soft_binary_argmax_vjp,
    status_message,
    version,
)

__version__ = version()

__all__ = [
    "STATUS",
    "HypersimplexError",
    "binary_argmax",
    "calibrated_argmax",
    "hypersimplex_loss",
    "hypersimplex_loss_multiclass",
    "soft_binary_argmax",
    "soft_binary_argmax_vjp",
    "status_message",
    "version",
    "__version__",
]
