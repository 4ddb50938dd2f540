"""The soak driver: the mixed workload for a long time, with purges, while memory and descriptors are sampled.

    python -m tests.reliability.soak --minutes 30 [--store sqlite|azure] [--clients 8] [--workers 2]

devhost runs the reliability app as its own process with worker processes (`--workers`). Clients run
the scenarios of `workload.py` (starts through the app's routes and the webhooks, events, durable
timers, status polling) without pause, and a purger checks every instance whose scenario has ended
(output, custom status, its history view holds no step twice) and purges four in five of them, so the
store turns over as a developer's does; the fifth stays and is checked from the store at the end.

Every few seconds the host's and its children's resident memory (VmRSS in /proc/PID/status) and open
descriptors (/proc/PID/fd) are read. The load pauses twice, after a warm-up and at the end, with every
client connection closed: those two idle readings are compared, so that what the load itself holds
(connections, requests in flight) does not count as growth. The verdict:

* memory: host + workers RSS at the end, idle, at most `--rss-bound` MB over the idle figure after
  the warm-up;
* descriptors: host + workers open descriptors at the end, idle, at most `--fd-bound` over the idle
  figure after the warm-up, leaving out the host's pooled connections. Its HTTP clients hold idle
  keep-alive connections: the store's to Azurite's ports (busy with queue polls, so Azurite's 5 s
  idle timeout never closes them) and the app's durable client's to the host's own RPC port (both
  ends are the host's; aiohttp's server keeps its end for 75 s). A pool grows to the most requests
  it has had in flight at once, which a warm-up of a few seconds need not reach, so these are bounded
  on their own: at most `--pooled-bound` at the end, what the pools can hold (soak_report.py);
* lost, doubled and errors 0, as in the crash and load suites.

The summary line reads `soak: ... lost=0 doubled=0 errors=0 ... verdict=ok`; exit status 1 otherwise.
"""

from __future__ import annotations

import asyncio
import contextvars
import random
import sys
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp

from .crash import StoreSpec, driver_parser, reliability_host, run_driver, stored_histories
from .processes import Sample, sample
from .soak_report import FD_BOUND, POOLED_BOUND, RSS_BOUND_MB, SoakReport
from .workload import (
    TERMINAL,
    WEBHOOKS,
    Client,
    Tally,
    Verdict,
    Workload,
    all_statuses,
    check_histories,
    check_ledger,
    check_outcomes,
)

_SCENARIO_IDS: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("scenario_ids", default=None)
_COMPLETIONS = {
    "TaskCompleted",
    "TaskFailed",
    "SubOrchestrationInstanceCompleted",
    "SubOrchestrationInstanceFailed",
}


class _NotingDict(dict[str, Any]):
    """`Workload.expected`, noting each id a scenario registers in that scenario's own list."""

    def __setitem__(self, key: str, value: Any) -> None:
        noted = _SCENARIO_IDS.get()
        if noted is not None:
            noted.append(key)
        super().__setitem__(key, value)


class SoakWorkload(Workload):
    """The workload of the crash and load suites, telling which instances' scenarios have ended (only
    those may be purged: a client still polling or raising to a purged instance would get a 404)."""

    SCENARIOS = ("hello", "hello_wait", "city", "ticket", "set_status", "deadline", "ledger")

    def __init__(self, rng: random.Random, tally: Tally) -> None:
        super().__init__(rng, tally)
        self.expected = _NotingDict()
        self.finished: deque[str] = deque()
        for name in self.SCENARIOS:
            setattr(self, name, self._noting(getattr(self, name)))

    def _noting(self, scenario: Callable[[Client], Awaitable[None]]) -> Callable[[Client], Awaitable[None]]:
        async def run(client: Client) -> None:
            noted: list[str] = []
            token = _SCENARIO_IDS.set(noted)
            try:
                await scenario(client)
            finally:
                _SCENARIO_IDS.reset(token)
                self.finished.extend(noted)

        return run

    def resume(self) -> None:
        """Let the client loops run again after `stop()`."""
        self._stopping.clear()


def doubled_in_view(instance_id: str, events: list[dict[str, Any]], sent: Counter[str]) -> list[str]:
    """Steps the status API's history view shows twice: an execution started or ended twice, a task
    (function, scheduled time and input) answered twice, a timer fired twice, or an event recorded more
    often than it was sent. (The view drops task ids, so the stored history is not needed.)"""
    counts: Counter[tuple[Any, ...]] = Counter()
    for e in events:
        kind = e.get("EventType")
        if kind in ("ExecutionStarted", "ExecutionCompleted"):
            counts[(kind,)] += 1
        elif kind in _COMPLETIONS:
            counts[("completion", e.get("FunctionName"), e.get("ScheduledTime"), repr(e.get("Input")))] += 1
        elif kind == "TimerFired":
            counts[("TimerFired", e.get("FireAt"))] += 1
        elif kind == "EventRaised":
            counts[("EventRaised", e.get("Name"))] += 1
    problems = []
    for key, n in counts.items():
        limit = sent[key[1]] if key[0] == "EventRaised" else 1
        if n > limit:
            problems.append(f"{instance_id}: {' '.join(map(str, key))} shown {n} times (at most {limit})")
    return problems


@dataclass
class Purger:
    """Checks each instance whose scenario ended, then purges it unless it is every `keep_every`-th."""

    workload: SoakWorkload
    verdict: Verdict
    keep_every: int = 5
    checked: int = 0
    purged: int = 0

    async def sweep(self, client: Client) -> None:
        while self.workload.finished:
            instance_id = self.workload.finished.popleft()
            known = self.workload.expected.get(instance_id)
            status = await client.status(instance_id, showHistory="true", showHistoryOutput="true")
            if known is None or status is None or status["runtimeStatus"] not in TERMINAL:
                continue  # the scenario reported its own error; the end check names the instance
            self.checked += 1
            if self.checked % self.keep_every == 0:
                continue
            check_outcomes(
                SimpleNamespace(expected={instance_id: known}), {instance_id: status}, found := Verdict()
            )
            self.verdict.lost += found.lost
            self.verdict.wrong += found.wrong
            self.verdict.doubled += doubled_in_view(
                instance_id, status.get("historyEvents") or [], known.events
            )
            code, body = await client.request("purge", "DELETE", f"{WEBHOOKS}/instances/{instance_id}")
            if code != 200 or (body or {}).get("instancesDeleted") != 1:
                client.tally.error(f"purge {instance_id}: HTTP {code} {body}")
                continue
            del self.workload.expected[instance_id]
            self.purged += 1

    async def run(self, client: Client, stopping: asyncio.Event, every: float = 1.0) -> None:
        while not stopping.is_set():
            await self.sweep(client)
            await asyncio.wait([asyncio.create_task(stopping.wait())], timeout=every)
        await self.sweep(client)


async def run_soak(
    *,
    seconds: float,
    seed: int,
    spec: StoreSpec,
    work: Path,
    warmup: float | None = None,
    clients: int = 8,
    workers: int = 2,
    every: float = 5.0,
    rss_bound: float = RSS_BOUND_MB,
    fd_bound: int = FD_BOUND,
    pooled_bound: int = POOLED_BOUND,
    log: bool = False,
) -> SoakReport:
    """A warm-up, then `seconds` of load with purges; samples all along, idle readings after each."""
    warmup = min(60.0, max(3.0, seconds / 10)) if warmup is None else warmup
    tally, verdict = Tally(), Verdict()
    workload = SoakWorkload(random.Random(seed), tally)
    purger = Purger(workload, verdict)
    proc, ledger = reliability_host(spec, work, "--workers", str(workers))
    store_ports = spec.ports()
    samples: list[Sample] = []
    idle: list[Sample] = []
    began = time.monotonic()

    def reading() -> Sample | None:
        assert proc.pid is not None
        taken = sample(proc.pid, time.monotonic() - began, store_ports)
        if taken is not None:
            samples.append(taken)
        return taken

    async def sampler() -> None:
        next_log = began + 60
        while True:
            taken = reading()
            if log and taken is not None and time.monotonic() >= next_log:
                next_log += 60
                print(
                    f"soak: {taken.at:5.0f} s  rss {taken.host_rss_mb:.1f} + {taken.children_rss_mb:.1f} MB  "
                    f"fds {taken.host_fds} + {taken.children_fds}  instances {purger.checked} checked, "
                    f"{purger.purged} purged  errors {len(tally.errors)}",
                    flush=True,
                )
            await asyncio.sleep(every)

    async def phase(length: float) -> None:
        stopping = asyncio.Event()
        workload.resume()
        async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=clients * 2), timeout=aiohttp.ClientTimeout(total=120)
        ) as session:
            client = Client(session, proc.url, tally, patience=0.0)  # the host never goes away: no retries
            loops = [asyncio.create_task(workload.client_loop(client)) for _ in range(clients)]
            purging = asyncio.create_task(purger.run(client, stopping))
            await asyncio.sleep(length)
            workload.stop()
            await asyncio.gather(*loops)
            stopping.set()
            await purging
        await asyncio.sleep(1.0)  # the host closes its side of the connections
        taken = reading()
        if taken is not None:
            idle.append(taken)

    await asyncio.to_thread(proc.start, 60.0)
    sampling = asyncio.create_task(sampler())
    try:
        await phase(warmup)
        if log:
            print(f"soak: warm-up of {warmup:.0f} s done; {seconds:.0f} s of load follow", flush=True)
        await phase(seconds)
        sampling.cancel()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
            statuses = await all_statuses(Client(session, proc.url, tally))
    finally:
        sampling.cancel()
        proc.stop()
    check_outcomes(workload, statuses, verdict)
    for instance_id, status in statuses.items():
        if status["runtimeStatus"] not in TERMINAL:
            verdict.lost.append(f"{instance_id}: still {status['runtimeStatus']} when the load ended")
    check_ledger(workload, ledger, verdict)
    check_histories(workload, await stored_histories(spec, work, sorted(statuses)), verdict)
    return SoakReport(
        verdict=verdict,
        tally=tally,
        seed=seed,
        store=spec.kind,
        workers=workers,
        seconds=time.monotonic() - began,
        purged=purger.purged,
        samples=samples,
        idle=idle,
        rss_bound=rss_bound,
        fd_bound=fd_bound,
        pooled_bound=pooled_bound,
        requests_by_kind={k: len(v) for k, v in tally.latencies.items()},
    )


def main(argv: list[str] | None = None) -> int:
    parser = driver_parser("soak", __doc__, clients=8)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=None, help="seconds (default a tenth, 3 to 60)")
    parser.add_argument("--workers", type=int, default=2, help="devhost worker processes (default 2)")
    parser.add_argument("--every", type=float, default=5.0, help="seconds between samples (default 5)")
    parser.add_argument("--rss-bound", type=float, default=RSS_BOUND_MB, help="MB (default %(default)s)")
    parser.add_argument("--fd-bound", type=int, default=FD_BOUND, help="descriptors (default %(default)s)")
    parser.add_argument(
        "--pooled-bound",
        type=int,
        default=POOLED_BOUND,
        help="the host's pooled connections at the end, idle (default %(default)s)",
    )
    args = parser.parse_args(argv)
    return run_driver(
        "soak",
        args,
        lambda spec, seed, work: run_soak(
            seconds=args.minutes * 60,
            warmup=args.warmup,
            seed=seed,
            spec=spec,
            work=work,
            clients=args.clients,
            workers=args.workers,
            every=args.every,
            rss_bound=args.rss_bound,
            fd_bound=args.fd_bound,
            pooled_bound=args.pooled_bound,
            log=True,
        ),
    )


if __name__ == "__main__":
    sys.exit(main())
