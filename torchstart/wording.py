"""Small helpers that keep counts and name lists in messages readable."""

from __future__ import annotations


def plural(count: int, word: str) -> str:
    """``1 sample``, ``3 samples``."""
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def name_list(names: list[str], limit: int = 4, quoted: bool = True) -> str:
    """``'a', 'b', 'c'``, or the first ``limit`` names then ``… (499 in all)``: a message or label stays readable."""
    shown = ", ".join(map(repr, names[:limit]) if quoted else names[:limit])
    return shown if len(names) <= limit else f"{shown}, … ({len(names):,} in all)"


def running_counts(items: list[str]) -> list[int]:
    """How often each item has come so far, itself included: ["a", "b", "a"] -> [1, 1, 2]."""
    seen: dict[str, int] = {}
    counts = []
    for item in items:
        seen[item] = seen.get(item, 0) + 1
        counts.append(seen[item])
    return counts
