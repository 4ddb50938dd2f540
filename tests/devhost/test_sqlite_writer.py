"""The SQLite writer (store/sqlite_writer.py): when writes commit alone, when they share a transaction,
and that a failing write rolls back only itself on either path."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from devhost.errors import StoreError
from devhost.store.sqlite_writer import SqliteWriter

SCHEMA = "CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY);"


def _writer(path: Path, synchronous: str) -> tuple[SqliteWriter, list[str]]:
    writer = SqliteWriter(str(path), SCHEMA, synchronous=synchronous)
    commits: list[str] = []
    writer._writer.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)
    return writer, commits


def _insert(key: str):  # type: ignore[no-untyped-def]
    def tx(db: sqlite3.Connection) -> str:
        db.execute("INSERT INTO t VALUES (?)", (key,))
        return key

    return tx


def _keys(writer: SqliteWriter) -> list[str]:
    return [row[0] for row in writer._db.execute("SELECT k FROM t ORDER BY k")]


async def test_writes_made_together_on_a_store_that_syncs_each_commit_share_one_transaction(
    tmp_path: Path,
) -> None:
    writer, commits = _writer(tmp_path / "full.db", "FULL")
    try:
        done = await asyncio.gather(*(writer._write(_insert(f"k{n}")) for n in range(5)))
        assert done == [f"k{n}" for n in range(5)]
        assert commits == ["COMMIT"]
        assert _keys(writer) == [f"k{n}" for n in range(5)]
    finally:
        writer.close_now()


async def test_a_store_that_does_not_wait_for_the_disk_commits_the_writes_of_one_turn_together(
    tmp_path: Path,
) -> None:
    writer, commits = _writer(tmp_path / "normal.db", "NORMAL")
    try:
        together = asyncio.gather(*(writer._write(_insert(f"k{n}")) for n in range(3)))
        assert await together == ["k0", "k1", "k2"]
        assert commits == ["COMMIT"]
        assert await writer._write(_insert("later")) == "later"  # a turn of its own
        assert commits == ["COMMIT", "COMMIT"]
        assert _keys(writer) == ["k0", "k1", "k2", "later"]
    finally:
        writer.close_now()


async def test_a_lone_write_on_a_quiet_loop_commits_without_suspending(tmp_path: Path) -> None:
    writer, commits = _writer(tmp_path / "normal.db", "NORMAL")
    try:
        await asyncio.sleep(0)  # whatever the test runner had queued has run: nothing else is ready
        for key in ("a", "b"):
            step = writer._write(_insert(key))
            with pytest.raises(StopIteration) as finished:  # done at its first step: no await
                step.send(None)
            assert finished.value.value == key
        assert commits == ["COMMIT", "COMMIT"]
        assert _keys(writer) == ["a", "b"]
    finally:
        writer.close_now()


async def test_a_write_made_before_the_store_closes_in_the_same_turn_is_committed(tmp_path: Path) -> None:
    path = tmp_path / "normal.db"
    writer, _ = _writer(path, "NORMAL")
    pending = asyncio.ensure_future(writer._write(_insert("last")))
    await asyncio.sleep(0)  # the write is queued; its turn's commit has not run yet
    writer.close_now()
    assert await pending == "last"
    reopened = SqliteWriter(str(path), SCHEMA, synchronous="NORMAL")
    try:
        assert _keys(reopened) == ["last"]
    finally:
        reopened.close_now()


async def test_a_store_that_syncs_each_commit_hands_a_write_to_its_flush(tmp_path: Path) -> None:
    writer, commits = _writer(tmp_path / "full.db", "FULL")
    try:
        pending = asyncio.ensure_future(writer._write(_insert("a")))
        await asyncio.sleep(0)  # the write is queued; the flush task commits it on its own turn
        assert await pending == "a"
        assert commits == ["COMMIT"]
    finally:
        writer.close_now()


@pytest.mark.parametrize("synchronous", ["FULL", "NORMAL"])
async def test_a_failing_write_rolls_back_only_itself_and_raises_a_store_error(
    tmp_path: Path, synchronous: str
) -> None:
    writer, _ = _writer(tmp_path / "store.db", synchronous)

    def half_then_fail(db: sqlite3.Connection) -> None:
        db.execute("INSERT INTO t VALUES ('half')")
        db.execute("INSERT INTO t VALUES ('a')")  # already there: IntegrityError

    try:
        await writer._write(_insert("a"))
        results = await asyncio.gather(
            writer._write(half_then_fail), writer._write(_insert("b")), return_exceptions=True
        )
        assert isinstance(results[0], StoreError)
        assert "UNIQUE" in str(results[0])
        assert results[1] == "b"
        assert _keys(writer) == ["a", "b"]
    finally:
        writer.close_now()
