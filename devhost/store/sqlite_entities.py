"""Durable entities in the SQLite store (entity_records.py has the contract).

Two tables: `entities` (one row per entity that an operation has reached) and `entity_inbox`
(operation requests, in arrival order by their autoincrement id). A batch commit is one transaction,
so its state, its consumed requests, its responses and its signals land together or not at all.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

from ..errors import StoreError
from ..history import format_time, parse_time
from .entity_records import EntityBatch, EntityBatchResult, EntityQuery, EntityRecord, EntityRequest
from .sqlite_schema import insert_message
from .sqlite_writer import SqliteWriter

ENTITY_SCHEMA = """
CREATE TABLE IF NOT EXISTS entities (
    entity_id           TEXT PRIMARY KEY,
    entity_exists       INTEGER NOT NULL,
    state               TEXT,
    last_operation_time TEXT
);
CREATE TABLE IF NOT EXISTS entity_inbox (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    entity_id  TEXT NOT NULL,
    request    TEXT NOT NULL,
    visible_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS entity_inbox_by_entity ON entity_inbox(entity_id, id);
CREATE INDEX IF NOT EXISTS entity_inbox_by_visible ON entity_inbox(visible_at);
"""
_NOW = "0000-00-00T00:00:00.000000Z"  # the same "due at once" as the orchestration inbox


def insert_entity_requests(db: sqlite3.Connection, requests: list[EntityRequest]) -> None:
    """Queue requests inside the caller's transaction (an episode's calls and signals, a batch's signals)."""
    db.executemany(
        "INSERT INTO entity_inbox(entity_id, request, visible_at) VALUES (?,?,?)",
        [
            (
                r.entity_id,
                json.dumps(r.request, separators=(",", ":")),
                format_time(r.visible_at) if r.visible_at else _NOW,
            )
            for r in requests
        ],
    )


def _record(row: sqlite3.Row) -> EntityRecord:
    return EntityRecord(
        row["entity_id"], bool(row["entity_exists"]), row["state"], row["last_operation_time"]
    )


class SqliteEntities(SqliteWriter):
    """The entity methods of SqliteStore: a layer over its connections (sqlite_writer.py)."""

    def _rows(self, sql: str, args: Any) -> list[sqlite3.Row]:
        try:
            return self._db.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite store at {self.path} failed reading entities: {exc}") from exc

    async def send_entity_request(self, request: EntityRequest) -> None:
        def tx(db: sqlite3.Connection) -> None:
            insert_entity_requests(db, [request])

        await self._write(tx)

    async def ready_entities(self, now: datetime, limit: int, busy: set[str]) -> list[str]:
        rows = self._rows(
            "SELECT DISTINCT entity_id FROM entity_inbox WHERE visible_at <= ? LIMIT ?",
            (format_time(now), limit + len(busy)),
        )
        return [r[0] for r in rows if r[0] not in busy][:limit]

    async def fetch_entity_batch(self, entity_id: str, now: datetime, limit: int) -> EntityBatch | None:
        rows = self._rows(
            "SELECT * FROM entity_inbox WHERE entity_id=? AND visible_at <= ? ORDER BY id LIMIT ?",
            (entity_id, format_time(now), limit),
        )
        if not rows:
            return None
        requests = [
            EntityRequest(
                r["entity_id"],
                json.loads(r["request"]),
                parse_time(r["visible_at"]) if r["visible_at"] != _NOW else None,
                r["id"],
            )
            for r in rows
        ]
        entity = await self.get_entity(entity_id)
        return EntityBatch(entity or EntityRecord(entity_id), requests)

    async def complete_entity_batch(self, result: EntityBatchResult) -> None:
        """Commit the batch if all its requests are still queued; otherwise change nothing."""
        e = result.entity

        def tx(db: sqlite3.Connection) -> None:
            present = sum(
                db.execute("SELECT COUNT(*) FROM entity_inbox WHERE id=?", (i,)).fetchone()[0]
                for i in result.consumed
            )
            if present != len(result.consumed):
                return  # committed already: applying it again would repeat its operations
            db.execute(
                "INSERT OR REPLACE INTO entities VALUES (?,?,?,?)",
                (e.entity_id, int(e.exists), e.state if e.exists else None, e.last_operation_time),
            )
            db.executemany("DELETE FROM entity_inbox WHERE id=?", [(i,) for i in result.consumed])
            for m in result.responses:
                insert_message(db, m)
            insert_entity_requests(db, result.signals)

        await self._write(tx)

    async def get_entity(self, entity_id: str) -> EntityRecord | None:
        rows = self._rows("SELECT * FROM entities WHERE entity_id=?", (entity_id,))
        return _record(rows[0]) if rows else None

    async def query_entities(
        self, query: EntityQuery, limit: int, after: str | None
    ) -> tuple[list[EntityRecord], str | None]:
        clauses: list[str] = ["1=1"]
        args: list[Any] = []
        if query.name is not None:
            prefix = f"@{query.name.lower()}@"
            # A range, not LIKE: no wildcard in a name can widen the match.
            clauses.append("entity_id >= ? AND entity_id < ?")
            args += [prefix, prefix + "\U0010ffff"]
        if not query.include_deleted:
            clauses.append("entity_exists = 1")
        if query.last_operation_from:
            clauses.append("last_operation_time >= ?")
            args.append(query.last_operation_from)
        if query.last_operation_to:
            clauses.append("last_operation_time <= ?")
            args.append(query.last_operation_to)
        if after is not None:
            clauses.append("entity_id > ?")
            args.append(after)
        rows = self._rows(
            f"SELECT * FROM entities WHERE {' AND '.join(clauses)} ORDER BY entity_id LIMIT ?",
            [*args, limit + 1],
        )
        page = [_record(r) for r in rows[:limit]]
        return page, (page[-1].entity_id if len(rows) > limit else None)
