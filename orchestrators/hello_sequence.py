"""Orchestrator E1_HelloSequence: progress reporting through the custom status.

Greets a list of cities one activity at a time and, after each greeting, sets the custom status to
the city just greeted, so a client polling the status can show how far the sequence has come.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import azure.durable_functions as df

from orchestrators.custom_status import set_custom_status
from orchestrators.names import HELLO_SEQUENCE, SAY_HELLO

bp = df.Blueprint()

DEFAULT_CITIES: tuple[str, ...] = ("Tokyo", "Seattle", "London")


def parse_cities(value: Any) -> list[str]:
    """Return the cities to greet: `value` as a list of names, or DEFAULT_CITIES when it is None.

    Raises ValueError unless `value` is None or a non-empty list of non-blank strings.
    """
    if value is None:
        return list(DEFAULT_CITIES)
    if not isinstance(value, list) or not value:
        raise ValueError(
            f"{HELLO_SEQUENCE} expects no input or a non-empty JSON list of city names, "
            f'such as ["Tokyo", "London"]; got {value!r}.'
        )
    bad = [city for city in value if not isinstance(city, str) or not city.strip()]
    if bad:
        raise ValueError(
            f"{HELLO_SEQUENCE} expects every city to be a non-blank string; these are not: {bad!r}."
        )
    return [city.strip() for city in value]


@bp.function_name(HELLO_SEQUENCE)
@bp.orchestration_trigger(context_name="context")
def hello_sequence(context: df.DurableOrchestrationContext) -> Generator[Any, Any, list[str]]:
    """Greet each city in turn and return the greetings, e.g. ["Hello Tokyo!", ...]."""
    cities = parse_cities(context.get_input())
    greetings: list[str] = []
    for city in cities:
        greetings.append((yield context.call_activity(SAY_HELLO, city)))
        set_custom_status(context, city)
    return greetings
