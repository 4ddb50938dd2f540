"""The deployment package, built the way `azd deploy` and Core Tools build it, and indexed in a clean venv.

Both deploy tools zip the project folder minus what `.funcignore` excludes (gitignore syntax), then
Azure installs `requirements.txt` and the Python worker imports `function_app.py` from the package and
indexes it. These helpers repeat those three steps locally, so that a file the app needs but the
package lacks, a dependency missing from requirements.txt, or an import of devhost fails here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pathspec

ROOT = Path(__file__).resolve().parents[2]
INDEX_SCRIPT = Path(__file__).with_name("index_package.py")

# What the deployed package holds at its top level. Changing it is a deliberate act: a new top-level
# module or package must be added here, anything else belongs in .funcignore.
PACKAGE_TOP_LEVEL = frozenset(
    {"function_app.py", "host.json", "requirements.txt", "orchestrators", "activities", "clients"}
)


class PackageError(Exception):
    """The package could not be indexed in the clean environment; the message holds the worker's view."""


def funcignore_spec(project: Path) -> pathspec.GitIgnoreSpec:
    """Return the exclusions of `project/.funcignore`; raises FileNotFoundError when it has none."""
    lines = (project / ".funcignore").read_text(encoding="utf-8").splitlines()
    return pathspec.GitIgnoreSpec.from_lines(lines)


def package_files(project: Path) -> list[str]:
    """Return the files a deploy would put in the package, as sorted POSIX paths relative to `project`.

    An excluded directory is not entered, as git does: nothing below it can be re-included.
    """
    spec = funcignore_spec(project)
    files: list[str] = []
    for current, dirs, names in os.walk(project):
        base = Path(current).relative_to(project)
        dirs[:] = sorted(d for d in dirs if not spec.match_file(f"{(base / d).as_posix()}/"))
        files.extend(
            (base / name).as_posix() for name in names if not spec.match_file((base / name).as_posix())
        )
    return sorted(files)


def build_package(project: Path, dest: Path) -> list[str]:
    """Copy the package files of `project` into `dest` (created); return their relative paths."""
    files = package_files(project)
    for relative in files:
        target = dest / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(project / relative, target)
    return files


def unexpected_top_level(files: list[str]) -> list[str]:
    """Return the top-level entries of a package that are not part of the app (see PACKAGE_TOP_LEVEL)."""
    return sorted({relative.split("/", 1)[0] for relative in files} - PACKAGE_TOP_LEVEL)


def python_for(version: str) -> str:
    """Return an interpreter for the deployed Python version if one is on PATH, else the current one."""
    return shutil.which(f"python{version}") or sys.executable


def create_clean_venv(venv: Path, requirements: Path, python: str) -> Path:
    """Create a virtual environment at `venv` holding only `requirements`; return its interpreter.

    Raises subprocess.CalledProcessError when the venv cannot be created or pip fails.
    """
    subprocess.run([python, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=120)
    venv_python = venv / "bin" / "python"
    subprocess.run(
        [
            str(venv_python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-input",
            "-r",
            str(requirements),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return venv_python


@dataclass(frozen=True, slots=True)
class PackageIndex:
    """What the worker would find in the package: triggers by function name, and modules from elsewhere."""

    python_version: str
    functions: dict[str, dict[str, Any]]
    foreign_modules: list[str]


def index_package(venv_python: Path, package: Path) -> PackageIndex:
    """Import function_app from `package` in an isolated interpreter of the clean venv and index it.

    Raises PackageError with the interpreter's stderr when the import or the indexing fails.
    """
    # -I: no PYTHONPATH, no user site-packages, no current folder on sys.path; the script puts the
    # package folder first on sys.path, as the worker does with the app's root.
    run = subprocess.run(
        [str(venv_python), "-I", str(INDEX_SCRIPT), str(package)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=package,
        env={"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8"},
    )
    if run.returncode != 0:
        raise PackageError(run.stderr.strip() or f"exit code {run.returncode}")
    result = json.loads(run.stdout)
    return PackageIndex(result["python"], result["functions"], result["foreign_modules"])
