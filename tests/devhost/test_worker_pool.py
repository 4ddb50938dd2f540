"""User code in worker processes (`--workers N`): same results, and no worker outlives its host."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import pickle
import signal
import time
from datetime import timedelta
from pathlib import Path

from devhost import DevHost
from devhost.engine.worker_pool import ProcessPoolInvoker, _Worker
from devhost.process import DevhostProcess

ROOT = Path(__file__).resolve().parents[2]


def _children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


async def test_orchestrations_and_activities_run_in_worker_processes() -> None:
    async with DevHost(ROOT, store="memory", port=0, rpc_port=0, workers=2, time_skipping=True) as host:
        client = host.client()
        hello = await client.start_new("E1_HelloSequence", None, ["Lima", "Quito"])
        ticket = await client.start_new("ReserveTicket", None, "ana")
        await host.advance(timedelta(seconds=61))  # past the offer's deadline
        done = await client.get_status(hello)
        assert done.output == ["Hello Lima!", "Hello Quito!"] and done.custom_status == "Quito"
        missed = await client.get_status(ticket)
        assert missed.output is False
        assert len(_children(os.getpid()) & set(host.worker_pids())) == 2


def test_workers_exit_when_the_host_is_killed(tmp_path: Path) -> None:
    proc = DevhostProcess(tmp_path, "memory", "--workers", "2", app=ROOT).start()
    assert proc.pid is not None
    workers = _children(proc.pid)
    assert len(workers) >= 2
    proc.stop(signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.1)
    assert not [w for w in workers if _alive(w)]


async def test_a_killed_worker_is_replaced_and_work_goes_on() -> None:
    async with DevHost(ROOT, store="memory", port=0, rpc_port=0, workers=2, time_skipping=True) as host:
        before = host.worker_pids()
        os.kill(before[0], signal.SIGKILL)

        def replaced() -> bool:
            pids = host.worker_pids()
            return before[0] not in pids and len(pids) == 2

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not replaced():  # noqa: ASYNC110 - polling a process table
            await asyncio.sleep(0.05)
        after = host.worker_pids()
        assert before[0] not in after and len(after) == 2
        client = host.client()
        started = [await client.start_new("E1_HelloSequence", None, [f"City{n}"]) for n in range(6)]
        await host.wait_idle()
        for n, instance_id in enumerate(started):
            status = await client.get_status(instance_id)
            assert status.output == [f"Hello City{n}!"], status.to_json()


async def test_the_answers_a_worker_has_sent_are_all_taken_in_one_read() -> None:
    """Answers that arrived together finish their work items in one loop turn, so the commits that
    follow share a transaction (store/sqlite_writer.py)."""
    loop = asyncio.get_running_loop()
    host_end, worker_end = multiprocessing.Pipe(duplex=True)
    pool = ProcessPoolInvoker(ROOT, processes=0)
    ready: asyncio.Future[None] = loop.create_future()
    ready.set_result(None)
    worker = _Worker(process=None, conn=host_end, ready=ready)  # type: ignore[arg-type]
    futures = {n: loop.create_future() for n in range(3)}
    worker.busy.update(futures)
    pool._workers.append(worker)
    try:
        for n in range(3):
            worker_end.send_bytes(pickle.dumps((n, f"reply {n}")))
        pool._readable(worker)  # one readable callback
        assert {n: f.result() for n, f in futures.items() if f.done()} == {n: f"reply {n}" for n in range(3)}
        assert not worker.busy
        assert not host_end.poll()
    finally:
        host_end.close()
        worker_end.close()
