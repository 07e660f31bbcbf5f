"""No import cycles between a crate's modules: each crate's modules form a one-way house.

Every `use crate::a::b…` (and `crate::a::…` paths in code) inside module `m` is an edge from `m` to
`a`, at the granularity of the crate's top-level modules (`src/<name>.rs` or `src/<name>/`), plus
one level inside a folder module (`policy/native.rs` → `policy::native`) where that inner module
imports another top-level module. A cycle among them — `policy → replicate → policy` — fails, with
the lines that make it. Test modules (`tests.rs`, `#[cfg(test)]` blocks) are left out: a test may
reach anywhere.

Usage: python tests/lint/import_cycles.py CRATE_SRC [CRATE_SRC ...]   (e.g. shared/core/src)
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from pathlib import Path

USE = re.compile(r"\bcrate::([a-z_][a-z0-9_]*)")


def module_of(src: Path, path: Path) -> str | None:
    rel = path.relative_to(src)
    if rel.parts[0] in ("lib.rs", "main.rs"):
        return None
    return rel.parts[0].removesuffix(".rs")


def code_lines(path: Path):
    """The file's lines outside the item each `#[cfg(test)]` introduces (to its closing brace)."""
    if path.name == "tests.rs" or "tests" in path.parts[:-1]:
        return
    skipping, depth, opened = False, 0, False
    for number, line in enumerate(path.read_text().splitlines(), 1):
        stripped = line.strip()
        if stripped == "#[cfg(test)]":
            skipping, depth, opened = True, 0, False
            continue
        if skipping:
            depth += line.count("{") - line.count("}")
            opened = opened or "{" in line
            if (opened and depth <= 0) or (not opened and stripped.endswith(";")):
                skipping = False
            continue
        if stripped.startswith("//"):
            continue
        yield number, line


def edges(src: Path) -> dict[tuple[str, str], list[str]]:
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in sorted(src.rglob("*.rs")):
        here = module_of(src, path)
        if here is None:
            continue
        for number, line in code_lines(path):
            for there in USE.findall(line):
                if there != here:
                    found[(here, there)].append(f"{path}:{number}: {line.strip()}")
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main(sources: list[str]) -> int:
    failed = 0
    for source in sources:
        src = Path(source)
        found = edges(src)
        graph: dict[str, set[str]] = defaultdict(set)
        for a, b in found:
            graph[a].add(b)
        bad = cycles(graph)
        modules = {m for pair in found for m in pair}
        print(f"{src}: {len(modules)} modules, {len(found)} imports between them, {len(bad)} cycle(s)")
        for component in bad:
            failed += 1
            print(f"  CYCLE  {' ⇄ '.join(component)}")
            for a in component:
                for b in component:
                    for where in found.get((a, b), [])[:3]:
                        print(f"    {a} → {b}  {where}")
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(sys.argv[1:]))
