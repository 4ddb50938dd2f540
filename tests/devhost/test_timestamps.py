"""devhost's timestamp text: UTC, microseconds, Z, whatever the moments before it were."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from devhost.history import format_time, parse_time

_ZONES = st.sampled_from(
    [timezone.utc, timezone(timedelta(hours=9)), timezone(timedelta(hours=-5, minutes=-30))]
)
_MOMENTS = st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31), timezones=_ZONES)


def _expected(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


@given(st.lists(_MOMENTS, min_size=1, max_size=20))
def test_each_moment_is_written_as_itself_in_utc(moments: list[datetime]) -> None:
    for moment in moments:
        text = format_time(moment)
        assert text == _expected(moment)
        assert parse_time(text) == moment


@given(_MOMENTS)
def test_moments_either_side_of_a_second_are_written_apart(moment: datetime) -> None:
    """The text of the second is kept between calls: the next second must not reuse it."""
    start = moment.replace(microsecond=999_999)
    for step in (0, 1, 1_000_000, 0, 86_400_000_000):
        at = start + timedelta(microseconds=step)
        assert format_time(at) == _expected(at)


def test_threads_writing_at_once_each_get_their_own_moment() -> None:
    base = datetime(2026, 12, 8, 4, 30, tzinfo=timezone.utc)
    moments = [base + timedelta(seconds=n % 7, microseconds=n) for n in range(20_000)]
    with ThreadPoolExecutor(4) as pool:
        texts = list(pool.map(format_time, moments, chunksize=50))
    assert texts == [_expected(m) for m in moments]
