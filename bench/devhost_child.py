"""Run in a new process by the cold-start and plugin-tests scenarios.

    python bench/devhost_child.py cold APP        `DevHost` on the memory store, one E1_HelloSequence
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


async def one_test(app: Path) -> None:
    """What one test using the `durable_host` fixture does: start a host, run one orchestration, stop."""
    from devhost.testing import _run_host

    options = {"app": app, "time_skipping": True, "store": "memory"}
    async for host in _run_host(options):
        client = host.client()
        instance_id = await client.start_new("E1_HelloSequence", None, CITIES)
        status = await host.wait_for(instance_id, runtime_status="Completed")
        assert status.output == [f"Hello {c}!" for c in CITIES], status.output


async def cold(app: Path) -> None:
    """A new process's first orchestration through devhost's Python API (`DevHost`, memory store)."""
    from devhost import DevHost

    async with DevHost(app, store="memory", port=0, rpc_port=0, workers=0) as host:
        client = host.client()
        instance_id = await client.start_new("E1_HelloSequence", None, CITIES)
        while True:
            status = await client.get_status(instance_id)
            if status.runtime_status is not None and status.runtime_status.value == "Completed":
                break
            await asyncio.sleep(0.002)
        print("completed", flush=True)  # the parent's clock stops here; stopping the host is not counted


if __name__ == "__main__":
    mode, app = sys.argv[1], Path(sys.argv[2]).resolve()
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
