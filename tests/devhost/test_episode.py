"""The engine's replay of the features app: each Durable Functions feature, driven by the SDK client.

Every test runs real orchestrator code through the SDK's replay and asserts what came out of it, so
a wrong task id, a lost event or a mis-encoded input shows up as a wrong output or status.
"""

from __future__ import annotations

import json
import uuid

import pytest

from devhost.functions import Kind
from devhost.host import DevHost
from devhost.store import EpisodeResult, RuntimeStatus

from .conftest import on_every_store
from .helpers import (
    Status,
    approve_while_waiting,
    idle,
    no_activities_left,
    run,
    scheduled_ids,
    stored_history,
    wait_done,
    wait_for,
    wait_until,
)

# -- retries ---------------------------------------------------------------------------------------


@on_every_store
async def test_retried_activity_succeeds_on_the_third_attempt(features: DevHost) -> None:
    done = await run(features, "retry_orchestrator", {"failures": 2, "attempts": 3}, "retry-ok")
    assert done.runtime_status == Status.Completed
    assert done.output == {"calls": 3, "key": "retry-ok"}
    # attempt, retry timer, attempt, retry timer, attempt: one id each, in that order.
    ids = scheduled_ids(await stored_history(features, "retry-ok"))
    assert ids == [(0, "flaky"), (1, "timer"), (2, "flaky"), (3, "timer"), (4, "flaky")]


@on_every_store
async def test_retry_timer_waits_the_first_retry_interval(features: DevHost) -> None:
    await run(features, "retry_orchestrator", {"failures": 1, "attempts": 2}, "retry-wait")
    history = await stored_history(features, "retry-wait")
    failed = next(e for e in history if e["EventType"] == 6)
    at = next(i for i, e in enumerate(history) if e["EventType"] == 10)
    # The episode that saw the failure began at its OrchestratorStarted time, the orchestration's
    # "now": the retry timer fires exactly the first retry interval after it, whatever the machine.
    episode = next(e for e in reversed(history[:at]) if e["EventType"] == 12)
    assert failed["TaskScheduledId"] == 0
    assert history.index(failed) < at
    assert _seconds_between(episode["Timestamp"], history[at]["FireAt"]) == 5.0


@on_every_store
async def test_activity_failing_every_attempt_fails_the_orchestration(features: DevHost) -> None:
    client = features.client()
    instance_id = await client.start_new("retry_always_fails")
    done = await wait_done(client, instance_id)
    assert done.runtime_status == Status.Failed
    assert done.output.startswith("Orchestrator function 'retry_always_fails' failed: ")
    expected = "Activity function 'always_fails' failed:  PermissionError: always_fails refuses the request"
    assert expected in done.output
    # 3 attempts, 2 retry timers, and the extra timer DTFx schedules after the last attempt.
    history = await stored_history(features, instance_id)
    assert [what for _, what in scheduled_ids(history)] == ["always_fails", "timer"] * 3
    waits = [_seconds_between(e["Timestamp"], e["FireAt"]) for e in history if e["EventType"] == 10]
    assert waits == [1.0, 1.0, 0.0]  # the last timer only keeps DTFx and the SDK in step: it fires at once


@on_every_store
async def test_retry_inside_task_all_numbers_tasks_like_the_sdk(features: DevHost) -> None:
    done = await run(features, "retry_in_task_all", None, "retry-all")
    assert done.runtime_status == Status.Completed, done.output
    assert done.output == [{"calls": 2, "key": "retry-all"}, 42, "after"]
    ids = scheduled_ids(await stored_history(features, "retry-all"))
    assert ids == [(0, "flaky"), (1, "double"), (2, "timer"), (3, "flaky"), (4, "echo")]


@on_every_store
async def test_retry_failure_and_a_completion_in_one_episode_keep_sdk_ids(features: DevHost) -> None:
    client = features.client()
    instance_id = await client.start_new("retry_and_race", "held")
    await client.suspend(instance_id, "collect both results")
    await wait_until(client, instance_id, lambda s: s.runtime_status == Status.Suspended)
    # Both activities finish while the instance is suspended: slow_echo first, then flaky's failure.
    await wait_for(lambda: no_activities_left(features))
    await client.resume(instance_id, "deliver them together")
    done = await wait_done(client, instance_id)
    assert done.output == ["quick", 8, 2], done.output
    ids = scheduled_ids(await stored_history(features, instance_id))
    assert ids == [(0, "slow_echo"), (1, "flaky"), (2, "double"), (3, "timer"), (4, "flaky")]


# -- sub-orchestrations ----------------------------------------------------------------------------


@on_every_store
async def test_sub_orchestrations_with_and_without_an_instance_id(features: DevHost) -> None:
    client = features.client()
    done = await run(features, "parent", None, "mom")
    assert done.runtime_status == Status.Completed, done.output
    named, unnamed = done.output["named"], done.output["unnamed"]
    assert named == {"child": "mom-named", "parent": "mom", "doubled": 10}
    assert unnamed["parent"] == "mom" and unnamed["doubled"] == 14
    # Without an id the child is "{parent execution id}:{task id}"; the second sub-orchestration is task 1.
    execution_id, task_id = unnamed["child"].split(":")
    assert task_id == "1" and uuid.UUID(execution_id)
    child_status = await client.get_status(unnamed["child"])
    assert child_status.runtime_status == Status.Completed and child_status.output == unnamed


@on_every_store
async def test_failing_sub_orchestration_raises_in_the_parent(features: DevHost) -> None:
    done = await run(features, "parent", None, "dad")
    reason, details = done.output["caught"].split(" \n ")
    assert reason == "Orchestrator function 'failing_child' failed: 'child lost its key'"
    # The extension's OutOfProcOrchestrationShim: "Message: {error}, StackTrace: {stack}"; the SDK
    # joins Reason and Details with " \n ". The stack is the child's Python traceback here.
    message, _, stack = details.partition(", StackTrace: ")
    assert message == "Message: 'child lost its key'"
    assert stack.startswith("Traceback (most recent call last):")
    assert "in failing_child" in stack and stack.endswith("KeyError: 'child lost its key'")


async def test_a_child_failed_by_the_host_gives_the_parent_a_serialized_exception(features: DevHost) -> None:
    """A failure the host finds (here an unknown activity) is a .NET exception in the extension: its
    Details are that exception as `Utils.SerializeCause` writes it, never null."""
    done = await run(features, "catching_parent", "unknown_activity", "host-failed-child")
    reason, details = done.output.split(" \n ")
    assert reason.startswith(
        "Orchestrator function 'unknown_activity' failed: The function 'no_such_activity'"
    )
    cause = json.loads(details)
    assert cause["ClassName"] == "System.Exception" and "no_such_activity" in cause["Message"]


@on_every_store
async def test_two_sub_orchestrations_with_one_instance_id_fail_the_parent(features: DevHost) -> None:
    done = await run(features, "twin_children", None, "twins")
    assert done.runtime_status == Status.Failed
    assert "same instance ID 'twins-twin'" in done.output
    assert not await features.client().get_status("twins-twin")


@on_every_store
async def test_uncaught_sub_orchestration_failure_fails_parent_and_child(features: DevHost) -> None:
    client = features.client()
    done = await run(features, "parent_of_failing_child", None, "gran")
    assert done.runtime_status == Status.Failed
    assert done.output.startswith("Orchestrator function 'parent_of_failing_child' failed: ")
    assert "'child lost its key'" in done.output
    child = await client.get_status("gran-kid")
    assert child.runtime_status == Status.Failed
    assert child.output == "Orchestrator function 'failing_child' failed: 'child lost its key'"


@on_every_store
async def test_sub_orchestration_with_retry_runs_the_child_again(features: DevHost) -> None:
    done = await run(features, "parent_retrying_child", None, "retry-parent")
    assert done.runtime_status == Status.Completed, done.output
    assert done.output == 2  # the second child's activity call is the second one for this key


# -- continue-as-new -------------------------------------------------------------------------------


@on_every_store
async def test_continue_as_new_loops_with_a_fresh_history(features: DevHost) -> None:
    done = await run(features, "counter", [0, 4, []], "loop")
    assert done.runtime_status == Status.Completed, done.output
    assert done.output == {"i": 4, "trail": [0, 2, 4, 6]}
    history = await stored_history(features, "loop")
    # The last execution only, as DTFx writes one begun by a continue-as-new: OrchestratorStarted,
    # ExecutionStarted, OrchestratorCompleted, then its first episode (here ExecutionCompleted and
    # OrchestratorCompleted); no activity of the earlier ones.
    assert [e["EventType"] for e in history] == [12, 0, 13, 1, 13]


@on_every_store
async def test_a_continue_as_new_commits_with_the_next_executions_first_episode(
    features: DevHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DTFx runs the new execution in the continue-as-new's own work item, so no commit (and no
    status read) ever shows the instance ContinuedAsNew between two executions."""
    statuses: list[RuntimeStatus] = []
    store = features._store
    commit = store.complete_orchestration

    async def recording(result: EpisodeResult) -> None:
        if result.instance.instance_id == "loop-commits":
            statuses.append(result.instance.runtime_status)
        await commit(result)

    monkeypatch.setattr(store, "complete_orchestration", recording)
    done = await run(features, "counter", [0, 2, []], "loop-commits")
    assert done.output == {"i": 2, "trail": [0, 2]}
    # The start (calls `double`), then each activity's result: a continue-as-new together with the
    # next execution's first episode (calls `double` again, then completes at once).
    running, completed = RuntimeStatus.RUNNING, RuntimeStatus.COMPLETED
    assert statuses == [running, running, completed]


# -- timers, events, races -------------------------------------------------------------------------


@on_every_store
async def test_durable_timer_fires_and_time_moves_on(features: DevHost) -> None:
    done = await run(features, "sleeper")
    assert done.runtime_status == Status.Completed
    assert done.output["slept_seconds"] >= 3600


@on_every_store
async def test_events_raised_before_the_orchestrator_waits_are_kept(features: DevHost) -> None:
    client = features.client()
    instance_id = await client.start_new("two_events")
    # Raised in reverse order, before (or while) the activity runs: both are buffered, none lost.
    await client.raise_event(instance_id, "Second", [2])
    await client.raise_event(instance_id, "First", [1])
    done = await wait_done(client, instance_id)
    assert done.runtime_status == Status.Completed, done.output
    # The SDK client encodes event data twice, so the orchestrator gets JSON text (docs/protocol.md 4).
    assert done.output == {"first": "[1]", "second": "[2]"}


async def test_event_wins_race_and_cancelled_timer_does_not_hold_completion(
    features_realtime: DevHost,
) -> None:
    # The timer is an hour away on the real clock: only its cancellation lets the instance finish.
    done = await approve_while_waiting(features_realtime, "yes")
    assert done.runtime_status == Status.Completed
    assert done.output == {"approved": '"yes"'}


@on_every_store
async def test_timer_wins_race_when_no_event_comes(features: DevHost) -> None:
    done = await run(features, "approval")
    assert done.output == {"approved": None, "timed_out": True}


async def test_event_raised_before_the_race_starts_wins_it(features_realtime: DevHost) -> None:
    """The timer is created and cancelled in one episode; on the real clock it would hold for an hour."""
    client = features_realtime.client()
    instance_id = await client.start_new("gated_approval")
    await client.raise_event(instance_id, "Approve", "early")
    await client.raise_event(instance_id, "Go", None)
    done = await wait_done(client, instance_id)
    assert done.output == {"approved": '"early"'}


# -- failures --------------------------------------------------------------------------------------


async def test_uncaught_activity_error_fails_the_instance_with_its_message(features: DevHost) -> None:
    done = await run(features, "activity_raises")
    assert done.runtime_status == Status.Failed
    assert done.output.startswith(
        "Orchestrator function 'activity_raises' failed: "
        "Activity function 'boom' failed:  RuntimeError: boom on purpose"
    )


async def test_orchestrator_exception_fails_the_instance_and_keeps_its_custom_status(
    features: DevHost,
) -> None:
    done = await run(features, "orchestrator_raises")
    assert done.runtime_status == Status.Failed
    assert done.output == "Orchestrator function 'orchestrator_raises' failed: the input was not acceptable"
    assert done.custom_status == "about to fail"


async def test_unknown_activity_fails_the_instance(features: DevHost) -> None:
    done = await run(features, "unknown_activity")
    assert done.runtime_status == Status.Failed
    assert done.output == (
        "Orchestrator function 'unknown_activity' failed: The function 'no_such_activity' doesn't exist, "
        "is disabled, or is not an activity function. Additional info: The following are the known "
        "activity functions: '" + "', '".join(f.name for f in features.index.of_kind(Kind.ACTIVITY)) + "'."
    )


# -- custom status ---------------------------------------------------------------------------------

# A JSON string of n "x" is n + 2 characters, 2 bytes each in UTF-16; the extension truncates the
# size to whole KB and refuses more than 16: 8,701 characters is 16.998 KB, 8,702 is 17 KB.
LARGEST_STATUS = 8701


async def test_custom_status_just_under_16_kb_is_kept(features: DevHost) -> None:
    done = await run(features, "big_status", LARGEST_STATUS)
    assert done.runtime_status == Status.Completed
    assert done.output == "done"
    assert done.custom_status == "x" * LARGEST_STATUS


async def test_custom_status_just_over_16_kb_fails_the_instance(features: DevHost) -> None:
    done = await run(features, "big_status", LARGEST_STATUS + 1, "too-big")
    assert done.runtime_status == Status.Failed
    assert done.output == (
        "Orchestrator function 'big_status' failed: The UTF-16 size of the JSON-serialized payload must not "
        "exceed 16 KB. The current payload size is 17 KB."
    )
    assert done.custom_status is None  # the oversized value is never stored
    # Nothing the failed episode asked for was scheduled.
    assert scheduled_ids(await stored_history(features, "too-big")) == []


async def test_custom_status_follows_each_episode_and_a_falsy_one_clears_it(features: DevHost) -> None:
    client = features.client()
    instance_id = await client.start_new("status_phases")
    seen = []
    for _ in range(3):
        await idle(features)
        seen.append((await client.get_status(instance_id)).custom_status)
        await client.raise_event(instance_id, "Next", None)
    done = await wait_done(client, instance_id)
    assert done.output == "done"
    # "one" sticks while waiting; "" is falsy, so the SDK sends no status and the stored one is cleared.
    assert seen == ["one", None, {"phase": 3}]
    assert done.custom_status == {"phase": 3}


# -- determinism -----------------------------------------------------------------------------------


async def test_new_uuid_is_the_same_on_every_replay(features: DevHost) -> None:
    done = await run(features, "uuids", None, "uuid-check")
    out = done.output
    # `echoed` went through an activity in the first episode; `first`/`second` were recomputed on replay.
    assert out["echoed"] == [out["first"], out["second"]]
    assert len({out["first"], out["second"], out["third"]}) == 3
    history = await stored_history(features, "uuid-check")
    first_start = next(e["Timestamp"] for e in history if e["EventType"] == 12)
    assert out["first"] == str(_sdk_uuid("uuid-check", first_start, 0))


@pytest.mark.parametrize(("change", "now_asked"), [("name", "activity 'double'"), ("kind", "a timer")])
async def test_replaying_a_different_action_fails_as_non_deterministic(
    features: DevHost, change: str, now_asked: str
) -> None:
    done = await run(features, "fickle", change, f"fickle-{change}")
    assert done.runtime_status == Status.Failed, done.output
    assert done.output.startswith(
        "Orchestrator function 'fickle' failed: Non-deterministic workflow detected: "
    )
    assert f"now asks for {now_asked} as task 0, but the history records activity 'echo' there" in done.output


async def test_a_non_deterministic_child_gives_the_parent_dtfx_details(features: DevHost) -> None:
    done = await run(features, "catching_parent", ["fickle", "name"], "fickle-parent")
    reason, details = done.output.split(" \n ")
    assert reason.startswith("Orchestrator function 'fickle' failed: Non-deterministic workflow detected: ")
    assert details.startswith(
        "Unhandled exception while executing orchestration: "
        "DurableTask.Core.Exceptions.NonDeterministicOrchestrationException: Non-deterministic workflow"
    )


def _sdk_uuid(instance_id: str, orchestrator_started: str, counter: int) -> uuid.UUID:
    """SDK models/DurableOrchestrationContext.py: new_uuid of the instance id, episode start, a counter."""
    from datetime import datetime

    moment = datetime.fromisoformat(orchestrator_started.replace("Z", "+00:00"))
    namespace = uuid.uuid5(uuid.NAMESPACE_OID, "9e952958-5e33-4daf-827f-2fa12937b875")
    return uuid.uuid5(namespace, f"{instance_id}_{moment:%Y-%m-%dT%H:%M:%S.%fZ}_{counter}")


def _seconds_between(start: str, end: str) -> float:
    from datetime import datetime

    def parse(text: str) -> datetime:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))

    return (parse(end) - parse(start)).total_seconds()


@pytest.mark.parametrize("client_input", [{"a": 1}, ["x", 2], "plain text", 7, True, None])
async def test_sdk_start_input_reaches_the_orchestrator_unchanged(
    features: DevHost, client_input: object
) -> None:
    done = await run(features, "input_echo", client_input)
    assert done.runtime_status == Status.Completed, done.output
    assert done.output == {"type": type(client_input).__name__, "value": client_input}
