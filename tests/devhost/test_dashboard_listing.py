"""The dashboard's list route: newest first by created or updated time, a name filter, the Durable API's
filters, keyset pages that together hold every match exactly once; bad input is a JSON 400."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from devhost import DevHost
from devhost.config import HUB_SETTING
from devhost.history import format_time
from devhost.store import InstanceRecord, RuntimeStatus
from tests.azurite import new_hub

ROOT = Path(__file__).resolve().parents[2]
LIST = "/runtime/devhost/api/instances"
BASE = datetime(2026, 2, 1, tzinfo=timezone.utc)
NAMES = ("E1_HelloSequence", "ReserveTicket", "CityRecommender")
STATUSES = (RuntimeStatus.COMPLETED, RuntimeStatus.FAILED, RuntimeStatus.RUNNING)


def _records(count: int) -> list[InstanceRecord]:
    rng = random.Random(11)
    out = []
    for n in range(count):
        # Several instances share a created time (ties broken by id); updated times run in another order.
        created = format_time(BASE + timedelta(seconds=n // 3))
        updated = format_time(BASE + timedelta(seconds=rng.randrange(100_000)))
        out.append(
            InstanceRecord(
                f"i-{rng.getrandbits(40):010x}",
                rng.choice(NAMES),
                "e",
                rng.choice(STATUSES),
                created,
                updated,
            )
        )
    return out


@pytest.fixture(params=["memory", "sqlite"])
async def filled(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[DevHost, list[Any]]]:
    store = "memory" if request.param == "memory" else f"sqlite:{tmp_path / 'durable.db'}"
    records = _records(230)
    async with DevHost(ROOT, store=store, port=0, rpc_port=0, time_skipping=False, workers=0) as host:
        host._store.insert_instances(records)
        yield host, records


async def _get(host: DevHost, query: dict[str, str]) -> tuple[int, Any]:
    url = f"http://127.0.0.1:{host.port}{LIST}"
    async with aiohttp.ClientSession() as session, session.get(url, params=query) as answer:
        return answer.status, await answer.json()


async def _walk(host: DevHost, query: dict[str, str]) -> tuple[list[dict[str, Any]], int, str]:
    """Every page of the listing; the rows, the number of pages and the order the route said."""
    rows: list[dict[str, Any]] = []
    token, pages, order = "", 0, ""
    while True:
        status, body = await _get(host, {**query, **({"continuationToken": token} if token else {})})
        assert status == 200, body
        assert len(body["instances"]) <= int(query.get("top", "50"))
        rows.extend(body["instances"])
        pages, order, token = pages + 1, body["order"], body["continuationToken"]
        if not token:
            return rows, pages, order


CASES: dict[str, tuple[dict[str, str], Any]] = {
    "created": ({"sort": "created"}, lambda r: True),
    "updated": ({"sort": "updated"}, lambda r: True),
    "name, any case": ({"sort": "created", "name": "reserveticket"}, lambda r: r.name == "ReserveTicket"),
    "status": (
        {"sort": "updated", "runtimeStatus": "Running"},
        lambda r: r.runtime_status.value == "Running",
    ),
    "two statuses and a name": (
        {"sort": "created", "runtimeStatus": "Running,Failed", "name": "CityRecommender"},
        lambda r: r.runtime_status.value in ("Running", "Failed") and r.name == "CityRecommender",
    ),
    "created range": (
        {
            "sort": "updated",
            "createdTimeFrom": format_time(BASE + timedelta(seconds=20)),
            "createdTimeTo": format_time(BASE + timedelta(seconds=40)),
        },
        lambda r: (
            format_time(BASE + timedelta(seconds=20))
            <= r.created_time
            <= format_time(BASE + timedelta(seconds=40))
        ),
    ),
    "id with a name": ({"sort": "id", "name": "E1_HelloSequence"}, lambda r: r.name == "E1_HelloSequence"),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_pages_hold_every_match_once_in_the_order_asked(
    filled: tuple[DevHost, list[InstanceRecord]], case: str
) -> None:
    host, records = filled
    query, keep = CASES[case]
    rows, pages, order = await _walk(host, {**query, "top": "20"})
    sort = query["sort"]
    assert order == sort
    matching = [r for r in records if keep(r)]
    if sort == "id":
        expected = sorted(r.instance_id for r in matching)
    else:
        field = "created_time" if sort == "created" else "last_updated_time"
        matching.sort(key=lambda r: (getattr(r, field), r.instance_id), reverse=True)
        expected = [r.instance_id for r in matching]
    assert [r["instanceId"] for r in rows] == expected
    assert pages >= len(expected) // 20
    assert {"instanceId", "name", "runtimeStatus", "createdTime", "lastUpdatedTime", "customStatus"} <= set(
        rows[0]
    )


@pytest.mark.parametrize(
    "query",
    [
        {"sort": "name"},
        {"top": "0"},
        {"top": "501"},
        {"continuationToken": "not-a-token"},
        {"continuationToken": "eyJvcmRlciI6ImlkIiwiYWZ0ZXIiOiJ4In0="},
    ],  # a token of the id order
)
async def test_bad_input_is_a_json_400(
    filled: tuple[DevHost, list[InstanceRecord]], query: dict[str, str]
) -> None:
    host, _ = filled
    status, body = await _get(host, query)
    assert status == 400 and body["Message"], body


@pytest.mark.azurite
async def test_the_azure_store_lists_by_id_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, azurite: str
) -> None:
    monkeypatch.setenv("AzureWebJobsStorage", azurite)
    monkeypatch.setenv(HUB_SETTING, new_hub())
    async with DevHost(ROOT, store="azure", port=0, rpc_port=0, time_skipping=False, workers=0) as host:
        client = host.client()
        ids = [await client.start_new("E1_HelloSequence", client_input=["Oslo"]) for _ in range(3)]
        ids.append(
            await client.start_new("ReserveTicket", client_input={"userId": "x", "discountTimeout": 600})
        )
        await host.wait_idle()
        rows, _, order = await _walk(host, {"sort": "created", "name": "e1_hellosequence", "top": "2"})
        assert order == "id"
        assert [r["instanceId"] for r in rows] == sorted(ids[:3])
