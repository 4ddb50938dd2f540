"""The rules tests/conftest.py applies to every test: the environment is restored, skips fail in CI."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from devhost import DevHost

from .conftest import environment_restored, unavailable

ROOT = Path(__file__).resolve().parents[1]


async def test_app_settings_devhost_copies_into_the_environment_are_removed_afterwards(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("RESERVATION_DEADLINE_SECONDS", raising=False)
    monkeypatch.setenv("CITY_SELECTION_DEADLINE_SECONDS", "7")
    with environment_restored():
        async with DevHost(ROOT, store="memory", port=0, rpc_port=0):
            assert os.environ["RESERVATION_DEADLINE_SECONDS"] == "60"
        os.environ["CITY_SELECTION_DEADLINE_SECONDS"] = "changed"
    assert "RESERVATION_DEADLINE_SECONDS" not in os.environ
    assert os.environ["CITY_SELECTION_DEADLINE_SECONDS"] == "7"


def test_a_variable_a_test_deletes_comes_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEVHOST_TEST_RULES_PROBE", "kept")
    with environment_restored():
        del os.environ["DEVHOST_TEST_RULES_PROBE"]
    assert os.environ["DEVHOST_TEST_RULES_PROBE"] == "kept"


def _outcome_of(call: Callable[[], object]) -> BaseException:
    """What `call` raised, caught here whatever it is: a skip escaping would skip this test, not fail it."""
    try:
        call()
    except BaseException as raised:  # pytest's skip and fail are BaseExceptions
        return raised
    raise AssertionError("nothing was raised")


@pytest.mark.parametrize("value", ["", "false", "0"])
def test_a_missing_tool_skips_outside_ci(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CI", value)
    outcome = _outcome_of(lambda: unavailable("no Azurite here"))
    assert (type(outcome), str(outcome)) == (pytest.skip.Exception, "no Azurite here")


@pytest.mark.parametrize("value", ["true", "True", "1", "yes"])
def test_a_missing_tool_fails_the_test_in_ci(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CI", value)
    outcome = _outcome_of(lambda: unavailable("no Azurite here"))
    assert type(outcome) is pytest.fail.Exception
    assert str(outcome).startswith("no Azurite here (CI=true")
