#!/usr/bin/env python3
"""Static worst-case stack bound of functions in a Thumb-2 image, from its disassembly.

Each function's frame is read from its prologue (push / stmdb sp! / vpush / sub sp, #N /
subw sp); the bound of a function is its frame plus the largest bound among the functions it
calls (`bl`, and tail calls `b.w`/`b` to another function, counted as if nested, which
over-estimates). The library has no recursion and no indirect calls; either one is reported
and makes the bound unknown. This complements the stack painting in the firmware, which
measures the paths the test inputs take.

Usage: arm-none-eabi-objdump -d -C --no-show-raw-insn ELF | python3 stack_bound.py REGEX...
Prints one line per function whose name matches a REGEX.
"""
import re
import sys


def regs_bytes(lst):
    n = 0
    for r in lst.split(","):
        r = r.strip()
        if "-" in r:
            a, b = r.split("-")
            width = 8 if a.startswith("d") else 4
            n += (int(b[1:]) - int(a[1:]) + 1) * width
        elif r:
            n += 8 if r.startswith("d") else 4
    return n


def main():
    funcs, order, cur = {}, [], None
    for line in sys.stdin:
        m = re.match(r"^([0-9a-f]+) <(.+)>:\s*$", line)
        if m:
            cur = m.group(2)
            funcs[cur] = {"frame": 0, "calls": set(), "indirect": False, "prologue": True}
            order.append(cur)
            continue
        m = re.match(r"^\s+[0-9a-f]+:\s+(\S+)\s*(.*)$", line)
        if not m or cur is None:
            continue
        mn, ops = m.group(1), m.group(2)
        f = funcs[cur]
        if f["prologue"]:
            if re.match(r"^(push(\.w)?|stmdb(\.w)?)$", mn) and (mn.startswith("push") or ops.startswith("sp!")):
                f["frame"] += regs_bytes(re.search(r"\{(.*)\}", ops).group(1))
                continue
            if mn == "vpush":
                f["frame"] += regs_bytes(re.search(r"\{(.*)\}", ops).group(1))
                continue
            ms = re.match(r"^(sub|subw|sub\.w)$", mn) and re.match(r"^sp,\s*(?:sp,\s*)?#(\d+)", ops)
            if ms:
                f["frame"] += int(ms.group(1))
                continue
            if mn.startswith("str") and ops.rstrip().endswith("]!") and "[sp, #-" in ops:
                f["frame"] += int(re.search(r"#-(\d+)", ops).group(1))
                continue
        if re.match(r"^(sub|subw|sub\.w)$", mn) and re.match(r"^sp,", ops):
            f["frame"] += int(re.search(r"#(\d+)", ops).group(1)) if "#" in ops else 10**6
        if mn in ("bl", "b.w", "b") or re.match(r"^b(\.w)?$", mn):
            t = re.match(r"^[0-9a-f]+\s+<(.+)>\s*$", ops)
            if t:
                name = t.group(1)
                if not re.search(r"\+0x[0-9a-f]+$", name) and name != cur:
                    f["calls"].add(name)
        elif mn == "blx" and not ops.startswith(("0", "1", "2", "3", "4", "5", "6", "7", "8", "9")):
            f["indirect"] = True
        if f["prologue"] and not re.match(r"^(push|stmdb|vpush|sub|subw|add|mov|movs|ldr|str)", mn):
            f["prologue"] = False

    memo, stack = {}, []

    def bound(name):
        if name in memo:
            return memo[name]
        if name in stack:
            return None  # recursion
        f = funcs.get(name)
        if f is None:
            return 0
        if f["indirect"]:
            return None
        stack.append(name)
        best, path = 0, []
        for c in f["calls"]:
            b = bound(c)
            if b is None:
                stack.pop()
                memo[name] = None
                return None
            if b[0] > best:
                best, path = b[0], [c] + b[1]
        stack.pop()
        memo[name] = (f["frame"] + best, path)
        return memo[name]

    pats = [re.compile(p) for p in sys.argv[1:]]
    ok = True
    for name in order:
        if any(p.search(name) for p in pats):
            b = bound(name)
            if b is None:
                ok = False
                print("  %-36s unknown (recursion or indirect call)" % name)
            else:
                chain = " > ".join(["%s(%d)" % (n[:48], funcs[n]["frame"]) for n in [name] + b[1]])
                print("  static bound %5d bytes  %s\n      deepest path: %s" % (b[0], name, chain))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
