"""The Durable Functions HTTP API: the public webhooks (/runtime/webhooks/durabletask/...) and the
local RPC endpoint the SDK client calls (/durabletask/...). One handler set serves both, as in the
real extension; paths, query parameters, status codes and headers follow it (docs/protocol.md, section 3).
"""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any

from aiohttp import web

from .. import history as h
from ..bindings import management_urls
from ..config import Settings
from ..engine.control import Control, status_payload
from ..errors import RequestError
from ..store import InstanceQuery, RuntimeStatus
from . import query_params as q
from .continuation import decode_token, encode_token
from .history_view import history_view

_DOT_SEGMENTS = (".", "..")
DEFAULT_PAGE = 100


def _parse_json_body(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError as exc:  # UnicodeDecodeError included: the body must be UTF-8
        raise RequestError(f"Invalid JSON content: {exc}") from exc
    except RecursionError as exc:
        # Python's parser recurses per nesting level; a body of 100,000 '[' must not become a 500.
        raise RequestError("Invalid JSON content: nested too deeply.") from exc


def _seconds(request: web.Request, name: str, default: str) -> float:
    """A query value in seconds: a finite number (not nan or inf), else RequestError(400)."""
    text = request.query.get(name, default)
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise RequestError(f"'{name}' must be a finite number of seconds, not {text!r}.")
    return value


def _instance_query(request: web.Request) -> tuple[InstanceQuery, bool]:
    """The list and purge filters, and whether a status filter was given that no instance can match."""
    statuses, filtered = q.runtime_statuses(request.query.getall("runtimeStatus", []))
    query = InstanceQuery(
        created_from=q.query_time(request, "createdTimeFrom"),
        created_to=q.query_time(request, "createdTimeTo"),
        statuses=statuses,
        id_prefix=request.query.get("instanceIdPrefix") or None,
    )
    return query, filtered and not statuses


class ManagementApi:
    """Handlers of the Durable HTTP API, mounted under a path prefix."""

    def __init__(self, control: Control, settings: Settings) -> None:
        self._control = control
        self._settings = settings

    @property
    def control(self) -> Control:
        return self._control

    @property
    def settings(self) -> Settings:
        return self._settings

    def routes(self, prefix: str) -> list[web.RouteDef]:
        p = prefix.rstrip("/")
        i = f"{p}/instances/{{instanceId}}"
        return [
            web.post(f"{p}/orchestrators/{{functionName}}", self.start),
            web.post(f"{p}/orchestrators/{{functionName}}/{{instanceId}}", self.start),
            web.get(f"{p}/instances", self.list_instances),
            web.get(f"{p}/instances/", self.list_instances),
            web.delete(f"{p}/instances", self.purge_by),
            web.delete(f"{p}/instances/", self.purge_by),
            web.get(i, self.status),
            web.delete(i, self.purge),
            web.post(f"{i}/raiseEvent/{{eventName}}", self.raise_event),
            web.post(f"{i}/terminate", self.terminate),
            web.post(f"{i}/suspend", self.suspend),
            web.post(f"{i}/resume", self.resume),
            web.post(f"{i}/restart", self.restart),
            web.post(f"{i}/rewind", self.unsupported),
            web.route("*", f"{p}/entities/{{tail:.*}}", self.unsupported),
        ]

    def check_status_response(self, request: web.Request, instance_id: str) -> web.Response:
        urls = management_urls(f"{request.scheme}://{request.host}", self._settings, instance_id)
        return web.json_response(
            urls, status=202, headers={"Location": urls["statusQueryGetUri"], "Retry-After": "10"}
        )

    async def start(self, request: web.Request) -> web.Response:
        raw = await request.read()
        input_json = h.dumps(_parse_json_body(raw)) if raw.strip() else None
        waits = "timeout" in request.query
        # Checked before anything is created: a bad query value must leave the store as it was.
        deadline = _seconds(request, "timeout", "0") if waits else 0.0
        pause = min(max(0.05, _seconds(request, "pollingInterval", "1")), 60.0)
        requested_id = request.match_info.get("instanceId")
        if requested_id in _DOT_SEGMENTS:
            # Every management URL would hold it as a path segment, which clients resolve away.
            raise RequestError(
                f"Instance ID must not be '{requested_id}': URLs holding it would lead elsewhere."
            )
        instance_id = await self._control.start(request.match_info["functionName"], requested_id, input_json)
        if not waits:
            return self.check_status_response(request, instance_id)
        return await self._wait(request, instance_id, deadline, pause)

    async def _wait(
        self, request: web.Request, instance_id: str, deadline: float, pause: float
    ) -> web.Response:
        loop = asyncio.get_running_loop()
        end = loop.time() + min(deadline, 3600)
        while True:
            record = await self._control.require(instance_id)
            if record.runtime_status is RuntimeStatus.COMPLETED:
                return web.Response(body=record.output or "null", content_type="application/json")
            if record.runtime_status.is_terminal:
                return web.json_response(status_payload(record))
            if loop.time() >= end:
                return self.check_status_response(request, instance_id)
            await asyncio.sleep(pause)

    async def status(self, request: web.Request) -> web.Response:
        instance_id = request.match_info["instanceId"]
        record = await self._control.require(instance_id)
        show_input = q.flag(request, "showInput", True)
        events = None
        # A Pending instance has no history to show: the key is left out (DurableClient.cs).
        if q.flag(request, "showHistory", False) and record.runtime_status is not RuntimeStatus.PENDING:
            texts = await self._control.store.get_history(instance_id)
            events = history_view(texts, show_input, q.flag(request, "showHistoryOutput", False))
        body = status_payload(record, show_input=show_input, history_events=events)
        state = record.runtime_status
        if state.is_active:
            return web.json_response(
                body, status=202, headers={"Location": str(request.url), "Retry-After": "5"}
            )
        strict = q.flag(request, "returnInternalServerErrorOnFailure", False)
        failed = state is RuntimeStatus.FAILED and strict
        return web.json_response(body, status=500 if failed else 200)

    async def list_instances(self, request: web.Request) -> web.Response:
        top = q.dotnet_int(q.raw_value(request, "top"))
        if top is None:
            top = DEFAULT_PAGE  # int.TryParse failed: the extension keeps its default page size
        elif top < 1:
            raise RequestError(f"'top' must be 1 or more, not {top}.")
        after = decode_token(request.headers.get("x-ms-continuation-token"))
        query, matches_nothing = _instance_query(request)
        page, last = [], None
        if not matches_nothing:
            page, last = await self._control.store.query_instances(query, top, after)
        show_input = q.flag(request, "showInput", True)
        body = [status_payload(r, show_input=show_input) for r in page]
        return web.json_response(body, headers={"x-ms-continuation-token": encode_token(last)})

    async def purge(self, request: web.Request) -> web.Response:
        deleted = await self._control.purge(request.match_info["instanceId"])
        return web.json_response({"instancesDeleted": deleted})

    async def purge_by(self, request: web.Request) -> web.Response:
        query, matches_nothing = _instance_query(request)
        if not query.created_from:
            raise RequestError("Please provide value for 'createdTimeFrom' parameter.")
        deleted = 0 if matches_nothing else await self._control.purge_by(query)
        if not deleted:
            raise RequestError("No instances matched the filter.", 404)
        return web.json_response({"instancesDeleted": deleted})

    async def raise_event(self, request: web.Request) -> web.Response:
        if request.content_type != "application/json":
            raise RequestError("Only application/json request content is supported.")
        raw = await request.read()
        input_json = h.dumps(_parse_json_body(raw)) if raw.strip() else None
        await self._control.raise_event(
            request.match_info["instanceId"], request.match_info["eventName"], input_json
        )
        return web.Response(status=202)

    async def terminate(self, request: web.Request) -> web.Response:
        await self._control.terminate(request.match_info["instanceId"], request.query.get("reason"))
        return web.Response(status=202)

    async def suspend(self, request: web.Request) -> web.Response:
        await self._control.suspend(request.match_info["instanceId"], request.query.get("reason"))
        return web.Response(status=202)

    async def resume(self, request: web.Request) -> web.Response:
        await self._control.resume(request.match_info["instanceId"], request.query.get("reason"))
        return web.Response(status=202)

    async def restart(self, request: web.Request) -> web.Response:
        new_id = q.flag(request, "restartWithNewInstanceId", True)
        instance_id = await self._control.restart(request.match_info["instanceId"], new_id)
        return self.check_status_response(request, instance_id)

    async def unsupported(self, request: web.Request) -> web.Response:
        what = "Durable entities are" if "/entities/" in request.path else "Rewind is"
        raise RequestError(f"{what} not supported by devhost; run the app with `func start` for that.", 501)
