"""The load driver: many clients at once against one devhost process on loopback, for a bounded time.

    python -m tests.reliability.load --seconds 60 --clients 32 [--store sqlite|memory|azure] [--seed N]

Each client runs the workload of `workload.py` in a loop: starts instances (through the app's routes
and the webhooks), polls their status, raises events (before the orchestration waits, twice, a wrong
one first) and waits for the end. When the time is up the clients finish the scenario they are in,
every instance must have ended with the right output and custom status (so no event was lost), no
stored history may record a step twice (read from the store once the host has stopped; a memory store
goes with its process, so `--store memory` leaves this unchecked and says so), and no request may have
failed. The summary gives throughput and latency per kind of request.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from .crash import (
    StoreSpec,
    driver_parser,
    reliability_host,
    run_driver,
    settled,
    settled_entities,
    stored_histories,
)
from .entity_workload import check_entities
from .workload import (
    Client,
    Outcome,
    Tally,
    Verdict,
    Workload,
    check_histories,
    check_ledger,
    check_outcomes,
)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class LoadReport(Outcome):
    seed: int
    store: str
    clients: int
    seconds: float
    scenarios: int
    scenario_latencies: list[float]

    def summary(self) -> str:
        v = self.verdict
        lines = [
            f"load: seed={self.seed} store={self.store} clients={self.clients} seconds={self.seconds:.1f} "
            f"instances={v.instances} scenarios={self.scenarios} requests={self.tally.requests} "
            f"lost={len(v.lost)} wrong={len(v.wrong)} "
            f"doubled={len(v.doubled) if v.histories else 'unchecked'} errors={self.errors} "
            f"throughput={self.tally.requests / self.seconds:.0f} req/s "
            f"{v.instances / self.seconds:.1f} instances/s"
        ]
        rows = [*sorted(self.tally.latencies.items()), ("scenario (whole)", self.scenario_latencies)]
        for kind, values in rows:
            ms = [percentile(values, q) * 1000 for q in (0.5, 0.95, 0.99)]
            lines.append(
                f"  {kind:17} n={len(values):6}  p50={ms[0]:7.1f} ms  p95={ms[1]:7.1f} ms  "
                f"p99={ms[2]:7.1f} ms"
            )
        return "\n".join(lines)


async def run_load(*, seconds: float, clients: int, seed: int, spec: StoreSpec, work: Path) -> LoadReport:
    """`clients` concurrent clients for `seconds`, then every instance checked."""
    tally = Tally()
    workload = Workload(random.Random(seed), tally)
    proc, ledger = reliability_host(spec, work)
    await asyncio.to_thread(proc.start, 60.0)
    try:
        connector = aiohttp.TCPConnector(limit=clients * 2)
        async with aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=120)
        ) as session:
            # No retries under load: the host never goes away, so any cut connection is an error.
            client = Client(session, proc.url, tally, patience=0.0)
            began = time.monotonic()
            tasks = [asyncio.create_task(workload.client_loop(client)) for _ in range(clients)]
            await asyncio.sleep(seconds)
            workload.stop()
            await asyncio.gather(*tasks)
            elapsed = time.monotonic() - began
            statuses = await settled(client)
            entities = await settled_entities(client, workload)
    finally:
        proc.stop()
    verdict = Verdict()
    check_outcomes(workload, statuses, verdict)
    check_entities(workload.entity_ledger, entities, statuses, verdict)
    check_ledger(workload, ledger, verdict)
    if spec.kind != "memory":
        check_histories(workload, await stored_histories(spec, work, sorted(statuses)), verdict)
    if tally.retried:
        tally.error(f"{tally.retried} requests failed to connect under load")
    return LoadReport(
        verdict=verdict,
        tally=tally,
        seed=seed,
        store=spec.kind,
        clients=clients,
        seconds=elapsed,
        scenarios=workload.completed_scenarios,
        scenario_latencies=workload.instance_latencies,
    )


def main(argv: list[str] | None = None) -> int:
    parser = driver_parser("load", __doc__, clients=32, stores=("sqlite", "memory", "azure"))
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args(argv)
    return run_driver(
        "load",
        args,
        lambda spec, seed, work: run_load(
            seconds=args.seconds, clients=args.clients, seed=seed, spec=spec, work=work
        ),
    )


if __name__ == "__main__":
    sys.exit(main())
