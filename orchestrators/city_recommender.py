"""Orchestrator CityRecommender: per-user output through the custom status, refined by the user's answer.

The client sends a choice (1 to 3) and stays generic: the recommendation it shows is whatever the
custom status says. The orchestrator then waits for the user to pick one of the recommended cities
(event CitySelected) until a deadline, and puts the refined recommendation in the custom status and
the output.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from typing import Any

import azure.durable_functions as df

from orchestrators.custom_status import set_custom_status
from orchestrators.names import CITY_RECOMMENDER, CITY_SELECTED, CITY_SELECTION_DEADLINE_SETTING
from orchestrators.waiting import deadline_after, deadline_seconds, parse_seconds, wait_for_event_until

bp = df.Blueprint()

# What each choice recommends (the article's table, with "Seattle, London" split into two cities).
RECOMMENDATIONS: dict[int, dict[str, list[str]]] = {
    1: {"recommendedCities": ["Tokyo", "Seattle"], "recommendedSeasons": ["Spring", "Summer"]},
    2: {"recommendedCities": ["Seattle", "London"], "recommendedSeasons": ["Summer"]},
    3: {"recommendedCities": ["Tokyo", "London"], "recommendedSeasons": ["Spring", "Summer"]},
}

# The best seasons for each city; a selection narrows the choice's seasons down to these.
CITY_SEASONS: dict[str, tuple[str, ...]] = {
    "Tokyo": ("Spring",),
    "Seattle": ("Summer",),
    "London": ("Summer",),
}


def parse_request(value: Any) -> tuple[int, int | None]:
    """Return (choice, selection timeout in seconds or None) from the orchestration input.

    The input is the choice itself (2 or "2") or an object {"choice": 2, "selectionTimeout": 30}.
    Raises ValueError if the choice is not 1, 2 or 3, or the timeout is not a valid duration.
    """
    timeout = None
    choice = value
    if isinstance(value, dict):
        choice = value.get("choice")
        timeout = value.get("selectionTimeout")
    if isinstance(choice, str) and choice.strip().isdigit():
        choice = int(choice.strip())
    # bool is an int subclass: `true` is not a choice.
    if isinstance(choice, bool) or not isinstance(choice, int) or choice not in RECOMMENDATIONS:
        raise ValueError(
            f"{CITY_RECOMMENDER} expects a choice of 1, 2 or 3, as a number, a numeric string or "
            f'{{"choice": 2, "selectionTimeout": 30}}; got {value!r}.'
        )
    return choice, None if timeout is None else parse_seconds(timeout, "selectionTimeout")


def selected_city(payload: Any) -> str | None:
    """Return the city named by a CitySelected payload ("London" or {"city": "London"}), if any."""
    if isinstance(payload, dict):
        payload = payload.get("city")
    if isinstance(payload, str) and payload.strip():
        return payload.strip()
    return None


def match_city(requested: str, cities: list[str]) -> str | None:
    """Return the recommended city that `requested` names, ignoring case, or None."""
    for city in cities:
        if city.casefold() == requested.casefold():
            return city
    return None


def final_recommendation(choice: int, city: str) -> dict[str, Any]:
    """Return the refined recommendation: the selected city and the choice's seasons that suit it."""
    seasons = [
        season for season in RECOMMENDATIONS[choice]["recommendedSeasons"] if season in CITY_SEASONS[city]
    ]
    return {
        "choice": choice,
        "selectedCity": city,
        "recommendedSeasons": seasons,
        "message": f"Enjoy {city} in {' or '.join(seasons)}.",
    }


def no_selection(choice: int, seconds: int) -> dict[str, Any]:
    """Return the outcome when no valid city was selected before the deadline."""
    return {
        "choice": choice,
        "selectedCity": None,
        **RECOMMENDATIONS[choice],
        "message": f"No city was selected within {seconds} seconds. Start again for a new recommendation.",
    }


def retry_status(choice: int, requested: str | None, payload: Any) -> dict[str, Any]:
    """Return the status that asks again after a selection that names no recommended city."""
    recommendation = RECOMMENDATIONS[choice]
    if requested:
        problem = f"{requested} is not one of the recommended cities."
    else:
        problem = f'{CITY_SELECTED} needs a city name or {{"city": name}}; got {json.dumps(payload)}.'
    cities = " or ".join(recommendation["recommendedCities"])
    return {**recommendation, "message": f"{problem} Please select {cities}."}


@bp.function_name(CITY_RECOMMENDER)
@bp.orchestration_trigger(context_name="context")
def city_recommender(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    """Recommend cities for the user's choice, wait for a selection and return the final recommendation."""
    choice, given_timeout = parse_request(context.get_input())
    # Published as soon as the orchestrator yields, so the client sees it while the deadline is read.
    set_custom_status(context, RECOMMENDATIONS[choice])

    seconds = yield from deadline_seconds(context, given_timeout, CITY_SELECTION_DEADLINE_SETTING)
    # One deadline for the whole conversation: a wrong answer does not buy the user more time.
    deadline = deadline_after(context, seconds)
    while True:
        outcome = yield from wait_for_event_until(context, CITY_SELECTED, deadline)
        if not outcome.received:
            result = no_selection(choice, seconds)
            break
        requested = selected_city(outcome.payload)
        city = match_city(requested, RECOMMENDATIONS[choice]["recommendedCities"]) if requested else None
        if city is not None:
            result = final_recommendation(choice, city)
            break
        # Say what was wrong and keep waiting, until the same deadline.
        set_custom_status(context, retry_status(choice, requested, outcome.payload))
    set_custom_status(context, result)
    return result
