"""The app's function index, the same for the engine and the API whatever the programming model.

The Functions host first lets the Python worker index `function_app.py` (the v2 model); when there is
none, it reads the `function.json` folders itself (the v1 model) and the worker loads their scripts.
`indexing/v2.py` and `indexing/v1.py` do each; this module picks one the way the host does and applies
what the host applies to both: the host.json `functions` allow list and `AzureWebJobs.<name>.Disabled`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .config import _read_json, app_setting
from .errors import AppLoadError
from .indexing.model import AppFunction, Kind, OutValue, missing_function
from .indexing.v1 import function_folders, index_v1
from .indexing.v2 import SCRIPT_FILE, import_app, index_v2

__all__ = ["AppFunction", "FunctionIndex", "Kind", "OutValue", "import_app"]


def _allowed(app_dir: Path, functions: list[AppFunction], notes: list[str]) -> list[AppFunction]:
    """host.json `functions`: only the functions it names (case-insensitively) are loaded."""
    allow = _read_json(app_dir / "host.json", "host.json").get("functions")
    if not isinstance(allow, list):
        return functions
    names = {str(n).lower() for n in allow}
    notes.append(
        "A function allow list has been specified, excluding all but the following functions: "
        f"[{', '.join(str(n) for n in allow)}]"
    )
    return [f for f in functions if f.name.lower() in names]


def _apply_disabled_settings(functions: list[AppFunction]) -> None:
    """`AzureWebJobs.<name>.Disabled` = true or 1 (app setting or environment) disables a function."""
    for fn in functions:
        setting = f"AzureWebJobs.{fn.name}.Disabled"
        if app_setting(setting).strip().lower() in ("true", "1") and not fn.unsupported:
            fn.unsupported = f"disabled by the app setting {setting}"


@dataclass(slots=True)
class FunctionIndex:
    """The app's functions by name, as the host sees them after indexing, and what indexing left out."""

    functions: dict[str, AppFunction]
    notes: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, app_dir: Path) -> FunctionIndex:
        """Index the app in `app_dir` (v2 if it has function_app.py, else v1).

        Raises AppLoadError if it has neither, or if function_app.py cannot be imported or indexed.
        """
        app_dir = Path(app_dir)
        folders = function_folders(app_dir)
        notes: list[str] = []
        if (app_dir / SCRIPT_FILE).exists():
            functions = index_v2(app_dir)
            if folders:
                # The worker indexes function_app.py and the host then ignores function.json folders;
                # it only logs this (WorkerFunctionMetadataProvider.ValidateFunctionAppFormat).
                notes.append(
                    "Detected mixed function app. Some functions may not be indexed - "
                    + ", ".join(f.name for f in folders)
                    + f" (these function.json folders are ignored because the app has {SCRIPT_FILE})"
                )
        elif folders:
            functions, notes = index_v1(app_dir)
        else:
            raise AppLoadError(f"no {SCRIPT_FILE} and no function folders (*/function.json) in {app_dir}")
        functions = _allowed(app_dir, functions, notes)
        _apply_disabled_settings(functions)
        return cls({f.name: f for f in functions}, notes)

    def of_kind(self, kind: Kind) -> list[AppFunction]:
        return [f for f in self.functions.values() if f.kind is kind and not f.unsupported]

    def missing(self, name: str, kind: Kind) -> str:
        """The extension's message for a call to `name` when the app has no such function of `kind`."""
        return missing_function(name, kind, [f.name for f in self.of_kind(kind)])

    def entity(self, name: str) -> AppFunction | None:
        """The entity function called `name`: its trigger's `entityName`, else the function name, in
        any case (EntityTriggerAttributeBindingProvider.cs)."""
        wanted = name.lower()
        for f in self.of_kind(Kind.ENTITY):
            if str(f.trigger.get("entityName") or f.name).lower() == wanted:
                return f
        return None

    def get(self, name: str, kind: Kind) -> AppFunction | None:
        """Function names are case-insensitive in the Functions host."""
        f = self.functions.get(name)
        if f is None:
            f = next((g for g in self.functions.values() if g.name.lower() == name.lower()), None)
        return f if f is not None and f.kind is kind and not f.unsupported else None
