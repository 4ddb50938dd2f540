"""The Durable Functions HTTP API: the public webhooks (/runtime/webhooks/durabletask/...) and the
local RPC endpoint the SDK client calls (/durabletask/...). One handler set serves both, as in the
real extension; paths, query parameters, status codes and headers follow it (PROTOCOL.md 5 and 6).
"""

from __future__ import annotations

import asyncio
import json
import math
from datetime import datetime
from typing import Any

from aiohttp import web

from .. import history as h
from ..bindings import management_urls
from ..config import Settings
from ..engine.control import Control, status_payload
from ..errors import RequestError
from ..store import InstanceQuery, RuntimeStatus

MAX_PAGE = 1000
_DOT_SEGMENTS = (".", "..")
_TRUE = "true"
_HIDDEN = {"OrchestratorStarted", "OrchestratorCompleted", "TaskScheduled", "SubOrchestrationInstanceCreated"}
_EVENT_NAMES = {e.value: e.name for e in h.EventType}
_CAMEL = {
    "EXECUTION_STARTED": "ExecutionStarted",
    "EXECUTION_COMPLETED": "ExecutionCompleted",
    "EXECUTION_TERMINATED": "ExecutionTerminated",
    "TASK_SCHEDULED": "TaskScheduled",
    "TASK_COMPLETED": "TaskCompleted",
    "TASK_FAILED": "TaskFailed",
    "SUB_ORCHESTRATION_CREATED": "SubOrchestrationInstanceCreated",
    "SUB_ORCHESTRATION_COMPLETED": "SubOrchestrationInstanceCompleted",
    "SUB_ORCHESTRATION_FAILED": "SubOrchestrationInstanceFailed",
    "TIMER_CREATED": "TimerCreated",
    "TIMER_FIRED": "TimerFired",
    "ORCHESTRATOR_STARTED": "OrchestratorStarted",
    "ORCHESTRATOR_COMPLETED": "OrchestratorCompleted",
    "EVENT_SENT": "EventSent",
    "EVENT_RAISED": "EventRaised",
    "CONTINUE_AS_NEW": "ContinueAsNew",
    "EXECUTION_SUSPENDED": "ExecutionSuspended",
    "EXECUTION_RESUMED": "ExecutionResumed",
    "GENERIC_EVENT": "GenericEvent",
}


def _flag(request: web.Request, name: str, default: bool) -> bool:
    value = request.query.get(name)
    return default if value is None else value.lower() == _TRUE


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


def _query_time(request: web.Request, name: str) -> str | None:
    value = request.query.get(name)
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise RequestError(f"'{name}' must be an ISO-8601 date and time, not {value!r}.") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.now().astimezone().tzinfo).astimezone()
    return h.format_time(moment)


def _instance_query(request: web.Request) -> InstanceQuery:
    statuses: list[RuntimeStatus] = []
    for value in request.query.getall("runtimeStatus", []):
        for name in value.split(","):
            match = next((s for s in RuntimeStatus if s.value.lower() == name.strip().lower()), None)
            if match is not None:  # unknown names are ignored, as in the extension
                statuses.append(match)
    return InstanceQuery(
        created_from=_query_time(request, "createdTimeFrom"),
        created_to=_query_time(request, "createdTimeTo"),
        statuses=tuple(statuses),
        id_prefix=request.query.get("instanceIdPrefix") or None,
    )


def history_view(texts: list[str], show_input: bool, show_output: bool) -> list[dict[str, Any]]:
    """History as the status API shows it: scheduling events merged into their completions."""
    scheduled: dict[int, dict[str, Any]] = {}
    shown: list[dict[str, Any]] = []
    for text in texts:
        e = json.loads(text)
        kind = _CAMEL.get(_EVENT_NAMES.get(e["EventType"], ""), str(e["EventType"]))
        if kind in ("TaskScheduled", "SubOrchestrationInstanceCreated", "TimerCreated"):
            scheduled[e["EventId"]] = e
        if kind in _HIDDEN:
            continue
        view: dict[str, Any] = {"EventType": kind}
        source = scheduled.get(e.get("TaskScheduledId", e.get("TimerId", -2)))
        if kind == "ExecutionStarted":
            view["FunctionName"] = e["Name"]
            if show_input:
                view["Input"] = _parse(e.get("Input"))
        elif source is not None:
            view["ScheduledTime"] = source["Timestamp"]
            if "Name" in source:
                view["FunctionName"] = source["Name"]
            if show_input and "Input" in source:
                view["Input"] = source["Input"]
        for key in ("Name", "Reason", "Details", "Data", "FireAt", "OrchestrationStatus", "InstanceId"):
            if key in e and kind != "ExecutionStarted":
                view[key] = e[key]
        if kind == "EventRaised" and show_input:
            view["Input"] = _parse(e.get("Input"))
        if "OrchestrationStatus" in view:
            view["OrchestrationStatus"] = {1: "Completed", 3: "Failed", 5: "Terminated"}.get(
                view["OrchestrationStatus"], view["OrchestrationStatus"]
            )
        if show_output and "Result" in e:
            view["Result"] = _parse(e["Result"])
        view["Timestamp"] = e["Timestamp"]
        shown.append(view)
    return shown


def _parse(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


class ManagementApi:
    """Handlers of the Durable HTTP API, mounted under a path prefix."""

    def __init__(self, control: Control, settings: Settings) -> None:
        self._control = control
        self._settings = settings

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
            web.post(f"{i}/rewind", self.rewind),
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
        show_input = _flag(request, "showInput", True)
        events = None
        if _flag(request, "showHistory", False):
            texts = await self._control.store.get_history(instance_id)
            events = history_view(texts, show_input, _flag(request, "showHistoryOutput", False))
        body = status_payload(record, show_input=show_input, history_events=events)
        state = record.runtime_status
        if state.is_active:
            return web.json_response(
                body, status=202, headers={"Location": str(request.url), "Retry-After": "5"}
            )
        failed = state is RuntimeStatus.FAILED and _flag(request, "returnInternalServerErrorOnFailure", False)
        return web.json_response(body, status=500 if failed else 200)

    async def list_instances(self, request: web.Request) -> web.Response:
        try:
            top = int(request.query.get("top", "100"))
        except ValueError as exc:
            raise RequestError("'top' must be a whole number.") from exc
        if not 0 < top <= MAX_PAGE:
            raise RequestError(f"'top' must be between 1 and {MAX_PAGE}.")
        after = request.headers.get("x-ms-continuation-token") or None
        page, token = await self._control.store.query_instances(_instance_query(request), top, after)
        show_input = _flag(request, "showInput", True)
        headers = {"x-ms-continuation-token": token} if token else {}
        return web.json_response([status_payload(r, show_input=show_input) for r in page], headers=headers)

    async def purge(self, request: web.Request) -> web.Response:
        deleted = await self._control.purge(request.match_info["instanceId"])
        return web.json_response({"instancesDeleted": deleted})

    async def purge_by(self, request: web.Request) -> web.Response:
        query = _instance_query(request)
        if not query.created_from:
            raise RequestError("Please provide value for 'createdTimeFrom' parameter.")
        deleted = await self._control.purge_by(query)
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
        new_id = _flag(request, "restartWithNewInstanceId", True)
        instance_id = await self._control.restart(request.match_info["instanceId"], new_id)
        return self.check_status_response(request, instance_id)

    async def rewind(self, request: web.Request) -> web.Response:
        await self._control.rewind(request.match_info["instanceId"], request.query.get("reason"))
        return web.Response(status=202)

    async def unsupported(self, request: web.Request) -> web.Response:
        raise RequestError(
            "Durable entities are not supported by devhost; run the app with `func start` for that.", 501
        )
