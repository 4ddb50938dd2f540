"""The Durable HTTP API under /runtime/webhooks/durabletask: status codes, headers and bodies."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import azure.durable_functions as df
import pytest

from devhost.host import DevHost

from .conftest import host_for
from .helpers import WEBHOOKS, call, idle, one_of_each, poll_url, run, start_waiting, wait_done

CHECK_STATUS_KEYS = {
    "id",
    "statusQueryGetUri",
    "sendEventPostUri",
    "terminatePostUri",
    "purgeHistoryDeleteUri",
    "restartPostUri",
    "suspendPostUri",
    "resumePostUri",
}
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
    reply = await call(
        features,
        "POST",
        f"{WEBHOOKS}/orchestrators/input_echo/chosen-id",
        body={"b": [1, 2]},
        params={"timeout": "5", "pollingInterval": "0.05"},
    )
    assert reply.status == 200
    assert reply.json() == {"type": "dict", "value": {"b": [1, 2]}}
    status = await call(features, "GET", f"{WEBHOOKS}/instances/chosen-id")
    assert status.json()["input"] == {"b": [1, 2]}


async def test_webhook_list_input_fails_in_the_sdk_as_on_azure(features: DevHost) -> None:
    """docs/protocol.md 1: the trigger's `input` is the parsed body; the SDK re-parses strings, dicts."""
    reply = await call(
        features,
        "POST",
        f"{WEBHOOKS}/orchestrators/input_echo",
        body=[1, 2],
        params={"timeout": "5", "pollingInterval": "0.05"},
    )
    assert reply.json()["runtimeStatus"] == "Failed"
    assert reply.json()["output"] == (
        "Orchestrator function 'input_echo' failed: the JSON object must be str, bytes or bytearray, not list"
    )


async def test_start_and_wait_for_a_failure_answers_the_status(features: DevHost) -> None:
    reply = await call(
        features,
        "POST",
        f"{WEBHOOKS}/orchestrators/orchestrator_raises",
        params={"timeout": "5", "pollingInterval": "0.05"},
    )
    assert reply.status == 200
    assert reply.json()["runtimeStatus"] == "Failed"


async def test_start_and_wait_past_the_timeout_answers_202(features: DevHost) -> None:
    reply = await call(
        features,
        "POST",
        f"{WEBHOOKS}/orchestrators/status_phases",
        params={"timeout": "0.1", "pollingInterval": "0.05"},
    )
    assert reply.status == 202 and set(reply.json()) == CHECK_STATUS_KEYS


@pytest.mark.parametrize(
    "params",
    [
        {"timeout": "5"},  # a timeout alone does not wait
        {"pollingInterval": "0.05"},
        {"timeout": "five", "pollingInterval": "0.05"},  # unreadable: as if absent
        {"timeout": "5", "pollingInterval": "1_0"},  # double.TryParse takes no '_'
    ],
)
async def test_start_waits_only_when_timeout_and_interval_both_parse(features: DevHost, params) -> None:
    """HttpApiHandler.cs (azure-functions-durable-extension), HandleStartOrchestratorRequestAsync."""
    reply = await call(features, "POST", f"{WEBHOOKS}/orchestrators/input_echo", body=1, params=params)
    assert reply.status == 202 and set(reply.json()) == CHECK_STATUS_KEYS


async def test_start_waits_with_dotnet_number_forms(features: DevHost) -> None:
    """HttpApiHandler.cs, TryGetTimeSpanQueryParameterValue: double.TryParse, group separators allowed."""
    reply = await call(
        features,
        "POST",
        f"{WEBHOOKS}/orchestrators/input_echo",
        body={"n": 1},
        params={"timeout": " 1,000 ", "pollingInterval": ".05"},
    )
    assert reply.status == 200 and reply.json() == {"type": "dict", "value": {"n": 1}}


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"timeout": "1", "pollingInterval": "5"}, "Total timeout 1 should be bigger than retry timeout 5"),
        ({"timeout": "NaN", "pollingInterval": "1"}, "'timeout' must be a finite number"),
        ({"timeout": "5", "pollingInterval": "-Infinity"}, "'pollingInterval' must be a finite number"),
    ],
)
async def test_start_with_bad_wait_values_is_400_after_the_start(features: DevHost, params, fragment) -> None:
    """HttpApiHandler.cs: the wait values are read after StartNewAsync, so the instance runs although
    the answer is 400 (WaitForCompletionOrCreateCheckStatusResponseAsync throws ArgumentException)."""
    reply = await call(
        features, "POST", f"{WEBHOOKS}/orchestrators/input_echo/started-anyway", body={}, params=params
    )
    _assert_json_error(reply, 400, "One or more of the arguments submitted is incorrect", fragment)
    done = await poll_url(features, f"{WEBHOOKS}/instances/started-anyway")
    assert done.json()["runtimeStatus"] == "Completed"


async def test_unknown_orchestrator_lists_the_known_ones(features: DevHost) -> None:
    """DurableTaskExtension.cs (azure-functions-durable-extension), GetInvalidOrchestratorFunctionMessage;
    the SDK's start_new raises with the host's message."""
    with pytest.raises(Exception) as raised:
        await features.client().start_new("no_such_orchestrator")
    message = str(raised.value)
    assert (
        "The function 'no_such_orchestrator' doesn't exist, is disabled, or is not an orchestrator "
        "function. Additional info: The following are the known orchestrator functions: '" in message
    )
    assert "'input_echo'" in message and "'status_phases'" in message and "'echo'" not in message


async def test_management_urls_encode_the_id_as_webutility_does(features: DevHost) -> None:
    """HttpApiHandler.cs, GetClientResponseLinks: WebUtility.UrlEncode, so a space becomes '+' and '~'
    %7E; HandleRequestAsync reads the path back with WebUtility.UrlDecode, so the '+' link finds the id
    (the fix of azure-functions-durable-extension issue 2590), and an unencoded '+' is a space."""
    reply = await call(features, "POST", f"{WEBHOOKS}/orchestrators/input_echo/a%20b~c%2Bd", body=1)
    links = reply.json()
    assert links["id"] == "a b~c+d"
    assert links["statusQueryGetUri"].startswith(f"{features.url}{WEBHOOKS}/instances/a+b%7Ec%2Bd?")
    assert links["sendEventPostUri"].split("?")[0].endswith("/instances/a+b%7Ec%2Bd/raiseEvent/{eventName}")
    found = await call(features, "GET", links["statusQueryGetUri"])
    assert found.status in (200, 202) and found.json()["instanceId"] == "a b~c+d"
    assert (await call(features, "GET", f"{WEBHOOKS}/instances/a%20b~c%2Bd")).status in (200, 202)
    assert (await call(features, "GET", f"{WEBHOOKS}/instances/a+b~c+d")).status == 404  # "a b~c d"
    await call(features, "POST", f"{WEBHOOKS}/orchestrators/input_echo/x+y", body=1)
    assert (await call(features, "GET", f"{WEBHOOKS}/instances/x%20y")).json()["instanceId"] == "x y"


async def test_start_of_an_active_id_is_refused_by_default(features: DevHost) -> None:
    await start_waiting(features, "dup")
    reply = await call(features, "POST", f"{WEBHOOKS}/orchestrators/input_echo/dup", body={})
    _assert_json_error(reply, 409, "dup")


async def test_any_state_lets_a_start_replace_an_active_instance(monkeypatch) -> None:
    """host.json overridableExistingInstanceStates: AnyState (azure-functions-durable-extension,
    OverridableStates.cs: no dedupe statuses; DurableClient.cs, StartNewAsync), through the SDK client."""
    monkeypatch.setenv(
        "AzureFunctionsJobHost__extensions__durableTask__overridableExistingInstanceStates", "AnyState"
    )
    async for host in host_for("features"):
        await start_waiting(host, "dup")
        client = host.client()
        assert await client.start_new("input_echo", "dup", {"second": True}) == "dup"
        status = await wait_done(client, "dup")
        assert status.name == "input_echo" and status.output == {"type": "dict", "value": {"second": True}}
        await start_waiting(host, "dup-running")
        restart = await call(
            host,
            "POST",
            f"{WEBHOOKS}/instances/dup-running/restart",
            params={"restartWithNewInstanceId": "false"},
        )
        assert restart.status == 202 and restart.json()["id"] == "dup-running"
        await idle(host)


@pytest.mark.parametrize(
    ("path", "data", "status", "fragment"),
    [
        ("orchestrators/input_echo", b"{not json", 400, "Invalid JSON"),
        ("orchestrators/input_echo/%40at-start", b"", 400, "must not start with '@'"),
        ("orchestrators/no_such_orchestrator", b"", 400, "no_such_orchestrator"),
    ],
)
async def test_bad_starts_are_json_errors(
    features: DevHost, path: str, data: bytes, status: int, fragment: str
) -> None:
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
    assert set(done.json()) == {
        "name",
        "instanceId",
        "runtimeStatus",
        "input",
        "customStatus",
        "output",
        "createdTime",
        "lastUpdatedTime",
    }
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
    assert not {
        "OrchestratorStarted",
        "OrchestratorCompleted",
        "TaskScheduled",
        "SubOrchestrationInstanceCreated",
    } & set(kinds)
    assert not any({"EventId", "IsPlayed", "TaskScheduledId"} & set(e) for e in events)
    assert events[0]["FunctionName"] == "parent"
    child = events[kinds.index("SubOrchestrationInstanceCompleted")]
    assert child["FunctionName"] == "child" and "ScheduledTime" in child and "Result" not in child
    failed = events[kinds.index("SubOrchestrationInstanceFailed")]
    assert failed["Reason"] == "Orchestrator function 'failing_child' failed: 'child lost its key'"
    assert failed["Details"].startswith("Message: 'child lost its key', StackTrace: Traceback")
    assert "Result" not in events[-1]

    both = {"showHistory": "true", "showHistoryOutput": "true"}
    with_output = (await call(features, "GET", url, params=both)).json()["historyEvents"]
    assert with_output[-1]["Result"] == body["output"]
    assert with_output[-1]["OrchestrationStatus"] == "Completed"
    assert "historyEvents" not in (await call(features, "GET", url)).json()


async def test_show_input_false_hides_the_input(features: DevHost) -> None:
    await run(features, "input_echo", {"secret": 1}, "hidden")
    shown = (await call(features, "GET", f"{WEBHOOKS}/instances/hidden")).json()
    hidden = (
        await call(features, "GET", f"{WEBHOOKS}/instances/hidden", params={"showInput": "false"})
    ).json()
    assert shown["input"] == '{"secret": 1}' and hidden["input"] is None


# -- events and control ----------------------------------------------------------------------------


async def test_raise_event_codes(features: DevHost) -> None:
    await start_waiting(features, "ev")
    url = f"{WEBHOOKS}/instances/ev/raiseEvent/Next"
    _assert_json_error(
        await call(features, "POST", url, data=b"1", headers={"Content-Type": "text/plain"}),
        400,
        "application/json",
    )
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


async def test_raise_event_checks_in_the_extensions_order(features: DevHost) -> None:
    """HttpApiHandler.cs (azure-functions-durable-extension), HandleRaiseEventRequestAsync: 404, then
    410, then the content type, then the JSON; an empty JSON body is "Invalid JSON content"."""
    text = {"Content-Type": "text/plain"}
    nobody = f"{WEBHOOKS}/instances/nobody/raiseEvent/Next"
    _assert_json_error(await call(features, "POST", nobody, data=b"{", headers=text), 404)
    await run(features, "input_echo", 1, "ev-done")
    done = f"{WEBHOOKS}/instances/ev-done/raiseEvent/Next"
    _assert_json_error(await call(features, "POST", done, data=b"{", headers=text), 410)
    await start_waiting(features, "ev-order")
    url = f"{WEBHOOKS}/instances/ev-order/raiseEvent/Next"
    for empty in (b"", b"  "):
        reply = await call(features, "POST", url, data=empty, headers=JSON)
        _assert_json_error(reply, 400, "Invalid JSON content")
    upper = {"Content-Type": "Application/JSON; charset=utf-8"}
    assert (await call(features, "POST", url, data=b"1", headers=upper)).status == 202


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


async def test_suspend_of_a_suspended_and_resume_of_a_running_instance_fail(features: DevHost) -> None:
    """DurableClient.cs (azure-functions-durable-extension), SuspendAsync / ResumeAsync throw
    InvalidOperationException, answered 500 by HttpApiHandler.cs; the SDK client then raises."""
    client = features.client()
    instance_id = await start_waiting(features, "ctl-state")
    with pytest.raises(Exception, match="unexpected status code 500"):
        await client.resume(instance_id, "not suspended")
    reply = await call(features, "POST", f"{WEBHOOKS}/instances/ctl-state/resume")
    _assert_json_error(
        reply,
        500,
        "Cannot resume the orchestration instance ctl-state because instance is in the Running state.",
    )
    await client.suspend(instance_id, "pause")
    await idle(features)
    with pytest.raises(Exception, match="unexpected status code 500"):
        await client.suspend(instance_id, "again")
    reply = await call(features, "POST", f"{WEBHOOKS}/instances/ctl-state/suspend")
    _assert_json_error(reply, 500, "because instance is in the Suspended state.")
    await client.resume(instance_id, "go")
    await idle(features)
    assert (await client.get_status(instance_id)).runtime_status.value == "Running"


async def test_restart_over_http_answers_check_status(features: DevHost) -> None:
    await run(features, "input_echo", "again", "to-restart")
    reply = await call(features, "POST", f"{WEBHOOKS}/instances/to-restart/restart")
    assert reply.status == 202 and set(reply.json()) == CHECK_STATUS_KEYS
    assert reply.json()["id"] != "to-restart"
    done = await poll_url(features, reply.headers["Location"])
    assert done.json()["output"] == {"type": "str", "value": "again"}


@pytest.mark.parametrize(
    ("flag", "same_id"),
    [
        ("false", True),
        ("False", True),
        (" FALSE ", True),
        ("0", False),
        ("no", False),
        ("true", False),
    ],
)
async def test_restart_with_new_instance_id_is_read_with_bool_tryparse(
    features: DevHost, flag: str, same_id: bool
) -> None:
    """HttpApiHandler.cs (azure-functions-durable-extension), HandleRestartInstanceRequestAsync:
    bool.TryParse; a value it cannot read means the default, a new id."""
    await run(features, "input_echo", 1, "re-flag")
    reply = await call(
        features, "POST", f"{WEBHOOKS}/instances/re-flag/restart", params={"restartWithNewInstanceId": flag}
    )
    assert reply.status == 202
    assert (reply.json()["id"] == "re-flag") is same_id
    await idle(features)


async def test_restart_waits_like_a_start(features: DevHost) -> None:
    """HttpApiHandler.cs, HandleRestartInstanceRequestAsync: timeout and pollingInterval, as on a start;
    the SDK client's restart sends restartWithNewInstanceId=false and gets the same id back."""
    await run(features, "input_echo", "again", "re-wait")
    reply = await call(
        features,
        "POST",
        f"{WEBHOOKS}/instances/re-wait/restart",
        params={"timeout": "5", "pollingInterval": "0.05"},
    )
    assert reply.status == 200 and reply.json() == {"type": "str", "value": "again"}
    bad = {"timeout": "1", "pollingInterval": "2"}
    reply = await call(features, "POST", f"{WEBHOOKS}/instances/re-wait/restart", params=bad)
    _assert_json_error(reply, 400, "Total timeout 1 should be bigger than retry timeout 2")
    await idle(features)
    await features.client().restart("re-wait", restart_with_new_instance_id=False)
    await idle(features)
    status = await call(features, "GET", f"{WEBHOOKS}/instances/re-wait")
    assert status.json()["runtimeStatus"] == "Completed"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "orchestrators/input_echo"),
        ("PUT", "instances"),
        ("POST", "instances/x"),
        ("GET", "instances/x/terminate"),
        ("POST", "instances/x/explode"),
        ("GET", "instances/x/raiseEvent/Next"),
        ("GET", "no/such/route"),
    ],
)
async def test_wrong_method_or_unknown_route_is_404(features: DevHost, method: str, path: str) -> None:
    """HttpApiHandler.cs (azure-functions-durable-extension), HandleRequestAsync: 404 for both (devhost
    adds a JSON body saying so, where the extension's is empty)."""
    reply = await call(features, method, f"{WEBHOOKS}/{path}")
    _assert_json_error(reply, 404)
    assert "Allow" not in reply.headers


async def test_operation_names_match_in_any_case(features: DevHost) -> None:
    """HttpApiHandler.cs, HandleRequestAsync compares operations with OrdinalIgnoreCase."""
    await start_waiting(features, "ctl-case")
    assert (await call(features, "POST", f"{WEBHOOKS}/instances/ctl-case/TERMINATE")).status == 202
    await idle(features)
    status = await call(features, "GET", f"{WEBHOOKS}/instances/ctl-case")
    assert status.json()["runtimeStatus"] == "Terminated"


async def test_task_hub_and_connection_must_name_devhosts_own(features: DevHost) -> None:
    """HttpApiHandler.cs (azure-functions-durable-extension), GetClient: taskHub and connection (keys in
    any case, blank values ignored) select the hub; devhost has one and refuses another with 400."""
    await run(features, "input_echo", {}, "hub-one")
    url = f"{WEBHOOKS}/instances/hub-one"
    for params in (
        {"taskHub": "testhubname"},
        {"TASKHUB": "TestHubName", "Connection": "Storage"},
        {"taskHub": " ", "connection": "AzureWebJobsStorage"},
    ):
        assert (await call(features, "GET", url, params=params)).status == 200
    _assert_json_error(
        await call(features, "GET", url, params={"taskHub": "OtherHub"}),
        400,
        "taskHub='OtherHub' names another task hub",
        "'TestHubName'",
    )
    _assert_json_error(
        await call(features, "DELETE", url, params={"connection": "Other"}), 400, "connection='Other'"
    )
    assert (await call(features, "GET", url)).status == 200  # not purged
    await start_waiting(features, "hub-two")
    # The SDK sends taskHub= on raise_event; its words for any 400 are about the content type.
    with pytest.raises(Exception, match="Only application/json"):
        await features.client().raise_event("hub-two", "Next", 1, task_hub_name="OtherHub")
    assert (await features.client().get_status("hub-two")).custom_status == "one"


async def test_an_unknown_entity_and_rewind_of_an_unknown_id_are_404(features: DevHost) -> None:
    _assert_json_error(await call(features, "GET", f"{WEBHOOKS}/entities/counter/one"), 404, "'counter'")
    rewind = await call(features, "POST", f"{WEBHOOKS}/instances/x/rewind")
    assert (rewind.status, rewind.json()) == (404, 'No orchestration with instance ID "$x" found.')


# -- list and purge --------------------------------------------------------------------------------


async def test_list_pages_with_top_and_continuation_token(features: DevHost) -> None:
    for n in range(5):
        await run(features, "input_echo", n, f"page-{n}")
    await run(features, "input_echo", 0, "other")
    seen: list[str] = []
    headers: dict[str, str] = {}
    for _ in range(5):
        reply = await call(
            features,
            "GET",
            f"{WEBHOOKS}/instances",
            headers=headers,
            params={"top": "2", "instanceIdPrefix": "page-"},
        )
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

    every = ["l-done", "l-failed", "l-running"]
    assert await ids(runtimeStatus="Failed,Running") == ["l-failed", "l-running"]
    assert await ids(runtimeStatus="Completed,NotAStatus") == ["l-done"]
    assert await ids(createdTimeFrom=since.isoformat()) == every
    assert await ids(createdTimeTo=since.isoformat()) == []


async def test_list_filters_parse_like_the_extension(features: DevHost) -> None:
    """HttpApiHandler.cs, `TryGetIEnumerableQueryParameterValue` (Enum.TryParse), `DateTime.TryParse`,
    `int.TryParse`: names are case-sensitive, numbers count, what does not parse is no filter."""
    await one_of_each(features, "n-")
    url = f"{WEBHOOKS}/instances/"
    every = ["n-done", "n-failed", "n-running"]

    async def ids(**params: str) -> list[str]:
        reply = await call(features, "GET", url, params=params)
        assert reply.status == 200, reply.text
        return sorted(s["instanceId"] for s in reply.json())

    assert await ids(runtimeStatus="failed") == every  # wrong case: not a status, so no filter
    assert await ids(runtimeStatus=" Failed ") == ["n-failed"]
    assert await ids(runtimeStatus="3") == ["n-failed"]
    assert await ids(runtimeStatus="0,1") == ["n-done", "n-running"]
    assert await ids(runtimeStatus="42") == []  # a number parses even outside the enum
    assert await ids(createdTimeFrom="yesterday") == every
    assert await ids(createdTimeTo="not a time") == every
    # DateTime.TryParse reads more than ISO 8601: US dates, month names, RFC 1123.
    assert await ids(createdTimeTo="01/01/2000") == [] and await ids(createdTimeFrom="Jan 1, 2000") == every
    assert await ids(createdTimeTo="Sat, 01 Jan 2000 00:00:00 GMT") == []
    # The calendar's ends, where a local offset would step outside it: .NET reads them all the same.
    assert await ids(createdTimeFrom="0001-01-01") == every and await ids(createdTimeTo="0001-01-01") == []
    assert await ids(createdTimeTo="9999-12-31T23:59:59-05:00") == every
    for edge in ("0001-01-01", "9999-12-31T23:59:59-05:00"):
        listed = await call(features, "GET", f"{WEBHOOKS}/entities", params={"lastOperationTimeTo": edge})
        assert listed.status == 200, listed.text
    assert await ids(top="many") == every  # default page size 100
    assert await ids(top="99999") == every  # no upper bound
    _assert_json_error(await call(features, "GET", url, params={"top": "0"}), 400, "top")


async def test_list_always_answers_the_continuation_header(features: DevHost) -> None:
    """HttpApiHandler.cs adds `x-ms-continuation-token` to every list response, empty on the last page."""
    await run(features, "input_echo", 1, "c-1")
    await run(features, "input_echo", 2, "c-2")
    url = f"{WEBHOOKS}/instances"
    first = await call(features, "GET", url, params={"top": "1", "instanceIdPrefix": "c-"})
    token = first.headers["x-ms-continuation-token"]
    assert token
    second = await call(
        features,
        "GET",
        url,
        params={"top": "1", "instanceIdPrefix": "c-"},
        headers={"x-ms-continuation-token": token},
    )
    assert [s["instanceId"] for s in second.json()] == ["c-2"]
    assert second.headers["x-ms-continuation-token"] == ""
    bad = await call(features, "GET", url, headers={"x-ms-continuation-token": "c-1"})
    _assert_json_error(bad, 400, "continuation")


async def test_purge_by_filter_needs_created_time_from(features: DevHost) -> None:
    since = await one_of_each(features, "p-")
    url = f"{WEBHOOKS}/instances/"
    _assert_json_error(await call(features, "DELETE", url), 400, "createdTimeFrom")
    future = (datetime.now(timezone.utc) + timedelta(days=400)).isoformat()
    _assert_json_error(await call(features, "DELETE", url, params={"createdTimeFrom": future}), 404)
    finished = {"createdTimeFrom": since.isoformat(), "runtimeStatus": "Completed,Failed,Running"}
    reply = await call(features, "DELETE", url, params=finished)
    assert reply.status == 200 and reply.json() == {"instancesDeleted": 2}
    remaining = (await call(features, "GET", url)).json()
    assert [s["instanceId"] for s in remaining] == ["p-running"]


async def test_purge_everything_from_datetime_min_through_the_sdk(features: DevHost) -> None:
    """Python's strftime writes year 1 as "1-01-01..." on Linux; the extension pads such years
    (TryGetDateTimeQueryParameterValue), so the common purge-all call works."""
    await one_of_each(features, "m-")
    client = features.client()
    result = await client.purge_instance_history_by(
        created_time_from=datetime.min, runtime_status=[df.OrchestrationRuntimeStatus.Completed]
    )
    assert result.instances_deleted == 1
    listed = await client.get_status_by(created_time_to=datetime(999, 12, 31))
    assert listed == []  # a filter, not dropped as unreadable


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"runtimeStatus": "Running,Pending"},
        {"instanceIdPrefix": "keep-"},
    ],
)
async def test_purge_by_filter_deletes_what_azure_deletes(features: DevHost, params, caplog) -> None:
    """HttpApiHandler.cs (azure-functions-durable-extension), HandleDeleteHistoryWithFiltersRequestAsync
    ignores instanceIdPrefix; DurableTask.AzureStorage's AzureTableTrackingStore.cs,
    PurgeInstanceHistoryAsync, drops non-terminal statuses, and with none left purges every status:
    running instances go too. devhost does the same and warns in its log."""
    since = await one_of_each(features, "keep-")
    reply = await call(
        features, "DELETE", f"{WEBHOOKS}/instances", params={"createdTimeFrom": since.isoformat(), **params}
    )
    assert reply.status == 200 and reply.json() == {"instancesDeleted": 3}
    assert (await call(features, "GET", f"{WEBHOOKS}/instances")).json() == []
    _assert_json_error(
        await call(features, "POST", f"{WEBHOOKS}/instances/keep-running/raiseEvent/Next", body=1), 404
    )
    await idle(features)
    warnings = [r.getMessage() for r in caplog.records if r.name == "devhost.api"]
    assert any("EVERY status in the time range, running ones included" in w for w in warnings)
    if "instanceIdPrefix" in params:
        assert any("instanceIdPrefix='keep-' is ignored" in w for w in warnings)


async def test_purge_one_instance_over_http(features: DevHost) -> None:
    await run(features, "input_echo", 1, "gone")
    url = f"{WEBHOOKS}/instances/gone"
    reply = await call(features, "DELETE", url)
    assert reply.status == 200 and reply.json() == {"instancesDeleted": 1}
    _assert_json_error(await call(features, "DELETE", url), 404)
    _assert_json_error(await call(features, "GET", url), 404)


async def test_purge_of_an_unfinished_instance_is_412_and_deletes_nothing(features: DevHost) -> None:
    """HandleDeleteHistoryByIdRequestAsync (since extension PR 3311) purges finished orchestrations only;
    the SDK's purge_instance_history then raises on the unexpected status."""
    await start_waiting(features, "still-running")
    url = f"{WEBHOOKS}/instances/still-running"
    refused = await call(features, "DELETE", url)
    assert refused.status == 412
    assert refused.json() == (
        "Only orchestrations in a terminal state can be purged, but the orchestration with instance ID "
        "still-running has status Running"
    )
    with pytest.raises(Exception, match="412"):
        await features.client().purge_instance_history("still-running")
    assert (await call(features, "GET", url)).status == 202  # still there, still running


_VERSIONED = '''import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.orchestration_trigger(context_name="context")
def versioned(context: df.DurableOrchestrationContext):
    """Input {"round": n, "seen": [...]}: records its version, continues as new once, then asks two
    children for theirs (one with a version of its own)."""
    state = context.get_input()
    seen = [*state["seen"], context.version]
    if state["round"] == 0:
        context.continue_as_new({"round": 1, "seen": seen})
        return None
    default_child = yield context.call_sub_orchestrator("version_of", None)
    pinned_child = yield context.call_sub_orchestrator("version_of", None, version="3.0")
    return {"seen": seen, "children": [default_child, pinned_child]}


@app.orchestration_trigger(context_name="context")
def version_of(context: df.DurableOrchestrationContext):
    return context.version
'''


@pytest.mark.parametrize(("default", "asked"), [(None, "2.0"), ("1.5", None), ("1.5", "")])
async def test_an_orchestration_gets_the_version_it_was_started_with(
    tmp_path: Path, default: str | None, asked: str | None
) -> None:
    """HandleStartOrchestratorRequestAsync: `version` from the query, else host.json's defaultVersion,
    into ExecutionStarted.Version, which the SDK gives as context.version. A continue-as-new keeps it;
    a sub-orchestration takes the one its call names, else the default."""
    durable = {"defaultVersion": default} if default is not None else {}
    (tmp_path / "host.json").write_text(
        json.dumps({"version": "2.0", "extensions": {"durableTask": durable}})
    )
    (tmp_path / "function_app.py").write_text(_VERSIONED)
    expected = (default or "") if asked is None else asked
    async with DevHost(tmp_path, store="memory", port=0, rpc_port=0) as host:
        client = host.client()
        instance_id = await client.start_new("versioned", None, {"round": 0, "seen": []}, version=asked)
        status = await wait_done(client, instance_id)
    assert status.output == {"seen": [expected, expected], "children": [default or "", "3.0"]}
