"""Run in a new process by the cold-start and plugin-cost scenarios: devhost as the pytest plugin runs it.

    python bench/devhost_child.py cold APP        one host, one E1_HelloSequence, print "completed"
    python bench/devhost_child.py tests APP N     N test-style rounds: host start, one run, stop

Kept free of the bench package so that a cold start imports only what a user's first test would.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

CITIES = ["Tokyo", "Seattle", "London", "Paris", "Oslo"]


async def one_test(app: str) -> None:
    """What one test using the `durable_host` fixture does: start a host, run one orchestration, stop."""
    from devhost.testing import _run_host

    options = {"app": Path(app).resolve(), "time_skipping": True, "store": "memory"}
    async for host in _run_host(options):
        client = host.client()
        instance_id = await client.start_new("E1_HelloSequence", None, CITIES)
        status = await host.wait_for(instance_id, runtime_status="Completed")
        assert status.output == [f"Hello {c}!" for c in CITIES], status.output


async def cold(app: str) -> None:
    from devhost.testing import _run_host

    options = {"app": Path(app).resolve(), "time_skipping": True, "store": "memory"}
    async for host in _run_host(options):
        client = host.client()
        instance_id = await client.start_new("E1_HelloSequence", None, CITIES)
        await host.wait_for(instance_id, runtime_status="Completed")
        print("completed", flush=True)  # the parent's clock stops here; stopping the host is not counted


async def tests(app: str, count: int) -> None:
    times = []
    for _ in range(count):
        t0 = time.perf_counter()
        await one_test(app)
        times.append(time.perf_counter() - t0)
    print(json.dumps(times), flush=True)


if __name__ == "__main__":
    mode, app = sys.argv[1], sys.argv[2]
    if mode == "cold":
        asyncio.run(cold(app))
    else:
        # Each round on a loop of its own, as pytest-asyncio gives each test.
        n = int(sys.argv[3])
        per: list[float] = []
        for _ in range(n):
            t0 = time.perf_counter()
            asyncio.run(one_test(app))
            per.append(time.perf_counter() - t0)
        print(json.dumps(per), flush=True)
