"""Rewind: a failed execution's history made to run its failed work again.

Imitates DurableTask.AzureStorage's rewind (durabletask, src/DurableTask.AzureStorage/Tracking/
AzureTableTrackingStore.cs, `RewindHistoryAsync`), which the Durable extension's rewind API calls
(azure-functions-durable-extension, src/WebJobs.Extensions.DurableTask/ContextImplementations/
DurableClient.cs, `RewindAsync`). In the current execution's history:

- each `TaskFailed` and the `TaskScheduled` it answers become `GenericEvent`s whose `Reason` says
  "Rewound: <old type>": on replay the orchestrator asks for that activity again, as a new task;
- each `SubOrchestrationInstanceFailed` becomes a `GenericEvent`; its `SubOrchestrationInstanceCreated`
  stays (marked with a `Reason`), and the child instance is rewound in turn;
- the failed `ExecutionCompleted` becomes a `GenericEvent`.

Replay ignores generic events, so the instance continues from where it failed. As in the extension,
only failed work runs again: a result that came after the instance had failed was dropped, as for
any finished instance, and is not asked for again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .. import history as h
from ..history import EventType
from ..json_text import dumps_ascii
from .ledger import Ledger

_FAILED = 3


def rewind_event(at: Any, reason: str | None) -> dict[str, Any]:
    """The message that asks an instance to rewind: a GenericEvent with the reason as its `Data`, the
    message DurableTask.AzureStorage sends to wake a rewound instance (`RewindTaskOrchestrationAsync`
    in src/DurableTask.AzureStorage/AzureStorageOrchestrationService.cs)."""
    return h.event(EventType.GENERIC_EVENT, at, Data=reason or "")


def is_rewind(message_event: dict[str, Any]) -> bool:
    """Whether a queued message is a rewind request (devhost queues no other GenericEvent)."""
    return message_event.get("EventType") == EventType.GENERIC_EVENT


@dataclass(slots=True)
class RewindPlan:
    """What rewinding one failed execution changes."""

    history: list[str]
    activities: set[int] = field(default_factory=set)  # run again when the replay asks for them
    children: list[str] = field(default_factory=list)  # failed sub-orchestrations to rewind


_NAMES = {
    EventType.TASK_SCHEDULED: "TaskScheduled",
    EventType.TASK_FAILED: "TaskFailed",
    EventType.SUB_ORCHESTRATION_FAILED: "SubOrchestrationInstanceFailed",
    EventType.EXECUTION_COMPLETED: "ExecutionCompleted",
}


def _rewound(event: dict[str, Any]) -> str:
    """The event as a GenericEvent that keeps its fields (replay skips it, the history shows it)."""
    old = _NAMES[EventType(event["EventType"])]
    marked = {**event, "EventType": int(EventType.GENERIC_EVENT), "Reason": f"Rewound: {old}"}
    return dumps_ascii(marked)


def failed_execution(history: list[str]) -> bool:
    """Whether the history ends its execution as Failed (what a rewind needs)."""
    for text in reversed(history):
        event = json.loads(text)
        if event["EventType"] == EventType.EXECUTION_COMPLETED:
            return event.get("OrchestrationStatus") == _FAILED
    return False


def retried_failures(history: list[str], ledger: Ledger) -> list[int]:
    """Failed tasks that ran with retry options: devhost does not rewind those (see docs/devhost.md)."""
    failed = [json.loads(t) for t in history]
    kinds = (EventType.TASK_FAILED, EventType.SUB_ORCHESTRATION_FAILED)
    return sorted(
        e["TaskScheduledId"]
        for e in failed
        if e["EventType"] in kinds and e["TaskScheduledId"] in ledger.retried
    )


def plan_rewind(history: list[str], ledger: Ledger) -> RewindPlan:
    """The rewound history and what must run again; `ledger` is updated in place."""
    events = [json.loads(t) for t in history]
    failed_tasks = {e["TaskScheduledId"] for e in events if e["EventType"] == EventType.TASK_FAILED}
    failed_subs = {
        e["TaskScheduledId"] for e in events if e["EventType"] == EventType.SUB_ORCHESTRATION_FAILED
    }
    plan = RewindPlan(history=[])
    for text, e in zip(history, events, strict=True):
        kind = e["EventType"]
        task_id = e.get("EventId")
        failure = kind in (EventType.TASK_FAILED, EventType.SUB_ORCHESTRATION_FAILED)
        if failure or (kind == EventType.EXECUTION_COMPLETED and e.get("OrchestrationStatus") == _FAILED):
            text = _rewound(e)
        elif kind == EventType.TASK_SCHEDULED and task_id in failed_tasks:
            text = _rewound(e)
            plan.activities.add(task_id)
        elif kind == EventType.SUB_ORCHESTRATION_CREATED and task_id in failed_subs:
            marked = {**e, "Reason": "Rewound: SubOrchestrationInstanceCreated"}
            text = dumps_ascii(marked)
            plan.children.append(e["InstanceId"])
            ledger.open[task_id] = "sub"
        plan.history.append(text)
    ledger.rewound |= plan.activities
    return plan
