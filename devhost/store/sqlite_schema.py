"""The SQLite store's tables and how records become rows and back.

Four tables, as in durabletask-go's sqlite backend: instances, history, inbox (messages with a
visible-at time: timers are delayed messages) and activities (the work-item queue); the entity tables
are in sqlite_entities.py, the list indexes in sqlite_query.py and sqlite_order.py.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

from ..history import format_time
from ..json_text import dumps_ascii
from .base import InstanceRecord, Message, RuntimeStatus
from .sqlite_order import ORDER_INDEXES
from .sqlite_query import INDEXES

TABLES = """
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
SCHEMA = TABLES + INDEXES + ORDER_INDEXES

EPOCH = "0000-00-00T00:00:00.000000Z"  # the visible-at of a message visible at once


def row_to_instance(row: sqlite3.Row) -> InstanceRecord:
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
        ledger_text=row["ledger"],
    )


def instance_values(i: InstanceRecord) -> tuple[Any, ...]:
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
        i.ledger_json(),
    )


UPDATE_EPISODE = (
    "UPDATE instances SET execution_id=?, runtime_status=?, last_updated_time=?, input=?, output=?, "
    "custom_status=?, ledger=? WHERE instance_id=?"
)


def episode_values(i: InstanceRecord) -> tuple[Any, ...]:
    """The values of UPDATE_EPISODE: what an episode that keeps its history may change."""
    return (
        i.execution_id,
        i.runtime_status.value,
        i.last_updated_time,
        i.input,
        i.output,
        i.custom_status,
        i.ledger_json(),
        i.instance_id,
    )


def visible_at(moment: datetime | None) -> str:
    return format_time(moment) if moment else EPOCH


def insert_message(db: sqlite3.Connection, m: Message) -> None:
    db.execute(
        "INSERT INTO inbox(instance_id, execution_id, event_type, event, visible_at) VALUES (?,?,?,?,?)",
        (
            m.instance_id,
            m.execution_id,
            m.event_type,
            dumps_ascii(m.event),
            visible_at(m.visible_at),
        ),
    )
