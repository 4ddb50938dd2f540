"""The SQLite store a host opens: write-ahead log, commits that do not wait for an fsync each."""

from __future__ import annotations

from pathlib import Path

from devhost.store import open_store


def test_a_file_store_runs_in_wal_mode_with_normal_sync(tmp_path: Path) -> None:
    store = open_store(f"sqlite:{tmp_path / 'durable.db'}", hub_name="TestHubName")
    try:
        db = store._db  # type: ignore[attr-defined]
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL (FULL is 2)
    finally:
        store.close_now()  # type: ignore[attr-defined]
