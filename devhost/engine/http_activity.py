"""`context.call_http`: the built-in HTTP activity, run by the host itself (no user code).

As the extension's TaskHttpActivityShim does, one request is sent and its response is the task result:
no polling here (see docs/engine-parity.md for why a Python orchestrator gets a 202 as it is).
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy

from .invoker import ActivityReply

# What .NET keeps in HttpContentHeaders rather than HttpResponseHeaders; DurableHttpResponse copies only
# the response headers (DurableHttpResponse.cs, CreateDurableHttpResponseWithHttpResponseMessage).
_CONTENT_HEADERS = frozenset(
    h.lower()
    for h in (
        "Allow",
        "Content-Disposition",
        "Content-Encoding",
        "Content-Language",
        "Content-Length",
        "Content-Location",
        "Content-MD5",
        "Content-Range",
        "Content-Type",
        "Expires",
        "Last-Modified",
    )
)


class _RefusedRequest(Exception):
    """A request the extension's HTTP activity refuses before sending it."""


def request_headers(headers: Any, content: str | None) -> CIMultiDict[str]:
    """The request's headers; a value may be a string or a list of strings (HttpHeadersConverter.cs).

    As TaskHttpActivityShim.cs does: Content-Type goes with the content (default `text/plain`) and is
    dropped when there is none; a multipart Content-Type is refused.
    """
    out: CIMultiDict[str] = CIMultiDict()
    content_type = ""
    for name, value in headers.items() if isinstance(headers, dict) else []:
        for one in value if isinstance(value, list) else [value]:
            if one is None:
                continue
            if str(name).lower() == "content-type":
                if "multipart" in str(one):
                    raise _RefusedRequest("Multipart content is not supported with CallHttpAsync.")
                content_type = str(one)
            else:
                out.add(str(name), str(one))
    if content is not None:
        out["Content-Type"] = content_type or "text/plain"
    return out


def response_headers(headers: CIMultiDictProxy[str]) -> dict[str, str | list[str]]:
    """Response headers grouped by name: one value as a string, several as an array, as
    HttpHeadersConverter.WriteJson writes them. Content headers are left out, as .NET does."""
    grouped: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        if key in _CONTENT_HEADERS:
            continue
        names.setdefault(key, name)
        grouped.setdefault(key, []).append(value)
    return {names[k]: v[0] if len(v) == 1 else v for k, v in grouped.items()}


async def run_http_activity(input_text: str | None) -> ActivityReply:
    """Send the request the orchestrator described; the response becomes the task result."""
    try:
        request = json.loads(input_text or "null") or {}
        if request.get("tokenSource"):
            # The extension asks the token source for a bearer token; devhost has no credentials to ask.
            raise _RefusedRequest(
                "devhost cannot get a token for the request's tokenSource (managed identity): "
                "run the app with `func start`, or send an Authorization header yourself."
            )
        content = request.get("content")
        content = None if content is None else str(content)
        headers = request_headers(request.get("headers"), content)
        timeout = aiohttp.ClientTimeout(total=100)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.request(
                request.get("method") or "GET",
                request["uri"],
                data=None if content is None else content.encode("utf-8"),
                headers=headers,
            ) as response,
        ):
            # ReadAsStringAsync: the declared charset, else UTF-8; bytes that do not decode are replaced.
            body = await response.text(errors="replace")
            result = {
                "statusCode": response.status,
                "headers": response_headers(response.headers),
                "content": body,
            }
        return ActivityReply(result=json.dumps(result))
    except _RefusedRequest as exc:
        return ActivityReply(failure=(f"Activity function 'BuiltIn::HttpActivity' failed:  {exc}", ""))
    except Exception as exc:
        reason = f"Activity function 'BuiltIn::HttpActivity' failed:  {type(exc).__name__}: {exc}"
        return ActivityReply(failure=(reason, ""))
