"""Orchestrator ReserveTicket: instructions to the client through the custom status.

Calculates a discount for the user, publishes the offer and how long it stands in the custom status,
then waits for the client's BookingConfirmed event until that deadline. The final custom status says
how the booking ended, and the output is whether it was confirmed.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import azure.durable_functions as df

from orchestrators.custom_status import set_custom_status
from orchestrators.names import (
    BOOKING_CONFIRMED,
    CALCULATE_DISCOUNT,
    RESERVATION_DEADLINE_SETTING,
    RESERVE_TICKET,
)
from orchestrators.waiting import deadline_after, deadline_seconds, parse_seconds, wait_for_event_until

bp = df.Blueprint()

BOOKING_URL = "https://www.myawesomebookingweb.com"

CONFIRMED_MESSAGE = "Thank you for confirming your booking."
DECLINED_MESSAGE = "The booking was declined. The discount offer is withdrawn."
EXPIRED_MESSAGE = "The booking was not confirmed on time. Please try again."


def parse_request(value: Any) -> tuple[str, int | None]:
    """Return (user id, discount timeout in seconds or None) from the orchestration input.

    The input is the user id itself ("alice" or 42) or {"userId": ..., "discountTimeout": seconds}.
    Numeric ids become strings, so "42" and 42 are the same user. Raises ValueError for a missing or
    blank user id or an invalid timeout.
    """
    timeout = None
    user_id = value
    if isinstance(value, dict):
        user_id = value.get("userId")
        timeout = value.get("discountTimeout")
    if isinstance(user_id, int) and not isinstance(user_id, bool):
        user_id = str(user_id)
    if not isinstance(user_id, str) or not user_id.strip():
        raise ValueError(
            f"{RESERVE_TICKET} expects a user id (a non-empty string or an integer) or "
            f'{{"userId": "alice", "discountTimeout": 60}}; got {value!r}.'
        )
    return user_id.strip(), None if timeout is None else parse_seconds(timeout, "discountTimeout")


@bp.function_name(RESERVE_TICKET)
@bp.orchestration_trigger(context_name="context")
def reserve_ticket(context: df.DurableOrchestrationContext) -> Generator[Any, Any, bool]:
    """Offer a discount and wait for BookingConfirmed until it expires; return whether it was confirmed."""
    user_id, given_timeout = parse_request(context.get_input())
    discount = yield context.call_activity(CALCULATE_DISCOUNT, user_id)
    seconds = yield from deadline_seconds(context, given_timeout, RESERVATION_DEADLINE_SETTING)
    set_custom_status(context, {"discount": discount, "discountTimeout": seconds, "bookingUrl": BOOKING_URL})

    outcome = yield from wait_for_event_until(context, BOOKING_CONFIRMED, deadline_after(context, seconds))
    # Any truthy payload confirms (true, "yes", {"ref": ...}); false, null or "" declines.
    confirmed = outcome.received and bool(outcome.payload)
    if confirmed:
        message = CONFIRMED_MESSAGE
    elif outcome.received:
        message = DECLINED_MESSAGE
    else:
        message = EXPIRED_MESSAGE
    set_custom_status(context, {"message": message})
    return confirmed
