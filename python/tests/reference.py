"""Independent float64 NumPy reference: projection onto the hypersimplex by bisection on the
threshold λ (not the library's algorithm), its VJP, the losses and the top-k mask."""

import numpy as np


def proj(v, k):
    """argmin ‖y − v‖ over {y ∈ [0,1]^n : Σy = k}: y = clip(v − λ, 0, 1), λ by bisection."""
    v = np.asarray(v, np.float64)
    if v.size == 0:
        return v.copy()
    lo, hi = v.min() - 1.0, v.max()  # Σ clip(v − lo) = n ≥ k, Σ clip(v − hi) = 0 ≤ k
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if np.clip(v - mid, 0, 1).sum() > k:
            lo = mid
        else:
            hi = mid
    return np.clip(v - 0.5 * (lo + hi), 0, 1)


def vjp(y, g, tau):
    free = (y > 0) & (y < 1)
    out = np.zeros_like(g, dtype=np.float64)
    if free.any():
        out[free] = (g[free] - g[free].mean()) / tau
    return out


def along(fn, a, axis, *more):
    """Apply fn(vector, *per-vector extras) to every vector of ``a`` along ``axis``."""
    a = np.moveaxis(np.asarray(a, np.float64), axis, -1)
    more = [np.moveaxis(np.asarray(m, np.float64), axis, -1) if np.ndim(m) == a.ndim else m for m in more]
    out = np.empty(a.shape)
    for idx in np.ndindex(*a.shape[:-1]):
        args = [m[idx] if isinstance(m, np.ndarray) and m.ndim >= len(idx) else m for m in more]
        out[idx] = fn(a[idx], *args)
    return np.moveaxis(out, -1, axis)


def soft_binary_argmax(x, k, tau, axis):
    kb = np.broadcast_to(np.asarray(k, np.float64), np.delete(np.shape(x), axis % np.ndim(x)))
    return along(lambda v, kk: proj(v / tau, kk), x, axis, kb)


def topk(v, k):
    y = np.zeros(len(v))
    y[np.argsort(-np.asarray(v, np.float64), kind="stable")[: int(k)]] = 1
    return y


def loss(x, t, k, tau, axis):
    """Per-vector ½‖ŷ − t‖² (shape without axis) and the gradient of their sum."""
    t = np.asarray(t, np.float64)
    if k is None:
        k = t.sum(axis)
    y = soft_binary_argmax(x, k, tau, axis)
    r = y - t
    g = np.moveaxis(r, axis, -1).copy()
    ym = np.moveaxis(y, axis, -1)
    for idx in np.ndindex(*g.shape[:-1]):
        g[idx] = vjp(ym[idx], g[idx], tau)
    return 0.5 * (r**2).sum(axis), np.moveaxis(g, -1, axis)


def multiclass(logits, labels, k, tau, reduction):
    x = np.asarray(logits, np.float64)
    b, c = x.shape
    onehot = np.eye(c)[labels] if b else np.zeros((0, c))
    kk = onehot.sum(0) if k is None else np.broadcast_to(np.asarray(k, np.float64), (c,))
    per, g = loss(x, onehot, kk, tau, 0)
    if reduction == "sum":
        return per.sum(), g
    return 2 * per.sum() / (b * c), g * 2 / (b * c)
