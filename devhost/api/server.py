"""The two HTTP servers: the public one (app routes + webhooks, like `func start` on port 7071) and
the loopback-only RPC endpoint the SDK's `DurableOrchestrationClient` calls."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, cast

from aiohttp import web

from ..bindings import RPC_PATH, WEBHOOK_PATH
from ..engine.time_control import TimeControl
from .app_routes import AppRoutes
from .auth import HostKeys, loopback_only, system_key_middleware
from .browser_guard import BrowserPolicy, browser_guard
from .errors import error_response, json_errors
from .json_reply import json_reply
from .management import ManagementApi
from .openapi import openapi_document
from .path_values import plus_decoding
from .time_routes import time_routes

MAX_BODY_BYTES = 100 * 1024 * 1024  # the Functions host's request size limit (100 MB)
# aiohttp refuses request lines and headers over 8 KB with a plain-text 400 before any handler runs; an
# instance id may be 256 characters, each up to 12 bytes percent-encoded, plus query values: allow 64 KB,
# so such requests reach the handlers and get their JSON answers. A body's Content-Encoding is left to
# whoever reads the body, as the Functions host has no request decompression: an HTTP function gets the
# bytes that were sent, and a body that claims gzip but is not cannot fail the request's reading.
HANDLER_ARGS = {"max_line_size": 64 * 1024, "max_field_size": 64 * 1024, "auto_decompress": False}
OPENAPI_NAME = "openapi.json"


def public_app(
    routes: AppRoutes,
    api: ManagementApi,
    keys: HostKeys | None = None,
    policy: BrowserPolicy | None = None,
    extra_routes: Sequence[web.RouteDef] = (),
    keyed_paths: Sequence[str] = (),
    extra_openapi: dict[str, Any] | None = None,
    time: TimeControl | None = None,
) -> web.Application:
    """App routes under the route prefix and the webhooks; with `keys`, the webhooks need the system key.
    `policy` decides which Host names and browser origins are let in (default: loopback only).
    `extra_routes` (the dashboard's) are served beside the webhooks; with `keys`, paths under
    `keyed_paths` need the system key too, and `extra_openapi` describes them. `time`, the engine's
    clock, is served under /runtime/devhost/api/time."""
    middlewares: list[Any] = [
        browser_guard(policy or BrowserPolicy(), keys),
        json_errors,
        plus_decoding(WEBHOOK_PATH),
    ]
    if keys is not None:
        middlewares.append(system_key_middleware(keys, WEBHOOK_PATH))
        middlewares.extend(system_key_middleware(keys, path) for path in keyed_paths)
    app = web.Application(middlewares=middlewares, client_max_size=MAX_BODY_BYTES, handler_args=HANDLER_ARGS)
    document = openapi_document(api.settings, routes, extra_paths=extra_openapi)

    async def openapi(request: web.Request) -> web.Response:
        return json_reply(document)

    app.router.add_get(f"{WEBHOOK_PATH}/{OPENAPI_NAME}", openapi)
    app.add_routes(api.routes(WEBHOOK_PATH))
    app.add_routes(extra_routes)
    if time is not None:
        app.add_routes(time_routes(time))

    async def root(request: web.Request) -> web.Response:
        return json_reply(
            {
                "message": "devhost is running",
                "functions": [
                    {"name": r.function.name, "route": r.template, "methods": r.function.methods or ["*"]}
                    for r in routes.routes
                ],
            }
        )

    app.router.add_get("/", root)
    app.router.add_route("*", _under_prefix(routes.prefix), routes.handle)
    app.add_routes(api.routes_with_prefix_in_any_case(WEBHOOK_PATH))
    return app


def _under_prefix(prefix: str) -> str:
    """The aiohttp path of everything under the route prefix, which the host's route templates match
    in any letter case (`/API/...` as `/api/...`); a prefix of several segments is matched exactly."""
    segment = prefix.strip("/")
    if not segment:
        return "/{tail:.*}"
    if "/" in segment or "{" in segment or "}" in segment:
        return f"{prefix}/{{tail:.*}}"
    return f"/{{route_prefix:(?i:{re.escape(segment)})}}/{{tail:.*}}"


def rpc_app(api: ManagementApi, policy: BrowserPolicy | None = None) -> web.Application:
    """The SDK client's endpoint: no keys (as in the extension), so loopback callers only, and no page
    in a browser (a rebinding page is a loopback caller too)."""
    app = web.Application(
        middlewares=cast(
            list[Any],
            [loopback_only, browser_guard(policy or BrowserPolicy()), json_errors, plus_decoding("/")],
        ),
        client_max_size=MAX_BODY_BYTES,
        handler_args=HANDLER_ARGS,
    )
    prefix = RPC_PATH.rstrip("/")
    document = openapi_document(api.settings, None, prefix)

    async def openapi(request: web.Request) -> web.Response:
        return json_reply(document)

    app.router.add_get(f"{prefix}/{OPENAPI_NAME}", openapi)
    app.add_routes(api.routes(prefix))

    async def not_found(request: web.Request) -> web.Response:
        return error_response(404, f"No RPC endpoint at {request.path}.")

    app.router.add_route("*", "/{tail:.*}", not_found)
    return app
