"""Shared fixtures, and the one rule for tests that cannot run here: skip locally, fail in CI."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Iterator
from typing import NoReturn

import pytest
from azure.durable_functions.models.utils import http_utils

from .azurite import ENV_CONNECTION, INSTALL_HINT, Azurite


def in_ci() -> bool:
    """CI=true (or 1, yes): the run must exercise everything, so nothing may skip for lack of a tool."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def unavailable(reason: str) -> NoReturn:
    """A tool or runtime a test needs is missing: skip on a developer machine, fail the test in CI.

    Every such decision goes through here (Azurite, Chromium, the deployed Python version), so CI
    cannot turn green by skipping what it was meant to run.
    """
    if in_ci():
        pytest.fail(f"{reason} (CI=true: this test must run in CI, not skip)", pytrace=False)
    pytest.skip(reason)


@contextlib.contextmanager
def environment_restored() -> Iterator[None]:
    """os.environ afterwards exactly as before: added names removed, changed or removed ones put back."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        for name in set(os.environ) - set(saved):
            del os.environ[name]
        for name, value in saved.items():
            if os.environ.get(name) != value:
                os.environ[name] = value


@pytest.fixture(autouse=True)
def restore_environment() -> Iterator[None]:
    """Every test leaves os.environ as it found it: devhost copies app settings (local.settings.json)
    into the environment as the Functions host does, and a value left behind would change later tests."""
    with environment_restored():
        yield


@pytest.fixture(autouse=True)
async def fresh_sdk_http_session() -> AsyncIterator[None]:
    """The SDK keeps one module-level aiohttp session, bound to the event loop that made it.

    A Functions worker has one loop for its lifetime; pytest gives each test its own, so the session
    is closed and forgotten after every test, as a worker restart would. A session a module-scoped loop
    made (devhost's durable_host_module) is left to that loop's fixture to close.
    """
    yield
    session = http_utils._client_session
    if session is not None and getattr(session, "_loop", None) not in (None, asyncio.get_running_loop()):
        return
    if session is not None and not session.closed:
        await session.close()
    http_utils._client_session = None


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A connection string to Azurite: the one AZURITE_CONNECTION_STRING names, or a private one.

    The private one runs for the whole session on free ports, in memory, and is stopped at the end,
    also when tests fail. Without Azurite the tests that need it are skipped, except in CI.
    """
    given = os.environ.get(ENV_CONNECTION)
    if given:
        yield given
        return
    if not Azurite.installed():
        unavailable(INSTALL_HINT)
    server = Azurite(tmp_path_factory.mktemp("azurite")).start()
    try:
        yield server.connection_string
    finally:
        server.stop()
