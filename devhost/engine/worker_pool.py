"""User code in worker processes, as the Functions host runs it (`FUNCTIONS_WORKER_PROCESS_COUNT`).

The SDK's replay is CPU-bound Python, so threads cannot use a second core; processes can. Each worker
imports the app once, indexes it, installs the SDK speed-ups, and then runs orchestrator episodes and
activities sent to it; the host process keeps the store and the HTTP servers. Payloads cross the
boundary as JSON text, exactly what the real host sends its language workers.

Each worker has one pipe to the host, read by the host's event loop: no threads in between. Work that
arrives while every worker is busy queues in the host and goes to the next idle worker in one message
(a batch), which answers each item as it finishes; a batch ends at its first activity, so no work
waits behind user code that may run long. A worker is sent work only when it is idle, so it is
always reading when the host writes and the host always reads what it writes back.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import itertools
import logging
import multiprocessing
import multiprocessing.connection
import os
import pickle
import signal
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from ..functions import FunctionIndex
from .invoker import ActivityReply, EntityReply, EpisodeReply, InProcessInvoker

BATCH = 16  # most work items in one message to a worker
_READY = b"ready"

log = logging.getLogger("devhost.engine")
_worker: InProcessInvoker | None = None
_loop: asyncio.AbstractEventLoop | None = None


def _exit_with_host(host_pid: int) -> None:
    """A worker must not outlive its host, even one killed with SIGKILL (its pool cannot tell it).

    On Linux the kernel sends SIGTERM when the parent dies; elsewhere a thread checks once a second.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG

    def watch() -> None:
        while os.getppid() == host_pid:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="devhost-host-watch", daemon=True).start()


def _start_worker(app_dir: str, host_pid: int) -> None:
    """Runs once in each worker process."""
    global _worker, _loop
    _exit_with_host(host_pid)
    from . import sdk_speedups

    sdk_speedups.install()
    _loop = asyncio.new_event_loop()
    asyncio.set_event_loop(_loop)
    _worker = InProcessInvoker(FunctionIndex.load(Path(app_dir)), max_workers=4, inline=True)


def _run_orchestrator(name: str, payload: str) -> EpisodeReply:
    assert _worker is not None and _loop is not None
    return _loop.run_until_complete(_worker.run_orchestrator(name, payload))


def _run_activity(name: str, input_text: str | None, invocation_id: str | None) -> ActivityReply:
    assert _worker is not None and _loop is not None
    return _loop.run_until_complete(_worker.run_activity(name, input_text, invocation_id))


def _run_entity(name: str, payload: str) -> EntityReply:
    assert _worker is not None and _loop is not None
    return _loop.run_until_complete(_worker.run_entity(name, payload))


def _ready() -> bool:
    return _worker is not None


def _still_running(processes: list[BaseProcess], timeout: float) -> list[BaseProcess]:
    """The processes that have not exited after `timeout` seconds (watched by their sentinels, which
    leaves reaping them to the pool)."""
    deadline = time.monotonic() + timeout
    waiting: dict[Any, BaseProcess] = {p.sentinel: p for p in processes}
    while waiting and (left := deadline - time.monotonic()) > 0:
        for sentinel in multiprocessing.connection.wait(list(waiting), left):
            waiting.pop(sentinel)
    return list(waiting.values())


def _worker_main(conn: Connection, app_dir: str, host_pid: int) -> None:
    """A worker process: start, say so, then run each batch the host sends, answering item by item."""
    _start_worker(app_dir, host_pid)
    try:
        assert _ready()
        conn.send_bytes(_READY)
        while True:
            batch = pickle.loads(conn.recv_bytes())
            for call_id, function, arguments in batch:
                # One of this module's `_run_*` functions, named by the host (see `_submit`).
                assert function.startswith("_run_"), function
                reply = globals()[function](*arguments)
                conn.send_bytes(pickle.dumps((call_id, reply), pickle.HIGHEST_PROTOCOL))
    except (EOFError, OSError):
        return  # the host closed the pipe (stopping) or is gone


class WorkerLost(RuntimeError):
    """A worker process ended with work in hand (killed, out of memory): that work is retried."""


@dataclass(eq=False)
class _Worker:
    process: BaseProcess
    conn: Connection
    ready: asyncio.Future[None]
    busy: dict[int, asyncio.Future[Any]] = field(default_factory=dict)
    lost: bool = False


class ProcessPoolInvoker:
    """Runs user code in `processes` worker processes (spawned, so nothing of the host leaks in)."""

    def __init__(self, app_dir: Path, processes: int) -> None:
        self._app_dir = str(app_dir)
        self._processes = processes
        self._context = multiprocessing.get_context("spawn")
        self._workers: list[_Worker] = []
        self._queue: deque[tuple[asyncio.Future[Any], int, str, tuple[object, ...]]] = deque()
        self._ids = itertools.count()
        self._started = False
        self._closed = False

    def _spawn(self) -> _Worker:
        loop = asyncio.get_running_loop()
        host_end, worker_end = self._context.Pipe(duplex=True)
        process = self._context.Process(
            target=_worker_main, args=(worker_end, self._app_dir, os.getpid()), name="devhost-worker"
        )
        process.start()
        worker_end.close()
        worker = _Worker(process, host_end, loop.create_future())
        self._workers.append(worker)
        loop.add_reader(host_end.fileno(), self._readable, worker)
        return worker

    async def start(self) -> None:
        """Start every worker now, so the first requests do not pay for imports."""
        workers = [self._spawn() for _ in range(self._processes)]
        await asyncio.gather(*(w.ready for w in workers))
        self._started = True

    def _readable(self, worker: _Worker) -> None:
        """Take every answer the worker has sent so far: the work items they finish then go on in
        the same loop turn, and their commits share one transaction (store/sqlite_writer.py)."""
        while True:
            try:
                data = worker.conn.recv_bytes()
            except (EOFError, OSError):
                self._lose(worker)
                return
            if data == _READY:
                if not worker.ready.done():
                    worker.ready.set_result(None)
            else:
                call_id, reply = pickle.loads(data)
                future = worker.busy.pop(call_id, None)
                if future is not None and not future.done():
                    future.set_result(reply)
            if not worker.busy or not worker.conn.poll():
                break
        self._pump()

    def _pump(self) -> None:
        """Hand queued work to the idle workers, shared out evenly, in one message each."""
        idle = [w for w in self._workers if w.ready.done() and not w.busy and not w.lost]
        for n, worker in enumerate(idle):
            batch: list[tuple[int, str, tuple[object, ...]]] = []
            share = min(BATCH, -(-len(self._queue) // (len(idle) - n)))
            while self._queue and len(batch) < share:
                future, call_id, function, arguments = self._queue.popleft()
                if future.done():  # cancelled meanwhile
                    continue
                worker.busy[call_id] = future
                batch.append((call_id, function, arguments))
                if function != _run_orchestrator.__name__:
                    # Activities (and the like) are user code that may take long: nothing waits
                    # behind one in a worker while another worker could be running it.
                    break
            if not batch:
                break
            try:
                worker.conn.send_bytes(pickle.dumps(batch, pickle.HIGHEST_PROTOCOL))
            except OSError:
                self._lose(worker)

    def _detach(self, worker: _Worker, error: Exception) -> None:
        """Stop reading the worker and close its pipe (an idle worker then exits); fail its work."""
        worker.lost = True
        asyncio.get_running_loop().remove_reader(worker.conn.fileno())
        worker.conn.close()
        self._workers.remove(worker)
        if not worker.ready.done():
            worker.ready.set_exception(error)
        for future in worker.busy.values():
            if not future.done():
                future.set_exception(error)
        worker.busy.clear()

    def _lose(self, worker: _Worker) -> None:
        """A worker's pipe closed: fail its work (the dispatcher retries it) and start another."""
        if worker.lost:
            return
        pid = worker.process.pid
        started = worker.ready.done()
        self._detach(
            worker,
            WorkerLost(f"worker process {pid} ended")
            if started
            else WorkerLost(f"worker process {pid} could not start the app (its error is above)"),
        )
        if started and not self._closed:
            log.warning(
                "worker process %s ended abruptly (exit code %s): starting another; the work it had is "
                "retried",
                pid,
                worker.process.exitcode,
            )
        with contextlib.suppress(OSError, ValueError):
            worker.process.kill()
        asyncio.get_running_loop().run_in_executor(None, worker.process.join, 5.0)
        if self._started and not self._closed:
            self._spawn()  # queued work waits for it (or for the other workers)
        self._pump()

    async def _submit(self, fn: Any, *args: object) -> object:
        """Run `fn(*args)` in a worker: `fn` is one of this module's `_run_*` functions, sent by name."""
        if self._closed:
            raise WorkerLost("the worker processes are stopped")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append((future, next(self._ids), fn.__name__, args))
        self._pump()
        return await future

    async def run_orchestrator(self, name: str, payload: str) -> EpisodeReply:
        reply = await self._submit(_run_orchestrator, name, payload)
        assert isinstance(reply, EpisodeReply)
        return reply

    async def run_activity(
        self, name: str, input_text: str | None, invocation_id: str | None = None
    ) -> ActivityReply:
        reply = await self._submit(_run_activity, name, input_text, invocation_id)
        assert isinstance(reply, ActivityReply)
        return reply

    async def run_entity(self, name: str, payload: str) -> EntityReply:
        reply = await self._submit(_run_entity, name, payload)
        assert isinstance(reply, EntityReply)
        return reply

    def pids(self) -> list[int]:
        """The worker processes' ids (for tests and diagnostics)."""
        return sorted(w.process.pid for w in self._workers if w.process.pid is not None)

    async def close(self, grace: float = 5.0) -> None:
        """End the workers: idle ones exit at once; one still in user code after `grace` s is killed."""
        self._closed = True
        while self._queue:
            self._queue.popleft()[0].cancel()
        processes = [w.process for w in self._workers]
        for worker in list(self._workers):
            if not worker.ready.done():
                worker.ready.cancel()
            self._detach(worker, WorkerLost("the worker processes are stopped"))
        running = await asyncio.get_running_loop().run_in_executor(None, _still_running, processes, grace)
        for process in running:
            process.kill()
        for process in processes:
            await asyncio.get_running_loop().run_in_executor(None, process.join, 5.0)
