"""The engine's clock over HTTP, beside the dashboard's routes (devhost's own, not the Durable API):

    GET  /runtime/devhost/api/time           {"now", "wallClock", "aheadBySeconds", "mode", "description"}
    POST /runtime/devhost/api/time/advance   {"by": "2h"} (also ISO 8601 "PT2H", or seconds): moves the
                                             virtual clock, firing what falls due in order, and answers
                                             once that work has run

`devhost time now` and `devhost time advance` call these, the dashboard's fast-forward control too. With
`--auth` they need the system key, as every route under /runtime/devhost/api does; a browser page from
another origin is refused by the browser guard, as for the Durable HTTP API.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from typing import Any

from aiohttp import web

from .. import history as h
from ..durations import format_duration, parse_duration
from ..engine.time_control import TimeControl
from ..errors import RequestError
from . import TIME_PATH
from .json_reply import json_reply

DEFAULT_TIMEOUT = 60.0
MAX_TIMEOUT = 600.0


def clock_payload(time: TimeControl) -> dict[str, Any]:
    now = time.now()
    wall = datetime.now(timezone.utc)
    return {
        "now": h.format_time(now),
        "wallClock": h.format_time(wall),
        "aheadBySeconds": round(max(0.0, time.clock.offset.total_seconds()), 3),
        "mode": time.mode,
        "description": time.describe(),
    }


def _advance_arguments(raw: bytes, query: Any) -> tuple[Any, float]:
    body: Any = {}
    if raw.strip():
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise RequestError(f'The body must be JSON such as {{"by": "2h"}}: {exc}') from exc
        if not isinstance(body, dict):
            raise RequestError('The body must be a JSON object such as {"by": "2h"}.')
        unknown = sorted(set(body) - {"by", "timeout"})
        if unknown:
            raise RequestError(f"Unknown field(s) {', '.join(unknown)}: the body takes 'by' and 'timeout'.")
    by = body.get("by", query.get("by"))
    if by is None:
        raise RequestError('Say how far to move the clock: {"by": "2h"} (or ?by=2h).')
    timeout = body.get("timeout", query.get("timeout", DEFAULT_TIMEOUT))
    try:
        seconds = float(timeout)
    except (TypeError, ValueError):
        seconds = math.nan
    if isinstance(timeout, bool) or not 0 < seconds <= MAX_TIMEOUT:
        raise RequestError(f"'timeout' must be a number of seconds above 0 and at most {MAX_TIMEOUT:g}.")
    return by, seconds


def time_routes(time: TimeControl) -> list[web.RouteDef]:
    async def now(request: web.Request) -> web.Response:
        return json_reply(clock_payload(time))

    async def advance(request: web.Request) -> web.Response:
        by, timeout = _advance_arguments(await request.read(), request.query)
        try:
            delta = parse_duration(by)
        except ValueError as exc:
            raise RequestError(str(exc)) from exc
        if not time.clock.virtual:
            raise RequestError("This host runs on the real clock, which cannot be moved.", 409)
        try:
            done = await time.advance(delta, timeout=timeout)
        except TimeoutError as exc:
            return json_reply({"Message": str(exc), **clock_payload(time)}, status=504)
        return json_reply(
            {
                "before": h.format_time(done.before),
                "advancedBy": format_duration(delta),
                "dueTimesPassed": done.steps,
                **clock_payload(time),
            }
        )

    return [web.get(TIME_PATH, now), web.post(f"{TIME_PATH}/advance", advance)]


def openapi_paths() -> dict[str, Any]:
    """The two routes in OpenAPI 3.0 terms, for the public server's description."""
    error = {"$ref": "#/components/schemas/Error"}

    def answer(what: str, schema: dict[str, Any]) -> dict[str, Any]:
        return {"description": what, "content": {"application/json": {"schema": schema}}}

    clock = {
        "type": "object",
        "required": ["now", "wallClock", "aheadBySeconds", "mode"],
        "properties": {
            "now": {"type": "string"},
            "wallClock": {"type": "string"},
            "aheadBySeconds": {"type": "number"},
            "mode": {"type": "string"},
            "description": {"type": "string"},
        },
    }
    refused = {"401": answer("the system key is missing or wrong (with --auth)", error)}
    return {
        TIME_PATH: {
            "get": {
                "summary": "The engine's clock",
                "responses": {"200": answer("the clock", clock), **refused},
            }
        },
        f"{TIME_PATH}/advance": {
            "post": {
                "summary": "Move the virtual clock forward, firing what falls due in order",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["by"],
                                "properties": {
                                    "by": {"oneOf": [{"type": "string"}, {"type": "number"}]},
                                    "timeout": {"type": "number"},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": answer("what the advance did", {"type": "object"}),
                    "400": answer("a duration or timeout that is not valid", error),
                    "409": answer("the host runs on the real clock", error),
                    "504": answer("the work that fell due did not settle in time", error),
                    **refused,
                },
            }
        },
    }
