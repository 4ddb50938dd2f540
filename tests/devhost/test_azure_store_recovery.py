"""The azure store on Azurite after a crash or a lost answer: a process that dies before or after the
commit point, a result delivered twice, work another process wrote, a row changed elsewhere, a write
whose answer never came.

The promises every store keeps are in test_store_contract.py.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from azure.core.exceptions import ServiceRequestError

from devhost.errors import StoreError
from devhost.history import EventType, event
from devhost.store import (
    ActivityTask,
    EpisodeResult,
    Message,
    RuntimeStatus,
)

from .azure_hub import AzureHub
from .store_items import (
    NOW,
    activity_result,
    azure_only,
    created_and_fetched,
    episode,
    power_cut,
    record,
    started,
)


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
