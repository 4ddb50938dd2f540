"""Activities called the way the worker calls them: the registered function with the decoded input."""

from __future__ import annotations

import pytest

from activities.discount import DISCOUNT_STEPS
from orchestrators.names import (
    CALCULATE_DISCOUNT,
    CITY_SELECTION_DEADLINE_SETTING,
    GET_DEADLINE_SECONDS,
    RESERVATION_DEADLINE_SETTING,
    SAY_HELLO,
)

from ..replay import registered_function


def test_say_hello_greets_the_city() -> None:
    assert registered_function(SAY_HELLO)("Tokyo") == "Hello Tokyo!"


def test_the_discount_is_a_stable_step_per_user() -> None:
    calculate = registered_function(CALCULATE_DISCOUNT)
    discounts = {user: calculate(user) for user in ["alice", "bob", "carol", "dave", "erin", "42"]}

    assert set(discounts.values()) <= set(DISCOUNT_STEPS)
    assert len(set(discounts.values())) > 1, "every user gets the same discount"
    # Stable across processes: a hash of the id, not Python's per-process salted hash().
    assert discounts["alice"] == 10
    assert discounts == {user: calculate(user) for user in discounts}


def test_deadline_settings_fall_back_to_their_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(RESERVATION_DEADLINE_SETTING, raising=False)
    monkeypatch.setenv(CITY_SELECTION_DEADLINE_SETTING, "  ")
    read = registered_function(GET_DEADLINE_SECONDS)

    assert read(RESERVATION_DEADLINE_SETTING) == "60"
    assert read(CITY_SELECTION_DEADLINE_SETTING) == "300"


def test_a_set_deadline_setting_is_returned_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(RESERVATION_DEADLINE_SETTING, " 90 ")

    assert registered_function(GET_DEADLINE_SECONDS)(RESERVATION_DEADLINE_SETTING) == "90"


def test_only_deadline_settings_can_be_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AzureWebJobsStorage", "secret")

    with pytest.raises(ValueError, match="'AzureWebJobsStorage' is not a deadline setting"):
        registered_function(GET_DEADLINE_SECONDS)("AzureWebJobsStorage")
