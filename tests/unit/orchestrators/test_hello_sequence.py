"""E1_HelloSequence: the custom status follows the greeted cities, episode by episode."""

from __future__ import annotations

import pytest

from orchestrators.names import HELLO_SEQUENCE, SAY_HELLO

from ..history_builder import HistoryBuilder
from ..replay import actions, assert_replays_agree, call_activity, replay, replay_failure


def test_each_greeting_sets_the_status_to_its_city() -> None:
    history = HistoryBuilder(HELLO_SEQUENCE)

    state = replay(HELLO_SEQUENCE, history)
    assert actions(state) == [call_activity(SAY_HELLO, "Tokyo")]
    assert "customStatus" not in state
    assert state["isDone"] is False

    expected_calls = [call_activity(SAY_HELLO, "Tokyo")]
    for city, next_city in [("Tokyo", "Seattle"), ("Seattle", "London")]:
        task = history.scheduled(SAY_HELLO, city)
        history.episode().completed(task, f"Hello {city}!")
        state = replay(HELLO_SEQUENCE, history)
        expected_calls.append(call_activity(SAY_HELLO, next_city))
        assert actions(state) == expected_calls
        assert state["customStatus"] == city
        assert state["isDone"] is False

    task = history.scheduled(SAY_HELLO, "London")
    history.episode().completed(task, "Hello London!")
    state = replay(HELLO_SEQUENCE, history)
    assert state["isDone"] is True
    assert state["customStatus"] == "London"
    assert state["output"] == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]
    assert actions(state) == expected_calls


def test_a_city_list_input_replaces_the_default_cities() -> None:
    history = HistoryBuilder(HELLO_SEQUENCE, ["Paris", " Oslo "])
    paris = history.scheduled(SAY_HELLO, "Paris")
    history.episode().completed(paris, "Hello Paris!")
    oslo = history.scheduled(SAY_HELLO, "Oslo")
    history.episode().completed(oslo, "Hello Oslo!")

    state = replay(HELLO_SEQUENCE, history)

    assert actions(state) == [call_activity(SAY_HELLO, "Paris"), call_activity(SAY_HELLO, "Oslo")]
    assert state["customStatus"] == "Oslo"
    assert state["output"] == ["Hello Paris!", "Hello Oslo!"]


@pytest.mark.parametrize(
    ("bad_input", "complaint"),
    [
        ("Tokyo", "JSON list of city names"),
        ({"cities": ["Tokyo"]}, "JSON list of city names"),
        ([], "non-empty JSON list"),
        (["Tokyo", 3, " "], "these are not: [3, ' ']"),
    ],
)
def test_an_input_that_is_not_a_list_of_names_fails_before_any_greeting(
    bad_input: object, complaint: str
) -> None:
    failure = replay_failure(HELLO_SEQUENCE, HistoryBuilder(HELLO_SEQUENCE, bad_input))

    assert complaint in failure.message
    assert failure.state["error"] == failure.message
    assert failure.state["actions"] == [[]]
    assert "customStatus" not in failure.state


def test_a_failed_greeting_fails_the_orchestration_and_keeps_the_last_status() -> None:
    history = HistoryBuilder(HELLO_SEQUENCE)
    tokyo = history.scheduled(SAY_HELLO, "Tokyo")
    history.episode().completed(tokyo, "Hello Tokyo!")
    seattle = history.scheduled(SAY_HELLO, "Seattle")
    history.episode().failed(seattle, SAY_HELLO, "ValueError: no greeting for Seattle")

    failure = replay_failure(HELLO_SEQUENCE, history)

    assert "Activity function 'E1_SayHello' failed" in failure.message
    assert "no greeting for Seattle" in failure.message
    assert failure.state["customStatus"] == "Tokyo"
    assert failure.state["isDone"] is False


def test_replaying_the_same_history_elsewhere_and_later_gives_the_same_reply() -> None:
    history = HistoryBuilder(HELLO_SEQUENCE, ["Tokyo", "London"])
    tokyo = history.scheduled(SAY_HELLO, "Tokyo")
    history.episode().completed(tokyo, "Hello Tokyo!")

    reply = assert_replays_agree(HELLO_SEQUENCE, history)

    assert '"customStatus": "Tokyo"' in reply
