"""Plain-text tables for the terminal: columns as wide as their widest cell, long cells cut short."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

MAX_CELL = 48


def cell(value: Any, limit: int = MAX_CELL) -> str:
    """A value as one table cell: JSON for structures, '' for None, cut to `limit` characters."""
    if value is None:
        text = ""
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, separators=(",", ":"), default=str)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[cell(v) for v in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.extend("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells)
    return "\n".join(lines)


def fields(pairs: Sequence[tuple[str, Any]]) -> str:
    """`name: value` lines, values in full (JSON for structures)."""
    width = max(len(name) for name, _ in pairs)
    return "\n".join(f"{name + ':':<{width + 1}} {cell(value, limit=10_000)}" for name, value in pairs)
