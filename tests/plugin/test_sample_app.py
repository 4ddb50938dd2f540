"""The sample app under devhost's pytest plugin: `durable_host` runs the app `devhost_app` names (".")."""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from devhost.testing import TestHost, _options, _run_host

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.devhost(time_skipping=False)  # with skipping, the offer's timer would expire at once
async def test_wait_for_a_custom_status_then_completion(durable_host: TestHost) -> None:
    client = durable_host.client()
    instance_id = await client.start_new("ReserveTicket", None, {"userId": "alice", "discountTimeout": 60})

    offered = await durable_host.wait_for(instance_id, custom_status=lambda s: s and "discount" in s)
    assert offered.runtime_status.value == "Running"
    assert offered.custom_status["discountTimeout"] == 60

    await client.raise_event(instance_id, "BookingConfirmed", True)
    done = await durable_host.wait_for(instance_id, runtime_status="Completed")
    assert done.output is True
    assert done.custom_status == {"message": "Thank you for confirming your booking."}


async def test_wait_for_fails_at_once_when_the_instance_ends_otherwise(durable_host: TestHost) -> None:
    client = durable_host.client()
    instance_id = await client.start_new("SetStatusTest", None, {"timeout": "soon"})
    with pytest.raises(AssertionError, match="ended Failed"):
        await durable_host.wait_for(instance_id, runtime_status="Completed")


@pytest.mark.devhost(time_skipping=False)
async def test_advance_moves_the_clock_past_a_durable_timer(durable_host: TestHost) -> None:
    client = durable_host.client()
    instance_id = await client.start_new("SetStatusTest", None, {"timeout": 3600})
    await durable_host.wait_for(instance_id, custom_status={"nextActions": ["A", "B", "C"], "foo": 2})

    await durable_host.advance(timedelta(minutes=59))
    still = await client.get_status(instance_id)
    assert still.runtime_status.value == "Running"

    await durable_host.advance(timedelta(minutes=2))
    done = await durable_host.wait_for(instance_id, runtime_status="Completed", timeout=5)
    assert done.output == {"proceeded": False, "message": "No Proceed event arrived within 3600 seconds."}
    fired = [e for e in await durable_host.history(instance_id) if e["EventType"] == "TimerFired"]
    assert len(fired) == 1


async def test_advance_works_with_time_skipping_and_a_wait_stops_where_the_match_is(
    durable_host: TestHost,
) -> None:
    client = durable_host.client()
    instance_id = await client.start_new("SetStatusTest", None, {"timeout": 3600})
    # The status is held while the one-hour timer is pending: the wait ends there, the timer not passed.
    held = await durable_host.wait_for(instance_id, custom_status={"nextActions": ["A", "B", "C"], "foo": 2})
    assert held.runtime_status.value == "Running"
    before = durable_host.now()

    await durable_host.advance(timedelta(minutes=59))
    assert (await client.get_status(instance_id)).runtime_status.value == "Running"
    await durable_host.advance(timedelta(minutes=2))
    done = await client.get_status(instance_id)
    assert done.runtime_status.value == "Completed"
    assert done.output == {"proceeded": False, "message": "No Proceed event arrived within 3600 seconds."}
    assert durable_host.now() - before >= timedelta(minutes=61)


async def test_history_lists_each_activity_with_its_result(durable_host: TestHost) -> None:
    client = durable_host.client()
    instance_id = await client.start_new("E1_HelloSequence", None, ["Tokyo", "Seattle"])
    await durable_host.wait_for(instance_id, runtime_status="Completed")

    history = await durable_host.history(instance_id)
    assert [e["EventType"] for e in history] == [
        "ExecutionStarted",
        "TaskCompleted",
        "TaskCompleted",
        "ExecutionCompleted",
    ]
    assert history[0]["FunctionName"] == "E1_HelloSequence"
    assert [(e["FunctionName"], e["Result"]) for e in history[1:3]] == [
        ("E1_SayHello", "Hello Tokyo!"),
        ("E1_SayHello", "Hello Seattle!"),
    ]


async def test_replace_activity_runs_the_stand_in(durable_host: TestHost) -> None:
    calls: list[str] = []

    def stand_in(city: str) -> str:
        calls.append(city)
        return f"Stub {city}"

    durable_host.replace_activity("E1_SayHello", stand_in)
    client = durable_host.client()
    instance_id = await client.start_new("E1_HelloSequence", None, ["Lima"])
    done = await durable_host.wait_for(instance_id, runtime_status="Completed")
    assert done.output == ["Stub Lima"]
    assert calls == ["Lima"]


@pytest.mark.devhost(time_skipping=False)
async def test_replace_activity_takes_async_functions_and_names_unknown_ones(durable_host: TestHost) -> None:
    async def stand_in(user_id: str) -> int:
        return 99

    durable_host.replace_activity("CalculateDiscount", stand_in)
    with pytest.raises(KeyError, match="E1_SayHello"):
        durable_host.replace_activity("NoSuchActivity", stand_in)
    client = durable_host.client()
    instance_id = await client.start_new("ReserveTicket", None, {"userId": "bob", "discountTimeout": 5})
    offered = await durable_host.wait_for(instance_id, custom_status=lambda s: s and "discount" in s)
    assert offered.custom_status["discount"] == 99


async def test_a_host_leaves_no_module_path_or_setting_behind(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RESERVATION_DEADLINE_SECONDS", raising=False)
    path, modules = list(sys.path), set(sys.modules)
    hosts = _run_host(_options(request.node, request.config))
    host = await anext(hosts)
    assert os.environ["RESERVATION_DEADLINE_SECONDS"] == "60"  # from local.settings.json
    assert host.index is not None and "E1_HelloSequence" in host.index.functions
    await hosts.aclose()

    assert "RESERVATION_DEADLINE_SECONDS" not in os.environ
    assert sys.path == path
    left = {
        name
        for name in set(sys.modules) - modules
        if name == "function_app"
        or str(getattr(sys.modules[name], "__file__", "")).startswith(str(ROOT / "orchestrators"))
    }
    assert left == set()
