"""A broken worker pool is replaced once, however many of its work items report the breakage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devhost.engine.worker_pool import ProcessPoolInvoker

WORKERS_APP = Path(__file__).resolve().parents[1] / "reliability" / "apps" / "workers"


async def test_every_failed_work_item_of_one_broken_pool_replaces_it_only_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RELIABILITY_LEDGER", str(tmp_path / "ledger.txt"))
    invoker = ProcessPoolInvoker(WORKERS_APP, 1)
    broken = invoker._pool
    try:
        invoker._replace(broken)  # the first work item that saw the pool break
        fresh = invoker._pool
        assert fresh is not broken
        invoker._replace(broken)  # a second one of the same pool must not shut the new one down
        assert invoker._pool is fresh
        reply = await invoker.run_activity("Nap", json.dumps({"key": "k/0", "seconds": 0}))
        assert reply.failure is None and json.loads(reply.result or "null") == "k/0"
    finally:
        await invoker.close()
