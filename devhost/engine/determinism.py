"""The replay check: does a replayed action match what its position recorded?

As the Durable Task Framework does on every replay (it fails the instance with a non-determinism
error), devhost matches each action the SDK returns for an already recorded position against the
history event recorded for that task id: its type, its name, and for entities its target.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from .actions import (
    ENTITY_MESSAGES,
    HTTP_ACTIVITY,
    RECORDED_AS,
    ActionType,
    action_type,
    describe_action,
    describe_event,
)

# How a stored scheduling event's JSON text says its type. Inside JSON strings every quote is escaped,
# so these can only match the event's own EventType key: only those events need parsing.
_RECORDED_MARKERS = tuple(f'"EventType":{int(kind)},' for kind in set(RECORDED_AS.values()))
_RECORDED_TYPES = frozenset(RECORDED_AS.values())


@functools.lru_cache(maxsize=16384)
def _parsed(text: str) -> dict[str, Any]:
    """One stored event, parsed once: every episode of an instance checks the same events again."""
    parsed: dict[str, Any] = json.loads(text)
    return parsed


def recorded_tasks(history: list[str]) -> dict[int, dict[str, Any]]:
    """The scheduling events of stored history by task id (shared values: read them, never change them)."""
    events = (_parsed(text) for text in history if any(m in text for m in _RECORDED_MARKERS))
    return {e["EventId"]: e for e in events if e["EventType"] in _RECORDED_TYPES}


def replay_mismatch(action: dict[str, Any], task_id: int, event: dict[str, Any] | None) -> str | None:
    """Why a replayed action does not match what its position recorded, or None if it does."""
    kind = action_type(action)
    if task_id == -1:
        matches, event = kind == ActionType.WAIT_FOR_EXTERNAL_EVENT, None
    elif event is None:
        return None  # ContinueAsNew takes an id but records no event; it is never replayed
    else:
        name = HTTP_ACTIVITY if kind == ActionType.CALL_HTTP else action.get("functionName")
        matches = (
            kind is not None
            and RECORDED_AS.get(kind) == event["EventType"]
            and (name is None or str(event.get("Name", "")).lower() == str(name).lower())
        )
        if kind in ENTITY_MESSAGES:
            matches = matches and event.get("InstanceId") == action.get("instanceId")
    if matches:
        return None
    where = f" as task {task_id}" if task_id != -1 else ""
    return (
        f"Non-deterministic workflow detected: on replay the orchestrator now asks for "
        f"{describe_action(action)}{where}, but the history records {describe_event(event)} there. "
        "Orchestrator code must make the same calls in the same order on every replay."
    )
