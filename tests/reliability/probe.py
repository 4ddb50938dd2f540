"""Blocking HTTP for the bad-input and security suites: any method, path, query and body, sent as is."""

from __future__ import annotations

import http.client
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

WEBHOOKS = "/runtime/webhooks/durabletask"
UNHANDLED = "Something went wrong while processing your request."


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip()

    def json(self) -> Any:
        return json.loads(self.body)


def segment(value: str) -> str:
    """A path segment carrying `value` exactly: every reserved or non-ASCII character percent-encoded."""
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


def send(
    port: int,
    method: str,
    path: str,
    *,
    query: dict[str, str] | None = None,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 60.0,
) -> Answer:
    """One request to 127.0.0.1:`port`; `path` is sent as given (encode segments with `segment`)."""
    if query:
        path += "?" + urlencode({k: v.encode("utf-8", "surrogatepass") for k, v in query.items()})
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return Answer(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


def snapshot(port: int, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """Every instance (status without times that only reads change) and its full history."""
    listed = send(port, "GET", f"{WEBHOOKS}/instances", query={"top": "1000"}, headers=headers)
    assert listed.status == 200, listed.body
    state: dict[str, Any] = {}
    for status in listed.json():
        instance_id = status["instanceId"]
        full = send(
            port,
            "GET",
            f"{WEBHOOKS}/instances/{segment(instance_id)}",
            query={"showHistory": "true", "showHistoryOutput": "true"},
            headers=headers,
        )
        state[instance_id] = full.json() if full.status in (200, 202) else full.status
    return state


def settle(port: int, headers: dict[str, str] | None = None, timeout: float = 30.0) -> dict[str, Any]:
    """The snapshot once two in a row agree (work a request started has run its course).

    AssertionError if they still differ after `timeout` seconds: a host that never settles fails the
    test rather than handing it a state that is still moving.
    """
    end = time.monotonic() + timeout
    last = snapshot(port, headers)
    while time.monotonic() < end:
        time.sleep(0.1)
        current = snapshot(port, headers)
        if current == last:
            return current
        last = current
    raise AssertionError(f"the task hub was still changing after {timeout} s")
