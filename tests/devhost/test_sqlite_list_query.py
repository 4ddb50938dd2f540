"""The SQLite store's instance list: every plan (status index, id range, narrow or wide created range)
pages through exactly the instances a plain filter finds, in id order, and none reads the whole table."""

from __future__ import annotations

import random
import sqlite3
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from devhost.history import format_time
from devhost.store import InstanceQuery, InstanceRecord, RuntimeStatus
from devhost.store.sqlite import SqliteStore
from devhost.store.sqlite_query import DENSE, where_clause

BASE = datetime(2026, 3, 1, tzinfo=timezone.utc)
COUNT = DENSE + 1500
STATUSES = (RuntimeStatus.COMPLETED,) * 8 + (RuntimeStatus.FAILED, RuntimeStatus.RUNNING)


@pytest.fixture(scope="module")
def store() -> SqliteStore:
    rng = random.Random(3)
    made = SqliteStore(":memory:")
    made.insert_instances(
        [
            InstanceRecord(
                uuid.UUID(int=rng.getrandbits(128)).hex,
                "E1_HelloSequence",
                "e",
                rng.choice(STATUSES),
                format_time(BASE + timedelta(seconds=n)),
                format_time(BASE + timedelta(seconds=n)),
            )
            for n in range(COUNT)
        ]
    )
    return made


def _at(seconds: int) -> str:
    return format_time(BASE + timedelta(seconds=seconds))


QUERIES = {
    "everything": InstanceQuery(),
    "running": InstanceQuery(statuses=(RuntimeStatus.RUNNING,)),
    "running or failed": InstanceQuery(statuses=(RuntimeStatus.RUNNING, RuntimeStatus.FAILED)),
    "prefix": InstanceQuery(id_prefix="a"),
    "narrow created range": InstanceQuery(created_from=_at(100), created_to=_at(400)),
    "wide created range": InstanceQuery(created_from=_at(0), created_to=_at(COUNT)),
    "narrow range, failed": InstanceQuery(
        created_from=_at(1000), created_to=_at(1900), statuses=(RuntimeStatus.FAILED,)
    ),
    "wide range, running, prefix": InstanceQuery(
        created_from=_at(10), statuses=(RuntimeStatus.RUNNING,), id_prefix="3"
    ),
}


@pytest.mark.parametrize("name", list(QUERIES))
async def test_pages_hold_exactly_the_matching_instances_in_id_order(store: SqliteStore, name: str) -> None:
    query = QUERIES[name]
    where, args = where_clause(query)
    expected = [r[0] for r in store._db.execute(f"SELECT instance_id FROM instances WHERE {where}", args)]
    expected.sort()
    assert expected, "the query should match something"
    seen: list[str] = []
    after = None
    while True:
        page, after = await store.query_instances(query, 50, after)
        assert len(page) <= 50
        seen.extend(r.instance_id for r in page)
        if after is None:
            break
    assert seen == expected


def _plan(db: sqlite3.Connection, sql: str, args: list[object]) -> str:
    return " | ".join(str(row[-1]) for row in db.execute("EXPLAIN QUERY PLAN " + sql, args))


def test_a_status_filter_walks_the_status_index(store: SqliteStore) -> None:
    where, args = where_clause(InstanceQuery(statuses=(RuntimeStatus.RUNNING,)), created_indexed=False)
    plan = _plan(store._db, f"SELECT * FROM instances WHERE {where} ORDER BY instance_id LIMIT 51", args)
    assert "instances_by_status" in plan and "TEMP B-TREE" not in plan, plan
