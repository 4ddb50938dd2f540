"""The azure store's own promises on Azurite: its names, Azure Storage's limits, odd keys, and which
requests it sends and where its rows go.

The promises every store keeps are in test_store_contract.py, recovery after a crash or a lost answer
in test_azure_store_recovery.py, the Table client and the index in test_azure_store.py.
"""

from __future__ import annotations

import json

import pytest
from azure.data.tables.aio import TableServiceClient
from azure.storage.blob.aio import BlobServiceClient
from azure.storage.queue.aio import QueueServiceClient

from devhost.history import EventType, event
from devhost.store import (
    ActivityTask,
    EpisodeResult,
    InstanceQuery,
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
