"""The store contract, run against every store (sqlite file, memory, and azure on Azurite).

Each test states one promise of `devhost.store.base.Store`; a new backend joins by adding a parameter
to the `store` fixture (conftest.py).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import ServiceRequestError
from azure.data.tables.aio import TableServiceClient
from azure.storage.blob.aio import BlobServiceClient
from azure.storage.queue.aio import QueueServiceClient

from devhost.errors import InstanceExistsError, StoreError
from devhost.history import EventType, event, format_time
from devhost.store import (
    ActivityTask,
    EpisodeResult,
    InstanceQuery,
    InstanceRecord,
    Message,
    RuntimeStatus,
    Store,
    WorkItem,
    open_store,
)

from .azure_hub import AzureHub

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def record(
    instance_id: str = "i1", status: RuntimeStatus = RuntimeStatus.PENDING, created: datetime = NOW
) -> InstanceRecord:
    stamp = format_time(created)
    return InstanceRecord(instance_id, "Orch", "e1", status, stamp, stamp, input='{"a":1}')


def started(instance_id: str = "i1") -> Message:
    return Message(instance_id, event(EventType.EXECUTION_STARTED, NOW, Name="Orch"), execution_id="e1")


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


# -- azure only: Azure Storage limits, names, odd keys and crash recovery ----------------------------

azure_only = pytest.mark.azurite


async def created_and_fetched(store: Store) -> WorkItem:
    """Instance i1 created, and its first work item (the start) read."""
    await store.create_instance(record(), started())
    work = await store.fetch_work_item("i1", NOW)
    assert work is not None
    return work


async def power_cut(*args: object, **kwargs: object) -> None:
    """Put in place of a store call: the process dies there."""
    raise RuntimeError("power cut")


def activity_result(task_id: int = 0) -> Message:
    done = event(EventType.TASK_COMPLETED, NOW, TaskScheduledId=task_id, Result='"ok"')
    return Message("i1", done, execution_id="e1")


def episode(work: WorkItem, history: list[str], **effects: Any) -> EpisodeResult:
    """An episode of i1 that consumed the work item's messages, running on unless `status` says."""
    status = effects.pop("status", RuntimeStatus.RUNNING)
    return EpisodeResult(record(status=status), history, [m.id for m in work.messages], **effects)


@azure_only
async def test_azure_hub_has_names_of_its_own_beside_the_durable_extensions(azure_hub: AzureHub) -> None:
    await azure_hub.store()
    hub, lower = azure_hub.name, azure_hub.name.lower()
    async with TableServiceClient.from_connection_string(azure_hub.connection_string) as tables:
        names = {t.name async for t in tables.list_tables()}
    assert {n for n in names if n.lower().startswith(lower)} == {
        f"{hub}InstancesDevhost",
        f"{hub}HistoryDevhost",
        f"{hub}EntitiesDevhost",
    }
    async with QueueServiceClient.from_connection_string(azure_hub.connection_string) as queues:
        queue_names = {q.name async for q in queues.list_queues(name_starts_with=lower)}
    assert queue_names == {f"{lower}-devhost"}
    async with BlobServiceClient.from_connection_string(azure_hub.connection_string) as blobs:
        containers = {c.name async for c in blobs.list_containers(name_starts_with=lower)}
    assert containers == {f"{lower}-devhost"}


@azure_only
async def test_azure_large_values_spill_to_blobs_and_come_back_whole(azure_hub: AzureHub) -> None:
    store = await azure_hub.store()
    big = json.dumps("x" * 200_000)
    wide = json.dumps("日本" * 20_000)  # 40,000 characters: 80 KB in UTF-16, the unit of the limit
    created = record()
    created.input = big
    await store.create_instance(created, started())
    work = await store.fetch_work_item("i1", NOW)
    assert work is not None and work.instance.input == big
    done = record(status=RuntimeStatus.COMPLETED)
    done.input, done.output = big, wide
    huge_event = json.dumps({"EventType": 4, "Input": big})
    await store.complete_orchestration(
        EpisodeResult(
            done,
            [huge_event, '{"n":2}'],
            [m.id for m in work.messages],
            messages=[Message("i1", event(EventType.EVENT_RAISED, NOW, Name="big", Input=big))],
            activities=[ActivityTask("i1", "e1", 0, "Act", big)],
        )
    )
    got = await store.get_instance("i1")
    assert got is not None and (got.input, got.output) == (big, wide)
    assert await store.get_history("i1") == [huge_event, '{"n":2}']
    [task] = await store.ready_activities(NOW, 10, set())
    assert task.input == big
    work = await store.fetch_work_item("i1", NOW)
    assert work is not None and work.messages[0].event["Input"] == big
    row = await azure_hub.instance_row("i1")
    assert "Input" not in row and row["InputBlobName"].startswith("i1/")
    assert "Output" not in row and row["OutputBlobName"]


@azure_only
async def test_azure_a_thousand_event_history_and_its_reset(azure_hub: AzureHub) -> None:
    store = await azure_hub.store()
    await store.create_instance(record(), started())
    events = [json.dumps({"n": n, "pad": "p" * 500}) for n in range(1000)]
    await store.complete_orchestration(EpisodeResult(record(status=RuntimeStatus.RUNNING), events, []))
    await store.complete_orchestration(
        EpisodeResult(record(status=RuntimeStatus.RUNNING), ['{"n":1000}'], [])
    )
    assert await store.get_history("i1") == [*events, '{"n":1000}']
    await store.complete_orchestration(
        EpisodeResult(record(status=RuntimeStatus.RUNNING), ['{"next":0}'], [], reset_history=True)
    )
    assert await store.get_history("i1") == ['{"next":0}']
    assert len(await azure_hub.rows("History", "i1")) == 1  # the old execution's rows are deleted


@azure_only
async def test_azure_odd_ids_and_names_are_data_not_keys_or_filters(azure_hub: AzureHub) -> None:
    store = await azure_hub.store()
    odd = ["it's", "it''s", "a' or PartitionKey ne '", "sub/child#1?x", "tab\there", "@~lookalike"]
    for i in odd:
        await store.create_instance(record(i), started(i))
        quoted = event(EventType.EVENT_RAISED, NOW, Name='it\'s "quoted" / #?', Input="1")
        await store.send_message(Message(i, quoted))
    for i in odd:
        got = await store.get_instance(i)
        assert got is not None and got.instance_id == i
        work = await store.fetch_work_item(i, NOW)
        assert work is not None and work.messages[-1].event["Name"] == 'it\'s "quoted" / #?'
    page, _ = await store.query_instances(InstanceQuery(id_prefix="it'"), 10, None)
    assert [r.instance_id for r in page] == ["it''s", "it's"]
    page, _ = await store.query_instances(InstanceQuery(id_prefix="it's"), 10, None)
    assert [r.instance_id for r in page] == ["it's"]
    page, _ = await store.query_instances(InstanceQuery(id_prefix="a' or PartitionKey ne '"), 10, None)
    assert [r.instance_id for r in page] == ["a' or PartitionKey ne '"]
    assert sorted(await store.ready_instances(NOW, 10, set())) == sorted(odd)
    assert await store.purge("sub/child#1?x") == 1 and await store.get_instance("sub/child#1?x") is None


@azure_only
async def test_azure_crash_after_the_commit_point_is_finished_on_reopening(
    azure_hub: AzureHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await azure_hub.store()
    await first.create_instance(record("other"), started("other"))
    work = await created_and_fetched(first)
    later = NOW + timedelta(seconds=30)
    timer = Message("i1", event(EventType.TIMER_FIRED, later, TimerId=1), execution_id="e1", visible_at=later)
    note = Message("other", event(EventType.EVENT_RAISED, NOW, Name="note", Input="1"))

    monkeypatch.setattr(first, "_apply", power_cut)
    with pytest.raises(RuntimeError):
        await first.complete_orchestration(
            EpisodeResult(
                record(status=RuntimeStatus.RUNNING),
                ['{"n":1}'],
                [m.id for m in work.messages],
                messages=[timer, note],  # the event for another instance goes through the outbox
                activities=[ActivityTask("i1", "e1", 0, "Act", None)],
            )
        )
    # Committed: status, history, the consumed start, the timer and the task, in one transaction;
    # the event for the other instance waits in the outbox.
    got = await first.get_instance("i1")
    assert got is not None and got.runtime_status is RuntimeStatus.RUNNING
    assert (await azure_hub.instance_row("i1"))["OutboxPending"] is True
    assert await azure_hub.pending("i1") == ([EventType.TIMER_FIRED], ["Act"])
    assert await azure_hub.pending("other") == ([EventType.EXECUTION_STARTED], [])

    second = await azure_hub.store()  # devhost starting again on the same hub
    assert await second.get_history("i1") == ['{"n":1}']
    assert await second.fetch_work_item("i1", NOW) is None  # the start was consumed
    assert await second.next_due(NOW) == later
    assert [t.name for t in await second.ready_activities(NOW, 10, set())] == ["Act"]
    other = await second.fetch_work_item("other", NOW)
    assert other is not None
    assert [m.event_type for m in other.messages] == [EventType.EXECUTION_STARTED, EventType.EVENT_RAISED]
    assert not (await azure_hub.instance_row("i1")).get("OutboxPending")


@azure_only
async def test_azure_crash_before_the_commit_point_leaves_nothing_visible(
    azure_hub: AzureHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await azure_hub.store()
    work = await created_and_fetched(store)
    commit = store._instances.transact

    monkeypatch.setattr(store._instances, "transact", power_cut)
    first_try = EpisodeResult(
        record(status=RuntimeStatus.RUNNING),
        ['{"try":1}', '{"try":1}'],
        [work.messages[0].id],
        activities=[ActivityTask("i1", "e1", 0, "Act", None)],
    )
    with pytest.raises(RuntimeError):
        await store.complete_orchestration(first_try)
    monkeypatch.setattr(store._instances, "transact", commit)
    assert await store.get_history("i1") == []
    assert await azure_hub.pending("i1") == ([EventType.EXECUTION_STARTED], [])
    assert await store.ready_activities(NOW, 10, set()) == []
    retry = await store.fetch_work_item("i1", NOW)
    assert retry is not None and [m.id for m in retry.messages] == [m.id for m in work.messages]
    await store.complete_orchestration(episode(retry, ['{"try":2}']))
    assert await store.get_history("i1") == ['{"try":2}']


@azure_only
async def test_azure_a_result_delivered_twice_after_a_crash_is_taken_once(azure_hub: AzureHub) -> None:
    store = await azure_hub.store()
    work = await created_and_fetched(store)
    await store.complete_orchestration(
        episode(
            work,
            [json.dumps(m.event) for m in work.messages],
            activities=[ActivityTask("i1", "e1", 0, "Act", None)],
        )
    )
    [task] = await store.ready_activities(NOW, 10, set())

    # The result waits in memory for the episode that takes it; the process dies before that.
    await store.complete_activity(task, activity_result())
    assert await azure_hub.pending("i1") == ([], ["Act"])
    restarted = await azure_hub.store()
    [again] = await restarted.ready_activities(NOW, 10, set())  # at least once: it runs again
    await restarted.complete_activity(again, activity_result())
    assert await azure_hub.pending("i1") == ([EventType.TASK_COMPLETED], [])
    work = await restarted.fetch_work_item("i1", NOW)
    assert work is not None and [m.event_type for m in work.messages] == [EventType.TASK_COMPLETED]
    await restarted.complete_orchestration(episode(work, [json.dumps(work.messages[0].event)]))
    assert await azure_hub.pending("i1") == ([], [])
    await restarted.send_message(activity_result())  # an outbox applied twice delivers it once more
    assert await restarted.fetch_work_item("i1", NOW) is None
    assert await restarted.ready_instances(NOW, 10, set()) == []


@azure_only
async def test_azure_work_written_by_another_process_is_found(azure_hub: AzureHub) -> None:
    serving = await azure_hub.store()
    assert await serving.ready_instances(NOW, 10, set()) == []
    other = await azure_hub.store()
    await other.create_instance(record(), started())
    serving._hints._drained = 0.0  # its next look reads the hint queues at once
    assert await serving.ready_instances(NOW, 10, set()) == ["i1"]


@azure_only
async def test_azure_a_start_and_its_instance_row_are_written_together(
    azure_hub: AzureHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await azure_hub.store()
    with monkeypatch.context() as patch, pytest.raises(RuntimeError):
        patch.setattr(store._instances, "transact", power_cut)
        await store.create_instance(record(), started())
    assert await azure_hub.rows("Instances", "i1") == []
    await store.create_instance(record(), started())
    assert await azure_hub.pending("i1") == ([EventType.EXECUTION_STARTED], [])
    assert await store.ready_instances(NOW, 10, set()) == ["i1"]


@azure_only
async def test_azure_an_episode_of_a_remembered_instance_reads_no_table(
    azure_hub: AzureHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await azure_hub.store()
    work = await created_and_fetched(store)
    await store.complete_orchestration(
        episode(work, ['{"n":1}'], activities=[ActivityTask("i1", "e1", 0, "Act", '"x"')])
    )
    for table in (store._instances, store._history):
        monkeypatch.setattr(table, "get", power_cut)
        monkeypatch.setattr(table, "query", power_cut)
    [task] = await store.ready_activities(NOW, 10, set())
    assert task.input == '"x"'
    await store.complete_activity(task, activity_result())
    work = await store.fetch_work_item("i1", NOW)
    assert work is not None and work.history == ['{"n":1}']
    await store.complete_orchestration(episode(work, ['{"n":2}'], status=RuntimeStatus.COMPLETED))
    monkeypatch.undo()
    assert await store.get_history("i1") == ['{"n":1}', '{"n":2}']
    assert await azure_hub.pending("i1") == ([], [])


@azure_only
async def test_azure_a_row_changed_elsewhere_fails_the_commit_and_the_retry_reads_the_tables(
    azure_hub: AzureHub,
) -> None:
    store = await azure_hub.store()
    await created_and_fetched(store)
    work = await store.fetch_work_item("i1", NOW)
    assert work is not None
    async with azure_hub.table("Instances") as table:
        await table.update_entity({"PartitionKey": "i1", "RowKey": "", "CustomStatus": '"elsewhere"'})
    with pytest.raises(StoreError):
        await store.complete_orchestration(episode(work, ['{"n":1}']))
    assert await store.ready_instances(NOW, 10, set()) == ["i1"]
    retry = await store.fetch_work_item("i1", NOW)
    assert retry is not None and retry.instance.custom_status == '"elsewhere"'
    await store.complete_orchestration(episode(retry, ['{"n":1}']))
    assert await store.get_history("i1") == ['{"n":1}']


@azure_only
async def test_azure_a_write_whose_answer_was_lost_is_found_by_reading_the_partition_again(
    azure_hub: AzureHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await azure_hub.store()
    work = await created_and_fetched(store)
    await store.complete_orchestration(episode(work, ['{"n":1}']))
    upsert = store._instances.upsert

    async def written_then_lost(entity: dict[str, Any]) -> str:
        await upsert(entity)
        raise ServiceRequestError("connection reset")

    monkeypatch.setattr(store._instances, "upsert", written_then_lost)
    with pytest.raises(StoreError):
        await store.send_message(Message("i1", event(EventType.EVENT_RAISED, NOW, Name="go", Input="1")))
    monkeypatch.undo()
    assert await store.ready_instances(NOW, 10, set()) == ["i1"]
    work = await store.fetch_work_item("i1", NOW)
    assert work is not None and [m.event["Name"] for m in work.messages] == ["go"]


@azure_only
async def test_azure_an_episode_larger_than_a_transaction_goes_through_the_outbox(
    azure_hub: AzureHub,
) -> None:
    store = await azure_hub.store()
    work = await created_and_fetched(store)
    fan_out = [ActivityTask("i1", "e1", n, "Act", json.dumps(n)) for n in range(150)]
    await store.complete_orchestration(episode(work, ['{"n":1}'], activities=fan_out))
    tasks = await store.ready_activities(NOW, 200, set())
    assert sorted(t.task_id for t in tasks) == list(range(150))
    assert not (await azure_hub.instance_row("i1")).get("OutboxPending")
    reopened = await azure_hub.store()
    assert len(await reopened.ready_activities(NOW, 200, set())) == 150


@azure_only
async def test_azure_a_held_result_is_taken_by_the_next_commit_or_written_at_close(
    azure_hub: AzureHub,
) -> None:
    store = await azure_hub.store()
    work = await created_and_fetched(store)
    tasks = [ActivityTask("i1", "e1", n, "Act", None) for n in range(2)]
    await store.complete_orchestration(episode(work, ['{"n":1}'], activities=tasks))
    first, second = await store.ready_activities(NOW, 10, set())
    await store.complete_activity(first, activity_result(first.task_id))
    await store.complete_activity(first, activity_result(first.task_id))  # once only
    work = await store.fetch_work_item("i1", NOW)
    assert work is not None and [m.event["TaskScheduledId"] for m in work.messages] == [first.task_id]
    await store.complete_orchestration(episode(work, ['{"n":2}']))
    assert await azure_hub.pending("i1") == ([], ["Act"])  # that commit deleted the first task

    await store.complete_activity(second, activity_result(second.task_id))
    await store.close()  # devhost stopping: what it holds is written
    assert await azure_hub.pending("i1") == ([EventType.TASK_COMPLETED], [])
    reopened = await azure_hub.store()
    assert await reopened.ready_activities(NOW, 10, set()) == []
    work = await reopened.fetch_work_item("i1", NOW)
    assert work is not None and [m.event["TaskScheduledId"] for m in work.messages] == [second.task_id]


@azure_only
async def test_azure_an_activity_chain_that_ends_keeps_its_whole_history_in_the_row(
    azure_hub: AzureHub,
) -> None:
    store = await azure_hub.store()
    work = await created_and_fetched(store)
    await store.complete_orchestration(
        episode(work, ['{"n":1}'], activities=[ActivityTask("i1", "e1", 0, "Act", None)])
    )
    assert await azure_hub.rows("History", "i1") == []
    assert json.loads((await azure_hub.instance_row("i1"))["HistoryTail"]) == ['{"n":1}']
    [task] = await store.ready_activities(NOW, 10, set())
    await store.complete_activity(task, activity_result())
    work = await store.fetch_work_item("i1", NOW)
    assert work is not None
    await store.complete_orchestration(episode(work, ['{"n":2}'], status=RuntimeStatus.COMPLETED))
    assert await azure_hub.rows("History", "i1") == []  # one request fewer per instance
    assert json.loads((await azure_hub.instance_row("i1"))["HistoryTail"]) == ['{"n":1}', '{"n":2}']
    assert await (await azure_hub.store()).get_history("i1") == ['{"n":1}', '{"n":2}']
    assert await store.purge("i1") == 1
    assert await azure_hub.rows("Instances", "i1") == []
    assert await (await azure_hub.store()).get_history("i1") == []


@azure_only
async def test_azure_an_instance_that_waited_ends_with_rows_and_a_tail(azure_hub: AzureHub) -> None:
    store = await azure_hub.store()
    work = await created_and_fetched(store)
    await store.complete_orchestration(episode(work, ['{"n":1}']))  # waits on an event: to History
    assert [r["Event"] for r in await azure_hub.rows("History", "i1")] == ['{"n":1}']
    await store.send_message(Message("i1", event(EventType.EVENT_RAISED, NOW, Name="go"), execution_id="e1"))
    work = await store.fetch_work_item("i1", NOW)
    assert work is not None
    await store.complete_orchestration(episode(work, ['{"n":2}'], status=RuntimeStatus.COMPLETED))
    assert [r["Event"] for r in await azure_hub.rows("History", "i1")] == ['{"n":1}']
    assert json.loads((await azure_hub.instance_row("i1"))["HistoryTail"]) == ['{"n":2}']
    assert await (await azure_hub.store()).get_history("i1") == ['{"n":1}', '{"n":2}']


@azure_only
async def test_azure_an_ending_too_large_for_the_row_goes_to_history(azure_hub: AzureHub) -> None:
    store = await azure_hub.store()
    work = await created_and_fetched(store)
    big = json.dumps({"Result": "x" * 5_000})  # over the 4,000 characters an event may keep in the row
    await store.complete_orchestration(episode(work, ['{"n":1}', big], status=RuntimeStatus.FAILED))
    assert [r["Event"] for r in await azure_hub.rows("History", "i1")] == ['{"n":1}', big]
    assert "HistoryTail" not in await azure_hub.instance_row("i1")
    assert await (await azure_hub.store()).get_history("i1") == ['{"n":1}', big]


@azure_only
async def test_azure_continue_as_new_drops_the_old_rows_and_tail(azure_hub: AzureHub) -> None:
    store = await azure_hub.store()
    work = await created_and_fetched(store)
    await store.complete_orchestration(episode(work, ['{"old":1}']))  # waits: written to History
    act = [ActivityTask("i1", "e1", 0, "Act", None)]
    await store.complete_orchestration(
        EpisodeResult(record(status=RuntimeStatus.RUNNING), ['{"old":2}'], [], activities=act)
    )
    assert len(await azure_hub.rows("History", "i1")) == 1
    await store.complete_orchestration(
        EpisodeResult(
            record(status=RuntimeStatus.RUNNING), ['{"new":1}'], [], reset_history=True, activities=act
        )
    )
    assert await store.get_history("i1") == ['{"new":1}']
    assert await azure_hub.rows("History", "i1") == []
    assert await (await azure_hub.store()).get_history("i1") == ['{"new":1}']


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
