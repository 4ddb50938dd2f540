"""The v1 programming model: a folder per function with `function.json` and a Python script.

Indexing follows the Functions host's `HostFunctionMetadataProvider` (which folders are functions,
the primary script file, name and binding checks) and loading follows the Python worker's `loader.py`
and `functions.py` (the script is imported as a module of the `__app__` namespace package rooted at
the app folder, its entry point defaults to `main`, and its parameters must match the bindings). A
function that fails any of these checks is left out with the host's or worker's reason, as on Azure,
where the other functions still run.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import inspect
import json
import re
import sys
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import azure.functions as func
from azure.functions import meta

from .model import AppFunction, classify

FUNCTION_JSON = "function.json"
NAMESPACE = "__app__"
DEFAULT_SCRIPT = "__init__.py"
DEFAULT_ENTRY_POINT = "main"

# Utility.IsValidFunctionName and the binding name rule of Utility.ValidateBinding (Functions host).
_FUNCTION_NAME = re.compile(r"^[a-z][a-z0-9_\-]{0,127}$", re.IGNORECASE)
_BINDING_NAME = re.compile(r"^([a-zA-Z][a-zA-Z0-9]{0,127}|\$return)$")
_NO_PRIMARY_SCRIPT = (
    "Unable to determine the primary function script. Make sure at least one script file is present. "
    "Try renaming your entry point script to 'run' or alternatively you can specify the name of the entry "
    "point script explicitly by adding a 'scriptFile' property to your function metadata."
)


class FunctionLoadError(Exception):
    """One function cannot be indexed or loaded; the message is the host's or the worker's reason."""


def function_folders(app_dir: Path) -> list[Path]:
    """The app's direct subfolders holding a function.json: the host's definition of a v1 function."""
    if not app_dir.is_dir():
        return []
    return sorted(
        (d for d in app_dir.iterdir() if d.is_dir() and (d / FUNCTION_JSON).is_file()), key=lambda d: d.name
    )


def index_v1(app_dir: Path) -> tuple[list[AppFunction], list[str]]:
    """The functions of a v1 app, and one message per function left out (name: reason)."""
    _install_namespace(app_dir)
    functions: list[AppFunction] = []
    problems: list[str] = []
    for folder in function_folders(app_dir):
        try:
            functions.append(load_function(app_dir, folder))
        except FunctionLoadError as exc:
            problems.append(f"{folder.name} is not run: {exc}")
            continue
        note = disabled_flag_note(folder)
        if note:
            problems.append(note)
    return functions, problems


def disabled_flag_note(folder: Path) -> str | None:
    """A note when function.json sets `disabled`: only Functions 1.x read it; the v4 host ignores it."""
    try:
        config = json.loads((folder / FUNCTION_JSON).read_text(encoding="utf-8-sig"))
    except (OSError, ValueError):
        return None
    value = config.get("disabled") if isinstance(config, dict) else None
    if value in (None, False, "false", ""):
        return None
    return (
        f'{folder.name}: function.json sets "disabled": {json.dumps(value)}, which the Functions v4 host '
        f"ignores (the function runs); disable it with the app setting AzureWebJobs.{folder.name}.Disabled"
    )


def _install_namespace(app_dir: Path) -> None:
    """The `__app__` namespace package over the app folder (the worker's loader.install), and the app
    folder on sys.path so shared code imports as top-level modules too. Another app's `__app__` modules
    are dropped first, so an app is never served with the code of the one loaded before it."""
    root = str(app_dir)
    current = sys.modules.get(NAMESPACE)
    if current is None or list(getattr(current, "__path__", [])) != [root]:
        for name in [m for m in sys.modules if m == NAMESPACE or m.startswith(NAMESPACE + ".")]:
            del sys.modules[name]
        spec = importlib.machinery.ModuleSpec(NAMESPACE, None, is_package=True)
        spec.submodule_search_locations = [root]
        sys.modules[NAMESPACE] = importlib.util.module_from_spec(spec)
    if root not in sys.path:
        sys.path.insert(0, root)


def _read_config(folder: Path) -> dict[str, Any]:
    try:
        config = json.loads((folder / FUNCTION_JSON).read_text(encoding="utf-8-sig"))
    except ValueError as exc:
        raise FunctionLoadError(f"{FUNCTION_JSON} is not valid JSON: {exc}") from exc
    except OSError as exc:
        raise FunctionLoadError(f"cannot read {FUNCTION_JSON}: {exc}") from exc
    if not isinstance(config, dict):
        raise FunctionLoadError(f"{FUNCTION_JSON} must hold a JSON object")
    return config


def _bindings(config: dict[str, Any]) -> list[dict[str, Any]]:
    bindings = config.get("bindings")
    if not isinstance(bindings, list) or not bindings:
        raise FunctionLoadError("At least one binding must be declared.")
    for binding in bindings:
        if not isinstance(binding, dict):
            raise FunctionLoadError("every binding must be a JSON object")
        name = binding.get("name")
        if not isinstance(name, str) or not _BINDING_NAME.match(name):
            raise FunctionLoadError(
                f"The binding name {name} is invalid. Please assign a valid name to the binding."
            )
        direction = str(binding.get("direction", "")).lower()
        if name == "$return" and direction != "out":
            raise FunctionLoadError("$return bindings must specify a direction of 'out'.")
        if direction == "inout":
            raise FunctionLoadError('"inout" bindings are not supported')
    return bindings


def _primary_script(folder: Path, script_file: Any) -> Path:
    """HostFunctionMetadataProvider.DeterminePrimaryScriptFile: `scriptFile` if set (it must exist),
    else the only file, else `run.*` or `__init__.py`."""
    if script_file:
        path = folder / str(script_file)
        if not path.is_file():
            raise FunctionLoadError(
                "Invalid script file name configuration. "
                "The 'scriptFile' property is set to a file that does not exist."
            )
        return path.resolve()
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.name.lower() != FUNCTION_JSON)
    if len(files) == 1:
        return files[0].resolve()
    for path in files:
        if path.stem.lower() == "run" or path.name.lower() == DEFAULT_SCRIPT:
            return path.resolve()
    raise FunctionLoadError(_NO_PRIMARY_SCRIPT)


def _import_entry_point(app_dir: Path, name: str, script: Path, entry_point: str) -> Callable[..., Any]:
    """loader.load_function: the script as `__app__.<folders>.<module>` (a package's `__init__.py`
    is the package itself, not imported twice), then its entry point."""
    try:
        relative = script.relative_to(app_dir)
    except ValueError:
        raise FunctionLoadError(
            f"script path {script} is not relative to the specified directory {app_dir}"
        ) from None
    if relative.suffix != ".py":
        raise FunctionLoadError(f"cannot load function {name}: invalid Python filename {relative}")
    parts = [NAMESPACE, *relative.parts[:-1]]
    if relative.stem.lower() != "__init__":
        parts.append(relative.stem)
    try:
        module = importlib.import_module(".".join(parts))
    except Exception as exc:
        raise FunctionLoadError(f"importing {relative} failed: {type(exc).__name__}: {exc}") from exc
    entry = getattr(module, entry_point, None)
    if entry is None or not callable(entry):
        raise FunctionLoadError(
            f"cannot load function {name}: function {entry_point}() is not present in {relative}"
        )
    return entry


def load_function(app_dir: Path, folder: Path) -> AppFunction:
    """Index and load the function in `folder`; FunctionLoadError with the reason if it cannot run."""
    name = folder.name
    if not _FUNCTION_NAME.match(name) or name.lower() == "host":
        raise FunctionLoadError(f"'{name}' is not a valid function name.")
    config = _read_config(folder)
    bindings = _bindings(config)
    script = _primary_script(folder, config.get("scriptFile"))
    entry = _import_entry_point(app_dir, name, script, str(config.get("entryPoint") or DEFAULT_ENTRY_POINT))
    check_parameters(name, entry, bindings)
    return classify(name, bindings, entry, str(folder))


# --- the worker's checks of a v1 function's signature against its bindings (functions.Registry) ---


def _converter(binding_type: str) -> Any:
    return meta.get_binding_registry().get(binding_type)


def _has_implicit_output(binding_type: str) -> bool:
    converter = _converter(binding_type)
    if converter is None:  # the worker's generic binding: implicit output except for durableClient
        return binding_type != "durableClient"
    return bool(converter.has_implicit_output())


def _accepts(binding_type: str, pytype: Any, *, output: bool) -> bool:
    converter = _converter(binding_type)
    try:
        if converter is None:
            return issubclass(pytype, (str, bytes, bytearray) if output else (str, bytes))
        check = converter.check_output_type_annotation if output else converter.check_input_type_annotation
        return bool(check(pytype))
    except TypeError:
        return False


def _is_out(annotation: Any) -> bool:
    origin = typing.get_origin(annotation) or annotation
    return isinstance(origin, type) and (issubclass(origin, func.Out) or origin.__name__ == "Out")


def check_parameters(name: str, entry: Callable[..., Any], bindings: list[dict[str, Any]]) -> None:
    """Raise FunctionLoadError where the worker refuses to load the function: parameters and bindings
    that do not match by name, `func.Out` on the wrong side, annotations the binding cannot convert."""

    def fail(message: str) -> FunctionLoadError:
        return FunctionLoadError(f"cannot load the {name} function: {message}")

    try:
        params = dict(inspect.signature(entry).parameters)
        annotations = typing.get_type_hints(entry)
    except Exception as exc:
        raise fail(f"reading its signature failed: {type(exc).__name__}: {exc}") from exc
    bound = {str(b["name"]): b for b in bindings if b["name"] != "$return"}
    if "context" in params and "context" not in bound:
        params.pop("context")  # the worker passes its invocation context
    if set(params) - set(bound):
        raise fail(
            "the following parameters are declared in Python but not in function.json: "
            f"{set(params) - set(bound)!r}"
        )
    if set(bound) - set(params):
        raise fail(
            "the following parameters are declared in function.json but not in Python: "
            f"{set(bound) - set(params)!r}"
        )
    for param in params:
        binding = bound[param]
        binding_type = str(binding.get("type"))
        is_binding_out = str(binding.get("direction", "")).lower() == "out"
        if param not in annotations:
            continue
        annotation = annotations[param]
        is_param_out = _is_out(annotation)
        if is_param_out:
            args = typing.get_args(annotation)
            if len(args) != 1:
                raise fail(f"binding {param} has invalid Out annotation {annotation!r}")
            pytype = args[0]
        else:
            pytype = annotation
        if not isinstance(pytype, type) and typing.get_origin(pytype) is None:
            raise fail(f"binding {param} has invalid non-type annotation {annotation!r}")
        if is_binding_out and not is_param_out:
            raise fail(
                f'binding {param} is declared to have the "out" direction, but its annotation in Python '
                "is not a subclass of azure.functions.Out"
            )
        if not is_binding_out and is_param_out:
            raise fail(
                f'binding {param} is declared to have the "in" direction in function.json, but its '
                "annotation is azure.functions.Out in Python"
            )
        check_type = (
            "generic" if pytype in (str, bytes) and not _has_implicit_output(binding_type) else binding_type
        )
        if not _accepts(check_type, pytype, output=is_param_out):
            raise fail(
                f'type of {param} binding in function.json "{binding_type}" does not match its Python '
                f'annotation "{getattr(pytype, "__name__", pytype)}"'
            )
    returned = next((b for b in bindings if b["name"] == "$return"), None)
    if returned is not None and "return" in annotations:
        annotation = annotations["return"]
        if _is_out(annotation):
            raise fail("return annotation should not be azure.functions.Out")
        if not isinstance(annotation, type):
            raise fail(f"has invalid non-type return annotation {annotation!r}")
        if not _accepts(str(returned.get("type")), annotation, output=True):
            raise fail(
                f'Python return annotation "{annotation.__name__}" does not match binding type '
                f'"{returned.get("type")}"'
            )
