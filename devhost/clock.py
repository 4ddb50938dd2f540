"""Clocks. Every "now" the engine writes into history comes from one of these.

`RealClock` is wall time and cannot be moved. `VirtualClock` is wall time plus an offset that only
grows: it runs with the wall clock and is moved ahead by hand (`advance`) or by the engine when its
time-skipping policy (devhost/time_skipping.py) lets it jump to the next due timer. The order of events
stays what real time would give: only the waiting is left out.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone


class RealClock:
    """Wall-clock UTC time."""

    virtual = False

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    @property
    def offset(self) -> timedelta:
        """How far this clock is ahead of wall time."""
        return timedelta(0)

    def advance_to(self, when: datetime) -> None:
        raise TypeError("the real clock cannot be moved")

    def real_delay(self, when: datetime) -> float:
        """Seconds of real time until `when` (0 if it is due)."""
        return max(0.0, (when - self.now()).total_seconds())


class VirtualClock(RealClock):
    """Wall time plus an offset that only grows."""

    virtual = True

    def __init__(self) -> None:
        self._offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self._offset

    @property
    def offset(self) -> timedelta:
        return self._offset

    def advance(self, delta: timedelta) -> None:
        """Move the clock `delta` ahead (the work that falls due is the engine's business)."""
        if delta < timedelta(0):
            raise ValueError("the clock only moves forward")
        self._offset += delta

    def advance_to(self, when: datetime) -> None:
        """Move the clock to `when`; a moment already passed changes nothing."""
        gap = when - self.now()
        if gap > timedelta(0):
            self._offset += gap


class ManualClock(VirtualClock):
    """A virtual clock (the name older code uses); only `advance` and a skipping policy move it."""
