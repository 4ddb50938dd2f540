"""Run inside the clean venv: import function_app from a package folder and index it like the worker.

Usage: python -I index_package.py PACKAGE_DIR. Prints JSON: the interpreter's version, each function's
trigger (type, route, methods), and the modules loaded from outside the package, the venv
and the standard library. Exits non-zero with the traceback when the import or the indexing fails.
This file only uses the standard library and what requirements.txt installs.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any


def find_app(module: Any) -> Any:
    """The one FunctionRegister at module level, found as the Python worker's loader finds it."""
    import azure.functions as func

    apps = [value for value in vars(module).values() if isinstance(value, func.FunctionRegister)]
    if len(apps) != 1:
        raise ValueError(f"function_app.py must define exactly one function app; found {len(apps)}.")
    return apps[0]


def trigger_of(function: Any) -> dict[str, Any]:
    bindings = json.loads(function.get_function_json())["bindings"]
    (trigger,) = [binding for binding in bindings if binding["type"].endswith("Trigger")]
    return {key: trigger[key] for key in ("type", "route", "methods") if key in trigger}


def foreign_modules(package: Path) -> list[str]:
    """Modules whose file lies outside the package, this venv and the standard library."""
    allowed = [package.resolve()] + [
        Path(prefix).resolve() for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix}
    ]
    foreign = []
    for name, module in list(sys.modules.items()):
        if name == "__main__":  # this script
            continue
        file = getattr(module, "__file__", None)
        if file is None:
            continue
        path = Path(file).resolve()
        if not any(path.is_relative_to(root) for root in allowed):
            foreign.append(f"{name} ({path})")
    return sorted(foreign)


def main() -> None:
    package = Path(sys.argv[1]).resolve()
    sys.path.insert(0, str(package))
    app = find_app(importlib.import_module("function_app"))
    functions = {function.get_function_name(): trigger_of(function) for function in app.get_functions()}
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    result = {"python": version, "functions": functions, "foreign_modules": foreign_modules(package)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
