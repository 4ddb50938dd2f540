"""ReserveTicket: the offer and its deadline in the status, raced against BookingConfirmed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from orchestrators.names import (
    BOOKING_CONFIRMED,
    CALCULATE_DISCOUNT,
    GET_DEADLINE_SECONDS,
    RESERVATION_DEADLINE_SETTING,
    RESERVE_TICKET,
)

from ..history_builder import START, HistoryBuilder
from ..replay import actions, assert_replays_agree, call_activity, race, replay, replay_failure

BOOKING_URL = "https://www.myawesomebookingweb.com"
OFFER = {"discount": 15, "discountTimeout": 5, "bookingUrl": BOOKING_URL}


def offered_history() -> HistoryBuilder:
    """A history waiting on a 15 % offer for user 42 that stands for 5 seconds from START + 1 s."""
    history = HistoryBuilder(RESERVE_TICKET, {"userId": 42, "discountTimeout": 5})
    discount = history.scheduled(CALCULATE_DISCOUNT, "42")
    history.episode(after=1).completed(discount, 15)
    history.timer(history.now + timedelta(seconds=5))
    return history


def test_the_offer_from_the_app_setting_is_published_then_confirmed() -> None:
    history = HistoryBuilder(RESERVE_TICKET, "alice")
    state = replay(RESERVE_TICKET, history)
    assert actions(state) == [call_activity(CALCULATE_DISCOUNT, "alice")]
    assert "customStatus" not in state

    discount = history.scheduled(CALCULATE_DISCOUNT, "alice")
    history.episode().completed(discount, 20)
    state = replay(RESERVE_TICKET, history)
    assert actions(state)[1:] == [call_activity(GET_DEADLINE_SECONDS, RESERVATION_DEADLINE_SETTING)]
    assert "customStatus" not in state

    setting = history.scheduled(GET_DEADLINE_SECONDS, RESERVATION_DEADLINE_SETTING)
    history.episode().completed(setting, "60")
    deadline = history.now + timedelta(seconds=60)
    state = replay(RESERVE_TICKET, history)
    assert state["customStatus"] == {"discount": 20, "discountTimeout": 60, "bookingUrl": BOOKING_URL}
    assert actions(state)[2:] == [race(BOOKING_CONFIRMED, deadline)]
    assert state["isDone"] is False

    history.timer(deadline)
    history.episode(after=10).raised(BOOKING_CONFIRMED, True)
    state = replay(RESERVE_TICKET, history)
    assert state["isDone"] is True
    assert state["output"] is True
    assert state["customStatus"] == {"message": "Thank you for confirming your booking."}
    assert actions(state)[2:] == [race(BOOKING_CONFIRMED, deadline, canceled=True)]


def test_a_timeout_in_the_input_skips_the_setting_and_ids_become_strings() -> None:
    history = HistoryBuilder(RESERVE_TICKET, {"userId": 42, "discountTimeout": 5})
    assert actions(replay(RESERVE_TICKET, history)) == [call_activity(CALCULATE_DISCOUNT, "42")]

    discount = history.scheduled(CALCULATE_DISCOUNT, "42")
    history.episode(after=1).completed(discount, 15)
    state = replay(RESERVE_TICKET, history)

    assert state["customStatus"] == OFFER
    assert actions(state)[1:] == [race(BOOKING_CONFIRMED, START + timedelta(seconds=6))]


@pytest.mark.parametrize(
    ("payload", "by_sdk_client", "confirmed", "message"),
    [
        (True, True, True, "Thank you for confirming your booking."),
        ({"ref": "X1"}, False, True, "Thank you for confirming your booking."),
        (False, False, False, "The booking was declined. The discount offer is withdrawn."),
        # The SDK client delivers false as the text 'false', which is truthy until decoded.
        (False, True, False, "The booking was declined. The discount offer is withdrawn."),
        (None, False, False, "The booking was declined. The discount offer is withdrawn."),
    ],
)
def test_the_event_payload_decides_the_booking(
    payload: Any, by_sdk_client: bool, confirmed: bool, message: str
) -> None:
    history = offered_history()
    history.episode(after=2).raised(BOOKING_CONFIRMED, payload, by_sdk_client=by_sdk_client)

    state = replay(RESERVE_TICKET, history)

    assert state["isDone"] is True
    assert state["output"] is confirmed
    assert state["customStatus"] == {"message": message}
    assert actions(state)[1:] == [race(BOOKING_CONFIRMED, START + timedelta(seconds=6), canceled=True)]


def test_an_offer_not_confirmed_in_time_expires() -> None:
    history = offered_history()
    history.episode(after=5).timer_fired(1, START + timedelta(seconds=6))

    state = replay(RESERVE_TICKET, history)

    assert state["isDone"] is True
    assert state["output"] is False
    assert state["customStatus"] == {"message": "The booking was not confirmed on time. Please try again."}
    assert actions(state)[1:] == [race(BOOKING_CONFIRMED, START + timedelta(seconds=6))]


@pytest.mark.parametrize(
    ("bad_input", "complaint"),
    [
        (None, "expects a user id"),
        ("  ", "expects a user id"),
        (True, "expects a user id"),
        ({"userId": None}, "expects a user id"),
        ({"userId": "alice", "discountTimeout": -1}, "discountTimeout must be a whole number of seconds"),
        ({"userId": "alice", "discountTimeout": "soon"}, "discountTimeout must be a whole number of seconds"),
    ],
)
def test_a_bad_input_fails_before_any_work(bad_input: Any, complaint: str) -> None:
    failure = replay_failure(RESERVE_TICKET, HistoryBuilder(RESERVE_TICKET, bad_input))

    assert complaint in failure.message
    assert failure.state["actions"] == [[]]


def test_a_failed_discount_calculation_fails_the_orchestration_without_an_offer() -> None:
    history = HistoryBuilder(RESERVE_TICKET, "alice")
    discount = history.scheduled(CALCULATE_DISCOUNT, "alice")
    history.episode().failed(discount, CALCULATE_DISCOUNT, "RuntimeError: pricing is down")

    failure = replay_failure(RESERVE_TICKET, history)

    assert "Activity function 'CalculateDiscount' failed" in failure.message
    assert "pricing is down" in failure.message
    assert "customStatus" not in failure.state


def test_replaying_the_same_history_elsewhere_and_later_gives_the_same_reply() -> None:
    history = offered_history()
    history.episode().raised(BOOKING_CONFIRMED, True)

    assert_replays_agree(RESERVE_TICKET, history)
