"""The app's HTTP clients against the real host: paths the unit tests drive only through the RPC stub.

tests/unit/clients fakes the durable client's HTTP edge with a hand-written stub; here the same
answers (a failed instance is 500, a terminated one 409, an event for an instance that has ended
409) come from devhost in this process, so the stub and the host cannot drift apart unnoticed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import azure.durable_functions as df
import pytest

from devhost.host import DevHost

from .helpers import WEBHOOKS, call, wait_for, wait_until

ROOT = Path(__file__).resolve().parents[2]
WAIT = {"timeout": "60", "interval": "0.05"}


@pytest.fixture
async def app() -> AsyncIterator[DevHost]:
    """The repository's app on devhost in this process: memory store, the real clock (no deadline passes)."""
    async with DevHost(ROOT, store="memory", port=0, rpc_port=0) as host:
        yield host


async def _running(host: DevHost, name: str) -> str:
    """The id of the one Running instance of `name`, once there is one."""
    found: list[str] = []

    async def one_running() -> bool:
        listed = await call(host, "GET", f"{WEBHOOKS}/instances", params={"runtimeStatus": "Running"})
        found[:] = [s["instanceId"] for s in listed.json() if s["name"] == name]
        return len(found) == 1

    await wait_for(one_running)
    return found[0]


async def test_start_and_wait_answers_500_with_the_failure_of_a_failed_instance(app: DevHost) -> None:
    reply = await call(
        app,
        "POST",
        "/api/orchestrators/CityRecommender/wait-for-status",
        data=b"7",
        params={**WAIT, "target": "never"},
    )
    assert reply.status == 500, reply.text
    body = reply.json()
    assert body["error"].startswith("The orchestration failed and the target was not observed")
    assert body["runtimeStatus"] == "Failed"
    assert body["output"].startswith("Orchestrator function 'CityRecommender' failed: ")
    status = await app.client().get_status(body["instanceId"])
    assert (status.runtime_status, status.output) == (df.OrchestrationRuntimeStatus.Failed, body["output"])


async def test_start_and_wait_answers_409_for_an_instance_terminated_while_it_waits(app: DevHost) -> None:
    waiting = asyncio.create_task(
        call(
            app,
            "POST",
            "/api/orchestrators/SetStatusTest/wait-for-status",
            body={"timeout": 3600},
            params={**WAIT, "target": "never"},
        )
    )
    instance_id = await _running(app, "SetStatusTest")
    terminated = await call(
        app, "POST", f"{WEBHOOKS}/instances/{instance_id}/terminate", params={"reason": "stopped by operator"}
    )
    assert terminated.status == 202, terminated.text
    reply = await asyncio.wait_for(waiting, 30)
    assert reply.status == 409, reply.text
    body = reply.json()
    assert (body["instanceId"], body["runtimeStatus"], body["output"]) == (
        instance_id,
        "Terminated",
        "stopped by operator",
    )


async def _set_status_test(host: DevHost, instance_id: str) -> None:
    started = await call(host, "POST", f"{WEBHOOKS}/orchestrators/SetStatusTest/{instance_id}")
    assert started.status == 202, started.text
    await wait_until(host.client(), instance_id, lambda s: s.custom_status is not None)


async def test_the_progress_page_cannot_raise_an_event_on_an_ended_instance(app: DevHost) -> None:
    await _set_status_test(app, "ended")
    await app.client().raise_event("ended", "Proceed", {})
    await wait_until(
        app.client(), "ended", lambda s: s.runtime_status == df.OrchestrationRuntimeStatus.Completed
    )

    reply = await call(app, "POST", "/api/progress/events/ended/Proceed", body={})

    assert reply.status == 409, reply.text
    assert reply.json()["runtimeStatus"] == "Completed"
    assert (await app.client().get_status("ended")).output == {"proceeded": True}


async def test_an_event_for_an_instance_that_ends_after_the_status_read_is_409(
    app: DevHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The instance is terminated on the real host between the page's status read and its raise."""
    await _set_status_test(app, "ends-meanwhile")
    raise_event = df.DurableOrchestrationClient.raise_event

    async def ended_first(
        client: df.DurableOrchestrationClient, instance_id: str, *args: Any, **kw: Any
    ) -> Any:
        await app.client().terminate(instance_id, "ended meanwhile")
        await wait_until(
            app.client(), instance_id, lambda s: s.runtime_status == df.OrchestrationRuntimeStatus.Terminated
        )
        return await raise_event(client, instance_id, *args, **kw)

    monkeypatch.setattr(df.DurableOrchestrationClient, "raise_event", ended_first)

    reply = await call(app, "POST", "/api/progress/events/ends-meanwhile/Proceed", body={})

    assert reply.status == 409, reply.text
    # The wording the unit tests' RPC stub gives for this case (tests/unit/clients/rpc_stub.py).
    assert reply.json()["error"] == (
        "The event was not delivered: Instance with ID ends-meanwhile is gone: either completed or failed"
    )
    assert (await app.client().get_status("ends-meanwhile")).output == "ended meanwhile"
