"""Route values of the Durable HTTP API, decoded from the path as the extension decodes it.

The extension matches its routes against `WebUtility.UrlDecode(request.RequestUri.AbsolutePath)`
(azure-functions-durable-extension, src/WebJobs.Extensions.DurableTask/HttpApiHandler.cs,
`HandleRequestAsync`, in its 2025 and later form), which turns a `+` into a space as well as decoding
`%XX`. So the management links of an instance id with a space, which `WebUtility.UrlEncode` writes
with `+`, lead back to it, and a literal `+` in an id sent unencoded reads as a space. aiohttp keeps a
`+` in a path as it is; this middleware gives the Durable API's handlers the extension's values.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from urllib.parse import unquote_plus

from aiohttp import web

_PARAMETER = re.compile(r"\{(\w+)(?::[^}]*)?\}")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def plus_decoding(prefix: str) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    """A middleware that re-reads the route values of paths under `prefix` with `+` as a space."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        raw = request.raw_path.split("?", 1)[0]
        if "+" in raw and request.path.lower().startswith(prefix.lower()):
            _decode_values(request, raw)
        return await handler(request)

    return middleware


def _decode_values(request: web.Request, raw: str) -> None:
    info = request.match_info
    resource = info.route.resource if info.route is not None else None
    canonical = getattr(resource, "canonical", "") if resource is not None else ""
    template = canonical.split("/")
    segments = raw.split("/")
    if len(template) != len(segments):  # an encoded slash moved the segments: leave aiohttp's values
        return
    for part, segment in zip(template, segments, strict=True):
        found = _PARAMETER.fullmatch(part)
        if found and found.group(1) in info:
            info[found.group(1)] = unquote_plus(segment, errors="replace")
