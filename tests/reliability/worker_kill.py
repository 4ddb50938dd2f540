"""The worker-kill driver: the mixed workload while devhost's worker processes (not the host) are killed.

    python -m tests.reliability.worker_kill --kills 100 --seed 7 [--store sqlite|azure] [--workers 2]

devhost runs the reliability app with `--workers N`; clients run the scenarios of `workload.py`, and
at random moments (seeded; 1 to 3 s after the pool is whole again, so most kills land on workers that
have started, in the middle of episodes and activities) one worker process, found among the host's
children in /proc, is killed with SIGKILL. The host must stay up (clients get no retries: a refused or
cut connection is an error) and start new workers, and every work item that was in the killed pool
must run again. The app's HTTP functions run in the workers too, as in the Python worker on Azure, so
a kill fails the invocations it cuts: their bare 500s are counted (`http_invocations_cut`), not
errors, up to the number of clients per kill. Then the same checks as the crash suite: nothing
lost, no step doubled, activity re-executions counted, and the pool whole again after every kill
(the time it took is printed).

The summary line reads `worker_kill: seed=... kills=... replaced=... lost=0 doubled=0 errors=0 ...`;
exit status 1 if lost, doubled or errors is not 0.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from .crash import (
    StoreSpec,
    driver_parser,
    reliability_host,
    run_driver,
    settled,
    stored_histories,
)
from .processes import alive, worker_pids
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

RETRIED_MARK = "abandoned (failure"  # the engine's log line for a work item it retries


@dataclass
class WorkerKillReport(Outcome):
    seed: int
    store: str
    workers: int
    kills: int
    seconds: float
    replace_seconds: list[float] = field(default_factory=list)
    retried_items: int = 0

    def summary(self) -> str:
        v = self.verdict
        replace = sorted(self.replace_seconds)
        median = replace[len(replace) // 2] if replace else 0.0
        return (
            f"worker_kill: seed={self.seed} store={self.store} workers={self.workers} "
            f"instances={v.instances} kills={self.kills} replaced={len(replace)} "
            f"lost={len(v.lost) + len(v.wrong)} doubled={len(v.doubled)} errors={self.errors} "
            f"http_invocations_cut={self.tally.interrupted} "
            f"work_items_retried={self.retried_items} activity_runs={v.activity_runs} "
            f"activity_reexecutions={v.activity_reexecutions} requests={self.tally.requests} "
            f"replace_median_s={median:.2f} replace_max_s={replace[-1] if replace else 0.0:.2f} "
            f"seconds={self.seconds:.0f}"
        )


async def whole_pool(host_pid: int, workers: int, without: set[int], timeout: float = 60.0) -> bool:
    """Wait until the host has `workers` worker processes, none of them in `without`."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        current = set(worker_pids(host_pid))
        if len(current) == workers and not current & without:
            return True
        await asyncio.sleep(0.05)
    return False


async def run_worker_kills(
    *,
    kills: int,
    seed: int,
    spec: StoreSpec,
    work: Path,
    clients: int = 6,
    workers: int = 2,
    min_up: float = 1.0,
    max_up: float = 3.0,
    log: bool = False,
) -> WorkerKillReport:
    """Run the workload while killing a worker process `kills` times; the report of what survived."""
    rng = random.Random(seed)
    tally = Tally()
    workload = Workload(random.Random(rng.random()), tally, invocations_may_fail=True)
    proc, ledger = reliability_host(spec, work, "--workers", str(workers))
    began = time.monotonic()
    replaced: list[float] = []
    done = 0
    await asyncio.to_thread(proc.start, 60.0)
    host_pid = proc.pid
    assert host_pid is not None
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=90)) as session:
            client = Client(session, proc.url, tally, patience=0.0)  # the host stays up: no retries
            tasks = [asyncio.create_task(workload.client_loop(client)) for _ in range(clients)]
            for n in range(kills):
                await asyncio.sleep(rng.uniform(min_up, max_up))
                current = worker_pids(host_pid)
                if len(current) != workers:
                    tally.error(f"kill {n + 1}: the host has {len(current)} workers, not {workers}")
                    break
                victim = rng.choice(current)
                os.kill(victim, signal.SIGKILL)
                done += 1
                t0 = time.monotonic()
                if not await whole_pool(host_pid, workers, {victim}):
                    tally.error(f"kill {n + 1}: no new worker for {victim} in 60 s")
                    break
                replaced.append(time.monotonic() - t0)
                if not alive(host_pid):
                    tally.error(f"kill {n + 1}: the host died with its worker")
                    break
                if log and (n + 1) % 20 == 0:
                    print(f"worker_kill: {n + 1}/{kills} kills, {len(workload.expected)} instances")
            workload.stop()
            await asyncio.gather(*tasks)
            if tally.interrupted > done * clients:  # a kill cuts at most the calls then in flight
                tally.error(
                    f"{tally.interrupted} app invocations failed in {done} kills of {clients} clients"
                )
            statuses = await settled(client)
    finally:
        proc.stop()
    verdict = Verdict()
    check_outcomes(workload, statuses, verdict)
    check_ledger(workload, ledger, verdict)
    check_histories(workload, await stored_histories(spec, work, sorted(statuses)), verdict)
    return WorkerKillReport(
        verdict=verdict,
        tally=tally,
        seed=seed,
        store=spec.kind,
        workers=workers,
        kills=done,
        seconds=time.monotonic() - began,
        replace_seconds=replaced,
        retried_items=proc.log().count(RETRIED_MARK),
    )


def main(argv: list[str] | None = None) -> int:
    parser = driver_parser("worker_kill", __doc__)
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    return run_driver(
        "worker_kill",
        args,
        lambda spec, seed, work: run_worker_kills(
            kills=args.kills,
            seed=seed,
            spec=spec,
            work=work,
            clients=args.clients,
            workers=args.workers,
            log=True,
        ),
    )


if __name__ == "__main__":
    sys.exit(main())
