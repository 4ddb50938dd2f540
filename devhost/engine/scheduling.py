"""Turning an orchestration's new actions into history events and outbox: activities (and the
built-in HTTP activity), sub-orchestrations, timers, messages to entities, and retries.

Task ids follow the SDK's numbering (ledger.py). A `*_with_retry` action schedules its first attempt;
each failure schedules a timer for the retry delay and, when it fires, the next attempt, as the
Durable Task Framework does (its RetryInterceptor), so the ids match what the SDK expects on replay.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .. import history as h
from ..functions import FunctionIndex, Kind
from ..history import EventType
from ..json_text import dumps_ascii
from ..store import ActivityTask, InstanceRecord, Message, RuntimeStatus, WorkItem
from ..store.entity_records import EntityRequest
from .actions import (
    ACTIVITY_CALLS,
    ENTITY_MESSAGES,
    HTTP_ACTIVITY,
    SCHEDULING,
    SUB_ORCHESTRATIONS,
    ActionType,
    describe_action,
)
from .entity_messages import entity_action_problem, send_from_orchestration
from .invoker import serialized_exception
from .ledger import Ledger, RetryChain


class OrchestrationFailure(Exception):
    """The instance fails with this message (host-side checks: names, limits, determinism)."""

    def details(self) -> str:
        """Its Details: the extension hands its exceptions to DTFx serialized (`Utils.SerializeCause`)."""
        return serialized_exception(str(self), None)


class NonDeterminism(OrchestrationFailure):
    """A replay that no longer matches the history: DTFx itself fails the instance."""

    def details(self) -> str:
        """DTFx's text for an exception that is not an OrchestrationFailureException
        (DurableTask.Core TaskOrchestrationContext.cs, `FailOrchestration`)."""
        return (
            "Unhandled exception while executing orchestration: "
            f"DurableTask.Core.Exceptions.NonDeterministicOrchestrationException: {self}"
        )


@dataclass(slots=True)
class Episode:
    """What one episode changes, gathered before it becomes an EpisodeResult."""

    work: WorkItem
    now: datetime
    ledger: Ledger
    consumed: list[int]
    events: list[dict[str, Any]] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    activities: list[ActivityTask] = field(default_factory=list)
    children: list[tuple[InstanceRecord, Message]] = field(default_factory=list)
    entity_requests: list[EntityRequest] = field(default_factory=list)
    # The first episode of an execution that continued as new: without a custom status of its own
    # it keeps the previous execution's (episode.py, _apply).
    carries_status: bool = False
    # The JSON text of events encoded already, by object: the frame sent to the SDK is encoded once
    # for the payload and stored as that same text (episode.py, _replay and _commit).
    encoded: dict[int, tuple[dict[str, Any], str]] = field(default_factory=dict)

    @property
    def instance(self) -> InstanceRecord:
        return self.work.instance

    def encoded_text(self, event: dict[str, Any]) -> str:
        """The event's JSON text, as encoded for the payload when it was in the frame."""
        known = self.encoded.get(id(event))
        if known is not None and known[0] is event:
            return known[1]
        return dumps_ascii(event)

    def discard_outbox(self, keep_events: int) -> None:
        del self.events[keep_events:]
        self.messages.clear()
        self.activities.clear()
        self.children.clear()
        self.entity_requests.clear()


def retry_chain(kind: str, action: dict[str, Any], instance_id: str | None) -> RetryChain:
    options = action.get("retryOptions") or {}
    return RetryChain(
        kind=kind,
        name=action["functionName"],
        input=action.get("input"),
        instance_id=instance_id,
        first_interval_ms=int(options.get("firstRetryIntervalInMilliseconds", 0)),
        max_attempts=int(options.get("maxNumberOfAttempts", 1)),
        backoff=float(options.get("backoffCoefficient", 1.0)),
        max_interval_ms=options.get("maxRetryIntervalInMilliseconds"),
        version=None if action.get("version") is None else str(action["version"]),
    )


def execution_version(ep: Episode) -> str:
    """The version of the execution an episode runs: its ExecutionStarted's, in this episode's events,
    its new messages or its history."""
    for event in ep.events:
        if event.get("EventType") == EventType.EXECUTION_STARTED:
            return str(event.get("Version") or "")
    for message in ep.work.messages:
        if message.event.get("EventType") == EventType.EXECUTION_STARTED:
            return str(message.event.get("Version") or "")
    for text in ep.work.history:  # only after a continue-as-new: the history is read once
        event = json.loads(text)
        if event.get("EventType") == EventType.EXECUTION_STARTED:
            return str(event.get("Version") or "")
    return ""


class Scheduler:
    """The scheduling half of an episode runner (episode.py): `self._index` is the app's functions;
    `self._default_version` host.json's `defaultVersion`."""

    _index: FunctionIndex
    _default_version: str = ""

    def _schedule_again(self, ep: Episode, action: dict[str, Any], task_id: int) -> None:
        """A rewound task, asked for again by the replay: scheduled anew under its old id."""
        ep.ledger.rewound.discard(task_id)
        if action.get("actionType") not in SCHEDULING:
            raise OrchestrationFailure(
                f"Non-deterministic workflow detected: on replay the orchestrator asks for "
                f"{describe_action(action)} where the rewound task {task_id} was."
            )
        self._schedule(ep, action, task_id)

    def _schedule(self, ep: Episode, action: dict[str, Any], again: int | None = None) -> None:
        """Schedule a new action under the next id, or (`again`) a rewound one under its old id."""
        led = ep.ledger
        kind = action.get("actionType")
        if kind not in SCHEDULING:
            if kind != ActionType.WAIT_FOR_EXTERNAL_EVENT:  # it takes no id
                raise OrchestrationFailure(f"devhost does not know action type {kind!r}.")
            led.action_ids.append(-1)
            led.waits.append(str(action.get("externalEventName")))
            return
        if again is None:
            task_id = led.take_id()
            led.action_ids.append(task_id)
        else:
            task_id = again
        if kind in ACTIVITY_CALLS:
            name = action["functionName"]
            if self._index.get(name, Kind.ACTIVITY) is None:
                raise OrchestrationFailure(self._index.missing(name, Kind.ACTIVITY))
            self._schedule_activity(ep, task_id, name, action.get("input"))
            if kind == ActionType.CALL_ACTIVITY_WITH_RETRY:
                led.chains[task_id] = retry_chain("activity", action, None)
                led.retry_tasks[task_id] = task_id
                led.retried.add(task_id)
        elif kind in SUB_ORCHESTRATIONS:
            name = action["functionName"]
            if self._index.get(name, Kind.ORCHESTRATOR) is None:
                raise OrchestrationFailure(self._index.missing(name, Kind.ORCHESTRATOR))
            child_id = action.get("instanceId") or f"{ep.instance.execution_id}:{task_id}"
            if any(child.instance_id == child_id for child, _ in ep.children):
                raise OrchestrationFailure(
                    f"Two sub-orchestrations were started with the same instance ID '{child_id}'."
                )
            if child_id == ep.instance.instance_id:
                raise OrchestrationFailure(
                    "A sub-orchestration cannot have the same instance ID as its parent."
                )
            version = action.get("version")
            version = self._default_version if version is None else str(version)
            self._schedule_sub(ep, task_id, name, action.get("input"), child_id, version)
            if kind == ActionType.CALL_SUB_ORCHESTRATOR_WITH_RETRY:
                led.chains[task_id] = retry_chain("sub", action, action.get("instanceId"))
                led.retry_tasks[task_id] = task_id
                led.retried.add(task_id)
        elif kind == ActionType.CREATE_TIMER:
            self._schedule_timer(ep, task_id, h.parse_time(action["fireAt"]))
            if action.get("isCanceled"):
                led.open.pop(task_id, None)
        elif kind == ActionType.CALL_HTTP:
            self._schedule_activity(ep, task_id, HTTP_ACTIVITY, h.dumps(action.get("httpRequest")))
        elif kind in ENTITY_MESSAGES:
            problem = entity_action_problem(action, self._index)
            if problem:
                raise OrchestrationFailure(problem)
            event, request = send_from_orchestration(ep.instance, action, task_id, ep.now)
            ep.events.append(event)
            ep.entity_requests.append(request)
        # ContinueAsNew takes an id and nothing else here.

    def _schedule_activity(self, ep: Episode, task_id: int, name: str, input_text: str | None) -> None:
        inst = ep.instance
        ep.ledger.open[task_id] = "activity"
        ep.events.append(
            h.event(
                EventType.TASK_SCHEDULED,
                ep.now,
                task_id,
                Name=name,
                Version="",
                Input=json.dumps([input_text]),
            )
        )
        ep.activities.append(ActivityTask(inst.instance_id, inst.execution_id, task_id, name, input_text))

    def _schedule_sub(
        self, ep: Episode, task_id: int, name: str, input_text: str | None, child_id: str, version: str = ""
    ) -> None:
        inst = ep.instance
        ep.ledger.open[task_id] = "sub"
        # The extension passes the SDK's input text on as a string, which DTFx serializes once more;
        # the parent's event and the child's ExecutionStarted hold that same text
        # (DurableTask.Core TaskOrchestrationContext.cs, `CreateSubOrchestrationInstanceCore`).
        stored_input = json.dumps(input_text) if input_text is not None else None
        ep.events.append(
            h.event(
                EventType.SUB_ORCHESTRATION_CREATED,
                ep.now,
                task_id,
                Name=name,
                Version=version,
                InstanceId=child_id,
                Input=stored_input,
            )
        )
        stamp = h.format_time(ep.now)
        parent = {
            "instanceId": inst.instance_id,
            "executionId": inst.execution_id,
            "taskScheduledId": task_id,
            "name": inst.name,
        }
        child = InstanceRecord(
            child_id,
            name,
            uuid.uuid4().hex,
            RuntimeStatus.PENDING,
            stamp,
            stamp,
            input=stored_input,
            parent=parent,
        )
        start = h.execution_started(
            ep.now, child_id, child.execution_id, name, stored_input, parent, version=version
        )
        ep.children.append((child, Message(child_id, start, execution_id=child.execution_id)))

    def _schedule_timer(self, ep: Episode, timer_id: int, fire_at: datetime) -> None:
        inst = ep.instance
        ep.ledger.open[timer_id] = "timer"
        ep.events.append(h.event(EventType.TIMER_CREATED, ep.now, timer_id, FireAt=h.format_time(fire_at)))
        fired = h.event(EventType.TIMER_FIRED, fire_at, TimerId=timer_id, FireAt=h.format_time(fire_at))
        ep.messages.append(
            Message(inst.instance_id, fired, execution_id=inst.execution_id, visible_at=fire_at)
        )

    def _on_delivered(self, ep: Episode, event: dict[str, Any]) -> None:
        """Close the task a result belongs to; on a retry event, number the timer or next attempt."""
        led = ep.ledger
        kind = event["EventType"]
        if kind in (
            EventType.TASK_COMPLETED,
            EventType.TASK_FAILED,
            EventType.SUB_ORCHESTRATION_COMPLETED,
            EventType.SUB_ORCHESTRATION_FAILED,
        ):
            task_id = event["TaskScheduledId"]
            led.open.pop(task_id, None)
            chain_key = led.retry_tasks.pop(task_id, None)
            if chain_key is None:
                return
            if kind in (EventType.TASK_FAILED, EventType.SUB_ORCHESTRATION_FAILED):
                chain = led.chains[chain_key]
                # After the last attempt DTFx still waits for one immediate timer; the SDK expects it.
                delay = 0.0 if chain.exhausted else chain.delay_ms()
                timer_id = led.take_id()
                self._schedule_timer(ep, timer_id, ep.now + timedelta(milliseconds=delay))
                led.retry_timers[timer_id] = chain_key
            else:
                led.chains.pop(chain_key, None)
        elif kind == EventType.TIMER_FIRED:
            led.open.pop(event["TimerId"], None)
            chain_key = led.retry_timers.pop(event["TimerId"], None)
            if chain_key is None:
                return
            chain = led.chains[chain_key]
            if chain.exhausted:
                led.chains.pop(chain_key)
                return
            chain.attempt += 1
            task_id = led.take_id()
            led.retry_tasks[task_id] = chain_key
            led.retried.add(task_id)
            if chain.kind == "activity":
                self._schedule_activity(ep, task_id, chain.name, chain.input)
            else:
                child_id = chain.instance_id or f"{ep.instance.execution_id}:{task_id}"
                version = self._default_version if chain.version is None else chain.version
                self._schedule_sub(ep, task_id, chain.name, chain.input, child_id, version)
