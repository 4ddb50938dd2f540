"""`context.call_http`: the built-in HTTP activity, run by the host itself (no user code)."""

from __future__ import annotations

import json

import aiohttp

from .invoker import ActivityReply


async def run_http_activity(input_text: str | None) -> ActivityReply:
    """Send the request the orchestrator described; the response becomes the task result."""
    try:
        request = json.loads(input_text or "null") or {}
        headers = request.get("headers") or {}
        headers = {k: (v[0] if isinstance(v, list) and v else v) for k, v in headers.items()}
        timeout = aiohttp.ClientTimeout(total=100)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.request(
                request.get("method", "GET"), request["uri"], data=request.get("content"), headers=headers
            ) as response,
        ):
            content = await response.text()
            result = {
                "statusCode": response.status,
                "headers": {k: v for k, v in response.headers.items()},
                "content": content,
            }
        return ActivityReply(result=json.dumps(result))
    except Exception as exc:
        reason = f"Activity function 'BuiltIn::HttpActivity' failed:  {type(exc).__name__}: {exc}"
        return ActivityReply(failure=(reason, ""))
