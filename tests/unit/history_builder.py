"""Orchestration histories as the Durable extension sends them to a Python orchestrator.

A HistoryBuilder is written one episode at a time, the way the host appends to a history:

    history = HistoryBuilder("E1_HelloSequence")           # episode 1: OrchestratorStarted, ExecutionStarted
    tokyo = history.scheduled("E1_SayHello", "Tokyo")      # what episode 1's actions added
    history.episode().completed(tokyo, "Hello Tokyo!")     # episode 2 delivers the result

`payload()` is the orchestration trigger JSON (PascalCase events, integer EventTypes, IsPlayed,
Timestamp, schema versions), which the SDK's Orchestrator.handle takes as it comes from the host.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from enum import IntEnum
from typing import Any

START = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
INSTANCE_ID = "7d2c4b1e9f6a4c1d8e0f2a3b4c5d6e7f"
EXECUTION_ID = "0b5e4c2e4f1f4f0e9d0f6c3b2a1d0e9f"
_NOT_GIVEN: Any = object()


class EventType(IntEnum):
    """DurableTask.Core history event types, sent as integers."""

    EXECUTION_STARTED = 0
    EXECUTION_COMPLETED = 1
    TASK_SCHEDULED = 4
    TASK_COMPLETED = 5
    TASK_FAILED = 6
    TIMER_CREATED = 10
    TIMER_FIRED = 11
    ORCHESTRATOR_STARTED = 12
    ORCHESTRATOR_COMPLETED = 13
    EVENT_RAISED = 15


# Events delivered to the orchestration, as opposed to those the host writes from its actions.
# Delivered events from earlier episodes are persisted with IsPlayed true; everything else false.
_DELIVERED = {
    EventType.EXECUTION_STARTED,
    EventType.TASK_COMPLETED,
    EventType.TASK_FAILED,
    EventType.TIMER_FIRED,
    EventType.EVENT_RAISED,
}


def dotnet_time(moment: datetime) -> str:
    """Return `moment` the way .NET writes a UTC DateTime: seven fractional digits and Z."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def compact_json(value: Any) -> str:
    """Return JSON text as the extension re-serializes it (Newtonsoft, no spaces)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class HistoryBuilder:
    """One orchestration execution's history, built episode by episode."""

    def __init__(
        self,
        name: str,
        input: Any = _NOT_GIVEN,
        *,
        start: datetime = START,
        instance_id: str = INSTANCE_ID,
    ) -> None:
        """Open episode 1 for orchestrator `name`.

        `input` is the value a client passed to DurableOrchestrationClient.start_new; leave it out
        for an orchestration started without input. The SDK client sends the input as JSON text, so
        the trigger's "input" is that text and ExecutionStarted.Input encodes it once more.
        """
        self.instance_id = instance_id
        self.now = start
        self._events: list[dict[str, Any]] = []
        self._next_task_id = 0
        self._input_text = None if input is _NOT_GIVEN or input is None else json.dumps(input)
        self._append(EventType.ORCHESTRATOR_STARTED)
        self._append(
            EventType.EXECUTION_STARTED,
            OrchestrationInstance={"InstanceId": instance_id, "ExecutionId": EXECUTION_ID},
            ParentInstance=None,
            Name=name,
            Version="",
            Input=None if self._input_text is None else json.dumps(self._input_text),
            Tags=None,
            Correlation=None,
            ParentTraceContext=None,
            ScheduledStartTime=None,
            Generation=0,
        )

    def _append(self, event_type: EventType, event_id: int = -1, **fields: Any) -> dict[str, Any]:
        event = {
            **fields,
            "EventType": int(event_type),
            "EventId": event_id,
            "Timestamp": dotnet_time(self.now),
        }
        self._events.append(event)
        return event

    def _take_task_id(self) -> int:
        task_id = self._next_task_id
        self._next_task_id += 1
        return task_id

    # Events the host writes from the previous reply's actions, in action order.

    def scheduled(self, name: str, input: Any = None) -> int:
        """Append TaskScheduled for activity `name` and return its task id.

        The SDK sends the activity input as JSON text; the host stores it inside a one-element array.
        """
        task_id = self._take_task_id()
        self._append(
            EventType.TASK_SCHEDULED, task_id, Name=name, Version="", Input=json.dumps([json.dumps(input)])
        )
        return task_id

    def timer(self, fire_at: datetime) -> int:
        """Append TimerCreated firing at `fire_at` and return its task (timer) id."""
        task_id = self._take_task_id()
        self._append(EventType.TIMER_CREATED, task_id, FireAt=dotnet_time(fire_at))
        return task_id

    # Episodes and the events they deliver.

    def episode(self, after: float = 1.0) -> HistoryBuilder:
        """Close the current episode and open the next one `after` seconds later."""
        self._append(EventType.ORCHESTRATOR_COMPLETED)
        self.now += timedelta(seconds=after)
        self._append(EventType.ORCHESTRATOR_STARTED)
        return self

    def completed(self, task_id: int, result: Any) -> HistoryBuilder:
        """Deliver TaskCompleted for `task_id`; the activity returned `result` (None: Result null)."""
        self._append(
            EventType.TASK_COMPLETED,
            TaskScheduledId=task_id,
            Result=None if result is None else compact_json(result),
        )
        return self

    def failed(self, task_id: int, activity: str, error: str) -> HistoryBuilder:
        """Deliver TaskFailed for `task_id`, worded as the host words a Python activity's exception."""
        self._append(
            EventType.TASK_FAILED,
            TaskScheduledId=task_id,
            Reason=f"Activity function '{activity}' failed:  {error}",
            Details=compact_json({"ClassName": "System.Exception", "Message": f" {error}"}),
            FailureDetails=None,
        )
        return self

    def timer_fired(self, timer_id: int, fire_at: datetime) -> HistoryBuilder:
        """Deliver TimerFired for `timer_id`."""
        self._append(EventType.TIMER_FIRED, TimerId=timer_id, FireAt=dotnet_time(fire_at))
        return self

    def raised(self, name: str, value: Any, *, by_sdk_client: bool = False) -> HistoryBuilder:
        """Deliver EventRaised `name` carrying `value`.

        A raiseEvent webhook call stores the posted JSON; the Python SDK client's raise_event
        encodes its data once more, so the orchestrator then receives JSON text (`by_sdk_client`).
        """
        text = compact_json(value)
        self._append(EventType.EVENT_RAISED, Name=name, Input=compact_json(text) if by_sdk_client else text)
        return self

    # The payload.

    def payload(self) -> str:
        """Return the orchestration trigger JSON for the history so far (the current episode open)."""
        last_start = max(
            i for i, event in enumerate(self._events) if event["EventType"] == EventType.ORCHESTRATOR_STARTED
        )
        history = [
            {**event, "IsPlayed": i < last_start and EventType(event["EventType"]) in _DELIVERED}
            for i, event in enumerate(self._events)
        ]
        return json.dumps(
            {
                "history": history,
                "input": self._input_text,
                "instanceId": self.instance_id,
                "isReplaying": history[1]["IsPlayed"],
                "parentInstanceId": None,
                "upperSchemaVersion": 1,
                "upperSchemaVersionNew": 2,
                "longRunningTimerIntervalDuration": "3.00:00:00",
                "maximumShortTimerDuration": "6.00:00:00",
                "defaultHttpAsyncRequestSleepTimeMillseconds": 30000,
            }
        )
