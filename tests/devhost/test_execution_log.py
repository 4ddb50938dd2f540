"""What the console tells as functions run, as `func start` does (azure-webjobs-sdk,
src/Microsoft.Azure.WebJobs.Host/Loggers/FunctionInstanceLogger.cs): each execution, each
orchestration's end, and events raised that nothing waits for."""

from __future__ import annotations

import logging
import re
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from devhost.host import DevHost
from devhost.process import DevhostProcess

from .conftest import host_for
from .helpers import APPS, Status, call, run, start_waiting, wait_done

GUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def lines(caplog: pytest.LogCaptureFixture, level: int = logging.INFO) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "devhost.functions" and r.levelno == level]


@pytest.fixture
async def chaining() -> AsyncIterator[DevHost]:
    async for host in host_for("chaining"):
        yield host


async def test_each_execution_is_logged_with_its_instance_outcome_and_duration(
    features: DevHost, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "devhost.functions")
    done = await run(features, "child", 5)
    assert done.runtime_status == Status.Completed
    instance_id = done.instance_id
    info = lines(caplog)
    executing = [line for line in info if line.startswith("Executing 'Functions.double'")]
    assert len(executing) == 1
    assert re.fullmatch(
        rf"Executing 'Functions\.double' \(Reason='ActivityTrigger', InstanceId={instance_id}, Id={GUID}\)",
        executing[0],
    )
    invocation = executing[0].rsplit("Id=", 1)[1].rstrip(")")
    assert any(
        re.fullmatch(
            rf"Executed 'Functions\.double' \(Succeeded, InstanceId={instance_id}, Id={invocation}, "
            r"Duration=\d+ms\)",
            line,
        )
        for line in info
    )
    # One orchestrator execution per episode: the start, then the activity's result.
    episodes = [line for line in info if line.startswith("Executed 'Functions.child' (Succeeded")]
    assert len(episodes) == 2
    assert f"Orchestration 'child' (instance {instance_id}) completed." in info


async def test_a_failed_orchestration_is_logged_with_its_message(
    features: DevHost, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "devhost.functions")
    done = await run(features, "orchestrator_raises")
    assert done.runtime_status == Status.Failed
    errors = lines(caplog, logging.ERROR)
    failed_episode = [e for e in errors if e.startswith("Executed 'Functions.orchestrator_raises' (Failed")]
    assert len(failed_episode) == 1
    assert "the input was not acceptable" in failed_episode[0]
    ended = [
        e
        for e in errors
        if e.startswith(f"Orchestration 'orchestrator_raises' (instance {done.instance_id})")
    ]
    assert len(ended) == 1
    assert "failed: " in ended[0] and "the input was not acceptable" in ended[0]


async def test_a_failed_activity_is_logged_as_failed_with_its_message(
    features: DevHost, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "devhost.functions")
    done = await run(features, "retry_always_fails")
    assert done.runtime_status == Status.Failed
    failed = [
        e for e in lines(caplog, logging.ERROR) if e.startswith("Executed 'Functions.always_fails' (Failed")
    ]
    assert len(failed) == 3  # every attempt
    assert all(
        f"InstanceId={done.instance_id}" in e and "always_fails refuses the request" in e for e in failed
    )


async def test_an_http_function_execution_is_logged(
    chaining: DevHost, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "devhost.functions")
    reply = await call(chaining, "POST", "/api/orchestrators/chain")
    assert reply.status == 202
    await wait_done(chaining.client(), reply.json()["id"])
    info = lines(caplog)
    assert any(
        re.fullmatch(
            rf"Executing 'Functions\.http_start' \(Reason='This function was programmatically called via the "
            rf"host APIs\.', Id={GUID}\)",
            line,
        )
        for line in info
    )
    assert any(line.startswith("Executed 'Functions.http_start' (Succeeded, Id=") for line in info)


async def test_an_event_nobody_waits_for_is_warned_about_naming_the_awaited_ones(
    features: DevHost, caplog: pytest.LogCaptureFixture
) -> None:
    instance_id = await start_waiting(features)  # waits for "Next"
    client = features.client()
    await client.raise_event(instance_id, "next", None)
    warnings = lines(caplog, logging.WARNING)
    assert len(warnings) == 1
    assert f"Event 'next' was raised for instance {instance_id}" in warnings[0]
    assert "it waits for 'Next'" in warnings[0]
    caplog.clear()
    await client.raise_event(instance_id, "Next", None)
    assert lines(caplog, logging.WARNING) == []


@pytest.mark.timeout(120)
def test_verbose_adds_the_request_log(tmp_path: Path) -> None:
    host = DevhostProcess(tmp_path, "memory", "-v", app=APPS / "features").start()
    try:
        with urllib.request.urlopen(f"{host.url}/runtime/webhooks/durabletask/instances") as response:
            assert response.status == 200
    finally:
        host.stop()
    assert re.search(
        r'devhost\.http\.requests: "GET /runtime/webhooks/durabletask/instances HTTP/1\.1" 200', host.log()
    )
