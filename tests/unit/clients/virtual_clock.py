"""A virtual clock for HttpStartAndWait: its sleeps take no time and are recorded, its deadline is virtual.

The client reads time from the event loop and waits with asyncio.sleep and asyncio.wait_for. Here
the loop's clock runs ahead by every second the client slept, so a test can say how long it waited
and at what interval it polled without measuring the machine; the real RPC stub still answers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

T = TypeVar("T")


class VirtualClock:
    """Loop time = real loop time + every second slept through `sleep`."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._real = loop.time
        self.offset = 0.0
        self.sleeps: list[float] = []
        self.query_limits: list[float | None] = []

    def time(self) -> float:
        return self._real() + self.offset

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.offset += seconds
        await asyncio.sleep(0)

    async def wait_for(self, awaitable: Awaitable[T], timeout: float | None) -> T:
        self.query_limits.append(timeout)
        return await asyncio.wait_for(awaitable, timeout)


class AsyncioOnTheClock:
    """What the client module sees as `asyncio`: the real module, with sleep and wait_for on the clock."""

    def __init__(self, clock: VirtualClock) -> None:
        self.sleep = clock.sleep
        self.wait_for = clock.wait_for

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)
