"""SQLite store: the default. One file (WAL), one transaction per state transition.

Four tables, as in durabletask-go's sqlite backend: instances, history, inbox (messages with a
visible-at time: timers are delayed messages) and activities (the work-item queue). `":memory:"`
gives the `memory` store: the same code, nothing kept after the process ends.

Calls run on the event loop's thread: each is one short local transaction, and a single connection
keeps every commit ordered.
"""

from __future__ import annotations

import asyncio
import functools
import json
import sqlite3
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from ..errors import InstanceExistsError, StoreError
from ..history import EventType, format_time, parse_time
from .base import (
    ActivityTask,
    EpisodeResult,
    InstanceQuery,
    InstanceRecord,
    Message,
    RuntimeStatus,
    WorkItem,
)
from .sqlite_lock import StoreLock

_SCHEMA = """
CREATE TABLE IF NOT EXISTS instances (
    instance_id       TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    execution_id      TEXT NOT NULL,
    runtime_status    TEXT NOT NULL,
    created_time      TEXT NOT NULL,
    last_updated_time TEXT NOT NULL,
    input             TEXT,
    output            TEXT,
    custom_status     TEXT,
    parent            TEXT,
    ledger            TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS instances_by_created ON instances(created_time);
CREATE TABLE IF NOT EXISTS history (
    instance_id TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    event       TEXT NOT NULL,
    PRIMARY KEY (instance_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS inbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id  TEXT NOT NULL,
    execution_id TEXT,
    event_type   INTEGER NOT NULL,
    event        TEXT NOT NULL,
    visible_at   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS inbox_by_visible ON inbox(visible_at);
CREATE INDEX IF NOT EXISTS inbox_by_instance ON inbox(instance_id, id);
CREATE TABLE IF NOT EXISTS activities (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id  TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    task_id      INTEGER NOT NULL,
    name         TEXT NOT NULL,
    input        TEXT,
    visible_at   TEXT NOT NULL,
    attempt      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS activities_by_visible ON activities(visible_at);
"""

# Events a suspended instance still takes; everything else waits in the inbox until it resumes.
_WHILE_SUSPENDED = (int(EventType.EXECUTION_TERMINATED), int(EventType.EXECUTION_RESUMED))
HISTORY_CACHE_INSTANCES = 2000
_EPOCH = "0000-00-00T00:00:00.000000Z"
T = TypeVar("T")
P = ParamSpec("P")


def _row_to_instance(row: sqlite3.Row) -> InstanceRecord:
    return InstanceRecord(
        instance_id=row["instance_id"],
        name=row["name"],
        execution_id=row["execution_id"],
        runtime_status=RuntimeStatus(row["runtime_status"]),
        created_time=row["created_time"],
        last_updated_time=row["last_updated_time"],
        input=row["input"],
        output=row["output"],
        custom_status=row["custom_status"],
        parent=json.loads(row["parent"]) if row["parent"] else None,
        ledger=json.loads(row["ledger"]),
    )


def _instance_values(i: InstanceRecord) -> tuple[Any, ...]:
    return (
        i.instance_id,
        i.name,
        i.execution_id,
        i.runtime_status.value,
        i.created_time,
        i.last_updated_time,
        i.input,
        i.output,
        i.custom_status,
        json.dumps(i.parent) if i.parent else None,
        json.dumps(i.ledger, separators=(",", ":")),
    )


def _reads(
    method: Callable[Concatenate[SqliteStore, P], Coroutine[Any, Any, T]],
) -> Callable[Concatenate[SqliteStore, P], Coroutine[Any, Any, T]]:
    """A read that fails in SQLite raises the store contract's StoreError, naming what it was doing."""

    @functools.wraps(method)
    async def read(self: SqliteStore, *args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite store at {self.path} failed in {method.__name__}: {exc}") from exc

    return read


def _visible(moment: datetime | None) -> str:
    return format_time(moment) if moment else _EPOCH


class SqliteStore:
    """The SQLite implementation of `Store` (see base.py for the contract)."""

    def __init__(self, path: str, *, synchronous: str = "FULL") -> None:
        self.path = path
        self._memory = path == ":memory:"
        if not self._memory:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = self._connect(synchronous)
            self._db.executescript(_SCHEMA)
            # Writes go through one writer connection on its own thread (a file store), so commits
            # (fsync) overlap with the event loop's work; the memory store has a single connection.
            self._writer = self._db if self._memory else self._connect(synchronous)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open SQLite store at {path}: {exc}") from exc
        self._writer_thread = (
            None if self._memory else ThreadPoolExecutor(1, thread_name_prefix="devhost-sqlite")
        )
        self._lock = None if self._memory else StoreLock(path)
        self._pending: list[tuple[Callable[[sqlite3.Connection], Any], asyncio.Future[Any]]] = []
        self._flushing: asyncio.Task[None] | None = None
        # Every episode reads its instance's whole history; this process wrote it, so the histories
        # of recently run instances are kept here, updated only after their commit succeeded.
        self._history: OrderedDict[str, list[str]] = OrderedDict()

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
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._pending.append((tx, future))
        if self._flushing is None:
            self._flushing = loop.create_task(self._flush())
        return await future

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
                    # Even a failed rollback answers every write of the batch: none may wait forever.
                    failure = exc if isinstance(exc, StoreError) else StoreError(f"SQLite store: {exc}")
                    outcomes = [(False, failure)] * len(txs)
                for (_, future), (ok, value) in zip(batch, outcomes, strict=True):
                    if future.done():
                        continue
                    if ok:
                        future.set_result(value)
                    else:
                        future.set_exception(value)
        finally:
            self._flushing = None

    def _commit_batch(self, txs: list[Callable[[sqlite3.Connection], Any]]) -> list[tuple[bool, Any]]:
        db = self._writer
        outcomes: list[tuple[bool, Any]] = []
        try:
            db.execute("BEGIN IMMEDIATE")
            for tx in txs:
                db.execute("SAVEPOINT one_write")
                try:
                    outcomes.append((True, tx(db)))
                except Exception as exc:
                    db.execute("ROLLBACK TO one_write")
                    if isinstance(exc, sqlite3.Error):
                        exc = StoreError(f"SQLite store failed: {exc}")
                    outcomes.append((False, exc))
                db.execute("RELEASE one_write")
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            failure = StoreError(f"SQLite store at {self.path} failed to commit: {exc}")
            return [(False, failure)] * len(txs)
        return outcomes

    def describe(self) -> str:
        return "memory (SQLite in RAM, lost on exit)" if self.path == ":memory:" else f"sqlite:{self.path}"

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

    def _insert_message(self, db: sqlite3.Connection, m: Message) -> None:
        db.execute(
            "INSERT INTO inbox(instance_id, execution_id, event_type, event, visible_at) VALUES (?,?,?,?,?)",
            (
                m.instance_id,
                m.execution_id,
                m.event_type,
                json.dumps(m.event, separators=(",", ":")),
                _visible(m.visible_at),
            ),
        )

    def _delete_instance(self, db: sqlite3.Connection, instance_id: str) -> int:
        db.execute("DELETE FROM history WHERE instance_id=?", (instance_id,))
        db.execute("DELETE FROM inbox WHERE instance_id=?", (instance_id,))
        db.execute("DELETE FROM activities WHERE instance_id=?", (instance_id,))
        return db.execute("DELETE FROM instances WHERE instance_id=?", (instance_id,)).rowcount

    async def create_instance(self, instance: InstanceRecord, start: Message) -> None:
        def tx(db: sqlite3.Connection) -> Any:
            row = db.execute(
                "SELECT runtime_status FROM instances WHERE instance_id=?", (instance.instance_id,)
            ).fetchone()
            if row is not None:
                if RuntimeStatus(row["runtime_status"]).is_active:
                    raise InstanceExistsError(
                        f"An instance with ID '{instance.instance_id}' already exists and is "
                        f"{row['runtime_status']}."
                    )
                self._delete_instance(db, instance.instance_id)
            db.execute("INSERT INTO instances VALUES (?,?,?,?,?,?,?,?,?,?,?)", _instance_values(instance))
            self._insert_message(db, start)

        self._history.pop(instance.instance_id, None)
        await self._write(tx)
        # An episode may have read (and remembered) the replaced history while this write was under
        # way; the next read goes to the database.
        self._history.pop(instance.instance_id, None)

    @_reads
    async def get_instance(self, instance_id: str) -> InstanceRecord | None:
        row = self._db.execute("SELECT * FROM instances WHERE instance_id=?", (instance_id,)).fetchone()
        return _row_to_instance(row) if row else None

    @_reads
    async def get_history(self, instance_id: str) -> list[str]:
        """The history, from the cache of recently run instances when there (treat it as read-only)."""
        cached = self._history.get(instance_id)
        if cached is not None:
            self._history.move_to_end(instance_id)
            return cached
        rows = self._db.execute(
            "SELECT event FROM history WHERE instance_id=? ORDER BY seq", (instance_id,)
        ).fetchall()
        # Read through: nothing awaits between this read and remembering it, and every write that
        # was under way meanwhile forgets the instance when it completes.
        history = [r[0] for r in rows]
        self._remember_history(instance_id, history)
        return history

    def _remember_history(self, instance_id: str, history: list[str]) -> None:
        self._history[instance_id] = history
        self._history.move_to_end(instance_id)
        while len(self._history) > HISTORY_CACHE_INSTANCES:
            self._history.popitem(last=False)

    @staticmethod
    def _where(query: InstanceQuery) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        args: list[Any] = []
        if query.created_from:
            clauses.append("created_time >= ?")
            args.append(query.created_from)
        if query.created_to:
            clauses.append("created_time <= ?")
            args.append(query.created_to)
        if query.statuses:
            clauses.append(f"runtime_status IN ({','.join('?' * len(query.statuses))})")
            args.extend(s.value for s in query.statuses)
        if query.id_prefix:
            # Range instead of LIKE: no wildcard in an id can widen the match.
            clauses.append("instance_id >= ? AND instance_id < ?")
            args.extend([query.id_prefix, query.id_prefix + "\U0010ffff"])
        return (" AND ".join(clauses) or "1=1"), args

    @_reads
    async def query_instances(
        self, query: InstanceQuery, limit: int, after: str | None
    ) -> tuple[list[InstanceRecord], str | None]:
        where, args = self._where(query)
        if after is not None:
            where += " AND instance_id > ?"
            args.append(after)
        rows = self._db.execute(
            f"SELECT * FROM instances WHERE {where} ORDER BY instance_id LIMIT ?", [*args, limit + 1]
        ).fetchall()
        page = [_row_to_instance(r) for r in rows[:limit]]
        token = page[-1].instance_id if len(rows) > limit else None
        return page, token

    async def send_message(self, message: Message) -> None:
        def tx(db: sqlite3.Connection) -> Any:
            self._insert_message(db, message)

        return await self._write(tx)

    @_reads
    async def ready_instances(self, now: datetime, limit: int, busy: set[str]) -> list[str]:
        rows = self._db.execute(
            "SELECT DISTINCT m.instance_id FROM inbox m JOIN instances i ON i.instance_id = m.instance_id "
            "WHERE m.visible_at <= ? AND (i.runtime_status != 'Suspended' OR m.event_type IN (?, ?)) "
            "LIMIT ?",
            (format_time(now), *_WHILE_SUSPENDED, limit + len(busy)),
        ).fetchall()
        return [r[0] for r in rows if r[0] not in busy][:limit]

    @_reads
    async def fetch_work_item(self, instance_id: str, now: datetime) -> WorkItem | None:
        instance = await self.get_instance(instance_id)
        if instance is None:
            return None
        sql = "SELECT * FROM inbox WHERE instance_id=? AND visible_at <= ?"
        args: list[Any] = [instance_id, format_time(now)]
        if instance.runtime_status is RuntimeStatus.SUSPENDED:
            sql += " AND event_type IN (?, ?)"
            args.extend(_WHILE_SUSPENDED)
        rows = self._db.execute(sql + " ORDER BY id", args).fetchall()
        if not rows:
            return None
        messages = [
            Message(
                instance_id=r["instance_id"],
                execution_id=r["execution_id"],
                event=json.loads(r["event"]),
                visible_at=parse_time(r["visible_at"]) if r["visible_at"] != _EPOCH else None,
                id=r["id"],
            )
            for r in rows
        ]
        return WorkItem(instance, await self.get_history(instance_id), messages)

    async def complete_orchestration(self, result: EpisodeResult) -> None:
        i = result.instance

        def tx(db: sqlite3.Connection) -> Any:
            if result.reset_history:
                db.execute("DELETE FROM history WHERE instance_id=?", (i.instance_id,))
            start = db.execute(
                "SELECT COALESCE(MAX(seq) + 1, 0) FROM history WHERE instance_id=?", (i.instance_id,)
            ).fetchone()[0]
            db.executemany(
                "INSERT INTO history(instance_id, seq, event) VALUES (?,?,?)",
                [(i.instance_id, start + n, text) for n, text in enumerate(result.new_history)],
            )
            db.execute("INSERT OR REPLACE INTO instances VALUES (?,?,?,?,?,?,?,?,?,?,?)", _instance_values(i))
            db.executemany("DELETE FROM inbox WHERE id=?", [(m,) for m in result.consumed])
            for m in result.messages:
                self._insert_message(db, m)
            for child, start_message in result.new_instances:
                existing = db.execute(
                    "SELECT runtime_status FROM instances WHERE instance_id=?", (child.instance_id,)
                ).fetchone()
                if existing is not None:
                    self._delete_instance(db, child.instance_id)
                db.execute("INSERT INTO instances VALUES (?,?,?,?,?,?,?,?,?,?,?)", _instance_values(child))
                self._insert_message(db, start_message)
            db.executemany(
                "INSERT INTO activities(instance_id, execution_id, task_id, name, input, visible_at) "
                "VALUES (?,?,?,?,?,?)",
                [
                    (a.instance_id, a.execution_id, a.task_id, a.name, a.input, _EPOCH)
                    for a in result.activities
                ],
            )

        cached = self._history.pop(i.instance_id, None)
        for child, _ in result.new_instances:
            self._history.pop(child.instance_id, None)
        await self._write(tx)
        if result.reset_history:
            self._remember_history(i.instance_id, list(result.new_history))
        elif cached is not None:
            self._remember_history(i.instance_id, cached + result.new_history)
        else:
            # Whatever was remembered while this commit was under way (a create_instance resuming after
            # the first episode's commit remembers []) predates it: forget it, read the database next.
            self._history.pop(i.instance_id, None)

    @_reads
    async def ready_activities(self, now: datetime, limit: int, busy: set[int]) -> list[ActivityTask]:
        rows = self._db.execute(
            "SELECT * FROM activities WHERE visible_at <= ? ORDER BY id LIMIT ?",
            (format_time(now), limit + len(busy)),
        ).fetchall()
        tasks = [
            ActivityTask(
                instance_id=r["instance_id"],
                execution_id=r["execution_id"],
                task_id=r["task_id"],
                name=r["name"],
                input=r["input"],
                id=r["id"],
                attempt=r["attempt"],
            )
            for r in rows
            if r["id"] not in busy
        ]
        return tasks[:limit]

    async def complete_activity(self, task: ActivityTask, result: Message) -> None:
        def tx(db: sqlite3.Connection) -> Any:
            if db.execute("DELETE FROM activities WHERE id=?", (task.id,)).rowcount:
                self._insert_message(db, result)

        return await self._write(tx)

    async def abandon_activity(self, task: ActivityTask, retry_at: datetime) -> None:
        def tx(db: sqlite3.Connection) -> Any:
            db.execute(
                "UPDATE activities SET visible_at=?, attempt=attempt+1 WHERE id=?",
                (format_time(retry_at), task.id),
            )

        return await self._write(tx)

    @_reads
    async def next_due(self, after: datetime) -> datetime | None:
        moment = format_time(after)
        row = self._db.execute(
            "SELECT MIN(t) FROM (SELECT MIN(visible_at) AS t FROM inbox WHERE visible_at > ? "
            "UNION ALL SELECT MIN(visible_at) FROM activities WHERE visible_at > ?)",
            (moment, moment),
        ).fetchone()
        return parse_time(row[0]) if row and row[0] else None

    async def request_rewind(self, instance_id: str, request: Message, at: str) -> RuntimeStatus | None:
        def tx(db: sqlite3.Connection) -> Any:
            row = db.execute(
                "SELECT runtime_status FROM instances WHERE instance_id=?", (instance_id,)
            ).fetchone()
            if row is None:
                return None
            status = RuntimeStatus(row["runtime_status"])
            if status is RuntimeStatus.FAILED:
                db.execute(
                    "UPDATE instances SET runtime_status=?, output=NULL, last_updated_time=? "
                    "WHERE instance_id=?",
                    (RuntimeStatus.PENDING.value, at, instance_id),
                )
                self._insert_message(db, request)
            return status

        return await self._write(tx)

    async def purge(self, instance_id: str) -> int:
        def tx(db: sqlite3.Connection) -> Any:
            return self._delete_instance(db, instance_id)

        self._history.pop(instance_id, None)
        deleted = int(await self._write(tx))
        self._history.pop(instance_id, None)
        return deleted

    async def purge_by(self, query: InstanceQuery) -> int:
        where, args = self._where(query)
        if not query.statuses:
            terminal = [s.value for s in RuntimeStatus if s.is_terminal]
            where += f" AND runtime_status IN ({','.join('?' * len(terminal))})"
            args.extend(terminal)

        def tx(db: sqlite3.Connection) -> Any:
            ids = [r[0] for r in db.execute(f"SELECT instance_id FROM instances WHERE {where}", args)]
            return sum(self._delete_instance(db, i) for i in ids)

        self._history.clear()
        deleted = int(await self._write(tx))
        self._history.clear()
        return deleted

    def insert_instances(self, records: list[InstanceRecord]) -> None:
        """Bulk-insert instance rows in one transaction (imports and benchmarks; no messages queued)."""
        with self._transaction() as db:
            db.executemany(
                "INSERT INTO instances VALUES (?,?,?,?,?,?,?,?,?,?,?)", map(_instance_values, records)
            )

    def close_now(self) -> None:
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
