"""User code in worker processes, as the Functions host runs it (`FUNCTIONS_WORKER_PROCESS_COUNT`).

The SDK's replay is CPU-bound Python, so threads cannot use a second core; processes can. Each worker
(worker_process.py) imports the app once, indexes it, installs the SDK speed-ups, and then runs the
HTTP functions, orchestrator episodes, entity batches and activities sent to it; the host process
keeps the store and the HTTP servers (it routes each request and hands the function its data, as the
Functions host does). Payloads cross the boundary as JSON text, exactly what the real host sends its
language workers.

Each worker has one socket to the host (worker_wire.py), read and written by an event loop at both
ends, so neither side ever blocks on a write. Workers run invocations concurrently, so this pool sends
an activity or an HTTP call at once to the worker with the least in hand; episodes and entity
batches, which are CPU-bound, go only to a worker that has none in hand (queued ones to the next such
worker, up to 16 in one message). Work is handed out at the end of the loop turn it was submitted in,
so what one dispatcher pass starts shares a message.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import multiprocessing
import multiprocessing.connection
import os
import pickle
import socket
import time
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from .http_function import HttpCall, HttpReply
from .invoker import ActivityReply, EntityReply, EpisodeReply
from .worker_process import worker_main
from .worker_wire import ACTIVITY, AT_ONCE, ENTITY, EPISODE, HTTP, READY, Frames, frame

BATCH = 16  # most episodes or entity batches in one message to a worker

log = logging.getLogger("devhost.engine")


def _still_running(processes: list[BaseProcess], timeout: float) -> list[BaseProcess]:
    """The processes that have not exited after `timeout` seconds (watched by their sentinels, which
    leaves reaping them to the pool)."""
    deadline = time.monotonic() + timeout
    waiting: dict[Any, BaseProcess] = {p.sentinel: p for p in processes}
    while waiting and (left := deadline - time.monotonic()) > 0:
        for sentinel in multiprocessing.connection.wait(list(waiting), left):
            waiting.pop(sentinel)
    return list(waiting.values())


_Queued = tuple[asyncio.Future[Any], int, str, tuple[object, ...]]  # future, call id, kind, arguments


class WorkerLost(RuntimeError):
    """A worker process ended with work in hand (killed, out of memory): that work is retried."""


@dataclass(eq=False)
class _Worker:
    process: BaseProcess
    ready: asyncio.Future[None]
    transport: asyncio.Transport | None = None
    busy: dict[int, asyncio.Future[Any]] = field(default_factory=dict)
    cpu: set[int] = field(default_factory=set)  # the ids in `busy` of episodes and entity batches
    lost: bool = False


class _HostSide(asyncio.Protocol):
    """The host's end of one worker's socket."""

    def __init__(self, pool: ProcessPoolInvoker, worker: _Worker) -> None:
        self._pool = pool
        self._worker = worker
        self._frames = Frames()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._worker.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self._pool._lose(self._worker)

    def data_received(self, data: bytes) -> None:
        self._pool._answers(self._worker, self._frames.feed(data))


class ProcessPoolInvoker:
    """Runs user code in `processes` worker processes (spawned, so nothing of the host leaks in)."""

    def __init__(self, app_dir: Path, processes: int) -> None:
        self._app_dir = str(app_dir)
        self._processes = processes
        self._context = multiprocessing.get_context("spawn")
        self._workers: list[_Worker] = []
        # Work not yet sent: what may wait long (activities, HTTP calls), and episodes and entity batches.
        self._at_once: deque[_Queued] = deque()
        self._cpu: deque[_Queued] = deque()
        self._pump_due = False
        self._ids = itertools.count()
        self._started = False
        self._closed = False

    def _spawn(self) -> _Worker:
        loop = asyncio.get_running_loop()
        host_end, worker_end = socket.socketpair()
        process = self._context.Process(
            target=worker_main, args=(worker_end, self._app_dir, os.getpid()), name="devhost-worker"
        )
        try:
            process.start()
        finally:
            worker_end.close()
        worker = _Worker(process, loop.create_future())
        self._workers.append(worker)
        connecting = loop.create_task(
            loop.create_unix_connection(lambda: _HostSide(self, worker), sock=host_end)
        )
        connecting.add_done_callback(lambda done: self._connected(worker, host_end, done))
        return worker

    def _connected(self, worker: _Worker, sock: socket.socket, done: asyncio.Future[Any]) -> None:
        if done.cancelled() or done.exception() is not None:
            sock.close()
            self._detach(worker, WorkerLost(f"could not connect to worker process {worker.process.pid}"))

    async def start(self) -> None:
        """Start every worker now, so the first requests do not pay for imports."""
        workers = [self._spawn() for _ in range(self._processes)]
        await asyncio.gather(*(w.ready for w in workers))
        self._started = True

    def _answers(self, worker: _Worker, messages: list[bytes]) -> None:
        """Take every answer that arrived together: the work items they finish then go on in the same
        loop turn, and their commits share one transaction (store/sqlite_writer.py)."""
        for message in messages:
            answer = pickle.loads(message)
            if answer == READY:
                if not worker.ready.done():
                    worker.ready.set_result(None)
                continue
            call_id, reply = answer
            worker.cpu.discard(call_id)
            future = worker.busy.pop(call_id, None)
            if future is None or future.done():
                continue
            if isinstance(reply, BaseException):
                future.set_exception(reply)
            else:
                future.set_result(reply)
        self._pump()

    def _pump(self) -> None:
        """Hand queued work out: activities and HTTP calls to the worker with the least in hand,
        episodes and entity batches to the workers with none of them in hand, shared out evenly; one
        message to each worker."""
        self._pump_due = False
        live = [w for w in self._workers if w.ready.done() and not w.lost and w.transport is not None]
        if not live:
            return
        batches: dict[_Worker, list[tuple[int, str, tuple[object, ...]]]] = {}
        while self._at_once:
            future, call_id, kind, arguments = self._at_once.popleft()
            if not future.done():  # else cancelled meanwhile
                worker = min(live, key=lambda w: len(w.busy))
                worker.busy[call_id] = future
                batches.setdefault(worker, []).append((call_id, kind, arguments))
        cpu_free = [w for w in live if not w.cpu] if self._cpu else []
        if cpu_free:
            share = min(BATCH, -(-len(self._cpu) // len(cpu_free)))
            for worker in cpu_free:
                while self._cpu and len(worker.cpu) < share:
                    future, call_id, kind, arguments = self._cpu.popleft()
                    if not future.done():
                        worker.cpu.add(call_id)
                        worker.busy[call_id] = future
                        batches.setdefault(worker, []).append((call_id, kind, arguments))
        for worker, batch in batches.items():
            assert worker.transport is not None
            worker.transport.write(frame(batch))

    def _detach(self, worker: _Worker, error: Exception) -> None:
        """Stop talking to the worker and close its socket (the worker then exits); fail its work."""
        worker.lost = True
        if worker.transport is not None:
            worker.transport.abort()
        if worker in self._workers:
            self._workers.remove(worker)
        if not worker.ready.done():
            worker.ready.set_exception(error)
        for future in worker.busy.values():
            if not future.done():
                future.set_exception(error)
        worker.busy.clear()
        worker.cpu.clear()

    def _lose(self, worker: _Worker) -> None:
        """A worker's socket closed: fail its work (the dispatcher retries it) and start another."""
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

    async def _submit(self, kind: str, *args: object) -> object:
        """Run an item of `kind` (an episode, an activity, an entity batch) in a worker."""
        if self._closed:
            raise WorkerLost("the worker processes are stopped")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        (self._at_once if kind in AT_ONCE else self._cpu).append((future, next(self._ids), kind, args))
        if not self._pump_due:
            # At the end of this loop turn, so that the work submitted in it shares messages.
            self._pump_due = True
            loop.call_soon(self._pump)
        return await future

    async def run_orchestrator(self, name: str, payload: str) -> EpisodeReply:
        reply = await self._submit(EPISODE, name, payload)
        assert isinstance(reply, EpisodeReply)
        return reply

    async def run_activity(
        self, name: str, input_text: str | None, invocation_id: str | None = None
    ) -> ActivityReply:
        reply = await self._submit(ACTIVITY, name, input_text, invocation_id)
        assert isinstance(reply, ActivityReply)
        return reply

    async def run_entity(self, name: str, payload: str) -> EntityReply:
        reply = await self._submit(ENTITY, name, payload)
        assert isinstance(reply, EntityReply)
        return reply

    async def run_http(self, name: str, call: HttpCall) -> HttpReply:
        reply = await self._submit(HTTP, name, call)
        assert isinstance(reply, HttpReply)
        return reply

    def pids(self) -> list[int]:
        """The worker processes' ids (for tests and diagnostics)."""
        return sorted(w.process.pid for w in self._workers if w.process.pid is not None)

    async def close(self, grace: float = 5.0) -> None:
        """End the workers: each exits as soon as its loop sees the socket close (a sync activity in its
        thread pool does not hold it); one still in an episode after `grace` s is killed."""
        self._closed = True
        for queue in (self._at_once, self._cpu):
            while queue:
                queue.popleft()[0].cancel()
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
