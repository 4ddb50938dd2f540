"""Waiting for a person: an external event raced against a durable timer, and the inputs that set it up.

Used by every orchestrator that hands a client instructions in its custom status and then waits for
the client's answer. Everything here is replay-safe: deadlines come from the orchestration's own
clock and payloads are decoded by pure functions of the history.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import azure.durable_functions as df

from orchestrators.names import GET_DEADLINE_SECONDS

# Long enough for any human-interaction demo, short enough that a typo (a timestamp instead of a
# duration, say) is refused instead of parking an instance for years.
MAX_DEADLINE_SECONDS = 7 * 24 * 60 * 60


@dataclass(frozen=True, slots=True)
class EventOutcome:
    """How a wait ended: `received` is False when the deadline passed first."""

    received: bool
    payload: Any = None


def parse_seconds(value: Any, what: str) -> int:
    """Return `value` as a whole number of seconds between 1 and MAX_DEADLINE_SECONDS.

    Accepts an int, a float with no fractional part (30.0, as JSON numbers sometimes arrive) or a
    string of digits; `what` names the value in the error message. Raises ValueError otherwise.
    """
    seconds: int | None = None
    if isinstance(value, bool):
        seconds = None  # bool is an int subclass, but `true` is not a duration.
    elif isinstance(value, int):
        seconds = value
    elif isinstance(value, float) and value.is_integer():
        seconds = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        seconds = int(value.strip())
    if seconds is None or not 1 <= seconds <= MAX_DEADLINE_SECONDS:
        raise ValueError(
            f"{what} must be a whole number of seconds between 1 and {MAX_DEADLINE_SECONDS}; got {value!r}."
        )
    return seconds


def deadline_seconds(
    context: df.DurableOrchestrationContext, given: int | None, setting: str
) -> Generator[Any, Any, int]:
    """Return the deadline length `given` in the input, or else the value of the app setting `setting`.

    Use with `yield from`. The setting is read by an activity rather than from os.environ here:
    its result is recorded in the history, so every replay sees the value the first run saw, even
    if the setting changes while the instance waits.
    Raises ValueError if the setting is not a valid number of seconds.
    """
    if given is not None:
        return given
    configured = yield context.call_activity(GET_DEADLINE_SECONDS, setting)
    return parse_seconds(configured, f"The app setting {setting}")


def decode_event_payload(payload: Any) -> Any:
    """Return an external event's payload with one level of JSON text encoding removed.

    A raiseEvent webhook call delivers the JSON value that was posted, but the Python SDK's
    DurableOrchestrationClient.raise_event encodes its data once more, so the orchestrator receives
    '"London"' or 'true' as text. Decoding such text here makes both ways of raising an event
    equivalent; a plain string that is not JSON ("London") is returned as it is.
    """
    if not isinstance(payload, str):
        return payload
    try:
        return json.loads(payload)
    except ValueError:
        return payload


def deadline_after(context: df.DurableOrchestrationContext, seconds: int) -> datetime:
    """Return the instant `seconds` after the orchestration's current (replay-safe) time."""
    return context.current_utc_datetime + timedelta(seconds=seconds)


def wait_for_event_until(
    context: df.DurableOrchestrationContext, event_name: str, deadline: datetime
) -> Generator[Any, Any, EventOutcome]:
    """Wait for `event_name` until `deadline`; use with `yield from` inside an orchestrator.

    When the event wins the timer is cancelled: an uncancelled durable timer keeps the instance
    Running until it fires, even after the orchestrator has returned.
    """
    timer = context.create_timer(deadline)
    event = context.wait_for_external_event(event_name)
    winner = yield context.task_any([event, timer])
    if winner == event:
        timer.cancel()
        return EventOutcome(received=True, payload=decode_event_payload(event.result))
    return EventOutcome(received=False)
