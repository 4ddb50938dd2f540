"""The v1-model sample app (function.json folders) over HTTP, with devhost as its own process, on
SQLite and on Azurite, with user code in the host process and in a worker process."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from .devhost_process import ROOT, DevhostProcess
from .http_steps import WEBHOOKS, finished, start, status
from .stores import STORES, store_for

V1_APP = ROOT / "tests" / "devhost" / "apps" / "v1_model"


@pytest.fixture(scope="module", params=[(kind, workers) for kind in STORES for workers in ("0", "1")])
def v1_devhost(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DevhostProcess]:
    kind, workers = request.param
    work: Path = tmp_path_factory.mktemp("devhost-v1")
    store = store_for(kind, work, request)
    proc = DevhostProcess(work, store.url, "--workers", workers, app=V1_APP, env=store.env).start()
    yield proc
    proc.stop()


async def test_trip_with_custom_classes_custom_status_and_a_sub_orchestration(
    v1_devhost: DevhostProcess, http: aiohttp.ClientSession
) -> None:
    async with http.post(f"{v1_devhost.url}/api/trips/ada", json=["Rome", "Lima"]) as resp:
        links = await resp.json()
        assert resp.status == 202, links
        assert resp.headers["Location"] == links["statusQueryGetUri"]
    done = await finished(http, v1_devhost.url, links["id"])
    assert done["runtimeStatus"] == "Completed", done
    assert done["output"] == {
        "traveller": "ada",
        "summary": ["1. Hello Rome from Greet", "2. Hello Lima from Greet"],
    }
    assert done["customStatus"] == {"traveller": "ada", "visited": 2, "of": 2}
    history = await status(http, v1_devhost.url, links["id"], showHistory="true", showHistoryOutput="true")
    events = history["historyEvents"]
    greeted = [e for e in events if e["EventType"] == "TaskCompleted"]
    # Results are shown as JSON: the activity returned a Leg, in the SDK's custom-class envelope.
    assert [json.loads(e["Result"]["__data__"]) for e in greeted] == [
        ["Rome", "Hello Rome from Greet"],
        ["Lima", "Hello Lima from Greet"],
    ]
    sub = next(e for e in events if e["EventType"] == "SubOrchestrationInstanceCompleted")
    assert sub["Result"] == done["output"]["summary"]
    child = await status(http, v1_devhost.url, f"{links['id']}:summary")
    assert child["name"] == "Summarize" and child["customStatus"] == "summarizing"


async def test_named_output_answers_bad_input_and_loses_nothing(
    v1_devhost: DevhostProcess, http: aiohttp.ClientSession
) -> None:
    async with http.post(f"{v1_devhost.url}/api/trips/ada", json="Rome") as resp:
        assert resp.status == 400
        assert await resp.json() == {"error": "send a JSON list of cities"}


async def test_orchestration_client_binding_starts_with_the_given_id(
    v1_devhost: DevhostProcess, http: aiohttp.ClientSession
) -> None:
    url = f"{v1_devhost.url}/api/legacy/PlanTrip/trip-{v1_devhost.port}"
    async with http.post(url, json=["Quito"]) as resp:
        assert resp.status == 202, await resp.text()
    done = await finished(http, v1_devhost.url, f"trip-{v1_devhost.port}")
    assert done["runtimeStatus"] == "Completed", done
    assert done["output"] == {"traveller": "guest", "summary": ["1. Hello Quito from Greet"]}
    async with http.get(
        f"{v1_devhost.url}{WEBHOOKS}/instances", params={"runtimeStatus": "Completed"}
    ) as resp:
        assert f"trip-{v1_devhost.port}" in {i["instanceId"] for i in await resp.json()}


async def test_durable_client_binding_starts_any_orchestrator(
    v1_devhost: DevhostProcess, http: aiohttp.ClientSession
) -> None:
    started = await start(http, v1_devhost.url, "PlanTrip")
    done = await finished(http, v1_devhost.url, started["id"])
    # No input: PlanTrip fails on it, and the status says why, as the orchestrator's own error.
    assert (
        done["runtimeStatus"] == "Failed" and "'NoneType' object has no attribute 'cities'" in done["output"]
    )
    started = await start(http, v1_devhost.url, "PlanTrip", ["Baku"])
    done = await finished(http, v1_devhost.url, started["id"])
    assert done["output"] == {"traveller": "guest", "summary": ["1. Hello Baku from Greet"]}
