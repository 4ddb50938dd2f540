"""dashboard-list: the dashboard's instance list answered with 100,000 stored instances (SQLite).

The store is filled straight through the store's own bulk insert, then devhost is started on it and
asked what the dashboard's list page asks of its route (newest first): the first page, pages
filtered by runtime status, name and created range, and continuation pages from anywhere in the
listing; and the same of the Durable HTTP API's list (id order). Each is timed over loopback,
client side, as p50 / p95.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import aiohttp

from devhost.api.continuation import encode_token
from devhost.dashboard.listing import page_token
from devhost.dashboard.routes import API_PATH, DASHBOARD_PATH
from devhost.history import format_time
from devhost.process import DevhostProcess
from devhost.store import InstanceRecord, RuntimeStatus, open_store
from devhost.store.sqlite import SqliteStore

from .hello_cities import WEBHOOKS
from .stats import ms, percentile

PAGE = 50  # the dashboard's page size
NAMES = ("E1_HelloSequence", "ReserveTicket", "CityRecommender", "SetStatusTest")
BASE = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _status(n: int) -> RuntimeStatus:
    """A mix like a long-used hub's: mostly completed, some failed or terminated, few still running."""
    if n % 500 == 0:
        return RuntimeStatus.RUNNING
    if n % 20 == 1:
        return RuntimeStatus.FAILED
    if n % 50 == 2:
        return RuntimeStatus.TERMINATED
    return RuntimeStatus.COMPLETED


def instances(count: int) -> Iterator[InstanceRecord]:
    """`count` instances with random hex ids, one created per second, in a mix of names and statuses."""
    rng = random.Random(15)
    for n in range(count):
        yield InstanceRecord(
            uuid.UUID(int=rng.getrandbits(128)).hex,
            NAMES[n % len(NAMES)],
            uuid.UUID(int=rng.getrandbits(128)).hex,
            _status(n),
            format_time(BASE + timedelta(seconds=n)),
            format_time(BASE + timedelta(seconds=n, milliseconds=250)),
            input='["Tokyo", "Seattle", "London"]',
            output='["Hello Tokyo!", "Hello Seattle!", "Hello London!"]',
            custom_status='"London"',
        )


def populate(path: Path, count: int) -> list[str]:
    """Write `count` instances into a new SQLite store with its bulk insert; their ids."""
    store = SqliteStore(str(path), synchronous="OFF")
    ids: list[str] = []
    records: list[InstanceRecord] = []
    for record in instances(count):
        ids.append(record.instance_id)
        records.append(record)
        if len(records) == 10_000:
            store.insert_instances(records)
            records = []
    store.insert_instances(records)
    store.close_now()
    return ids


async def _timed(
    http: aiohttp.ClientSession, url: str, headers: dict[str, str] | None = None
) -> tuple[float, int]:
    t0 = time.perf_counter()
    async with http.get(url, headers=headers or {}) as resp:
        body = await resp.json()
        assert resp.status == 200, (resp.status, body)
    rows = body["instances"] if isinstance(body, dict) else body
    return time.perf_counter() - t0, len(rows)


async def _series(http: aiohttp.ClientSession, samples: int, request: Any) -> tuple[list[float], list[int]]:
    """Time `samples` calls of `request(i)` (each gives a URL and headers) after a few untimed ones."""
    times, sizes = [], []
    warm = min(5, samples // 4)
    for i in range(samples + warm):
        url, headers = request(i)
        took, size = await _timed(http, url, headers)
        if i >= warm:
            times.append(took)
            sizes.append(size)
    return times, sizes


def _figures(name: str, times: list[float], sizes: list[int]) -> dict[str, Any]:
    return {
        f"{name}_p50_ms": ms(percentile(times, 50)),
        f"{name}_p95_ms": ms(percentile(times, 95)),
        f"{name}_rows_p50": int(percentile([float(n) for n in sizes], 50)),
    }


def _series_of(base: str, ids: list[str], count: int, rng: random.Random, ordered: bool) -> dict[str, Any]:
    """What the page asks, by name: each a function of the sample number giving a URL and headers.
    `ordered`: the store answers the route in time order (SQLite); else in id order (azure)."""
    page = f"{base}{API_PATH}/instances?top={PAGE}"  # the dashboard's own route, newest first
    webhooks = f"{base}{WEBHOOKS}/instances?top={PAGE}"  # the Durable HTTP API, in id order
    hour = (BASE + timedelta(seconds=count // 2), BASE + timedelta(seconds=count // 2 + 3600))
    created = f"&createdTimeFrom={format_time(hour[0])}&createdTimeTo={format_time(hour[1])}"

    def somewhere() -> str:
        n = rng.randrange(count)
        if not ordered:
            return page_token("id", ids[n])
        return page_token("created", [format_time(BASE + timedelta(seconds=n)), ids[n]])

    series: dict[str, Any] = {
        "first_page": lambda i: (f"{page}&sort=created", None),
        "first_page_by_updated": lambda i: (f"{page}&sort=updated", None),
        "filtered_running": lambda i: (f"{page}&runtimeStatus=Running", None),
        "filtered_name": lambda i: (f"{page}&name=ReserveTicket", None),
        "filtered_failed_created_hour": lambda i: (f"{page}&runtimeStatus=Failed{created}", None),
        # The worst case: a name and a status no instance has together walk all of that name's rows.
        "filtered_name_and_status_matching_none": lambda i: (
            f"{page}&name=ReserveTicket&runtimeStatus=Running",
            None,
        ),
        "continuation": lambda i: (f"{page}&continuationToken={somewhere()}", None),
        "webhooks_first_page": lambda i: (webhooks, None),
        "webhooks_filtered_running": lambda i: (f"{webhooks}&runtimeStatus=Running", None),
        "webhooks_filtered_failed_prefix": lambda i: (
            f"{webhooks}&runtimeStatus=Failed&instanceIdPrefix={rng.choice('0123456789abcdef')}",
            None,
        ),
        "webhooks_continuation": lambda i: (
            webhooks,
            {"x-ms-continuation-token": encode_token(rng.choice(ids))},
        ),
    }
    if not ordered:  # the same as the created order there
        del series["first_page_by_updated"]
    return series


async def _measure(
    proc: DevhostProcess, ids: list[str], count: int, samples: int, ordered: bool
) -> dict[str, Any]:
    result: dict[str, Any] = {}
    async with aiohttp.ClientSession() as http:
        async with http.get(proc.url + DASHBOARD_PATH) as resp:
            assert resp.status == 200 and "Instances" in await resp.text()
        for name, request in _series_of(proc.url, ids, count, random.Random(7), ordered).items():
            result.update(_figures(name, *await _series(http, samples, request)))
    result["devhost_rss_mb"] = round(proc.rss_mb() or 0, 1)
    return result


async def run_dashboard_list(app_dir: Path, work: Path, count: int, samples: int = 200) -> dict[str, Any]:
    """The SQLite store: filled by its bulk insert."""
    path = work / f"dashboard-{count}.db"
    t0 = time.perf_counter()
    ids = populate(path, count)
    result: dict[str, Any] = {"scenario": "dashboard-list", "store": "sqlite", "stored_instances": count}
    result["seed_s"] = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    proc = DevhostProcess(work, f"sqlite:{path}", app=app_dir).start(timeout=600)
    result["startup_s"] = round(time.perf_counter() - t0, 2)
    try:
        result.update(await _measure(proc, ids, count, samples, ordered=True))
    finally:
        proc.stop()
    return result


async def seed_azure(settings: dict[str, str], hub: str, count: int) -> list[str]:
    """Write `count` instance rows into a task hub with the azure store's own entity writer (each
    instance is its own partition, so one request per instance, many at once); their ids."""
    store: Any = open_store("azure", hub_name=hub, app_settings=settings)
    await store.open()
    gate = asyncio.Semaphore(48)
    ids: list[str] = []

    async def put(record: InstanceRecord) -> None:
        async with gate:
            await store._instances.upsert(await store._instance_entity(record, 0, 0))

    try:
        batch: list[Any] = []
        for record in instances(count):
            ids.append(record.instance_id)
            batch.append(put(record))
            if len(batch) == 2000:
                await asyncio.gather(*batch)
                batch = []
        await asyncio.gather(*batch)
    finally:
        await store.close()
    return ids


async def run_dashboard_list_azure(
    app_dir: Path, work: Path, count: int, settings: dict[str, str], hub: str, samples: int = 10
) -> dict[str, Any]:
    """The azure store (Azurite): the route lists in id order there (Azure Tables sort only by key)."""
    t0 = time.perf_counter()
    ids = await seed_azure(settings, hub, count)
    result: dict[str, Any] = {"scenario": "dashboard-list", "store": "azure", "stored_instances": count}
    result["seed_s"] = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    proc = DevhostProcess(work, "azure", app=app_dir, env=settings).start(timeout=600)
    result["startup_s"] = round(time.perf_counter() - t0, 2)
    try:
        result.update(await _measure(proc, ids, count, samples, ordered=False))
    finally:
        proc.stop()
    return result
