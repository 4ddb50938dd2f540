"""hello-cities: N instances of a 5-activity sequence started at once through the HTTP API."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from devhost.history import parse_time
from devhost.process import DevhostProcess
from devhost.store import InstanceQuery, open_store

from .azurite_hub import azurite_hub
from .cpu import children_cpu_seconds, cpu_seconds
from .floor import CITIES
from .stats import ms, percentile

NON_TERMINAL = "Pending,Running,ContinuedAsNew"
WEBHOOKS = "/runtime/webhooks/durabletask"


async def start_all(http: aiohttp.ClientSession, base: str, name: str, body: Any, count: int) -> list[str]:
    async def one() -> str:
        async with http.post(f"{base}/api/orchestrators/{name}", json=body) as resp:
            assert resp.status == 202, await resp.text()
            return str((await resp.json())["id"])

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def wait_all_done(
    http: aiohttp.ClientSession, base: str, timeout: float, statuses: str = NON_TERMINAL
) -> None:
    """Until no instance has one of `statuses` (default: Pending or Running; a list query every 20 ms)."""
    end = time.perf_counter() + timeout
    while time.perf_counter() < end:
        async with http.get(
            f"{base}{WEBHOOKS}/instances", params={"runtimeStatus": statuses, "top": "1"}
        ) as r:
            if not await r.json():
                return
        await asyncio.sleep(0.02)
    raise TimeoutError(f"instances still {statuses} after {timeout} s")


async def run_hello_cities(
    app_dir: Path,
    work: Path,
    store_kind: str,
    store_url: str,
    instances: int,
    extra: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    hub_name: str = "TestHubName",
    on_start: Callable[[DevhostProcess], None] | None = None,
) -> dict[str, Any]:
    """Start devhost, start `instances` hello-cities at once over HTTP, wait until all completed.

    `on_start` is called with the host process once it listens, before the first start (a profiler
    attaches there: bench/profile_host.py)."""
    proc = DevhostProcess(work, store_url, *extra, app=app_dir, env=env).start()
    try:
        if on_start is not None:
            on_start(proc)
        connector = aiohttp.TCPConnector(limit=64)
        assert proc.pid is not None
        cpu_before = cpu_seconds(proc.pid), children_cpu_seconds(proc.pid)
        async with aiohttp.ClientSession(connector=connector) as http:
            started = time.perf_counter()
            await start_all(http, proc.url, "E1_HelloSequence", CITIES, instances)
            await wait_all_done(http, proc.url, timeout=600)
            seconds = time.perf_counter() - started
        host_cpu = cpu_seconds(proc.pid) - cpu_before[0]
        workers_cpu = children_cpu_seconds(proc.pid) - cpu_before[1]
        rss = proc.peak_rss_mb()
    finally:
        proc.stop()
    store = open_store(store_url, hub_name=hub_name, app_settings=env)
    await store.open()
    try:
        latencies = []
        after = None
        while True:
            page, after = await store.query_instances(InstanceQuery(), 1000, after)
            for r in page:
                assert r.runtime_status.value == "Completed", (r.instance_id, r.runtime_status, r.output)
                latencies.append(
                    (parse_time(r.last_updated_time) - parse_time(r.created_time)).total_seconds()
                )
            if after is None:
                break
    finally:
        await store.close()
    assert len(latencies) == instances
    work_items = instances * (len(CITIES) * 2 + 1)
    return {
        "scenario": "hello-cities",
        "store": store_kind,
        "instances": instances,
        "activities_each": len(CITIES),
        "seconds": round(seconds, 3),
        "instances_per_s": round(instances / seconds, 1),
        "work_items_per_s": round(work_items / seconds, 1),
        "p50_ms": ms(percentile(latencies, 50)),
        "p95_ms": ms(percentile(latencies, 95)),
        "p99_ms": ms(percentile(latencies, 99)),
        "devhost_peak_rss_mb": round(rss or 0, 1),
        # CPU seconds of the host process and of its worker processes (all of them) during the run.
        "host_cpu_s": round(host_cpu, 2),
        "workers_cpu_s": round(workers_cpu, 2),
    }


async def run_hello_cities_on_azurite(
    app_dir: Path,
    work: Path,
    instances: int,
    extra: tuple[str, ...] = (),
    on_start: Callable[[DevhostProcess], None] | None = None,
) -> dict[str, Any]:
    """hello-cities on the azure store, against an Azurite started for the run (npm ci installs it)."""
    with azurite_hub(work) as (env, hub):
        return await run_hello_cities(app_dir, work, "azure", "azure", instances, extra, env, hub, on_start)
