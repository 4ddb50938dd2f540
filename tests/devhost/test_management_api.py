"""The Durable HTTP API under /runtime/webhooks/durabletask: status codes and bodies of the status
query, events, control operations (suspend, resume, terminate, restart, rewind), routes and task hubs.

Starts are in test_http_api_starting.py, listing and purging in test_http_api_listing.py."""

from __future__ import annotations

import pytest

from devhost.host import DevHost

from .helpers import (
    CHECK_STATUS_KEYS,
    JSON,
    WEBHOOKS,
    assert_json_error,
    call,
    idle,
    poll_url,
    run,
    start_waiting,
    wait_until,
)

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

    assert_json_error(await call(features, "GET", f"{WEBHOOKS}/instances/st-unknown"), 404, "st-unknown")


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
    assert_json_error(
        await call(features, "POST", url, data=b"1", headers={"Content-Type": "text/plain"}),
        400,
        "application/json",
    )
    assert_json_error(await call(features, "POST", url, data=b"{", headers=JSON), 400, "Invalid JSON")
    assert (await call(features, "POST", url, body=1)).status == 202
    await idle(features)
    status = (await call(features, "GET", f"{WEBHOOKS}/instances/ev")).json()
    assert status["customStatus"] is None  # delivered: status_phases went on to its empty status
    terminate = f"{WEBHOOKS}/instances/ev/terminate"
    assert (await call(features, "POST", terminate, params={"reason": "end"})).status == 202
    await idle(features)
    assert_json_error(await call(features, "POST", url, body=1), 410)
    nobody = f"{WEBHOOKS}/instances/nobody/raiseEvent/Next"
    assert_json_error(await call(features, "POST", nobody, body=1), 404)


async def test_raise_event_checks_in_the_extensions_order(features: DevHost) -> None:
    """HttpApiHandler.cs (azure-functions-durable-extension), HandleRaiseEventRequestAsync: 404, then
    410, then the content type, then the JSON; an empty JSON body is "Invalid JSON content"."""
    text = {"Content-Type": "text/plain"}
    nobody = f"{WEBHOOKS}/instances/nobody/raiseEvent/Next"
    assert_json_error(await call(features, "POST", nobody, data=b"{", headers=text), 404)
    await run(features, "input_echo", 1, "ev-done")
    done = f"{WEBHOOKS}/instances/ev-done/raiseEvent/Next"
    assert_json_error(await call(features, "POST", done, data=b"{", headers=text), 410)
    await start_waiting(features, "ev-order")
    url = f"{WEBHOOKS}/instances/ev-order/raiseEvent/Next"
    for empty in (b"", b"  "):
        reply = await call(features, "POST", url, data=empty, headers=JSON)
        assert_json_error(reply, 400, "Invalid JSON content")
    upper = {"Content-Type": "Application/JSON; charset=utf-8"}
    assert (await call(features, "POST", url, data=b"1", headers=upper)).status == 202


@pytest.mark.parametrize("operation", ["terminate", "suspend", "resume"])
async def test_control_operations_on_a_finished_instance_are_410(features: DevHost, operation: str) -> None:
    await run(features, "input_echo", 1, "finished")
    reply = await call(features, "POST", f"{WEBHOOKS}/instances/finished/{operation}", params={"reason": "x"})
    assert_json_error(reply, 410, "finished")


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
    assert_json_error(
        reply,
        500,
        "Cannot resume the orchestration instance ctl-state because instance is in the Running state.",
    )
    await client.suspend(instance_id, "pause")
    await idle(features)
    with pytest.raises(Exception, match="unexpected status code 500"):
        await client.suspend(instance_id, "again")
    reply = await call(features, "POST", f"{WEBHOOKS}/instances/ctl-state/suspend")
    assert_json_error(reply, 500, "because instance is in the Suspended state.")
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
    assert_json_error(reply, 400, "Total timeout 1 should be bigger than retry timeout 2")
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
    assert_json_error(reply, 404)
    assert "Allow" not in reply.headers


@pytest.mark.parametrize("method", ["POST", "GET", "DELETE"])
async def test_makeprimary_answers_200_with_no_body_whatever_the_method(
    features: DevHost, method: str
) -> None:
    """HttpApiHandler.cs, HandleMakePrimaryRequestAsync: the route takes any method and answers 200
    with no body once this app holds the task hub's app lease; devhost is its hub's only app. Another
    task hub is refused, as on every route."""
    for path in ("makeprimary", "makeprimary/"):
        reply = await call(features, method, f"{WEBHOOKS}/{path}")
        assert (reply.status, reply.text) == (200, ""), (path, reply.text)
    other = await call(features, method, f"{WEBHOOKS}/makeprimary", params={"taskHub": "OtherHub"})
    assert_json_error(other, 400, "OtherHub")


async def test_route_literals_match_in_any_case_and_ids_do_not(features: DevHost) -> None:
    """ASP.NET's TemplateMatcher compares the extension's route literals ignoring case (`instances/`,
    `orchestrators/`, `raiseEvent`, `entities/`, `makeprimary/`); instance ids keep their case."""
    started = await call(features, "POST", f"{WEBHOOKS}/ORCHESTRATORS/status_phases/Case-Id", body={})
    assert started.status == 202, started.text
    await wait_until(features.client(), "Case-Id", lambda s: s.custom_status == "one")
    assert (await call(features, "GET", f"{WEBHOOKS}/Instances/Case-Id")).json()["customStatus"] == "one"
    assert (await call(features, "GET", f"{WEBHOOKS}/instances/case-id")).status == 404
    raised = await call(features, "POST", f"{WEBHOOKS}/INSTANCES/Case-Id/RAISEEVENT/Next", body=1)
    assert raised.status == 202, raised.text
    await wait_until(features.client(), "Case-Id", lambda s: s.custom_status is None)
    assert (await call(features, "GET", f"{WEBHOOKS}/Entities")).status == 200
    assert (await call(features, "POST", f"{WEBHOOKS}/MakePrimary")).status == 200
    assert (await call(features, "POST", f"{WEBHOOKS}/instances/Case-Id/Terminate")).status == 202
    await idle(features)


async def test_the_webhook_prefix_matches_in_any_case(features: DevHost) -> None:
    """The Functions host finds the extension's webhook by name ignoring case (DefaultScriptWebHookProvider)
    and its route's literals in any case; HttpApiHandler.cs cuts the prefix off by its length."""
    odd = WEBHOOKS.upper().replace("DURABLETASK", "DurableTask")
    started = await call(features, "POST", f"{odd}/orchestrators/status_phases/Prefix-Case", body={})
    assert started.status == 202, started.text
    await wait_until(features.client(), "Prefix-Case", lambda s: s.custom_status == "one")
    assert (await call(features, "GET", f"{odd}/INSTANCES/Prefix-Case")).json()["customStatus"] == "one"
    assert (
        await call(features, "POST", f"{odd}/instances/Prefix-Case/raiseEvent/Next", body=1)
    ).status == 202
    missing = await call(features, "GET", f"{odd}/no/such/route")
    assert missing.status == 404 and "no route" in missing.json()["Message"], missing.text
    await wait_until(features.client(), "Prefix-Case", lambda s: s.custom_status is None)
    await idle(features)


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
    assert_json_error(
        await call(features, "GET", url, params={"taskHub": "OtherHub"}),
        400,
        "taskHub='OtherHub' names another task hub",
        "'TestHubName'",
    )
    assert_json_error(
        await call(features, "DELETE", url, params={"connection": "Other"}), 400, "connection='Other'"
    )
    assert (await call(features, "GET", url)).status == 200  # not purged
    await start_waiting(features, "hub-two")
    # The SDK sends taskHub= on raise_event; its words for any 400 are about the content type.
    with pytest.raises(Exception, match="Only application/json"):
        await features.client().raise_event("hub-two", "Next", 1, task_hub_name="OtherHub")
    assert (await features.client().get_status("hub-two")).custom_status == "one"


async def test_an_unknown_entity_and_rewind_of_an_unknown_id_are_404(features: DevHost) -> None:
    assert_json_error(await call(features, "GET", f"{WEBHOOKS}/entities/counter/one"), 404, "'counter'")
    rewind = await call(features, "POST", f"{WEBHOOKS}/instances/x/rewind")
    assert (rewind.status, rewind.json()) == (404, 'No orchestration with instance ID "$x" found.')
