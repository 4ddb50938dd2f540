"""User code in worker processes, as the Functions host runs it (`FUNCTIONS_WORKER_PROCESS_COUNT`).

The SDK's replay is CPU-bound Python, so threads cannot use a second core; processes can. Each worker
imports the app once, indexes it, installs the SDK speed-ups, and then runs orchestrator episodes and
activities sent to it; the host process keeps the store and the HTTP servers. Payloads cross the
boundary as JSON text, exactly what the real host sends its language workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from ..functions import FunctionIndex
from .invoker import ActivityReply, EpisodeReply, InProcessInvoker

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


def _run_activity(name: str, input_text: str | None) -> ActivityReply:
    assert _worker is not None and _loop is not None
    return _loop.run_until_complete(_worker.run_activity(name, input_text))


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


class ProcessPoolInvoker:
    """Runs user code in `processes` worker processes (spawned, so nothing of the host leaks in)."""

    def __init__(self, app_dir: Path, processes: int) -> None:
        self._app_dir = str(app_dir)
        self._processes = processes
        self._pool = self._new_pool()
        self._warming: asyncio.Future[None] | None = None
        self._watching: asyncio.Future[None] | None = None

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self._processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(self._app_dir, os.getpid()),
        )

    async def start(self) -> None:
        """Start every worker now, so the first requests do not pay for imports."""
        loop = asyncio.get_running_loop()
        await asyncio.gather(*(loop.run_in_executor(self._pool, _ready) for _ in range(self._processes)))
        self._watching = asyncio.ensure_future(self._watch())

    async def _watch(self, every: float = 0.5) -> None:
        """Replace a pool that broke while no work item was waiting on it, so it is whole when work comes."""
        while True:
            await asyncio.sleep(every)
            if getattr(self._pool, "_broken", False):
                self._replace(self._pool)

    async def _submit(self, fn: object, *args: object) -> object:
        loop = asyncio.get_running_loop()
        if getattr(self._pool, "_broken", False):
            self._replace(self._pool)  # broken since the last look: no work item need fail for it
        pool = self._pool
        try:
            return await loop.run_in_executor(pool, fn, *args)  # type: ignore[arg-type]
        except BrokenProcessPool:
            # A worker died (killed, out of memory): every work item in flight in this pool fails, and
            # the caller retries it (nothing was committed); the pool is replaced once.
            self._replace(pool)
            raise

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        """A new pool for a broken one, unless another work item of the same pool replaced it already
        (shutting the new one down would cancel work sent to it since)."""
        if self._pool is not broken:
            return
        dead = sorted(
            f"{pid} (exit code {p.exitcode})"
            for pid, p in dict(getattr(broken, "_processes", None) or {}).items()
            if p.exitcode not in (None, 0)
        )
        log.warning(
            "a worker process ended abruptly%s: starting %d new worker processes; the work items that "
            "were running are retried",
            f" ({', '.join(dead)})" if dead else "",
            self._processes,
        )
        broken.shutdown(wait=False, cancel_futures=True)
        self._pool = self._new_pool()
        # Start the new workers now rather than with the next work item, so the pool is whole again.
        self._warming = asyncio.ensure_future(self._warm(self._pool))

    async def _warm(self, pool: ProcessPoolExecutor) -> None:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(BrokenProcessPool, RuntimeError):  # broken again, or shut down
            await asyncio.gather(*(loop.run_in_executor(pool, _ready) for _ in range(self._processes)))

    async def run_orchestrator(self, name: str, payload: str) -> EpisodeReply:
        reply = await self._submit(_run_orchestrator, name, payload)
        assert isinstance(reply, EpisodeReply)
        return reply

    async def run_activity(self, name: str, input_text: str | None) -> ActivityReply:
        reply = await self._submit(_run_activity, name, input_text)
        assert isinstance(reply, ActivityReply)
        return reply

    def pids(self) -> list[int]:
        """The worker processes' ids (for tests and diagnostics)."""
        processes = getattr(self._pool, "_processes", None) or {}
        return sorted(processes)

    async def close(self, grace: float = 5.0) -> None:
        """End the workers: idle ones exit at once; one still in user code after `grace` s is killed."""
        for task in (self._warming, self._watching):
            if task is not None:
                task.cancel()
        processes = list((getattr(self._pool, "_processes", None) or {}).values())
        self._pool.shutdown(wait=False, cancel_futures=True)
        running = await asyncio.get_running_loop().run_in_executor(None, _still_running, processes, grace)
        for process in running:
            process.kill()
