"""The dashboard's HTTP routes on the public server, under /runtime/devhost/.

    GET /runtime/devhost/dashboard/                  the page (static files shipped in this package)
    GET /runtime/devhost/api/orchestrators           the app's orchestrator names, for the start form
    GET /runtime/devhost/api/instances               the list, newest first, with a name filter (listing.py)
    GET /runtime/devhost/api/instances/{id}/timeline task bars and custom-status changes of an instance
    GET, POST /runtime/devhost/api/time[/advance]    the engine's clock (devhost/api/time_routes.py)

Everything else the page does (status, history, every action) goes through the Durable HTTP API
(/runtime/webhooks/durabletask/), as any client's calls do, so the page shows exactly what that API
answers. With `--auth` the API routes need the system key, as the webhooks do; the page passes on
the `code` it was opened with.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from aiohttp import web

from .. import history as h
from ..api.json_reply import json_reply
from ..engine.control import Control
from ..functions import Kind
from .listing import list_instances
from .views import status_changes, task_bars

PREFIX = "/runtime/devhost"
DASHBOARD_PATH = f"{PREFIX}/dashboard/"
API_PATH = f"{PREFIX}/api"
_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
_FILES = resources.files(__package__) / "static"


def dashboard_routes(control: Control) -> list[web.RouteDef]:
    async def page(request: web.Request) -> web.StreamResponse:
        name = request.match_info.get("file") or "index.html"
        suffix = name[name.rfind(".") :] if "." in name else ""
        source = _FILES / name
        if "/" in name or suffix not in _TYPES or not source.is_file():
            return json_reply({"Message": f"No dashboard file {name!r}."}, status=404)
        return web.Response(
            body=source.read_bytes(),
            content_type=_TYPES[suffix],
            charset="utf-8",
            headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
        )

    async def to_page(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(DASHBOARD_PATH + (f"?{request.query_string}" if request.query_string else ""))

    async def orchestrators(request: web.Request) -> web.Response:
        names = sorted(fn.name for fn in control.index.functions.values() if fn.kind is Kind.ORCHESTRATOR)
        return json_reply(names)

    async def instances(request: web.Request) -> web.Response:
        return await list_instances(control.store, request)

    async def timeline(request: web.Request) -> web.Response:
        record = await control.require(request.match_info["instanceId"])
        history = await control.history(record.instance_id)
        return json_reply(
            {
                "instanceId": record.instance_id,
                "name": record.name,
                "runtimeStatus": record.runtime_status.value,
                "createdTime": record.created_time,
                "lastUpdatedTime": record.last_updated_time,
                "parent": record.parent,
                "tasks": task_bars(history, record.created_time, ended=record.runtime_status.is_terminal),
                "customStatus": status_changes(record),
                "now": h.format_time(control.clock.now()),
            }
        )

    return [
        web.get(PREFIX + "/dashboard", to_page),
        web.get(DASHBOARD_PATH, page),
        web.get(DASHBOARD_PATH + "{file}", page),
        web.get(f"{API_PATH}/orchestrators", orchestrators),
        web.get(f"{API_PATH}/instances", instances),
        web.get(f"{API_PATH}/instances/{{instanceId}}/timeline", timeline),
    ]


def _json(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema or {}}}}


def openapi_paths() -> dict[str, Any]:
    """The routes above as OpenAPI paths, for the description the host serves (devhost/api/openapi.py)."""
    error = {"$ref": "#/components/schemas/Error"}
    unauthorized = {"401": _json("missing or wrong system key (with --auth)", error)}
    file_param = {
        "name": "file",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "minLength": 1},
    }
    id_param = {
        "name": "instanceId",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "minLength": 1},
    }
    page = {
        "200": {
            "description": "a file of the page",
            "content": {t: {"schema": {"type": "string"}} for t in sorted(set(_TYPES.values()))},
        },
        "404": _json("no such file", error),
    }
    timeline = {
        "type": "object",
        "required": ["instanceId", "runtimeStatus", "tasks", "customStatus"],
        "properties": {
            "instanceId": {"type": "string"},
            "name": {"type": "string"},
            "runtimeStatus": {"type": "string"},
            "tasks": {"type": "array", "items": {"type": "object"}},
            "customStatus": {"type": "object"},
        },
    }
    return {
        f"{PREFIX}/dashboard": {
            "get": {
                "summary": "Redirect to the dashboard page",
                "responses": {"302": {"description": "to it"}},
            }
        },
        DASHBOARD_PATH: {"get": {"summary": "The dashboard page", "responses": page}},
        DASHBOARD_PATH + "{file}": {
            "get": {"summary": "A file of the dashboard page", "parameters": [file_param], "responses": page}
        },
        f"{API_PATH}/orchestrators": {
            "get": {
                "summary": "The app's orchestrator names",
                "responses": {
                    "200": _json("names", {"type": "array", "items": {"type": "string"}}),
                    **unauthorized,
                },
            }
        },
        f"{API_PATH}/instances": {
            "get": {
                "summary": "A page of instances, newest first (listing.py)",
                "parameters": [
                    {"name": name, "in": "query", "required": False, "schema": schema}
                    for name, schema in (
                        ("runtimeStatus", {"type": "string"}),
                        ("instanceIdPrefix", {"type": "string"}),
                        ("createdTimeFrom", {"type": "string"}),
                        ("createdTimeTo", {"type": "string"}),
                        ("name", {"type": "string"}),
                        ("sort", {"type": "string", "enum": ["created", "updated", "id"]}),
                        ("top", {"type": "integer", "minimum": 1, "maximum": 500}),
                        ("continuationToken", {"type": "string"}),
                    )
                ],
                "responses": {
                    "200": _json(
                        "the page",
                        {
                            "type": "object",
                            "required": ["instances", "continuationToken", "order"],
                            "properties": {
                                "instances": {"type": "array", "items": {"type": "object"}},
                                "continuationToken": {"type": "string"},
                                "order": {"type": "string", "enum": ["created", "updated", "id"]},
                            },
                        },
                    ),
                    "400": _json("a filter, sort, page size or token that is not valid", error),
                    **unauthorized,
                },
            }
        },
        f"{API_PATH}/instances/{{instanceId}}/timeline": {
            "get": {
                "summary": "An instance's task bars and custom-status changes",
                "parameters": [id_param],
                "responses": {
                    "200": _json("the timeline", timeline),
                    "404": _json("no such instance", error),
                    **unauthorized,
                },
            }
        },
    }
