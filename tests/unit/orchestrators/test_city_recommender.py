"""CityRecommender: a recommendation per choice in the status, refined by the CitySelected event."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from orchestrators.names import (
    CITY_RECOMMENDER,
    CITY_SELECTED,
    CITY_SELECTION_DEADLINE_SETTING,
    GET_DEADLINE_SECONDS,
)

from ..history_builder import START, HistoryBuilder
from ..replay import actions, assert_replays_agree, call_activity, race, replay, replay_failure

SEATTLE_LONDON = {"recommendedCities": ["Seattle", "London"], "recommendedSeasons": ["Summer"]}


def waiting_history(input: Any) -> HistoryBuilder:
    """A history whose last episode created the selection timer (input with selectionTimeout 30)."""
    history = HistoryBuilder(CITY_RECOMMENDER, input)
    history.timer(START + timedelta(seconds=30))
    return history


@pytest.mark.parametrize(
    ("choice", "status"),
    [
        (1, {"recommendedCities": ["Tokyo", "Seattle"], "recommendedSeasons": ["Spring", "Summer"]}),
        ("2", SEATTLE_LONDON),
        (
            {"choice": 3},
            {"recommendedCities": ["Tokyo", "London"], "recommendedSeasons": ["Spring", "Summer"]},
        ),
        ({"choice": " 2 "}, SEATTLE_LONDON),
    ],
)
def test_the_first_episode_publishes_the_recommendation_for_the_choice(
    choice: Any, status: dict[str, Any]
) -> None:
    state = replay(CITY_RECOMMENDER, HistoryBuilder(CITY_RECOMMENDER, choice))

    assert state["customStatus"] == status
    # Without a selectionTimeout in the input, the deadline comes from the app setting.
    assert actions(state) == [call_activity(GET_DEADLINE_SECONDS, CITY_SELECTION_DEADLINE_SETTING)]
    assert state["isDone"] is False


def test_a_recommended_city_refines_the_recommendation_and_cancels_the_timer() -> None:
    history = HistoryBuilder(CITY_RECOMMENDER, 2)
    setting = history.scheduled(GET_DEADLINE_SECONDS, CITY_SELECTION_DEADLINE_SETTING)
    history.episode(after=1).completed(setting, "300")
    deadline = history.now + timedelta(seconds=300)

    state = replay(CITY_RECOMMENDER, history)
    assert state["customStatus"] == SEATTLE_LONDON
    assert actions(state)[1:] == [race(CITY_SELECTED, deadline)]

    history.timer(deadline)
    history.episode(after=20).raised(CITY_SELECTED, "London")
    state = replay(CITY_RECOMMENDER, history)

    expected = {
        "choice": 2,
        "selectedCity": "London",
        "recommendedSeasons": ["Summer"],
        "message": "Enjoy London in Summer.",
    }
    assert state["isDone"] is True
    assert state["output"] == expected
    assert state["customStatus"] == expected
    assert actions(state) == [
        call_activity(GET_DEADLINE_SECONDS, CITY_SELECTION_DEADLINE_SETTING),
        race(CITY_SELECTED, deadline, canceled=True),
    ]


@pytest.mark.parametrize("by_sdk_client", [False, True])
def test_a_selection_object_from_either_client_narrows_the_seasons(by_sdk_client: bool) -> None:
    history = waiting_history({"choice": 3, "selectionTimeout": 30})
    history.episode().raised(CITY_SELECTED, {"city": " tokyo "}, by_sdk_client=by_sdk_client)

    state = replay(CITY_RECOMMENDER, history)

    assert state["output"]["selectedCity"] == "Tokyo"
    assert state["output"]["recommendedSeasons"] == ["Spring"]
    assert actions(state) == [race(CITY_SELECTED, START + timedelta(seconds=30), canceled=True)]


def test_a_city_outside_the_recommendation_asks_again_until_the_same_deadline() -> None:
    deadline = START + timedelta(seconds=30)
    history = waiting_history({"choice": 2, "selectionTimeout": 30})
    history.episode(after=5).raised(CITY_SELECTED, "Paris")

    state = replay(CITY_RECOMMENDER, history)

    assert state["isDone"] is False
    assert state["customStatus"] == {
        **SEATTLE_LONDON,
        "message": "Paris is not one of the recommended cities. Please select Seattle or London.",
    }
    assert actions(state) == [race(CITY_SELECTED, deadline, canceled=True), race(CITY_SELECTED, deadline)]

    history.timer(deadline)
    history.episode(after=5).raised(CITY_SELECTED, {"town": "Seattle"})
    state = replay(CITY_RECOMMENDER, history)
    assert state["customStatus"]["message"] == (
        'CitySelected needs a city name or {"city": name}; got {"town": "Seattle"}. '
        "Please select Seattle or London."
    )

    history.timer(deadline)
    history.episode(after=5).raised(CITY_SELECTED, "Seattle")
    state = replay(CITY_RECOMMENDER, history)
    assert state["isDone"] is True
    assert state["output"]["selectedCity"] == "Seattle"
    assert len(actions(state)) == 3


def test_no_selection_before_the_deadline_completes_with_the_unrefined_recommendation() -> None:
    deadline = START + timedelta(seconds=30)
    history = waiting_history({"choice": 2, "selectionTimeout": 30})
    history.episode(after=30).timer_fired(0, deadline)

    state = replay(CITY_RECOMMENDER, history)

    expected = {
        "choice": 2,
        "selectedCity": None,
        **SEATTLE_LONDON,
        "message": "No city was selected within 30 seconds. Start again for a new recommendation.",
    }
    assert state["isDone"] is True
    assert state["output"] == expected
    assert state["customStatus"] == expected
    assert actions(state) == [race(CITY_SELECTED, deadline)]


@pytest.mark.parametrize("bad_choice", [0, 4, "abc", True, None, 2.0, {"choice": None}, [1]])
def test_a_choice_other_than_1_to_3_fails_the_orchestration(bad_choice: Any) -> None:
    failure = replay_failure(CITY_RECOMMENDER, HistoryBuilder(CITY_RECOMMENDER, bad_choice))

    assert failure.message.startswith("CityRecommender expects a choice of 1, 2 or 3")
    assert repr(bad_choice) in failure.message
    assert "customStatus" not in failure.state


def test_an_invalid_selection_timeout_fails_before_anything_is_published() -> None:
    failure = replay_failure(
        CITY_RECOMMENDER, HistoryBuilder(CITY_RECOMMENDER, {"choice": 1, "selectionTimeout": 0})
    )

    assert "selectionTimeout must be a whole number of seconds" in failure.message
    assert "customStatus" not in failure.state


def test_an_invalid_deadline_setting_fails_with_the_setting_name() -> None:
    history = HistoryBuilder(CITY_RECOMMENDER, 1)
    setting = history.scheduled(GET_DEADLINE_SECONDS, CITY_SELECTION_DEADLINE_SETTING)
    history.episode().completed(setting, "five minutes")

    failure = replay_failure(CITY_RECOMMENDER, history)

    assert "The app setting CITY_SELECTION_DEADLINE_SECONDS must be a whole number" in failure.message
    assert "'five minutes'" in failure.message
    assert failure.state["customStatus"]["recommendedCities"] == ["Tokyo", "Seattle"]


def test_replaying_the_same_history_elsewhere_and_later_gives_the_same_reply() -> None:
    history = waiting_history({"choice": 1, "selectionTimeout": 30})
    history.episode().raised(CITY_SELECTED, "Berlin")

    assert_replays_agree(CITY_RECOMMENDER, history)
