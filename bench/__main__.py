"""`python -m bench`: start devhost as its own process and drive it over loopback from this one.

Prints one JSON line and a short table per scenario; every timed figure is also given as a ratio to
the `floor` measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
from pathlib import Path
from typing import Any

from . import ROOT
from .azurite_hub import azurite_hub
from .cold_start import run_cold_start
from .dashboard_list import run_dashboard_list, run_dashboard_list_azure
from .floor import run_floor
from .hello_cities import run_hello_cities, run_hello_cities_on_azurite
from .idle_cpu import run_idle_cpu
from .plugin_cost import run_plugin_cost
from .scale import run_scale
from .single import run_single
from .stats import report, reported
from .targets import summary

SCENARIOS = (
    "floor",
    "hello-cities",
    "single",
    "scale",
    "dashboard-list",
    "idle-cpu",
    "cold-start",
    "plugin-tests",
)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--scenarios", default=",".join(SCENARIOS), help=f"comma list of {', '.join(SCENARIOS)}")
    p.add_argument("--instances", type=int, default=1000, help="hello-cities instances (default 1000)")
    p.add_argument(
        "--stores",
        default="sqlite",
        help="hello-cities and dashboard-list stores: sqlite and/or azure (Azurite)",
    )
    p.add_argument("--workers", type=int, default=2, help="devhost worker processes (default 2: both cores)")
    p.add_argument("--single-runs", type=int, default=200)
    p.add_argument("--scale-small", type=int, default=1000)
    p.add_argument("--scale-large", type=int, default=100_000)
    p.add_argument("--scale-waiting", type=int, default=10_000)
    p.add_argument("--dashboard-instances", type=int, default=100_000)
    p.add_argument(
        "--dashboard-stores",
        default="sqlite",
        help="dashboard-list stores: sqlite and/or azure (Azurite; seeding 100,000 rows takes minutes)",
    )
    p.add_argument("--idle-seconds", type=float, default=5.0, help="idle-cpu's measuring window (default 5)")
    p.add_argument("--cold-runs", type=int, default=10, help="new processes per cold-start figure")
    p.add_argument("--plugin-tests", type=int, default=1000, help="test-style rounds of devhost's plugin")
    p.add_argument(
        "--durabletask-tests", type=int, default=20, help="rounds on durabletask-python (about 1 s each)"
    )
    return p


async def _dashboard_on_azurite(work: Path, count: int) -> dict[str, Any]:
    """dashboard-list on the azure store, against an Azurite started for it."""
    with azurite_hub(work) as (env, hub):
        return await run_dashboard_list_azure(ROOT, work, count, env, hub)


async def main(args: argparse.Namespace) -> None:
    wanted = args.scenarios.split(",")
    floor_seconds = None
    with tempfile.TemporaryDirectory(prefix="devhost-bench-") as tmp:
        work = Path(tmp)
        if "floor" in wanted:
            floor = run_floor(ROOT, args.instances)
            floor_seconds = floor["seconds"]
            print(report(floor, None), flush=True)
        if "hello-cities" in wanted:
            for kind in args.stores.split(","):
                workers = ("--workers", str(args.workers))
                if kind == "azure":
                    result = await run_hello_cities_on_azurite(ROOT, work, args.instances, workers)
                else:
                    url = f"sqlite:{work / 'hello.db'}"
                    result = await run_hello_cities(ROOT, work, kind, url, args.instances, workers)
                result["workers"] = args.workers
                print(report(result, floor_seconds), flush=True)
        if "single" in wanted:
            print(
                report(await run_single(ROOT, work, f"sqlite:{work / 'single.db'}", args.single_runs), None),
                flush=True,
            )
        if "scale" in wanted:
            result = await run_scale(ROOT, work, args.scale_small, args.scale_large, args.scale_waiting)
            print(report(result, None), flush=True)
        if "dashboard-list" in wanted:
            for kind in args.dashboard_stores.split(","):
                if kind == "azure":
                    result = await _dashboard_on_azurite(work, args.dashboard_instances)
                else:
                    result = await run_dashboard_list(ROOT, work, args.dashboard_instances)
                print(report(result, None), flush=True)
        if "idle-cpu" in wanted:
            for result in await asyncio.to_thread(run_idle_cpu, work, args.idle_seconds):
                print(report(result, None), flush=True)
        if "cold-start" in wanted:
            print(report(run_cold_start(ROOT, args.cold_runs), None), flush=True)
        if "plugin-tests" in wanted:
            result = run_plugin_cost(ROOT, args.plugin_tests, args.durabletask_tests)
            print(report(result, None), flush=True)
    print(summary(reported), flush=True)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    asyncio.run(main(_parser().parse_args()))
