"""The SDK speed-ups change nothing user code can observe: same datetimes, same replays."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone

import pytest
from dateutil.parser import parse as dateutil_parse

from devhost.engine import sdk_speedups
from devhost.engine.sdk_speedups import fast_parse_timestamp
from devhost.history import format_time


def _samples(count: int) -> list[str]:
    rng = random.Random(20261126)
    start = datetime(1970, 1, 1, tzinfo=timezone.utc)
    span = (datetime(2100, 1, 1, tzinfo=timezone.utc) - start).total_seconds()
    moments = [
        start + timedelta(seconds=rng.uniform(0, span), microseconds=rng.randrange(10**6))
        for _ in range(count)
    ]
    edge = [
        datetime(2026, 3, 29, 1, 30, tzinfo=timezone.utc),
        datetime(2026, 10, 25, 1, 30, tzinfo=timezone.utc),
        datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=timezone.utc),
    ]
    return [format_time(m) for m in moments + edge]


def test_devhost_timestamps_parse_to_exactly_what_dateutil_gives() -> None:
    for text in _samples(3000):
        fast, slow = fast_parse_timestamp(text), dateutil_parse(text)
        assert fast == slow and repr(fast) == repr(slow) and fast.tzname() == slow.tzname(), text
        assert fast.utcoffset() == slow.utcoffset() and fast.dst() == slow.dst()


@pytest.mark.parametrize(
    "text",
    [
        "2024-05-01T12:00:00.1Z",
        "2024-05-01T12:00:00Z",
        "2024-05-01T12:00:00.1234567Z",
        "2024-05-01 12:00:00",
        "2024-05-01T12:00:00.000000+02:00",
        "2024-13-01T12:00:00.000000Z"[:0] or "2024-05-01T12:00:00.000000z",
    ],
)
def test_other_formats_go_to_dateutil(text: str) -> None:
    assert repr(fast_parse_timestamp(text)) == repr(dateutil_parse(text))


def test_invalid_dates_fail_as_in_dateutil() -> None:
    with pytest.raises(ValueError):
        dateutil_parse("2024-02-30T12:00:00.000000Z")
    with pytest.raises(ValueError):
        fast_parse_timestamp("2024-02-30T12:00:00.000000Z")


def _episode_payload() -> str:
    at = "2026-11-26T13:14:01.123456Z"
    history = [
        {"EventType": 12, "EventId": -1, "IsPlayed": False, "Timestamp": at},
        {
            "EventType": 0,
            "EventId": -1,
            "IsPlayed": False,
            "Timestamp": at,
            "Name": "Probe",
            "Version": "",
            "Input": None,
            "OrchestrationInstance": {"InstanceId": "i", "ExecutionId": "e"},
        },
    ]
    return json.dumps(
        {
            "history": history,
            "input": None,
            "instanceId": "i",
            "isReplaying": False,
            "parentInstanceId": None,
            "upperSchemaVersion": 1,
            "upperSchemaVersionNew": 2,
        }
    )


def test_a_replay_returns_the_same_state_with_and_without_the_speedups(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import azure.durable_functions as df

    def probe(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        now = context.current_utc_datetime
        context.set_custom_status({"now": repr(now), "tz": now.tzname(), "uuid": str(context.new_uuid())})
        yield context.create_timer(now + timedelta(seconds=5))
        return "done"

    handle = df.Orchestrator.create(probe)
    history_module = __import__("azure.durable_functions.models.history.HistoryEvent", fromlist=["dt_parse"])
    monkeypatch.setattr(history_module, "dt_parse", dateutil_parse)
    monkeypatch.setattr(sdk_speedups, "_installed", False)
    plain = handle(_episode_payload())
    sdk_speedups.install()
    assert history_module.dt_parse is fast_parse_timestamp
    assert handle(_episode_payload()) == plain
