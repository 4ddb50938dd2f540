"""The entity part of the store contract (devhost.store.entity_records.EntityStore), on every store."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from devhost.history import EventType, event, format_time
from devhost.store import EpisodeResult, Message, RuntimeStatus, Store, open_store
from devhost.store.entity_records import (
    EntityBatchResult,
    EntityQuery,
    EntityRecord,
    EntityRequest,
    scheduler_id,
    split_scheduler_id,
)

from .azure_hub import AzureHub
from .store_items import NOW, azure_only, power_cut, record, started

E1 = "@counter@one"


def request(n: int, *, signal: bool = True, parent: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"op": "add", "input": json.dumps(str(n)), "id": f"req-{n}"}
    if signal:
        body["signal"] = True
    if parent:
        body["parent"], body["parentExecution"] = parent, "e1"
    return body


async def queue(store: Any, entity_id: str, *numbers: int) -> None:
    for n in numbers:
        await store.send_entity_request(EntityRequest(entity_id, request(n)))


def test_scheduler_ids_lower_case_the_name_and_keep_the_key() -> None:
    assert scheduler_id("Counter", "Key/1") == "@counter@Key/1"
    assert split_scheduler_id("@counter@a@b") == ("counter", "a@b")
    assert split_scheduler_id("@counter@") == ("counter", "")


async def test_requests_come_in_arrival_order_for_a_new_entity(store: Store) -> None:
    s: Any = store
    await queue(s, E1, 1, 2, 3)
    await queue(s, "@counter@two", 9)
    assert sorted(await s.ready_entities(NOW, 10, set())) == ["@counter@one", "@counter@two"]
    assert await s.ready_entities(NOW, 10, {"@counter@one"}) == ["@counter@two"]
    batch = await s.fetch_entity_batch(E1, NOW, 100)
    assert batch is not None
    assert batch.entity == EntityRecord(E1)  # never reached: does not exist, no state
    assert [r.request["id"] for r in batch.requests] == ["req-1", "req-2", "req-3"]
    limited = await s.fetch_entity_batch(E1, NOW, 2)
    assert [r.request["id"] for r in limited.requests] == ["req-1", "req-2"]
    assert await s.get_entity(E1) is None


async def test_a_request_due_later_waits(store: Store) -> None:
    s: Any = store
    later = NOW + timedelta(minutes=5)
    await s.send_entity_request(EntityRequest(E1, request(1), visible_at=later))
    assert await s.ready_entities(NOW, 10, set()) == []
    assert await s.fetch_entity_batch(E1, NOW, 10) is None
    assert await s.next_due(NOW) == later
    assert await s.ready_entities(later, 10, set()) == [E1]


async def test_a_batch_commits_state_consumes_and_queues_responses_and_signals(store: Store) -> None:
    s: Any = store
    await store.create_instance(record(), started())
    await s.send_entity_request(EntityRequest(E1, request(1, signal=False, parent="i1")))
    await queue(s, E1, 2)
    batch = await s.fetch_entity_batch(E1, NOW, 10)
    answer = Message("i1", event(EventType.EVENT_RAISED, NOW, Name="req-1", Input='{"result":"1"}'), "e1")
    onward = EntityRequest("@other@x", {"op": "ping", "signal": True, "id": "s-1"})
    stamp = format_time(NOW)
    await s.complete_entity_batch(
        EntityBatchResult(
            EntityRecord(E1, True, "3", stamp), [r.id for r in batch.requests], [answer], [onward]
        )
    )
    assert await s.get_entity(E1) == EntityRecord(E1, True, "3", stamp)
    assert await s.fetch_entity_batch(E1, NOW, 10) is None
    work = await store.fetch_work_item("i1", NOW)
    assert work is not None
    assert [m.event.get("Name") for m in work.messages] == ["Orch", "req-1"]
    other = await s.fetch_entity_batch("@other@x", NOW, 10)
    assert [r.request["op"] for r in other.requests] == ["ping"]


async def test_an_uncommitted_batch_is_fetched_again_and_a_committed_one_never_applies_twice(
    store: Store,
) -> None:
    s: Any = store
    await queue(s, E1, 1, 2)
    first = await s.fetch_entity_batch(E1, NOW, 10)
    again = await s.fetch_entity_batch(E1, NOW, 10)  # the first run crashed before its commit
    assert [r.id for r in again.requests] == [r.id for r in first.requests]
    done = EntityBatchResult(EntityRecord(E1, True, "3", format_time(NOW)), [r.id for r in again.requests])
    await s.complete_entity_batch(done)
    await queue(s, E1, 4)
    stale = EntityBatchResult(EntityRecord(E1, True, "999", format_time(NOW)), [r.id for r in first.requests])
    await s.complete_entity_batch(stale)  # the same batch committed a second time changes nothing
    assert (await s.get_entity(E1)).state == "3"
    left = await s.fetch_entity_batch(E1, NOW, 10)
    assert [r.request["id"] for r in left.requests] == ["req-4"]


async def test_an_episode_queues_its_entity_requests_in_its_own_commit(store: Store) -> None:
    s: Any = store
    await store.create_instance(record(), started())
    work = await store.fetch_work_item("i1", NOW)
    calls = [EntityRequest(E1, request(1, signal=False, parent="i1")), EntityRequest(E1, request(2))]
    await store.complete_orchestration(
        EpisodeResult(
            record(status=RuntimeStatus.RUNNING),
            ['{"n":1}'],
            [m.id for m in work.messages],
            entity_requests=calls,
        )
    )
    batch = await s.fetch_entity_batch(E1, NOW, 10)
    assert [r.request for r in batch.requests] == [c.request for c in calls]


async def test_entities_are_listed_by_name_existence_time_and_page(store: Store) -> None:
    s: Any = store
    for key, exists, minutes in [("a", True, 0), ("b", False, 1), ("c", True, 2), ("d", True, 3)]:
        entity_id = scheduler_id("Counter", key)
        await queue(s, entity_id, 1)
        batch = await s.fetch_entity_batch(entity_id, NOW, 10)
        stamp = format_time(NOW + timedelta(minutes=minutes))
        state = "1" if exists else None
        await s.complete_entity_batch(
            EntityBatchResult(EntityRecord(entity_id, exists, state, stamp), [r.id for r in batch.requests])
        )
    await queue(s, "@other@z", 1)
    batch = await s.fetch_entity_batch("@other@z", NOW, 10)
    other = EntityRecord("@other@z", True, "0", format_time(NOW))
    await s.complete_entity_batch(EntityBatchResult(other, [r.id for r in batch.requests]))
    page, token = await s.query_entities(EntityQuery(name="COUNTER"), 2, None)
    assert [e.key for e in page] == ["a", "c"] and token is not None
    page, token = await s.query_entities(EntityQuery(name="counter"), 2, token)
    assert [e.key for e in page] == ["d"] and token is None
    everything, _ = await s.query_entities(EntityQuery(), 10, None)
    assert [e.entity_id for e in everything] == ["@counter@a", "@counter@c", "@counter@d", "@other@z"]
    deleted_too, _ = await s.query_entities(EntityQuery(name="counter", include_deleted=True), 10, None)
    assert [e.key for e in deleted_too] == ["a", "b", "c", "d"]
    ranged, _ = await s.query_entities(
        EntityQuery(
            name="counter",
            last_operation_from=format_time(NOW + timedelta(minutes=1)),
            last_operation_to=format_time(NOW + timedelta(minutes=2)),
        ),
        10,
        None,
    )
    assert [e.key for e in ranged] == ["c"]


async def test_sqlite_entity_state_and_requests_survive_reopening(tmp_path: Path) -> None:
    url = f"sqlite:{tmp_path / 'hub.db'}"
    first: Any = open_store(url)
    await first.open()
    await queue(first, E1, 1, 2)
    batch = await first.fetch_entity_batch(E1, NOW, 1)
    await first.complete_entity_batch(
        EntityBatchResult(EntityRecord(E1, True, "1", format_time(NOW)), [r.id for r in batch.requests])
    )
    await first.close()
    second: Any = open_store(url)
    await second.open()
    try:
        assert (await second.get_entity(E1)).state == "1"
        left = await second.fetch_entity_batch(E1, NOW, 10)
        assert [r.request["id"] for r in left.requests] == ["req-2"]
    finally:
        await second.close()


@azure_only
async def test_azure_a_batch_cut_after_its_commit_is_finished_on_reopening_and_applies_once(
    azure_hub: AzureHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    first: Any = await azure_hub.store()
    await first.create_instance(record(), started())
    await first.send_entity_request(EntityRequest(E1, request(1, signal=False, parent="i1")))
    batch = await first.fetch_entity_batch(E1, NOW, 10)
    answer = Message("i1", event(EventType.EVENT_RAISED, NOW, Name="req-1", Input='{"result":"1"}'), "e1")
    onward = EntityRequest("@other@x", {"op": "ping", "signal": True, "id": "s-1"})
    monkeypatch.setattr(first, "_settle_entity", power_cut)
    with pytest.raises(RuntimeError):
        await first.complete_entity_batch(
            EntityBatchResult(
                EntityRecord(E1, True, "1", format_time(NOW)), [batch.requests[0].id], [answer], [onward]
            )
        )
    # Committed: the state and the consumed request; the answer and the signal wait in the outbox.
    assert (await first.get_entity(E1)).state == "1"
    assert await first.fetch_entity_batch("@other@x", NOW, 10) is None

    second: Any = await azure_hub.store()  # devhost starting again on the same hub
    other = await second.fetch_entity_batch("@other@x", NOW, 10)
    assert [r.request["id"] for r in other.requests] == ["s-1"]
    work = await second.fetch_work_item("i1", NOW)
    assert [m.event.get("Name") for m in work.messages] == ["Orch", "req-1"]

    # The outbox applied a second time (a crash before it was cleared) delivers the request again
    # after the entity consumed it: the entity drops it, having applied it already.
    await second.complete_entity_batch(
        EntityBatchResult(
            EntityRecord("@other@x", True, "0", format_time(NOW)), [r.id for r in other.requests]
        )
    )
    await second._upsert_requests([{**row} for row in await _rows_like(second, onward)])
    assert await second.fetch_entity_batch("@other@x", NOW, 10) is None
    assert await second.ready_entities(NOW, 10, set()) == []


async def _rows_like(store: Any, request: EntityRequest) -> list[dict[str, Any]]:
    """A request row for `request` as an outbox holds it (a new row key, the same request id)."""
    return [await store._request_row(request)]


@azure_only
async def test_azure_an_answer_delivered_again_after_the_history_took_it_is_dropped(
    azure_hub: AzureHub,
) -> None:
    store: Any = await azure_hub.store()
    await store.create_instance(record(), started())
    work = await store.fetch_work_item("i1", NOW)
    request_id = "0c079ab7-a54a-4812-bf02-5da372bc62e1"
    answer = event(EventType.EVENT_RAISED, NOW, Name=request_id, Input='{"result":"4"}')
    await store.complete_orchestration(
        EpisodeResult(
            record(status=RuntimeStatus.RUNNING), [json.dumps(answer)], [m.id for m in work.messages]
        )
    )
    await store.send_message(Message("i1", answer, "e1"))  # an outbox applied a second time
    external = event(EventType.EVENT_RAISED, NOW, Name="Go", Input="1")
    await store.send_message(Message("i1", external, "e1"))
    work = await store.fetch_work_item("i1", NOW)
    assert [m.event["Name"] for m in work.messages] == ["Go"]
