"""Import a v2-model function app and index it with the model's own API, `FunctionApp.get_functions()`."""

from __future__ import annotations

import importlib.util
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import azure.functions as func

from .errors import AppLoadError


class Kind(str, Enum):
    HTTP = "httpTrigger"
    ORCHESTRATOR = "orchestrationTrigger"
    ACTIVITY = "activityTrigger"
    ENTITY = "entityTrigger"
    OTHER = "other"


@dataclass(slots=True)
class AppFunction:
    """One indexed function: its name, trigger, bindings and the callable the worker would invoke."""

    name: str
    kind: Kind
    trigger_type: str
    trigger: dict[str, Any]
    bindings: list[dict[str, Any]]
    user_function: Callable[..., Any]
    is_async: bool
    parameters: set[str] = field(default_factory=set)
    unsupported: str | None = None

    @property
    def methods(self) -> list[str]:
        methods = self.trigger.get("methods")
        return [str(getattr(m, "value", m)).upper() for m in methods] if methods else []

    @property
    def route(self) -> str:
        return str(self.trigger.get("route") or self.name)


def _plain(value: Any) -> Any:
    """Binding dicts hold enums (direction, authLevel); keep their wire values."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


_SUPPORTED_BINDINGS = {"httpTrigger", "http", "durableClient", "orchestrationTrigger", "activityTrigger"}


def _classify(fn: func.Function) -> AppFunction:
    bindings = [_plain(b) for b in fn.get_bindings_dict()["bindings"]]
    trigger = next((b for b in bindings if str(b.get("type", "")).endswith("Trigger")), {})
    trigger_type = str(trigger.get("type", "none"))
    kind = next((k for k in Kind if k.value == trigger_type), Kind.OTHER)
    user = fn.get_user_function()
    name = fn.get_function_name()
    unsupported = None
    if kind is Kind.OTHER:
        unsupported = f"trigger type '{trigger_type}' is not run by devhost"
    elif kind is Kind.ENTITY:
        unsupported = "durable entities are not supported by devhost"
    else:
        extra = sorted({str(b.get("type")) for b in bindings} - _SUPPORTED_BINDINGS)
        if extra:
            unsupported = f"binding type(s) {', '.join(extra)} are not supported by devhost"
    return AppFunction(
        name=name,
        kind=kind,
        trigger_type=trigger_type,
        trigger=trigger,
        bindings=bindings,
        user_function=user,
        is_async=inspect.iscoroutinefunction(user),
        parameters=set(inspect.signature(user).parameters),
        unsupported=unsupported,
    )


def import_app(app_dir: Path, module_name: str = "function_app") -> func.FunctionApp:
    """Import `function_app.py` from app_dir (with app_dir on sys.path, as the worker does)."""
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


@dataclass(slots=True)
class FunctionIndex:
    """The app's functions by name, as the host sees them after indexing."""

    functions: dict[str, AppFunction]

    @classmethod
    def load(cls, app_dir: Path) -> FunctionIndex:
        app = import_app(app_dir)
        try:
            indexed = app.get_functions()
        except Exception as exc:
            raise AppLoadError(f"indexing the app failed: {type(exc).__name__}: {exc}") from exc
        return cls({f.name: f for f in map(_classify, indexed)})

    def of_kind(self, kind: Kind) -> list[AppFunction]:
        return [f for f in self.functions.values() if f.kind is kind and not f.unsupported]

    def get(self, name: str, kind: Kind) -> AppFunction | None:
        """Function names are case-insensitive in the Functions host."""
        f = self.functions.get(name)
        if f is None:
            f = next((g for g in self.functions.values() if g.name.lower() == name.lower()), None)
        return f if f is not None and f.kind is kind and not f.unsupported else None
