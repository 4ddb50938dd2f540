"""The SDK's own DurableOrchestrationClient against devhost's RPC endpoint, across processes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import azure.durable_functions as df
import pytest

from devhost.bindings import client_binding_payload
from devhost.config import load_settings

from .devhost_process import ROOT, DevhostProcess

Status = df.OrchestrationRuntimeStatus


@pytest.fixture
def client(devhost: DevhostProcess) -> df.DurableOrchestrationClient:
    payload = client_binding_payload(devhost.url, devhost.rpc_base_url, load_settings(ROOT))
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


async def _status_where(
    client: df.DurableOrchestrationClient,
    instance_id: str,
    condition: Callable[[df.DurableOrchestrationStatus], bool],
    timeout: float = 30.0,
) -> df.DurableOrchestrationStatus:
    """The status (with input) once `condition` holds; AssertionError with the last one after `timeout` s."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        current = await client.get_status(instance_id, show_input=True)
        if condition(current):
            return current
        if loop.time() > end:
            raise AssertionError(f"{instance_id}: not reached in {timeout} s; last {current.to_json()}")
        await asyncio.sleep(0.05)


async def test_start_status_event_and_completion(client: df.DurableOrchestrationClient) -> None:
    instance_id = await client.start_new("ReserveTicket", None, {"userId": "dora", "discountTimeout": 120})
    await _until(client, instance_id, Status.Running)
    running = await _status_where(client, instance_id, lambda s: bool(s.custom_status))
    assert running.custom_status["discountTimeout"] == 120
    assert running.input_ == '{"userId": "dora", "discountTimeout": 120}'
    await client.raise_event(instance_id, "BookingConfirmed", True)
    done = await _until(client, instance_id, Status.Completed)
    assert done.output is True
    assert done.custom_status == {"message": "Thank you for confirming your booking."}


async def test_terminate_list_and_purge(client: df.DurableOrchestrationClient) -> None:
    instance_id = await client.start_new("SetStatusTest", "sdk-terminate-1")
    await _until(client, instance_id, Status.Running)
    await client.terminate(instance_id, "no longer needed")
    done = await _until(client, instance_id, Status.Terminated)
    assert done.output == "no longer needed"
    listed = await client.get_status_by(runtime_status=[Status.Terminated])
    assert instance_id in [s.instance_id for s in listed]
    result = await client.purge_instance_history(instance_id)
    assert result.instances_deleted == 1
    assert not await client.get_status(instance_id)


async def test_unknown_instance_is_a_falsy_status(client: df.DurableOrchestrationClient) -> None:
    assert not await client.get_status("never-started")


async def test_start_with_an_unknown_name_raises_with_the_message(
    client: df.DurableOrchestrationClient,
) -> None:
    with pytest.raises(Exception, match=r"^The function 'NoSuchOrchestrator' doesn't exist"):
        await client.start_new("NoSuchOrchestrator")


async def test_history_through_the_sdk_client(client: df.DurableOrchestrationClient) -> None:
    """The SDK keeps `historyEvents` as an attribute (models/DurableOrchestrationStatus.py, **kwargs);
    its shape follows extension ContextImplementations/DurableClient.cs, GetDurableOrchestrationStatusAsync:
    ExecutionStarted Input as JSON text, an activity merged into its completion, trimmed dates."""
    instance_id = await client.start_new("E1_HelloSequence", None, ["Oslo"])
    await _until(client, instance_id, Status.Completed)
    status = await client.get_status(instance_id, show_history=True, show_history_output=True)
    events = status.historyEvents
    started = events[0]
    assert started["EventType"] == "ExecutionStarted" and started["FunctionName"] == "E1_HelloSequence"
    assert isinstance(started["Input"], str)  # the stored text of the SDK's double-encoded input
    assert started["Generation"] == 0 and "OrchestrationInstance" not in started
    [greeting] = [e for e in events if e["EventType"] == "TaskCompleted"]
    assert greeting["FunctionName"] == "E1_SayHello" and greeting["Result"] == "Hello Oslo!"
    assert not [e for e in events if e["EventType"] == "TaskScheduled"]
    assert not any(e["Timestamp"].endswith("0Z") and "." in e["Timestamp"] for e in events)


async def test_status_filter_through_the_sdk(client: df.DurableOrchestrationClient) -> None:
    """HttpApiHandler.cs parses runtimeStatus with Enum.TryParse: the SDK's names work, case-sensitively."""
    instance_id = await client.start_new("E1_HelloSequence", None, ["Lima"])
    await _until(client, instance_id, Status.Completed)
    listed = await client.get_status_by(runtime_status=[Status.Completed])
    assert instance_id in [s.instance_id for s in listed]
    assert all(s.runtime_status == Status.Completed for s in listed)
