"""JSON text as devhost writes it, in one place: what the SDK and clients see, what the stores keep, and
how big the Durable extension says it is."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from .dotnet_text import double_text
from .lenient_json import parse_value

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# Built once: json.dumps with any option builds a new encoder per call.
_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_COMPACT_ASCII = json.JSONEncoder(separators=(",", ":"))
_NEWTONSOFT_ESCAPES = (("\u0085", "\\u0085"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))


def dumps(value: Any) -> str:
    """Compact JSON, as Newtonsoft writes it (no spaces, non-ASCII kept).

    A string holding a lone surrogate (JSON allows "\\ud800") cannot be written as UTF-8, so such a
    value is written with escapes instead: the same JSON value, storable in any store.
    """
    text = _COMPACT.encode(value)
    if text.isascii():  # the common case, scanned in C
        return text
    if _LONE_SURROGATE.search(text):
        return _COMPACT_ASCII.encode(value)
    # Newtonsoft escapes these three in every string it writes (JavaScriptUtils); they can only be
    # inside strings here, so replacing them gives the same JSON value, and the same size as Azure
    # measures for the 16 KB custom status limit.
    for char, escape in _NEWTONSOFT_ESCAPES:
        if char in text:
            text = text.replace(char, escape)
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


# The most text read with Newtonsoft's leniency (a pure-Python reader) when strict JSON fails: a body
# bigger than this that is not strict JSON is refused rather than read slowly on the event loop.
LENIENT_LIMIT_CHARS = 1024 * 1024
# Newtonsoft.Json 13's default MaxDepth, for JsonConvert and JsonTextReader alike: deeper is an error.
MAX_DEPTH = 64


def loads_body(raw: bytes, *, ignore_rest: bool = False) -> Any:
    """A client's JSON body as the extension reads it: `body_text`, then JSON, where NaN, Infinity and
    numbers beyond a double become the strings Newtonsoft writes for them. Strict JSON is read at C
    speed; other text as Newtonsoft's reader takes it (comments, single quotes, unquoted names,
    trailing commas; with `ignore_rest`, any text after the first value). Raises ValueError (or
    RecursionError) for text that is not JSON."""
    text = body_text(raw)
    try:
        value = json.loads(text, parse_float=_number, parse_constant=_NON_FINITE.__getitem__)
    except ValueError:
        if len(text) > LENIENT_LIMIT_CHARS:
            raise
        value = _finite(parse_value(text, ignore_rest=ignore_rest))  # its errors say line, column, why
    # Fewer brackets than that in the whole text (counted at C speed) cannot nest that deep.
    if text.count("[") + text.count("{") > MAX_DEPTH and _nesting(value) > MAX_DEPTH:
        raise ValueError(
            f"the JSON is nested more than {MAX_DEPTH} levels deep, the most the extension's reader "
            "takes (Newtonsoft's MaxDepth)"
        )
    return value


def _nesting(value: Any) -> int:
    """How many objects and arrays deep `value` goes, level by level (no recursion), stopping once past
    MAX_DEPTH."""
    level = [value] if isinstance(value, (dict, list)) else []
    depth = 0
    while level and depth <= MAX_DEPTH:
        depth += 1
        inner: list[Any] = []
        for container in level:
            items = container.values() if isinstance(container, dict) else container
            inner.extend(v for v in items if isinstance(v, (dict, list)))
        level = inner
    return depth


def _finite(value: Any) -> Any:
    """NaN and the infinities the lenient reader returns, as the strings Newtonsoft writes back."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def dumps_ascii(value: Any) -> str:
    """Compact JSON with every non-ASCII character escaped: what the stores keep in their own rows,
    where one character is one byte (SQLite) or two (Azure Tables' UTF-16) whatever the text."""
    return _COMPACT_ASCII.encode(value)


def utf16_size(text: str) -> int:
    """Bytes of `text` in UTF-16, the measure of the extension's size limits and of Azure Table
    properties (a lone surrogate counts as the two bytes .NET gives it)."""
    return len(text.encode("utf-16-le", "surrogatepass"))


def dumps_newtonsoft(value: Any, *, indented: bool = False) -> str:
    """JSON as Newtonsoft's writer writes a parsed value back (`JToken.ToString()` is indented, two
    spaces a level, "\\n" between lines as on Linux): numbers with a fraction in .NET's round-trip form
    and never without a point or an exponent (`1.0`, `1E+20`), strings as `dumps` writes them."""
    out: list[str] = []
    _write(value, out, "\n" if indented else "", "  " if indented else "", 0)
    return "".join(out)


def _write(value: Any, out: list[str], newline: str, step: str, level: int) -> None:
    if isinstance(value, float):
        text = double_text(value)
        if not math.isfinite(value):  # FloatFormatHandling.String
            out.append(f'"{text}"')
        else:
            out.append(text if "." in text or "E" in text else text + ".0")
    elif isinstance(value, dict) and value:
        inner = newline + step * (level + 1)
        colon = ": " if newline else ":"
        out.append("{")
        for n, (key, item) in enumerate(value.items()):
            out.append(("," if n else "") + inner + dumps(key) + colon)
            _write(item, out, newline, step, level + 1)
        out.append(newline + step * level + "}")
    elif isinstance(value, list) and value:
        inner = newline + step * (level + 1)
        out.append("[")
        for n, item in enumerate(value):
            out.append(("," if n else "") + inner)
            _write(item, out, newline, step, level + 1)
        out.append(newline + step * level + "]")
    else:
        out.append(dumps(value))
