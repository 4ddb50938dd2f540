"""Activity E1_SayHello: greets one city for the E1_HelloSequence orchestrator."""

from __future__ import annotations

import azure.durable_functions as df

from orchestrators.names import SAY_HELLO

bp = df.Blueprint()


@bp.function_name(SAY_HELLO)
@bp.activity_trigger(input_name="city")
def say_hello(city: str) -> str:
    """Return the greeting for `city`, e.g. "Hello Tokyo!"."""
    return f"Hello {city}!"
