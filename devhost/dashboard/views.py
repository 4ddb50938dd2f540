"""What the dashboard shows of one instance, computed from its stored history and instance row.

`task_bars` turns the history into one bar per task (activity, timer, sub-orchestration) from the
moment it was scheduled to the moment its result arrived, plus a point per raised event; `status_changes`
reads the custom-status values the engine noted at each episode commit (the ledger's status log).
"""

from __future__ import annotations

import json
from typing import Any

from .. import history as h
from ..history import EventType
from ..store import InstanceRecord

_STARTS = {
    EventType.TASK_SCHEDULED: "activity",
    EventType.SUB_ORCHESTRATION_CREATED: "sub-orchestration",
    EventType.TIMER_CREATED: "timer",
}
_ENDS = {
    EventType.TASK_COMPLETED: "completed",
    EventType.TASK_FAILED: "failed",
    EventType.SUB_ORCHESTRATION_COMPLETED: "completed",
    EventType.SUB_ORCHESTRATION_FAILED: "failed",
    EventType.TIMER_FIRED: "fired",
}


def _offset_ms(start: str, moment: str) -> int:
    return round((h.parse_time(moment) - h.parse_time(start)).total_seconds() * 1000)


def task_bars(history: list[str], started: str, *, ended: bool = False) -> list[dict[str, Any]]:
    """One entry per task in scheduling order: kind, name, start/end offsets (ms from `started`), outcome.
    A task without a result has `end` None and outcome "running" ("unfinished" once the instance has
    ended); an event is an entry of kind "event" with start == end."""
    bars: dict[tuple[str, int], dict[str, Any]] = {}
    order: list[dict[str, Any]] = []
    for text in history:
        e = json.loads(text)
        kind = EventType(e["EventType"]) if e["EventType"] in EventType._value2member_map_ else None
        if kind in _STARTS:
            bar = {
                "kind": _STARTS[kind],
                "taskId": e["EventId"],
                "name": e.get("Name") or ("timer" if kind is EventType.TIMER_CREATED else ""),
                "scheduled": e["Timestamp"],
                "start": _offset_ms(started, e["Timestamp"]),
                "end": None,
                "outcome": "running",
            }
            if kind is EventType.SUB_ORCHESTRATION_CREATED:
                bar["instanceId"] = e.get("InstanceId")
            if kind is EventType.TIMER_CREATED:
                bar["fireAt"] = e.get("FireAt")
            family = "timer" if kind is EventType.TIMER_CREATED else "task"
            bars[(family, e["EventId"])] = bar
            order.append(bar)
        elif kind in _ENDS:
            family = "timer" if kind is EventType.TIMER_FIRED else "task"
            key = e.get("TimerId") if family == "timer" else e.get("TaskScheduledId")
            found = bars.get((family, key))
            if found is not None:
                found["end"] = _offset_ms(started, e["Timestamp"])
                found["outcome"] = _ENDS[kind]
        elif kind is EventType.EVENT_RAISED:
            at = _offset_ms(started, e["Timestamp"])
            order.append(
                {"kind": "event", "name": e.get("Name", ""), "start": at, "end": at, "outcome": "raised"}
            )
    if ended:
        for bar in order:
            if bar["outcome"] == "running":
                bar["outcome"] = "unfinished"
    return order


def status_changes(record: InstanceRecord) -> dict[str, Any]:
    """Every value the custom status took in the current execution, with when (and the offset from the
    instance's creation), oldest first; `dropped` counts older values no longer kept."""
    changes = []
    for entry in record.ledger.get("cs", []):
        when, text = entry[0], entry[1]
        change: dict[str, Any] = {"time": when, "offsetMs": _offset_ms(record.created_time, when)}
        if len(entry) > 2:
            change["text"] = text
            change["length"] = entry[2]
        else:
            change["value"] = None if text is None else json.loads(text)
        changes.append(change)
    return {"changes": changes, "dropped": int(record.ledger.get("csd", 0))}
