"""Shared fixtures."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator

import pytest
from azure.durable_functions.models.utils import http_utils

from .azurite import ENV_CONNECTION, INSTALL_HINT, Azurite


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
        if os.environ.get("CI"):
            pytest.fail(f"{INSTALL_HINT}. CI must run the Azure Storage tests.", pytrace=False)
        pytest.skip(INSTALL_HINT)
    server = Azurite(tmp_path_factory.mktemp("azurite")).start()
    try:
        yield server.connection_string
    finally:
        server.stop()
