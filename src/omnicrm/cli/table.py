"""Plain-text tables for people: aligned columns, East Asian wide characters counted as two."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

__all__ = ["render_table", "text_width"]


def text_width(text: str) -> int:
    """Return how many terminal columns ``text`` takes (wide CJK characters count two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def render_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Render ``rows`` under ``headers`` as aligned columns separated by two spaces."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(text_width(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        padded = (cell + " " * (w - text_width(cell)) for cell, w in zip(row, widths, strict=True))
        return "  ".join(padded).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])
