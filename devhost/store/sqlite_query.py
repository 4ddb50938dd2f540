"""How the SQLite store answers the instance list: keyset pages in id order, each read through an index.

A page is "the next `limit` instances after id X that match the filters", so every plan must walk an
index in instance-id order and stop once the page is full, never sort or count the whole table:

* runtime status: the index (runtime_status, instance_id) gives each status's instances in id order;
* id prefix: a range of the primary key;
* created range: the index on created_time finds the matching rows, but not in id order, so it is
  used only when the range is narrow (fewer than DENSE matching rows, counted with a LIMIT); a wide
  range matches so many rows that the id-ordered walk of the other indexes finds a page soon.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from .base import InstanceQuery, id_prefix_range

# Fewer matches than this in a created range: read them by the created index and sort them; more: walk
# in id order and filter. Either way a page reads at most about this many index entries per page row.
DENSE = 5000

# The created-time index is made with the other time indexes (sqlite_order.py).
INDEXES = """
CREATE INDEX IF NOT EXISTS instances_by_status ON instances(runtime_status, instance_id);
"""


def where_clause(query: InstanceQuery, *, created_indexed: bool = True) -> tuple[str, list[Any]]:
    """The WHERE text and its arguments for the filters. `created_indexed=False` writes the created
    range so that the planner cannot pick the created index for it (a unary + on the column)."""
    column = "created_time" if created_indexed else "+created_time"
    clauses: list[str] = []
    args: list[Any] = []
    if query.created_from:
        clauses.append(f"{column} >= ?")
        args.append(query.created_from)
    if query.created_to:
        clauses.append(f"{column} <= ?")
        args.append(query.created_to)
    if query.statuses:
        clauses.append(f"runtime_status IN ({','.join('?' * len(query.statuses))})")
        args.extend(s.value for s in query.statuses)
    if query.id_prefix:
        # Range instead of LIKE: no wildcard in an id can widen the match.
        low, high = id_prefix_range(query.id_prefix)
        clauses.append("instance_id >= ?" if high is None else "instance_id >= ? AND instance_id < ?")
        args.extend([low] if high is None else [low, high])
    return (" AND ".join(clauses) or "1=1"), args


def created_range_is_narrow(db: sqlite3.Connection, query: InstanceQuery) -> bool:
    only_created = InstanceQuery(created_from=query.created_from, created_to=query.created_to)
    where, args = where_clause(only_created)
    (found,) = db.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM instances INDEXED BY instances_by_created_id WHERE {where} "
        "LIMIT ?)",
        [*args, DENSE],
    ).fetchone()
    return int(found) < DENSE


def instance_page(
    db: sqlite3.Connection, query: InstanceQuery, limit: int, after: str | None
) -> list[sqlite3.Row]:
    """Up to `limit` + 1 instance rows matching `query` with ids after `after`, in id order."""
    by_created = bool(query.created_from or query.created_to) and created_range_is_narrow(db, query)
    where, args = where_clause(query, created_indexed=by_created)
    if after is not None:
        where += " AND instance_id > ?"
        args.append(after)
    source = "instances INDEXED BY instances_by_created_id" if by_created else "instances"
    return db.execute(
        f"SELECT * FROM {source} WHERE {where} ORDER BY instance_id LIMIT ?", [*args, limit + 1]
    ).fetchall()
