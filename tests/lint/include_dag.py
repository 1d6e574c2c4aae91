#!/usr/bin/env python3
"""The include graph of src/ must be a DAG (issue 11).

A module is a .c/.h pair named alike; `#include "x.h"` in either file is an edge from the module
to x. Prints the modules from the top (nothing includes them) down to the leaves, each with what
it includes, then any cycle; exits 1 when there is one.

Usage: include_dag.py SRC_DIR
"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def graph(src):
    edges = {}
    for name in sorted(os.listdir(src)):
        stem, ext = os.path.splitext(name)
        if ext not in (".c", ".h"):
            continue
        with open(os.path.join(src, name), encoding="utf-8") as f:
            text = f.read()
        deps = edges.setdefault(stem, set())
        for inc in INCLUDE.findall(text):
            dep = os.path.splitext(os.path.basename(inc))[0]
            if dep != stem:
                deps.add(dep)
    for deps in list(edges.values()):
        for d in deps:
            edges.setdefault(d, set())
    return edges


def find_cycle(edges):
    """A list of modules forming a cycle, or None."""
    state, stack = {}, []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for d in sorted(edges[m]):
            if state.get(d) == 1:
                return stack[stack.index(d):] + [d]
            if d not in state:
                found = visit(d)
                if found:
                    return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(edges):
        if m not in state:
            found = visit(m)
            if found:
                return found
    return None


def levels(edges):
    """Height of each module: leaves 0, else 1 + the highest module it includes."""
    memo = {}

    def h(m, seen=()):
        if m in memo:
            return memo[m]
        if m in seen:
            return 0
        memo[m] = 1 + max((h(d, seen + (m,)) for d in edges[m]), default=-1)
        return memo[m]

    return {m: h(m) for m in edges}


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "src")
    edges = graph(src)
    height = levels(edges)
    for m in sorted(edges, key=lambda m: (-height[m], m)):
        print("%2d %-16s -> %s" % (height[m], m, ", ".join(sorted(edges[m])) or "-"))
    cycle = find_cycle(edges)
    if cycle:
        print("include cycle: " + " -> ".join(cycle))
        print("0 passed, 1 failed")
        return 1
    print("include graph of %d modules is acyclic" % len(edges))
    print("1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
