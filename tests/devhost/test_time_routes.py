"""/runtime/devhost/api/time: the clock read and moved over HTTP, its refusals, and the status payloads'
virtual time."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from devhost.clock import RealClock
from devhost.host import DevHost

from .helpers import APPS, WEBHOOKS, call, idle, wait_until

TIME = "/runtime/devhost/api/time"


@pytest.fixture
async def monitor_host() -> AsyncIterator[DevHost]:
    async with DevHost(APPS / "monitor", store="memory", port=0, rpc_port=0) as host:
        yield host


async def _started_monitor(host: DevHost) -> str:
    client = host.client()
    instance_id = await client.start_new("monitor")
    await wait_until(client, instance_id, lambda s: s.custom_status is not None)
    await idle(host)
    return instance_id


async def test_advance_by_three_hours_runs_three_iterations(monitor_host: DevHost) -> None:
    monitor = await _started_monitor(monitor_host)
    before = await call(monitor_host, "GET", TIME)
    assert before.status == 200
    assert before.json()["mode"] == "off" and before.json()["aheadBySeconds"] == 0

    moved = await call(monitor_host, "POST", f"{TIME}/advance", body={"by": "3h"})
    assert moved.status == 200, moved.text
    answer = moved.json()
    assert answer["dueTimesPassed"] == 3 and answer["advancedBy"] == "3h"
    assert answer["aheadBySeconds"] >= 3 * 3600
    status = await monitor_host.client().get_status(monitor)
    assert status.custom_status["iterations"] == 3

    # The ISO 8601 form, and a number of seconds, do the same.
    assert (await call(monitor_host, "POST", f"{TIME}/advance", body={"by": "PT1H"})).json()[
        "dueTimesPassed"
    ] == 1
    assert (await call(monitor_host, "POST", f"{TIME}/advance", body={"by": 3600})).json()[
        "dueTimesPassed"
    ] == 1
    assert (await monitor_host.client().get_status(monitor)).custom_status["iterations"] == 5


async def test_status_payloads_carry_the_virtual_time_once_it_is_ahead(monitor_host: DevHost) -> None:
    monitor = await _started_monitor(monitor_host)
    plain = await call(monitor_host, "GET", f"{WEBHOOKS}/instances/{monitor}")
    assert "devhostVirtualTime" not in plain.json()
    await monitor_host.advance(timedelta(hours=2))
    ahead = await call(monitor_host, "GET", f"{WEBHOOKS}/instances/{monitor}")
    virtual = ahead.json()["devhostVirtualTime"]
    assert virtual >= ahead.json()["lastUpdatedTime"]
    listed = await call(monitor_host, "GET", f"{WEBHOOKS}/instances")
    assert all("devhostVirtualTime" in entry for entry in listed.json())
    # The SDK client still reads the payload (it keeps the extra key as an attribute).
    # The virtual clock goes on with the real one, so a later read may be in the next second.
    status = await monitor_host.client().get_status(monitor)
    assert status.runtime_status.value == "Running"
    later = datetime.fromisoformat(status.devhostVirtualTime) - datetime.fromisoformat(virtual)
    assert timedelta(0) <= later < timedelta(minutes=1), (virtual, status.devhostVirtualTime)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"{not json", "must be JSON"),
        (b"[1]", "JSON object"),
        (b"{}", "Say how far"),
        (b'{"by": "soon"}', "not a duration"),
        (b'{"by": "-1h"}', "not a duration"),
        (b'{"by": true}', "not a duration"),
        (b'{"by": null}', "Say how far"),
        (b'{"by": "P9999D"}', "smaller steps"),
        (b'{"by": "1h", "timeout": 0}', "'timeout'"),
        (b'{"by": "1h", "timeout": "x"}', "'timeout'"),
        (b'{"by": "1h", "speed": 2}', "Unknown field"),
        (b"[" * 100_000, "must be JSON"),
    ],
)
async def test_bad_advances_are_400_and_leave_the_clock(
    monitor_host: DevHost, data: bytes, fragment: str
) -> None:
    reply = await call(
        monitor_host, "POST", f"{TIME}/advance", data=data, headers={"Content-Type": "application/json"}
    )
    assert reply.status == 400, reply.text
    assert reply.headers["Content-Type"].startswith("application/json")
    assert fragment in reply.json()["Message"]
    assert (await call(monitor_host, "GET", TIME)).json()["aheadBySeconds"] == 0


async def test_wrong_methods_are_json_errors(monitor_host: DevHost) -> None:
    for method, path in (("GET", f"{TIME}/advance"), ("DELETE", TIME)):
        reply = await call(monitor_host, method, path)
        assert reply.status == 405 and "Message" in reply.json()


async def test_a_host_on_the_real_clock_says_it_cannot_be_moved() -> None:
    async with DevHost(APPS / "monitor", store="memory", port=0, rpc_port=0, clock=RealClock()) as host:
        assert (await call(host, "GET", TIME)).json()["mode"] == "real"
        reply = await call(host, "POST", f"{TIME}/advance", body={"by": "1h"})
        assert reply.status == 409 and "real clock" in reply.json()["Message"]


async def test_with_auth_the_time_routes_need_the_system_key(tmp_path: Path) -> None:
    app = shutil.copytree(APPS / "monitor", tmp_path / "app")
    async with DevHost(app, store="memory", port=0, rpc_port=0, auth=True) as host:
        assert (await call(host, "GET", TIME)).status == 401
        assert (await call(host, "POST", f"{TIME}/advance", body={"by": "1h"})).status == 401
        key = json.loads((app / ".devhost" / "keys.json").read_text())["systemKeys"]["durabletask_extension"]
        headers = {"x-functions-key": key}
        assert (await call(host, "GET", TIME, headers=headers)).status == 200
        moved = await call(host, "POST", f"{TIME}/advance", body={"by": "1h"}, headers=headers)
        assert moved.status == 200 and moved.json()["aheadBySeconds"] >= 3600


async def test_a_page_from_another_origin_cannot_move_the_clock(monitor_host: DevHost) -> None:
    reply = await call(
        monitor_host, "POST", f"{TIME}/advance", body={"by": "1h"}, headers={"Origin": "http://evil.example"}
    )
    assert reply.status == 403
    assert (await call(monitor_host, "GET", TIME)).json()["aheadBySeconds"] == 0
