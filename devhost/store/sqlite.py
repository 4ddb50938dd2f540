"""SQLite store: the default. One file (WAL), one transaction per state transition.

The tables and row codecs are in sqlite_schema.py, the connections and the group-commit writer in
sqlite_writer.py, entities in sqlite_entities.py, the list queries in sqlite_query.py and
sqlite_order.py. `":memory:"` gives the `memory` store: the same code, nothing kept after the process
ends.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any, ParamSpec, TypeVar

from ..errors import InstanceExistsError
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
from .recent import Recent
from .sqlite_entities import ENTITY_SCHEMA, SqliteEntities, insert_entity_requests
from .sqlite_order import Order, ordered_page
from .sqlite_query import instance_page, where_clause
from .sqlite_schema import (
    EPOCH,
    SCHEMA,
    UPDATE_EPISODE,
    episode_values,
    insert_message,
    instance_values,
    row_to_instance,
)
from .sqlite_writer import reads

# Events a suspended instance still takes; everything else waits in the inbox until it resumes.
_WHILE_SUSPENDED = (int(EventType.EXECUTION_TERMINATED), int(EventType.EXECUTION_RESUMED))
T = TypeVar("T")
P = ParamSpec("P")


class SqliteStore(SqliteEntities):
    """The SQLite implementation of `Store` (see base.py for the contract)."""

    def __init__(self, path: str, *, synchronous: str = "FULL") -> None:
        super().__init__(path, SCHEMA + ENTITY_SCHEMA, synchronous=synchronous)
        # Every episode reads its instance's whole history; this process wrote it, so the histories
        # of recently run instances are kept here, updated only after their commit succeeded.
        self._history: Recent[str, list[str]] = Recent()

    def describe(self) -> str:
        return "memory (SQLite in RAM, lost on exit)" if self.path == ":memory:" else f"sqlite:{self.path}"

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
            db.execute("INSERT INTO instances VALUES (?,?,?,?,?,?,?,?,?,?,?)", instance_values(instance))
            insert_message(db, start)

        self._history.pop(instance.instance_id, None)
        await self._write(tx)
        # An episode may have read (and remembered) the replaced history while this write was under
        # way; the next read goes to the database.
        self._history.pop(instance.instance_id, None)

    @reads
    async def get_instance(self, instance_id: str) -> InstanceRecord | None:
        row = self._db.execute("SELECT * FROM instances WHERE instance_id=?", (instance_id,)).fetchone()
        return row_to_instance(row) if row else None

    @reads
    async def get_history(self, instance_id: str) -> list[str]:
        """The history, from the cache of recently run instances when there (treat it as read-only)."""
        cached = self._history.recall(instance_id)
        if cached is not None:
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
        self._history.remember(instance_id, history)

    @reads
    async def query_instances(
        self, query: InstanceQuery, limit: int, after: str | None
    ) -> tuple[list[InstanceRecord], str | None]:
        rows = instance_page(self._db, query, limit, after)
        page = [row_to_instance(r) for r in rows[:limit]]
        token = page[-1].instance_id if len(rows) > limit else None
        return page, token

    @reads
    async def ordered_instances(
        self, query: InstanceQuery, name: str | None, order: Order, limit: int, after: tuple[str, str] | None
    ) -> tuple[list[InstanceRecord], tuple[str, str] | None]:
        """A page newest first by created or updated time (sqlite_order.py), and where the next starts."""
        rows = ordered_page(self._db, query, name, order, limit, after)
        page = [row_to_instance(r) for r in rows[:limit]]
        if len(rows) <= limit:
            return page, None
        last = page[-1]
        return page, (last.created_time if order == "created" else last.last_updated_time, last.instance_id)

    async def send_message(self, message: Message) -> None:
        def tx(db: sqlite3.Connection) -> Any:
            insert_message(db, message)

        return await self._write(tx)

    @reads
    async def ready_instances(self, now: datetime, limit: int, busy: set[str]) -> list[str]:
        rows = self._db.execute(
            "SELECT DISTINCT m.instance_id FROM inbox m JOIN instances i ON i.instance_id = m.instance_id "
            "WHERE m.visible_at <= ? AND (i.runtime_status != 'Suspended' OR m.event_type IN (?, ?)) "
            "LIMIT ?",
            (format_time(now), *_WHILE_SUSPENDED, limit + len(busy)),
        ).fetchall()
        return [r[0] for r in rows if r[0] not in busy][:limit]

    @reads
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
                visible_at=parse_time(r["visible_at"]) if r["visible_at"] != EPOCH else None,
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
            if result.reset_history:  # continue-as-new (a new created time) or rewind: the whole row
                db.execute(
                    "INSERT OR REPLACE INTO instances VALUES (?,?,?,?,?,?,?,?,?,?,?)", instance_values(i)
                )
            else:
                # Only the columns an episode changes: SQLite then leaves the indexes on the name and
                # the created time alone (a REPLACE rewrites every index of the row).
                db.execute(UPDATE_EPISODE, episode_values(i))
            db.executemany("DELETE FROM inbox WHERE id=?", [(m,) for m in result.consumed])
            for m in result.messages:
                insert_message(db, m)
            for child, start_message in result.new_instances:
                existing = db.execute(
                    "SELECT runtime_status FROM instances WHERE instance_id=?", (child.instance_id,)
                ).fetchone()
                if existing is not None:
                    self._delete_instance(db, child.instance_id)
                db.execute("INSERT INTO instances VALUES (?,?,?,?,?,?,?,?,?,?,?)", instance_values(child))
                insert_message(db, start_message)
            db.executemany(
                "INSERT INTO activities(instance_id, execution_id, task_id, name, input, visible_at) "
                "VALUES (?,?,?,?,?,?)",
                [
                    (a.instance_id, a.execution_id, a.task_id, a.name, a.input, EPOCH)
                    for a in result.activities
                ],
            )
            insert_entity_requests(db, result.entity_requests)

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

    @reads
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
                insert_message(db, result)

        return await self._write(tx)

    async def abandon_activity(self, task: ActivityTask, retry_at: datetime) -> None:
        def tx(db: sqlite3.Connection) -> Any:
            db.execute(
                "UPDATE activities SET visible_at=?, attempt=attempt+1 WHERE id=?",
                (format_time(retry_at), task.id),
            )

        return await self._write(tx)

    @reads
    async def next_due(self, after: datetime) -> datetime | None:
        moment = format_time(after)
        row = self._db.execute(
            "SELECT MIN(t) FROM (SELECT MIN(visible_at) AS t FROM inbox WHERE visible_at > ? "
            "UNION ALL SELECT MIN(visible_at) FROM activities WHERE visible_at > ? "
            "UNION ALL SELECT MIN(visible_at) FROM entity_inbox WHERE visible_at > ?)",
            (moment, moment, moment),
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
                insert_message(db, request)
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
        where, args = where_clause(query)
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
                "INSERT INTO instances VALUES (?,?,?,?,?,?,?,?,?,?,?)", map(instance_values, records)
            )
