"""An eternal orchestration (the monitor pattern) under the pytest plugin: time skips only while a test
waits for something, and `advance` runs it exactly as far as the clock is moved."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from devhost.testing import TestHost

pytestmark = pytest.mark.devhost(app="tests/devhost/apps/monitor")


async def _iterations(host: TestHost, instance_id: str) -> int:
    status = await host.client().get_status(instance_id)
    return int(status.custom_status["iterations"])


async def _fired(host: TestHost, instance_id: str) -> int:
    return sum(e["EventType"] == "TimerFired" for e in await host.history(instance_id))


async def test_the_short_one_completes_and_the_monitor_waits_until_advanced(durable_host: TestHost) -> None:
    client = durable_host.client()
    monitor = await client.start_new("monitor")
    await durable_host.wait_for(monitor, custom_status=lambda s: s is not None)
    started = durable_host.now()
    short = await client.start_new("short")

    done = await durable_host.wait_for(short)
    assert done.runtime_status.value == "Completed"
    ended = datetime.fromisoformat(done.output["ended"]) - datetime.fromisoformat(done.output["started"])
    assert timedelta(minutes=5) <= ended < timedelta(minutes=6)

    # Nothing awaits the monitor: the host settles with its hourly timer pending and the clock stays.
    await durable_host.wait_idle(timeout=10)
    assert await _iterations(durable_host, monitor) == 0
    assert await _fired(durable_host, monitor) == 0
    assert durable_host.now() - started < timedelta(minutes=30)

    moved = await durable_host.advance(timedelta(hours=3))
    assert moved.steps == 3
    assert await _iterations(durable_host, monitor) == 3
    assert (await client.get_status(monitor)).runtime_status.value == "Running"
    await durable_host.wait_idle(timeout=10)
    assert await _iterations(durable_host, monitor) == 3


async def test_each_iteration_runs_at_its_own_hour(durable_host: TestHost) -> None:
    client = durable_host.client()
    monitor = await client.start_new("monitor")
    first = await durable_host.wait_for(monitor, custom_status=lambda s: s is not None)
    await durable_host.advance(timedelta(hours=2, minutes=30))
    status = await client.get_status(monitor)
    assert status.custom_status["iterations"] == 2
    checked = datetime.fromisoformat(status.custom_status["checkedAt"])
    gap = checked - datetime.fromisoformat(first.custom_status["checkedAt"])
    # current_utc_datetime of the third execution: two timer hours later (plus the moments the host
    # took to run each step on the wall clock).
    assert timedelta(hours=2) <= gap < timedelta(hours=2, minutes=1)


async def test_a_wait_for_the_monitor_stops_the_clock_at_the_match(durable_host: TestHost) -> None:
    client = durable_host.client()
    monitor = await client.start_new("monitor")
    reached = await durable_host.wait_for(monitor, custom_status=lambda s: s and s["iterations"] >= 4)
    assert reached.custom_status["iterations"] == 4
    await durable_host.wait_idle(timeout=10)
    assert await _iterations(durable_host, monitor) == 4


async def test_waiting_for_the_monitor_to_end_fails_within_its_timeout(durable_host: TestHost) -> None:
    client = durable_host.client()
    monitor = await client.start_new("monitor")
    with pytest.raises(AssertionError, match="did not match within"):
        await durable_host.wait_for(monitor, runtime_status="Completed", timeout=0.5)
    await durable_host.wait_idle(timeout=10)  # the skipping ended with the wait


@pytest.mark.devhost(app="tests/devhost/apps/monitor", time_skipping=False)
async def test_without_skipping_only_advance_moves_the_clock(durable_host: TestHost) -> None:
    client = durable_host.client()
    monitor = await client.start_new("monitor")
    short = await client.start_new("short")
    await durable_host.wait_for(monitor, custom_status=lambda s: s is not None)
    with pytest.raises(AssertionError, match="did not match within"):
        await durable_host.wait_for(short, timeout=0.3)
    await durable_host.advance(timedelta(hours=3))
    assert (await durable_host.wait_for(short, timeout=5)).runtime_status.value == "Completed"
    assert await _iterations(durable_host, monitor) == 3
