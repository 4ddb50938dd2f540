"""Replay check: does the current orchestrator code still reproduce the histories in a store?

Every stored instance's history is replayed through the app's orchestrator as it is now, the way an
episode replays it, and the actions the code asks for are compared, position by position, with what the
history recorded: the kind and name of each task (as the Durable Task Framework's non-determinism check
does), and also each activity's and sub-orchestration's input and each timer's due time; for a finished
instance, also the result. An instance the code no longer reproduces would fail (or silently change)
when it next runs after a deploy.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from . import history as h
from .config import Settings, apply_app_settings
from .engine.actions import (
    ACTIVITY_CALLS,
    ENTITY_MESSAGES,
    SUB_ORCHESTRATIONS,
    ActionType,
    describe_action,
    describe_event,
    flatten_actions,
)
from .engine.determinism import recorded_tasks, replay_mismatch
from .engine.invoker import InProcessInvoker
from .engine.ledger import Ledger
from .engine.sdk_payload import trigger_payload
from .functions import FunctionIndex, Kind
from .history import EventType
from .store import InstanceQuery, InstanceRecord, RuntimeStatus, Store, open_store

_PAGE = 100


@dataclass(frozen=True, slots=True)
class Finding:
    """One instance the current code no longer reproduces: where it diverges and how."""

    instance_id: str
    name: str
    event: str
    recorded: str
    now: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(slots=True)
class Report:
    checked: int
    findings: list[Finding]


async def check_store(settings: Settings, store_url: str, name: str | None = None) -> Report:
    """Replay every instance in `store_url` (only orchestrator `name`, if given) through the app's code."""
    apply_app_settings(settings)
    index = FunctionIndex.load(settings.app_dir)
    store = open_store(store_url, hub_name=settings.hub_name, app_settings=settings.values)
    invoker = InProcessInvoker(index, max_workers=1, inline=True)
    try:
        await store.open()
        report = Report(0, [])
        async for record in _instances(store):
            if name is not None and record.name.lower() != name.lower():
                continue
            if record.runtime_status is RuntimeStatus.PENDING:
                continue  # never ran: nothing recorded to reproduce
            history = await store.get_history(record.instance_id)
            if not history:
                continue
            report.checked += 1
            finding = await _check(index, invoker, record, history)
            if finding is not None:
                report.findings.append(finding)
        return report
    finally:
        await invoker.close()
        await store.close()


async def _instances(store: Store) -> Any:
    after: str | None = None
    while True:
        page, after = await store.query_instances(InstanceQuery(), _PAGE, after)
        for record in page:
            yield record
        if not after:
            return


async def _check(
    index: FunctionIndex, invoker: InProcessInvoker, record: InstanceRecord, history: list[str]
) -> Finding | None:
    def finding(event: str, recorded: str, now: str) -> Finding:
        return Finding(record.instance_id, record.name, event, recorded, now)

    if index.get(record.name, Kind.ORCHESTRATOR) is None:
        return finding("ExecutionStarted", f"orchestrator '{record.name}'", "no such orchestrator in the app")
    reply = await invoker.run_orchestrator(record.name, trigger_payload(record, history, []))
    completed = _completion(history)
    if reply.error is not None:
        if completed is not None and completed.get("OrchestrationStatus") == 3:
            return None  # it failed then and fails now
        return finding("replay", "the recorded events", f"the orchestrator raises: {reply.error}")
    ledger = Ledger.from_json(record.ledger)
    actions = flatten_actions(reply.state.get("actions") or [])
    recorded = recorded_tasks(history)
    for position, task_id in enumerate(ledger.action_ids):
        event = recorded.get(task_id)
        where = _where(position, task_id, event)
        if position >= len(actions):
            return finding(
                where,
                describe_event(event) if task_id != -1 else "an external event wait",
                "nothing: the orchestrator stops asking earlier",
            )
        action = actions[position]
        if replay_mismatch(action, task_id, event) is not None:
            return finding(
                where,
                describe_event(event) if task_id != -1 else "an external event wait",
                describe_action(action),
            )
        changed = _changed_detail(action, event)
        if changed is not None:
            return finding(where, *changed)
    if completed is not None and completed.get("OrchestrationStatus") == 1:
        extra = actions[len(ledger.action_ids) :]
        scheduling = [a for a in extra if a.get("actionType") != ActionType.WAIT_FOR_EXTERNAL_EVENT]
        if scheduling or not reply.state.get("isDone"):
            now = describe_action(scheduling[0]) if scheduling else "waiting for more"
            return finding(_where_completed(completed), "completion", now)
        old, new = _json(completed.get("Result")), reply.state.get("output")
        if old != new:
            return finding(_where_completed(completed), f"result {_show(old)}", f"result {_show(new)}")
    return None


def _completion(history: list[str]) -> dict[str, Any] | None:
    marker = f'"EventType":{int(EventType.EXECUTION_COMPLETED)},'
    for text in reversed(history):
        if marker in text:
            event: dict[str, Any] = json.loads(text)
            return event
    return None


def _where(position: int, task_id: int, event: dict[str, Any] | None) -> str:
    if task_id == -1 or event is None:
        return f"action {position + 1} (an external event wait)"
    kind = EventType(event["EventType"]).name.title().replace("_", "")
    return f"action {position + 1}: {kind} EventId {task_id}"


def _where_completed(event: dict[str, Any]) -> str:
    return f"ExecutionCompleted EventId {event.get('EventId', -1)}"


def _changed_detail(action: dict[str, Any], event: dict[str, Any] | None) -> tuple[str, str] | None:
    """(recorded, now) when the same task is asked for with another input or due time."""
    if event is None:
        return None
    kind = action.get("actionType")
    what = describe_action(action)
    if kind in ACTIVITY_CALLS:
        recorded_input = _json(event.get("Input"))
        old = recorded_input[0] if isinstance(recorded_input, list) and len(recorded_input) == 1 else None
        if _json(old) != _json(action.get("input")):
            return (
                f"{what} with input {_show(_json(old))}",
                f"{what} with input {_show(_json(action.get('input')))}",
            )
    elif kind in SUB_ORCHESTRATIONS:
        if _json(event.get("Input")) != _json(action.get("input")):
            return (
                f"{what} with input {_show(_json(event.get('Input')))}",
                f"{what} with input {_show(_json(action.get('input')))}",
            )
    elif kind in ENTITY_MESSAGES:
        request = _json(event.get("Input"))
        request = request if isinstance(request, dict) else {}
        # The request holds the action's input text serialized once more (engine/entity_messages.py).
        old = (request.get("op"), _json(_json(request.get("input"))))
        new = (action.get("operation"), _json(action.get("input")))
        if old != new:
            return (
                f"{what}: '{old[0]}' with input {_show(old[1])}",
                f"{what}: '{new[0]}' with input {_show(new[1])}",
            )
    elif kind == ActionType.CREATE_TIMER:
        old_at = event.get("FireAt")
        new_at = h.format_time(h.parse_time(action["fireAt"])) if action.get("fireAt") else None
        if old_at and new_at and h.parse_time(old_at) != h.parse_time(new_at):
            return f"a timer due {old_at}", f"a timer due {new_at}"
    return None


def _json(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def _show(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:77] + "..."
