"""`timeout` and `pollingInterval` of a start or restart: when the Durable HTTP API waits, and how long.

As in azure-functions-durable-extension, src/WebJobs.Extensions.DurableTask/HttpApiHandler.cs
(HandleStartOrchestratorRequestAsync, HandleRestartInstanceRequestAsync,
WaitForCompletionOrCreateCheckStatusResponseAsync): the answer waits only when both values parse as
numbers of seconds (`double.TryParse`); either one missing or unreadable means the plain 202 answer.
A polling interval longer than the timeout is an ArgumentException there, a 400.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from ..dotnet_text import try_double
from ..errors import RequestError

# TimeSpan.FromSeconds overflows past TimeSpan.MaxValue (about 29,000 years).
MAX_TIMESPAN_SECONDS = 922_337_203_685.0
# How often devhost looks at most and at least: the extension would spin on an interval of 0.
MIN_PAUSE = 0.05
MAX_PAUSE = 60.0
MAX_WAIT = 3600.0


@dataclass(frozen=True, slots=True)
class WaitArguments:
    timeout: float
    polling_interval: float

    def checked(self) -> tuple[float, float]:
        """(seconds to wait, seconds between looks), or RequestError(400) saying what is wrong."""
        for name, value in (("timeout", self.timeout), ("pollingInterval", self.polling_interval)):
            if not math.isfinite(value) or abs(value) > MAX_TIMESPAN_SECONDS:
                raise RequestError(
                    "One or more of the arguments submitted is incorrect: "
                    f"'{name}' must be a finite number of seconds, not {value}."
                )
        if self.polling_interval > self.timeout:
            raise RequestError(
                "One or more of the arguments submitted is incorrect: Total timeout "
                f"{_seconds_text(self.timeout)} should be bigger than retry timeout "
                f"{_seconds_text(self.polling_interval)}"
            )
        pause = min(max(MIN_PAUSE, self.polling_interval), MAX_PAUSE)
        return min(self.timeout, MAX_WAIT), pause


def wait_arguments(query: Mapping[str, str]) -> WaitArguments | None:
    """The two values when both parse, else None (answer at once with the check-status links)."""
    timeout = try_double(query.get("timeout"))
    interval = try_double(query.get("pollingInterval"))
    if timeout is None or interval is None:
        return None
    return WaitArguments(timeout, interval)


def _seconds_text(value: float) -> str:
    """A number of seconds as .NET prints a double: 5, not 5.0."""
    return str(int(value)) if value.is_integer() else repr(value)
