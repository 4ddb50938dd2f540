"""The actions the Python SDK's `handle()` returns, by type, and how devhost names them.

The SDK numbers action types in `azure/durable_functions/models/actions/ActionType.py`; the
extension's out-of-process shim reads the same numbers (azure-functions-durable-extension,
src/WebJobs.Extensions.DurableTask/Listener/OutOfProcOrchestrationShim.cs, `AsyncActionType`).
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from ..history import EventType

HTTP_ACTIVITY = "BuiltIn::HttpActivity"


class ActionType(IntEnum):
    CALL_ACTIVITY = 0
    CALL_ACTIVITY_WITH_RETRY = 1
    CALL_SUB_ORCHESTRATOR = 2
    CALL_SUB_ORCHESTRATOR_WITH_RETRY = 3
    CONTINUE_AS_NEW = 4
    CREATE_TIMER = 5
    WAIT_FOR_EXTERNAL_EVENT = 6
    CALL_ENTITY = 7
    CALL_HTTP = 8
    SIGNAL_ENTITY = 9
    SCHEDULED_SIGNAL_ENTITY = 10  # the extension's; the Python SDK never sends it
    WHEN_ANY = 11
    WHEN_ALL = 12


ACTIVITY_CALLS = (ActionType.CALL_ACTIVITY, ActionType.CALL_ACTIVITY_WITH_RETRY)
SUB_ORCHESTRATIONS = (ActionType.CALL_SUB_ORCHESTRATOR, ActionType.CALL_SUB_ORCHESTRATOR_WITH_RETRY)
ENTITY_MESSAGES = (ActionType.CALL_ENTITY, ActionType.SIGNAL_ENTITY)
# The actions that take a task id (WaitForExternalEvent does not; WhenAny/WhenAll are flattened).
SCHEDULING = frozenset(
    {
        *ACTIVITY_CALLS,
        *SUB_ORCHESTRATIONS,
        *ENTITY_MESSAGES,
        ActionType.CONTINUE_AS_NEW,
        ActionType.CREATE_TIMER,
        ActionType.CALL_HTTP,
    }
)
# The history event each scheduling action records (ContinueAsNew records none).
RECORDED_AS = {
    ActionType.CALL_ACTIVITY: EventType.TASK_SCHEDULED,
    ActionType.CALL_ACTIVITY_WITH_RETRY: EventType.TASK_SCHEDULED,
    ActionType.CALL_HTTP: EventType.TASK_SCHEDULED,
    ActionType.CALL_SUB_ORCHESTRATOR: EventType.SUB_ORCHESTRATION_CREATED,
    ActionType.CALL_SUB_ORCHESTRATOR_WITH_RETRY: EventType.SUB_ORCHESTRATION_CREATED,
    ActionType.CREATE_TIMER: EventType.TIMER_CREATED,
    ActionType.CALL_ENTITY: EventType.EVENT_SENT,
    ActionType.SIGNAL_ENTITY: EventType.EVENT_SENT,
}


def action_type(action: dict[str, Any]) -> ActionType | None:
    """The action's type, or None for a number the SDK does not define."""
    value = action.get("actionType")
    if not isinstance(value, int) or value not in ActionType._value2member_map_:
        return None
    return ActionType(value)


def flatten_actions(actions: list[Any]) -> list[dict[str, Any]]:
    """Actions depth-first, compound ones (WhenAny, WhenAll) replaced by their children."""
    flat: list[dict[str, Any]] = []

    def walk(action: dict[str, Any]) -> None:
        if action.get("actionType") in (ActionType.WHEN_ANY, ActionType.WHEN_ALL):
            for child in action.get("compoundActions") or []:
                walk(child)
        else:
            flat.append(action)

    for group in actions or []:
        for action in group if isinstance(group, list) else [group]:
            walk(action)
    return flat


def describe_action(action: dict[str, Any]) -> str:
    kind = action_type(action)
    if kind in ACTIVITY_CALLS:
        return f"activity '{action.get('functionName')}'"
    if kind in SUB_ORCHESTRATIONS:
        return f"sub-orchestration '{action.get('functionName')}'"
    if kind in ENTITY_MESSAGES:
        verb = "a call to" if kind == ActionType.CALL_ENTITY else "a signal to"
        return f"{verb} entity '{action.get('instanceId')}'"
    named = {
        ActionType.CREATE_TIMER: "a timer",
        ActionType.WAIT_FOR_EXTERNAL_EVENT: "an external event",
        ActionType.CALL_HTTP: "an HTTP call",
    }
    if kind is None or kind not in named:
        return f"action type {action.get('actionType')!r}"
    return named[kind]


def describe_event(event: dict[str, Any] | None) -> str:
    if event is None:
        return "an external event wait"
    kind = event["EventType"]
    if kind == EventType.TIMER_CREATED:
        return "a timer"
    if kind == EventType.EVENT_SENT:
        return f"a message to entity '{event.get('InstanceId')}'"
    if event.get("Name") == HTTP_ACTIVITY:
        return "an HTTP call"
    what = "activity" if kind == EventType.TASK_SCHEDULED else "sub-orchestration"
    return f"{what} '{event.get('Name')}'"
