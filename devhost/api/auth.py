"""Keys and who may call what: the Functions host's authorization, optional in devhost (`--auth`).

`func start` does not check keys; Azure does. With `--auth`, devhost checks them the way the Functions
host does: an HTTP function with auth level `function` needs a function key or the master key, one
with level `admin` the master key, `anonymous` none; the Durable HTTP API
(/runtime/webhooks/durabletask/...) needs the extension's system key (`durabletask_extension`) or the
master key. A key comes as `?code=` or in the `x-functions-key` header.

The keys live in `<app>/.devhost/keys.json` (git-ignored, mode 0600), created with random values on the
first start and kept afterwards, as the Functions host keeps its secrets in storage. They are never
logged; read them from that file. The RPC endpoint the SDK client calls takes no key: it answers
loopback callers only.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import os
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from ..errors import ConfigError
from .errors import error_response

SYSTEM_KEY_NAME = "durabletask_extension"
DEFAULT_FUNCTION_KEY = "default"
KEY_HEADER = "x-functions-key"
log = logging.getLogger("devhost.auth")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _new_key() -> str:
    # The Functions host's keys are 40-odd URL-safe characters; so are these. None starts with "-",
    # which a command line (`devhost instances --key KEY`) would take for an option.
    while True:
        key = secrets.token_urlsafe(40)
        if not key.startswith("-"):
            return key


@dataclass(frozen=True, slots=True)
class HostKeys:
    """The master key, the function keys (any opens a `function` route) and the system keys."""

    master: str = field(repr=False)
    function: dict[str, str] = field(repr=False)
    system: dict[str, str] = field(repr=False)

    @property
    def system_key(self) -> str:
        """The Durable extension's system key, which the check-status URLs carry as `code=`."""
        return self.system[SYSTEM_KEY_NAME]

    @classmethod
    def generate(cls) -> HostKeys:
        return cls(_new_key(), {DEFAULT_FUNCTION_KEY: _new_key()}, {SYSTEM_KEY_NAME: _new_key()})

    @classmethod
    def load_or_create(cls, path: Path) -> HostKeys:
        """The keys in `path`, created (mode 0600) when missing; ConfigError if the file is unusable."""
        if path.exists():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                keys = cls(str(data["masterKey"]), dict(data["functionKeys"]), dict(data["systemKeys"]))
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise ConfigError(
                    f"the key file {path} is unreadable ({type(exc).__name__}); delete it to get new keys"
                ) from exc
            if not keys.master or not keys.function or not keys.system.get(SYSTEM_KEY_NAME):
                raise ConfigError(f"the key file {path} lacks a master, function or '{SYSTEM_KEY_NAME}' key")
            return keys
        keys = cls.generate()
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(
            {"masterKey": keys.master, "functionKeys": keys.function, "systemKeys": keys.system}, indent=2
        )
        # Created 0600 from the start: no moment at which another user could read it.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text + "\n")
        return keys

    def _matches(self, given: str, candidates: list[str]) -> bool:
        given_bytes = given.encode("utf-8", "surrogatepass")
        # Compare with every candidate, in constant time each: no early exit that times could reveal.
        found = False
        for key in candidates:
            found |= hmac.compare_digest(given_bytes, key.encode("utf-8"))
        return found

    def allows(self, given: str | None, level: str) -> bool:
        """Whether key `given` opens a resource of auth `level` (anonymous, function, admin, system)."""
        if level == "anonymous":
            return True
        if not given:
            return False
        allowed = [self.master]
        if level == "function":
            allowed += self.function.values()
        elif level == "system":
            allowed += self.system.values()
        return self._matches(given, allowed)


def key_of(request: web.Request) -> str | None:
    """The key a request presents: the `x-functions-key` header, else `?code=`."""
    return request.headers.get(KEY_HEADER) or request.query.get("code")


def unauthorized() -> web.Response:
    return error_response(
        401,
        f"This endpoint needs a key: pass it as ?code= or in the {KEY_HEADER} header "
        "(the keys are in the app's .devhost/keys.json).",
    )


def require_key(keys: HostKeys, level: str, request: web.Request) -> web.Response | None:
    """None if the request may go on, else the 401 to answer."""
    return None if keys.allows(key_of(request), level) else unauthorized()


def system_key_middleware(
    keys: HostKeys, path_prefix: str
) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    """Requests under `path_prefix` (the webhooks, in any letter case) need the system key or the
    master key."""
    prefix = path_prefix.lower()

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path.lower()
        if path == prefix or path.startswith(prefix + "/"):
            refused = require_key(keys, "system", request)
            if refused is not None:
                return refused
        return await handler(request)

    return check


def is_loopback(host: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 (also IPv4-mapped) and `localhost`."""
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return bool(address.is_loopback or (mapped is not None and mapped.is_loopback))


@web.middleware
async def loopback_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The RPC endpoint has no keys, as in the extension; it answers callers on this machine only."""
    if not is_loopback(request.remote):
        return error_response(
            403, "The Durable RPC endpoint answers only callers on this machine (loopback)."
        )
    return await handler(request)
