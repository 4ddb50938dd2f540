"""The plugin's choice of app and clock, and what it refuses."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from devhost.clock import VirtualClock
from devhost.testing import _options

ROOT = Path(__file__).resolve().parents[2]


def test_the_ini_option_names_the_default_app(request: pytest.FixtureRequest) -> None:
    assert _options(request.node, request.config) == {"app": ROOT, "time_skipping": True, "store": "memory"}


@pytest.mark.devhost("tests/devhost/apps/chaining", time_skipping=False, store="sqlite:x.db")
def test_the_marker_wins_and_takes_the_app_positionally(request: pytest.FixtureRequest) -> None:
    assert _options(request.node, request.config) == {
        "app": ROOT / "tests" / "devhost" / "apps" / "chaining",
        "time_skipping": False,
        "store": "sqlite:x.db",
    }


@pytest.mark.devhost(app="x", workers=2)
def test_an_unknown_marker_option_is_a_usage_error(request: pytest.FixtureRequest) -> None:
    with pytest.raises(pytest.UsageError, match="does not take workers"):
        _options(request.node, request.config)


def test_without_any_app_the_error_says_how_to_name_one(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    getini = request.config.getini
    monkeypatch.setattr(request.config, "getini", lambda name: "" if name == "devhost_app" else getini(name))
    with pytest.raises(pytest.UsageError, match="set `devhost_app`"):
        _options(request.node, request.config)


def test_the_virtual_clock_moves_only_forward_and_only_when_told() -> None:
    clock = VirtualClock()
    before = clock.now()
    clock.advance(timedelta(hours=2))
    assert clock.now() - before >= timedelta(hours=2)
    with pytest.raises(ValueError, match="forward"):
        clock.advance(timedelta(seconds=-1))
