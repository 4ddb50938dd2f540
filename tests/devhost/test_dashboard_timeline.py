"""The dashboard's timeline route: task bars from the stored history and every custom-status value,
recorded at each episode commit and kept in the instance row of each store."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from devhost import DevHost
from devhost.config import HUB_SETTING
from devhost.engine.ledger import STATUS_LOG_LIMIT, STATUS_TEXT_LIMIT, Ledger
from tests.azurite import new_hub

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["memory", "sqlite", pytest.param("azure", marks=pytest.mark.azurite)])
async def host(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[DevHost]:
    store = request.param
    if store == "sqlite":
        store = f"sqlite:{tmp_path / 'durable.db'}"
    elif store == "azure":
        monkeypatch.setenv("AzureWebJobsStorage", request.getfixturevalue("azurite"))
        monkeypatch.setenv(HUB_SETTING, new_hub())
    async with DevHost(ROOT, store=store, port=0, rpc_port=0, time_skipping=False, workers=0) as started:
        yield started


async def _timeline(host: DevHost, instance_id: str) -> tuple[int, dict]:
    url = f"http://127.0.0.1:{host.port}/runtime/devhost/api/instances/{instance_id}/timeline"
    async with aiohttp.ClientSession() as session, session.get(url) as answer:
        return answer.status, await answer.json()


async def test_every_custom_status_value_in_order_with_the_task_bars(host: DevHost) -> None:
    client = host.client()
    instance_id = await client.start_new("E1_HelloSequence", client_input=["Tokyo", "Seattle", "Tokyo"])
    await host.wait_idle()
    status, body = await _timeline(host, instance_id)
    assert status == 200, body
    values = [c["value"] for c in body["customStatus"]["changes"]]
    # A value equal to the one before is not a change; the same value later again is.
    assert values == ["Tokyo", "Seattle", "Tokyo"]
    offsets = [c["offsetMs"] for c in body["customStatus"]["changes"]]
    assert offsets == sorted(offsets) and offsets[0] >= 0
    bars = body["tasks"]
    assert [(b["kind"], b["name"], b["outcome"]) for b in bars] == [
        ("activity", "E1_SayHello", "completed")
    ] * 3
    assert all(b["end"] >= b["start"] for b in bars)


async def test_an_unknown_instance_is_a_json_404(host: DevHost) -> None:
    status, body = await _timeline(host, "no-such-instance")
    assert status == 404 and "no-such-instance" in body["Message"]


async def test_a_waiting_instance_shows_its_timer_and_a_raised_event(host: DevHost) -> None:
    client = host.client()
    instance_id = await client.start_new(
        "ReserveTicket", client_input={"userId": "ann", "discountTimeout": 600}
    )
    await host.wait_idle()  # the offer is made; its 600 s timer is not due
    await client.raise_event(instance_id, "BookingConfirmed", True)
    await host.wait_idle()
    _, body = await _timeline(host, instance_id)
    assert body["runtimeStatus"] == "Completed", body
    kinds = [(b["kind"], b["outcome"]) for b in body["tasks"]]
    assert ("event", "raised") in kinds and ("timer", "unfinished") in kinds
    assert ("activity", "completed") in kinds
    changes = body["customStatus"]["changes"]
    assert "discount" in changes[0]["value"] and "message" in changes[-1]["value"]


def test_the_status_log_keeps_the_newest_values_and_cuts_long_ones() -> None:
    ledger = Ledger()
    ledger.record_status("t0", None)
    assert ledger.status_log == []
    for n in range(STATUS_LOG_LIMIT + 5):
        ledger.record_status(f"t{n}", json.dumps(n))
    assert len(ledger.status_log) == STATUS_LOG_LIMIT and ledger.status_dropped == 5
    assert ledger.status_log[0][1] == "5"
    big = json.dumps("x" * (STATUS_TEXT_LIMIT * 3))
    ledger.record_status("tb", big)
    assert ledger.status_log[-1] == ["tb", big[:STATUS_TEXT_LIMIT], len(big)]
    again = Ledger.from_json(json.loads(json.dumps(ledger.to_json())))
    assert again.status_log == ledger.status_log and again.status_dropped == 6
