#!/usr/bin/env python3
"""Turns the criterion results of `cargo bench -p hypersimplex-benches --bench simd` into a
table of ns/element (median) and the issue-4 target ratios.

Usage: python3 simd/bench-table.py [criterion_dir]   (default: $CARGO_TARGET_DIR or target, + /criterion)
"""
import json, os, sys

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "criterion")

def med(group, shape, ident):
    d = os.path.join(root, f"{group}_{shape}", ident, "new", "estimates.json")
    try:
        with open(d) as f:
            return json.load(f)["median"]["point_estimate"]  # ns
    except OSError:
        return None

shapes = ["10x8192", "1024x1024", "65536x10", "16384x32", "16384x64", "4096x256", "1x100000", "1x10000000"]
elems = {s: int(s.split("x")[0]) * int(s.split("x")[1]) for s in shapes}
ids = ["scalar", "simd-1t", "simd-all", "memcpy", "sort"]
print("ns per element (median), f32, tau=1.5, k=n/2\n")
print(f"| op | shape | {' | '.join(ids)} |")
print("|---|---|" + "---|" * len(ids))
for g, name in [("simd-forward", "forward"), ("simd-backward", "backward"), ("simd-fwdbwd", "fwd+bwd")]:
    for s in shapes:
        cells = []
        for i in ids:
            v = med(g, s, i)
            cells.append("" if v is None else f"{v / elems[s]:.3f}")
        print(f"| {name} | {s} | {' | '.join(cells)} |")
mc = "8192x10"
cells = []
for i in ids:
    v = med("simd-multiclass", mc, i)
    cells.append("" if v is None else f"{v / 81920:.3f}")
print(f"| multiclass loss+grad | {mc} | {' | '.join(cells)} |")

def ratio(a, b):
    return None if a is None or b is None else a / b

print("\nTargets (one thread unless stated):")
rows = [
    ("forward 10x8192: sort / simd-1t (>= 25, aim 50)", ratio(med("simd-forward", "10x8192", "sort"), med("simd-forward", "10x8192", "simd-1t")), lambda r: r >= 25),
    ("forward 1x10^7: simd-1t / memcpy (<= 3, aim 2)", ratio(med("simd-forward", "1x10000000", "simd-1t"), med("simd-forward", "1x10000000", "memcpy")), lambda r: r <= 3),
    ("backward 1x10^7: simd-1t / memcpy (<= 3, aim 2)", ratio(med("simd-backward", "1x10000000", "simd-1t"), med("simd-forward", "1x10000000", "memcpy")), lambda r: r <= 3),
    ("forward 1x10^5: scalar / simd-1t (>= 3)", ratio(med("simd-forward", "1x100000", "scalar"), med("simd-forward", "1x100000", "simd-1t")), lambda r: r >= 3),
    ("multiclass 8192x10 / fwd+bwd rows 10x8192, simd-1t (<= 2)", ratio(med("simd-multiclass", mc, "simd-1t"), med("simd-fwdbwd", "10x8192", "simd-1t")), lambda r: r <= 2),
    ("forward rows 1024x1024: simd-1t / simd-all (2 threads here; >= 1.7)", ratio(med("simd-forward", "1024x1024", "simd-1t"), med("simd-forward", "1024x1024", "simd-all")), lambda r: r >= 1.7),
    ("issue 14: forward 65536x10: simd-1t / memcpy (<= 6, aim 3)", ratio(med("simd-forward", "65536x10", "simd-1t"), med("simd-forward", "65536x10", "memcpy")), lambda r: r <= 6),
    ("issue 14: backward 65536x10: simd-1t / memcpy (<= 3)", ratio(med("simd-backward", "65536x10", "simd-1t"), med("simd-forward", "65536x10", "memcpy")), lambda r: r <= 3),
    ("issue 14: forward 65536x10: sort / simd-1t (>= 10)", ratio(med("simd-forward", "65536x10", "sort"), med("simd-forward", "65536x10", "simd-1t")), lambda r: r >= 10),
    ("issue 14: forward 16384x64: simd-1t / memcpy (<= 4)", ratio(med("simd-forward", "16384x64", "simd-1t"), med("simd-forward", "16384x64", "memcpy")), lambda r: r <= 4),
    ("issue 14: forward 4096x256: simd-1t / memcpy (<= 3)", ratio(med("simd-forward", "4096x256", "simd-1t"), med("simd-forward", "4096x256", "memcpy")), lambda r: r <= 3),
    ("forward 1x10^7: simd-all / memcpy (info)", ratio(med("simd-forward", "1x10000000", "simd-all"), med("simd-forward", "1x10000000", "memcpy")), lambda r: True),
    ("backward 1x10^7: simd-all / memcpy (info)", ratio(med("simd-backward", "1x10000000", "simd-all"), med("simd-forward", "1x10000000", "memcpy")), lambda r: True),
]
for name, r, ok in rows:
    print(f"- {name}: " + ("missing" if r is None else f"{r:.2f}  {'MET' if ok(r) else 'NOT MET'}"))
