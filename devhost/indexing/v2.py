"""The v2 programming model: import `function_app.py` and index it with `FunctionApp.get_functions()`."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import azure.functions as func

from ..errors import AppLoadError
from .model import AppFunction, classify, plain

SCRIPT_FILE = "function_app.py"


def import_app(app_dir: Path, module_name: str = "function_app") -> func.FunctionRegister:
    """Import `function_app.py` from app_dir (with app_dir on sys.path, as the worker does).

    Raises AppLoadError if the import fails or the module does not define exactly one FunctionApp.
    """
    path = app_dir / f"{module_name}.py"
    if str(app_dir) not in sys.path:
        sys.path.insert(0, str(app_dir))
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise AppLoadError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise AppLoadError(f"importing {path} failed: {type(exc).__name__}: {exc}") from exc
    apps = [v for v in vars(module).values() if isinstance(v, func.FunctionRegister)]
    if not apps:
        raise AppLoadError(f"{path} defines no FunctionApp (e.g. app = df.DFApp())")
    if len(apps) > 1:
        raise AppLoadError(f"{path} defines {len(apps)} FunctionApp objects; the worker expects exactly one")
    return apps[0]


def index_v2(app_dir: Path) -> list[AppFunction]:
    """The functions of the app's `function_app.py`; AppLoadError if it cannot be imported or indexed."""
    app = import_app(app_dir)
    try:
        indexed = app.get_functions()
    except Exception as exc:
        raise AppLoadError(f"indexing the app failed: {type(exc).__name__}: {exc}") from exc
    return [
        classify(
            str(f.get_function_name()),
            [plain(b) for b in f.get_bindings_dict()["bindings"]],
            f.get_user_function(),
            str(app_dir),
        )
        for f in indexed
    ]
