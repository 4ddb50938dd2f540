"""The determinism check can fail: orchestrators that read the clock, random or the environment are caught.

Each orchestrator below is planted in an app written to a temporary folder, the way a user might
write it by mistake; replayed under the other conditions of determinism.py its reply changes. The
deterministic one, using only the SDK's replay-safe values, replies the same.
"""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest

from .determinism import replays_under_other_conditions
from .history_builder import HistoryBuilder

PLANTED_APP = """
import datetime as dt
import os
import random
import time
from datetime import date, datetime, timezone

import azure.durable_functions as df

app = df.DFApp()


def _go(context, status):
    context.set_custom_status(status)
    yield context.call_activity("Echo", "x")


@app.orchestration_trigger(context_name="context")
def hour_from_datetime_now(context):
    yield from _go(context, datetime.now(timezone.utc).strftime("%Y-%m-%d %H:00"))


@app.orchestration_trigger(context_name="context")
def utcnow_through_the_module(context):
    yield from _go(context, dt.datetime.utcnow().strftime("%Y-%m-%d %H:00"))


@app.orchestration_trigger(context_name="context")
def datetime_imported_while_running(context):
    from datetime import datetime as imported_late

    yield from _go(context, imported_late.now().strftime("%A"))


@app.orchestration_trigger(context_name="context")
def today(context):
    yield from _go(context, date.today().isoformat())


@app.orchestration_trigger(context_name="context")
def deadline_from_time_time(context):
    yield from _go(context, int(time.time() // 3600))


@app.orchestration_trigger(context_name="context")
def random_choice(context):
    yield from _go(context, random.choice(["Tokyo", "Seattle", "London", "Oslo", "Lima", "Perth"]))


@app.orchestration_trigger(context_name="context")
def app_setting(context):
    yield from _go(context, os.environ.get("RESERVATION_DEADLINE_SECONDS"))


@app.orchestration_trigger(context_name="context")
def any_setting(context):
    yield from _go(context, len(os.environ))


@app.orchestration_trigger(context_name="context")
def replay_safe(context):
    yield from _go(context, [context.current_utc_datetime.isoformat(), str(context.new_uuid())])
"""
PLANTED = [
    "hour_from_datetime_now",
    "utcnow_through_the_module",
    "datetime_imported_while_running",
    "today",
    "deadline_from_time_time",
    "random_choice",
    "app_setting",
]


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The planted app's orchestrators by name, imported from a temporary folder as a worker would."""
    path = tmp_path_factory.mktemp("planted") / "planted_app.py"
    path.write_text(textwrap.dedent(PLANTED_APP))
    spec = importlib.util.spec_from_file_location("planted_determinism_app", path)
    assert spec and spec.loader
    module = sys.modules[spec.name] = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        yield {f.get_function_name(): f.get_user_function() for f in module.app.get_functions()}
    finally:
        del sys.modules[spec.name]


def _history(name: str) -> HistoryBuilder:
    history = HistoryBuilder(name)
    history.scheduled("Echo", "x")
    return history


@pytest.mark.parametrize("name", PLANTED)
def test_a_planted_non_deterministic_orchestrator_fails_the_check(planted: dict[str, Any], name: str) -> None:
    first, second = replays_under_other_conditions(planted[name], _history(name))
    assert first != second


def test_the_extra_setting_changes_what_the_environment_holds(planted: dict[str, Any]) -> None:
    first, second = replays_under_other_conditions(planted["any_setting"], _history("any_setting"))
    assert first != second


def test_an_orchestrator_using_only_replay_safe_values_passes(planted: dict[str, Any]) -> None:
    first, second = replays_under_other_conditions(planted["replay_safe"], _history("replay_safe"))
    assert first == second
    assert "2024-05-01T12:00:00" in first


def test_the_clock_and_settings_are_back_afterwards(planted: dict[str, Any]) -> None:
    import datetime
    import os
    import time
    import types

    before = os.environ.get("RESERVATION_DEADLINE_SECONDS")
    replays_under_other_conditions(planted["app_setting"], _history("app_setting"))
    assert os.environ.get("RESERVATION_DEADLINE_SECONDS") == before
    assert isinstance(time.time, types.BuiltinFunctionType)  # the real clock, not the late one
    assert sys.modules["planted_determinism_app"].datetime is datetime.datetime
