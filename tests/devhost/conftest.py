"""Fixtures: in-process devhosts (memory store, free ports, time skipping) for the sample apps."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from devhost.host import DevHost
from devhost.store import Store, open_store

from ..azurite import HUB_SETTING, new_hub
from .azure_hub import AzureHub
from .helpers import APPS


@pytest.fixture(autouse=True)
def restore_imports() -> Iterator[None]:
    """devhost imports an app as the module `function_app` with its folder first on sys.path (v2), or its
    function folders as `__app__.<folder>` with shared code importable from the folder (v1).

    That is what a worker does once per process; here several apps load into one, so the previous
    `function_app` module and sys.path come back after each test (tests/unit imports the real app), and
    the modules an app's folder brought in are dropped (two apps may both have a `shared` package).
    """
    path = list(sys.path)
    before = set(sys.modules)
    previous = sys.modules.get("function_app")
    yield
    app_dirs = tuple(p for p in sys.path if p not in path)
    for name in set(sys.modules) - before:
        file = getattr(sys.modules[name], "__file__", None) or ""
        if name == "__app__" or name.startswith("__app__.") or (app_dirs and file.startswith(app_dirs)):
            del sys.modules[name]
    sys.path[:] = path
    if previous is None:
        sys.modules.pop("function_app", None)
    else:
        sys.modules["function_app"] = previous


async def host_for(app: str, *, time_skipping: bool = True, store: str = "memory") -> AsyncIterator[DevHost]:
    """An in-process host for the sample app `app`, on free ports and the memory store (or `store`).

    `time_skipping`: the command line's bounded skipping ("idle": timers pass whenever the host is
    idle, 20 jumps at once, then 4 a second), so tests may wait through the SDK client alone."""
    mode = "idle" if time_skipping else False
    async with DevHost(APPS / app, store=store, port=0, rpc_port=0, time_skipping=mode) as host:
        yield host


# Engine features that touch the store in their own way (retry timers, continue-as-new, child
# instances, suspension, events kept before a wait) run on every store with this mark.
EVERY_STORE = ["memory", "sqlite", pytest.param("azure", marks=pytest.mark.azurite)]
on_every_store = pytest.mark.parametrize("features", EVERY_STORE, indirect=True)


@pytest.fixture
async def features(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[DevHost]:
    """The features app with time skipping: durable timers fire as soon as nothing else can run.

    On the memory store, unless `@on_every_store` asks for sqlite (a file in tmp_path) or azure
    (Azurite, a task hub of its own) too.
    """
    kind = getattr(request, "param", "memory")
    store = kind
    if kind == "sqlite":
        store = f"sqlite:{tmp_path / 'features.db'}"
    elif kind == "azure":
        monkeypatch.setenv("AzureWebJobsStorage", request.getfixturevalue("azurite"))
        monkeypatch.setenv(HUB_SETTING, new_hub())
    async for host in host_for("features", store=store):
        yield host


@pytest.fixture
async def features_realtime() -> AsyncIterator[DevHost]:
    """The features app on the real clock: a one-hour timer stays pending for the whole test."""
    async for host in host_for("features", time_skipping=False):
        yield host


@pytest.fixture
async def app_host(request: pytest.FixtureRequest) -> AsyncIterator[DevHost]:
    """The sample app named by indirect parametrization: `@pytest.mark.parametrize("app_host", [...])`."""
    async for host in host_for(request.param):
        yield host


@pytest.fixture(params=["sqlite", "memory", pytest.param("azure", marks=pytest.mark.azurite)])
async def store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Store]:
    """An open store of each kind, for the store contract tests: a SQLite file, memory, and Azure
    Storage on Azurite with a fresh task hub (the environment's setting wins, as in devhost)."""
    if request.param == "azure":
        monkeypatch.setenv("AzureWebJobsStorage", request.getfixturevalue("azurite"))
        s = open_store("azure", hub_name=new_hub())
    else:
        s = open_store(f"sqlite:{tmp_path / 'hub.db'}" if request.param == "sqlite" else "memory")
    await s.open()
    yield s
    await s.close()


@pytest.fixture
async def azure_hub(azurite: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[AzureHub]:
    """A fresh task hub on Azurite; the stores the test opened on it are closed after it."""
    monkeypatch.setenv("AzureWebJobsStorage", azurite)
    hub = AzureHub(azurite, new_hub())
    yield hub
    for s in hub.opened:
        await s.close()
