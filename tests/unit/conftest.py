"""Fixtures for the unit tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestServer
from azure.durable_functions.models.utils import http_utils

from .clients.rpc_stub import RpcStub
from .clients.virtual_clock import AsyncioOnTheClock, VirtualClock


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


@pytest.fixture
async def virtual_clock(monkeypatch: pytest.MonkeyPatch) -> VirtualClock:
    """HttpStartAndWait on a virtual clock: the loop's time runs ahead by every sleep the client takes."""
    import clients.start_and_wait

    loop = asyncio.get_running_loop()
    clock = VirtualClock(loop)
    monkeypatch.setattr(loop, "time", clock.time)
    monkeypatch.setattr(clients.start_and_wait, "asyncio", AsyncioOnTheClock(clock))
    return clock
