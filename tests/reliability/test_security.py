"""Security: loopback by default, keys as on Azure with --auth (never logged), RPC for loopback only, ids
that cannot reach outside their row."""

from __future__ import annotations

import json
import socket
import stat
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from devhost.api.auth import SYSTEM_KEY_NAME, is_loopback, loopback_only
from devhost.process import DevhostProcess

from .probe import WEBHOOKS, segment, send
from .workload import APP


def _refused(address: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex((address, port)) != 0


@pytest.fixture(scope="module")
def auth_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DevhostProcess, dict[str, Any]]]:
    """The reliability app with --auth (and debug logging), and the keys it wrote."""
    work = tmp_path_factory.mktemp("auth")
    proc = DevhostProcess(work, "memory", "--auth", "--verbose", app=APP).start()
    keys = json.loads((APP / ".devhost" / "keys.json").read_text())
    yield proc, keys
    proc.stop()


def test_keys_are_kept_in_a_private_file(auth_host: tuple[DevhostProcess, dict[str, Any]]) -> None:
    _, keys = auth_host
    path = APP / ".devhost" / "keys.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert keys["masterKey"] and keys["functionKeys"]["default"] and keys["systemKeys"][SYSTEM_KEY_NAME]


def test_function_routes_need_a_function_key(auth_host: tuple[DevhostProcess, dict[str, Any]]) -> None:
    proc, keys = auth_host
    route = "/api/orchestrators/E1_HelloSequence"
    for query, headers in [
        ({}, {}),
        ({"code": "wrong"}, {}),
        ({"code": keys["systemKeys"][SYSTEM_KEY_NAME]}, {}),
    ]:
        answer = send(proc.port, "POST", route, query=query, headers=headers)
        assert answer.status == 401, answer.body
        assert "key" in answer.json()["Message"]
    by_query = send(proc.port, "POST", route, query={"code": keys["functionKeys"]["default"]})
    by_header = send(proc.port, "POST", route, headers={"x-functions-key": keys["functionKeys"]["default"]})
    by_master = send(proc.port, "POST", route, query={"code": keys["masterKey"]})
    assert (by_query.status, by_header.status, by_master.status) == (202, 202, 202)


def test_auth_levels_anonymous_and_admin(auth_host: tuple[DevhostProcess, dict[str, Any]]) -> None:
    proc, keys = auth_host
    assert send(proc.port, "GET", "/api/anonymous/ping").status == 200
    assert (
        send(proc.port, "GET", "/api/manage/ping", query={"code": keys["functionKeys"]["default"]}).status
        == 401
    )
    assert send(proc.port, "GET", "/api/manage/ping", query={"code": keys["masterKey"]}).status == 200


def test_the_webhook_api_needs_the_system_key_and_its_urls_carry_it(
    auth_host: tuple[DevhostProcess, dict[str, Any]],
) -> None:
    proc, keys = auth_host
    system = keys["systemKeys"][SYSTEM_KEY_NAME]
    listed = f"{WEBHOOKS}/instances"
    assert send(proc.port, "GET", listed).status == 401
    assert send(proc.port, "GET", listed, query={"code": keys["functionKeys"]["default"]}).status == 401
    assert send(proc.port, "GET", f"{WEBHOOKS}/openapi.json").status == 401
    assert send(proc.port, "GET", listed.upper()).status == 401  # the prefix matches in any case
    assert send(proc.port, "GET", listed.upper(), query={"code": system}).status == 200
    assert send(proc.port, "GET", listed, query={"code": system}).status == 200
    assert send(proc.port, "GET", listed, query={"code": keys["masterKey"]}).status == 200
    # HttpStart answers with the SDK's check-status links (it called the RPC endpoint, which takes no
    # key): each carries code=<system key>, as on Azure, and works as it is.
    started = send(
        proc.port,
        "POST",
        "/api/orchestrators/E1_HelloSequence",
        query={"code": keys["functionKeys"]["default"]},
    ).json()
    for name in ("statusQueryGetUri", "sendEventPostUri", "terminatePostUri", "purgeHistoryDeleteUri"):
        assert parse_qs(urlsplit(started[name]).query)["code"] == [system], name
    status_url = urlsplit(started["statusQueryGetUri"])
    assert send(proc.port, "GET", f"{status_url.path}?{status_url.query}").status in (200, 202)
    webhook = send(
        proc.port, "POST", f"{WEBHOOKS}/orchestrators/SetStatusTest", query={"code": system}
    ).json()
    assert parse_qs(urlsplit(webhook["statusQueryGetUri"]).query)["code"] == [system]


def test_keys_never_appear_in_the_log(auth_host: tuple[DevhostProcess, dict[str, Any]]) -> None:
    proc, keys = auth_host
    secrets = [keys["masterKey"], *keys["functionKeys"].values(), *keys["systemKeys"].values()]
    # Requests that fail in every way, with the keys in queries, headers and paths.
    for key in secrets:
        send(proc.port, "POST", f"{WEBHOOKS}/orchestrators/NoSuch/{segment(key)}", query={"code": key})
        send(proc.port, "GET", f"/api/nowhere/{segment(key)}", headers={"x-functions-key": key})
        send(proc.port, "POST", "/api/orchestrators/E1_HelloSequence", query={"code": key}, body=b"{")
    log = proc.log()
    assert "Keys required (--auth)" in log
    for key in secrets:
        assert key not in log


def test_devhost_binds_loopback_only_by_default(reliability_host: DevhostProcess) -> None:
    rpc_port = int(urlsplit(reliability_host.rpc_base_url).port or 0)
    assert send(reliability_host.port, "GET", "/").status == 200
    # 127.0.0.2 is this machine too, but not the address devhost listens on.
    assert _refused("127.0.0.2", reliability_host.port)
    assert _refused("127.0.0.2", rpc_port)


def test_binding_another_address_warns(tmp_path: Path) -> None:
    proc = DevhostProcess(tmp_path, "memory", "--host", "0.0.0.0", app=APP).start()
    try:
        assert send(proc.port, "GET", "/").status == 200  # reached through loopback only
        assert "WARNING" in proc.log() and "bound to 0.0.0.0" in proc.log()
    finally:
        proc.stop()


@pytest.mark.parametrize(
    ("address", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.5.6.7", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("10.1.2.3", False),
        ("192.168.0.4", False),
        ("::", False),
        ("example.org", False),
        (None, False),
    ],
)
def test_what_counts_as_loopback(address: str | None, loopback: bool) -> None:
    assert is_loopback(address) is loopback


async def test_the_rpc_endpoint_refuses_callers_from_elsewhere() -> None:
    async def handler(request: object) -> str:
        return "served"

    refused = await loopback_only(SimpleNamespace(remote="10.1.2.3"), handler)  # type: ignore[arg-type]
    assert refused.status == 403
    assert "loopback" in json.loads(refused.text)["Message"]
    assert await loopback_only(SimpleNamespace(remote="127.0.0.1"), handler) == "served"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "odd_id", ["' OR '1'='1", "..", "x'); DELETE FROM instances; --", "%", "_", "*", "é'\""]
)
def test_ids_stay_in_their_own_row(reliability_host: DevhostProcess, odd_id: str) -> None:
    """Ids reach the store as values: no quoting escape, no wildcard, no path outside the task hub."""
    port = reliability_host.port
    neighbour = send(port, "POST", f"{WEBHOOKS}/orchestrators/SetStatusTest/neighbour-{len(odd_id)}")
    assert neighbour.status in (202, 409)
    # The bad-input suite shares this host and may have started some of these ids already.
    existed = send(port, "GET", f"{WEBHOOKS}/instances/{segment(odd_id)}").status == 200
    started = send(port, "POST", f"{WEBHOOKS}/orchestrators/SetStatusTest/{segment(odd_id)}")
    if odd_id == "..":
        assert started.status == 400  # its check-status URLs would resolve to another path
        assert "must not be '..'" in started.json()["Message"]
        return
    if existed:
        assert started.status == 409, started.body
    else:
        assert started.status == 202, started.body
        assert started.json()["id"] == odd_id
    shown = send(port, "GET", f"{WEBHOOKS}/instances/{segment(odd_id)}").json()
    assert shown["instanceId"] == odd_id
    listed = send(
        port, "GET", f"{WEBHOOKS}/instances", query={"instanceIdPrefix": odd_id, "top": "1000"}
    ).json()
    assert listed and all(s["instanceId"].startswith(odd_id) for s in listed)
    terminated = send(port, "POST", f"{WEBHOOKS}/instances/{segment(odd_id)}/terminate")
    assert terminated.status in (202, 410)
    still = send(port, "GET", f"{WEBHOOKS}/instances/neighbour-{len(odd_id)}").json()
    assert still["runtimeStatus"] in ("Running", "Pending")
