"""Deadline inputs and event payloads shared by the waiting orchestrators."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrators.waiting import MAX_DEADLINE_SECONDS, decode_event_payload, parse_seconds


@pytest.mark.parametrize(
    ("value", "seconds"), [(1, 1), (30.0, 30), (" 45 ", 45), (MAX_DEADLINE_SECONDS,) * 2]
)
def test_whole_seconds_in_range_are_accepted(value: Any, seconds: int) -> None:
    assert parse_seconds(value, "timeout") == seconds


@pytest.mark.parametrize("value", [0, -5, 1.5, True, "1e3", "", None, [30], MAX_DEADLINE_SECONDS + 1])
def test_anything_else_is_refused_with_the_name_and_value(value: Any) -> None:
    with pytest.raises(
        ValueError, match=r"^timeout must be a whole number of seconds between 1 and 604800; got"
    ):
        parse_seconds(value, "timeout")


@pytest.mark.parametrize(
    ("payload", "decoded"),
    [
        ("London", "London"),
        ('"London"', "London"),
        ("true", True),
        ('{"city": "Tokyo"}', {"city": "Tokyo"}),
        ({"city": "Tokyo"}, {"city": "Tokyo"}),
        (False, False),
        (None, None),
    ],
)
def test_event_payloads_lose_one_level_of_json_text(payload: Any, decoded: Any) -> None:
    assert decode_event_payload(payload) == decoded
