"""Activity GetDeadlineSeconds: reads the app settings that set how long orchestrators wait.

Orchestrators must not read the environment themselves (a changed setting would change a replay),
so they ask this activity and the answer is recorded in their history.
"""

from __future__ import annotations

import os

import azure.durable_functions as df

from orchestrators.names import (
    CITY_SELECTION_DEADLINE_SETTING,
    GET_DEADLINE_SECONDS,
    RESERVATION_DEADLINE_SETTING,
)

bp = df.Blueprint()

# Seconds used when a setting is absent or empty.
DEADLINE_DEFAULTS: dict[str, int] = {
    RESERVATION_DEADLINE_SETTING: 60,
    CITY_SELECTION_DEADLINE_SETTING: 300,
}


@bp.function_name(GET_DEADLINE_SECONDS)
@bp.activity_trigger(input_name="setting")
def get_deadline_seconds(setting: str) -> str:
    """Return the text of the deadline app setting `setting`, or its default when unset.

    The orchestrator validates the value, so a bad setting fails the orchestration with a message
    naming the setting. Only the known deadline settings can be read: an activity is not a way to
    read arbitrary environment variables. Raises ValueError for any other name.
    """
    if setting not in DEADLINE_DEFAULTS:
        known = ", ".join(sorted(DEADLINE_DEFAULTS))
        raise ValueError(f"{setting!r} is not a deadline setting; expected one of: {known}.")
    value = os.environ.get(setting, "").strip()
    return value or str(DEADLINE_DEFAULTS[setting])
