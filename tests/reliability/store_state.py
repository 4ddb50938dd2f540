"""What a task hub holds, to compare before and after a request that must change nothing.

Two views: every instance with its full history through the status API (`probe.snapshot`, any store),
and for a SQLite store every row of every table read from the file itself (read-only), which also
shows what the API does not: inbox messages, activity work items, the instance ledger, the
autoincrement counters. A refused request that queued a message or bumped a counter differs here.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from devhost.process import DevhostProcess

from .probe import snapshot


def sqlite_rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of the store (whatever tables it has), sorted, read through a
    read-only connection."""
    con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        tables = [name for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        assert "instances" in tables, tables
        return {t: sorted(con.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in tables}
    finally:
        con.close()


def store_state(proc: DevhostProcess) -> dict[str, Any]:
    """The status API's view of every instance, plus the SQLite rows when the host runs on SQLite."""
    state: dict[str, Any] = {"api": snapshot(proc.port)}
    if proc.store.startswith("sqlite:"):
        state["rows"] = sqlite_rows(Path(proc.store.split(":", 1)[1]))
    return state
