"""Replaying a history through an orchestrator the way the Functions worker invokes it.

The orchestrator is the one registered in function_app.py (its user function is the SDK's
Orchestrator handle), the trigger value is decoded by the same converter the worker uses, and the
reply is the OrchestratorState JSON the host receives. The action helpers spell out that wire format
literally, so an assertion fails if what the host would receive changes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from azure.functions import meta
from azure.functions.durable_functions import OrchestrationTriggerConverter

from .app_index import indexed_functions
from .history_builder import HistoryBuilder

OUT_OF_PROC_MARKER = "\n\n$OutOfProcData$:"


def registered_function(name: str) -> Callable[..., Any]:
    """Return the user function the app registered under `name`."""
    return indexed_functions()[name].get_user_function()


def run_episode(name: str, history: HistoryBuilder) -> str:
    """Run orchestrator `name` over `history` and return its raw reply (OrchestratorState JSON)."""
    return run_function(registered_function(name), history)


def run_function(function: Callable[..., Any], history: HistoryBuilder) -> str:
    """Run an orchestrator's registered user function over `history`; its raw reply."""
    context = OrchestrationTriggerConverter.decode(
        meta.Datum(history.payload(), "string"), trigger_metadata=None
    )
    reply = function(context)
    assert isinstance(reply, str)
    return reply


def assert_replays_agree(name: str, history: HistoryBuilder) -> str:
    """Orchestrator `name` replies the same to `history` under other conditions (determinism.py)."""
    from .determinism import replays_under_other_conditions

    first, second = replays_under_other_conditions(registered_function(name), history)
    assert first == second, "the reply changed with the clock, the random seed or the app settings"
    return first


def replay(name: str, history: HistoryBuilder) -> dict[str, Any]:
    """Run orchestrator `name` over `history` and return its reply as a dict."""
    state = json.loads(run_episode(name, history))
    assert isinstance(state, dict)
    return state


@dataclass(frozen=True)
class Failure:
    """An orchestrator episode that raised: the error text and the state the host still applies."""

    message: str
    state: dict[str, Any]


def replay_failure(name: str, history: HistoryBuilder) -> Failure:
    """Run orchestrator `name` over `history`, expecting it to fail, and return how it failed."""
    with pytest.raises(Exception, match=r"\$OutOfProcData\$") as raised:
        run_episode(name, history)
    message, _, state = str(raised.value).partition(OUT_OF_PROC_MARKER)
    return Failure(message, json.loads(state))


def actions(state: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the flat action list of a schema-V3 reply (one inner array)."""
    assert state["schemaVersion"] == 2
    assert len(state["actions"]) == 1
    result = state["actions"][0]
    assert isinstance(result, list)
    return result


def call_activity(name: str, input: Any) -> dict[str, Any]:
    """The CallActivity action: input is JSON text, as the SDK's json.dumps writes it."""
    return {"actionType": 0, "functionName": name, "input": json.dumps(input)}


def create_timer(fire_at: datetime, *, canceled: bool = False) -> dict[str, Any]:
    """The CreateTimer action."""
    return {"actionType": 5, "fireAt": fire_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "isCanceled": canceled}


def wait_for_event(name: str) -> dict[str, Any]:
    """The WaitForExternalEvent action."""
    return {"actionType": 6, "externalEventName": name, "reason": "ExternalEvent"}


def when_any(*children: dict[str, Any]) -> dict[str, Any]:
    """The WhenAny action over `children`."""
    return {"actionType": 11, "compoundActions": list(children)}


def race(event: str, fire_at: datetime, *, canceled: bool = False) -> dict[str, Any]:
    """The action of an event raced against a timer, as the orchestrators here write it."""
    return when_any(wait_for_event(event), create_timer(fire_at, canceled=canceled))
