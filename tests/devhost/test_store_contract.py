"""The store contract, run against every store (sqlite file, memory, and azure on Azurite).

Each test states one promise of `devhost.store.base.Store`; a new backend joins by adding a parameter
to the `store` fixture (conftest.py).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from devhost.errors import InstanceExistsError
from devhost.history import EventType, event, format_time
from devhost.store import (
    ActivityTask,
    EpisodeResult,
    InstanceQuery,
    Message,
    RuntimeStatus,
    Store,
    open_store,
)

from .store_items import NOW, record, started


async def test_created_instance_is_readable_and_its_start_is_due(store: Store) -> None:
    await store.create_instance(record(), started())
    got = await store.get_instance("i1")
    assert got is not None and got.runtime_status is RuntimeStatus.PENDING and got.input == '{"a":1}'
    assert await store.ready_instances(NOW, 10, set()) == ["i1"]
    work = await store.fetch_work_item("i1", NOW)
    assert work is not None
    assert [m.event_type for m in work.messages] == [EventType.EXECUTION_STARTED]
    assert work.history == []


async def test_active_instance_cannot_be_created_twice_but_a_finished_one_is_replaced(store: Store) -> None:
    await store.create_instance(record(), started())
    with pytest.raises(InstanceExistsError):
        await store.create_instance(record(), started())
    await store.complete_orchestration(EpisodeResult(record(status=RuntimeStatus.COMPLETED), ['{"x":1}'], []))
    await store.create_instance(record(), started())
    assert await store.get_history("i1") == []


async def test_episode_commit_appends_history_consumes_and_queues(store: Store) -> None:
    await store.create_instance(record(), started())
    work = await store.fetch_work_item("i1", NOW)
    assert work is not None
    later = NOW + timedelta(seconds=30)
    timer = Message("i1", event(EventType.TIMER_FIRED, later, TimerId=1), execution_id="e1", visible_at=later)
    running = record(status=RuntimeStatus.RUNNING)
    running.custom_status = '"Tokyo"'
    await store.complete_orchestration(
        EpisodeResult(
            running,
            ['{"n":1}', '{"n":2}'],
            [m.id for m in work.messages],
            messages=[timer],
            activities=[ActivityTask("i1", "e1", 0, "Act", '"x"')],
        )
    )
    assert await store.get_history("i1") == ['{"n":1}', '{"n":2}']
    got = await store.get_instance("i1")
    assert got is not None and got.custom_status == '"Tokyo"'
    # The start was consumed; the timer is not due yet; the activity is.
    assert await store.fetch_work_item("i1", NOW) is None
    assert await store.next_due(NOW) == later
    tasks = await store.ready_activities(NOW, 10, set())
    assert [(t.name, t.task_id, t.input) for t in tasks] == [("Act", 0, '"x"')]
    assert await store.ready_instances(later, 10, set()) == ["i1"]


async def test_activity_completion_deletes_the_task_and_queues_the_result_once(store: Store) -> None:
    await store.create_instance(record(), started())
    await store.complete_orchestration(
        EpisodeResult(
            record(status=RuntimeStatus.RUNNING),
            [],
            [],
            activities=[ActivityTask("i1", "e1", 0, "Act", None)],
        )
    )
    [task] = await store.ready_activities(NOW, 10, set())
    done = Message(
        "i1", event(EventType.TASK_COMPLETED, NOW, TaskScheduledId=0, Result='"ok"'), execution_id="e1"
    )
    await store.complete_activity(task, done)
    await store.complete_activity(task, done)  # a second completion of the same task is ignored
    assert await store.ready_activities(NOW, 10, set()) == []
    work = await store.fetch_work_item("i1", NOW)
    assert work is not None
    assert [m.event_type for m in work.messages].count(EventType.TASK_COMPLETED) == 1


async def test_abandoned_activity_comes_back_later(store: Store) -> None:
    await store.create_instance(record(), started())
    await store.complete_orchestration(
        EpisodeResult(
            record(status=RuntimeStatus.RUNNING),
            [],
            [],
            activities=[ActivityTask("i1", "e1", 0, "Act", None)],
        )
    )
    [task] = await store.ready_activities(NOW, 10, set())
    await store.abandon_activity(task, NOW + timedelta(seconds=5))
    assert await store.ready_activities(NOW, 10, set()) == []
    [again] = await store.ready_activities(NOW + timedelta(seconds=5), 10, set())
    assert again.id == task.id and again.attempt == 1


async def test_busy_ids_are_excluded(store: Store) -> None:
    for i in ("a", "b"):
        await store.create_instance(record(i), started(i))
    assert await store.ready_instances(NOW, 10, {"a"}) == ["b"]


async def test_suspended_instance_only_takes_resume_and_terminate(store: Store) -> None:
    await store.create_instance(record(status=RuntimeStatus.SUSPENDED), started())
    assert await store.ready_instances(NOW, 10, set()) == []
    await store.send_message(Message("i1", event(EventType.EXECUTION_RESUMED, NOW)))
    work = await store.fetch_work_item("i1", NOW)
    assert work is not None
    assert [m.event_type for m in work.messages] == [EventType.EXECUTION_RESUMED]


async def test_query_filters_and_pages(store: Store) -> None:
    for n in range(5):
        status = RuntimeStatus.COMPLETED if n % 2 else RuntimeStatus.RUNNING
        await store.create_instance(
            record(f"job-{n}", status, NOW + timedelta(minutes=n)), started(f"job-{n}")
        )
    await store.create_instance(record("other"), started("other"))
    page, token = await store.query_instances(InstanceQuery(id_prefix="job-"), 2, None)
    assert [r.instance_id for r in page] == ["job-0", "job-1"] and token == "job-1"
    page, token = await store.query_instances(InstanceQuery(id_prefix="job-"), 2, token)
    assert [r.instance_id for r in page] == ["job-2", "job-3"]
    page, token = await store.query_instances(InstanceQuery(id_prefix="job-"), 2, token)
    assert [r.instance_id for r in page] == ["job-4"] and token is None
    done, _ = await store.query_instances(InstanceQuery(statuses=(RuntimeStatus.COMPLETED,)), 10, None)
    assert [r.instance_id for r in done] == ["job-1", "job-3"]
    window = InstanceQuery(
        created_from=format_time(NOW + timedelta(minutes=1)),
        created_to=format_time(NOW + timedelta(minutes=2)),
    )
    assert [r.instance_id for r in (await store.query_instances(window, 10, None))[0]] == ["job-1", "job-2"]


async def test_odd_ids_are_data_not_query_syntax(store: Store) -> None:
    odd = ["it's", 'a"b', "100%", "x_y", "日本", "a;DROP TABLE instances"]
    for i in odd:
        await store.create_instance(record(i), started(i))
    for i in odd:
        got = await store.get_instance(i)
        assert got is not None and got.instance_id == i
    page, _ = await store.query_instances(InstanceQuery(id_prefix="100%"), 10, None)
    assert [r.instance_id for r in page] == ["100%"]
    page, _ = await store.query_instances(InstanceQuery(id_prefix="x_"), 10, None)
    assert [r.instance_id for r in page] == ["x_y"]


async def test_purge_removes_instance_history_and_messages(store: Store) -> None:
    await store.create_instance(record(), started())
    assert await store.purge("i1") == 1
    assert await store.get_instance("i1") is None
    assert await store.ready_instances(NOW, 10, set()) == []
    assert await store.purge("i1") == 0


async def test_purge_by_filter_keeps_running_instances_unless_asked(store: Store) -> None:
    await store.create_instance(record("run", RuntimeStatus.RUNNING), started("run"))
    await store.create_instance(record("done", RuntimeStatus.COMPLETED), started("done"))
    assert await store.purge_by(InstanceQuery(created_from=format_time(NOW - timedelta(days=1)))) == 1
    assert await store.get_instance("done") is None
    assert await store.get_instance("run") is not None


async def test_purge_by_filter_of_every_status_takes_running_instances(store: Store) -> None:
    """What the purge API asks when Azure would purge every status (AzureTableTrackingStore.cs in
    Azure/durabletask, PurgeInstanceHistoryAsync): all statuses named, running ones go too."""
    await store.create_instance(record("run", RuntimeStatus.RUNNING), started("run"))
    await store.create_instance(record("done", RuntimeStatus.COMPLETED), started("done"))
    since = format_time(NOW - timedelta(days=1))
    everything = InstanceQuery(created_from=since, statuses=tuple(RuntimeStatus))
    assert await store.purge_by(everything) == 2
    assert await store.get_instance("run") is None
    assert await store.ready_instances(NOW, 10, set()) == []


async def test_continue_as_new_resets_history(store: Store) -> None:
    await store.create_instance(record(), started())
    await store.complete_orchestration(EpisodeResult(record(status=RuntimeStatus.RUNNING), ['{"old":1}'], []))
    await store.complete_orchestration(
        EpisodeResult(record(status=RuntimeStatus.RUNNING), ['{"new":1}'], [], reset_history=True)
    )
    assert await store.get_history("i1") == ['{"new":1}']


async def test_sqlite_state_survives_reopening(tmp_path: Path) -> None:
    url = f"sqlite:{tmp_path / 'hub.db'}"
    first = open_store(url)
    await first.create_instance(record(), started())
    await first.close()
    second = open_store(url)
    try:
        assert (await second.get_instance("i1")) is not None
        assert await second.ready_instances(NOW, 10, set()) == ["i1"]
    finally:
        await second.close()


async def _failed(store: Store, instance_id: str = "i1") -> None:
    await store.create_instance(record(instance_id), started(instance_id))
    work = await store.fetch_work_item(instance_id, NOW)
    assert work is not None
    failed = record(instance_id, status=RuntimeStatus.FAILED)
    failed.output = '"it broke"'
    await store.complete_orchestration(EpisodeResult(failed, ['{"n":1}'], [m.id for m in work.messages]))


def _rewind_request(instance_id: str = "i1") -> Message:
    return Message(instance_id, event(EventType.GENERIC_EVENT, NOW, Data="why"), execution_id="e1")


async def test_rewind_request_marks_a_failed_instance_pending_and_queues_the_request(store: Store) -> None:
    await _failed(store)
    later = format_time(NOW + timedelta(seconds=1))
    assert await store.request_rewind("i1", _rewind_request(), later) is RuntimeStatus.FAILED
    got = await store.get_instance("i1")
    assert got is not None
    assert (got.runtime_status, got.output, got.last_updated_time) == (RuntimeStatus.PENDING, None, later)
    assert await store.get_history("i1") == ['{"n":1}']  # the episode that takes the request rewrites it
    work = await store.fetch_work_item("i1", NOW)
    assert work is not None and [m.event["Data"] for m in work.messages] == ["why"]


async def test_rewind_request_changes_nothing_unless_the_instance_failed(store: Store) -> None:
    assert await store.request_rewind("nobody", _rewind_request("nobody"), format_time(NOW)) is None
    await store.create_instance(record(), started())
    assert await store.request_rewind("i1", _rewind_request(), format_time(NOW)) is RuntimeStatus.PENDING
    work = await store.fetch_work_item("i1", NOW)
    assert work is not None and [m.event_type for m in work.messages] == [EventType.EXECUTION_STARTED]
    await _failed(store, "i2")
    assert await store.request_rewind("i2", _rewind_request("i2"), format_time(NOW)) is RuntimeStatus.FAILED
    # A second request finds it Pending: refused, nothing queued twice.
    assert await store.request_rewind("i2", _rewind_request("i2"), format_time(NOW)) is RuntimeStatus.PENDING
    work = await store.fetch_work_item("i2", NOW)
    assert work is not None and len(work.messages) == 1
