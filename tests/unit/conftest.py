"""Fixtures for the unit tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestServer
from azure.durable_functions.models.utils import http_utils

from .clients.rpc_stub import RpcStub


@pytest.fixture
async def rpc() -> AsyncIterator[RpcStub]:
    """A running RPC endpoint stub; its binding() is what the client functions receive."""
    stub = RpcStub()
    server = TestServer(stub.app(), host="127.0.0.1")
    await server.start_server()
    stub.base_url = str(server.make_url("/durabletask/"))
    try:
        yield stub
    finally:
        stub.released.set()
        await server.close()
        # The SDK shares one aiohttp session per process, bound to the event loop that opened it;
        # every test runs in a fresh loop, so close it with the loop it belongs to.
        await http_utils._close_session()
