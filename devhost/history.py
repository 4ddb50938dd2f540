"""History events in the exact JSON shape the Durable extension hands the Python SDK.

PascalCase keys, integer `EventType`s, `EventId` = task id for scheduling events and -1 otherwise,
ISO-8601 UTC timestamps. See docs/protocol.md, "History events".
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from enum import IntEnum
from typing import Any

from .json_text import dumps as dumps  # re-exported: the engine writes history values with h.dumps


class EventType(IntEnum):
    EXECUTION_STARTED = 0
    EXECUTION_COMPLETED = 1
    EXECUTION_TERMINATED = 3
    TASK_SCHEDULED = 4
    TASK_COMPLETED = 5
    TASK_FAILED = 6
    SUB_ORCHESTRATION_CREATED = 7
    SUB_ORCHESTRATION_COMPLETED = 8
    SUB_ORCHESTRATION_FAILED = 9
    TIMER_CREATED = 10
    TIMER_FIRED = 11
    ORCHESTRATOR_STARTED = 12
    ORCHESTRATOR_COMPLETED = 13
    EVENT_SENT = 14
    EVENT_RAISED = 15
    CONTINUE_AS_NEW = 16
    GENERIC_EVENT = 17
    EXECUTION_SUSPENDED = 19
    EXECUTION_RESUMED = 20


_last_second: tuple[tuple[int, int, int, int], str] = ((0, 0, 0, 0), "")  # the last second, its text


def format_time(moment: datetime) -> str:
    """The timestamp format devhost writes: UTC, microseconds, trailing Z (sorts as text)."""
    global _last_second
    if moment.tzinfo is not timezone.utc:
        moment = moment.astimezone(timezone.utc)
    # Most timestamps fall in the same second as the one before: its YYYY-MM-DDTHH:MM:SS is kept
    # (one tuple, replaced whole, so threads never see half of it), a third of isoformat's cost.
    second = (moment.toordinal(), moment.hour, moment.minute, moment.second)
    seen, text = _last_second
    if seen != second:
        text = moment.isoformat(timespec="seconds")[:19]
        _last_second = (second, text)
    return f"{text}.{moment.microsecond:06d}Z"


def parse_time(text: str) -> datetime:
    """Parse a timestamp written by `format_time`, or any ISO-8601 text (`Z` or an offset; without
    either, the result is naive, for the caller to place in a zone)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def status_time(text: str | None) -> str | None:
    """Status API times: whole seconds with Z, as the extension prints them."""
    if text is None:
        return None
    return text[:19] + "Z"


def event(kind: EventType, at: datetime, event_id: int = -1, **fields: Any) -> dict[str, Any]:
    """One history event; IsPlayed is set when the replay payload is built."""
    fields.update(EventType=int(kind), EventId=event_id, IsPlayed=True, Timestamp=format_time(at))
    return fields


def execution_started(
    at: datetime,
    instance_id: str,
    execution_id: str,
    name: str,
    input_json: str | None,
    parent: dict[str, Any] | None,
    generation: int | None = None,
    version: str = "",
) -> dict[str, Any]:
    """`generation`: 0 for an instance a client creates; None (what DTFx leaves) for the start of a
    continue-as-new or a sub-orchestration. The Azure Storage provider numbers only the starts a
    client sends (DurableTask.AzureStorage AzureStorageOrchestrationService.cs,
    CreateTaskOrchestrationAsync); the dispatcher builds the others without it
    (DurableTask.Core TaskOrchestrationDispatcher.cs)."""
    parent_instance = None
    if parent:
        parent_instance = {
            "Name": parent["name"],
            "Version": "",
            "OrchestrationInstance": {
                "InstanceId": parent["instanceId"],
                "ExecutionId": parent["executionId"],
            },
            "TaskScheduleId": parent["taskScheduledId"],
        }
    return event(
        EventType.EXECUTION_STARTED,
        at,
        OrchestrationInstance={"InstanceId": instance_id, "ExecutionId": execution_id},
        ParentInstance=parent_instance,
        Name=name,
        Version=version,
        Input=input_json,
        Tags=None,
        Correlation=None,
        ParentTraceContext=None,
        ScheduledStartTime=None,
        Generation=generation,
    )


def reserialize(json_text: str | None) -> str | None:
    """JSON text from the SDK (Python spacing) re-written compactly, as the host stores it."""
    if json_text is None:
        return None
    try:
        return dumps(json.loads(json_text))
    except ValueError:
        return json_text
