"""The custom status check mirrors the extension's 16 KB rule to the byte."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrators.custom_status import CustomStatusError, check_custom_status, custom_status_size
from orchestrators.names import HELLO_SEQUENCE, SAY_HELLO

from ..history_builder import HistoryBuilder
from ..replay import replay_failure

# 16 KB are refused from 17 * 1024 bytes on, because the extension truncates to whole kilobytes.
FIRST_REFUSED = 17 * 1024


def test_size_is_utf16_bytes_of_compact_json() -> None:
    assert custom_status_size("Tokyo") == 7 * 2
    assert custom_status_size({"a": [1, 2]}) == len('{"a":[1,2]}') * 2
    # Non-ASCII is stored as itself, not as a \u escape; outside the BMP it takes a surrogate pair.
    assert custom_status_size("é") == 3 * 2
    assert custom_status_size("😀") == (2 + 2) * 2
    # A lone surrogate (valid JSON: "\ud800") is one UTF-16 unit, as .NET counts it; no codec error.
    assert custom_status_size("\ud800x") == 4 * 2


@pytest.mark.parametrize(
    ("largest_accepted", "smallest_refused"),
    [
        # A string status: its JSON text adds two quotes.
        ("x" * 8701, "x" * 8702),
        # Measured compactly: with Python's ", " and ": " the accepted one would be over the limit.
        ({"a": "x" * 8695}, {"a": "x" * 8696}),
        # Measured unescaped: as \u00e9 escapes the accepted one would be six times larger.
        ("é" * 8701, "é" * 8702),
        # Measured in UTF-16 code units: each emoji counts twice.
        ("😀" * 4350 + "x", "😀" * 4351),
    ],
)
def test_the_limit_is_17408_bytes_exclusive(largest_accepted: Any, smallest_refused: Any) -> None:
    assert custom_status_size(largest_accepted) == FIRST_REFUSED - 2
    assert custom_status_size(smallest_refused) == FIRST_REFUSED

    check_custom_status(largest_accepted)
    with pytest.raises(
        CustomStatusError, match=r"is 17408 bytes \(17 KB\) as UTF-16 JSON text, over the 16 KB"
    ):
        check_custom_status(smallest_refused)


def test_a_status_that_is_not_json_is_refused_with_its_type() -> None:
    with pytest.raises(
        CustomStatusError, match=r"must be JSON-serializable.*Object of type set is not JSON serializable"
    ):
        check_custom_status({"cities": {"Tokyo"}})


def test_an_oversized_status_fails_the_orchestration_and_keeps_the_previous_status() -> None:
    huge_city = "x" * 9000
    history = HistoryBuilder(HELLO_SEQUENCE, ["Tokyo", huge_city])
    tokyo = history.scheduled(SAY_HELLO, "Tokyo")
    history.episode().completed(tokyo, "Hello Tokyo!")
    huge = history.scheduled(SAY_HELLO, huge_city)
    history.episode().completed(huge, f"Hello {huge_city}!")

    failure = replay_failure(HELLO_SEQUENCE, history)

    assert "The custom status is 18004 bytes (17 KB)" in failure.message
    assert "16 KB limit" in failure.message
    assert failure.state["customStatus"] == "Tokyo"
