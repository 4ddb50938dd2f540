"""Results the history already holds: dropped when a work item is read.

Applying an outbox twice (after a crash) can re-create a row that was meanwhile consumed, and a crash
can make an activity run twice. A task, sub-orchestration or timer has one result per execution, and an
execution one start, so such a message is recognised by what it answers and dropped as the duplicate
it is.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..history import EventType
from .base import Message

_REQUEST_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
RESULT_TYPES = {
    int(EventType.TASK_COMPLETED),
    int(EventType.TASK_FAILED),
    int(EventType.SUB_ORCHESTRATION_COMPLETED),
    int(EventType.SUB_ORCHESTRATION_FAILED),
}


def identities(history: list[str]) -> set[tuple[str, Any]]:
    seen: set[tuple[str, Any]] = set()
    for text in history:
        try:
            event = json.loads(text)
        except ValueError:
            continue
        if isinstance(event, dict):
            seen.update(identity(event))
    return seen


def without_duplicates(
    history: set[tuple[str, Any]], messages: list[Message], execution_id: str
) -> tuple[list[Message], list[Message]]:
    """Split messages into those to deliver and duplicates of what the history already holds.

    Duplicates only arise from recovery (an outbox applied twice, an activity run twice): a task,
    sub-orchestration or timer has one result per execution, and an execution one start.
    """
    seen = set(history)
    keep: list[Message] = []
    duplicates: list[Message] = []
    for m in messages:
        if m.execution_id != execution_id:
            keep.append(m)  # another execution's: the engine drops it as stale
            continue
        ident = identity(m.event)
        if ident and ident[0] in seen:
            duplicates.append(m)
        else:
            seen.update(ident)
            keep.append(m)
    return keep, duplicates


def identity(event: dict[str, Any]) -> list[tuple[str, Any]]:
    kind = event.get("EventType")
    if kind in RESULT_TYPES:
        return [("task", event.get("TaskScheduledId"))]
    if kind == EventType.TIMER_FIRED:
        return [("timer", event.get("TimerId"))]
    if kind == EventType.EXECUTION_STARTED:
        return [("start", None)]
    if kind == EventType.EVENT_RAISED and _REQUEST_ID.fullmatch(str(event.get("Name"))):
        # An entity's answer to a call, named after the call's request id: one per call.
        return [("answer", event.get("Name"))]
    return []
