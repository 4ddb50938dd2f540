"""Shared fixtures."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from azure.durable_functions.models.utils import http_utils


@pytest.fixture(autouse=True)
async def fresh_sdk_http_session() -> AsyncIterator[None]:
    """The SDK keeps one module-level aiohttp session, bound to the event loop that made it.

    A Functions worker has one loop for its lifetime; pytest gives each test its own, so the session
    is closed and forgotten after every test, as a worker restart would.
    """
    yield
    session = http_utils._client_session
    if session is not None and not session.closed:
        await session.close()
    http_utils._client_session = None
