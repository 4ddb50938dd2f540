"""The Durable Functions HTTP API: the public webhooks (/runtime/webhooks/durabletask/...) and the
local RPC endpoint the SDK client calls (/durabletask/...). One handler set serves both, as in the
real extension; paths, query parameters, status codes and headers follow it (docs/protocol.md, section 3;
docs/durable-http-operations.md names the upstream sources).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .. import history as h
from ..bindings import management_urls
from ..config import Settings
from ..dotnet_text import try_bool
from ..engine.control import Control
from ..engine.time_control import TimeControl
from ..errors import InstanceNotFoundError, RequestError
from ..json_text import loads_body
from ..store import InstanceQuery, InstanceRecord, RuntimeStatus
from . import query_params as q
from .continuation import decode_token, encode_token
from .entities_api import EntitiesApi
from .history_view import history_view
from .json_reply import json_reply, stored_json_reply
from .purge_filter import purge_query
from .status_payload import status_payload
from .task_hub import check_task_hub
from .wait_arguments import wait_arguments

log = logging.getLogger("devhost.api")
_DOT_SEGMENTS = (".", "..")
DEFAULT_PAGE = 100


Handler = Callable[[web.Request], Awaitable[web.Response]]
_ANY_METHOD = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _by_method(methods: dict[str, Handler], settings: Settings) -> Handler:
    async def dispatch(request: web.Request) -> web.Response:
        check_task_hub(request, settings)
        handler = methods.get(request.method)
        if handler is None:
            raise RequestError(
                f"The Durable HTTP API answers {request.path} to {' and '.join(methods)} only "
                f"(404 for {request.method}, as the Durable extension answers).",
                404,
            )
        return await handler(request)

    return dispatch


def _literals_in_any_case(path: str, prefix: str) -> str:
    """`path` with each fixed segment after `prefix` matching in any letter case (`INSTANCES/{id}`,
    `raiseevent`), as ASP.NET's TemplateMatcher compares the extension's route literals ignoring case."""
    segments = path[len(prefix) :].split("/")
    for n, segment in enumerate(segments):
        if segment and not segment.startswith("{"):
            segments[n] = f"{{_literal{n}:(?i:{re.escape(segment)})}}"
    return prefix + "/".join(segments)


async def _no_route(request: web.Request) -> web.Response:
    raise RequestError(f"The Durable HTTP API has no route {request.method} {request.path}.", 404)


def _parse_json_body(raw: bytes, *, ignore_rest: bool = False) -> Any:
    try:
        return loads_body(raw, ignore_rest=ignore_rest)
    except ValueError as exc:
        raise RequestError(f"Invalid JSON content: {exc}") from exc
    except RecursionError as exc:
        # Python's parser recurses per nesting level; a body of 100,000 '[' must not become a 500.
        raise RequestError("Invalid JSON content: nested too deeply.") from exc


def instance_query(request: web.Request) -> tuple[InstanceQuery, bool]:
    """The list and purge filters, and whether a status filter was given that no instance can match."""
    statuses, filtered = q.runtime_statuses(q.query_of(request).getall("runtimeStatus", []))
    query = InstanceQuery(
        created_from=q.query_time(request, "createdTimeFrom"),
        created_to=q.query_time(request, "createdTimeTo"),
        statuses=statuses,
        id_prefix=q.raw_value(request, "instanceIdPrefix") or None,
    )
    return query, filtered and not statuses


def with_clock(body: dict[str, Any], control: Control) -> dict[str, Any]:
    """A status payload, plus the engine's time when the virtual clock is ahead of the wall clock: its
    createdTime and lastUpdatedTime are in that time (the SDK keeps an unknown key as an attribute)."""
    if control.clock.offset.total_seconds() > 0:
        body["devhostVirtualTime"] = h.status_time(h.format_time(control.clock.now()))
    return body


class ManagementApi:
    """Handlers of the Durable HTTP API, mounted under a path prefix."""

    def __init__(self, control: Control, settings: Settings, time: TimeControl | None = None) -> None:
        self._control = control
        self._settings = settings
        self._time = time

    @property
    def control(self) -> Control:
        return self._control

    @property
    def settings(self) -> Settings:
        return self._settings

    def routes(self, prefix: str) -> list[web.RouteDef]:
        """Every route takes any method; one the extension does not serve there answers 404, as a
        wrong method or an unknown route does in HttpApiHandler.cs (HandleRequestAsync)."""
        p = prefix.rstrip("/")
        handlers = self._handlers(p)
        # The paths as written first: aiohttp finds them by their literal prefix, so a request in the
        # usual case costs no more than before. Then the same routes with their fixed words in any
        # case, tried only when no route as written matched, and last the 404 for everything else.
        return [
            *(web.route("*", path, handler) for path, handler in handlers.items()),
            *(web.route("*", _literals_in_any_case(path, p), handler) for path, handler in handlers.items()),
            web.route("*", f"{p}/{{tail:.*}}", _no_route),
        ]

    def routes_with_prefix_in_any_case(self, prefix: str) -> list[web.RouteDef]:
        """The same routes with the prefix in any case too (`/Runtime/Webhooks/DurableTask/...`). The
        Functions host finds an extension's webhook by its name ignoring case (its route
        `runtime/webhooks/{name}/{*extra}`, and `DefaultScriptWebHookProvider`'s handlers keyed
        `OrdinalIgnoreCase`), and HttpApiHandler.cs cuts the prefix off by its length. Served after
        every other route, so no other request pays for these patterns."""
        p = prefix.rstrip("/")
        return [
            *(
                web.route("*", _literals_in_any_case(path, ""), handler)
                for path, handler in self._handlers(p).items()
            ),
            web.route("*", f"{_literals_in_any_case(p, '')}/{{tail:.*}}", _no_route),
        ]

    def _handlers(self, p: str) -> dict[str, Handler]:
        i = f"{p}/instances/{{instanceId}}"
        by_path: dict[str, dict[str, Handler]] = {
            f"{p}/orchestrators/{{functionName}}": {"POST": self.start},
            f"{p}/orchestrators/{{functionName}}/{{instanceId}}": {"POST": self.start},
            f"{p}/instances": {"GET": self.list_instances, "DELETE": self.purge_by},
            i: {"GET": self.status, "DELETE": self.purge},
            f"{i}/raiseEvent/{{eventName}}": {"POST": self.raise_event},
            f"{i}/{{operation}}": {"POST": self.operation},
            **EntitiesApi(self._control.entities).handlers(p),
            # The app-lease route matches whatever the method (HandleMakePrimaryRequestAsync).
            f"{p}/makeprimary": dict.fromkeys(_ANY_METHOD, self.make_primary),
        }
        # The extension trims slashes from the end of the path before matching (`Trim('/')`), so
        # `instances/{id}/` is the status of `{id}`.
        with_slash: dict[str, dict[str, Handler]] = {}
        for path, methods in by_path.items():
            with_slash[path] = methods
            with_slash.setdefault(f"{path.rstrip('/')}/", methods)
        return {path: _by_method(methods, self._settings) for path, methods in with_slash.items()}

    async def make_primary(self, request: web.Request) -> web.Response:
        """`makeprimary`: the extension makes the calling app the one that holds the task hub's app
        lease (`MakeCurrentAppPrimaryAsync`) and answers 200 with no body. devhost is the only app
        on its hub, so it already is."""
        return web.Response(status=200)

    async def operation(self, request: web.Request) -> web.Response:
        """POST instances/{id}/{operation}: the operation name matches in any case, as in the extension."""
        operations: dict[str, Handler] = {
            "terminate": self.terminate,
            "rewind": self.rewind,
            "restart": self.restart,
            "suspend": self.suspend,
            "resume": self.resume,
        }
        handler = operations.get(request.match_info["operation"].lower())
        if handler is None:
            return await _no_route(request)
        return await handler(request)

    def check_status_response(self, request: web.Request, instance_id: str) -> web.Response:
        urls = management_urls(f"{request.scheme}://{request.host}", self._settings, instance_id)
        return json_reply(
            urls, status=202, headers={"Location": urls["statusQueryGetUri"], "Retry-After": "10"}
        )

    async def start(self, request: web.Request) -> web.Response:
        raw = await request.read()
        # JsonConvert.DeserializeObject: one value, only blanks and comments after it.
        input_json = h.dumps(_parse_json_body(raw)) if raw.strip() else None
        requested_id = request.match_info.get("instanceId")
        if requested_id in _DOT_SEGMENTS:
            # Every management URL would hold it as a path segment, which clients resolve away.
            raise RequestError(
                f"Instance ID must not be '{requested_id}': URLs holding it would lead elsewhere."
            )
        # `version` (the SDK's start_new(version=...)), else host.json's defaultVersion.
        version = q.raw_value(request, "version")
        instance_id = await self._control.start(
            request.match_info["functionName"], requested_id, input_json, version
        )
        return await self._answer_started(request, instance_id)

    async def _answer_started(self, request: web.Request, instance_id: str) -> web.Response:
        """The check-status response, or the wait for the outcome when `timeout` and `pollingInterval`
        both parse (HttpApiHandler.cs, HandleStartOrchestratorRequestAsync and
        HandleRestartInstanceRequestAsync; the values are read after the instance was started)."""
        wait = wait_arguments(q.query_of(request))
        if wait is None:
            return self.check_status_response(request, instance_id)
        try:
            deadline, pause = wait.checked()
        except RequestError:
            log.warning("Instance '%s' was started, though the answer is 400 (as on Azure).", instance_id)
            raise
        return await self._wait(request, instance_id, deadline, pause)

    async def _wait(
        self, request: web.Request, instance_id: str, deadline: float, pause: float
    ) -> web.Response:
        """Looks every `pause` seconds; each look that finds the instance still running lets a host with
        time_skipping=True (not --time-skipping's) jump its clock once (devhost/time_skipping.py)."""
        loop = asyncio.get_running_loop()
        end = loop.time() + deadline
        while True:
            generation = self._time.generation if self._time else 0
            record = await self._control.require(instance_id)
            if record.runtime_status is RuntimeStatus.COMPLETED:
                return stored_json_reply(record.output)
            if record.runtime_status.is_terminal:
                return json_reply(with_clock(status_payload(record), self._control))
            remaining = end - loop.time()
            if remaining <= 0:
                return self.check_status_response(request, instance_id)
            if self._time:
                self._time.not_there_yet(generation)
            await asyncio.sleep(min(pause, remaining))

    async def status(self, request: web.Request) -> web.Response:
        instance_id = request.match_info["instanceId"]
        record = await self._control.require(instance_id)
        show_input = q.flag(request, "showInput", True)
        events = None
        # A Pending instance has no history to show: the key is left out (DurableClient.cs).
        if q.flag(request, "showHistory", False) and record.runtime_status is not RuntimeStatus.PENDING:
            texts = await self._control.history(instance_id)
            events = history_view(texts, show_input, q.flag(request, "showHistoryOutput", False))
        body = with_clock(status_payload(record, show_input=show_input, history_events=events), self._control)
        state = record.runtime_status
        if state.is_active:
            return json_reply(body, status=202, headers={"Location": str(request.url), "Retry-After": "5"})
        strict = q.flag(request, "returnInternalServerErrorOnFailure", False)
        failed = state is RuntimeStatus.FAILED and strict
        return json_reply(body, status=500 if failed else 200)

    async def list_instances(self, request: web.Request) -> web.Response:
        top = q.dotnet_int(q.raw_value(request, "top"))
        if top is None:
            top = DEFAULT_PAGE  # int.TryParse failed: the extension keeps its default page size
        elif top < 1:
            raise RequestError(f"'top' must be 1 or more, not {top}.")
        after = decode_token(request.headers.get("x-ms-continuation-token"))
        query, matches_nothing = instance_query(request)
        page: list[InstanceRecord] = []
        last: str | None = None
        if not matches_nothing:
            page, last = await self._control.list_instances(query, top, after)
        show_input = q.flag(request, "showInput", True)
        body = [with_clock(status_payload(r, show_input=show_input), self._control) for r in page]
        return json_reply(body, headers={"x-ms-continuation-token": encode_token(last)})

    async def purge(self, request: web.Request) -> web.Response:
        deleted = await self._control.purge(request.match_info["instanceId"])
        return json_reply({"instancesDeleted": deleted})

    async def purge_by(self, request: web.Request) -> web.Response:
        """Purge by filter as on Azure: `instanceIdPrefix` is not read (HttpApiHandler.cs,
        HandleDeleteHistoryWithFiltersRequestAsync), and the Azure Storage provider keeps only the
        terminal values of `runtimeStatus`; with none left, every instance in the time range goes,
        running ones too (DurableTask.AzureStorage, Tracking/AzureTableTrackingStore.cs,
        PurgeInstanceHistoryAsync). That deletes data, so devhost says so in its log."""
        requested, matches_nothing = instance_query(request)
        query = purge_query(requested)
        if not query.created_from:
            raise RequestError("Please provide value for 'createdTimeFrom' parameter.")
        deleted = 0 if matches_nothing else await self._control.purge_by(query)
        if not deleted:
            raise RequestError("No instances matched the filter.", 404)
        return json_reply({"instancesDeleted": deleted})

    async def raise_event(self, request: web.Request) -> web.Response:
        """Checked in the extension's order: 404, 410, content type, JSON; an empty body is not JSON
        (azure-functions-durable-extension, HttpApiHandler.cs, HandleRaiseEventRequestAsync)."""
        await self._control.event_target(request.match_info["instanceId"])
        if request.content_type.lower() != "application/json":
            raise RequestError("Only application/json request content is supported.")
        raw = await request.read()
        if not raw.strip():
            raise RequestError("Invalid JSON content: the body is empty.")
        # JToken.Load (MessagePayloadDataConverter.ConvertToJToken): the first value, the rest unread.
        input_json = h.dumps(_parse_json_body(raw, ignore_rest=True))
        await self._control.raise_event(
            request.match_info["instanceId"], request.match_info["eventName"], input_json
        )
        return web.Response(status=202)

    async def terminate(self, request: web.Request) -> web.Response:
        await self._control.terminate(request.match_info["instanceId"], q.raw_value(request, "reason"))
        return web.Response(status=202)

    async def suspend(self, request: web.Request) -> web.Response:
        await self._control.suspend(request.match_info["instanceId"], q.raw_value(request, "reason"))
        return web.Response(status=202)

    async def resume(self, request: web.Request) -> web.Response:
        await self._control.resume(request.match_info["instanceId"], q.raw_value(request, "reason"))
        return web.Response(status=202)

    async def restart(self, request: web.Request) -> web.Response:
        # bool.TryParse: a value it cannot read means the default, a new instance id.
        new_id = try_bool(q.raw_value(request, "restartWithNewInstanceId"))
        instance_id = await self._control.restart(request.match_info["instanceId"], new_id is not False)
        return await self._answer_started(request, instance_id)

    async def rewind(self, request: web.Request) -> web.Response:
        """A missing instance is 404 with a JSON string, as HttpApiHandler.cs,
        HandleRewindInstanceRequestAsync, answers it (its text has a stray '$' before the id)."""
        instance_id = request.match_info["instanceId"]
        try:
            await self._control.rewind(instance_id, q.raw_value(request, "reason"))
        except InstanceNotFoundError:
            return json_reply(f'No orchestration with instance ID "${instance_id}" found.', status=404)
        return web.Response(status=202)
