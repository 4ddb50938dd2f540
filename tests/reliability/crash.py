"""The crash driver: a mixed workload against devhost while it is killed with SIGKILL, again and again.

    python -m tests.reliability.crash --kills 200 --seed 7 [--store sqlite|azure] [--clients 6]

Starts devhost (the reliability app: the repository's scenarios plus counted activities) as a child
process, runs the workload from `workload.py` with several concurrent clients, and kills the process
at random moments (seeded), restarting it on the same store each time. Then it lets every instance
finish, stops the host, and checks:

* lost: an instance a client was told about that is missing, did not complete, or ended with another
  output or custom status (outputs reflect every event raised), or an activity that never ran;
* doubled: a step recorded twice in a history (a task scheduled or completed twice, a timer fired
  twice, an execution started or ended twice, an event recorded more often than it was sent);
* activity re-executions: activities run more than once (at least once is the contract: counted);
* entities: every acknowledged signal and every operation of an `EntityTally` instance applied
  exactly once, a signal cut by a kill at most once (entity_workload.py);
* errors: answers no client should get (5xx, 404 for a known instance, a host that stays down).

The summary line reads `crash: seed=... instances=... kills=... lost=0 doubled=0 ...`; exit status 1
if lost, doubled or errors is not 0 (the seed is printed to reproduce the run).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from devhost.config import HUB_SETTING
from devhost.process import DevhostProcess, free_port
from devhost.store import Store, open_store

from ..azurite import Azurite, new_hub
from .entity_workload import check_entities, entity_states
from .workload import (
    APP,
    TERMINAL,
    Client,
    Outcome,
    Tally,
    Verdict,
    Workload,
    all_statuses,
    check_histories,
    check_ledger,
    check_outcomes,
)

LEDGER_ENV = "RELIABILITY_LEDGER"


@dataclass(frozen=True)
class StoreSpec:
    """Where the task hub lives: `kind` sqlite or azure, with the connection string for azure."""

    kind: str
    connection: str = ""
    hub: str = "ReliabilityHub"
    server: Azurite | None = field(default=None, compare=False)  # our own Azurite, when we started it

    def url(self, work: Path) -> str:
        if self.kind in ("azure", "memory"):
            return self.kind
        return f"sqlite:{work / 'durable.db'}"

    def ports(self) -> frozenset[int]:
        """The ports of the connection string's endpoints (Azurite's blob, queue and table), if any."""
        pairs = (piece.partition("=") for piece in self.connection.split(";"))
        urls = (value for key, _, value in pairs if key.strip().lower().endswith("endpoint"))
        return frozenset(port for port in (urlsplit(url.strip()).port for url in urls) if port is not None)

    def env(self) -> dict[str, str]:
        if self.kind != "azure":
            return {}
        return {"AzureWebJobsStorage": self.connection, HUB_SETTING: self.hub}


def reliability_host(
    spec: StoreSpec, work: Path, *options: str, env: dict[str, str] | None = None, piped_log: bool = False
) -> tuple[DevhostProcess, Path]:
    """devhost (not started yet) serving the reliability app on `spec`, its activities writing their
    ledger to `work`/ledger.txt: the process and the ledger's path. Every driver runs this host."""
    ledger = work / "ledger.txt"
    proc = DevhostProcess(
        work,
        spec.url(work),
        *options,
        app=APP,
        port=free_port(),
        env={**spec.env(), LEDGER_ENV: str(ledger), **(env or {})},
        piped_log=piped_log,
    )
    return proc, ledger


def driver_parser(
    module: str, doc: str, *, clients: int = 6, stores: tuple[str, ...] = ("sqlite", "azure")
) -> argparse.ArgumentParser:
    """The command line every driver shares (`--seed`, `--store`, `--clients`, `--work`, read by
    `run_driver`); the driver adds its own options."""
    parser = argparse.ArgumentParser(
        prog=f"python -m tests.reliability.{module}", description=doc.split("\n")[0]
    )
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: a new one, printed)")
    parser.add_argument("--store", choices=list(stores), default="sqlite")
    parser.add_argument("--clients", type=int, default=clients)
    parser.add_argument("--work", type=Path, default=None, help="folder for the store, logs and ledger")
    return parser


@dataclass
class CrashReport(Outcome):
    seed: int
    store: str
    kills: int
    seconds: float
    restart_seconds: list[float] = field(default_factory=list)

    def summary(self) -> str:
        v = self.verdict
        restart = sorted(self.restart_seconds)
        median = restart[len(restart) // 2] if restart else 0.0
        return (
            f"crash: seed={self.seed} store={self.store} instances={v.instances} kills={self.kills} "
            f"lost={len(v.lost)} doubled={len(v.doubled)} activity_runs={v.activity_runs} "
            f"activity_reexecutions={v.activity_reexecutions} entity_ops={v.entity_operations} "
            f"entity_ops_checked={v.entity_acknowledged} errors={self.errors} "
            f"requests={self.tally.requests} retried={self.tally.retried} "
            f"interrupted={self.tally.interrupted} "
            f"restart_median_s={median:.2f} seconds={self.seconds:.0f}"
        )


async def settled(client: Client, timeout: float = 120.0) -> dict[str, dict[str, object]]:
    """Every instance's status once none is still running (instances whose start answer was lost too).

    After `timeout` seconds the statuses are returned as they are and the run gets an error naming
    what still runs, so a host that never finishes fails the run instead of passing it quietly.
    """
    end = time.monotonic() + timeout
    while True:
        statuses = await all_statuses(client)
        running = sorted(i for i, s in statuses.items() if s["runtimeStatus"] not in TERMINAL)
        if not running:
            return statuses
        if time.monotonic() > end:
            client.tally.error(f"{len(running)} instances still running after {timeout} s: {running[:5]}")
            return statuses
        await asyncio.sleep(0.2)


async def settled_entities(client: Client, workload: Workload, timeout: float = 60.0) -> dict[str, Any]:
    """The entities' states once every signal the clients know of was applied (signals run after the
    orchestrations settle; after `timeout` s the states are returned as they are)."""
    end = time.monotonic() + timeout
    wanted = dict(workload.entity_ledger.acknowledged)
    while True:
        states = await entity_states(client)
        missing = [i for i, key in wanted.items() if i not in states.get(key, {}).get("applied", {})]
        if not missing or time.monotonic() > end:
            return states
        await asyncio.sleep(0.2)


async def stored_histories(spec: StoreSpec, work: Path, ids: list[str]) -> dict[str, list[dict[str, object]]]:
    """Every instance's stored history, read from the store itself once the host has stopped."""
    if spec.kind == "azure":
        # This connection string, whatever AzureWebJobsStorage the environment holds (it would win).
        from devhost.store.azure import AzureStore
        from devhost.store.azure_account import parse_account

        store: Store = AzureStore(parse_account(spec.connection), spec.hub)
    else:
        store = open_store(spec.url(work), hub_name=spec.hub)
    await store.open()
    try:
        return {i: [json.loads(t) for t in await store.get_history(i)] for i in ids}
    finally:
        await store.close()


async def run_crash(
    *,
    kills: int,
    seed: int,
    spec: StoreSpec,
    work: Path,
    clients: int = 6,
    min_up: float = 0.2,
    max_up: float = 1.5,
    log: bool = False,
) -> CrashReport:
    """Run the workload while killing devhost `kills` times; the report of what survived."""
    rng = random.Random(seed)
    tally = Tally()
    workload = Workload(random.Random(rng.random()), tally)
    proc, ledger = reliability_host(spec, work)
    began = time.monotonic()
    restarts: list[float] = []
    done = 0
    await asyncio.to_thread(proc.start, 60.0)
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=90)) as session:
            client = Client(session, proc.url, tally)
            tasks = [asyncio.create_task(workload.client_loop(client)) for _ in range(clients)]
            for n in range(kills):
                await asyncio.sleep(rng.uniform(min_up, max_up))
                proc.kill()
                done += 1
                t0 = time.monotonic()
                await asyncio.to_thread(proc.start, 60.0)
                restarts.append(time.monotonic() - t0)
                if log and (n + 1) % 20 == 0:
                    print(
                        f"crash: {n + 1}/{kills} kills, {len(workload.expected)} instances so far", flush=True
                    )
            workload.stop()
            await asyncio.gather(*tasks)
            statuses = await settled(client)
            entities = await settled_entities(client, workload)
    finally:
        proc.stop()
    verdict = Verdict()
    check_outcomes(workload, statuses, verdict)
    check_ledger(workload, ledger, verdict)
    check_histories(workload, await stored_histories(spec, work, sorted(statuses)), verdict)
    check_entities(workload.entity_ledger, entities, statuses, verdict)
    return CrashReport(
        verdict=verdict,
        tally=tally,
        seed=seed,
        store=spec.kind,
        kills=done,
        seconds=time.monotonic() - began,
        restart_seconds=restarts,
    )


@contextlib.contextmanager
def azure_spec(work: Path) -> Iterator[StoreSpec]:
    """An Azurite of our own (tests/azurite.py) for a command-line run on the azure store, keeping
    its data in `work/azurite/data` (on disk, as a developer's Azurite does)."""
    (work / "azurite").mkdir(exist_ok=True)
    server = Azurite(work / "azurite", location=work / "azurite" / "data")
    server.start()
    try:
        yield StoreSpec("azure", server.connection_string, new_hub(), server)
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = driver_parser("crash", __doc__)
    parser.add_argument("--kills", type=int, default=200)
    args = parser.parse_args(argv)
    return run_driver(
        "crash",
        args,
        lambda spec, seed, work: run_crash(
            kills=args.kills, seed=seed, spec=spec, work=work, clients=args.clients, log=True
        ),
    )


def run_driver(
    name: str, args: argparse.Namespace, run: Callable[[StoreSpec, int, Path], Awaitable[Any]]
) -> int:
    """The command line shared by the drivers: seed and work folder, the store, the summary, the exit code.

    `args` carries `seed`, `work` and `store`; `run(spec, seed, work)` returns a report with `ok`,
    `summary()` and `details()`.
    """
    seed = args.seed if args.seed is not None else random.randrange(2**31)
    work = args.work or Path(tempfile.mkdtemp(prefix=f"devhost-{name}-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"{name}: seed={seed} store={args.store} work={work}", flush=True)
    with contextlib.ExitStack() as stack:
        spec = stack.enter_context(azure_spec(work)) if args.store == "azure" else StoreSpec(args.store)
        report = asyncio.run(run(spec, seed, work))
    print(report.summary(), flush=True)
    if not report.ok:
        print(report.details(), flush=True)
        print(f"{name}: FAILED; reproduce with --seed {seed}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
