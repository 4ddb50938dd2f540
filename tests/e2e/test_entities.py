"""Durable entities across processes: the entities sample app on a devhost process, driven through the
SDK's client over the RPC endpoint, killed with SIGKILL and started again on the same store."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import azure.durable_functions as df

from devhost.bindings import client_binding_payload
from devhost.config import load_settings

from .devhost_process import ROOT, DevhostProcess
from .stores import DurableStore

APP = ROOT / "tests" / "devhost" / "apps" / "entities"
COUNTER = df.EntityId("Counter", "survivor")


def sdk_client(proc: DevhostProcess) -> df.DurableOrchestrationClient:
    return df.DurableOrchestrationClient(
        client_binding_payload(proc.url, proc.rpc_base_url, load_settings(APP))
    )


async def state_when(client: df.DurableOrchestrationClient, wanted: Any) -> Any:
    for _ in range(600):
        reply = await client.read_entity_state(COUNTER)
        if reply.entity_exists and reply.entity_state == wanted:
            return reply.entity_state
        await asyncio.sleep(0.05)
    raise AssertionError(f"entity state never became {wanted!r}; last {reply.entity_state!r}")


async def done(client: df.DurableOrchestrationClient, instance_id: str) -> df.DurableOrchestrationStatus:
    for _ in range(600):
        status = await client.get_status(instance_id)
        if status.runtime_status == df.OrchestrationRuntimeStatus.Completed:
            return status
        await asyncio.sleep(0.05)
    raise AssertionError(f"{instance_id} did not complete: {status.to_json()}")


async def test_entity_state_survives_sigkill_and_the_next_host_carries_on(
    tmp_path: Path, durable_store: DurableStore
) -> None:
    first = DevhostProcess(tmp_path, durable_store.url, app=APP, env=durable_store.env).start()
    try:
        client = sdk_client(first)
        await client.signal_entity(COUNTER, "add", 3)
        await state_when(client, 3)
        started = await client.start_new("call_and_signal", "before-kill", {"key": "survivor", "add": 1})
        assert (await done(client, started)).output == {"afterCall": 5, "current": 5}
    finally:
        first.kill()
    second = DevhostProcess(
        tmp_path, durable_store.url, app=APP, port=first.port, env=durable_store.env
    ).start()
    try:
        client = sdk_client(second)
        assert await state_when(client, 5) == 5
        await client.signal_entity(COUNTER, "add", 10)
        started = await client.start_new("call_and_signal", "after-kill", {"key": "survivor", "add": 1})
        assert (await done(client, started)).output == {"afterCall": 17, "current": 17}
    finally:
        second.stop()
