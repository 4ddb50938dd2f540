"""The Durable HTTP API under /runtime/webhooks/durabletask: status codes, headers and bodies."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from devhost.host import DevHost

from .helpers import WEBHOOKS, call, idle, one_of_each, poll_url, run, start_waiting

CHECK_STATUS_KEYS = {"id", "statusQueryGetUri", "sendEventPostUri", "terminatePostUri",
                     "purgeHistoryDeleteUri", "restartPostUri", "suspendPostUri", "resumePostUri"}
JSON = {"Content-Type": "application/json"}


def _assert_json_error(reply, status: int, *fragments: str) -> None:
    assert reply.status == status, reply.text
    assert reply.headers["Content-Type"].startswith("application/json")
    message = reply.json()["Message"]
    for fragment in fragments:
        assert fragment in message


# -- start -----------------------------------------------------------------------------------------


async def test_start_answers_202_with_check_status_links(features: DevHost) -> None:
    reply = await call(features, "POST", f"{WEBHOOKS}/orchestrators/input_echo", body={"a": 1})
    assert reply.status == 202
    body = reply.json()
    assert set(body) == CHECK_STATUS_KEYS
    assert reply.headers["Location"] == body["statusQueryGetUri"]
    assert reply.headers["Retry-After"] == "10"
    assert body["statusQueryGetUri"].startswith(f"{features.url}{WEBHOOKS}/instances/{body['id']}?")
    done = await poll_url(features, body["statusQueryGetUri"])
    # A webhook body is JSON once, so the orchestrator gets the object itself.
    assert done.status == 200 and done.json()["output"] == {"type": "dict", "value": {"a": 1}}


async def test_start_with_an_instance_id_and_wait_for_the_output(features: DevHost) -> None:
    reply = await call(features, "POST", f"{WEBHOOKS}/orchestrators/input_echo/chosen-id",
                       body={"b": [1, 2]}, params={"timeout": "5", "pollingInterval": "0.05"})
    assert reply.status == 200
    assert reply.json() == {"type": "dict", "value": {"b": [1, 2]}}
    status = await call(features, "GET", f"{WEBHOOKS}/instances/chosen-id")
    assert status.json()["input"] == {"b": [1, 2]}


async def test_webhook_list_input_fails_in_the_sdk_as_on_azure(features: DevHost) -> None:
    """PROTOCOL 1: the trigger's `input` is the parsed body; the SDK re-parses only strings and dicts."""
    reply = await call(features, "POST", f"{WEBHOOKS}/orchestrators/input_echo",
                       body=[1, 2], params={"timeout": "5", "pollingInterval": "0.05"})
    assert reply.json()["runtimeStatus"] == "Failed"
    assert reply.json()["output"] == (
        "Orchestrator function 'input_echo' failed: "
        "the JSON object must be str, bytes or bytearray, not list")


async def test_start_and_wait_for_a_failure_answers_the_status(features: DevHost) -> None:
    reply = await call(features, "POST", f"{WEBHOOKS}/orchestrators/orchestrator_raises",
                       params={"timeout": "5", "pollingInterval": "0.05"})
    assert reply.status == 200
    assert reply.json()["runtimeStatus"] == "Failed"


async def test_start_and_wait_past_the_timeout_answers_202(features: DevHost) -> None:
    reply = await call(features, "POST", f"{WEBHOOKS}/orchestrators/status_phases",
                       params={"timeout": "0.1", "pollingInterval": "0.05"})
    assert reply.status == 202 and set(reply.json()) == CHECK_STATUS_KEYS


@pytest.mark.parametrize(("path", "data", "status", "fragment"), [
    ("orchestrators/input_echo", b"{not json", 400, "Invalid JSON"),
    ("orchestrators/input_echo/%40at-start", b"", 400, "must not start with '@'"),
    ("orchestrators/no_such_orchestrator", b"", 400, "no_such_orchestrator"),
])
async def test_bad_starts_are_json_errors(features: DevHost, path: str, data: bytes, status: int,
                                          fragment: str) -> None:
    reply = await call(features, "POST", f"{WEBHOOKS}/{path}", data=data, headers=JSON)
    _assert_json_error(reply, status, fragment)


# -- status ----------------------------------------------------------------------------------------


async def test_status_codes_follow_the_runtime_status(features: DevHost) -> None:
    await start_waiting(features, "st-running")
    url = f"{features.url}{WEBHOOKS}/instances/st-running?taskHub=TestHubName"
    running = await call(features, "GET", url)
    assert running.status == 202
    assert running.headers["Location"] == url and running.headers["Retry-After"] == "5"
    assert running.json()["runtimeStatus"] == "Running" and running.json()["customStatus"] == "one"

    await run(features, "input_echo", 3, "st-done")
    done = await call(features, "GET", f"{WEBHOOKS}/instances/st-done")
    assert done.status == 200 and "Location" not in done.headers
    assert set(done.json()) == {"name", "instanceId", "runtimeStatus", "input", "customStatus", "output",
                                "createdTime", "lastUpdatedTime"}
    assert done.json()["createdTime"].endswith("Z") and len(done.json()["createdTime"]) == 20

    await run(features, "orchestrator_raises", None, "st-failed")
    failed = f"{WEBHOOKS}/instances/st-failed"
    assert (await call(features, "GET", failed)).status == 200
    strict = {"returnInternalServerErrorOnFailure": "true"}
    assert (await call(features, "GET", failed, params=strict)).status == 500

    _assert_json_error(await call(features, "GET", f"{WEBHOOKS}/instances/st-unknown"), 404, "st-unknown")


async def test_show_history_shape(features: DevHost) -> None:
    await run(features, "parent", None, "shape")
    url = f"{WEBHOOKS}/instances/shape"
    body = (await call(features, "GET", url, params={"showHistory": "true"})).json()
    events = body["historyEvents"]
    kinds = [e["EventType"] for e in events]
    assert kinds[0] == "ExecutionStarted" and kinds[-1] == "ExecutionCompleted"
    assert kinds.count("SubOrchestrationInstanceCompleted") == 2
    assert kinds.count("SubOrchestrationInstanceFailed") == 1
    # Scheduling and episode markers are merged away; ids and replay flags are not shown.
    assert not {"OrchestratorStarted", "OrchestratorCompleted", "TaskScheduled",
                "SubOrchestrationInstanceCreated"} & set(kinds)
    assert not any({"EventId", "IsPlayed", "TaskScheduledId"} & set(e) for e in events)
    assert events[0]["FunctionName"] == "parent"
    child = events[kinds.index("SubOrchestrationInstanceCompleted")]
    assert child["FunctionName"] == "child" and "ScheduledTime" in child and "Result" not in child
    assert "Result" not in events[-1]

    both = {"showHistory": "true", "showHistoryOutput": "true"}
    with_output = (await call(features, "GET", url, params=both)).json()["historyEvents"]
    assert with_output[-1]["Result"] == body["output"]
    assert with_output[-1]["OrchestrationStatus"] == "Completed"
    assert "historyEvents" not in (await call(features, "GET", url)).json()


async def test_show_input_false_hides_the_input(features: DevHost) -> None:
    await run(features, "input_echo", {"secret": 1}, "hidden")
    shown = (await call(features, "GET", f"{WEBHOOKS}/instances/hidden")).json()
    hidden = (await call(features, "GET", f"{WEBHOOKS}/instances/hidden",
                         params={"showInput": "false"})).json()
    assert shown["input"] == '{"secret": 1}' and hidden["input"] is None


# -- events and control ----------------------------------------------------------------------------


async def test_raise_event_codes(features: DevHost) -> None:
    await start_waiting(features, "ev")
    url = f"{WEBHOOKS}/instances/ev/raiseEvent/Next"
    _assert_json_error(await call(features, "POST", url, data=b"1", headers={"Content-Type": "text/plain"}),
                       400, "application/json")
    _assert_json_error(await call(features, "POST", url, data=b"{", headers=JSON), 400, "Invalid JSON")
    assert (await call(features, "POST", url, body=1)).status == 202
    await idle(features)
    status = (await call(features, "GET", f"{WEBHOOKS}/instances/ev")).json()
    assert status["customStatus"] is None  # delivered: status_phases went on to its empty status
    terminate = f"{WEBHOOKS}/instances/ev/terminate"
    assert (await call(features, "POST", terminate, params={"reason": "end"})).status == 202
    await idle(features)
    _assert_json_error(await call(features, "POST", url, body=1), 410)
    nobody = f"{WEBHOOKS}/instances/nobody/raiseEvent/Next"
    _assert_json_error(await call(features, "POST", nobody, body=1), 404)


@pytest.mark.parametrize("operation", ["terminate", "suspend", "resume"])
async def test_control_operations_on_a_finished_instance_are_410(features: DevHost, operation: str) -> None:
    await run(features, "input_echo", 1, "finished")
    reply = await call(features, "POST", f"{WEBHOOKS}/instances/finished/{operation}", params={"reason": "x"})
    _assert_json_error(reply, 410, "finished")


async def test_suspend_resume_and_terminate_over_http(features: DevHost) -> None:
    await start_waiting(features, "ctl")
    base = f"{WEBHOOKS}/instances/ctl"
    assert (await call(features, "POST", f"{base}/suspend", params={"reason": "pause"})).status == 202
    await idle(features)
    assert (await call(features, "GET", base)).json()["runtimeStatus"] == "Suspended"
    assert (await call(features, "POST", f"{base}/resume", params={"reason": "go"})).status == 202
    await idle(features)
    assert (await call(features, "GET", base)).json()["runtimeStatus"] == "Running"
    assert (await call(features, "POST", f"{base}/terminate", params={"reason": "stop now"})).status == 202
    await idle(features)
    final = await call(features, "GET", base)
    assert final.status == 200
    assert (final.json()["runtimeStatus"], final.json()["output"]) == ("Terminated", "stop now")


async def test_restart_over_http_answers_check_status(features: DevHost) -> None:
    await run(features, "input_echo", "again", "to-restart")
    reply = await call(features, "POST", f"{WEBHOOKS}/instances/to-restart/restart")
    assert reply.status == 202 and set(reply.json()) == CHECK_STATUS_KEYS
    assert reply.json()["id"] != "to-restart"
    done = await poll_url(features, reply.headers["Location"])
    assert done.json()["output"] == {"type": "str", "value": "again"}


async def test_entities_are_refused_and_rewind_of_an_unknown_id_is_404(features: DevHost) -> None:
    _assert_json_error(await call(features, "GET", f"{WEBHOOKS}/entities/counter/one"), 501, "entities")
    _assert_json_error(await call(features, "POST", f"{WEBHOOKS}/instances/x/rewind"), 404, "'x'")


# -- list and purge --------------------------------------------------------------------------------


async def test_list_pages_with_top_and_continuation_token(features: DevHost) -> None:
    for n in range(5):
        await run(features, "input_echo", n, f"page-{n}")
    await run(features, "input_echo", 0, "other")
    seen: list[str] = []
    headers: dict[str, str] = {}
    for _ in range(5):
        reply = await call(features, "GET", f"{WEBHOOKS}/instances", headers=headers,
                           params={"top": "2", "instanceIdPrefix": "page-"})
        assert reply.status == 200
        page = reply.json()
        assert 0 < len(page) <= 2
        seen += [s["instanceId"] for s in page]
        token = reply.headers.get("x-ms-continuation-token")
        if not token:
            break
        headers = {"x-ms-continuation-token": token}
    assert seen == [f"page-{n}" for n in range(5)]


async def test_list_filters_by_status_and_time(features: DevHost) -> None:
    since = await one_of_each(features, "l-")
    url = f"{WEBHOOKS}/instances/"

    async def ids(**params: str) -> list[str]:
        reply = await call(features, "GET", url, params=params)
        assert reply.status == 200
        return sorted(s["instanceId"] for s in reply.json())

    assert await ids(runtimeStatus="Failed,Running") == ["l-failed", "l-running"]
    assert await ids(runtimeStatus="Completed,NotAStatus") == ["l-done"]
    assert await ids(createdTimeFrom=since.isoformat()) == ["l-done", "l-failed", "l-running"]
    assert await ids(createdTimeTo=since.isoformat()) == []
    bad_time = {"createdTimeFrom": "yesterday"}
    _assert_json_error(await call(features, "GET", url, params=bad_time), 400, "ISO-8601")
    _assert_json_error(await call(features, "GET", url, params={"top": "0"}), 400, "top")


async def test_purge_by_filter_needs_created_time_from(features: DevHost) -> None:
    since = await one_of_each(features, "p-")
    url = f"{WEBHOOKS}/instances/"
    _assert_json_error(await call(features, "DELETE", url), 400, "createdTimeFrom")
    future = (datetime.now(timezone.utc) + timedelta(days=400)).isoformat()
    _assert_json_error(await call(features, "DELETE", url, params={"createdTimeFrom": future}), 404)
    reply = await call(features, "DELETE", url, params={"createdTimeFrom": since.isoformat()})
    assert reply.status == 200 and reply.json() == {"instancesDeleted": 2}
    remaining = (await call(features, "GET", url)).json()
    assert [s["instanceId"] for s in remaining] == ["p-running"]


async def test_purge_one_instance_over_http(features: DevHost) -> None:
    await run(features, "input_echo", 1, "gone")
    url = f"{WEBHOOKS}/instances/gone"
    reply = await call(features, "DELETE", url)
    assert reply.status == 200 and reply.json() == {"instancesDeleted": 1}
    _assert_json_error(await call(features, "DELETE", url), 404)
    _assert_json_error(await call(features, "GET", url), 404)

