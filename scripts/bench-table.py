#!/usr/bin/env python3
"""Markdown table of criterion results in ns per element (python3 stdlib only).

Usage: python3 scripts/bench-table.py [CRITERION_DIR]   (default: target/criterion)

Reads every CRITERION_DIR/<group>/<function>/new/{benchmark.json,estimates.json} written by
`cargo bench -p hypersimplex-benches --bench core`, takes the median time per iteration and
the throughput in elements, and prints one row per (group, function) for every function that
is not a yardstick, with the group's `memcpy` and `sort` yardsticks (measured in the same run)
beside it:

  time/memcpy  = how many memcpys of the same bytes the operation costs (lower is better)
  sort/time    = speed-up over the sort-based projection (higher is better)

Groups are named "<op>/<rows>x<n>" (e.g. forward/10x8192); rows are ordered by op, then size.
"""
import json
import os
import sys

YARDSTICKS = ("memcpy", "sort")
OP_ORDER = {"forward": 0, "backward": 1, "forward+backward": 2, "multiclass": 3}


def load(root):
    """{group_id: {function_id: (ns_per_iter_median, elements)}}"""
    groups = {}
    if not os.path.isdir(root):
        sys.exit(f"bench-table: no criterion output under {root!r}; run the benches first")
    for dirpath, _dirs, files in os.walk(root):
        if os.path.basename(dirpath) != "new" or "estimates.json" not in files:
            continue
        try:
            with open(os.path.join(dirpath, "benchmark.json")) as f:
                bench = json.load(f)
            with open(os.path.join(dirpath, "estimates.json")) as f:
                est = json.load(f)
        except (OSError, ValueError) as e:
            print(f"bench-table: skipping {dirpath}: {e}", file=sys.stderr)
            continue
        thr = bench.get("throughput") or {}
        elems = thr.get("Elements") or thr.get("elements")
        if not elems:
            continue
        group = bench.get("group_id", "?")
        func = bench.get("function_id") or bench.get("value_str") or "?"
        groups.setdefault(group, {})[func] = (est["median"]["point_estimate"], elems)
    return groups


def sort_key(group):
    op, _, shape = group.partition("/")
    try:
        rows, n = (int(v) for v in shape.split("x"))
    except ValueError:
        rows, n = 0, 0
    return (OP_ORDER.get(op, 99), op, rows * n, rows, group)


def fmt_ns(v):
    if v is None:
        return "–"
    return f"{v:.3g}" if v < 100 else f"{v:.0f}"


def fmt_ratio(v):
    if v is None:
        return "–"
    return f"{v:.2f}×" if v < 10 else f"{v:.1f}×" if v < 100 else f"{v:.0f}×"


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join("target", "criterion")
    groups = load(root)
    if not groups:
        sys.exit(f"bench-table: no benchmark results with element throughput under {root!r}")
    print("| group (rows×n) | function | ns/elem | memcpy ns/elem | sort ns/elem "
          "| time / memcpy | speed-up vs sort |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for group in sorted(groups, key=sort_key):
        funcs = groups[group]
        per_elem = {f: t / e for f, (t, e) in funcs.items()}
        mc, so = per_elem.get("memcpy"), per_elem.get("sort")
        for func in sorted(f for f in per_elem if f not in YARDSTICKS):
            v = per_elem[func]
            print(f"| {group} | {func} | {fmt_ns(v)} | {fmt_ns(mc)} | {fmt_ns(so)} "
                  f"| {fmt_ratio(v / mc if mc else None)} | {fmt_ratio(so / v if so else None)} |")
    print()
    print("Medians from criterion; ns per element = median time per iteration / elements. "
          "In backward groups `sort` is the sort-based *forward* projection of the same shape "
          "(for scale); memcpy copies n f32 (4n bytes read, 4n written).")


if __name__ == "__main__":
    main()
