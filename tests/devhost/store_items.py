"""Instances, messages and episodes for the store tests (the contract's and the azure store's own)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from devhost.history import EventType, event, format_time
from devhost.store import EpisodeResult, InstanceRecord, Message, RuntimeStatus, Store, WorkItem

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def record(
    instance_id: str = "i1", status: RuntimeStatus = RuntimeStatus.PENDING, created: datetime = NOW
) -> InstanceRecord:
    stamp = format_time(created)
    return InstanceRecord(instance_id, "Orch", "e1", status, stamp, stamp, input='{"a":1}')


def started(instance_id: str = "i1") -> Message:
    return Message(instance_id, event(EventType.EXECUTION_STARTED, NOW, Name="Orch"), execution_id="e1")


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


# Tests that need Azurite: they run where the azure store does (tests/conftest.py decides).
azure_only = pytest.mark.azurite
