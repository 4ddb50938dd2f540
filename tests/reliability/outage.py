"""The storage outage driver: devhost under load while its storage goes away for a while and comes back.

    python -m tests.reliability.outage --store azure --outage 20 [--seed N] [--clients 6]
    python -m tests.reliability.outage --store sqlite --outage 20

`azure`: Azurite (data in a folder) is stopped for `--outage` seconds and started again on the same
ports with the same data. `sqlite`: the database's disk is full for that long, simulated by setting
the devhost process's file-size limit (RLIMIT_FSIZE) to 0, so every write to the database fails
as on a full disk (EFBIG), and lifting it afterwards. devhost's activities run in a worker process
there, whose own writes (the ledger file) are not limited: the disk that is full is the store's.

Clients run the webhook scenarios of `workload.py` throughout; a 503 is waited out as its
Retry-After asks (one without Retry-After or a JSON body is an error). While the storage is down
the driver also probes the API itself: a start and a status query, which must be answered (503
with Retry-After and a JSON body, or served), never 500 and never without an answer. Afterwards
every instance must complete with the right output, nothing lost or doubled (the checks of the
crash suite), and devhost's log must tell the outage once and its end once. Azurite stops its three
services one after another on SIGTERM, so until it has exited a call to one still up may succeed
after a call to another failed: an outage and its end that devhost tells before the storage was
wholly gone (or within LATE_ANSWER of it: an answer received just before Azurite exited is logged a
moment later) are counted apart (`partial_stop`), not as the outage. SQLite's file must pass
`PRAGMA integrity_check`.

The summary line reads `outage: seed=... store=... down_s=... lost=0 doubled=0 errors=0 answered_503=...`.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import resource
import sqlite3
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp

from devhost.process import DevhostProcess

from ..azurite import Azurite
from .crash import (
    StoreSpec,
    driver_parser,
    reliability_host,
    run_driver,
    settled,
    stored_histories,
)
from .workload import (
    WEBHOOKS,
    Client,
    Outcome,
    Tally,
    Verdict,
    Workload,
    check_histories,
    check_ledger,
    check_outcomes,
)

# Scenarios driven through the Durable HTTP API alone (ids chosen by the client, so safe to retry).
SCENARIOS = ("city", "ticket", "set_status", "ledger")
BEGAN = "durable store"  # devhost's log lines (store/outage.py)
BEGAN_TEXT = "unavailable:"
ENDED_TEXT = "available again after"
LOG_TIME = "%Y-%m-%d %H:%M:%S,%f"  # the time that starts each line of devhost's log (local time)
# Once the storage is wholly gone no call can succeed until it is back, which takes the outage's
# length (more than this); an end logged this soon after it was answered before.
LATE_ANSWER = timedelta(seconds=1)


@dataclass
class OutageReport(Outcome):
    seed: int
    store: str
    outage_seconds: float
    seconds: float
    down_seconds: float = 0.0  # measured: from taking the storage away until it answers again
    probes: Counter[int] = field(default_factory=Counter)  # status codes of the probes while down
    began_logged: int = 0
    ended_logged: int = 0
    partial_stop: int = 0  # outages told and ended while the storage was still going away
    tracebacks: int = 0
    integrity: str = "n/a"
    recovery_seconds: float = 0.0  # from the storage's return to the first instance completed after it

    def summary(self) -> str:
        v = self.verdict
        probes = ",".join(f"{code}x{n}" for code, n in sorted(self.probes.items()))
        return (
            f"outage: seed={self.seed} store={self.store} down_s={self.down_seconds:.1f} "
            f"instances={v.instances} lost={len(v.lost)} doubled={len(v.doubled)} errors={self.errors} "
            f"answered_503={self.tally.unavailable} probes={probes} logged_outage={self.began_logged} "
            f"logged_recovery={self.ended_logged} partial_stop={self.partial_stop} "
            f"tracebacks={self.tracebacks} integrity={self.integrity} "
            f"activity_reexecutions={v.activity_reexecutions} requests={self.tally.requests} "
            f"recovery_s={self.recovery_seconds:.1f} seconds={self.seconds:.0f}"
        )


def told_outages(log: str, gone: datetime) -> tuple[int, int, int]:
    """How many times devhost's log tells an outage, and its end, and how many of those ends it wrote
    before `gone`, the moment the storage was wholly away, or within LATE_ANSWER of it (a partial
    stop, each with its beginning)."""
    lines = [line for line in log.splitlines() if BEGAN in line]
    began = sum(1 for line in lines if BEGAN_TEXT in line)
    ended = [datetime.strptime(line[:23], LOG_TIME) for line in lines if ENDED_TEXT in line]
    return began, len(ended), sum(1 for at in ended if at < gone + LATE_ANSWER)


class Fault:
    """Takes the storage away (`begin`) and gives it back (`end`)."""

    async def begin(self) -> None:
        raise NotImplementedError

    async def end(self) -> None:
        raise NotImplementedError


class AzuriteStopped(Fault):
    def __init__(self, server: Azurite) -> None:
        self.server = server

    async def begin(self) -> None:
        await asyncio.to_thread(self.server.stop)

    async def end(self) -> None:
        await asyncio.to_thread(self.server.start)  # the same ports and data folder


class DiskFull(Fault):
    """The devhost process may write no byte to any file (RLIMIT_FSIZE 0): a full disk, as SQLite sees it."""

    def __init__(self, proc: DevhostProcess) -> None:
        self.proc = proc
        self._before: tuple[int, int] | None = None

    async def begin(self) -> None:
        assert self.proc.pid is not None
        self._before = resource.prlimit(self.proc.pid, resource.RLIMIT_FSIZE)
        resource.prlimit(self.proc.pid, resource.RLIMIT_FSIZE, (0, self._before[1]))

    async def end(self) -> None:
        assert self.proc.pid is not None and self._before is not None
        resource.prlimit(self.proc.pid, resource.RLIMIT_FSIZE, self._before)


async def probe(client: Client, tally: Tally, serial: int) -> int:
    """One start and one status query while the storage is down; the start's status code."""
    codes = []
    for method, path in (
        ("POST", f"{WEBHOOKS}/orchestrators/E1_HelloSequence/probe-{serial}"),
        ("GET", f"{WEBHOOKS}/instances?top=5"),
    ):
        try:
            async with client.session.request(method, client.base + path, json=["Oslo", "Lima"]) as resp:
                body = await resp.text()
                codes.append(resp.status)
                if resp.status == 503 and not (
                    resp.headers.get("Retry-After", "").isdigit() and resp.content_type == "application/json"
                ):
                    tally.error(f"probe {method} {path}: 503 without Retry-After or JSON body: {body[:200]}")
                elif resp.status >= 500 and resp.status != 503:
                    tally.error(f"probe {method} {path}: HTTP {resp.status} {body[:300]}")
        except aiohttp.ClientError as exc:
            tally.error(f"probe {method} {path}: no answer ({exc!r})")
    return codes[0]


async def run_outage(
    *,
    spec: StoreSpec,
    work: Path,
    seed: int,
    outage: float,
    before: float = 5.0,
    after: float = 5.0,
    clients: int = 6,
) -> OutageReport:
    """Load, `before` seconds; the storage down for `outage` seconds; load again, `after` seconds."""
    if outage <= LATE_ANSWER.total_seconds():
        raise ValueError(f"an outage must last more than {LATE_ANSWER.total_seconds():g} s (see LATE_ANSWER)")
    rng = random.Random(seed)
    tally = Tally()
    workload = Workload(random.Random(rng.random()), tally, scenarios=SCENARIOS)
    # On SQLite the activities run in a worker process, so the ledger is written outside the full disk.
    workers = {"FUNCTIONS_WORKER_PROCESS_COUNT": "1"} if spec.kind == "sqlite" else {}
    proc, ledger = reliability_host(spec, work, env=workers, piped_log=True)
    fault: Fault = AzuriteStopped(spec.server) if spec.server is not None else DiskFull(proc)
    report = OutageReport(Verdict(), tally, seed, spec.kind, outage, 0.0)
    began = time.monotonic()
    await asyncio.to_thread(proc.start, 60.0)
    offset = len(proc.log())
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=90)) as session:
            client = Client(session, proc.url, tally, retry_unavailable=True)
            tasks = [asyncio.create_task(workload.client_loop(client)) for _ in range(clients)]
            await asyncio.sleep(before)
            down = time.monotonic()
            await fault.begin()
            gone = datetime.now()  # begin() returns once the storage is wholly away
            down_until = time.monotonic() + outage
            serial = 0
            while time.monotonic() < down_until:
                serial += 1
                report.probes[await probe(client, tally, serial)] += 1
                if not proc.running:
                    tally.error("devhost exited during the outage")
                    break
                await asyncio.sleep(min(1.0, max(0.0, down_until - time.monotonic())))
            await fault.end()
            back = time.monotonic()
            report.down_seconds = back - down
            completed_before = workload.completed_scenarios
            for _ in range(600):  # the first scenario completed after the storage is back
                if workload.completed_scenarios > completed_before:
                    break
                await asyncio.sleep(0.1)
            report.recovery_seconds = time.monotonic() - back
            await asyncio.sleep(after)
            workload.stop()
            await asyncio.gather(*tasks)
            statuses = await settled(client)
    finally:
        proc.stop()
    log = proc.log()[offset:]
    report.began_logged, report.ended_logged, report.partial_stop = told_outages(log, gone)
    report.tracebacks = log.count("Traceback (most recent call last)")
    told = (report.began_logged - report.partial_stop, report.ended_logged - report.partial_stop)
    if told != (1, 1):
        tally.error(
            f"the log tells the outage {report.began_logged} times and its end {report.ended_logged} "
            f"({report.partial_stop} of each before the storage was wholly gone)"
        )
    if report.tracebacks:
        tally.error(f"{report.tracebacks} tracebacks in devhost's log (see {proc.log_path})")
    # A probe's start that was served is an instance like the others: checked from its input.
    check_outcomes(workload, statuses, report.verdict)
    check_ledger(workload, ledger, report.verdict)
    check_histories(workload, await stored_histories(spec, work, sorted(statuses)), report.verdict)
    if spec.kind == "sqlite":
        report.integrity = integrity(work / "durable.db")
        if report.integrity != "ok":
            tally.error(f"PRAGMA integrity_check: {report.integrity}")
    report.seconds = time.monotonic() - began
    return report


def integrity(path: Path) -> str:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return "; ".join(str(row[0]) for row in db.execute("PRAGMA integrity_check"))


def main(argv: list[str] | None = None) -> int:
    parser = driver_parser("outage", __doc__)
    parser.add_argument("--outage", type=float, default=20.0, help="seconds the storage is down")
    parser.add_argument("--before", type=float, default=5.0, help="seconds of load before the outage")
    parser.add_argument("--after", type=float, default=5.0, help="seconds of load after the recovery")
    args = parser.parse_args(argv)
    return run_driver(
        "outage",
        args,
        lambda spec, seed, work: run_outage(
            spec=spec,
            work=work,
            seed=seed,
            outage=args.outage,
            before=args.before,
            after=args.after,
            clients=args.clients,
        ),
    )


if __name__ == "__main__":
    sys.exit(main())
