"""Durability: stopping devhost (cleanly or with SIGKILL) loses nothing, and waiting instances carry on."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from .devhost_process import DevhostProcess
from .http_steps import finished, raise_event, start, status, wait_until
from .stores import DurableStore


@pytest.mark.parametrize("how", ["sigterm", "sigkill"])
async def test_waiting_orchestration_survives_a_restart(
    tmp_path: Path, how: str, durable_store: DurableStore
) -> None:
    store, env = durable_store.url, durable_store.env
    first = DevhostProcess(tmp_path, store, env=env).start()
    async with aiohttp.ClientSession() as http:
        try:
            started = await start(
                http, first.url, "ReserveTicket", {"userId": "erin", "discountTimeout": 300}
            )
            offer = await wait_until(http, first.url, started["id"], lambda s: bool(s["customStatus"]))
            hello = await start(http, first.url, "E1_HelloSequence")
            await finished(http, first.url, hello["id"])
        finally:
            first.kill() if how == "sigkill" else first.stop()

        second = DevhostProcess(tmp_path, store, port=first.port, env=env).start()
        try:
            after = await status(http, second.url, started["id"])
            assert after["runtimeStatus"] == "Running"
            assert after["customStatus"] == offer["customStatus"]
            kept = await status(http, second.url, hello["id"])
            assert kept["output"] == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]
            await raise_event(http, second.url, started["id"], "BookingConfirmed", True)
            done = await finished(http, second.url, started["id"])
            assert done["output"] is True
        finally:
            second.stop()
    if how == "sigterm":
        assert "devhost: stopping" in first.log()
