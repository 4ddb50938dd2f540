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

from aiohttp import web

from .. import history as h
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
            return web.json_response({"Message": f"No dashboard file {name!r}."}, status=404)
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
        return web.json_response(names)

    async def instances(request: web.Request) -> web.Response:
        return await list_instances(control.store, request)

    async def timeline(request: web.Request) -> web.Response:
        record = await control.require(request.match_info["instanceId"])
        history = await control.history(record.instance_id)
        return web.json_response(
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
