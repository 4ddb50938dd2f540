"""ProcessState keeps installed packages even when the virtual environment lives in the app's folder."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from devhost.process_state import ProcessState


def _write_module(folder: Path, name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.py").write_text("VALUE = 1\n")


def test_a_package_installed_in_the_apps_own_venv_stays_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = tmp_path / "app"
    site = app / ".venv" / "lib" / "site-packages"
    _write_module(site, "venv_pkg_kept")
    _write_module(app, "app_module_dropped")
    monkeypatch.setattr(sys, "prefix", str(app / ".venv"))
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.syspath_prepend(str(app))
    state = ProcessState(app)
    import app_module_dropped  # noqa: F401
    import venv_pkg_kept  # noqa: F401

    try:
        state.restore()
        assert "app_module_dropped" not in sys.modules
        assert "venv_pkg_kept" in sys.modules
    finally:
        sys.modules.pop("venv_pkg_kept", None)
        sys.modules.pop("app_module_dropped", None)
