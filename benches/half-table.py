#!/usr/bin/env python3
"""The README's half-precision speed rows from the criterion results of
`cargo bench -p hypersimplex-benches --bench half` (target/criterion/half-forward_*):
median time per call of the f32 forward, and each half id's median as a ratio to it."""
import json
import pathlib
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")
IDS = ["bf16", "f16", "bf16-roundtrip", "f16-roundtrip"]


def median(group, bench_id):
    p = root / group / bench_id / "new" / "estimates.json"
    return json.loads(p.read_text())["median"]["point_estimate"]  # ns


print("| rows × n | f32 | bf16 | f16 | f32 round trip + f32 (bf16 / f16) |")
print("|---|---:|---:|---:|---:|")
for group, label in [("half-forward_10x8192", "10 × 8192"),
                     ("half-forward_1x10000000", "1 × 10^7")]:
    try:
        f = median(group, "f32")
        r = {i: median(group, i) / f for i in IDS}
    except FileNotFoundError as e:
        print(f"missing: {e.filename}", file=sys.stderr)
        continue
    t = f"{f / 1e6:.3f} ms"
    print(f"| {label} | {t} | {r['bf16']:.2f}× | {r['f16']:.2f}× | "
          f"{r['bf16-roundtrip']:.2f}× / {r['f16-roundtrip']:.2f}× |")

# The other groups (rows, VJP, losses): the f32 median and every other id as a ratio to it.
print()
print("| group | f32 | bf16 | f16 | others (ratio to f32) |")
print("|---|---:|---:|---:|---|")
for d in sorted(root.glob("half-*")):
    group = d.name
    if group.startswith("half-forward_") or not (d / "f32").is_dir():
        continue
    try:
        f = median(group, "f32")
        ids = sorted(p.name for p in d.iterdir() if (p / "new" / "estimates.json").is_file())
        r = {i: median(group, i) / f for i in ids if i != "f32"}
    except FileNotFoundError as e:
        print(f"missing: {e.filename}", file=sys.stderr)
        continue
    others = ", ".join(f"{i} {v:.2f}×" for i, v in r.items() if i not in ("bf16", "f16"))
    label = group.replace("half-", "").replace("_", " ")
    print(f"| {label} | {f / 1e6:.3f} ms | {r.get('bf16', float('nan')):.2f}× | "
          f"{r.get('f16', float('nan')):.2f}× | {others} |")
