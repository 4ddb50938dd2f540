"""DevHost used as a library, as the README shows it."""

from __future__ import annotations

import os
from pathlib import Path

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


async def test_time_skipping_passes_a_deadline_at_once() -> None:
    async with DevHost(ROOT, store="memory", port=0, rpc_port=0, time_skipping=True) as host:
        client = host.client()
        instance_id = await client.start_new("ReserveTicket", None, "zoe")
        await host.wait_idle()
        status = await client.get_status(instance_id)
        assert status.output is False
        assert status.custom_status == {"message": "The booking was not confirmed on time. Please try again."}
        # The virtual clock moved past the 60 s deadline; the instance's own times say so.
        assert (status.last_updated_time - status.created_time).total_seconds() >= 60


async def test_local_settings_become_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RESERVATION_DEADLINE_SECONDS", raising=False)
    monkeypatch.setenv("CITY_SELECTION_DEADLINE_SECONDS", "7")  # set beforehand: the environment wins
    async with DevHost(ROOT, store="memory", port=0, rpc_port=0):
        assert os.environ["RESERVATION_DEADLINE_SECONDS"] == "60"
        assert os.environ["CITY_SELECTION_DEADLINE_SECONDS"] == "7"
