#!/usr/bin/env python3
"""Checks that the per-element loops of a function (and of everything it calls) make no call to
the software double-precision routines (__aeabi_d*, __adddf3, ...).

Reads `arm-none-eabi-objdump -d -C --no-show-raw-insn ELF` on stdin. Starting from the
functions whose demangled name matches ENTRY (a regex), follows `bl`/`b.w` calls to the other
functions of the image (the compiler's runtime routines are leaves). In every function reached,
a loop is a backward branch to an address inside the same function; the loop body is
the instructions on a control-flow path from the target back to the branch. A loop whose body
calls another library function (a pass over the data: the solver's Newton iterations) is a
per-pass loop and may call software-double routines once per pass; every other loop is a
per-element loop and must not call them.

Usage: objdump ... | python3 loops.py ENTRY [--expect-dcalls]
  --expect-dcalls: the control: succeed only if some per-element loop DOES call a software
  double routine (used on the f64 instance, to show the check can fail).
Exit status 0 on success, 1 otherwise.
"""
import re
import sys

SOFT_DOUBLE = re.compile(r"^(__aeabi_d\w*|__aeabi_[fil]2d|__aeabi_[ui]l2d|__aeabi_[ui]2d|__\w+df\d?)$")
RUNTIME = re.compile(r"^(__aeabi_\w+|__\w+[sd]f\d?|mem(cpy|set|move|cmp)\w*|__(ARM|arm)\w*)$")
FP32 = re.compile(r"^v(add|sub|mul|div|mla|mls|nmul|fma|cmp|cmpe|abs|neg|sqrt|min|max|sel\w*)\.f32$")


def parse(lines):
    funcs = {}  # name -> list of (addr, mnemonic, operands)
    starts = {}
    cur = None
    for line in lines:
        m = re.match(r"^([0-9a-f]+) <(.+)>:\s*$", line)
        if m:
            cur = m.group(2)
            funcs[cur] = []
            starts[int(m.group(1), 16)] = cur
            continue
        m = re.match(r"^\s+([0-9a-f]+):\s+(\S+)\s*(.*)$", line)
        if m and cur is not None:
            funcs[cur].append((int(m.group(1), 16), m.group(2), m.group(3)))
    return funcs, starts


def target_of(ops):
    m = re.match(r"^([0-9a-f]+)\s+<(.+)>\s*$", ops)
    if not m:
        return None, None, None
    name, off = m.group(2), None
    mo = re.match(r"^(.*)(\+0x[0-9a-f]+)$", name)
    if mo:
        name, off = mo.group(1), mo.group(2)
    return int(m.group(1), 16), name, off


COND = r"(eq|ne|cs|cc|hs|lo|mi|pl|vs|vc|hi|ls|ge|lt|gt|le)"


def successors(body):
    """Control-flow successors (indices) of each instruction of one function."""
    index = {addr: i for i, (addr, _, _) in enumerate(body)}
    succ = []
    for i, (addr, mn, ops) in enumerate(body):
        nxt = [i + 1] if i + 1 < len(body) else []
        t, _, _ = target_of(ops)
        tgt = [index[t]] if t in index else []
        if re.match(r"^b(\.n|\.w)?$", mn):  # unconditional branch (or tail call)
            succ.append(tgt)
        elif re.match(r"^(b%s(\.n|\.w)?|cbn?z)$" % COND, mn):
            succ.append(nxt + tgt)
        elif re.match(r"^(pop(\.w)?|ldm(ia)?(\.w)?)$", mn) and "pc" in ops:
            succ.append([])
        elif mn == "bx" and "lr" in ops:
            succ.append([])
        elif mn.startswith("tb"):  # jump table: any later instruction
            succ.append(list(range(i + 1, len(body))))
        else:  # calls, conditional returns inside IT blocks, everything else
            succ.append(nxt)
    return succ


def reach(start, edges):
    seen, todo = {start}, [start]
    while todo:
        for j in edges[todo.pop()]:
            if j not in seen:
                seen.add(j)
                todo.append(j)
    return seen


def find_loops(body):
    """Natural-ish loops: back edges i -> t (t <= i) with a path t ->* i; body = the
    instructions on some path from t to i."""
    succ = successors(body)
    pred = [[] for _ in body]
    for i, ss in enumerate(succ):
        for j in ss:
            pred[j].append(i)
    loops = []
    for i, ss in enumerate(succ):
        for t in ss:
            if t <= i:
                fwd = reach(t, succ)
                if i in fwd:
                    loops.append((t, i, frozenset(fwd & reach(i, pred))))
    return loops


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    entry = re.compile(sys.argv[1])
    expect_d = "--expect-dcalls" in sys.argv[2:]
    funcs, _ = parse(sys.stdin)
    roots = [f for f in funcs if entry.search(f)]
    if not roots:
        print("loops.py: no function matches %r" % sys.argv[1])
        return 1
    seen, todo = set(), list(roots)
    while todo:
        f = todo.pop()
        if f in seen or f not in funcs:
            continue
        seen.add(f)
        for _, mn, ops in funcs[f]:
            if mn in ("bl", "b.w", "b") or mn.startswith("b"):
                _, name, off = target_of(ops)
                if name and name != f and not off and not RUNTIME.match(name):
                    todo.append(name)
    bad = 0
    inner_with_d = 0
    print("entry %s: %d functions reached" % (", ".join(roots), len(seen)))
    loops_of = {f: find_loops(funcs[f]) for f in seen}
    callees = {f: {target_of(ops)[1] for _, mn, ops in funcs[f] if mn in ("bl", "blx")} & seen for f in seen}
    # functions that loop over data themselves or through a callee
    looping = {f for f in seen if loops_of[f]}
    changed = True
    while changed:
        changed = False
        for f in seen:
            if f not in looping and callees[f] & looping:
                looping.add(f)
                changed = True
    for f in sorted(seen):
        body = funcs[f]
        for (t, i, members) in loops_of[f]:
            calls = {}
            nfp32 = 0
            for j in sorted(members):
                _, mn, ops = body[j]
                if mn in ("bl", "blx"):
                    _, name, _ = target_of(ops)
                    calls[name] = calls.get(name, 0) + 1
                if FP32.match(mn):
                    nfp32 += 1
            per_pass = any(name in looping for name in calls)
            dcalls = {k: v for k, v in calls.items() if k and SOFT_DOUBLE.match(k)}
            kind = "pass" if per_pass else "elem"
            status = ""
            if not per_pass and dcalls:
                inner_with_d += 1
                status = "  <-- software double in a per-element loop"
                if not expect_d:
                    bad += 1
            print("  %s loop %06x-%06x (%3d insns, %2d f32 FPU ops) in %s; calls: %s%s"
                  % (kind, body[t][0], body[i][0], len(members), nfp32, f[:100],
                     ", ".join("%s x%d" % (k[:60], v) for k, v in sorted(calls.items(), key=lambda kv: str(kv[0])))
                     or "none", status))
    if expect_d:
        ok = inner_with_d > 0
        print("control: %d per-element loop(s) call software double routines (expected > 0): %s"
              % (inner_with_d, "ok" if ok else "FAILED"))
        return 0 if ok else 1
    print("%d per-element loop(s) call software double routines (expected 0)" % bad)
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
