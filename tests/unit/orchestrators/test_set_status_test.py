"""SetStatusTest: the article's status stays readable while the instance waits for Proceed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from orchestrators.names import PROCEED, SET_STATUS_TEST

from ..history_builder import START, HistoryBuilder
from ..replay import actions, assert_replays_agree, race, replay, replay_failure

RUNNING_STATUS = {"nextActions": ["A", "B", "C"], "foo": 2}
DONE_STATUS = {"nextActions": [], "foo": 2}


def test_the_status_is_set_while_waiting_and_cleared_of_actions_after_proceed() -> None:
    history = HistoryBuilder(SET_STATUS_TEST)
    deadline = START + timedelta(seconds=300)

    state = replay(SET_STATUS_TEST, history)
    assert state["customStatus"] == RUNNING_STATUS
    assert state["isDone"] is False
    assert actions(state) == [race(PROCEED, deadline)]

    history.timer(deadline)
    history.episode(after=3).raised(PROCEED, None)
    state = replay(SET_STATUS_TEST, history)
    assert state["isDone"] is True
    assert state["output"] == {"proceeded": True}
    assert state["customStatus"] == DONE_STATUS
    assert actions(state) == [race(PROCEED, deadline, canceled=True)]


def test_without_proceed_it_completes_at_the_deadline() -> None:
    history = HistoryBuilder(SET_STATUS_TEST, {"timeout": 10})
    deadline = START + timedelta(seconds=10)
    history.timer(deadline)
    history.episode(after=10).timer_fired(0, deadline)

    state = replay(SET_STATUS_TEST, history)

    assert state["output"] == {"proceeded": False, "message": "No Proceed event arrived within 10 seconds."}
    assert state["customStatus"] == DONE_STATUS
    assert actions(state) == [race(PROCEED, deadline)]


@pytest.mark.parametrize("bad_input", ["fast", {"timeout": 0}, {"timeout": 10, "extra": 1}, [10]])
def test_an_input_other_than_a_timeout_fails(bad_input: Any) -> None:
    failure = replay_failure(SET_STATUS_TEST, HistoryBuilder(SET_STATUS_TEST, bad_input))

    assert "timeout" in failure.message
    assert "customStatus" not in failure.state


def test_replaying_the_same_history_elsewhere_and_later_gives_the_same_reply() -> None:
    history = HistoryBuilder(SET_STATUS_TEST)
    history.timer(START + timedelta(seconds=300))
    history.episode().raised(PROCEED, "go")

    assert_replays_agree(SET_STATUS_TEST, history)
