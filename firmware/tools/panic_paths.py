#!/usr/bin/env python3
"""Explains a failed no-panic link: lists every call into the panic machinery that survives in
an image linked with the panic symbol defined (diagnostic build), with the chain of callers up
to the library function it is reachable from, and the source lines of each call site
(addr2line, inlined frames included).

Usage: python3 panic_paths.py ELF
"""
import re
import subprocess
import sys

PANIC = re.compile(r"^(core::panicking::|core::slice::index::|core::result::unwrap_failed|"
                   r"core::option::(unwrap_failed|expect_failed)|__rustc::rust_begin_unwind|"
                   r"rust_begin_unwind|core::.*::do_panic|core::.*_fail\b)")


def main():
    elf = sys.argv[1]
    dis = subprocess.run(["arm-none-eabi-objdump", "-d", "-C", "--no-show-raw-insn", elf],
                         capture_output=True, text=True, check=True).stdout
    callers = {}  # callee -> [(caller, call address)]
    cur = None
    for line in dis.splitlines():
        m = re.match(r"^([0-9a-f]+) <(.+)>:\s*$", line)
        if m:
            cur = m.group(2)
            continue
        m = re.match(r"^\s+([0-9a-f]+):\s+(bl|b\.w|b|blx)\s+[0-9a-f]+ <(.+)>\s*$", line)
        if m and cur:
            callee = re.sub(r"\+0x[0-9a-f]+$", "", m.group(3))
            if callee != cur:
                callers.setdefault(callee, []).append((cur, int(m.group(1), 16)))
    sinks = [f for f in callers if PANIC.search(f)]
    if not sinks:
        print("no call into the panic machinery found")
        return 0
    seen = set()
    found = 0
    for sink in sinks:
        for caller, addr in callers.get(sink, []):
            if PANIC.search(caller) or (caller, addr) in seen:
                continue
            seen.add((caller, addr))
            found += 1
            chain, f = [caller], caller
            for _ in range(12):  # walk up to a public entry point
                ups = [c for c, _ in callers.get(f, []) if c not in chain]
                if not ups:
                    break
                f = ups[0]
                chain.append(f)
            src = subprocess.run(["arm-none-eabi-addr2line", "-e", elf, "-i", "-f", "-C", hex(addr)],
                                 capture_output=True, text=True).stdout.strip().splitlines()
            print("panic path: %s -> %s" % (caller[:120], sink[:80]))
            print("  reached from: %s" % " <- ".join(c[:80] for c in chain[1:]) or "  (entry)")
            for i in range(0, len(src) - 1, 2):
                print("  at %s  (%s)" % (src[i + 1], src[i][:100]))
    print("%d call site(s) into the panic machinery" % found)
    return 1


if __name__ == "__main__":
    sys.exit(main())
