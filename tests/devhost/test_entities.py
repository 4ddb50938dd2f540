"""Durable entities end to end: the entities sample app driven through the SDK's client (over devhost's
RPC endpoint) and the webhook routes, on every store."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import azure.durable_functions as df
import pytest

from devhost.engine import dispatcher
from devhost.errors import StoreError
from devhost.history import EventType
from devhost.host import DevHost

from ..azurite import HUB_SETTING, new_hub
from .conftest import EVERY_STORE, host_for
from .helpers import WEBHOOKS, call, run, stored_history, wait_for

Status = df.OrchestrationRuntimeStatus
COUNTER = f"{WEBHOOKS}/entities/Counter"


@pytest.fixture(params=EVERY_STORE)
async def host(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[DevHost]:
    store = request.param
    if store == "sqlite":
        store = f"sqlite:{tmp_path / 'entities.db'}"
    elif store == "azure":
        monkeypatch.setenv("AzureWebJobsStorage", request.getfixturevalue("azurite"))
        monkeypatch.setenv(HUB_SETTING, new_hub())
    async for h in host_for("entities", store=store):
        yield h


async def state_of(host: DevHost, key: str) -> df.EntityStateResponse:
    return await host.client().read_entity_state(df.EntityId("Counter", key))


async def until_state(host: DevHost, key: str, wanted: Any) -> None:
    async def reached() -> bool:
        reply = await state_of(host, key)
        return reply.entity_exists and reply.entity_state == wanted

    await wait_for(reached)


async def test_an_orchestrator_signals_and_calls_an_entity(host: DevHost) -> None:
    status = await run(host, "call_and_signal", {"key": "k1", "add": 2}, "cs-1")
    # The signal was sent first, so the call found 2 already there: operations run in arrival order.
    assert status.runtime_status is Status.Completed
    assert status.output == {"afterCall": 4, "current": 4}
    history = await stored_history(host, "cs-1")
    sent = [e for e in history if e["EventType"] == EventType.EVENT_SENT]
    assert [(e["EventId"], e["InstanceId"], e["Name"]) for e in sent] == [
        (0, "@counter@k1", "op"),
        (1, "@counter@k1", "op"),
        (2, "@counter@k1", "op"),
    ]
    requests = [json.loads(e["Input"]) for e in sent]
    assert requests[0]["signal"] is True and "signal" not in requests[1]
    assert requests[1]["parent"] == "cs-1" and requests[1]["input"] == '"2"'
    answers = {e["Name"]: json.loads(e["Input"]) for e in history if e["EventType"] == EventType.EVENT_RAISED}
    assert answers == {requests[1]["id"]: {"result": "4"}, requests[2]["id"]: {"result": "4"}}
    assert (await state_of(host, "k1")).entity_state == 4


async def test_an_orchestrator_may_use_keys_a_client_may_not(host: DevHost) -> None:
    """Only the client's SignalEntityAsync checks keys; an orchestration's calls and signals go through
    with any key, on every store (Azure Storage escapes such keys in its table keys)."""
    odd = "a/b#c?d\te"
    status = await run(host, "call_and_signal", {"key": odd, "add": 3}, "odd-key")
    assert status.runtime_status is Status.Completed, status.output
    assert status.output == {"afterCall": 6, "current": 6}  # the entity with that very key answered
    refused = await call(host, "POST", f"{COUNTER}/a%23b?op=add")
    assert refused.status == 400
    assert refused.json()["Message"] == (
        "entityKey (Parameter 'Entity keys must not contain /, \\, #, ?, or control characters.')"
    )


async def test_an_entity_id_without_a_name_is_refused_as_entityid_refuses_it(host: DevHost) -> None:
    for method in ("POST", "DELETE"):
        refused = await call(host, "POST" if method == "POST" else "DELETE", f"{WEBHOOKS}/entities?op=add")
        assert refused.status == 400
        assert refused.json()["Message"] == (
            "Invalid entity id: entity name must not be a null or empty string. (Parameter 'entityName')"
        )


async def test_signals_sent_before_a_continue_as_new_are_delivered(host: DevHost) -> None:
    status = await run(host, "signal_then_continue", {"key": "generations", "left": 3}, "gen-1")
    assert status.runtime_status is Status.Completed and status.output == "done"
    await until_state(host, "generations", 3)


async def test_a_client_signal_then_a_read(host: DevHost) -> None:
    client = host.client()
    for n in (1, 2, 3):
        await client.signal_entity(df.EntityId("Counter", "k2"), "add", n)
    await until_state(host, "k2", 6)
    reply = await call(host, "GET", "/api/counter/k2")  # the app's own client reads it too
    assert reply.json() == {"exists": True, "state": 6}


async def test_a_webhook_signal_then_get_and_delete(host: DevHost) -> None:
    # A JSON body is the input as JSON; any other body is the input as a string (the SDK's entity
    # parses both as the JSON text they hold).
    assert (await call(host, "POST", f"{COUNTER}/k3?op=add", body="5")).status == 202
    plain = {"Content-Type": "text/plain"}
    assert (await call(host, "POST", f"{COUNTER}/k3?op=add", data=b"4", headers=plain)).status == 202
    await wait_for(lambda: _get_is(host, "k3", 9))
    listed = await call(host, "GET", f"{WEBHOOKS}/entities/counter?fetchState=true")
    assert [(e["entityId"], e["state"]) for e in listed.json()] == [({"name": "counter", "key": "k3"}, 9)]
    assert listed.headers["x-ms-continuation-token"] == ""
    # A DateTime, as Newtonsoft writes one: the fraction kept, its trailing zeros dropped (a time of
    # whole seconds would have none: one in a million).
    written = listed.json()[0]["lastOperationTime"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d*[1-9]Z", written), written
    assert (await call(host, "DELETE", f"{COUNTER}/k3")).status == 202
    await wait_for(lambda: _get_status_is(host, "k3", 404))
    assert (await call(host, "GET", f"{WEBHOOKS}/entities/counter")).json() == []
    assert not (await state_of(host, "k3")).entity_exists


async def test_unknown_entities_bad_keys_and_bad_json(host: DevHost) -> None:
    missing = await call(host, "GET", f"{COUNTER}/never")
    assert missing.status == 404 and "never" in missing.json()["Message"]
    assert not (await state_of(host, "never")).entity_exists
    unknown = await call(host, "POST", f"{WEBHOOKS}/entities/NoSuchEntity/k?op=x")
    assert unknown.status == 400
    # DurableTaskExtension.GetInvalidEntityFunctionMessage: the name as EntityId keeps it, lower case.
    assert unknown.json()["Message"] == (
        "The function 'nosuchentity' doesn't exist, is disabled, or is not an entity function. "
        "Additional info: The following are the known entity functions: 'Counter'."
    )
    with pytest.raises(Exception, match="400"):
        await host.client().signal_entity(df.EntityId("NoSuchEntity", "k"), "x")
    bad_key = await call(host, "POST", f"{COUNTER}/a%23b?op=add")
    assert bad_key.status == 400 and "Entity keys must not contain" in bad_key.json()["Message"]
    bad_json = await call(
        host, "POST", f"{COUNTER}/k?op=add", data=b"{", headers={"Content-Type": "application/json"}
    )
    assert bad_json.status == 400 and "Could not parse JSON content" in bad_json.json()["Message"]
    status = await run(host, "call_unknown_entity", None, "unknown-1")
    assert status.runtime_status is Status.Failed
    assert "The function 'nosuchentity' doesn't exist" in status.output


async def test_an_operation_that_raises_fails_the_call_and_keeps_the_returned_state(
    host: DevHost, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="devhost.functions")
    await host.client().signal_entity(df.EntityId("Counter", "k4"), "add", 10)
    await until_state(host, "k4", 10)
    status = await run(host, "call_failing", "k4", "fail-1")
    assert status.runtime_status is Status.Completed
    assert status.output == {"caught": "counter refuses at 10"}
    # The host logs an entity execution with a failed operation as Failed (TaskEntityShim captures it).
    failed = [
        r.getMessage() for r in caplog.records if "Executed 'Functions.Counter' (Failed" in r.getMessage()
    ]
    assert failed and "Error in operation 'fail'" in failed[0], failed
    assert (await state_of(host, "k4")).entity_state == 10
    # The extension keeps the state an out-of-process entity returns, even after an operation raised:
    # the change made before the exception stays (TaskEntityShim.ExecuteOutOfProcBatch).
    await host.client().signal_entity(df.EntityId("Counter", "k4"), "add_then_fail", 5)
    await host.client().signal_entity(df.EntityId("Counter", "k4"), "add", 1)
    await until_state(host, "k4", 16)


async def test_signals_from_many_clients_at_once_are_each_applied_once(host: DevHost) -> None:
    client = host.client()
    entity = df.EntityId("Counter", "busy")
    await asyncio.gather(*(client.signal_entity(entity, "add", 1) for _ in range(40)))
    await asyncio.gather(*(run(host, "call_and_signal", {"key": "busy", "add": 1}) for _ in range(3)))
    await until_state(host, "busy", 46)


async def test_the_entity_list_pages_with_top_and_continuation(host: DevHost) -> None:
    client = host.client()
    for key in ("p1", "p2", "p3"):
        await client.signal_entity(df.EntityId("Counter", key), "add", 1)
    for key in ("p1", "p2", "p3"):
        await until_state(host, key, 1)
    seen: list[str] = []
    headers: dict[str, str] = {}
    while True:
        page = await call(host, "GET", f"{WEBHOOKS}/entities?top=2", headers=headers)
        assert all(e["state"] is None for e in page.json())  # fetchState defaults to false
        seen += [e["entityId"]["key"] for e in page.json()]
        token = page.headers["x-ms-continuation-token"]
        if not token:
            break
        headers = {"x-ms-continuation-token": token}
    assert seen == ["p1", "p2", "p3"]


async def _get_is(host: DevHost, key: str, wanted: Any) -> bool:
    reply = await call(host, "GET", f"{COUNTER}/{key}")
    return reply.status == 200 and reply.json() == wanted


async def _get_status_is(host: DevHost, key: str, wanted: int) -> bool:
    return (await call(host, "GET", f"{COUNTER}/{key}")).status == wanted


async def test_a_batch_whose_commit_fails_runs_again_and_applies_once(
    host: DevHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dispatcher, "_RETRY_FIRST_SECONDS", 0.01)
    store: Any = host._store
    real = store.complete_entity_batch
    failures: list[int] = []

    async def fails_twice(result: Any) -> None:
        if len(failures) < 2:
            failures.append(len(result.consumed))
            raise StoreError("injected: the commit did not happen")
        await real(result)

    monkeypatch.setattr(store, "complete_entity_batch", fails_twice)
    await host.client().signal_entity(df.EntityId("Counter", "retried"), "add", 7)
    await until_state(host, "retried", 7)
    assert failures == [1, 1]  # the same one-operation batch, run three times, applied once
