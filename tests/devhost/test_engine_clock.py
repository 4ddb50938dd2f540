"""Everything that tells time in the engine reads its clock: history timestamps, current_utc_datetime,
durable timers and retry delays follow a virtual clock moved ahead of the wall clock."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from devhost import history as h
from devhost.host import DevHost

from .helpers import idle, stored_history, wait_done, wait_until


async def test_retry_delays_and_history_times_are_virtual(features_realtime: DevHost) -> None:
    host = features_realtime
    await host.advance(timedelta(days=2))
    client = host.client()
    instance_id = await client.start_new("retry_orchestrator", "clocked", {"failures": 1, "attempts": 2})
    # The first attempt failed; the retry waits 5 s of the engine's time, not of the wall clock's.
    await wait_until(client, instance_id, lambda s: s.runtime_status.value == "Running")
    await idle(host)
    history = await stored_history(host, instance_id)
    timer = next(e for e in history if e["EventType"] == h.EventType.TIMER_CREATED)
    failed = next(e for e in history if e["EventType"] == h.EventType.TASK_FAILED)
    fire_at = h.parse_time(timer["FireAt"])
    # Five seconds from the episode that read the failure (a moment after the failure was recorded).
    assert timedelta(seconds=5) <= fire_at - h.parse_time(failed["Timestamp"]) < timedelta(seconds=6)
    assert fire_at - datetime.now(timezone.utc) > timedelta(days=1, hours=23)
    assert (await client.get_status(instance_id)).runtime_status.value == "Running"

    await host.advance(timedelta(seconds=5))
    done = await wait_done(client, instance_id)
    assert done.runtime_status.value == "Completed"
    # Every timestamp the engine wrote is two days ahead of the wall clock, as is the status.
    stamps = [h.parse_time(e["Timestamp"]) for e in await stored_history(host, instance_id)]
    assert all(s - datetime.now(timezone.utc) > timedelta(days=1, hours=23) for s in stamps)
    assert done.created_time - datetime.now(timezone.utc) > timedelta(days=1, hours=23)


async def test_a_start_after_an_advance_is_stamped_in_virtual_time(features_realtime: DevHost) -> None:
    host = features_realtime
    await host.advance(timedelta(hours=5))
    before = host.now()
    client = host.client()
    instance_id = await client.start_new("retry_orchestrator", "started-late", {"failures": 0, "attempts": 1})
    done = await wait_done(client, instance_id)
    started = next(
        e for e in await stored_history(host, instance_id) if e["EventType"] == h.EventType.EXECUTION_STARTED
    )
    assert h.parse_time(started["Timestamp"]) >= before
    assert done.last_updated_time >= before.replace(microsecond=0)
