"""What the orchestration payload and the built-in HTTP activity give the SDK, over HTTP, per store.

A devhost process with --time-skipping runs tests/devhost/apps/engine_parity; see docs/engine-parity.md.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta

import aiohttp
import pytest
from aiohttp import web
from multidict import CIMultiDict

from ..devhost.helpers import APPS
from .devhost_process import DevhostProcess
from .http_steps import finished, start, status
from .stores import STORES, store_for


@pytest.fixture(scope="module", params=STORES)
def parity_host(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DevhostProcess]:
    work = tmp_path_factory.mktemp("engine-parity")
    store = store_for(request.param, work, request)
    proc = DevhostProcess(
        work, store.url, "--time-skipping", app=APPS / "engine_parity", env=store.env
    ).start()
    yield proc
    proc.stop()


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def test_a_seven_day_timer_is_split_by_the_sdk_into_three_day_timers(
    parity_host: DevhostProcess, http: aiohttp.ClientSession
) -> None:
    """azure-functions-durable-extension, OrchestrationTriggerAttributeBindingProvider.cs: the payload
    carries maximumShortTimerDuration (6 days) and longRunningTimerIntervalDuration (3 days), so the SDK
    (LongTimerTask) waits 3 days, then the 4 days left; time skipping lets both fire at once."""
    started = await start(http, parity_host.url, "week_sleeper")
    done = await finished(http, parity_host.url, started["id"])
    assert done["runtimeStatus"] == "Completed", done
    before, after = _moment(done["output"]["before"]), _moment(done["output"]["after"])
    assert after - before >= timedelta(days=7)
    history = await status(http, parity_host.url, started["id"], showHistory="true")
    fire_times = [_moment(e["FireAt"]) for e in history["historyEvents"] if e["EventType"] == "TimerCreated"]
    assert fire_times == [before + timedelta(days=3), before + timedelta(days=7)]
    assert [e["EventType"] for e in history["historyEvents"]].count("TimerFired") == 2


async def test_created_time_is_the_start_of_the_execution_after_continue_as_new(
    parity_host: DevhostProcess, http: aiohttp.ClientSession
) -> None:
    """DurableTask.AzureStorage, Tracking/AzureTableTrackingStore.cs (UpdateStateAsync): CreatedTime is
    taken from each ExecutionStarted event written, so it moves to the new execution's start."""
    started = await start(http, parity_host.url, "restart_after_an_hour")
    first = await status(http, parity_host.url, started["id"])
    done = await finished(http, parity_host.url, started["id"])
    assert done["output"] == "second execution", done
    assert _moment(done["createdTime"]) - _moment(first["createdTime"]) >= timedelta(hours=1)


class _AsyncOperation:
    """A local endpoint following the asynchronous pattern: 202 + Location twice, then 200."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.multi_values: list[list[str]] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.calls.append(request.path_qs)
        self.multi_values.append(request.headers.getall("X-Multi", []))
        if len(self.calls) <= 2:
            headers = [("Location", f"{self.url}/operation?poll={len(self.calls)}"), ("Retry-After", "3600")]
            headers += [("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")]
            return web.Response(status=202, headers=CIMultiDict(headers), text="accepted")
        return web.json_response({"done": True})


@pytest.fixture
async def async_operation() -> AsyncIterator[_AsyncOperation]:
    operation = _AsyncOperation()
    app = web.Application()
    app.router.add_get("/operation", operation.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    operation.url = f"http://127.0.0.1:{port}"
    yield operation
    await runner.cleanup()


async def test_call_http_hands_a_python_orchestrator_the_first_202_with_grouped_headers(
    parity_host: DevhostProcess, http: aiohttp.ClientSession, async_operation: _AsyncOperation
) -> None:
    """azure-functions-durable-extension, DurableOrchestrationContext.cs (CallHttpAsync) polls only when
    the request says asynchronousPatternEnabled, which the Python SDK's DurableHttpRequest never sends;
    DurableHttpResponse.cs + HttpHeadersConverter.cs: response headers (not content headers), one value
    as a string, several as an array."""
    target = f"{async_operation.url}/operation"
    body = {"url": target, "headers": {"X-Multi": ["one", "two"]}}
    started = await start(http, parity_host.url, "http_caller", body)
    done = await finished(http, parity_host.url, started["id"])
    assert done["runtimeStatus"] == "Completed", done
    response = done["output"]
    assert response["statusCode"] == 202
    assert response["content"] == "accepted"
    assert response["headers"]["Location"] == f"{async_operation.url}/operation?poll=1"
    assert response["headers"]["Retry-After"] == "3600"
    assert response["headers"]["Set-Cookie"] == ["a=1", "b=2"]
    assert "Content-Type" not in response["headers"] and "Content-Length" not in response["headers"]
    assert async_operation.calls == ["/operation"]
    assert async_operation.multi_values == [["one", "two"]]


async def test_an_orchestrator_polling_with_durable_timers_skips_the_waits(
    parity_host: DevhostProcess, http: aiohttp.ClientSession, async_operation: _AsyncOperation
) -> None:
    """azure-functions-durable-extension, DurableOrchestrationContext.cs (CallHttpAsync): the extension's
    own loop waits Retry-After seconds on a durable timer between polls; a Python orchestrator does the
    same itself, and with --time-skipping the two one-hour waits pass at once."""
    started = await start(http, parity_host.url, "http_poller", {"url": f"{async_operation.url}/operation"})
    done = await finished(http, parity_host.url, started["id"])
    assert done["runtimeStatus"] == "Completed", done
    assert done["output"]["polls"] == 2
    assert done["output"]["final"]["statusCode"] == 200
    assert json.loads(done["output"]["final"]["content"]) == {"done": True}
    assert async_operation.calls == ["/operation", "/operation?poll=1", "/operation?poll=2"]
    history = await status(http, parity_host.url, started["id"], showHistory="true")
    events = history["historyEvents"]
    fire_times = [_moment(e["FireAt"]) for e in events if e["EventType"] == "TimerCreated"]
    assert len(fire_times) == 2 and fire_times[1] - fire_times[0] >= timedelta(hours=1)
