"""The SQLite store's connections and its group-commit writer.

Calls run on the event loop's thread: each is one short local transaction. A file store writes through
a second connection on a thread of its own, so commits (fsync) overlap with the event loop's work; the
memory store has a single connection. Every write queued while a commit is under way joins the next
transaction, each in its own savepoint, so one write's error rolls back only that write. A store whose
commits do not wait for the disk (memory, WAL with synchronous=NORMAL) commits on the loop's thread at
the end of the loop turn in which a write was made: every write made in that turn (under load, the
work items whose replies came in together) shares the one transaction.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from ..errors import StoreError
from .sqlite_lock import StoreLock

T = TypeVar("T")
P = ParamSpec("P")
_S = TypeVar("_S", bound="SqliteWriter")


def reads(
    method: Callable[Concatenate[_S, P], Coroutine[Any, Any, T]],
) -> Callable[Concatenate[_S, P], Coroutine[Any, Any, T]]:
    """A read that fails in SQLite raises the store contract's StoreError, naming what it was doing."""

    @functools.wraps(method)
    async def read(self: _S, *args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite store at {self.path} failed in {method.__name__}: {exc}") from exc

    return read


def _more_this_turn(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether other callbacks are queued to run in this turn of `loop` (its ready queue, an attribute
    of CPython's asyncio loops; a loop without it counts as busy, which only costs a deferred commit)."""
    ready = getattr(loop, "_ready", None)
    return ready is None or len(ready) > 0


def store_error(message: str, cause: BaseException) -> StoreError:
    """A StoreError handed to a waiting write, keeping what caused it (store/outage.py reads it)."""
    error = StoreError(message)
    error.__cause__ = cause
    return error


def _all_failed(exc: Exception, count: int) -> list[tuple[bool, Any]]:
    """The outcomes of a batch whose commit itself failed (a failed rollback, say): every write gets
    the error as its answer, so none waits forever."""
    failure = exc if isinstance(exc, StoreError) else store_error(f"SQLite store: {exc}", exc)
    return [(False, failure)] * count


class SqliteWriter:
    """One SQLite file (or memory): its connections, the group-commit writer, its lock."""

    def __init__(self, path: str, schema: str, *, synchronous: str = "FULL") -> None:
        self.path = path
        self._memory = path == ":memory:"
        if not self._memory:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = self._connect(synchronous)
            self._db.executescript(schema)
            # Writes go through one writer connection on its own thread (a file store), so commits
            # (fsync) overlap with the event loop's work; the memory store has a single connection.
            self._writer = self._db if self._memory else self._connect(synchronous)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open SQLite store at {path}: {exc}") from exc
        self._writer_thread = (
            None if self._memory else ThreadPoolExecutor(1, thread_name_prefix="devhost-sqlite")
        )
        self._lock = None if self._memory else StoreLock(path)
        # A commit that does not wait for the disk (memory, or WAL with synchronous NORMAL or OFF) is
        # made on the loop's thread when the turn that made the write ends (a callback, not a task: a
        # task per commit costs more than the commit). A store that syncs every commit groups the
        # writes made while the previous commit is under way, on the writer thread.
        self._commits_per_turn = self._memory or synchronous.upper() in ("NORMAL", "OFF", "0", "1")
        self._pending: list[tuple[Callable[[sqlite3.Connection], Any], asyncio.Future[Any]]] = []
        self._flushing: asyncio.Task[None] | None = None

    def _connect(self, synchronous: str) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.row_factory = sqlite3.Row
        if not self._memory:
            db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={synchronous}")
        return db

    async def _write(self, tx: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run `tx` in a transaction and return its result once committed.

        Group commit: every write queued while the previous commit is under way joins one
        transaction, each in its own savepoint, so one write's error rolls back only that write.
        A store whose commits do not wait for the disk commits the writes of one loop turn together
        at the turn's end (see `_commits_per_turn`).
        """
        loop = asyncio.get_running_loop()
        if self._commits_per_turn and not self._pending and not _more_this_turn(loop):
            # Nothing else runs in this turn, so no other write could join: commit now, unsuspended.
            ok, value = self._commit_batch([tx])[0]
            if ok:
                return value
            raise value
        future: asyncio.Future[Any] = loop.create_future()
        self._pending.append((tx, future))
        if self._commits_per_turn:
            if len(self._pending) == 1:
                loop.call_soon(self._commit_turn)
            return await future
        if self._flushing is None:
            self._flushing = loop.create_task(self._flush())
        return await future

    def _commit_turn(self) -> None:
        """Commit the writes made in the turn that just ended, on this (the loop's) thread."""
        batch, self._pending = self._pending, []
        if not batch:
            return
        try:
            outcomes = self._commit_batch([tx for tx, _ in batch])
        except Exception as exc:
            outcomes = _all_failed(exc, len(batch))
        self._settle(batch, outcomes)

    @staticmethod
    def _settle(
        batch: list[tuple[Callable[[sqlite3.Connection], Any], asyncio.Future[Any]]],
        outcomes: list[tuple[bool, Any]],
    ) -> None:
        """Answer each write of `batch` with its outcome (a write whose caller gave up is skipped)."""
        for (_, future), (ok, value) in zip(batch, outcomes, strict=True):
            if future.done():
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                txs = [tx for tx, _ in batch]
                try:
                    if self._writer_thread is None or len(txs) == 1:
                        # A lone write commits on the loop's thread: handing it to the writer thread
                        # costs more than its commit (the thread waits for the GIL), so only batches go.
                        outcomes = self._commit_batch(txs)
                    else:
                        outcomes = await asyncio.get_running_loop().run_in_executor(
                            self._writer_thread, self._commit_batch, txs
                        )
                except Exception as exc:
                    outcomes = _all_failed(exc, len(txs))
                self._settle(batch, outcomes)
        finally:
            self._flushing = None

    def _commit_batch(self, txs: list[Callable[[sqlite3.Connection], Any]]) -> list[tuple[bool, Any]]:
        db = self._writer
        outcomes: list[tuple[bool, Any]] = []
        try:
            db.execute("BEGIN IMMEDIATE")
            if len(txs) == 1:  # alone in its transaction: a failure rolls back just that, no savepoint needed
                try:
                    outcomes.append((True, txs[0](db)))
                except Exception as exc:
                    db.execute("ROLLBACK")
                    if isinstance(exc, sqlite3.Error):
                        exc = store_error(f"SQLite store failed: {exc}", exc)
                    return [(False, exc)]
                db.execute("COMMIT")
                return outcomes
            for tx in txs:
                db.execute("SAVEPOINT one_write")
                try:
                    outcomes.append((True, tx(db)))
                except Exception as exc:
                    db.execute("ROLLBACK TO one_write")
                    if isinstance(exc, sqlite3.Error):
                        exc = store_error(f"SQLite store failed: {exc}", exc)
                    outcomes.append((False, exc))
                db.execute("RELEASE one_write")
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            failure = store_error(f"SQLite store at {self.path} failed to commit: {exc}", exc)
            return [(False, failure)] * len(txs)
        return outcomes

    async def open(self) -> None:
        """Take the file's lock (StoreInUseError if another devhost has it); the schema was created
        when the file was opened, and commits are atomic, so nothing else needs doing."""
        if self._lock is not None:
            self._lock.acquire()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite store failed: {exc}") from exc

    def close_now(self) -> None:
        if self._pending:
            self._commit_turn()  # writes made in this turn are committed, not lost
        if self._writer_thread is not None:
            self._writer_thread.shutdown(wait=True)
            self._writer.close()
        self._db.close()
        if self._lock is not None:
            self._lock.release()

    async def close(self) -> None:
        if self._flushing is not None:
            await asyncio.gather(self._flushing, return_exceptions=True)
        self.close_now()
