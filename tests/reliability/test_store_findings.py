"""Store faults the crash and load suites found, pinned down one interleaving at a time."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone
from pathlib import Path

from devhost import history as h
from devhost.history import EventType
from devhost.store import EpisodeResult, InstanceRecord, Message, RuntimeStatus
from devhost.store.sqlite import SqliteStore


def _committed(store: SqliteStore, instance_id: str) -> bool:
    row = store._db.execute("SELECT 1 FROM instances WHERE instance_id=?", (instance_id,)).fetchone()
    return row is not None


async def test_a_history_read_after_a_late_create_is_the_committed_one(tmp_path: Path) -> None:
    """The first episode may commit before `create_instance` has resumed after its own commit.

    Under load the dispatcher sees a new instance's start message as soon as its commit lands, runs the
    first episode and queues its commit while the create is still waiting to resume. The history the
    store hands the second episode must still be the committed one: an empty one makes the engine drop
    that episode's messages (an activity result or an event, lost for good).
    """
    store = SqliteStore(str(tmp_path / "durable.db"))
    now = datetime.now(timezone.utc)
    stamp = h.format_time(now)
    record = InstanceRecord("race", "Flow", "exec", RuntimeStatus.PENDING, stamp, stamp)
    start = h.execution_started(now, "race", "exec", "Flow", None, None)
    try:
        create = asyncio.create_task(
            store.create_instance(record, Message("race", start, execution_id="exec"))
        )
        for _ in range(5):  # a few turns of the loop: the create's write goes to the writer thread
            await asyncio.sleep(0)
        deadline = time.monotonic() + 10
        # Waiting without yielding to the loop (on purpose): the create cannot resume yet.
        while not _committed(store, "race"):
            assert time.monotonic() < deadline
            time.sleep(0.001)  # noqa: ASYNC251
        work = await store.fetch_work_item("race", now)
        assert work is not None and work.history == []
        record.runtime_status = RuntimeStatus.RUNNING
        first = [
            h.dumps(h.event(EventType.ORCHESTRATOR_STARTED, now)),
            h.dumps(start),
            h.dumps(h.event(EventType.ORCHESTRATOR_COMPLETED, now)),
        ]
        await asyncio.gather(
            create, store.complete_orchestration(EpisodeResult(record, first, [m.id for m in work.messages]))
        )
        await store.send_message(Message("race", h.event(EventType.EVENT_RAISED, now, Name="Go", Input="1")))
        work = await store.fetch_work_item("race", now)
        assert work is not None
        assert work.history == first
    finally:
        await store.close()
