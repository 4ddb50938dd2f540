"""The `historyEvents` of the status API: stored history events reshaped as the extension shows them.

Imitates azure-functions-durable-extension, src/WebJobs.Extensions.DurableTask/ContextImplementations/
DurableClient.cs, `GetDurableOrchestrationStatusAsync`: it edits each stored event in place rather than
building a new one, so every field the store keeps is shown unless that method removes it. The rules are
written down in docs/protocol.md, "The history view".
"""

from __future__ import annotations

import json
import re
from typing import Any

from .. import history as h

EventType = h.EventType

# DurableTask.Core OrchestrationStatus, as ExecutionCompleted stores it (same numbers as runtimeStatus).
_ORCHESTRATION_STATUS = (
    "Running",
    "Completed",
    "ContinuedAsNew",
    "Failed",
    "Canceled",
    "Terminated",
    "Pending",
    "Suspended",
)
_NAMES = {
    EventType.SUB_ORCHESTRATION_CREATED: "SubOrchestrationInstanceCreated",
    EventType.SUB_ORCHESTRATION_COMPLETED: "SubOrchestrationInstanceCompleted",
    EventType.SUB_ORCHESTRATION_FAILED: "SubOrchestrationInstanceFailed",
}
_SCHEDULING = {EventType.TASK_SCHEDULED, EventType.SUB_ORCHESTRATION_CREATED}
_ANSWERS = {
    EventType.TASK_COMPLETED: EventType.TASK_SCHEDULED,
    EventType.TASK_FAILED: EventType.TASK_SCHEDULED,
    EventType.SUB_ORCHESTRATION_COMPLETED: EventType.SUB_ORCHESTRATION_CREATED,
    EventType.SUB_ORCHESTRATION_FAILED: EventType.SUB_ORCHESTRATION_CREATED,
}
_WITH_RESULT = {
    EventType.TASK_COMPLETED,
    EventType.SUB_ORCHESTRATION_COMPLETED,
    EventType.EXECUTION_COMPLETED,
}
_EPISODE_MARKERS = {EventType.ORCHESTRATOR_STARTED, EventType.ORCHESTRATOR_COMPLETED}
_DATE_FIELDS = ("Timestamp", "ScheduledTime", "FireAt", "ScheduledStartTime")
_FRACTION = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{1,7})Z$")


def event_name(kind: EventType) -> str:
    """DurableTask.Core's name of an event type (EXECUTION_STARTED -> ExecutionStarted)."""
    return _NAMES.get(kind) or "".join(part.capitalize() for part in kind.name.split("_"))


def json_date(text: Any) -> Any:
    """A stored UTC date as Newtonsoft writes a DateTime: fraction digits kept, trailing zeros dropped."""
    if not isinstance(text, str):
        return text
    match = _FRACTION.match(text)
    if match is None:
        return text
    fraction = match.group(2).rstrip("0")
    return f"{match.group(1)}.{fraction}Z" if fraction else f"{match.group(1)}Z"


def parse_to_token(text: Any) -> Any:
    """Stored JSON text as the status API shows it: trimmed, parsed when JSON, else the raw text.

    DurableClient.cs, `ParseToJToken`.
    """
    if not isinstance(text, str):
        return text
    text = text.strip()
    if not text:
        return ""
    try:
        return json.loads(text)
    except ValueError:
        return text


def history_view(texts: list[str], show_input: bool, show_output: bool) -> list[dict[str, Any]]:
    """The history of one execution as `GET instances/{id}?showHistory=true` shows it."""
    events: list[dict[str, Any]] = [json.loads(text) for text in texts]
    scheduled: dict[tuple[EventType, Any], int] = {}
    removed: set[int] = set()
    for index, event in enumerate(events):
        try:
            kind = EventType(event.get("EventType", -1))
        except ValueError:
            continue  # a type the extension cannot name is left exactly as stored
        event["EventType"] = event_name(kind)
        if kind is EventType.GENERIC_EVENT:
            # The provider reads each row back as the class its EventType names, so a rewound row
            # shows only what a GenericEvent has (AzureTableTrackingStore.cs, GetHistoryEventsAsync).
            events[index] = event = {
                "EventType": event["EventType"],
                "Timestamp": event.get("Timestamp"),
                "Data": event.get("Data"),
            }
        elif kind in _SCHEDULING:
            scheduled[(kind, event.get("EventId"))] = index
            event.pop("Version", None)
            event.pop("Reason", None)  # a rewind's mark: SubOrchestrationInstanceCreated has no Reason
        elif kind in _ANSWERS:
            source_index = scheduled.get((_ANSWERS[kind], event.get("TaskScheduledId")))
            if source_index is not None:
                source = events[source_index]
                event["ScheduledTime"] = source.get("Timestamp")
                event["FunctionName"] = source.get("Name")
                if show_input:
                    event["Input"] = source.get("Input")
                removed.add(source_index)
            event.pop("TaskScheduledId", None)
        elif kind is EventType.EXECUTION_STARTED:
            event["FunctionName"] = event.pop("Name", None)
            for key in ("OrchestrationInstance", "ParentInstance", "Version", "Tags"):
                event.pop(key, None)
        elif kind is EventType.EXECUTION_COMPLETED:
            status = event.get("OrchestrationStatus")
            if isinstance(status, int) and 0 <= status < len(_ORCHESTRATION_STATUS):
                event["OrchestrationStatus"] = _ORCHESTRATION_STATUS[status]
        elif kind is EventType.TIMER_FIRED:
            event.pop("TimerId", None)
        elif kind in _EPISODE_MARKERS:
            removed.add(index)
        if kind in _WITH_RESULT:
            if show_output:
                event["Result"] = parse_to_token(event.get("Result"))
            else:
                event.pop("Result", None)
        if not show_input:
            event.pop("Input", None)
        event.pop("EventId", None)
        event.pop("IsPlayed", None)
        for key in _DATE_FIELDS:
            if key in event:
                event[key] = json_date(event[key])
    return [event for index, event in enumerate(events) if index not in removed]
