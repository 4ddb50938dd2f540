"""JSON text as devhost writes it, in one place: what the SDK and clients see, what the stores keep, and
how big the Durable extension says it is."""

from __future__ import annotations

import json
import math
import re
from typing import Any

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# Built once: json.dumps with any option builds a new encoder per call.
_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_COMPACT_ASCII = json.JSONEncoder(separators=(",", ":"))


def dumps(value: Any) -> str:
    """Compact JSON, as Newtonsoft writes it (no spaces, non-ASCII kept).

    A string holding a lone surrogate (JSON allows "\\ud800") cannot be written as UTF-8, so such a
    value is written with escapes instead: the same JSON value, storable in any store.
    """
    text = _COMPACT.encode(value)
    if not text.isascii() and _LONE_SURROGATE.search(text):  # isascii: the common case, scanned in C
        return _COMPACT_ASCII.encode(value)
    return text


# NaN and the infinities as Newtonsoft writes them back (FloatFormatHandling.String): JSON strings, never
# the bare symbols Python's json module would write, which no JSON reader accepts.
_NON_FINITE = {"NaN": "NaN", "Infinity": "Infinity", "-Infinity": "-Infinity"}


def _number(text: str) -> Any:
    value = float(text)
    return value if math.isfinite(value) else ("Infinity" if value > 0 else "-Infinity")


def body_text(raw: bytes) -> str:
    """A client's body as the extension reads it (.NET's `ReadAsStringAsync`): UTF-8, bad bytes replaced."""
    return raw.decode("utf-8", errors="replace")


def loads_body(raw: bytes) -> Any:
    """A client's JSON body as the extension reads it: `body_text`, then JSON, where NaN, Infinity and
    numbers beyond a double become the strings Newtonsoft writes for them. Raises ValueError (or
    RecursionError) for text that is not JSON."""
    return json.loads(body_text(raw), parse_float=_number, parse_constant=_NON_FINITE.__getitem__)


def dumps_ascii(value: Any) -> str:
    """Compact JSON with every non-ASCII character escaped: what the stores keep in their own rows,
    where one character is one byte (SQLite) or two (Azure Tables' UTF-16) whatever the text."""
    return _COMPACT_ASCII.encode(value)


def utf16_size(text: str) -> int:
    """Bytes of `text` in UTF-16, the measure of the extension's size limits and of Azure Table
    properties (a lone surrogate counts as the two bytes .NET gives it)."""
    return len(text.encode("utf-16-le", "surrogatepass"))
