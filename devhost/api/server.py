"""The two HTTP servers: the public one (app routes + webhooks, like `func start` on port 7071) and
the loopback-only RPC endpoint the SDK's `DurableOrchestrationClient` calls."""

from __future__ import annotations

from aiohttp import web

from ..bindings import RPC_PATH, WEBHOOK_PATH
from .app_routes import AppRoutes
from .errors import error_response, json_errors
from .management import ManagementApi

MAX_BODY_BYTES = 100 * 1024 * 1024  # the Functions host's request size limit (100 MB)


def public_app(routes: AppRoutes, api: ManagementApi) -> web.Application:
    app = web.Application(middlewares=[json_errors], client_max_size=MAX_BODY_BYTES)
    app.add_routes(api.routes(WEBHOOK_PATH))

    async def root(request: web.Request) -> web.Response:
        return web.json_response({"message": "devhost is running", "functions": [
            {"name": r.function.name, "route": r.template, "methods": r.function.methods or ["*"]}
            for r in routes.routes
        ]})

    app.router.add_get("/", root)
    prefix = routes.prefix
    app.router.add_route("*", f"{prefix}/{{tail:.*}}" if prefix else "/{tail:.*}", routes.handle)
    return app


def rpc_app(api: ManagementApi) -> web.Application:
    app = web.Application(middlewares=[json_errors], client_max_size=MAX_BODY_BYTES)
    app.add_routes(api.routes(RPC_PATH.rstrip("/")))

    async def not_found(request: web.Request) -> web.Response:
        return error_response(404, f"No RPC endpoint at {request.path}.")

    app.router.add_route("*", "/{tail:.*}", not_found)
    return app
