"""What web pages open in the developer's browser may ask of devhost: Host and Origin checks, and CORS.

devhost listens on loopback without keys by default, like `func start`. That keeps other machines out, but
not the pages in the developer's browser: any page may send simple requests to `http://localhost:7071`,
and through DNS rebinding (a hostile name that resolves to 127.0.0.1) it may also read the answers. So, as
Jupyter's server does for the same reason:

- a request whose `Host` is not a name devhost answers to (a loopback name or address, the address it was
  told to bind, an IP address when bound to every interface, or a name allowed with `--allow-host`) is
  refused with 403: a rebinding page always sends its own hostile name;
- a state-changing request (POST, PUT, PATCH, DELETE) whose `Origin` is not devhost's own (the same
  allowed names on the same port) is refused with 403, unless the origin is listed with `--cors` or
  `--auth` is on and the request carries a valid key. Clients that are not browsers (curl, the SDK client,
  the app calling itself) send no `Origin` and are never refused by this rule;
- CORS headers are sent only for the origins the user lists (`--cors`, or `Host.CORS` in
  local.settings.json, as `func start` reads it); a CORS preflight (`OPTIONS` with
  `Access-Control-Request-Method`) is then answered by devhost itself, as the ASP.NET Core CORS middleware
  of the Functions host does.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp import web

from .auth import HostKeys, key_of
from .errors import error_response

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
WILDCARD_BINDS = frozenset({"", "0.0.0.0", "::", "[::]"})
ANY = "*"


def split_host(value: str) -> tuple[str, int | None] | None:
    """`name[:port]` or `[v6][:port]` as (lower-case name without brackets, port); None if malformed."""
    try:
        parts = urlsplit("//" + value)
        return (parts.hostname or "").lower(), parts.port
    except ValueError:
        return None


def _ip(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name.split("%")[0])
    except ValueError:
        return None


def _is_loopback_name(name: str) -> bool:
    if name == "localhost" or name.endswith(".localhost"):
        return True
    address = _ip(name)
    if address is None:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


@functools.lru_cache(maxsize=512)
def _allows_host(policy: BrowserPolicy, name: str) -> bool:
    """Every request asks about the same few names: parsing them as addresses each time shows up in
    a polling client's profile."""
    return policy._decide_host(name)


@dataclass(frozen=True, slots=True)
class BrowserPolicy:
    """The names devhost answers to and the cross-origin callers it lets in."""

    bind_host: str = "127.0.0.1"
    allowed_hosts: tuple[str, ...] = ()
    cors_origins: tuple[str, ...] = ()
    cors_credentials: bool = False

    def allows_host(self, name: str) -> bool:
        """Whether a request naming `name` in its Host header is for this devhost."""
        return _allows_host(self, name)

    def _decide_host(self, name: str) -> bool:
        allowed = {h.lower().strip("[]") for h in self.allowed_hosts}
        if ANY in allowed or name in allowed or _is_loopback_name(name):
            return True
        bind = self.bind_host.lower().strip("[]")
        if name == bind:
            return True
        # Bound to every interface: the machine's addresses are its names. A rebinding page sends its
        # hostile *name*; an IP address in Host means the page itself came from that address.
        return self.bind_host in WILDCARD_BINDS and _ip(name) is not None

    def is_cors_origin(self, origin: str) -> bool:
        return ANY in self.cors_origins or origin.rstrip("/").lower() in {
            o.rstrip("/").lower() for o in self.cors_origins
        }

    def is_own_origin(self, origin: str, host_port: int | None) -> bool:
        """An origin served by this devhost: http(s), an allowed name, the port the request came to."""
        try:
            parts = urlsplit(origin)
            name, port = (parts.hostname or "").lower(), parts.port
        except ValueError:
            return False
        if parts.scheme not in ("http", "https") or not name:
            return False
        default = 443 if parts.scheme == "https" else 80
        return self.allows_host(name) and (port or default) == (host_port or 80)


def _allow_hint(name: str) -> str:
    return (
        f"devhost does not answer to the host name '{name}': a web page may use such a name to reach a "
        "local server (DNS rebinding). If you meant to use this name, start devhost with "
        f"--allow-host {name or 'NAME'} (DevHost(allowed_hosts=[...]) in code)."
    )


def _origin_hint(origin: str) -> str:
    return (
        f"devhost refuses state-changing requests from pages of another origin ('{origin}'), so that a web "
        f"page cannot drive it. To allow this origin, start devhost with --cors {origin} (as with "
        "func start --cors), or use --auth and send a key."
    )


def _cors_headers(policy: BrowserPolicy, origin: str) -> dict[str, str]:
    allow_any = ANY in policy.cors_origins
    headers = {"Access-Control-Allow-Origin": ANY if allow_any else origin}
    if not allow_any and len(policy.cors_origins) > 1:
        headers["Vary"] = "Origin"  # the answer depends on which listed origin asked
    if policy.cors_credentials:
        headers["Access-Control-Allow-Credentials"] = "true"
    return headers


def browser_guard(
    policy: BrowserPolicy, keys: HostKeys | None = None
) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    """The aiohttp middleware that applies `policy` (and, with `keys`, lets keyed callers in)."""

    def has_key(request: web.Request) -> bool:
        given = key_of(request)
        return keys is not None and any(keys.allows(given, level) for level in ("function", "system"))

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        host = split_host(request.headers.get("Host", ""))
        if host is None or not policy.allows_host(host[0]):
            return error_response(403, _allow_hint(host[0] if host else ""))
        origin = request.headers.get("Origin")
        if origin is None:
            return await handler(request)
        listed = bool(policy.cors_origins) and policy.is_cors_origin(origin)
        preflight = request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers
        if preflight and policy.cors_origins and not listed:
            # ASP.NET Core's CORS middleware answers every preflight itself; no CORS header here.
            return web.Response(status=204)
        if listed and preflight:
            headers = _cors_headers(policy, origin)
            headers["Access-Control-Allow-Methods"] = request.headers["Access-Control-Request-Method"]
            wanted = request.headers.get("Access-Control-Request-Headers")
            if wanted:
                headers["Access-Control-Allow-Headers"] = wanted
            return web.Response(status=204, headers=headers)
        if (
            request.method in STATE_CHANGING
            and not listed
            and not policy.is_own_origin(origin, host[1])
            and not has_key(request)
        ):
            return error_response(403, _origin_hint(origin))
        response = await handler(request)
        if listed and not response.prepared:
            response.headers.update(_cors_headers(policy, origin))
        return response

    return guard
