#!/usr/bin/env python3
"""Turns the criterion results of `cargo bench -p hypersimplex-benches --bench simd` into a
table of ns/element (median) and the issue-4 target ratios; with the `abi` bench's results
(issue 14, the C ABI rows functions) also their table and targets.

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
def elems_of(s):
    # "RxN", or "RxNkK" (the abi suite's shapes with k = K)
    r, n = s.split("x")
    return int(r) * int(n.split("k")[0])

elems = {s: elems_of(s) for s in shapes}
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

# Issue 14 through the C ABI (`cargo build --release -p hypersimplex-ffi && cargo bench -p
# hypersimplex-benches --bench abi`): hs_soft_binary_argmax_rows_f32 / _vjp_rows_f32, k array.
abi_shapes = ["1x10", "256x10", "65536x10", "65536x10k1", "16384x32", "16384x64", "16384x64k1", "4096x256", "4096x256k4", "10x8192", "1024x1024", "1x10000000"]
if any(med("abi-forward", s, "c-1t") is not None for s in abi_shapes):
    aids = ["c-1t", "c-2t", "memcpy", "sort"]
    print("\nC ABI rows functions, ns per element (median), f32, tau=1.5, k=n/2 (RxNkK: k=K); ratios to memcpy and sort of the same run\n")
    print(f"| op | shape | {' | '.join(aids)} | 1t / memcpy | sort / 1t | 1t / 2t |")
    print("|---|---|" + "---:|" * (len(aids) + 3))
    for g, name in [("abi-forward", "forward"), ("abi-backward", "VJP")]:
        for s in abi_shapes:
            v = {i: med(g, s, i) for i in aids}
            mc = v["memcpy"] if v["memcpy"] is not None else med("abi-forward", s, "memcpy")
            cells = ["" if v[i] is None else f"{v[i] / elems_of(s):.3f}" for i in aids]
            r1 = ratio(v["c-1t"], mc)
            r2 = ratio(v["sort"], v["c-1t"])
            r3 = ratio(v["c-1t"], v["c-2t"])
            f = lambda r, u: "" if r is None else f"{r:.2f}{u}"
            print(f"| {name} | {s} | {' | '.join(cells)} | {f(r1, '×')} | {f(r2, '×')} | {f(r3, '×')} |")
    print("\nIssue 14 targets (C ABI, one thread unless stated):")
    a = lambda g, s, i: med(g, s, i)
    for name, r, ok in [
        ("forward 65536x10 / memcpy (<= 6, aim 3)", ratio(a("abi-forward", "65536x10", "c-1t"), a("abi-forward", "65536x10", "memcpy")), lambda r: r <= 6),
        ("VJP 65536x10 / memcpy (<= 3, aim 2)", ratio(a("abi-backward", "65536x10", "c-1t"), a("abi-backward", "65536x10", "memcpy")), lambda r: r <= 3),
        ("sort / forward 65536x10 (>= 10)", ratio(a("abi-forward", "65536x10", "sort"), a("abi-forward", "65536x10", "c-1t")), lambda r: r >= 10),
        ("forward 16384x64 / memcpy (<= 4)", ratio(a("abi-forward", "16384x64", "c-1t"), a("abi-forward", "16384x64", "memcpy")), lambda r: r <= 4),
        ("forward 4096x256 / memcpy (<= 3)", ratio(a("abi-forward", "4096x256", "c-1t"), a("abi-forward", "4096x256", "memcpy")), lambda r: r <= 3),
        ("forward 65536x10: 1 thread / 2 threads (>= 1.7)", ratio(a("abi-forward", "65536x10", "c-1t"), a("abi-forward", "65536x10", "c-2t")), lambda r: r >= 1.7),
    ]:
        print(f"- {name}: " + ("missing" if r is None else f"{r:.2f}  {'MET' if ok(r) else 'NOT MET'}"))
