"""Half-precision forward speed (issue 15): the C row functions for bf16 and f16 against the f32
one on the same data, plus the f32 call on the widened data and a NumPy astype round trip + f32,
one library thread, medians of alternated calls. Run with the installed package:
    python python/bench_half.py
"""
import time

import ml_dtypes
import numpy as np

from hypersimplex._native import ffi, lib
lib.hs_set_num_threads(1)
rng = np.random.default_rng(0)
for rows, n, reps in [(10, 8192, 400), (1, 10**7, 15)]:
    x32 = rng.standard_normal((rows, n)).astype(np.float32)
    ks = np.full(rows, n * 0.1); kp = ffi.from_buffer("double[]", ks)
    F = lambda a: ffi.from_buffer("float[]", a)
    U = lambda a: ffi.from_buffer("uint16_t[]", a)
    y32 = np.empty_like(x32)
    cases = {"f32": lambda: lib.hs_soft_binary_argmax_rows_f32(F(x32), rows, n, kp, 0.5, F(y32))}
    for name, dt, fn in [("bf16", ml_dtypes.bfloat16, lib.hs_soft_binary_argmax_rows_bf16), ("f16", np.float16, lib.hs_soft_binary_argmax_rows_f16)]:
        xh = x32.astype(dt); yh = np.empty_like(xh); xw = xh.astype(np.float32); yw = np.empty_like(xw)
        cases[name] = (lambda fn=fn, xh=xh, yh=yh: fn(U(xh), rows, n, kp, 0.5, U(yh)))
        cases[name + " f32-call-on-widened"] = (lambda xw=xw, yw=yw: lib.hs_soft_binary_argmax_rows_f32(F(xw), rows, n, kp, 0.5, F(yw)))
        def conv(xh=xh, dt=dt):
            xc = xh.astype(np.float32); yc = np.empty_like(xc)
            lib.hs_soft_binary_argmax_rows_f32(F(xc), rows, n, kp, 0.5, F(yc)); yc.astype(dt)
        cases[name + " numpy-roundtrip+f32"] = conv
    ts = {k: [] for k in cases}
    for _ in range(reps):
        for k, f in cases.items():
            t = time.perf_counter(); f(); ts[k].append(time.perf_counter() - t)
    m = {k: np.median(v) for k, v in ts.items()}
    print(f"{rows}x{n} (median of {reps}, alternated, 1 thread): " + "; ".join(f"{k} {v*1e3:.3f} ms ({v/m['f32']:.2f}x)" for k, v in m.items()))
