"""What a host leaves in its process, put back: imported app modules, sys.path, environment.

devhost imports the app into the process that runs it (as a worker would, once per process). A test
session may start many hosts for several apps, so after each one the modules loaded from its folder,
the folders it put on sys.path and the app settings it exported as environment variables are removed
again, and a `function_app` module that was there before comes back.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import ModuleType


class ProcessState:
    """A snapshot of sys.modules, sys.path and os.environ, restorable after a host has run."""

    def __init__(self, app_dir: Path) -> None:
        self._app_dir = str(app_dir.resolve())
        self._path = list(sys.path)
        self._modules = set(sys.modules)
        self._function_app: ModuleType | None = sys.modules.get("function_app")
        self._environ = dict(os.environ)

    def restore(self) -> None:
        for name in set(sys.modules) - self._modules:
            if self._belongs_to_app(name, sys.modules.get(name)):
                sys.modules.pop(name, None)
        if self._function_app is None:
            sys.modules.pop("function_app", None)
        else:
            sys.modules["function_app"] = self._function_app
        sys.path[:] = self._path
        for key in set(os.environ) - set(self._environ):
            del os.environ[key]
        for key, value in self._environ.items():
            if os.environ.get(key) != value:
                os.environ[key] = value

    def _belongs_to_app(self, name: str, module: ModuleType | None) -> bool:
        if name in ("function_app", "__app__") or name.startswith("__app__."):
            return True
        if name == "devhost" or name.startswith("devhost."):
            return False  # devhost itself, even when it lives in the app's folder (as in its own repo)
        file = getattr(module, "__file__", None) or ""
        if not file:
            return False
        path = os.path.abspath(file)
        if any(path.startswith(env + os.sep) for env in _environments()):
            # An installed package (the SDK, azure.functions), even when the virtual environment lives
            # in the app's folder, as `.venv` often does: removing it would leave two copies in play.
            return False
        return path.startswith(self._app_dir + os.sep)


def _environments() -> set[str]:
    """The Python installation and virtual environment this process runs in."""
    return {os.path.abspath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
