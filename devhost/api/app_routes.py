"""The app's HTTP triggers, served under the route prefix the way the Functions host routes them.

Route templates have ASP.NET Core's syntax and rules (route_templates.py); the most specific route
that matches a request serves it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

from ..bindings import client_binding_payload
from ..config import Settings
from ..engine.http_function import HttpCall
from ..engine.invoker import Invoker
from ..errors import RequestError
from ..execution_log import HTTP_REASON, executing
from ..functions import AppFunction, FunctionIndex, Kind
from ..indexing.model import CLIENT_BINDINGS
from .auth import HostKeys, require_key
from .route_templates import RouteTemplate, TemplateError, request_path

log = logging.getLogger("devhost.functions")
# Statuses that never carry a body: Kestrel throws when the host writes one (HandleNonBodyResponseWrite).
_NO_BODY = frozenset({204, 205, 304})


def _joined(values: Any) -> dict[str, str]:
    """Repeated keys as the host hands them to the worker: one value, the values joined with commas
    (`StringValues.ToString()` in GrpcMessageConversionExtensions.ToRpcHttp)."""
    out: dict[str, str] = {}
    for key in values:
        if key not in out:
            out[key] = ",".join(values.getall(key))
    return out


def _query(request: web.Request) -> dict[str, str]:
    """The query as the worker gets it: repeated keys joined, keys with no value left out (ToRpcHttp
    skips empty values)."""
    return {k: v for k, v in _joined(request.query).items() if v}


def auth_level(fn: AppFunction) -> str:
    """The function's auth level (anonymous, function, admin); `function` when unset, as in the host."""
    return str(fn.trigger.get("authLevel") or "function").lower()


@dataclass(slots=True)
class Route:
    function: AppFunction
    pattern: RouteTemplate
    template: str


def served_routes(functions: list[AppFunction]) -> list[Route]:
    """The HTTP functions the host would serve. It refuses, at start-up, a route under its own
    `admin` API and a route another function already has for one of the same methods, naming the
    conflict in the function's error (azure-functions-host, ScriptHost.ValidateFunction); the other
    functions run. devhost logs the same error and leaves the function out."""
    kept: list[Route] = []
    for fn in functions:
        route = fn.route.strip("/")
        problem = None
        compiled = None
        if route.lower().startswith("admin"):
            problem = "The specified route conflicts with one or more built in routes."
        else:
            try:
                compiled = RouteTemplate(fn.route)
            except TemplateError as exc:
                log.error("Function '%s' is not served: its route cannot be built: %s", fn.name, exc)
                continue
            other = next((r for r in kept if _same_route(r, route, fn.methods)), None)
            if other is not None:
                problem = (
                    "The route specified conflicts with the route defined by function "
                    f"'{other.function.name}'."
                )
        if problem or compiled is None:
            log.error("Function '%s' is not served, as the Functions host refuses it: %s", fn.name, problem)
            continue
        kept.append(Route(fn, compiled, fn.route))
    # ASP.NET's route tree tries the most specific route first (sorted is stable: same precedence,
    # the functions' order).
    return sorted(kept, key=lambda r: r.pattern.precedence)


def _same_route(route: Route, template: str, methods: list[str]) -> bool:
    """The same template (in any case) for a method both take (no methods: every method)."""
    if route.template.strip("/").lower() != template.lower():
        return False
    theirs = route.function.methods
    return not theirs or not methods or bool(set(theirs) & set(methods))


class AppRoutes:
    """Dispatches /{prefix}/... requests to the app's HTTP functions."""

    def __init__(
        self,
        index: FunctionIndex,
        settings: Settings,
        rpc_base_url: str,
        invoker: Invoker,
        keys: HostKeys | None = None,
    ) -> None:
        self._settings = settings
        self._rpc_base_url = rpc_base_url
        self._invoker = invoker  # where the functions run: the host process or its workers
        self._keys = keys  # None: no key checks, as with `func start`
        self.routes = served_routes(index.of_kind(Kind.HTTP))

    @property
    def prefix(self) -> str:
        return f"/{self._settings.route_prefix}" if self._settings.route_prefix else ""

    def url_of(self, base: str, fn: AppFunction) -> str:
        return f"{base}{self.prefix}/{fn.route.strip('/')}"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request_path(request.raw_path)
        path = path[len(self.prefix) :] if self.prefix else path
        allowed: list[str] = []
        for route in self.routes:
            values = route.pattern.match(path)
            if values is None:
                continue
            methods = route.function.methods
            if methods and request.method not in methods:
                allowed += methods
                continue
            if self._keys is not None:
                refused = require_key(self._keys, auth_level(route.function), request)
                if refused is not None:
                    return refused
            params = {k: v for k, v in values.items() if v is not None}
            return await self._invoke(route.function, request, params)
        if allowed:
            # 404, not 405: a route's methods are a constraint of the host's route, which then does
            # not match (WebScriptHostHttpRoutesManager, HttpMethodRouteConstraint).
            raise RequestError(
                f"No function serves {request.method} {request.path}; it takes "
                f"{', '.join(sorted(set(allowed)))}.",
                404,
            )
        raise RequestError(f"No function is registered for {request.path}.", 404)

    async def _invoke(
        self, fn: AppFunction, request: web.Request, params: dict[str, str]
    ) -> web.StreamResponse:
        """Call the function; if it fails, a bare 500 as the Functions host gives (its
        `ExceptionMiddleware` sets the status and writes no body), the traceback in the log. A body
        that cannot be read (too large, cut off) is the request's fault, answered as any other."""
        body = await request.read()
        if body and request.content_length is None:
            # The host hands the worker a body only when the request has a Content-Length above 0
            # (GrpcMessageConversionExtensions.ToRpcHttp), so a chunked body never reaches the app.
            log.warning(
                "Function '%s' gets no body for %s %s: the request was sent chunked (no Content-Length), "
                "and the Functions host passes a body to the Python worker only with a Content-Length. "
                "Send a Content-Length to have the body on Azure too.",
                fn.name,
                request.method,
                request.path,
            )
            body = b""
        try:
            return await self._call(fn, request, params, body)
        except Exception:
            log.exception("Function '%s' failed while serving %s %s", fn.name, request.method, request.path)
            return web.Response(status=500)

    async def _call(
        self, fn: AppFunction, request: web.Request, params: dict[str, str], body: bytes
    ) -> web.StreamResponse:
        origin = f"{request.scheme}://{request.host}"
        client = ""
        if any(b.get("type") in CLIENT_BINDINGS for b in fn.bindings):
            client = client_binding_payload(origin, self._rpc_base_url, self._settings)
        with executing(fn.name, HTTP_REASON) as run:
            call = HttpCall(
                request.method,
                str(request.url),
                _joined(request.headers),
                _query(request),
                params,
                body,
                client,
                fn.directory or str(self._settings.app_dir),
                run.id,
            )
            reply = await self._invoker.run_http(fn.name, call)
            if reply.failure is not None:
                run.failure = reply.failure[0]
        if reply.result is None:
            message, stack = reply.failure or ("no response", "")
            log.error(
                "Function '%s' failed while serving %s %s\n%s",
                fn.name,
                request.method,
                request.path,
                stack or message,
            )
            return web.Response(status=500)
        result = reply.result
        headers = CIMultiDict(result.headers)
        for cookie in result.cookies:
            headers.add("Set-Cookie", cookie)
        body = result.body
        if body and result.status in _NO_BODY and request.method != "HEAD":
            log.warning(
                "Function '%(name)s' answered %(status)d with a body of %(size)d bytes, which is not sent: "
                'a %(status)d has no body. On Azure the Functions host fails writing it (Kestrel: "Writing '
                'to the response body is invalid for responses with status code %(status)d."), logs that '
                "error and closes the connection once the headers are out. Return the %(status)d without "
                "a body.",
                {"name": fn.name, "status": result.status, "size": len(body)},
            )
            body = b""
        return web.Response(status=result.status, headers=headers, body=body)
