#!/usr/bin/env python3
"""Sums the flash (.text + .rodata input sections) a GNU ld map file attributes to one static
library, split by the object it came from: the library crate itself (the C ABI and the inlined
core code), libcore, compiler_builtins (software floating point, memcpy/memset), other.

Usage: python3 mapsize.py MAPFILE LIBNAME(e.g. libhypersimplex.a)
"""
import re
import sys


def main():
    path, lib = sys.argv[1], sys.argv[2]
    text = open(path).read()
    start = text.find("Linker script and memory map")
    text = text[start:]
    # input section lines:  " .text.foo  0xADDR  0xSIZE  /path/lib.a(member.o)", possibly wrapped
    pat = re.compile(r"^ (\.(?:text|rodata)[^\s]*)\s*\n?\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S+)$", re.M)
    groups = {}
    syms = []
    for m in pat.finditer(text):
        sec, addr, size, src = m.group(1), int(m.group(2), 16), int(m.group(3), 16), m.group(4)
        if addr == 0 or size == 0 or lib not in src:
            continue
        member = src[src.find("(") + 1:-1] if "(" in src else src
        if member.startswith("compiler_builtins"):
            g = "compiler_builtins (soft-float, mem*)"
        elif member.startswith("core-"):
            g = "libcore"
        elif member.startswith("hypersimplex"):
            g = "hypersimplex (ffi + core crate)"
        else:
            g = "other: " + member
        kind = "rodata" if sec.startswith(".rodata") else "text"
        groups.setdefault(g, {"text": 0, "rodata": 0})[kind] += size
        syms.append((size, sec, g))
    total = 0
    for g, v in sorted(groups.items()):
        print("  %-40s text %6d  rodata %5d" % (g, v["text"], v["rodata"]))
        total += v["text"] + v["rodata"]
    print("  %-40s %d bytes" % ("total from " + lib, total))
    for size, sec, g in sorted(syms, reverse=True)[:int(sys.argv[3]) if len(sys.argv) > 3 else 0]:
        print("    %6d  %s" % (size, sec[:110]))


if __name__ == "__main__":
    main()
