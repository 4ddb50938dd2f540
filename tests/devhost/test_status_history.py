"""`GET instances/{id}?showHistory=true` over HTTP: the history view and the status flags.

Each test imitates azure-functions-durable-extension, src/WebJobs.Extensions.DurableTask/
ContextImplementations/DurableClient.cs (`GetDurableOrchestrationStatusAsync`) or HttpApiHandler.cs
(`HandleGetStatusRequestAsync`, `TryGetBooleanQueryParameterValue`); docs/protocol.md sums them up.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from devhost.host import DevHost

from .helpers import WEBHOOKS, call, idle, run, start_waiting, wait_done, wait_for, wait_until

HISTORY = {"showHistory": "true"}
EVERYTHING = {"showHistory": "true", "showHistoryOutput": "true"}
JSON = {"Content-Type": "application/json"}
# Newtonsoft's DateTime: whole seconds, or up to 7 fraction digits without trailing zeros.
DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,6}[1-9])?Z$")


async def _events(host: DevHost, instance_id: str, **params: str) -> list[dict[str, Any]]:
    reply = await call(host, "GET", f"{WEBHOOKS}/instances/{instance_id}", params={**HISTORY, **params})
    assert reply.status in (200, 202), reply.text
    body = reply.json()
    if body["runtimeStatus"] == "Pending":  # no episode has run yet (slower with worker processes)
        assert "historyEvents" not in body, body
        return []
    return body["historyEvents"]


def _of(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in events if e["EventType"] == kind]


async def test_running_sub_orchestration_shows_as_created_until_it_completes(features: DevHost) -> None:
    """DurableClient.cs: a scheduling event is removed only once a completion is merged with it."""
    client = features.client()
    await client.start_new("parent_of_waiting_child", "waits")
    await wait_until(client, "waits-kid", lambda s: s.custom_status == "one")
    await idle(features)
    created = _of(await _events(features, "waits"), "SubOrchestrationInstanceCreated")
    assert len(created) == 1
    assert created[0]["Name"] == "status_phases" and created[0]["InstanceId"] == "waits-kid"
    # The stored text, not parsed: the SDK's JSON text serialized once more, as the child's start holds it.
    assert json.loads(json.loads(created[0]["Input"])) == {"from": "parent"}
    [child_start] = _of(await _events(features, "waits-kid"), "ExecutionStarted")
    assert created[0]["Input"] == child_start["Input"]
    assert not {"EventId", "IsPlayed", "Version"} & set(created[0])

    for _ in range(3):
        await call(
            features,
            "POST",
            f"{WEBHOOKS}/instances/waits-kid/raiseEvent/Next",
            body=None,
            data=b"1",
            headers=JSON,
        )
        await idle(features)
    await wait_done(client, "waits")
    events = await _events(features, "waits", showHistoryOutput="true")
    assert not _of(events, "SubOrchestrationInstanceCreated")
    [done] = _of(events, "SubOrchestrationInstanceCompleted")
    assert done["FunctionName"] == "status_phases" and done["Input"] == created[0]["Input"]
    assert done["Result"] == "done" and "TaskScheduledId" not in done


async def test_running_activity_shows_as_task_scheduled(features: DevHost, tmp_path: Path) -> None:
    """DurableClient.cs: TaskScheduled stays, without Version or EventId, until its answer is merged."""
    gate = tmp_path / "open"
    client = features.client()
    await client.start_new("gated_activity", "held", str(gate))

    async def scheduled() -> bool:
        return bool(_of(await _events(features, "held"), "TaskScheduled"))

    await wait_for(scheduled)
    [pending] = _of(await _events(features, "held"), "TaskScheduled")
    assert set(pending) == {"EventType", "Name", "Input", "Timestamp"}
    assert pending["Name"] == "wait_for_file" and json.loads(json.loads(pending["Input"])[0]) == str(gate)
    gate.touch()
    await wait_done(client, "held")
    events = await _events(features, "held")
    assert not _of(events, "TaskScheduled")
    [completed] = _of(events, "TaskCompleted")
    assert completed["FunctionName"] == "wait_for_file" and completed["Input"] == pending["Input"]


async def test_completed_activity_is_merged_with_its_task_scheduled(features: DevHost) -> None:
    """DurableClient.cs: TaskCompleted gains ScheduledTime, FunctionName and the scheduled Input."""
    client = features.client()
    await client.start_new("two_events", "busy")
    await wait_until(client, "busy", lambda s: s.custom_status == "waiting")
    events = await _events(features, "busy")
    assert not _of(events, "TaskScheduled")
    [completed] = _of(events, "TaskCompleted")
    assert completed["FunctionName"] == "echo" and completed["Input"] == '["\\"busy\\""]'
    assert "ScheduledTime" in completed and "Result" not in completed


async def test_only_a_client_start_has_a_generation(features: DevHost) -> None:
    """The Azure Storage provider numbers the starts a client sends (CreateTaskOrchestrationAsync); DTFx's
    dispatcher builds a continue-as-new's start and a sub-orchestration's without one."""
    await run(features, "counter", [0, 1, []], "generations")
    [continued] = _of(await _events(features, "generations"), "ExecutionStarted")
    assert continued["Generation"] is None
    await features.client().start_new("parent_of_waiting_child", "gen-parent")
    await wait_until(features.client(), "gen-parent-kid", lambda s: s.custom_status == "one")
    [child] = _of(await _events(features, "gen-parent-kid"), "ExecutionStarted")
    [parent] = _of(await _events(features, "gen-parent"), "ExecutionStarted")
    assert (child["Generation"], parent["Generation"]) == (None, 0)


async def test_execution_started_and_event_raised_keep_their_input_as_json_text(features: DevHost) -> None:
    """DurableClient.cs: ExecutionStarted and EventRaised `Input` are not parsed; ExecutionStarted keeps
    Correlation, ScheduledStartTime and Generation and loses OrchestrationInstance, Version, Tags."""
    reply = await call(features, "POST", f"{WEBHOOKS}/orchestrators/status_phases/typed", body={"a": [1, 2]})
    assert reply.status == 202
    await wait_until(features.client(), "typed", lambda s: s.custom_status == "one")
    await call(features, "POST", f"{WEBHOOKS}/instances/typed/raiseEvent/Next", body={"ok": True})
    await idle(features)
    events = await _events(features, "typed")
    started = events[0]
    assert started["EventType"] == "ExecutionStarted" and started["FunctionName"] == "status_phases"
    assert started["Input"] == '{"a":[1,2]}'
    assert started["Correlation"] is None and started["ScheduledStartTime"] is None
    assert started["Generation"] == 0
    assert not {"Name", "OrchestrationInstance", "ParentInstance", "Version", "Tags"} & set(started)
    [raised] = _of(events, "EventRaised")
    assert raised["Name"] == "Next" and raised["Input"] == '{"ok":true}'

    hidden = await _events(features, "typed", showInput="false")
    assert not any("Input" in e for e in hidden)


async def test_terminated_keeps_the_reason_as_input(features: DevHost) -> None:
    """DurableClient.cs leaves ExecutionTerminated as stored: its `Input` is the reason."""
    await start_waiting(features, "ended")
    reply = await call(
        features, "POST", f"{WEBHOOKS}/instances/ended/terminate", params={"reason": "no more"}
    )
    assert reply.status == 202
    await wait_done(features.client(), "ended")
    [terminated] = _of(await _events(features, "ended"), "ExecutionTerminated")
    assert terminated["Input"] == "no more"
    [hidden] = _of(await _events(features, "ended", showInput="false"), "ExecutionTerminated")
    assert "Input" not in hidden


async def test_timer_fired_carries_fire_at_only(features: DevHost) -> None:
    """DurableClient.cs removes TimerFired's TimerId and adds nothing; TimerCreated stays."""
    await run(features, "sleeper", None, "slept")
    events = await _events(features, "slept")
    [created] = _of(events, "TimerCreated")
    [fired] = _of(events, "TimerFired")
    assert set(fired) == {"EventType", "FireAt", "Timestamp"}
    assert fired["FireAt"] == created["FireAt"]


async def test_failures_keep_failure_details(features: DevHost) -> None:
    """DurableClient.cs keeps TaskFailed's Reason, Details and FailureDetails, and ExecutionCompleted's
    FailureDetails; OrchestrationStatus becomes the enum name."""
    await run(features, "activity_raises", None, "broke")
    events = await _events(features, "broke")
    [failed] = _of(events, "TaskFailed")
    assert {"Reason", "Details", "FailureDetails", "FunctionName", "ScheduledTime"} <= set(failed)
    assert failed["FailureDetails"] is None and failed["FunctionName"] == "boom"
    [completed] = _of(events, "ExecutionCompleted")
    assert completed["OrchestrationStatus"] == "Failed" and "FailureDetails" in completed
    assert "Result" not in completed
    [with_output] = _of(await _events(features, "broke", showHistoryOutput="true"), "ExecutionCompleted")
    assert "boom" in with_output["Result"]


async def test_dates_carry_trimmed_fractions(features: DevHost) -> None:
    """Newtonsoft writes a DateTime with up to 7 fraction digits, trailing zeros dropped (DTFx stores
    history dates that way; DurableClient.cs reads them without re-parsing)."""
    await run(features, "parent", None, "dated")
    events = await _events(features, "dated")
    dates = [e[k] for e in events for k in ("Timestamp", "ScheduledTime", "FireAt") if k in e]
    assert dates and all(DATE.match(d) for d in dates), dates


async def test_flags_parse_like_bool_try_parse(features: DevHost) -> None:
    """HttpApiHandler.cs: `bool.TryParse`, any letter case and blanks; an unparsable value is the default."""
    await run(features, "input_echo", {"secret": 1}, "flags")
    url = f"{WEBHOOKS}/instances/flags"

    async def body(**params: str) -> dict[str, Any]:
        return (await call(features, "GET", url, params=params)).json()

    assert (await body(showInput="1"))["input"] is not None  # not a boolean: the default, true
    assert (await body(showInput=" FALSE "))["input"] is None
    assert "historyEvents" in await body(showHistory="True")
    assert "historyEvents" not in await body(showHistory="yes")
    assert "historyEvents" not in await body(showHistory="1")
    strict = await call(features, "GET", url, params={"returnInternalServerErrorOnFailure": "on"})
    assert strict.status == 200


async def test_pending_instance_has_no_history_events(features: DevHost) -> None:
    """DurableClient.cs reads no history for a Pending instance, so `historyEvents` is absent."""
    await features._dispatcher.stop()  # nothing runs: the instance stays Pending
    await call(features, "POST", f"{WEBHOOKS}/orchestrators/input_echo/queued")
    reply = await call(features, "GET", f"{WEBHOOKS}/instances/queued", params=HISTORY)
    assert reply.status == 202 and reply.json()["runtimeStatus"] == "Pending"
    assert "historyEvents" not in reply.json()
