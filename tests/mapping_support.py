"""What the mapping guard-rail tests share: finding the line a refusal must name."""

from __future__ import annotations

from pathlib import Path


def line_of(path: Path, text: str, *, after: str = "") -> int:
    """The 1-based line of the first line of ``path`` containing ``text`` (below the first line holding ``after``)."""
    started = not after
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        started = started or after in line
        if started and text in line:
            return number
    raise AssertionError(f"{text!r} not in {path}")
