"""When the engine may jump a virtual clock to the next due timer instead of waiting for it.

The engine asks only when nothing is running and nothing is due (devhost/engine/dispatcher.py); the
policy then says whether it may skip now, later, or not at all:

- `NoSkipping` ("off"): never; time moves with the wall clock, and ahead of it only by `advance`.
- `SkipWhileAwaited` ("awaited", the library and the pytest plugin): only while some code awaits a
  result through the host, as in Temporal's time-skipping test environment. A waiter that looks at the
  store (`TestHost.wait_for`, the HTTP API's start with `timeout`) grants one jump each time it has
  looked and not found what it waits for, valid only if nothing happened in the host since it looked
  (the engine's generation is unchanged): the clock never runs past the moment the awaited instance got
  there. `DevHost.skipping_time()` lets it jump freely while held, for code that polls by itself.
  An eternal orchestration nobody waits for stays where it is.
- `SkipWhenIdle` ("idle", `devhost start --time-skipping`): whenever the host is idle, at most
  `burst` jumps at once and then `per_second` jumps per real second, so an eternal orchestration (a
  durable timer, then continue_as_new) runs a few iterations a second instead of taking a core.

While the clock is moved by hand (`advance`), no policy skips.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

MODES = ("off", "awaited", "idle")
IDLE_BURST = 20
IDLE_JUMPS_PER_SECOND = 4.0


class NoSkipping:
    """Time skips never; the base of the others (holding skips off while the clock is moved by hand)."""

    mode = "off"

    def __init__(self) -> None:
        self._held = 0
        self._changed: Callable[[], None] = lambda: None

    def on_change(self, callback: Callable[[], None]) -> None:
        """`callback` runs when skipping may have become allowed (the engine looks again)."""
        self._changed = callback

    @contextmanager
    def held(self) -> Iterator[None]:
        """No skip while inside (`advance` steps the clock itself)."""
        self._held += 1
        try:
            yield
        finally:
            self._held -= 1
            self._changed()

    def permit_in(self, generation: int) -> float | None:
        """None: do not skip; 0: skip now; else real seconds until a skip may happen. `generation`
        counts what happened in the host (commits, starts, events)."""
        return None if self._held else self._permit_in(generation)

    def _permit_in(self, generation: int) -> float | None:
        return None

    def grant(self, generation: int) -> None:
        """A waiter looked at generation `generation` and did not find what it waits for."""

    def skipped(self) -> None:
        """The engine jumped the clock."""

    def describe(self) -> str:
        return "virtual time, moves with the wall clock; ahead of it only when advanced by hand"


class SkipWhileAwaited(NoSkipping):
    """Skips only while some code awaits through the host (`awaiting()` is held)."""

    mode = "awaited"

    def __init__(self) -> None:
        super().__init__()
        self._awaiting = 0
        self._granted: int | None = None

    @contextmanager
    def awaiting(self) -> Iterator[None]:
        """Jump freely while inside."""
        self._awaiting += 1
        self._changed()
        try:
            yield
        finally:
            self._awaiting -= 1

    def grant(self, generation: int) -> None:
        self._granted = generation
        self._changed()

    def _permit_in(self, generation: int) -> float | None:
        return 0.0 if self._awaiting or self._granted == generation else None

    def skipped(self) -> None:
        self._granted = None

    def describe(self) -> str:
        return "virtual time, skips to the next timer only while a result is awaited through the host"


class SkipWhenIdle(NoSkipping):
    """Skips whenever the host is idle, through a token bucket: `burst` jumps, then `per_second`."""

    mode = "idle"

    def __init__(
        self,
        burst: int = IDLE_BURST,
        per_second: float = IDLE_JUMPS_PER_SECOND,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._burst = float(burst)
        self._rate = per_second
        self._monotonic = monotonic
        self._tokens = float(burst)
        self._at = monotonic()

    def _refill(self) -> None:
        moment = self._monotonic()
        self._tokens = min(self._burst, self._tokens + (moment - self._at) * self._rate)
        self._at = moment

    def _permit_in(self, generation: int) -> float | None:
        self._refill()
        return 0.0 if self._tokens >= 1.0 else (1.0 - self._tokens) / self._rate

    def skipped(self) -> None:
        self._refill()
        self._tokens -= 1.0

    def describe(self) -> str:
        return (
            f"time-skipping: jumps to the next timer when idle, at most {int(self._burst)} jumps at once, "
            f"then {self._rate:g} per second"
        )


def policy(mode: str | bool) -> NoSkipping:
    """The policy for a `time_skipping` value: False/"off", True/"awaited", or "idle"."""
    if mode is True or mode == "awaited":
        return SkipWhileAwaited()
    if mode is False or mode == "off":
        return NoSkipping()
    if mode == "idle":
        return SkipWhenIdle()
    raise ValueError(f"time_skipping must be True, False or one of {', '.join(MODES)}, not {mode!r}")
