"""Moving a virtual clock by hand: `advance(delta)` fires what falls due in order, one due time at a
time, and waits for the work each firing brings, so an hourly timer that re-arms itself (the monitor
pattern) runs once per virtual hour passed, as it would have in real time."""

from __future__ import annotations

import asyncio
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from ..clock import RealClock, VirtualClock
from ..time_skipping import NoSkipping, SkipWhileAwaited
from .dispatcher import Dispatcher


@dataclass(frozen=True, slots=True)
class Advanced:
    """What one `advance` did: the clock before and after, and how many due times it stepped through."""

    before: datetime
    after: datetime
    steps: int


class TimeControl:
    """The engine's clock as a user sees it: read it, move it, wait for the host to settle."""

    def __init__(self, clock: RealClock, skipping: NoSkipping, dispatcher: Dispatcher, store: Any) -> None:
        self.clock = clock
        self.skipping = skipping
        self._dispatcher = dispatcher
        self._store = store
        self._moving = asyncio.Lock()

    @property
    def mode(self) -> str:
        return "real" if not self.clock.virtual else self.skipping.mode

    def describe(self) -> str:
        if not self.clock.virtual:
            return "real time (wall clock)"
        return self.skipping.describe()

    def now(self) -> datetime:
        return self.clock.now()

    @property
    def generation(self) -> int:
        """Read before looking at the store; `not_there_yet` with it after finding nothing."""
        return self._dispatcher.generation

    def not_there_yet(self, generation: int) -> None:
        """A waiter looked (at `generation`) and found nothing: with the "awaited" mode, the clock may
        jump once to the next timer, unless something happened in the host since."""
        self.skipping.grant(generation)

    @contextmanager
    def skipping_time(self) -> Any:
        """While inside, a host in the "awaited" mode jumps to each next timer whenever it is idle."""
        if isinstance(self.skipping, SkipWhileAwaited):
            with self.skipping.awaiting():
                yield
        else:
            yield

    async def wait_idle(self, timeout: float | None = None) -> None:
        """Until nothing is running or due now (timers in the future may remain); TimeoutError after
        `timeout` seconds of real time."""
        try:
            await asyncio.wait_for(self._dispatcher.wait_idle(), timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(f"the host still had work running or due after {timeout} s") from None

    async def advance(self, delta: timedelta, *, timeout: float | None = None) -> Advanced:
        """Move the clock `delta` ahead, stepping to each due time on the way and waiting for the work
        it brings; TimeoutError when that work has not settled within `timeout` real seconds (the clock
        then stays where the stepping had got to)."""
        clock = self.clock
        if not isinstance(clock, VirtualClock):
            raise TypeError("this host runs on the real clock, which cannot be moved")
        if delta < timedelta(0):
            raise ValueError("the clock only moves forward")
        try:
            return await asyncio.wait_for(self._advance(clock, delta), timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(
                f"the work that fell due was still running after {timeout} s; the clock is at "
                f"{clock.now().isoformat()}"
            ) from None

    async def _advance(self, clock: VirtualClock, delta: timedelta) -> Advanced:
        async with self._moving:
            with self.skipping.held():
                before = clock.now()
                # The clock ends `delta` further ahead of the wall clock than it was: the wall clock
                # runs while the steps are taken, and those moments are not taken out of `delta`.
                ahead = clock.offset + delta
                steps = 0
                await self._dispatcher.wait_idle()
                while True:
                    due = await self._store.next_due(clock.now())
                    if due is None or due > datetime.now(timezone.utc) + ahead:
                        break
                    clock.advance_to(due)
                    steps += 1
                    await self._dispatcher.wait_idle()
                if ahead > clock.offset:
                    clock.advance(ahead - clock.offset)
                await self._dispatcher.wait_idle()
                return Advanced(before, clock.now(), steps)
