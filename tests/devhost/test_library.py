"""DevHost used as a library, as docs/devhost.md shows it."""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest

from devhost import DevHost

ROOT = Path(__file__).resolve().parents[2]


async def test_readme_library_example() -> None:
    async with DevHost(ROOT, store="memory", port=0, rpc_port=0, time_skipping=True) as host:
        client = host.client()
        instance_id = await client.start_new("E1_HelloSequence")
        await host.wait_idle()
        status = await client.get_status(instance_id)
        assert status.custom_status == "London"
        assert status.output == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]
        ticket = await client.start_new("ReserveTicket", None, "zoe")
        await host.advance(timedelta(seconds=61))
        assert (await client.get_status(ticket)).output is False


async def test_a_deadline_passes_only_when_the_clock_is_moved_past_it() -> None:
    async with DevHost(ROOT, store="memory", port=0, rpc_port=0, time_skipping=True) as host:
        client = host.client()
        instance_id = await client.start_new("ReserveTicket", None, "zoe")
        await host.wait_idle()  # the offer is made; nobody awaits the 60 s deadline, so it holds
        offered = await client.get_status(instance_id)
        assert offered.runtime_status.value == "Running" and "discount" in offered.custom_status

        await host.advance(timedelta(seconds=61))
        status = await client.get_status(instance_id)
        assert status.output is False
        assert status.custom_status == {"message": "The booking was not confirmed on time. Please try again."}
        # The virtual clock moved past the 60 s deadline; the instance's own times say so.
        assert (status.last_updated_time - status.created_time).total_seconds() >= 60


async def test_a_waiting_start_of_the_http_api_lets_time_skip_until_the_outcome() -> None:
    async with DevHost(ROOT, store="memory", port=0, rpc_port=0, time_skipping=True) as host:
        url = f"{host.url}/runtime/webhooks/durabletask/orchestrators/ReserveTicket"
        before = host.now()
        async with aiohttp.ClientSession() as session:
            query = {"timeout": "30", "pollingInterval": "0.05"}
            # As the SDK's start_new sends an input: JSON text inside a JSON string.
            async with session.post(url, params=query, json='"zoe"') as answer:
                assert answer.status == 200
                assert await answer.json() is False  # the deadline passed while the answer waited
        assert host.now() - before >= timedelta(seconds=60)


async def test_local_settings_become_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RESERVATION_DEADLINE_SECONDS", raising=False)
    monkeypatch.setenv("CITY_SELECTION_DEADLINE_SECONDS", "7")  # set beforehand: the environment wins
    async with DevHost(ROOT, store="memory", port=0, rpc_port=0):
        assert os.environ["RESERVATION_DEADLINE_SECONDS"] == "60"
        assert os.environ["CITY_SELECTION_DEADLINE_SECONDS"] == "7"


async def test_a_stopped_host_gives_back_the_environment_and_modules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RESERVATION_DEADLINE_SECONDS", raising=False)
    chaining = ROOT / "tests" / "devhost" / "apps" / "chaining"
    monkeypatch.delitem(sys.modules, "function_app", raising=False)
    path_before, modules_before = list(sys.path), set(sys.modules)
    async with DevHost(ROOT, store="memory", port=0, rpc_port=0):
        assert os.environ["RESERVATION_DEADLINE_SECONDS"] == "60"
        assert "function_app" in set(sys.modules) - modules_before
    assert "RESERVATION_DEADLINE_SECONDS" not in os.environ
    assert set(sys.modules) - modules_before == set()
    assert sys.path == path_before
    # Another app loads in the same process: its own function_app, not the one before.
    async with DevHost(chaining, store="memory", port=0, rpc_port=0) as host:
        assert host.index is not None and "E1_HelloSequence" not in host.index.functions
    assert "function_app" not in sys.modules
