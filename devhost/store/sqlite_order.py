"""The SQLite store's instance list newest first, by created or by last-updated time: the dashboard's order.

Keyset pages: a page continues after the (time, instance id) of the last row of the one before, so
page 2,000 costs what page 1 does. Each order has an index on (time, id), one on (runtime status,
time, id) and one on (name, time, id), so that a status or name filter walks only its own rows,
newest first. Several statuses are read one status at a time and merged; a narrow created range
(see sqlite_query.py) is read through the created index and sorted, as it holds few rows.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from typing import Literal

from .base import InstanceQuery
from .sqlite_query import created_range_is_narrow, where_clause

Order = Literal["created", "updated"]
COLUMNS: dict[str, str] = {"created": "created_time", "updated": "last_updated_time"}

ORDER_INDEXES = "DROP INDEX IF EXISTS instances_by_created;\n" + "".join(
    f"CREATE INDEX IF NOT EXISTS instances_by_{name} ON instances({columns}, instance_id);\n"
    for name, columns in (
        ("created_id", "created_time"),
        ("updated_id", "last_updated_time"),
        ("status_created", "runtime_status, created_time"),
        ("status_updated", "runtime_status, last_updated_time"),
        ("name_created", "name COLLATE NOCASE, created_time"),
        ("name_updated", "name COLLATE NOCASE, last_updated_time"),
    )
)


def ordered_page(
    db: sqlite3.Connection,
    query: InstanceQuery,
    name: str | None,
    order: Order,
    limit: int,
    after: tuple[str, str] | None,
) -> list[sqlite3.Row]:
    """Up to `limit` + 1 rows matching `query` (and the orchestrator `name`, in any case), newest
    first by `order`, after the (time, id) position `after`."""
    column = COLUMNS[order]
    if len(query.statuses) > 1:
        rows = [
            row
            for status in query.statuses
            for row in ordered_page(db, replace(query, statuses=(status,)), name, order, limit, after)
        ]
        rows.sort(key=lambda r: (r[column], r["instance_id"]), reverse=True)
        return rows[: limit + 1]
    narrow = bool(query.created_from or query.created_to) and created_range_is_narrow(db, query)
    where, args = where_clause(query)
    if name:
        where += " AND name = ? COLLATE NOCASE"
        args.append(name)
    if after is not None:
        where += f" AND ({column}, instance_id) < (?, ?)"
        args.extend(after)
    source = "instances INDEXED BY instances_by_created_id" if narrow else "instances"
    return db.execute(
        f"SELECT * FROM {source} WHERE {where} ORDER BY {column} DESC, instance_id DESC LIMIT ?",
        [*args, limit + 1],
    ).fetchall()
