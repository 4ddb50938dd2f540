"""The Durable HTTP API's starts under /runtime/webhooks/durabletask: check-status answers, waiting
for the output, refused and bad starts, the version an orchestration is started with."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from devhost.host import DevHost

from .conftest import host_for, on_every_store
from .helpers import (
    CHECK_STATUS_KEYS,
    JSON,
    WEBHOOKS,
    assert_json_error,
    call,
    idle,
    poll_url,
    start_waiting,
    stored_history,
    wait_done,
    wait_until,
)

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
    assert_json_error(reply, 400, "One or more of the arguments submitted is incorrect", fragment)
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
    assert_json_error(reply, 409, "dup")


@on_every_store
async def test_starts_of_one_new_id_sent_at_once_create_it_once(features: DevHost) -> None:
    """Four starts of one new id in flight together: the first creates the instance and the others
    find it active (409), whether or not the store commits them in one transaction; the instance has
    one execution, started with the winner's input."""
    url = f"{WEBHOOKS}/orchestrators/status_phases/same"
    replies = await asyncio.gather(*(call(features, "POST", url, body={"n": n}) for n in range(4)))
    assert sorted(r.status for r in replies) == [202, 409, 409, 409], [r.text for r in replies]
    winner = next(n for n, r in enumerate(replies) if r.status == 202)
    for refused in (r for r in replies if r.status == 409):
        assert_json_error(refused, 409, "same")
    # Its first episode has run (the azure store writes history with the episode's commit).
    await wait_until(features.client(), "same", lambda s: s.custom_status == "one")
    history = await stored_history(features, "same")
    started = [e for e in history if e["EventType"] == 0]  # ExecutionStarted
    assert len(started) == 1 and json.loads(started[0]["Input"]) == {"n": winner}, started


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
    assert_json_error(reply, status, fragment)


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
