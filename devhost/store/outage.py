"""Storage outages: a store that cannot be reached or written is told once, retried, and answered 503.

`WatchedStore(store)` wraps any store (the host wraps the one it opens). A call that fails because
the storage is down (Azurite or the account unreachable, a request with no answer or a 5xx after the
store's own retries; a SQLite file that is read-only, full or failing to write) raises
`StoreUnavailableError` instead of the store's error. The first such failure logs that the outage
began, with the reason; later ones log nothing until a call succeeds again, which logs the recovery
with how long the outage lasted. Meanwhile:

- the engine retries its work items with a backoff that grows with the outage's length (from 0.5 s
  to 5 s apart), without a traceback per failure, and at once when any call has succeeded again
  (`wait_out`, used by engine/dispatcher.py);
- HTTP API calls that need the store answer 503 with a JSON body and a `Retry-After` header of the
  same backoff (api/errors.py). Reads that still work (SQLite can read a full disk) are served.

A failed write only ends when a write succeeds (a successful read proves nothing about a full
disk); an outage that only reads saw ends with any successful call. Either must have begun after
the outage did: a call answered late, from before the storage went away, ends nothing; nor does one
answered from the store's memory (the azure store says when the storage last answered). Failures
of other kinds (a conflict, a bad row, a devhost bug) pass through unchanged. What may have been
half written by a failed call is the store's business: each store retries it safely (see azure.py
and sqlite.py).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import sqlite3
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

import aiohttp

from ..errors import StoreUnavailableError, whole_seconds
from .base import (
    ActivityTask,
    EpisodeResult,
    InstanceQuery,
    InstanceRecord,
    Message,
    RuntimeStatus,
    Store,
    WorkItem,
)

log = logging.getLogger("devhost.store")
FIRST_RETRY_SECONDS = 0.5
MAX_RETRY_SECONDS = 5.0
# SQLite primary result codes of a file that cannot be written: READONLY, IOERR, FULL, CANTOPEN.
_SQLITE_OUTAGE = frozenset({8, 10, 13, 14})
_HTTP_OUTAGE = frozenset({408, 429, 500, 502, 503, 504})
_T = TypeVar("_T")


_NO_ANSWER: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError, aiohttp.ClientConnectionError)


def _no_answer_types() -> tuple[type[BaseException], ...]:
    """The errors of a call that got no answer. Azure's are among them once azure.core is loaded: an
    error of it cannot exist before, and the SQLite and memory stores never load it (importing it
    costs a new process about 30 ms)."""
    azure = sys.modules.get("azure.core.exceptions")
    if azure is None:
        return _NO_ANSWER
    return (*_NO_ANSWER, azure.ServiceRequestError, azure.ServiceResponseError)


def outage_reason(exc: BaseException) -> str | None:
    """Why `exc` means the storage is down (a short text), or None if it is some other failure."""
    seen: set[int] = set()
    no_answer = _no_answer_types()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, sqlite3.Error):
            code = getattr(current, "sqlite_errorcode", None)
            if code is not None and code & 0xFF in _SQLITE_OUTAGE:
                return f"{getattr(current, 'sqlite_errorname', 'SQLite')}: {current}"
        elif isinstance(current, no_answer):
            return f"no answer ({type(current).__name__}: {_first_line(current)})"
        elif getattr(current, "status_code", None) in _HTTP_OUTAGE and type(current).__module__.startswith(
            "azure."
        ):
            return f"HTTP {current.status_code} ({_first_line(current)})"  # type: ignore[attr-defined]
        current = current.__cause__ or current.__context__
    return None


def _first_line(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return str(text).splitlines()[0][:200]


class OutageWatch:
    """Whether the store is down, since when, and how long to wait before trying again."""

    def __init__(self, shown: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.shown = shown
        self._clock = clock
        self.since: float | None = None
        self.failed_calls = 0
        self.outages = 0  # outages that began, since the host started
        self._write_failed = False
        self._back = asyncio.Event()  # set when the current outage ends

    @property
    def down(self) -> bool:
        return self.since is not None

    def retry_after(self) -> float:
        """Seconds to wait before trying again: half the outage's length so far, within 0.5-5 s."""
        elapsed = 0.0 if self.since is None else self._clock() - self.since
        return min(MAX_RETRY_SECONDS, max(FIRST_RETRY_SECONDS, elapsed / 2))

    def failed(self, reason: str, *, write: bool) -> StoreUnavailableError:
        """Record a failed call; the error to raise in its place."""
        if self.since is None:
            self.since = self._clock()
            self.outages += 1
            self._back = asyncio.Event()
            log.error(
                "durable store %s unavailable: %s. devhost keeps retrying (up to %.0f s apart) and answers "
                "503 to API calls that need it until it is back",
                self.shown,
                reason,
                MAX_RETRY_SECONDS,
            )
        self.failed_calls += 1
        self._write_failed = self._write_failed or write
        wait = self.retry_after()
        error = StoreUnavailableError(
            f"The durable store ({self.shown}) is unavailable: {reason}. "
            f"Try again in {whole_seconds(wait)} s.",
            retry_after=wait,
        )
        error.back = self._back
        return error

    def began(self) -> float:
        """The clock at a call's start, to give back to `succeeded`."""
        return self._clock()

    def succeeded(self, *, write: bool, started: float | None = None) -> None:
        """Record a call that worked: the outage ends, unless only a read worked after a failed write
        or the call began before the outage did (an answer in flight when the storage went away
        proves nothing about it now)."""
        if self.since is None or (self._write_failed and not write):
            return
        if started is not None and started < self.since:
            return
        log.warning(
            "durable store %s available again after %.1f s (%d calls failed meanwhile)",
            self.shown,
            self._clock() - self.since,
            self.failed_calls,
        )
        self.since = None
        self.failed_calls = 0
        self._write_failed = False
        self._back.set()


async def wait_out(error: StoreUnavailableError) -> None:
    """Pause after an outage failure: its `retry_after` seconds, or until the store is back if sooner."""
    if error.back is None:
        await asyncio.sleep(error.retry_after)
        return
    # Not asyncio.wait_for: on Python 3.11 it can swallow a cancel (see engine/dispatcher.py).
    waiter = asyncio.ensure_future(error.back.wait())
    try:
        await asyncio.wait({waiter}, timeout=error.retry_after)
    finally:
        waiter.cancel()


_READS = ("get_", "query_", "ready_", "fetch_", "ordered_")


class WatchedStore:
    """A `Store` whose outage failures become StoreUnavailableError, watched by an `OutageWatch`."""

    def __init__(self, store: Store, watch: OutageWatch | None = None) -> None:
        self.inner = store
        self._wrapped: dict[str, tuple[Any, Any]] = {}
        self.watch = watch or OutageWatch(self.describe())

    async def _call(self, call: Awaitable[_T], *, write: bool) -> _T:
        started = self.watch.began()
        try:
            result = await call
        except StoreUnavailableError:
            raise
        except Exception as exc:
            reason = outage_reason(exc)
            if reason is None:
                raise
            raise self.watch.failed(reason, write=write) from exc
        self.watch.succeeded(write=write, started=self._evidence(started))
        return result

    def _evidence(self, started: float) -> float:
        """When the proof that the storage answers was sent: the call's start, or, for a store that
        answers some calls from memory (the azure store's index of due work), the send time of the
        latest request the storage itself answered (its `answered_sent`, on time.monotonic). A call
        answered from memory during an outage proves nothing and ends nothing."""
        sent = getattr(self.inner, "answered_sent", None)
        return started if sent is None else sent

    def describe(self) -> str:
        describe = getattr(self.inner, "describe", None)  # every store has it; the contract does not
        return str(describe()) if describe else type(self.inner).__name__

    async def open(self) -> None:
        await self.inner.open()  # a store that cannot open stops the start with its own message

    async def close(self) -> None:
        await self.inner.close()

    async def create_instance(self, instance: InstanceRecord, start: Message) -> None:
        await self._call(self.inner.create_instance(instance, start), write=True)

    async def get_instance(self, instance_id: str) -> InstanceRecord | None:
        return await self._call(self.inner.get_instance(instance_id), write=False)

    async def get_history(self, instance_id: str) -> list[str]:
        return await self._call(self.inner.get_history(instance_id), write=False)

    async def query_instances(
        self, query: InstanceQuery, limit: int, after: str | None
    ) -> tuple[list[InstanceRecord], str | None]:
        return await self._call(self.inner.query_instances(query, limit, after), write=False)

    async def send_message(self, message: Message) -> None:
        await self._call(self.inner.send_message(message), write=True)

    async def ready_instances(self, now: datetime, limit: int, busy: set[str]) -> list[str]:
        return await self._call(self.inner.ready_instances(now, limit, busy), write=False)

    async def fetch_work_item(self, instance_id: str, now: datetime) -> WorkItem | None:
        return await self._call(self.inner.fetch_work_item(instance_id, now), write=False)

    async def complete_orchestration(self, result: EpisodeResult) -> None:
        await self._call(self.inner.complete_orchestration(result), write=True)

    async def ready_activities(self, now: datetime, limit: int, busy: set[int]) -> list[ActivityTask]:
        return await self._call(self.inner.ready_activities(now, limit, busy), write=False)

    async def complete_activity(self, task: ActivityTask, result: Message) -> None:
        await self._call(self.inner.complete_activity(task, result), write=True)

    async def abandon_activity(self, task: ActivityTask, retry_at: datetime) -> None:
        await self._call(self.inner.abandon_activity(task, retry_at), write=True)

    async def next_due(self, after: datetime) -> datetime | None:
        return await self._call(self.inner.next_due(after), write=False)

    async def request_rewind(self, instance_id: str, request: Message, at: str) -> RuntimeStatus | None:
        return await self._call(self.inner.request_rewind(instance_id, request, at), write=True)

    async def purge(self, instance_id: str) -> int:
        return await self._call(self.inner.purge(instance_id), write=True)

    async def purge_by(self, query: InstanceQuery) -> int:
        return await self._call(self.inner.purge_by(query), write=True)

    def __getattr__(self, name: str) -> Any:
        """Anything else a store offers beyond the contract (the SQLite store's ordered listing, entity
        operations, test seams) passes through; its coroutines are watched like the contract's, reads
        (by their names: get_, query_, ready_, fetch_, ordered_) as reads, anything else as a write."""
        if name in ("inner", "_wrapped"):
            raise AttributeError(name)
        attribute = getattr(self.inner, name)
        # The wrapper is made once per method (the dispatcher asks for ready entities on every pass);
        # a method replaced on the store since (a test seam) gets a new one.
        known = self._wrapped.get(name)
        if known is not None and known[0] == attribute:
            return known[1]
        if not inspect.iscoroutinefunction(attribute):
            return attribute

        @functools.wraps(attribute)
        async def watched(*args: Any, **kwargs: Any) -> Any:
            return await self._call(attribute(*args, **kwargs), write=not name.startswith(_READS))

        self._wrapped[name] = (attribute, watched)
        return watched
