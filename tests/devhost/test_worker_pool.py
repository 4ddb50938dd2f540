"""User code in worker processes (`--workers N`): same results, and no worker outlives its host."""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import azure.durable_functions as df
import pytest

from devhost import DevHost
from devhost.engine.worker_pool import ProcessPoolInvoker, _HostSide, _Worker
from devhost.engine.worker_process import WorkerSide
from devhost.engine.worker_wire import Frames, frame
from devhost.process import DevhostProcess

from .helpers import TERMINAL, call, wait_until

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
    follow share a transaction (store/sqlite_writer.py); an answer cut in two waits for its rest."""
    loop = asyncio.get_running_loop()
    pool = ProcessPoolInvoker(ROOT, processes=0)
    ready: asyncio.Future[None] = loop.create_future()
    ready.set_result(None)
    worker = _Worker(process=None, ready=ready)  # type: ignore[arg-type]
    futures = {n: loop.create_future() for n in range(3)}
    worker.busy.update(futures)
    pool._workers.append(worker)
    side = _HostSide(pool, worker)
    sent = b"".join(frame((n, f"reply {n}")) for n in range(3))
    side.data_received(sent[:7])  # the first answer's length and part of it
    assert not any(f.done() for f in futures.values())
    side.data_received(sent[7:])  # the rest, in one read
    assert {n: f.result() for n, f in futures.items() if f.done()} == {n: f"reply {n}" for n in range(3)}
    assert not worker.busy


_MEETING_APP = """
import asyncio
import os
import pickle
import threading

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
_threads = threading.Barrier(3, timeout=15)
_arrived = 0
_everyone = None


@app.orchestration_trigger(context_name="context")
def meet(context: df.DurableOrchestrationContext):
    activity = context.get_input()
    return (yield context.task_all([context.call_activity(activity, n) for n in range(3)]))


@app.activity_trigger(input_name="n")
def meet_in_threads(n: int) -> int:
    _threads.wait()  # BrokenBarrierError unless all three run at the same time
    return os.getpid()


@app.activity_trigger(input_name="n")
async def meet_on_the_loop(n: int) -> int:
    global _arrived, _everyone
    _everyone = _everyone or asyncio.Event()
    _arrived += 1
    if _arrived == 3:
        _everyone.set()
    await asyncio.wait_for(_everyone.wait(), 15)  # TimeoutError unless all three are waiting at once
    return os.getpid()
"""


@pytest.mark.parametrize("workers", [0, 1])
@pytest.mark.parametrize("activity", ["meet_in_threads", "meet_on_the_loop"])
async def test_a_worker_runs_activities_at_the_same_time(tmp_path: Path, workers: int, activity: str) -> None:
    """The Python worker runs sync functions on a thread pool and async ones on its loop, so three
    activities of one fan-out wait for each other without holding each other up, in one worker too."""
    (tmp_path / "host.json").write_text('{"version": "2.0"}')
    (tmp_path / "function_app.py").write_text(_MEETING_APP)

    def finished(status: df.DurableOrchestrationStatus) -> bool:
        return status.runtime_status in TERMINAL

    async with DevHost(tmp_path, store="memory", port=0, rpc_port=0, workers=workers) as host:
        client = host.client()
        status = await wait_until(client, await client.start_new("meet", None, activity), finished, 60)
        expected = host.worker_pids() or [os.getpid()]
    assert status.runtime_status.name == "Completed", status.to_json()
    assert status.output == expected * 3


_SHARED_APP = """
import os
import pickle

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
_served = []


@app.route(route="start")
@app.durable_client_input(client_name="client")
async def start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    _served.append(req.params.get("who"))
    instance_id = await client.start_new("recall", None, None)
    return func.HttpResponse(f"{os.getpid()} {instance_id}")


@app.route(route="fails")
def fails(req: func.HttpRequest) -> func.HttpResponse:
    raise ValueError("no luck today")


@app.orchestration_trigger(context_name="context")
def recall(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("served_so_far", None))


@app.activity_trigger(input_name="unused")
def served_so_far(unused: None) -> list:
    return [os.getpid(), _served]
"""


@pytest.mark.parametrize("workers", [0, 1])
async def test_http_functions_run_where_the_activities_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, workers: int
) -> None:
    """On Azure the HTTP starter runs in the Python worker, beside the activities: with one worker
    process they share the app's module state. A function that raises is a bare 500, Failed in the log."""
    (tmp_path / "host.json").write_text('{"version": "2.0"}')
    (tmp_path / "function_app.py").write_text(_SHARED_APP)
    async with DevHost(tmp_path, store="memory", port=0, rpc_port=0, workers=workers) as host:
        reply = await call(host, "GET", "/api/start", params={"who": "ana"})
        assert reply.status == 200, reply.text
        pid, instance_id = reply.text.split()
        status = await wait_until(host.client(), instance_id, lambda s: s.runtime_status in TERMINAL)
        expected = host.worker_pids() or [os.getpid()]
        failed = await call(host, "GET", "/api/fails")
    assert int(pid) == expected[0]
    assert status.output == [expected[0], ["ana"]], status.to_json()
    assert (failed.status, failed.text) == (500, "")
    assert "Executed 'Functions.fails' (Failed, Id=" in caplog.text
    assert "ValueError: no luck today" in caplog.text


class _Recorder:
    """A worker's transport that keeps what the pool writes to it."""

    def __init__(self) -> None:
        self.frames = Frames()
        self.messages: list[Any] = []

    def write(self, data: bytes) -> None:
        self.messages += [pickle.loads(f) for f in self.frames.feed(data)]


async def test_work_submitted_in_one_loop_turn_goes_to_a_worker_in_one_message() -> None:
    loop = asyncio.get_running_loop()
    pool = ProcessPoolInvoker(ROOT, processes=0)
    ready: asyncio.Future[None] = loop.create_future()
    ready.set_result(None)
    recorder = _Recorder()
    worker = _Worker(process=None, ready=ready, transport=recorder)  # type: ignore[arg-type]
    pool._workers.append(worker)
    pending = [
        asyncio.ensure_future(pool.run_activity("E1_SayHello", f'"{city}"')) for city in ("Lima", "Quito")
    ]
    pending.append(asyncio.ensure_future(pool.run_orchestrator("E1_HelloSequence", "{}")))
    for _ in range(3):
        await asyncio.sleep(0)
    assert [[kind for _, kind, _ in message] for message in recorder.messages] == [
        ["activity", "activity", "episode"]
    ]
    for waiting in pending:
        waiting.cancel()


def test_an_answer_that_cannot_be_pickled_still_answers_its_item() -> None:
    """Otherwise the host would wait for that item for ever."""
    side = WorkerSide(invoker=None)  # type: ignore[arg-type]
    recorder = _Recorder()
    side._transport = recorder  # type: ignore[assignment]
    side._answer(7, lambda: None)  # a lambda does not pickle
    [(call_id, reply)] = recorder.messages
    assert call_id == 7 and isinstance(reply, RuntimeError) and "could not send its answer" in str(reply)
