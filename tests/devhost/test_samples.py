"""The sample apps in the patterns of the official Python v2 samples, run unmodified on devhost."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from devhost.engine.episode import MAX_CONTINUATIONS
from devhost.host import DevHost
from devhost.store import EpisodeResult, RuntimeStatus

from .helpers import WEBHOOKS, Status, call, poll_url, run, stored_history, wait_done

# In HttpManagementPayload's order, which the SDK's check-status body keeps.
CLIENT_KEYS = [
    "id",
    "statusQueryGetUri",
    "sendEventPostUri",
    "terminatePostUri",
    "rewindPostUri",
    "purgeHistoryDeleteUri",
    "restartPostUri",
    "suspendPostUri",
    "resumePostUri",
]


@pytest.mark.parametrize("app_host", ["chaining"], indirect=True)
async def test_chaining_through_the_http_starter(app_host: DevHost) -> None:
    reply = await call(app_host, "POST", "/api/orchestrators/chain", body=["Rome", "Lima", "Baku"])
    assert reply.status == 202
    links = reply.json()
    # create_check_status_response: the SDK's 9 links, rebased on the request's origin.
    assert list(links) == CLIENT_KEYS
    assert reply.headers["Location"] == links["statusQueryGetUri"]
    assert links["statusQueryGetUri"].startswith(f"{app_host.url}{WEBHOOKS}/instances/{links['id']}")
    done = await poll_url(app_host, reply.headers["Location"])
    assert done.status == 200
    assert done.json()["output"] == ["Hi Rome", "Hi Lima", "Hi Baku"]
    assert done.json()["input"] == '["Rome", "Lima", "Baku"]'  # the SDK client sent JSON text


@pytest.mark.parametrize("app_host", ["chaining"], indirect=True)
async def test_chaining_runs_one_activity_at_a_time(app_host: DevHost) -> None:
    done = await run(app_host, "chain", None, "seq")
    assert done.output == ["Hi Lisbon", "Hi Oslo", "Hi Quito"]
    history = await stored_history(app_host, "seq")
    # Each TaskScheduled follows the completion of the one before: three episodes, ids 0, 1, 2.
    kinds = [(e["EventType"], e["EventId"]) for e in history if e["EventType"] in (4, 5)]
    assert kinds == [(4, 0), (5, -1), (4, 1), (5, -1), (4, 2), (5, -1)]


@pytest.mark.parametrize("app_host", ["chaining"], indirect=True)
async def test_starter_route_needs_post(app_host: DevHost) -> None:
    """The host's route has the methods as a constraint: another method matches no route, a 404."""
    reply = await call(app_host, "GET", "/api/orchestrators/chain")
    assert reply.status == 404 and "POST" in reply.json()["Message"] and "Allow" not in reply.headers


@pytest.mark.parametrize("app_host", ["fan_out_fan_in"], indirect=True)
async def test_fan_out_fan_in_sums_every_item_once(app_host: DevHost) -> None:
    done = await run(app_host, "fan_out")
    assert done.runtime_status == Status.Completed
    assert done.output == {"count": 10, "total": sum(n * n for n in range(1, 11))}
    history = await stored_history(app_host, done.instance_id)
    scheduled = [(e["EventId"], e["Input"]) for e in history if e["EventType"] == 4]
    # list_items is task 0; the ten weigh calls are scheduled together in one episode as tasks 1-10.
    assert [task_id for task_id, _ in scheduled] == list(range(11))
    assert scheduled[3][1] == '["\\"item-3\\""]'


@pytest.mark.parametrize("app_host", ["blueprint"], indirect=True)
async def test_blueprint_route_orchestrator_and_activity(app_host: DevHost) -> None:
    reply = await call(app_host, "POST", "/api/start/ada")
    assert reply.status == 202
    done = await poll_url(app_host, reply.headers["Location"])
    assert done.json()["output"] == "ADA from the blueprint"
    assert done.json()["name"] == "bp_orchestrator"


@pytest.mark.parametrize("app_host", ["blueprint"], indirect=True)
async def test_blueprint_app_loads_again_in_the_same_process(app_host: DevHost) -> None:
    """A second host for the same app: the blueprint module is already imported by the first."""
    app_dir = app_host.settings.app_dir
    async with DevHost(app_dir, store="memory", port=0, rpc_port=0, time_skipping=True) as again:
        done = await run(again, "bp_orchestrator", {"name": "bo"})
        assert done.output == "BO from the blueprint"


PEAK_APP = """
import threading
import time

import azure.durable_functions as df

app = df.DFApp()
_lock = threading.Lock()
_running = [0, 0]  # activities running now, the most at once


@app.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext):
    parts = yield context.task_all([context.call_activity("weigh", n) for n in range(1, 7)])
    peak = yield context.call_activity("peak", None)
    return {"total": sum(parts), "peak": peak}


@app.activity_trigger(input_name="n")
def weigh(n: int) -> int:
    with _lock:
        _running[0] += 1
        _running[1] = max(_running)
    time.sleep(0.005)
    with _lock:
        _running[0] -= 1
    return n * n


@app.activity_trigger(input_name="unused")
def peak(unused: None) -> int:
    return _running[1]
"""


@pytest.mark.parametrize(("orchestrations", "activities"), [(1, 1), (2, 1), (1, 3), (4, 2)])
async def test_concurrency_limits_queue_work_and_are_kept(
    tmp_path: Path, orchestrations: int, activities: int
) -> None:
    """host.json's maxConcurrentOrchestratorFunctions and maxConcurrentActivityFunctions only queue
    work: every instance of a fan-out still completes, and no more activities run at once than allowed."""
    (tmp_path / "function_app.py").write_text(PEAK_APP)
    (tmp_path / "host.json").write_text(
        json.dumps(
            {
                "version": "2.0",
                "extensions": {
                    "durableTask": {
                        "maxConcurrentOrchestratorFunctions": orchestrations,
                        "maxConcurrentActivityFunctions": activities,
                    }
                },
            }
        )
    )
    async with DevHost(tmp_path, store="memory", port=0, rpc_port=0, time_skipping=False) as host:
        assert host.settings.max_concurrent_activities == activities
        done = await asyncio.wait_for(asyncio.gather(*(run(host, "fan_out") for _ in range(4))), 30)
    outputs = [d.output for d in done]
    assert [o["total"] for o in outputs] == [91] * 4, outputs
    assert max(o["peak"] for o in outputs) == activities, outputs  # reached, never passed


CHAIN_APP = """
import azure.durable_functions as df

app = df.DFApp()


@app.orchestration_trigger(context_name="context")
def long_chain(context: df.DurableOrchestrationContext):
    total = 0
    for n in range(context.get_input()):
        total = yield context.call_activity("add", [total, n])
    return total


@app.activity_trigger(input_name="pair")
def add(pair: list) -> int:
    return pair[0] + pair[1]
"""


async def test_a_long_sequence_runs_step_after_step(tmp_path: Path) -> None:
    """Each activity's result runs the next episode, and each episode its activity, in one task of
    the engine while nothing else runs: a long chain must still end, in order, with nothing lost."""
    (tmp_path / "function_app.py").write_text(CHAIN_APP)
    (tmp_path / "host.json").write_text('{"version": "2.0"}')
    steps = 150
    async with DevHost(tmp_path, store="memory", port=0, rpc_port=0, time_skipping=False) as host:
        done = await asyncio.wait_for(run(host, "long_chain", steps), 60)
        history = await stored_history(host, done.instance_id)
    assert done.output == sum(range(steps))
    assert sum(1 for e in history if e["EventType"] == 5) == steps  # TaskCompleted, each once


GENERATIONS_APP = """
import azure.durable_functions as df

app = df.DFApp()


@app.orchestration_trigger(context_name="context")
def generations(context: df.DurableOrchestrationContext):
    n = context.get_input()
    yield context.wait_for_external_event("next")
    context.set_custom_status({"generation": n})
    if n < 2:
        context.continue_as_new(n + 1)
        return None
    return n
"""


async def test_the_custom_status_carries_over_a_continue_as_new(tmp_path: Path) -> None:
    """A new execution keeps the custom status the previous one left until it sets its own, as
    DTFx stores it (the new execution's first episode without a status of its own)."""
    (tmp_path / "function_app.py").write_text(GENERATIONS_APP)
    (tmp_path / "host.json").write_text('{"version": "2.0"}')
    async with DevHost(tmp_path, store="memory", port=0, rpc_port=0, time_skipping=False) as host:
        client = host.client()
        instance_id = await client.start_new("generations", None, 0)
        await host.wait_idle(10)
        assert (await client.get_status(instance_id)).custom_status is None  # nothing set yet
        seen = []
        for _ in range(2):
            await client.raise_event(instance_id, "next", None)
            await host.wait_idle(10)
            status = await client.get_status(instance_id)
            seen.append((status.runtime_status, status.custom_status, status.input_))
        await client.raise_event(instance_id, "next", None)
        done = await wait_done(client, instance_id)
    running = Status.Running
    assert seen == [(running, {"generation": 0}, "1"), (running, {"generation": 1}, "2")], seen
    assert (done.runtime_status, done.custom_status, done.output) == (Status.Completed, {"generation": 2}, 2)


SPINNER_APP = """
import azure.durable_functions as df

app = df.DFApp()


@app.orchestration_trigger(context_name="context")
def spinner(context: df.DurableOrchestrationContext):
    n = context.get_input()
    if n < 150:
        context.continue_as_new(n + 1)
        return None
    return n
    yield  # a generator that never waits
"""


async def test_continuing_as_new_without_waiting_gives_way_after_a_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An orchestrator that continues as new without ever waiting runs its executions in one work
    item, as DTFx does, but only up to `MAX_CONTINUATIONS`: then the next start waits in the inbox and
    the instance is ContinuedAsNew in between, so a terminate could get in."""
    (tmp_path / "function_app.py").write_text(SPINNER_APP)
    (tmp_path / "host.json").write_text('{"version": "2.0"}')
    async with DevHost(tmp_path, store="memory", port=0, rpc_port=0) as host:
        statuses: list[tuple[RuntimeStatus, str | None]] = []
        store = host._store
        commit = store.complete_orchestration

        async def recording(result: EpisodeResult) -> None:
            statuses.append((result.instance.runtime_status, result.instance.input))
            await commit(result)

        monkeypatch.setattr(store, "complete_orchestration", recording)
        client = host.client()
        done = await wait_done(client, await client.start_new("spinner", None, 0))
    assert (done.runtime_status, done.output) == (Status.Completed, 150)
    # The first work item ran executions 0 to MAX_CONTINUATIONS and left the next one's start queued
    # (a continue-as-new input is stored as the JSON text of the SDK's JSON text, as a client's is).
    assert statuses == [
        (RuntimeStatus.CONTINUED_AS_NEW, json.dumps(str(MAX_CONTINUATIONS + 1))),
        (RuntimeStatus.COMPLETED, json.dumps("150")),
    ]
