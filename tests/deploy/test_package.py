"""The deployment package: built honouring .funcignore, installed from requirements.txt alone, indexed.

The expected functions are the EXPECTED table of tests/unit/test_function_app.py, on purpose: adding or
renaming a function means updating that one table, which then checks both the app as developed (unit)
and the app as deployed (here). A package that indexes differently fails with both sides shown.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from tests.conftest import unavailable
from tests.unit.test_function_app import EXPECTED

from . import bicep
from .packaging import (
    ROOT,
    PackageError,
    PackageIndex,
    build_package,
    create_clean_venv,
    index_package,
    package_files,
    python_for,
    unexpected_top_level,
)

pytestmark = pytest.mark.package

DEPLOYED_PYTHON = bicep.parse("main.bicep")["parameters"]["pythonVersion"]["default"]

# Never deployed, whatever else the tree holds.
NEVER_DEPLOYED = (
    "devhost",
    "tests",
    "bench",
    "infra",
    "schemas",
    ".venv",
    ".vscode",
    ".git",
    ".devhost",
    ".azure",
    "local.settings.json",
    "requirements-dev.txt",
    "azure.yaml",
    "requests.http",
    "README.md",
)


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    dest = tmp_path_factory.mktemp("package") / "wwwroot"
    return dest, build_package(ROOT, dest)


@pytest.fixture(scope="module")
def clean_python(tmp_path_factory: pytest.TempPathFactory, package: tuple[Path, list[str]]) -> Path:
    """A venv holding only the packaged requirements.txt, for the deployed Python version if available."""
    venv = tmp_path_factory.mktemp("clean") / "venv"
    return create_clean_venv(venv, package[0] / "requirements.txt", python_for(DEPLOYED_PYTHON))


@pytest.fixture(scope="module")
def index(clean_python: Path, package: tuple[Path, list[str]]) -> PackageIndex:
    try:
        return index_package(clean_python, package[0])
    except PackageError as error:
        pytest.fail(f"function_app.py cannot be indexed from the package:\n{error}")


def copy_with_function_app_prefix(package: Path, dest: Path, prefix: str) -> Path:
    shutil.copytree(package, dest)
    app = dest / "function_app.py"
    app.write_text(prefix + app.read_text(encoding="utf-8"), encoding="utf-8")
    return dest


def test_the_package_holds_only_the_app(package: tuple[Path, list[str]]) -> None:
    _, files = package
    present = [path for path in NEVER_DEPLOYED if any(f == path or f.startswith(f"{path}/") for f in files)]

    assert present == [], f"{present} would be deployed: add them to .funcignore"
    assert unexpected_top_level(files) == [], (
        "these would be deployed too: add them to .funcignore, or to PACKAGE_TOP_LEVEL in "
        "tests/deploy/packaging.py if the app needs them"
    )
    assert not [f for f in files if "__pycache__" in f or f.endswith(".pyc")]
    assert {"function_app.py", "host.json", "requirements.txt"} <= set(files)


def test_every_file_of_the_app_packages_is_in_the_package(package: tuple[Path, list[str]]) -> None:
    # Modules, and whatever else they read at run time (the progress page's static files).
    _, files = package
    sources = {
        path.relative_to(ROOT).as_posix()
        for folder in ("orchestrators", "activities", "clients")
        for path in (ROOT / folder).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in {".pyc", ".md"}
    }

    assert sources - set(files) == set()


def test_indexing_the_package_finds_exactly_the_expected_functions(index: PackageIndex) -> None:
    found = index.functions
    differences = {
        "in the package, not in EXPECTED": sorted(set(found) - set(EXPECTED)),
        "in EXPECTED, not in the package": sorted(set(EXPECTED) - set(found)),
        "different trigger": sorted(n for n in set(found) & set(EXPECTED) if found[n] != EXPECTED[n]),
    }

    assert found == EXPECTED, (
        "The deployed package indexes differently from EXPECTED in tests/unit/test_function_app.py: "
        f"{ {key: names for key, names in differences.items() if names} }. Update EXPECTED when the "
        "change is meant; otherwise the package lacks a module or function_app.py registers the wrong set."
    )


def test_the_app_loads_nothing_from_outside_the_package_and_its_requirements(index: PackageIndex) -> None:
    assert index.foreign_modules == []


def test_the_package_is_checked_with_the_deployed_python_version(index: PackageIndex) -> None:
    if python_for(DEPLOYED_PYTHON) == sys.executable and sys.version_info[:2] != tuple(
        int(part) for part in DEPLOYED_PYTHON.split(".")
    ):
        unavailable(f"python{DEPLOYED_PYTHON} is not on PATH; checked with {sys.version.split()[0]}")

    assert index.python_version == DEPLOYED_PYTHON


# devhost is never deployed; pytest is installed for development only. An app importing either
# works in the development venv and fails on Azure.
@pytest.mark.parametrize("module", ["devhost", "pytest"])
def test_an_import_the_deployed_app_cannot_satisfy_fails_the_check(
    clean_python: Path, package: tuple[Path, list[str]], tmp_path: Path, module: str
) -> None:
    broken = copy_with_function_app_prefix(package[0], tmp_path / "app", f"import {module}\n")

    with pytest.raises(PackageError, match=f"No module named '{module}'"):
        index_package(clean_python, broken)


def test_code_reached_outside_the_package_is_reported(
    clean_python: Path, package: tuple[Path, list[str]], tmp_path: Path
) -> None:
    prefix = f"import sys\nsys.path.append({str(ROOT)!r})\nimport devhost\n"
    broken = copy_with_function_app_prefix(package[0], tmp_path / "app", prefix)

    assert any(name.startswith("devhost ") for name in index_package(clean_python, broken).foreign_modules)


def test_the_funcignore_matcher_follows_gitignore_rules(tmp_path: Path) -> None:
    for relative in (
        "function_app.py",
        "tests/test_a.py",
        "clients/tests.py",
        "clients/__pycache__/x.cpython-311.pyc",
        "docs/notes.md",
        "keep/important.txt",
        "build/out.txt",
    ):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("x")
    (tmp_path / ".funcignore").write_text("# comment\ntests\n__pycache__/\n*.md\n/build\n.funcignore\n")

    assert package_files(tmp_path) == [
        "clients/tests.py",
        "function_app.py",
        "keep/important.txt",
    ]
    assert unexpected_top_level(package_files(tmp_path)) == ["keep"]
