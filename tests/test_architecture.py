"""The import contracts in pyproject.toml ([tool.importlinter]) hold, and they can fail.

`lint-imports` (import-linter) checks that every devhost layer imports only the layers below it and that
the deployed app never imports devhost. The second test plants a back-import into a copy of the tree
and expects the contract to break, so a contract that checks nothing would be caught.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).with_name("lint-imports")


def run_lint(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT), "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_import_contracts_are_kept() -> None:
    result = run_lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout, result.stdout


def copy_tree(target: Path) -> None:
    shutil.copy(ROOT / "pyproject.toml", target)
    for package in ("devhost", "orchestrators", "activities", "clients"):
        shutil.copytree(ROOT / package, target / package, ignore=shutil.ignore_patterns("__pycache__"))


def test_a_planted_back_import_breaks_the_layers(tmp_path: Path) -> None:
    copy_tree(tmp_path)
    with (tmp_path / "devhost" / "store" / "base.py").open("a") as f:
        f.write("\nfrom ..engine import control  # planted back-import\n")
    result = run_lint(tmp_path)
    assert result.returncode != 0
    assert "devhost.store is not allowed to import devhost.engine" in result.stdout, result.stdout


def test_the_app_importing_devhost_breaks_the_app_contract(tmp_path: Path) -> None:
    copy_tree(tmp_path)
    with (tmp_path / "activities" / "say_hello.py").open("a") as f:
        f.write("\nimport devhost  # planted\n")
    result = run_lint(tmp_path)
    assert result.returncode != 0
    assert "activities.say_hello -> devhost" in result.stdout, result.stdout
