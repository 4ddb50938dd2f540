"""Instance management through the SDK's DurableOrchestrationClient: what `engine/control.py` and the
RPC endpoint do for start, events, suspend/resume, terminate, restart, purge, queries and rewind."""

from __future__ import annotations

import json

import azure.functions as func
import pytest

from devhost.host import DevHost

from .conftest import on_every_store
from .helpers import (
    Status,
    call,
    idle,
    one_of_each,
    run,
    scheduled_ids,
    start_waiting,
    stored_history,
    wait_done,
    wait_until,
)

# -- suspend, resume, terminate --------------------------------------------------------------------


@on_every_store
async def test_events_wait_while_suspended_and_resume_delivers_them(features: DevHost) -> None:
    client = features.client()
    instance_id = await start_waiting(features)
    await client.suspend(instance_id, "maintenance")
    await wait_until(client, instance_id, lambda s: s.runtime_status == Status.Suspended)
    await client.raise_event(instance_id, "Next", None)
    await idle(features)
    held = await client.get_status(instance_id)
    assert held.runtime_status == Status.Suspended
    assert held.custom_status == "one"  # the event that would clear it has not been delivered
    await client.resume(instance_id, "done")
    await idle(features)
    resumed = await client.get_status(instance_id, show_history=True)
    assert resumed.runtime_status == Status.Running
    assert resumed.custom_status is None  # "Next" arrived: status_phases moved to its second step
    kinds = [e["EventType"] for e in resumed.historyEvents]
    assert kinds.index("ExecutionSuspended") < kinds.index("ExecutionResumed") < kinds.index("EventRaised")


@on_every_store
async def test_terminate_ends_the_instance_with_the_reason_as_output(features: DevHost) -> None:
    client = features.client()
    instance_id = await start_waiting(features)
    await client.terminate(instance_id, "no longer needed")
    done = await wait_done(client, instance_id)
    assert done.runtime_status == Status.Terminated
    assert done.output == "no longer needed"
    with pytest.raises(Exception, match="is gone"):
        await client.raise_event(instance_id, "Next", None)
    await client.terminate(instance_id, "again")  # 410 is not an error for the SDK
    assert (await client.get_status(instance_id)).output == "no longer needed"


@on_every_store
async def test_a_suspended_instance_can_be_terminated(features: DevHost) -> None:
    client = features.client()
    instance_id = await start_waiting(features)
    await client.suspend(instance_id, "hold")
    await wait_until(client, instance_id, lambda s: s.runtime_status == Status.Suspended)
    await client.terminate(instance_id, "cancelled while held")
    done = await wait_done(client, instance_id)
    assert (done.runtime_status, done.output) == (Status.Terminated, "cancelled while held")


async def test_operations_on_an_unknown_instance_raise_not_found(features: DevHost) -> None:
    client = features.client()
    assert not await client.get_status("ghost")
    for operation in (client.terminate, client.suspend, client.resume):
        with pytest.raises(Exception, match=r"No instance with ID 'ghost' found\."):
            await operation("ghost", "why")
    with pytest.raises(Exception, match=r"No instance with ID ghost found\."):
        await client.raise_event("ghost", "Next", 1)


# -- inputs ----------------------------------------------------------------------------------------


async def test_sdk_input_is_double_encoded_and_decoded_once_more_by_get_input(features: DevHost) -> None:
    client = features.client()
    instance_id = await client.start_new("input_echo", None, {"a": 1})
    done = await wait_done(client, instance_id)
    assert done.output == {"type": "dict", "value": {"a": 1}}
    # As with the real extension, the status shows the JSON text the SDK sent (docs/protocol.md, section 4).
    assert (await client.get_status(instance_id, show_input=True)).input_ == '{"a": 1}'


async def test_sdk_event_data_arrives_as_json_text_and_webhook_data_as_json(features: DevHost) -> None:
    client = features.client()
    instance_id = await client.start_new("two_events")
    await client.raise_event(instance_id, "First", {"x": 1})
    url = f"/runtime/webhooks/durabletask/instances/{instance_id}/raiseEvent/Second"
    assert (await call(features, "POST", url, body={"x": 1})).status == 202
    done = await wait_done(client, instance_id)
    assert done.output == {"first": '{"x": 1}', "second": {"x": 1}}


# -- restart, purge, queries -----------------------------------------------------------------------


async def test_restart_with_a_new_id_and_in_place(features: DevHost) -> None:
    client = features.client()
    first = await run(features, "uuids", None, "again")
    restarted = await client.restart("again")
    # SDK quirk (docs/protocol.md, section 4): restart returns the 202 body, not the id.
    assert restarted["id"] != "again"
    other = await wait_done(client, restarted["id"])
    assert other.runtime_status == Status.Completed and other.output["first"] != first.output["first"]
    assert await client.restart("again", restart_with_new_instance_id=False) is not None
    rerun = await wait_until(
        client,
        "again",
        lambda s: s.runtime_status == Status.Completed and s.output["first"] != first.output["first"],
    )
    assert rerun.name == "uuids"


async def test_restart_keeps_the_original_input(features: DevHost) -> None:
    client = features.client()
    await run(features, "input_echo", ["keep", 1], "with-input")
    restarted = await client.restart("with-input")
    done = await wait_done(client, restarted["id"])
    assert done.output == {"type": "list", "value": ["keep", 1]}


async def test_restart_of_an_unknown_instance_fails(features: DevHost) -> None:
    with pytest.raises(Exception, match="unexpected status code 400"):
        await features.client().restart("ghost")


async def test_purge_one_instance(features: DevHost) -> None:
    client = features.client()
    await run(features, "input_echo", 1, "to-purge")
    assert (await client.purge_instance_history("to-purge")).instances_deleted == 1
    assert not await client.get_status("to-purge")
    assert (await client.purge_instance_history("to-purge")).instances_deleted == 0


async def test_purge_by_filter_removes_matching_instances_as_azure_does(features: DevHost) -> None:
    """Through the SDK's purge_instance_history_by: without a finished status, Azure Storage purges every
    status in the range, running instances too (DurableTask.AzureStorage, Tracking/
    AzureTableTrackingStore.cs, PurgeInstanceHistoryAsync)."""
    client = features.client()
    since = await one_of_each(features, "old-")
    result = await client.purge_instance_history_by(since, None, [Status.Completed])
    assert result.instances_deleted == 1
    assert not await client.get_status("old-done")
    assert (await client.get_status("old-failed")).runtime_status == Status.Failed
    result = await client.purge_instance_history_by(since, None, [Status.Running])
    assert result.instances_deleted == 2  # old-failed and old-running: Running alone is no filter
    assert not await client.get_status("old-running")


async def test_status_queries(features: DevHost) -> None:
    client = features.client()
    since = await one_of_each(features, "q-")
    await start_waiting(features, "other-running")
    everything = {s.instance_id: s.runtime_status for s in await client.get_status_all()}
    assert everything == {
        "q-done": Status.Completed,
        "q-failed": Status.Failed,
        "q-running": Status.Running,
        "other-running": Status.Running,
    }
    failed = await client.get_status_by(since, None, [Status.Failed, Status.Running])
    assert sorted(s.instance_id for s in failed) == ["other-running", "q-failed", "q-running"]
    by_prefix = await client.get_status_by(instance_id_prefix="q-")
    assert sorted(s.instance_id for s in by_prefix) == ["q-done", "q-failed", "q-running"]
    assert await client.get_status_by(created_time_to=since) == []


async def test_show_history_lists_what_happened(features: DevHost) -> None:
    client = features.client()
    await run(features, "retry_orchestrator", {"failures": 1, "attempts": 2}, "hist")
    status = await client.get_status("hist", show_history=True, show_history_output=True)
    kinds = [e["EventType"] for e in status.historyEvents]
    assert kinds == [
        "ExecutionStarted",
        "TaskFailed",
        "TimerCreated",
        "TimerFired",
        "TaskCompleted",
        "ExecutionCompleted",
    ]
    completed = status.historyEvents[4]
    assert completed["FunctionName"] == "flaky" and completed["Result"] == {"calls": 2, "key": "hist"}
    assert status.historyEvents[-1]["OrchestrationStatus"] == "Completed"


# -- wait-or-check-status, rewind ------------------------------------------------------------------


def _request(host: DevHost) -> func.HttpRequest:
    return func.HttpRequest("POST", f"{host.url}/api/orchestrators/x", body=b"")


async def test_wait_for_completion_answers_with_the_output(features: DevHost) -> None:
    client = features.client()
    instance_id = await client.start_new("input_echo", None, "hi")
    response = await client.wait_for_completion_or_create_check_status_response(
        _request(features), instance_id, 5000, 50
    )
    assert response.status_code == 200
    assert json.loads(response.get_body()) == {"type": "str", "value": "hi"}


async def test_wait_for_completion_of_a_failure_is_500(features: DevHost) -> None:
    client = features.client()
    instance_id = await client.start_new("orchestrator_raises")
    response = await client.wait_for_completion_or_create_check_status_response(
        _request(features), instance_id, 5000, 50
    )
    assert response.status_code == 500
    body = json.loads(response.get_body())
    assert body["runtimeStatus"] == "Failed" and "the input was not acceptable" in body["output"]


async def test_wait_for_completion_times_out_into_check_status(features: DevHost) -> None:
    client = features.client()
    instance_id = await start_waiting(features)
    response = await client.wait_for_completion_or_create_check_status_response(
        _request(features), instance_id, 200, 50
    )
    assert response.status_code == 202
    assert response.headers["Location"] == json.loads(response.get_body())["statusQueryGetUri"]
    status = await call(features, "GET", response.headers["Location"])
    assert status.status == 202 and status.json()["instanceId"] == instance_id


async def test_rewind_runs_the_failed_activity_again_under_its_old_id(features: DevHost) -> None:
    """DurableTask.AzureStorage's RewindHistoryAsync (durabletask, src/DurableTask.AzureStorage/
    Tracking/AzureTableTrackingStore.cs): the failure and its TaskScheduled become GenericEvents, and
    the replay schedules the activity again; `boom` fails again, so the instance fails again."""
    client = features.client()
    first = await run(features, "activity_raises", None, "broken")
    assert first.runtime_status is Status.Failed
    await client.rewind("broken", "try again")
    again = await wait_done(client, "broken")
    assert again.runtime_status is Status.Failed and again.output == first.output
    history = await stored_history(features, "broken")
    generic = [(e["EventId"], e["Reason"]) for e in history if e["EventType"] == 17 and "Reason" in e]
    assert generic == [
        (0, "Rewound: TaskScheduled"),
        (-1, "Rewound: TaskFailed"),
        (1, "Rewound: ExecutionCompleted"),
    ]
    assert [e["Data"] for e in history if e["EventType"] == 17 and "Reason" not in e] == ["try again"]
    assert scheduled_ids(history) == [(0, "boom")]  # scheduled anew, under the same id
    assert [e["EventType"] for e in history].count(1) == 1  # one ExecutionCompleted, the new one
    await client.rewind("broken", "once more")  # a rewound instance that failed again can be rewound
    assert (await wait_done(client, "broken")).runtime_status is Status.Failed
    assert len(scheduled_ids(await stored_history(features, "broken"))) == 1


async def test_rewind_of_a_failure_after_retries_is_refused_with_501(features: DevHost) -> None:
    client = features.client()
    assert (await run(features, "retry_always_fails", None, "retried")).runtime_status is Status.Failed
    reply = await call(features, "POST", "/runtime/webhooks/durabletask/instances/retried/rewind")
    assert reply.status == 501 and "retry options" in reply.json()["Message"]
    assert (await client.get_status("retried")).runtime_status is Status.Failed


async def test_rewind_of_a_host_side_failure_replays_to_the_same_failure(features: DevHost) -> None:
    """A failure devhost raised itself (an unknown activity) recorded no TaskScheduled for the task id
    it had taken: the rewind's replay must ask for it again, not wait for it forever."""
    client = features.client()
    first = await run(features, "unknown_activity", None, "unknown")
    assert first.runtime_status is Status.Failed and "no_such_activity" in first.output
    await client.rewind("unknown", "still unknown")
    again = await wait_done(client, "unknown")
    assert again.runtime_status is Status.Failed and again.output == first.output
