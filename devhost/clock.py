"""Clocks. Every "now" the engine writes into history comes from one of these.

`RealClock` is wall time. `VirtualClock` starts at wall time and runs with it, but the engine may
jump it forward to the next due timer when nothing else can run (`--time-skipping`), so a 60 s
deadline passes in milliseconds while the order of events stays what real time would give.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone


class RealClock:
    """Wall-clock UTC time."""

    skips_time = False

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def advance_to(self, when: datetime) -> None:
        raise TypeError("the real clock cannot be moved")

    def real_delay(self, when: datetime) -> float:
        """Seconds of real time until `when` (0 if it is due)."""
        return max(0.0, (when - self.now()).total_seconds())


class VirtualClock(RealClock):
    """Wall time plus an offset that only grows."""

    skips_time = True

    def __init__(self) -> None:
        self._offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self._offset

    def advance_to(self, when: datetime) -> None:
        gap = when - self.now()
        if gap > timedelta(0):
            self._offset += gap


class ManualClock(VirtualClock):
    """A virtual clock that never skips on its own: only `advance` moves it ahead of wall time.

    Tests use it to hold a durable timer pending, look at the instance, then pass the timer on purpose.
    """

    skips_time = False

    def advance(self, delta: timedelta) -> None:
        if delta < timedelta(0):
            raise ValueError("the clock only moves forward")
        self._offset += delta
