#!/usr/bin/env python3
"""Generates the fixed inputs and expected outputs the Cortex-M4F firmware checks against.

The expected values come from an independent, obviously-correct float64 reference written here
(it shares no code with the library):

* projection onto the hypersimplex: sort the 2n breakpoints {z_i, z_i - 1} of
  f(lam) = sum_i clip(z_i - lam, 0, 1) (continuous, non-increasing, linear between breakpoints),
  binary-search the bracket with f(b_j) >= k >= f(b_j+1), interpolate linearly;
* top-k mask: a stable sort by (-x_i, i) (ties -> lower index), first k indices;
* VJP: (1/tau) (g_i - mean_{j in A} g_j) on A = {0 < y < 1}, 0 elsewhere;
* loss: 0.5 * ||y - t||^2, gradient = VJP applied to r = y - t.

Inputs are float32 values (so the firmware sees exactly what the reference saw); z = x / tau is
formed in float64. Every soft case is checked to keep each z_i - lam at least MARGIN away from
0 and 1, so the free set is unambiguous in float32 and the VJP/gradient comparisons are fair.

Tolerances (float32, eps = 2^-23, M = max(1, max|z|, |lam|)) are written into the files:
  y, lam        : 16 eps M                       (core documents |y - y*| <= 8 eps M)
  sum(y) - k    : 16 eps M max(1, |F|)
  vjp           : 16 eps max(1, max|g|) / tau
  loss gradient : (2 tol_y + 16 eps) / tau
  loss          : tol_y sum|r| + 16 eps max(1, L)
  top-k mask    : exact
  float64 case  : 64 eps64 M

Usage: python3 gen.py --rust OUT.rs --c OUT.h   (either may be left out)
The Rust firmware's build.rs runs it into OUT_DIR; scripts/test-firmware.sh runs it for the C firmware.
"""
import argparse
import os
import struct
import sys

EPS32 = 2.0 ** -23
EPS64 = 2.0 ** -52
MARGIN = 1e-4



def f32(v):
    return struct.unpack("<f", struct.pack("<f", v))[0]


class Rng:
    """splitmix64: stable across Python versions."""

    def __init__(self, seed):
        self.s = seed & 0xFFFFFFFFFFFFFFFF

    def next(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        return z ^ (z >> 31)

    def uniform(self, a, b):
        return a + (b - a) * (self.next() >> 11) / float(1 << 53)

    def below(self, n):
        return self.next() % n


# ------------------------------------------------------------------ reference (float64)
def f_sum(z, lam):
    return sum(min(max(zi - lam, 0.0), 1.0) for zi in z)


def project(z, k):
    """Returns (y, lam) with y_i = clip(z_i - lam, 0, 1), sum y = k."""
    n = len(z)
    assert 0 <= k <= n
    if k == 0:
        return [0.0] * n, max(z)
    if k == n:
        return [1.0] * n, min(z) - 1.0
    b = sorted(set(z) | set(zi - 1.0 for zi in z))
    # f(b[0]) = n >= k, f(b[-1]) = 0 <= k: find j with f(b[j]) >= k >= f(b[j+1]).
    lo, hi = 0, len(b) - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if f_sum(z, b[mid]) >= k:
            lo = mid
        else:
            hi = mid
    fl, fh = f_sum(z, b[lo]), f_sum(z, b[hi])
    lam = b[lo] if fl == fh else b[lo] + (fl - k) / (fl - fh) * (b[hi] - b[lo])
    y = [min(max(zi - lam, 0.0), 1.0) for zi in z]
    return y, lam


def topk_mask(x, k):
    order = sorted(range(len(x)), key=lambda i: (-x[i], i))
    m = [0.0] * len(x)
    for i in order[:k]:
        m[i] = 1.0
    return m


def vjp(y, g, tau):
    A = [i for i, v in enumerate(y) if 0.0 < v < 1.0]
    mean = sum(g[i] for i in A) / len(A) if A else 0.0
    return [(g[i] - mean) / tau if 0.0 < y[i] < 1.0 else 0.0 for i in range(len(y))]


# ------------------------------------------------------------------ cases
def margin_ok(z, lam):
    return all(min(abs(zi - lam), abs(zi - lam - 1.0)) >= MARGIN for zi in z)


def soft_case(name, x, k, tau, g, t, topk_k):
    n = len(x)
    z = [xi / tau for xi in x]
    y, lam = project(z, k)
    if not margin_ok(z, lam):
        return None
    free = sum(1 for v in y if 0.0 < v < 1.0)
    upper = sum(1 for v in y if v >= 1.0)
    M = max(1.0, max(abs(v) for v in z), abs(lam))
    tol_y = 16 * EPS32 * M
    v = vjp(y, g, tau)
    loss_k = sum(t)
    yl, laml = project(z, loss_k)
    if not margin_ok(z, laml):
        return None
    r = [a - b for a, b in zip(yl, t)]
    L = 0.5 * sum(ri * ri for ri in r)
    Ml = max(1.0, max(abs(v) for v in z), abs(laml))
    tol_yl = 16 * EPS32 * Ml
    lg = vjp(yl, r, tau)
    return dict(
        name=name, n=n, x=x, k=k, tau=tau, y=y, lam=lam, free=free, upper=upper,
        tol_y=tol_y, tol_sum=tol_y * max(1, free),
        g=g, vjp=v, tol_vjp=16 * EPS32 * max(1.0, max(abs(a) for a in g)) / tau,
        t=t, loss_k=loss_k, loss=L, loss_grad=lg,
        tol_loss=tol_yl * sum(abs(a) for a in r) + 16 * EPS32 * max(1.0, L),
        tol_loss_grad=(2 * tol_yl + 16 * EPS32) / tau,
        topk_k=topk_k, mask=topk_mask(x, topk_k),
    )


def make_cases():
    cases = []
    # a: n = 16, integer k, tau a power of two (x / tau exact), 0/1 target.
    seed = 1
    while True:
        r = Rng(seed)
        x = [f32(r.uniform(-2, 2)) for _ in range(16)]
        g = [f32(r.uniform(-1, 1)) for _ in range(16)]
        t = [0.0] * 16
        for i in sorted(range(16), key=lambda _: r.next())[:4]:
            t[i] = 1.0
        c = soft_case("a: n=16 k=4 tau=0.5", x, 4.0, 0.5, g, t, 4)
        if c:
            cases.append(c)
            break
        seed += 1
    # b: n = 37, fractional k, tau = 1.5 (1/tau inexact), soft target (multiples of 1/256).
    seed = 100
    while True:
        r = Rng(seed)
        x = [f32(r.uniform(-3, 3)) for _ in range(37)]
        g = [f32(r.uniform(-2, 2)) for _ in range(37)]
        t = [r.below(257) / 256.0 for _ in range(37)]
        c = soft_case("b: n=37 k=7.5 tau=1.5", x, 7.5, f32(1.5), g, t, 7)
        if c:
            cases.append(c)
            break
        seed += 1
    # c: n = 2500 (>= SAMPLE_FROM: the sampled start point), tau = 0.25, target = a 0/1 mask.
    seed = 1000
    while True:
        r = Rng(seed)
        n = 2500
        x = [f32((r.below(8001) - 4000) / 1024.0) for _ in range(n)]
        g = [f32(r.uniform(-1, 1)) for _ in range(n)]
        t = [0.0] * n
        for i in sorted(range(n), key=lambda _: r.next())[:250]:
            t[i] = 1.0
        c = soft_case("c: n=2500 k=250 tau=0.25", x, 250.0, 0.25, g, t, 250)
        if c:
            cases.append(c)
            break
        seed += 1
    return cases


def make_topk_cases():
    # ties at the k-th value: the lower indices must win
    x = [0.5, 2.0, 1.0, 2.0, 2.0, -1.0, 2.0, 1.0, 0.0, 2.0]
    out = []
    for k in (0, 3, 5, 6, 10):
        out.append(dict(name="ties n=10 k=%d" % k, x=x, k=k, mask=topk_mask(x, k)))
    return out


def make_f64_case(c):
    x = c["x"]
    z = [xi / c["tau"] for xi in x]
    y, lam = project(z, c["k"])
    M = max(1.0, max(abs(v) for v in z), abs(lam))
    return dict(name=c["name"] + " (f64)", x=x, k=c["k"], tau=c["tau"], y=y, tol=64 * EPS64 * M)


# ------------------------------------------------------------------ writers
HEADER = "generated by firmware/gen/gen.py at build time; do not edit"


def rs_f32(v):
    s = repr(f32(v))
    return s if ("." in s or "e" in s or "inf" in s or "nan" in s) else s + ".0"


def rs_f64(v):
    s = repr(float(v))
    return s if ("." in s or "e" in s) else s + ".0"


def c_f32(v):
    return float(f32(v)).hex() + "f"


def c_f64(v):
    return float(v).hex()


def arr(vals, fmt, per=6):
    items = [fmt(v) for v in vals]
    lines = [", ".join(items[i:i + per]) for i in range(0, len(items), per)]
    return "\n        " + ",\n        ".join(lines) + ",\n    "


def write_rust(path, cases, topk, c64):
    o = ["// " + HEADER + ".", "// Tolerances: see the docstring of gen.py.", ""]
    o.append("""/// One soft case: forward, VJP and loss on fixed f32 inputs.
pub struct SoftCase {
    pub name: &'static str,
    pub x: &'static [f32],
    pub k: f64,
    pub tau: f32,
    pub y: &'static [f32],
    pub lambda: f64,
    pub free: usize,
    pub upper: usize,
    pub tol_y: f32,
    pub tol_sum: f64,
    pub g: &'static [f32],
    pub vjp: &'static [f32],
    pub tol_vjp: f32,
    pub t: &'static [f32],
    pub loss_k: f64,
    pub loss: f32,
    pub loss_grad: &'static [f32],
    pub tol_loss: f32,
    pub tol_loss_grad: f32,
    pub topk_k: f64,
    pub mask: &'static [f32],
}

/// One hard top-k case.
pub struct TopkCase {
    pub name: &'static str,
    pub x: &'static [f32],
    pub k: f64,
    pub mask: &'static [f32],
}

/// One f64 forward case.
pub struct SoftCase64 {
    pub name: &'static str,
    pub x: &'static [f64],
    pub k: f64,
    pub tau: f64,
    pub y: &'static [f64],
    pub tol: f64,
}
""")
    for i, c in enumerate(cases):
        n = c["n"]
        for key in ("x", "y", "g", "vjp", "t", "loss_grad", "mask"):
            o.append("static S%d_%s: [f32; %d] = [%s];" % (i, key.upper(), n, arr(c[key], rs_f32)))
    o.append("")
    o.append("pub static SOFT: [SoftCase; %d] = [" % len(cases))
    for i, c in enumerate(cases):
        o.append("""    SoftCase {
        name: "%s",
        x: &S%d_X,
        k: %s,
        tau: %s,
        y: &S%d_Y,
        lambda: %s,
        free: %d,
        upper: %d,
        tol_y: %s,
        tol_sum: %s,
        g: &S%d_G,
        vjp: &S%d_VJP,
        tol_vjp: %s,
        t: &S%d_T,
        loss_k: %s,
        loss: %s,
        loss_grad: &S%d_LOSS_GRAD,
        tol_loss: %s,
        tol_loss_grad: %s,
        topk_k: %s,
        mask: &S%d_MASK,
    },""" % (c["name"], i, rs_f64(c["k"]), rs_f32(c["tau"]), i, rs_f64(c["lam"]), c["free"], c["upper"],
              rs_f32(c["tol_y"]), rs_f64(c["tol_sum"]), i, i, rs_f32(c["tol_vjp"]), i, rs_f64(c["loss_k"]),
              rs_f32(c["loss"]), i, rs_f32(c["tol_loss"]), rs_f32(c["tol_loss_grad"]),
              rs_f64(c["topk_k"]), i))
    o.append("];")
    o.append("")
    o.append("static TIES_X: [f32; %d] = [%s];" % (len(topk[0]["x"]), arr(topk[0]["x"], rs_f32)))
    for i, t in enumerate(topk):
        o.append("static T%d_MASK: [f32; %d] = [%s];" % (i, len(t["mask"]), arr(t["mask"], rs_f32)))
    o.append("pub static TOPK: [TopkCase; %d] = [" % len(topk))
    for i, t in enumerate(topk):
        o.append("    TopkCase { name: \"%s\", x: &TIES_X, k: %s, mask: &T%d_MASK }," % (t["name"], rs_f64(t["k"]), i))
    o.append("];")
    o.append("")
    o.append("static F64_X: [f64; %d] = [%s];" % (len(c64["x"]), arr(c64["x"], rs_f64)))
    o.append("static F64_Y: [f64; %d] = [%s];" % (len(c64["y"]), arr(c64["y"], rs_f64)))
    o.append("pub static SOFT64: SoftCase64 = SoftCase64 { name: \"%s\", x: &F64_X, k: %s, tau: %s, y: &F64_Y, tol: %s };"
             % (c64["name"], rs_f64(c64["k"]), rs_f64(c64["tau"]), rs_f64(c64["tol"])))
    o.append("")
    with open(path, "w") as fh:
        fh.write("\n".join(o))


def write_c(path, cases, topk):
    o = ["/* " + HEADER + ". */", "/* Tolerances: see the docstring of gen.py. */",
         "#ifndef HS_FIRMWARE_EXPECTED_H", "#define HS_FIRMWARE_EXPECTED_H", "#include <stddef.h>", ""]
    o.append("""typedef struct {
    const char *name;
    size_t n;
    const float *x;
    double k;
    float tau;
    const float *y;
    size_t free, upper;
    float tol_y;
    double tol_sum;
    const float *g, *vjp;
    float tol_vjp;
    const float *t;
    double loss_k;
    float loss;
    const float *loss_grad;
    float tol_loss, tol_loss_grad;
    size_t topk_k;
    const float *mask;
} soft_case_t;

typedef struct {
    const char *name;
    size_t n;
    const float *x;
    size_t k;
    const float *mask;
} topk_case_t;
""")
    for i, c in enumerate(cases):
        n = c["n"]
        for key in ("x", "y", "g", "vjp", "t", "loss_grad", "mask"):
            o.append("static const float s%d_%s[%d] = {%s};" % (i, key, n, arr(c[key], c_f32)))
    o.append("")
    o.append("static const soft_case_t SOFT[%d] = {" % len(cases))
    for i, c in enumerate(cases):
        o.append("""    {"%s", %d, s%d_x, %s, %s, s%d_y, %d, %d, %s, %s,
     s%d_g, s%d_vjp, %s, s%d_t, %s, %s, s%d_loss_grad, %s, %s, %d, s%d_mask},""" % (
            c["name"], c["n"], i, c_f64(c["k"]), c_f32(c["tau"]), i, c["free"], c["upper"],
            c_f32(c["tol_y"]), c_f64(c["tol_sum"]), i, i, c_f32(c["tol_vjp"]), i, c_f64(c["loss_k"]),
            c_f32(c["loss"]), i, c_f32(c["tol_loss"]), c_f32(c["tol_loss_grad"]), c["topk_k"], i))
    o.append("};")
    o.append("#define N_SOFT %d" % len(cases))
    o.append("")
    o.append("static const float ties_x[%d] = {%s};" % (len(topk[0]["x"]), arr(topk[0]["x"], c_f32)))
    for i, t in enumerate(topk):
        o.append("static const float t%d_mask[%d] = {%s};" % (i, len(t["mask"]), arr(t["mask"], c_f32)))
    o.append("static const topk_case_t TOPK[%d] = {" % len(topk))
    for i, t in enumerate(topk):
        o.append('    {"%s", %d, ties_x, %d, t%d_mask},' % (t["name"], len(t["x"]), t["k"], i))
    o.append("};")
    o.append("#define N_TOPK %d" % len(topk))
    o.append("")
    o.append("#endif")
    o.append("")
    with open(path, "w") as fh:
        fh.write("\n".join(o))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rust")
    ap.add_argument("--c")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args()
    cases = make_cases()
    topk = make_topk_cases()
    c64 = make_f64_case(cases[1])
    if a.rust:
        write_rust(a.rust, cases, topk, c64)
    if a.c:
        write_c(a.c, cases, topk)
    for c in cases if not a.quiet else []:
        sys.stderr.write("%s: lam=%.6f free=%d upper=%d loss=%.6f\n"
                         % (c["name"], c["lam"], c["free"], c["upper"], c["loss"]))


if __name__ == "__main__":
    main()
