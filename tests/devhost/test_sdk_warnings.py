"""The SDK's replay warnings are logged once each and never raised, whatever the warning filters."""

from __future__ import annotations

import importlib
import logging
import warnings

import pytest

from devhost.engine import sdk_warnings


def test_a_replay_warning_is_logged_once_and_raises_nothing(caplog: pytest.LogCaptureFixture) -> None:
    stand_in = sdk_warnings._LoggedWarnings()
    caplog.set_level(logging.WARNING, logger="devhost.sdk")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # as pytest -W error
        for _ in range(3):
            stand_in.warn("Potential duplicate Task completion for TaskId: First")
        stand_in.warn("Potential duplicate Task completion for TaskId: Second")
    assert [r.getMessage() for r in caplog.records if r.name == "devhost.sdk"] == [
        "UserWarning: Potential duplicate Task completion for TaskId: First",
        "UserWarning: Potential duplicate Task completion for TaskId: Second",
    ]


def test_the_sdk_module_that_warns_during_a_replay_gets_the_stand_in() -> None:
    sdk_warnings.install()
    executor = importlib.import_module("azure.durable_functions.models.TaskOrchestrationExecutor")
    assert isinstance(executor.warnings, sdk_warnings._LoggedWarnings)
    assert executor.warnings.catch_warnings is warnings.catch_warnings  # the rest is the real module
