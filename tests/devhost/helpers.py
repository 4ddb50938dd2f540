"""Helpers for the devhost tests: waiting on instances, raw HTTP calls, stored history."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import aiohttp
import azure.durable_functions as df

from devhost.host import DevHost

APPS = Path(__file__).parent / "apps"
WEBHOOKS = "/runtime/webhooks/durabletask"
# The links of a check-status answer (the extension's HttpManagementPayload).
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
JSON = {"Content-Type": "application/json"}  # request headers for a JSON body
Status = df.OrchestrationRuntimeStatus
TERMINAL = {Status.Completed, Status.Failed, Status.Terminated, Status.Canceled}


async def wait_until(
    client: df.DurableOrchestrationClient,
    instance_id: str,
    condition: Callable[[df.DurableOrchestrationStatus], bool],
    timeout: float = 10.0,
) -> df.DurableOrchestrationStatus:
    """Poll the SDK's get_status until `condition` holds; AssertionError with the last status if not."""
    seen: list[df.DurableOrchestrationStatus] = []

    async def poll() -> df.DurableOrchestrationStatus:
        while True:
            status = await client.get_status(instance_id)
            seen[:] = [status]
            if status and condition(status):
                return status
            await asyncio.sleep(0.01)

    try:
        return await asyncio.wait_for(poll(), timeout)
    except asyncio.TimeoutError:
        last = seen[-1].to_json() if seen and seen[-1] else None
        raise AssertionError(f"instance {instance_id} not there after {timeout} s; last: {last}") from None


async def wait_done(client: df.DurableOrchestrationClient, instance_id: str) -> df.DurableOrchestrationStatus:
    """The status once the instance is Completed, Failed, Terminated or Canceled."""
    return await wait_until(client, instance_id, lambda s: s.runtime_status in TERMINAL)


async def idle(host: DevHost, timeout: float = 10.0) -> None:
    """`host.wait_idle()`, but a host that never settles fails the test instead of hanging it."""
    await asyncio.wait_for(host.wait_idle(), timeout)


async def wait_for(condition: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    """Poll an async condition until it holds; AssertionError after `timeout` seconds."""

    async def poll() -> None:
        while True:
            if await condition():
                return
            await asyncio.sleep(0.01)

    try:
        await asyncio.wait_for(poll(), timeout)
    except asyncio.TimeoutError:
        raise AssertionError(f"condition still false after {timeout} s") from None


async def no_activities_left(host: DevHost) -> bool:
    """Every activity has run and its result is queued (the store deletes a task as it queues it)."""
    return not await host._store.ready_activities(host.clock.now(), 100, set())


async def run(
    host: DevHost, name: str, client_input: Any = None, instance_id: str | None = None
) -> df.DurableOrchestrationStatus:
    """Start `name` through the SDK client and return its final status."""
    client = host.client()
    started = await client.start_new(name, instance_id, client_input)
    return await wait_done(client, started)


@dataclass(slots=True)
class Reply:
    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


async def call(
    host: DevHost,
    method: str,
    path: str,
    *,
    body: Any = None,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
) -> Reply:
    """One HTTP request to the host's public port (`path` starts with / or is a full URL)."""
    url = path if path.startswith("http") else host.url + path
    async with (
        aiohttp.ClientSession() as session,
        session.request(
            method, url, json=body, data=data, headers=headers, params=params, allow_redirects=False
        ) as response,
    ):
        return Reply(response.status, dict(response.headers), await response.text())


async def stored_history(host: DevHost, instance_id: str) -> list[dict[str, Any]]:
    """The current execution's history exactly as the store keeps it (EventIds included)."""
    return [json.loads(text) for text in await host._store.get_history(instance_id)]


def scheduled_ids(history: list[dict[str, Any]]) -> list[tuple[int, str]]:
    """(EventId, what) of every scheduling event, in history order: the task ids devhost assigned."""
    names = {4: "task", 7: "sub", 10: "timer"}
    return [(e["EventId"], e.get("Name", names[e["EventType"]])) for e in history if e["EventType"] in names]


async def start_and_wait(host: DevHost, name: str, instance_id: str, body: Any) -> Reply:
    """A webhook start with `timeout` and `pollingInterval`: once completed, the answer is the output
    itself (HttpApiHandler.cs, WaitForCompletionOrCreateCheckStatusResponseAsync)."""
    return await call(
        host,
        "POST",
        f"{WEBHOOKS}/orchestrators/{name}/{instance_id}",
        body=body,
        params={"timeout": "30", "pollingInterval": "0.05"},
    )


async def poll_url(host: DevHost, url: str, timeout: float = 10.0) -> Reply:
    """GET a status URL until it stops answering 202 (the webhook's "still running")."""

    async def poll() -> Reply:
        while True:
            reply = await call(host, "GET", url)
            if reply.status != 202:
                return reply
            await asyncio.sleep(0.01)

    return await asyncio.wait_for(poll(), timeout)


async def start_waiting(host: DevHost, instance_id: str | None = None) -> str:
    """Start the features app's `status_phases`; return once it waits for its first "Next" event."""
    client = host.client()
    instance_id = await client.start_new("status_phases", instance_id)
    await wait_until(client, instance_id, lambda s: s.custom_status == "one")
    return instance_id


async def approve_while_waiting(host: DevHost, approval: str) -> df.DurableOrchestrationStatus:
    """Start `approval` (an event raced against a one-hour timer), raise "Approve" once it waits."""
    client = host.client()
    instance_id = await client.start_new("approval")
    await wait_until(client, instance_id, lambda s: s.custom_status == "awaiting approval")
    await client.raise_event(instance_id, "Approve", approval)
    return await wait_done(client, instance_id)


async def one_of_each(host: DevHost, prefix: str) -> datetime:
    """Instances `{prefix}done` (Completed), `{prefix}failed` and `{prefix}running`; a time before them."""
    since = datetime.now(timezone.utc) - timedelta(minutes=1)
    await run(host, "input_echo", 1, f"{prefix}done")
    await run(host, "orchestrator_raises", None, f"{prefix}failed")
    await start_waiting(host, f"{prefix}running")
    return since


def assert_json_error(reply: Reply, status: int, *fragments: str) -> None:
    """The reply is `status` with a JSON body whose Message holds each fragment."""
    assert reply.status == status, reply.text
    assert reply.headers["Content-Type"].startswith("application/json")
    message = reply.json()["Message"]
    for fragment in fragments:
        assert fragment in message
