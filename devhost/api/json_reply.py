"""JSON answers as the extension writes them: compact, non-ASCII kept, `application/json; charset=utf-8`.

The extension's HTTP API answers through ASP.NET's JSON formatter, which writes with Newtonsoft's defaults
(no indentation, no spaces, only control characters and quotes escaped).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from ..json_text import dumps


def json_reply(value: Any, *, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    """`value` as a JSON response (aiohttp adds the charset to a text body)."""
    return web.Response(text=dumps(value), status=status, headers=headers, content_type="application/json")


def stored_json_reply(text: str | None) -> web.Response:
    """A stored JSON value (the stores keep non-ASCII escaped) written as the extension writes it."""
    if text is None:
        return json_reply(None)
    try:
        value = json.loads(text)
    except ValueError:  # not JSON after all: the text as it is, never a changed value
        return web.Response(text=text, content_type="application/json")
    return json_reply(value)
