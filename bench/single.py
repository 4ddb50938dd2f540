"""single: one E1_HelloSequence at a time on an idle host; start-to-completed and status freshness."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import aiohttp

from devhost.history import parse_time
from devhost.process import DevhostProcess

from .floor import CITIES
from .stats import ms, percentile

WEBHOOKS = "/runtime/webhooks/durabletask"


async def one_run(http: aiohttp.ClientSession, base: str) -> tuple[float, float, list[float]]:
    """Start one instance and poll its status back to back.

    Returns start-to-completed as the client sees it (from its POST to the first Completed answer),
    as the host recorded it (instance created to last update), and the custom status freshness lags.
    """
    t0 = time.perf_counter()
    async with http.post(f"{base}/api/orchestrators/E1_HelloSequence", json=CITIES) as resp:
        instance_id = (await resp.json())["id"]
    seen: dict[str, datetime] = {}
    url = f"{base}{WEBHOOKS}/instances/{instance_id}"
    while True:
        async with http.get(url) as resp:
            status = await resp.json()
        now = datetime.now(timezone.utc)
        city = status["customStatus"]
        if city and city not in seen:
            seen[city] = now
        if status["runtimeStatus"] in ("Completed", "Failed", "Terminated"):
            elapsed = time.perf_counter() - t0
            break
    async with http.get(url, params={"showHistory": "true", "showHistoryOutput": "true"}) as resp:
        history = (await resp.json())["historyEvents"]
    started_event = next(e for e in history if e["EventType"] == "ExecutionStarted")
    completed_event = next(e for e in history if e["EventType"] == "ExecutionCompleted")
    host_side = (
        parse_time(completed_event["Timestamp"]) - parse_time(started_event["Timestamp"])
    ).total_seconds()
    committed = {
        e["Result"][len("Hello ") : -1]: parse_time(e["Timestamp"])
        for e in history
        if e["EventType"] == "TaskCompleted"
    }
    lags = [(seen[c] - committed[c]).total_seconds() for c in seen if c in committed]
    return elapsed, host_side, lags


async def run_single(app_dir: Path, work: Path, store_url: str, runs: int) -> dict[str, Any]:
    proc = DevhostProcess(work, store_url, app=app_dir).start()
    try:
        async with aiohttp.ClientSession() as http:
            await one_run(http, proc.url)  # warm-up: imports, first connections
            totals: list[float] = []
            host_side: list[float] = []
            lags: list[float] = []
            for _ in range(runs):
                total, inside, lag = await one_run(http, proc.url)
                totals.append(total)
                host_side.append(inside)
                lags.extend(lag)
    finally:
        proc.stop()
    return {
        "scenario": "single",
        "runs": runs,
        "p50_ms": ms(percentile(totals, 50)),
        "p95_ms": ms(percentile(totals, 95)),
        "host_p50_ms": ms(percentile(host_side, 50)),
        "host_p95_ms": ms(percentile(host_side, 95)),
        "freshness_lag_samples": len(lags),
        "freshness_lag_p50_ms": ms(percentile(lags, 50)),
        "freshness_lag_p95_ms": ms(percentile(lags, 95)),
    }
