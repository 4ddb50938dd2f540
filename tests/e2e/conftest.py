"""Fixtures: devhost processes (real clock, time-skipping) per store kind on free ports; an HTTP session."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from .devhost_process import DevhostProcess
from .stores import STORES, DurableStore, store_for


@pytest.fixture(scope="session", params=STORES)
def devhost(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DevhostProcess]:
    """The app on devhost with the real clock, on a SQLite file or on Azurite."""
    work = tmp_path_factory.mktemp("devhost")
    store = store_for(request.param, work, request)
    proc = DevhostProcess(work, store.url, env=store.env).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="session", params=["memory", pytest.param("azure", marks=pytest.mark.azurite)])
def skipping_devhost(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DevhostProcess]:
    """The app on devhost with --time-skipping: durable timers fire as soon as nothing else runs."""
    work = tmp_path_factory.mktemp("devhost-skip")
    store = store_for(request.param, work, request)
    proc = DevhostProcess(work, store.url, "--time-skipping", env=store.env).start()
    yield proc
    proc.stop()


@pytest.fixture(params=STORES)
def durable_store(request: pytest.FixtureRequest, tmp_path: Path) -> DurableStore:
    """A store for tests that start (and restart) their own devhost processes on it."""
    return store_for(request.param, tmp_path, request)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        yield session


@pytest.fixture
def work_dir(tmp_path: Path) -> Path:
    return tmp_path
