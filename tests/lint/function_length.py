"""No production function longer than 60 lines, as a ratchet: a function that grows past the
limit fails `make lint`; the functions already past it when the rule came are listed in
tests/lint/function_length_allowed.txt with their length then, and may only shrink — one that
grows fails, and one back within the limit (or gone) must leave the list (the list only ever
shrinks). A function's length runs from its `fn` line to its closing brace, rustfmt's layout
(`cargo fmt --check` runs first). Test code is left out: `tests.rs` files and inline
`#[cfg(test)] mod … {` blocks. Two functions of one name in a file are `name` and `name#2`. Read
as text, not parsed: a line holding `}` at a function's own indentation inside a multi-line raw
string would end it early (rustfmt's layout makes that rare; none today).

Usage: python tests/lint/function_length.py ALLOWED_LIST SRC [SRC ...]
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

LIMIT = 60
FN = re.compile(
    r"^(\s*)(?:pub(?:\([^)]*\))?\s+)?(?:const\s+)?(?:async\s+)?(?:unsafe\s+)?"
    r"(?:extern\s+\"[^\"]*\"\s+)?fn\s+(\w+)"
)


def production_lines(path: Path) -> list[str]:
    """The file's lines, less its inline `#[cfg(test)] mod … {` block (a `mod tests;` declaration
    names a file of its own, left out by name)."""
    lines = path.read_text(encoding="utf-8").split("\n")
    for i, line in enumerate(lines[:-1]):
        following = lines[i + 1].strip()
        if (
            line.strip() == "#[cfg(test)]"
            and re.match(r"(pub(\([^)]*\))?\s+)?mod\s+\w+\s*\{$", following)
        ):
            return lines[:i]
    return lines


def functions(path: Path):
    """(name, first line, length) of each function with a body."""
    lines = production_lines(path)
    i = 0
    while i < len(lines):
        m = FN.match(lines[i])
        if not m:
            i += 1
            continue
        indent = len(m.group(1))
        j = i
        while j < len(lines) and "{" not in lines[j] and not lines[j].rstrip().endswith(";"):
            j += 1
        if j >= len(lines) or "{" not in lines[j]:
            i = j + 1  # a declaration without a body (a trait's)
            continue
        if lines[j].rstrip().endswith("}") and lines[j].count("{") == lines[j].count("}"):
            yield m.group(2), i + 1, j - i + 1  # a one-line body
            i = j + 1
            continue
        k = j + 1
        closing = " " * indent + "}"
        while k < len(lines) and not (lines[k].startswith(closing) and lines[k][: indent].strip() == ""
                                      and len(lines[k]) - len(lines[k].lstrip()) == indent):
            k += 1
        yield m.group(2), i + 1, k - i + 1
        i += 1


def measure(sources: list[str]) -> dict[str, int]:
    """`path::name` (`path::name#2` for a second function of that name in the file) → length, of
    every function over the limit."""
    found: dict[str, int] = {}
    for src in sources:
        if not Path(src).is_dir():
            raise SystemExit(f"{src}: no such source folder")
        for path in sorted(Path(src).rglob("*.rs")):
            if path.name == "tests.rs" or "tests" in path.relative_to(src).parts[:-1]:
                continue
            seen: dict[str, int] = {}
            for name, _line, length in functions(path):
                seen[name] = seen.get(name, 0) + 1
                if length > LIMIT:
                    key = f"{path}::{name}" + (f"#{seen[name]}" if seen[name] > 1 else "")
                    found[key] = length
    return found


def main(allowed_path: str, sources: list[str]) -> int:
    allowed: dict[str, int] = {}
    for n, line in enumerate(Path(allowed_path).read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, length = line.rpartition(" ")
        if not key or not length.isdigit():
            raise SystemExit(f"{allowed_path}:{n}: want `path::function lines`, found `{line}`")
        allowed[key] = int(length)
    found = measure(sources)
    problems = []
    for key, length in sorted(found.items()):
        if key not in allowed:
            problems.append(f"{key}: {length} lines, over {LIMIT}: split it into named steps")
        elif length > allowed[key]:
            problems.append(f"{key}: {length} lines, grew from {allowed[key]}: split it")
    for key, length in sorted(allowed.items()):
        if key not in found:
            problems.append(f"{key}: within {LIMIT} lines now (or gone): take it off {allowed_path}")
        elif found[key] < length:
            problems.append(f"{key}: {found[key]} lines now: lower its entry in {allowed_path}")
    for p in problems:
        print(p)
    print(f"function length: {len(found)} functions over {LIMIT} lines, all listed and none grown"
          if not problems else f"function length: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) < 3:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2:]))
