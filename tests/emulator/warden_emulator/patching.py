"""One way to patch moto, so that every patched behaviour is known by name: `GET /_warden/patches`
lists them, and a test holds docs/emulator.md's fidelity ledger to a row for each."""

from __future__ import annotations

from typing import Any

PATCHES: list[str] = []


def patch(owner: Any, attribute: str, replacement: Any) -> None:
    """Replace `owner.attribute` (a moto class or module) and record it as `Owner.attribute`."""
    setattr(owner, attribute, replacement)
    name = f"{getattr(owner, '__name__', type(owner).__name__)}.{attribute}"
    if name not in PATCHES:
        PATCHES.append(name)


def route(paths: dict[str, Any], pattern: str, handler: Any, name: str) -> None:
    """Add a URL route moto lacks (recorded under `name`, the operation it serves)."""
    paths[pattern] = handler
    if name not in PATCHES:
        PATCHES.append(name)
