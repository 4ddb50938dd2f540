"""Fixtures: devhost processes (real clock and time-skipping) on free ports, and an HTTP session."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from .devhost_process import DevhostProcess


@pytest.fixture(scope="session")
def devhost(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevhostProcess]:
    """The app on devhost with the default SQLite store kind and the real clock."""
    work = tmp_path_factory.mktemp("devhost")
    proc = DevhostProcess(work, f"sqlite:{work / 'durable.db'}").start()
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def skipping_devhost(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevhostProcess]:
    """The app on devhost with --time-skipping: durable timers fire as soon as nothing else runs."""
    work = tmp_path_factory.mktemp("devhost-skip")
    proc = DevhostProcess(work, "memory", "--time-skipping").start()
    yield proc
    proc.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        yield session


@pytest.fixture
def work_dir(tmp_path: Path) -> Path:
    return tmp_path
