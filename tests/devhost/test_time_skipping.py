"""The skipping policies on their own, and the durations `advance` reads."""

from __future__ import annotations

from datetime import timedelta

import pytest

from devhost.durations import format_duration, parse_duration
from devhost.time_skipping import NoSkipping, SkipWhenIdle, SkipWhileAwaited, policy


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_when_idle_the_burst_then_the_rate_bounds_the_jumps() -> None:
    clock = FakeMonotonic()
    skipping = SkipWhenIdle(burst=3, per_second=4.0, monotonic=clock)
    for _ in range(3):
        assert skipping.permit_in(0) == 0
        skipping.skipped()
    assert skipping.permit_in(0) == pytest.approx(0.25)
    clock.now += 0.1
    assert skipping.permit_in(0) == pytest.approx(0.15)
    clock.now += 0.15
    assert skipping.permit_in(0) == 0
    skipping.skipped()
    clock.now += 3600  # a long quiet spell refills the burst, never more
    for _ in range(3):
        assert skipping.permit_in(0) == 0
        skipping.skipped()
    assert skipping.permit_in(0) is not None and skipping.permit_in(0) > 0


def test_while_awaited_a_grant_is_one_jump_for_an_unchanged_host() -> None:
    skipping = SkipWhileAwaited()
    assert skipping.permit_in(5) is None
    skipping.grant(5)
    assert skipping.permit_in(6) is None  # something happened since the waiter looked
    assert skipping.permit_in(5) == 0
    skipping.skipped()
    assert skipping.permit_in(5) is None
    with skipping.awaiting():
        assert skipping.permit_in(7) == 0
    assert skipping.permit_in(7) is None


def test_holding_stops_every_policy() -> None:
    for skipping in (SkipWhenIdle(), SkipWhileAwaited()):
        skipping.grant(1)
        with skipping.held():
            assert skipping.permit_in(1) is None
        assert skipping.permit_in(1) == 0
    assert NoSkipping().permit_in(1) is None


def test_the_time_skipping_values() -> None:
    assert policy(True).mode == policy("awaited").mode == "awaited"
    assert policy(False).mode == policy("off").mode == "off"
    assert policy("idle").mode == "idle"
    with pytest.raises(ValueError, match="time_skipping must be"):
        policy("always")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2h", timedelta(hours=2)),
        ("90s", timedelta(seconds=90)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1h 30m", timedelta(hours=1, minutes=30)),
        ("1.5d", timedelta(days=1, hours=12)),
        ("250ms", timedelta(milliseconds=250)),
        ("2W", timedelta(weeks=2)),
        ("PT2H", timedelta(hours=2)),
        ("P1DT30M", timedelta(days=1, minutes=30)),
        ("pt0.5s", timedelta(milliseconds=500)),
        ("3600", timedelta(hours=1)),
        (7200, timedelta(hours=2)),
        (0, timedelta(0)),
    ],
)
def test_durations(text: object, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "soon", "-1h", "-5", "P", "PT", "P1DT", "2x", "1h30", "h", True, None, [1], float("nan"), "1" * 400],
)
def test_what_is_not_a_duration(text: object) -> None:
    with pytest.raises(ValueError, match=r"not a duration|smaller steps"):
        parse_duration(text)


def test_durations_shown_back() -> None:
    assert format_duration(timedelta(hours=26, seconds=3)) == "1d 2h 3s"
    assert format_duration(timedelta(milliseconds=250)) == "250ms"
    assert format_duration(timedelta(0)) == "0s"
