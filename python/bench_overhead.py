#!/usr/bin/env python3
"""Overhead of the PyTorch and JAX operators over the C library (issue 11's target: torch
forward + backward <= 2x the C call's time + 20 us; issue 17's: jitted JAX forward + backward
<= 2x C + 30 us). Not a test: prints medians of many repetitions.

    python python/bench_overhead.py [--reps 2000] [--threads 1]

C: the library's functions called directly through the package's cffi binding
(hypersimplex._native) on preallocated float32 buffers: the multiclass loss with its gradient
(one call), and Soft-Binary-Argmax rows forward + VJP rows (two calls). Torch: the same work
through hypersimplex.torch, forward and loss.backward() / y.backward(g), CPU float32. JAX (when
installed): the same work as one jax.jit-compiled jax.value_and_grad / jax.vjp through
hypersimplex.jax (XLA FFI handlers), waiting for the result (jax.block_until_ready).
"""
import argparse
import statistics
import time

import numpy as np
import torch

import hypersimplex.torch as hst
from hypersimplex._native import ffi, lib

try:
    import jax

    import hypersimplex.jax as hsj
except ImportError:
    jax = None

ap = argparse.ArgumentParser()
ap.add_argument("--reps", type=int, default=2000)
ap.add_argument("--threads", type=int, default=1,
                help="the library's threads (hs_set_num_threads; 0 = its default). One thread by "
                     "default: with a pool, the tight C loop keeps its workers awake while the "
                     "framework's work between calls lets them sleep, which times wake-ups, not "
                     "the binding")
args = ap.parse_args()
torch.set_num_threads(1)
lib.hs_set_num_threads(args.threads)


def medians_us(c, t, reps):
    """Medians of c() and t(), timed alternately so that both see the same machine load."""
    for _ in range(min(50, reps)):
        c()
        t()
    tc, tt = [], []
    for _ in range(reps):
        for fn, ts in ((c, tc), (t, tt)):
            t0 = time.perf_counter_ns()
            fn()
            ts.append(time.perf_counter_ns() - t0)
    return statistics.median(tc) / 1e3, statistics.median(tt) / 1e3


def f32(a):
    return ffi.from_buffer("float[]", a, require_writable=True)


rng = np.random.default_rng(0)

# multiclass (8192, 10)
B, C = 8192, 10
x = rng.standard_normal((B, C)).astype(np.float32)
lab = rng.integers(0, C, B).astype(np.uint32)
grad, loss = np.empty_like(x), np.zeros(1, np.float32)
px, pl, pg, pls = f32(x), ffi.from_buffer("uint32_t[]", lab), f32(grad), f32(loss)


def c_mc():
    assert lib.hs_hypersimplex_loss_multiclass_f32(px, pl, B, C, ffi.NULL, 1.0, 1, pls, pg) == 0


xt = torch.from_numpy(x.copy()).requires_grad_()
lt = torch.from_numpy(lab.astype(np.int64))


def torch_mc():
    xt.grad = None
    hst.hypersimplex_loss_multiclass(xt, lt, tau=1.0).backward()


# soft_binary_argmax (10, 8192)
R, N = 10, 8192
xs = rng.standard_normal((R, N)).astype(np.float32)
gs = rng.standard_normal((R, N)).astype(np.float32)
ks = np.full(R, 100.0)
ys, gxs = np.empty_like(xs), np.empty_like(xs)
pxs, pgs, pys, pgx, pk = f32(xs), f32(gs), f32(ys), f32(gxs), ffi.from_buffer("double[]", ks)


def c_sba():
    assert lib.hs_soft_binary_argmax_rows_f32(pxs, R, N, pk, 0.5, pys) == 0
    assert lib.hs_soft_binary_argmax_vjp_rows_f32(pys, pgs, R, N, 0.5, pgx) == 0


xst = torch.from_numpy(xs.copy()).requires_grad_()
gst = torch.from_numpy(gs)


def torch_sba():
    xst.grad = None
    hst.soft_binary_argmax(xst, 100, 0.5).backward(gst)


runs = [("multiclass (8192, 10)", c_mc, "torch", torch_mc, 20),
        ("soft_binary_argmax (10, 8192)", c_sba, "torch", torch_sba, 20)]

if jax is not None:
    jax_mc_step = jax.jit(jax.value_and_grad(lambda x, l: hsj.hypersimplex_loss_multiclass(x, l, tau=1.0)))
    jax_sba_step = jax.jit(lambda x, g: jax.vjp(lambda x: hsj.soft_binary_argmax(x, 100, 0.5), x)[1](g)[0])
    xj, lj, xsj, gsj = (jax.device_put(a) for a in (x, lab.astype(np.int32), xs, gs))

    def jax_mc():
        jax.block_until_ready(jax_mc_step(xj, lj))

    def jax_sba():
        jax.block_until_ready(jax_sba_step(xsj, gsj))

    runs += [("multiclass (8192, 10)", c_mc, "jax jit", jax_mc, 30),
             ("soft_binary_argmax (10, 8192)", c_sba, "jax jit", jax_sba, 30)]

for name, c, what, t, slack in runs:
    tc, tt = medians_us(c, t, args.reps)
    ok = "meets" if tt <= 2 * tc + slack else "MISSES"
    print(f"{name}: C {tc:.1f} us, {what} fwd+bwd {tt:.1f} us, ratio {tt / tc:.2f}, "
          f"overhead {tt - tc:.1f} us ({ok} <= 2x C + {slack} us)")
