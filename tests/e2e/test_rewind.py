"""Rewind over HTTP, as a user's app calls it: the SDK's `DurableOrchestrationClient.rewind` against
devhost (its own process) on SQLite and on Azurite.

Imitates the extension's rewind: azure-functions-durable-extension,
src/WebJobs.Extensions.DurableTask/HttpApiHandler.cs (`HandleRewindInstanceRequestAsync`: 404, 410
for Completed, Terminated and Canceled, 202) and ContextImplementations/DurableClient.cs
(`RewindAsync`: only Failed instances), carried out as DurableTask.AzureStorage does it
(durabletask, src/DurableTask.AzureStorage/Tracking/AzureTableTrackingStore.cs, `RewindHistoryAsync`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import azure.durable_functions as df
import pytest

from devhost.bindings import client_binding_payload
from devhost.config import load_settings

from .devhost_process import ROOT, DevhostProcess
from .http_steps import WEBHOOKS, finished, status
from .stores import STORES, DurableStore, store_for

REWIND_APP = ROOT / "tests" / "e2e" / "apps" / "rewind"
Status = df.OrchestrationRuntimeStatus


@pytest.fixture(scope="module", params=STORES)
def rewind_devhost(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DevhostProcess]:
    work: Path = tmp_path_factory.mktemp("devhost-rewind")
    store = store_for(request.param, work, request)
    proc = DevhostProcess(work, store.url, app=REWIND_APP, env=store.env).start()
    yield proc
    proc.stop()


@pytest.fixture
def client(rewind_devhost: DevhostProcess) -> df.DurableOrchestrationClient:
    payload = client_binding_payload(
        rewind_devhost.url, rewind_devhost.rpc_base_url, load_settings(REWIND_APP)
    )
    return df.DurableOrchestrationClient(payload)


async def _until(
    client: df.DurableOrchestrationClient, instance_id: str, *wanted: Status
) -> df.DurableOrchestrationStatus:
    for _ in range(600):
        current = await client.get_status(instance_id)
        if current.runtime_status in wanted:
            return current
        await asyncio.sleep(0.05)
    raise AssertionError(f"{instance_id} never reached {wanted}; last {current.runtime_status}")


async def test_a_failed_activity_runs_again_and_the_instance_completes(
    client: df.DurableOrchestrationClient, tmp_path: Path
) -> None:
    marker = tmp_path / "step-2-fails"
    marker.touch()
    instance_id = await client.start_new("RewindSteps", None, {"marker": str(marker)})
    failed = await _until(client, instance_id, Status.Failed, Status.Completed)
    assert failed.runtime_status is Status.Failed
    assert "step 2 failed" in failed.output
    assert failed.custom_status == {"reached": 2}

    marker.unlink()
    await client.rewind(instance_id, "the marker is gone")
    # The rewind is one store change made before the answer: the instance is no longer Failed.
    rewound = await client.get_status(instance_id)
    assert rewound.runtime_status is not Status.Failed

    done = await _until(client, instance_id, Status.Completed, Status.Failed)
    assert done.runtime_status is Status.Completed, done.output
    assert done.output == ["step 1 done", "step 2 done"]
    assert done.custom_status == {"reached": "end"}

    shown = await client.get_status(instance_id, show_history=True)
    events = [e["EventType"] for e in shown.historyEvents]
    assert events.count("TaskFailed") == 0, events  # the failure is marked rewound, not replayed
    # Rewound rows are read back as the class their type names, so each shows a GenericEvent's fields
    # only (AzureTableTrackingStore.GetHistoryEventsAsync); the last is the request, with the reason.
    generic = [e for e in shown.historyEvents if e["EventType"] == "GenericEvent"]
    assert [e["Data"] for e in generic] == [None, None, None, "the marker is gone"], generic
    assert all(set(e) == {"EventType", "Timestamp", "Data"} for e in generic), generic
    assert events.count("TaskCompleted") == 2 and events[-1] == "ExecutionCompleted"


async def test_a_failed_sub_orchestration_is_rewound_with_its_parent(
    client: df.DurableOrchestrationClient, tmp_path: Path
) -> None:
    marker = tmp_path / "child-fails"
    marker.touch()
    instance_id = await client.start_new("RewindParent", None, {"marker": str(marker)})
    failed = await _until(client, instance_id, Status.Failed, Status.Completed)
    assert failed.runtime_status is Status.Failed
    child_id = f"{instance_id}-child"
    assert (await client.get_status(child_id)).runtime_status is Status.Failed

    marker.unlink()
    await client.rewind(instance_id, "child fixed")
    done = await _until(client, instance_id, Status.Completed, Status.Failed)
    assert done.runtime_status is Status.Completed, done.output
    assert done.output == {"child": ["step 1 done", "step 2 done"], "after": "after the child"}
    assert done.custom_status == "done"
    child = await client.get_status(child_id)
    assert child.runtime_status is Status.Completed
    assert child.custom_status == {"reached": "end"}

    def rewound(status: df.DurableOrchestrationStatus) -> list[str | None]:
        return [e["Data"] for e in status.historyEvents if e["EventType"] == "GenericEvent"]

    parent_history = await client.get_status(instance_id, show_history=True)
    # SubOrchestrationInstanceFailed and ExecutionCompleted, rewound; the parent gets no wake-up
    # message, only its deepest failed descendant does.
    assert rewound(parent_history) == [None, None]
    completed = [
        e for e in parent_history.historyEvents if e["EventType"] == "SubOrchestrationInstanceCompleted"
    ]
    assert [e["FunctionName"] for e in completed] == ["RewindSteps"]  # the same child, run on
    child_history = await client.get_status(child_id, show_history=True)
    # TaskScheduled, TaskFailed and ExecutionCompleted, rewound, then the wake-up with the reason.
    assert rewound(child_history) == [None, None, None, "child fixed"]


async def test_rewind_of_a_completed_instance_is_412(
    client: df.DurableOrchestrationClient, rewind_devhost: DevhostProcess, tmp_path: Path
) -> None:
    """HttpApiHandler.cs, HandleRewindInstanceRequestAsync: any status but Failed is 412 with a JSON
    string saying why, which the SDK raises as it is."""
    instance_id = await client.start_new("RewindSteps", None, {"marker": str(tmp_path / "absent")})
    assert (
        await _until(client, instance_id, Status.Completed, Status.Failed)
    ).runtime_status is Status.Completed
    refusal = 'This orchestration has status Completed, but only orchestrations in the "Failed" state'
    with pytest.raises(Exception, match=refusal):
        await client.rewind(instance_id, "nothing to do")
    async with aiohttp.ClientSession() as http:
        url = f"{rewind_devhost.url}{WEBHOOKS}/instances/{instance_id}/rewind?reason=again"
        async with http.post(url) as resp:
            assert resp.status == 412
            assert (await resp.json()).startswith(refusal)
    assert (await client.get_status(instance_id)).output == ["step 1 done", "step 2 done"]


async def test_rewind_of_an_unknown_id_is_404(
    client: df.DurableOrchestrationClient, rewind_devhost: DevhostProcess
) -> None:
    with pytest.raises(Exception, match="No instance with ID never-started found"):
        await client.rewind("never-started", "no such instance")
    async with aiohttp.ClientSession() as http:
        url = f"{rewind_devhost.url}{WEBHOOKS}/instances/never-started/rewind"
        async with http.post(url) as resp:
            assert resp.status == 404
            assert await resp.json() == 'No orchestration with instance ID "$never-started" found.'


async def test_rewind_of_a_running_instance_is_refused_as_the_extension_does(
    client: df.DurableOrchestrationClient,
) -> None:
    instance_id = await client.start_new("RewindWaiter")
    await _until(client, instance_id, Status.Running)
    with pytest.raises(Exception, match="This orchestration has status Running"):
        await client.rewind(instance_id, "too early")
    await client.raise_event(instance_id, "go", "went")
    done = await _until(client, instance_id, Status.Completed, Status.Failed)
    assert done.runtime_status is Status.Completed  # the refused rewind changed nothing


async def test_a_rewind_answered_202_survives_sigkill(tmp_path: Path, durable_store: DurableStore) -> None:
    """Killed at once after the 202, wherever the rewind had got to (the request queued, the parent
    rewound with its child's request queued, the child's activity running): after a restart on the
    same store the instance is not Failed and completes."""
    marker = tmp_path / "child-fails"
    marker.touch()
    store, env = durable_store.url, durable_store.env
    first = DevhostProcess(tmp_path, store, app=REWIND_APP, env=env).start()
    async with aiohttp.ClientSession() as http:
        try:
            start = f"{first.url}{WEBHOOKS}/orchestrators/RewindParent"
            async with http.post(start, json={"marker": str(marker)}) as resp:
                started = await resp.json()
            failed = await finished(http, first.url, started["id"])
            assert failed["runtimeStatus"] == "Failed", failed
            marker.unlink()
            url = f"{first.url}{WEBHOOKS}/instances/{started['id']}/rewind?reason=crash"
            async with http.post(url) as resp:
                assert resp.status == 202
        finally:
            first.kill()
        second = DevhostProcess(tmp_path, store, app=REWIND_APP, port=first.port, env=env).start()
        try:
            assert (await status(http, second.url, started["id"]))["runtimeStatus"] != "Failed"
            done = await finished(http, second.url, started["id"])
            assert done["runtimeStatus"] == "Completed", done
            assert done["output"] == {"child": ["step 1 done", "step 2 done"], "after": "after the child"}
        finally:
            second.stop()
