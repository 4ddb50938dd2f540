"""Fixtures: the reliability app on a devhost process, per store kind (SQLite, and Azurite when available)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from devhost.process import DevhostProcess

from ..azurite import new_hub
from ..e2e.stores import STORES, store_for
from .crash import StoreSpec
from .probe import WEBHOOKS, send, settle
from .workload import APP


@pytest.fixture(scope="session", params=STORES)
def reliability_host(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DevhostProcess]:
    """The reliability app (the repository's scenarios plus bad-input functions) on its own devhost."""
    work = tmp_path_factory.mktemp("reliability")
    store = store_for(request.param, work, request)
    proc = DevhostProcess(work, store.url, app=APP, env=store.env).start()
    yield proc
    proc.stop()


@pytest.fixture(params=STORES)
def store_spec(request: pytest.FixtureRequest) -> StoreSpec:
    """A store for a crash or load run: SQLite in the run's folder, or a fresh task hub on Azurite."""
    if request.param == "azure":
        return StoreSpec("azure", request.getfixturevalue("azurite"), new_hub())
    return StoreSpec("sqlite")


@pytest.fixture(scope="module")
def openapi(reliability_host: DevhostProcess) -> dict[str, Any]:
    answer = send(reliability_host.port, "GET", f"{WEBHOOKS}/openapi.json")
    assert answer.status == 200
    return dict(answer.json())


@pytest.fixture(scope="module")
def seeded(reliability_host: DevhostProcess) -> DevhostProcess:
    """A completed, a waiting and a failed instance for the requests to aim at."""
    port = reliability_host.port
    for name, instance_id, body in [
        ("E1_HelloSequence", "bad-done", None),
        ("SetStatusTest", "bad-waiting", b'{"timeout": 3600}'),
        ("CityRecommender", "bad-failed", b"7"),
    ]:
        answer = send(
            port,
            "POST",
            f"{WEBHOOKS}/orchestrators/{name}/{instance_id}",
            body=body,
            headers={"Content-Type": "application/json"},
        )
        assert answer.status in (202, 409), answer.body
    settle(port)
    return reliability_host
