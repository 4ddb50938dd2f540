"""scale: status queries and memory with 1,000 vs 100,000 stored instances, and 10,000 waiting ones."""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import aiohttp

from devhost.history import format_time
from devhost.process import DevhostProcess
from devhost.store import InstanceRecord, RuntimeStatus
from devhost.store.sqlite import SqliteStore

from .hello_cities import WEBHOOKS, start_all, wait_all_done
from .stats import ms, percentile


def populate(path: Path, count: int) -> list[str]:
    """Write `count` completed instances straight into a new store file; their ids."""
    store = SqliteStore(str(path), synchronous="OFF")
    base = datetime(2026, 1, 1, tzinfo=timezone.utc)
    ids = [f"stored-{n:06d}" for n in range(count)]
    records = []
    for n, instance_id in enumerate(ids):
        stamp = format_time(base + timedelta(seconds=n))
        records.append(
            InstanceRecord(
                instance_id,
                "E1_HelloSequence",
                "e",
                RuntimeStatus.COMPLETED,
                stamp,
                stamp,
                input=None,
                output='["Hello Tokyo!"]',
                custom_status='"London"',
            )
        )
    store.insert_instances(records)
    store.close_now()
    return ids


async def query_latencies(
    http: aiohttp.ClientSession, base: str, ids: list[str], samples: int
) -> list[float]:
    rng = random.Random(7)
    out = []
    for instance_id in (rng.choice(ids) for _ in range(samples)):
        t0 = time.perf_counter()
        async with http.get(f"{base}{WEBHOOKS}/instances/{instance_id}") as resp:
            await resp.read()
            assert resp.status in (200, 202)
        out.append(time.perf_counter() - t0)
    return out


async def stored(app_dir: Path, work: Path, count: int, samples: int = 500) -> dict[str, Any]:
    path = work / f"scale-{count}.db"
    ids = populate(path, count)
    t0 = time.perf_counter()
    proc = DevhostProcess(work, f"sqlite:{path}", app=app_dir).start(timeout=600)
    startup = time.perf_counter() - t0
    try:
        async with aiohttp.ClientSession() as http:
            await query_latencies(http, proc.url, ids, 20)
            lat = await query_latencies(http, proc.url, ids, samples)
        rss = proc.rss_mb()
    finally:
        proc.stop()
    return {
        "stored_instances": count,
        "startup_s": round(startup, 3),
        "status_query_p50_ms": ms(percentile(lat, 50)),
        "status_query_p95_ms": ms(percentile(lat, 95)),
        "devhost_rss_mb": round(rss or 0, 1),
    }


async def waiting(app_dir: Path, work: Path, count: int) -> dict[str, Any]:
    proc = DevhostProcess(work, f"sqlite:{work / 'waiting.db'}", app=app_dir).start()
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as http:
            t0 = time.perf_counter()
            ids = await start_all(http, proc.url, "SetStatusTest", {"timeout": 3600}, count)
            # Until none is Pending any more: all are waiting for their event.
            await wait_all_done(http, proc.url, timeout=600, statuses="Pending")
            started = time.perf_counter() - t0
            lat = await query_latencies(http, proc.url, ids, 500)
        rss = proc.peak_rss_mb()
    finally:
        proc.stop()
    return {
        "waiting_instances": count,
        "start_all_s": round(started, 3),
        "status_query_p50_ms": ms(percentile(lat, 50)),
        "devhost_peak_rss_mb": round(rss or 0, 1),
    }


async def run_scale(app_dir: Path, work: Path, small: int, large: int, waiting_count: int) -> dict[str, Any]:
    a = await stored(app_dir, work, small)
    b = await stored(app_dir, work, large)
    w = await waiting(app_dir, work, waiting_count)
    return {
        "scenario": "scale",
        **{f"small_{k}": v for k, v in a.items()},
        **{f"large_{k}": v for k, v in b.items()},
        "query_p50_ratio_large_to_small": round(
            b["status_query_p50_ms"] / max(a["status_query_p50_ms"], 1e-6), 2
        ),
        **{f"waiting_{k}": v for k, v in w.items()},
    }
