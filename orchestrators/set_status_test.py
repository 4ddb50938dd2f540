"""Orchestrator SetStatusTest: a custom status read by an external client while the instance runs.

Sets {"nextActions": ["A", "B", "C"], "foo": 2}, the article's sample status, then keeps running
until the client sends the Proceed event (or a deadline passes), so the status can be read from the
instance status endpoint while runtimeStatus is still "Running".
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import azure.durable_functions as df

from orchestrators.custom_status import set_custom_status
from orchestrators.names import PROCEED, SET_STATUS_TEST
from orchestrators.waiting import deadline_after, parse_seconds, wait_for_event_until

bp = df.Blueprint()

DEFAULT_TIMEOUT_SECONDS = 300


def parse_timeout(value: Any) -> int:
    """Return how long to wait for Proceed: input {"timeout": seconds}, or the default without input.

    Raises ValueError for any other input.
    """
    if value is None:
        return DEFAULT_TIMEOUT_SECONDS
    if not isinstance(value, dict) or set(value) - {"timeout"}:
        raise ValueError(f'{SET_STATUS_TEST} expects no input or {{"timeout": seconds}}; got {value!r}.')
    return parse_seconds(value.get("timeout", DEFAULT_TIMEOUT_SECONDS), "timeout")


@bp.function_name(SET_STATUS_TEST)
@bp.orchestration_trigger(context_name="context")
def set_status_test(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    """Publish the next actions, wait for Proceed, and return whether it came in time."""
    seconds = parse_timeout(context.get_input())
    set_custom_status(context, {"nextActions": ["A", "B", "C"], "foo": 2})

    outcome = yield from wait_for_event_until(context, PROCEED, deadline_after(context, seconds))
    set_custom_status(context, {"nextActions": [], "foo": 2})
    if outcome.received:
        return {"proceeded": True}
    return {"proceeded": False, "message": f"No {PROCEED} event arrived within {seconds} seconds."}
