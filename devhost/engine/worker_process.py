"""A worker process: it loads the app and runs what its host sends (see worker_pool.py).

It runs invocations at the same time, as the Python worker does: a sync activity or HTTP function on
its thread pool (`PYTHON_THREADPOOL_THREAD_COUNT`, else Python's default size), an async one on its
event loop, and episodes and entity batches on the loop one after another (they are CPU-bound, and the
host sends them only to a worker that has none in hand). Each answer goes back as it is ready.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import os
import pickle
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

from ..functions import FunctionIndex
from .invoker import InProcessInvoker
from .worker_wire import ACTIVITY, AT_ONCE, EPISODE, READY, Frames, frame


def exit_with_host(host_pid: int) -> None:
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


def thread_count() -> int | None:
    """The sync thread pool's size as the Python worker reads it: `PYTHON_THREADPOOL_THREAD_COUNT`
    when it is a whole number of at least 1, else None (Python's default, min(32, cores + 4))."""
    text = os.environ.get("PYTHON_THREADPOOL_THREAD_COUNT", "")
    try:
        count = int(text)
    except ValueError:
        return None
    return count if count >= 1 else None


class WorkerSide(asyncio.Protocol):
    """The worker's end of its socket: runs what the host sends and answers each item when done."""

    def __init__(self, invoker: InProcessInvoker) -> None:
        self._invoker = invoker
        self._frames = Frames()
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        transport.write(frame(READY))

    def connection_lost(self, exc: Exception | None) -> None:
        # The host closed its end (stopping) or is gone: nobody can take an answer any more.
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(0)

    def data_received(self, data: bytes) -> None:
        later: list[tuple[int, str, tuple[Any, ...]]] = []
        for message in self._frames.feed(data):
            for call_id, kind, arguments in pickle.loads(message):
                if kind in AT_ONCE:
                    start = self._invoker.run_activity if kind == ACTIVITY else self._invoker.run_http
                    task = asyncio.ensure_future(start(*arguments))
                    task.add_done_callback(functools.partial(self._answer_task, call_id))
                else:
                    later.append((call_id, kind, arguments))
        # Activities are on their way (thread pool or loop) before the CPU-bound items run here.
        for call_id, kind, arguments in later:
            run = self._invoker.episode if kind == EPISODE else self._invoker.entity_batch
            try:
                reply: object = run(*arguments)
            except Exception as exc:  # devhost's own failure, not user code's (that is in the reply)
                reply = RuntimeError(f"{type(exc).__name__}: {exc}")
            self._answer(call_id, reply)

    def _answer_task(self, call_id: int, task: asyncio.Future[Any]) -> None:
        exc = task.exception()
        self._answer(call_id, task.result() if exc is None else RuntimeError(f"{type(exc).__name__}: {exc}"))

    def _answer(self, call_id: int, reply: object) -> None:
        assert self._transport is not None
        try:
            data = frame((call_id, reply))
        except Exception as exc:  # an answer that cannot cross: the host must still hear of the item
            data = frame((call_id, RuntimeError(f"the worker could not send its answer: {exc}")))
        self._transport.write(data)


def worker_main(sock: socket.socket, app_dir: str, host_pid: int) -> None:
    """A worker process: load the app, say so, then serve the host until it closes the socket."""
    exit_with_host(host_pid)
    from . import sdk_speedups

    sdk_speedups.install()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    invoker = InProcessInvoker(FunctionIndex.load(Path(app_dir)), thread_count(), inline=True)
    loop.run_until_complete(loop.create_unix_connection(lambda: WorkerSide(invoker), sock=sock))
    loop.run_forever()
