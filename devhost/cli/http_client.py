"""A small client of the Durable HTTP API for the command line (standard library only, synchronous)."""

from __future__ import annotations

import argparse
import json
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

WEBHOOKS = "/runtime/webhooks/durabletask"
DEFAULT_URL = "http://localhost:7071"
KEY_HEADER = "x-functions-key"
SYSTEM_KEY = "durabletask_extension"


class CliError(Exception):
    """A failure the command reports in one line and exits 1 for (the host refused, or cannot be reached)."""


class UsageError(CliError):
    """Arguments the command refuses before calling the host: one line, exit code 2 (as argparse's own)."""


def host_url(value: str) -> str:
    """An --url value: http(s)://host[:port][/path]; argparse says why not otherwise (exit code 2)."""
    try:
        parts = urllib.parse.urlsplit(value)
        port = parts.port  # ValueError for a port out of range or not a number
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{value!r} is not a URL: {error}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise argparse.ArgumentTypeError(f"{value!r} is not a host URL such as {DEFAULT_URL}")
    del port
    return value


def header_value(value: str) -> str:
    """A --key value: sent as a header, so printable ASCII without spaces (argparse's exit code 2)."""
    if not value or not all(33 <= ord(c) < 127 for c in value):
        raise argparse.ArgumentTypeError("a key is printable ASCII text without spaces or control characters")
    return value


@dataclass(slots=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: Any

    def object(self) -> dict[str, Any]:
        """The body as a JSON object; CliError if the host answered something else."""
        if self.body is None:
            return {}
        if not isinstance(self.body, dict):
            raise CliError(f"the host answered {self.status} with {str(self.body)[:80]!r}, not a JSON object")
        return self.body


@dataclass(slots=True)
class ApiClient:
    """Calls one host's Durable HTTP API; `key` is the system or master key (hosts started with --auth)."""

    url: str = DEFAULT_URL
    key: str | None = field(default=None, repr=False)
    timeout: float = 30.0

    def request(
        self,
        method: str,
        path: str,
        *,
        query: list[tuple[str, str]] | None = None,
        body: Any = None,
        send_body: bool = False,
        headers: dict[str, str] | None = None,
        ok: tuple[int, ...] = (200, 202),
        base: str = WEBHOOKS,
    ) -> Reply:
        """One call to `base` + `path`; CliError with the host's own message on any status outside `ok`."""
        target = self.url.rstrip("/") + base + path
        if query:
            # Values typed as bytes that are not UTF-8 arrive as surrogate escapes: sent as those bytes.
            target += "?" + urllib.parse.urlencode(query, errors="surrogateescape")
        data = json.dumps(body).encode() if send_body else None
        # http.client and email, a fifth of `devhost --help` if imported with this module.
        from urllib import error as urllib_error
        from urllib import request as urllib_request

        request = urllib_request.Request(target, data=data, method=method)
        if send_body:
            request.add_header("Content-Type", "application/json")
        if self.key:
            request.add_header(KEY_HEADER, self.key)
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib_request.urlopen(request, timeout=self.timeout) as response:
                return Reply(response.status, dict(response.headers), _decode(response.read()))
        except urllib_error.HTTPError as error:
            reply = Reply(error.code, dict(error.headers), _decode(error.read()))
            if error.code in ok:
                return reply
            raise CliError(_message(method, target, reply)) from None
        except (urllib_error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise CliError(
                f"cannot reach {self.url}: {reason} (is `devhost start` running there? --url names another)"
            ) from None


def instance_path(instance_id: str, *rest: str) -> str:
    """The API path of an instance (and an operation on it); every segment sent exactly as given."""
    if not instance_id or any(not part for part in rest):
        # An empty segment would name another route ("instances/" lists every instance).
        raise UsageError("an instance ID or event name cannot be empty")
    parts = [urllib.parse.quote(p, safe="", errors="surrogateescape") for p in (instance_id, *rest)]
    return "/instances/" + "/".join(parts)


def _decode(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


def _message(method: str, target: str, reply: Reply) -> str:
    body = reply.body
    text = body.get("Message") or body.get("message") if isinstance(body, dict) else body
    where = target.split("?", 1)[0]
    if reply.status == 401:
        text = f"{text or 'unauthorized'} - the host checks keys (--auth): pass --key or --keys-file"
    return f"{method} {where} answered {reply.status}: {text or '(no message)'}"


def key_from_file(path: Path) -> str:
    """The system key from a host's keys file (<app>/.devhost/keys.json)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise UsageError(f"cannot read the keys file {path}: {error.strerror}") from None
    except ValueError as error:
        raise UsageError(f"the keys file {path} is not JSON: {error}") from None
    key = None
    if isinstance(data, dict):
        system = data.get("systemKeys")
        key = (system.get(SYSTEM_KEY) if isinstance(system, dict) else None) or data.get("masterKey")
    if not isinstance(key, str) or not key:
        raise UsageError(f"the keys file {path} holds no system key ({SYSTEM_KEY}) and no master key")
    return key
