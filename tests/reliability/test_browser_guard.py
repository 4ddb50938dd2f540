"""No web page reaches devhost through the browser: Host names, Origins of state-changing requests, CORS.

Each test sends raw HTTP with crafted `Host` and `Origin` headers to a `python -m devhost start` process,
as a page in the developer's browser (or a DNS-rebinding one) would.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from devhost.api.browser_guard import BrowserPolicy, split_host
from devhost.process import DevhostProcess

from .probe import WEBHOOKS, send
from .workload import APP

START = "/api/orchestrators/E1_HelloSequence"
LISTED = f"{WEBHOOKS}/instances"


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevhostProcess]:
    proc = DevhostProcess(tmp_path_factory.mktemp("guard"), "memory", app=APP).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def with_options(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevhostProcess]:
    proc = DevhostProcess(
        tmp_path_factory.mktemp("guard-options"),
        "memory",
        "--allow-host",
        "devbox.internal",
        "--cors",
        "http://localhost:3000,https://app.example",
        app=APP,
    ).start()
    yield proc
    proc.stop()


def _own(proc: DevhostProcess, name: str = "localhost") -> dict[str, str]:
    return {"Host": f"{name}:{proc.port}"}


def test_a_foreign_host_name_is_refused_with_how_to_allow_it(plain: DevhostProcess) -> None:
    for host in (f"evil.example:{plain.port}", "evil.example", f"localhost.evil.example:{plain.port}"):
        answer = send(plain.port, "GET", LISTED, headers={"Host": host})
        assert answer.status == 403, (host, answer.body)
        assert answer.content_type == "application/json"
        assert "--allow-host" in answer.json()["Message"]
    # The app's own routes too, not only the Durable API.
    assert send(plain.port, "POST", START, headers={"Host": "rebind.example"}).status == 403


def test_loopback_names_and_addresses_are_answered(plain: DevhostProcess) -> None:
    for name in ("localhost", "127.0.0.1", "[::1]", "app.localhost", "LOCALHOST"):
        answer = send(plain.port, "GET", LISTED, headers=_own(plain, name))
        assert answer.status == 200, (name, answer.body)


def test_a_missing_or_malformed_host_is_refused(plain: DevhostProcess) -> None:
    assert send(plain.port, "GET", LISTED, headers={"Host": ""}).status == 403
    assert send(plain.port, "GET", LISTED, headers={"Host": "localhost:notaport"}).status == 403


def test_allow_host_adds_a_name(with_options: DevhostProcess, plain: DevhostProcess) -> None:
    headers = {"Host": f"devbox.internal:{with_options.port}"}
    assert send(with_options.port, "GET", LISTED, headers=headers).status == 200
    assert send(plain.port, "GET", LISTED, headers=headers).status == 403


def test_a_post_from_another_origin_is_refused_and_starts_nothing(plain: DevhostProcess) -> None:
    before = send(plain.port, "GET", LISTED, headers=_own(plain)).json()
    for origin in ("https://evil.example", "null", f"http://localhost:{plain.port + 1}", "http://localhost"):
        answer = send(plain.port, "POST", START, headers={**_own(plain), "Origin": origin})
        assert answer.status == 403, (origin, answer.body)
        assert "--cors" in answer.json()["Message"]
    for method in ("DELETE", "PUT", "PATCH"):
        headers = {**_own(plain), "Origin": "https://evil.example"}
        assert send(plain.port, method, LISTED, headers=headers).status == 403
    assert send(plain.port, "GET", LISTED, headers=_own(plain)).json() == before


def test_own_origin_and_no_origin_may_change_state(plain: DevhostProcess) -> None:
    """devhost's own pages (any of its loopback names, its port), curl and the SDK client (no Origin)."""
    for origin in (f"http://localhost:{plain.port}", f"http://127.0.0.1:{plain.port}", None):
        headers = _own(plain) | ({"Origin": origin} if origin else {})
        answer = send(plain.port, "POST", START, headers=headers)
        assert answer.status == 202, (origin, answer.body)


def test_reads_from_another_origin_get_no_cors_headers(plain: DevhostProcess) -> None:
    answer = send(plain.port, "GET", LISTED, headers={**_own(plain), "Origin": "https://evil.example"})
    assert answer.status == 200
    assert not [h for h in answer.headers if h.startswith("access-control-")]
    preflight = send(
        plain.port,
        "OPTIONS",
        START,
        headers={**_own(plain), "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers


def test_cors_origins_get_headers_a_preflight_and_may_post(with_options: DevhostProcess) -> None:
    origin = "http://localhost:3000"
    preflight = send(
        with_options.port,
        "OPTIONS",
        START,
        headers={
            **_own(with_options),
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status == 204
    assert preflight.headers["access-control-allow-origin"] == origin
    assert preflight.headers["access-control-allow-methods"] == "POST"
    assert preflight.headers["access-control-allow-headers"] == "content-type"
    started = send(with_options.port, "POST", START, headers={**_own(with_options), "Origin": origin})
    assert started.status == 202, started.body
    assert started.headers["access-control-allow-origin"] == origin
    assert "access-control-allow-credentials" not in started.headers
    other = send(
        with_options.port, "POST", START, headers={**_own(with_options), "Origin": "https://evil.example"}
    )
    assert other.status == 403


def test_the_rpc_endpoint_refuses_foreign_hosts_and_origins(plain: DevhostProcess) -> None:
    """A rebinding page is a loopback caller too: the SDK's RPC endpoint checks Host and Origin."""
    rpc = urlsplit(plain.rpc_base_url)
    port = rpc.port
    assert port is not None
    path = f"{rpc.path}instances/"
    assert send(port, "GET", path, headers={"Host": f"evil.example:{port}"}).status == 403
    posted = send(
        port,
        "POST",
        f"{rpc.path}orchestrators/E1_HelloSequence",
        body=b"null",
        headers={
            "Host": f"127.0.0.1:{port}",
            "Origin": "https://evil.example",
            "Content-Type": "application/json",
        },
    )
    assert posted.status == 403
    assert send(port, "GET", path, headers={"Host": f"127.0.0.1:{port}"}).status == 200


def test_with_auth_a_keyed_cross_origin_call_is_let_in(tmp_path: Path) -> None:
    proc = DevhostProcess(tmp_path, "memory", "--auth", app=APP).start()
    try:
        keys: dict[str, Any] = json.loads((APP / ".devhost" / "keys.json").read_text())
        headers = {**_own(proc), "Origin": "https://tool.example"}
        assert send(proc.port, "POST", START, headers=headers).status == 403
        keyed = {**headers, "x-functions-key": keys["functionKeys"]["default"]}
        assert send(proc.port, "POST", START, headers=keyed).status == 202
        wrong = {**headers, "x-functions-key": "not-a-key"}
        assert send(proc.port, "POST", START, headers=wrong).status == 403
    finally:
        proc.stop()


def test_cors_from_local_settings_as_func_start_reads_it(tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()
    for name in ("function_app.py", "host.json"):
        (app / name).write_text((APP / name).read_text())
    settings = json.loads((APP / "local.settings.json").read_text())
    settings["Host"] = {"CORS": "http://localhost:5173", "CORSCredentials": True}
    (app / "local.settings.json").write_text(json.dumps(settings))
    proc = DevhostProcess(tmp_path, "memory", app=app).start()
    try:
        answer = send(proc.port, "GET", LISTED, headers={**_own(proc), "Origin": "http://localhost:5173"})
        assert answer.headers["access-control-allow-origin"] == "http://localhost:5173"
        assert answer.headers["access-control-allow-credentials"] == "true"
    finally:
        proc.stop()


@pytest.mark.parametrize(
    ("bind", "name", "allowed"),
    [
        ("127.0.0.1", "192.168.1.20", False),
        ("192.168.1.20", "192.168.1.20", True),
        ("0.0.0.0", "192.168.1.20", True),
        ("0.0.0.0", "rebind.example", False),
        ("::", "fe80::1", True),
    ],
)
def test_the_bound_address_is_a_name_devhost_answers_to(bind: str, name: str, allowed: bool) -> None:
    assert BrowserPolicy(bind_host=bind).allows_host(name) is allowed


def test_host_values_are_split_like_urls() -> None:
    assert split_host("LocalHost:7071") == ("localhost", 7071)
    assert split_host("[::1]:80") == ("::1", 80)
    assert split_host("localhost:99999") is None


def test_any_origin_with_credentials_is_refused_at_start(tmp_path: Path) -> None:
    """ASP.NET Core (func start's CORS) refuses '*' with credentials as an insecure policy."""
    proc = DevhostProcess(tmp_path, "memory", "--cors", "*", "--cors-credentials", app=APP)
    with pytest.raises(RuntimeError, match="cannot be combined with credentials"):
        proc.start()


def test_a_preflight_from_an_unlisted_origin_gets_204_without_cors_headers(
    with_options: DevhostProcess,
) -> None:
    answer = send(
        with_options.port,
        "OPTIONS",
        START,
        headers={
            **_own(with_options),
            "Origin": "https://evil.example",
            "Access-Control-Request-Method": "POST",
        },
    )
    assert answer.status == 204
    assert not [h for h in answer.headers if h.startswith("access-control-")]
