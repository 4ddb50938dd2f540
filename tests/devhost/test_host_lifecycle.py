"""`DevHost.start()` and `stop()`: stop always returns, a start that fails leaves nothing open."""

from __future__ import annotations

import asyncio

import pytest

from devhost.host import DevHost

from .helpers import APPS


@pytest.mark.timeout(120)
async def test_stop_returns_when_a_wake_up_lands_in_the_same_loop_turn() -> None:
    # On Python 3.11, asyncio.wait_for returns normally when its awaitable completes in the turn a
    # cancel arrives: a dispatcher sleeping in wait_for would swallow stop's cancel and never end.
    for attempt in range(200):
        host = DevHost(APPS / "features", store="memory", port=0, rpc_port=0)
        await host.start()
        assert host._dispatcher is not None
        await asyncio.sleep(0)  # the dispatcher is now asleep, waiting to be woken
        host._dispatcher.notify()
        try:
            await asyncio.wait_for(host.stop(), 10)
        except asyncio.TimeoutError:
            pytest.fail(f"DevHost.stop() did not return (attempt {attempt + 1} of 200)")
