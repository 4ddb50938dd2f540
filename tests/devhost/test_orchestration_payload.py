"""The JSON devhost hands the SDK for an episode carries the fields the extension sends.

azure-functions-durable-extension, src/WebJobs.Extensions.DurableTask/Bindings/
OrchestrationTriggerAttributeBindingProvider.cs (OrchestrationContextToString).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from devhost import history as h
from devhost.engine.episode import EpisodeRunner
from devhost.engine.invoker import ActivityReply, EpisodeReply
from devhost.functions import FunctionIndex
from devhost.store import InstanceRecord, Message, RuntimeStatus, WorkItem

EXTENSION_FIELDS = [
    "history",
    "input",
    "instanceId",
    "isReplaying",
    "parentInstanceId",
    "upperSchemaVersion",
    "upperSchemaVersionNew",
    "longRunningTimerIntervalDuration",
    "maximumShortTimerDuration",
    "defaultHttpAsyncRequestSleepTimeMillseconds",
]


class _Recorder:
    """Keeps each payload and answers 'done' (an orchestrator that returns at once)."""

    def __init__(self) -> None:
        self.payloads: list[dict[str, Any]] = []

    async def run_orchestrator(self, name: str, payload: str) -> EpisodeReply:
        self.payloads.append(json.loads(payload))
        return EpisodeReply(state={"isDone": True, "actions": [], "output": "ok"})

    async def run_activity(
        self, name: str, input_text: str | None, invocation_id: str | None = None
    ) -> ActivityReply:
        raise AssertionError("no activity is scheduled")


async def test_the_payload_has_the_extensions_fields_in_its_order_and_values() -> None:
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    stamp = h.format_time(now)
    record = InstanceRecord("i1", "orch", "e1", RuntimeStatus.PENDING, stamp, stamp, input='"in"')
    start = h.execution_started(now, "i1", "e1", "orch", '"in"', None)
    recorder = _Recorder()
    runner = EpisodeRunner(FunctionIndex({}), recorder, http_poll_ms=1234)
    result = await runner.run(WorkItem(record, [], [Message("i1", start, execution_id="e1", id=1)]), now)
    assert result.instance.runtime_status is RuntimeStatus.COMPLETED
    (payload,) = recorder.payloads
    assert list(payload) == EXTENSION_FIELDS
    assert payload["upperSchemaVersion"] == 1 and payload["upperSchemaVersionNew"] == 2
    assert payload["longRunningTimerIntervalDuration"] == "3.00:00:00"
    assert payload["maximumShortTimerDuration"] == "6.00:00:00"
    assert payload["defaultHttpAsyncRequestSleepTimeMillseconds"] == 1234
    assert payload["input"] == "in" and payload["isReplaying"] is False


async def test_new_events_go_to_the_sdk_unplayed_and_are_stored_played_with_their_values() -> None:
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    stamp = h.format_time(now)
    # The IsPlayed key inside the input's text and in a nested object (a tag) belongs to the event's
    # values: only the event's own flag may change between the payload and the store.
    tricky = json.dumps({"IsPlayed": True, "city": "東京"}, separators=(",", ":"))
    record = InstanceRecord("i1", "orch", "e1", RuntimeStatus.PENDING, stamp, stamp, input=tricky)
    start = h.execution_started(now, "i1", "e1", "orch", tricky, None)
    start["Tags"] = {"IsPlayed": True}
    recorder = _Recorder()
    runner = EpisodeRunner(FunctionIndex({}), recorder)
    result = await runner.run(WorkItem(record, [], [Message("i1", start, execution_id="e1", id=1)]), now)
    (payload,) = recorder.payloads
    sent = payload["history"]
    assert [e["EventType"] for e in sent] == [12, 0]
    assert all(e["IsPlayed"] is False for e in sent)
    assert sent[1]["Input"] == tricky and sent[1]["Tags"] == {"IsPlayed": True}
    stored = [json.loads(text) for text in result.new_history]
    assert [e["EventType"] for e in stored[:2]] == [12, 0]
    assert all(e["IsPlayed"] is True for e in stored)
    assert stored[1]["Input"] == tricky and stored[1]["Tags"] == {"IsPlayed": True}
    assert [{k: v for k, v in e.items() if k != "IsPlayed"} for e in sent] == [
        {k: v for k, v in e.items() if k != "IsPlayed"} for e in stored[:2]
    ]
