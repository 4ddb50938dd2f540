"""The floor: the hello-cities work done in one process with no I/O.

Every episode of every instance is replayed by the unmodified SDK (`Orchestrator.handle` with the
history JSON a host sends), and every activity is called; nothing else. A host can only add to this
cost (or spread it over several processes), so every other figure is also given as a ratio to it.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from devhost import history as h
from devhost.bindings import decode_activity_input, decode_orchestration_context, encode_activity_output
from devhost.functions import FunctionIndex, Kind

CITIES = ["Tokyo", "Seattle", "London", "Paris", "Oslo"]


def _payload(instance_id: str, events: list[str], input_json: str) -> str:
    return (
        '{"history":['
        + ",".join(events)
        + '],"input":'
        + input_json
        + ',"instanceId":'
        + json.dumps(instance_id)
        + ',"isReplaying":false,"parentInstanceId":null,"upperSchemaVersion":1,"upperSchemaVersionNew":2}'
    )


def run_floor(
    app_dir: Path, instances: int, orchestrator: str = "E1_HelloSequence", activity: str = "E1_SayHello"
) -> dict[str, Any]:
    """Replay `instances` hello-cities orchestrations to completion; returns the figures."""
    index = FunctionIndex.load(app_dir)
    orch = index.get(orchestrator, Kind.ORCHESTRATOR)
    act = index.get(activity, Kind.ACTIVITY)
    assert orch is not None and act is not None
    orch_param = orch.trigger.get("name", "context")
    act_param = act.trigger.get("name", "input")
    input_json = json.dumps(json.dumps(CITIES))  # as HttpStart's start_new stores it
    clock = datetime(2026, 1, 1, tzinfo=timezone.utc)
    episodes = events_parsed = 0
    sdk_seconds = 0.0  # only handle() and the activity calls count; building histories is host work
    for n in range(instances):
        instance_id = f"floor-{n}"
        past: list[str] = []
        new = [
            h.event(h.EventType.ORCHESTRATOR_STARTED, clock),
            h.execution_started(clock, instance_id, "e", orchestrator, input_json, None),
        ]
        while True:
            fresh = [json.dumps({**e, "IsPlayed": False}) for e in new]
            payload = _payload(instance_id, past + fresh, input_json)
            t0 = time.perf_counter()
            state = json.loads(orch.user_function(**{orch_param: decode_orchestration_context(payload)}))
            sdk_seconds += time.perf_counter() - t0
            episodes += 1
            events_parsed += len(past) + len(fresh)
            past += fresh
            if state["isDone"]:
                break
            action = state["actions"][0][-1]
            task_id = len(state["actions"][0]) - 1
            clock += timedelta(milliseconds=1)
            past.append(
                json.dumps(
                    h.event(
                        h.EventType.TASK_SCHEDULED,
                        clock,
                        task_id,
                        Name=activity,
                        Input=json.dumps([action["input"]]),
                    )
                )
            )
            past.append(json.dumps(h.event(h.EventType.ORCHESTRATOR_COMPLETED, clock)))
            result = encode_activity_output(
                act.user_function(**{act_param: decode_activity_input(action["input"])})
            )
            new = [
                h.event(h.EventType.ORCHESTRATOR_STARTED, clock),
                h.event(h.EventType.TASK_COMPLETED, clock, TaskScheduledId=task_id, Result=result),
            ]
    seconds = sdk_seconds
    return {
        "scenario": "floor",
        "instances": instances,
        "episodes": episodes,
        "history_events_parsed": events_parsed,
        "seconds": round(seconds, 3),
        "instances_per_s": round(instances / seconds, 1),
    }
