"""What indexing yields, whatever the programming model: `AppFunction`s, classified by trigger."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import azure.functions as func


class Kind(str, Enum):
    HTTP = "httpTrigger"
    ORCHESTRATOR = "orchestrationTrigger"
    ACTIVITY = "activityTrigger"
    ENTITY = "entityTrigger"
    OTHER = "other"


def missing_function(name: str, kind: Kind, known: list[str]) -> str:
    """The Durable extension's words for a call to a function the app does not have, has disabled, or has
    as another kind, with the names it does have (azure-functions-durable-extension,
    src/WebJobs.Extensions.DurableTask/DurableTaskExtension.cs: GetInvalidActivityFunctionMessage,
    GetInvalidOrchestratorFunctionMessage)."""
    role = {Kind.ORCHESTRATOR: "orchestrator", Kind.ACTIVITY: "activity", Kind.ENTITY: "entity"}.get(
        kind, kind.value
    )
    listed = (
        f"The following are the known {role} functions: '" + "', '".join(known) + "'."
        if known
        else f"No {role} functions are currently registered!"
    )
    return (
        f"The function '{name}' doesn't exist, is disabled, or is not an {role} function. "
        f"Additional info: {listed}"
    )


# `orchestrationClient` is the older name of `durableClient`; the Durable extension binds both.
CLIENT_BINDINGS = frozenset({"durableClient", "orchestrationClient"})
SUPPORTED_BINDINGS = frozenset(
    {"httpTrigger", "http", "orchestrationTrigger", "activityTrigger", "entityTrigger"} | CLIENT_BINDINGS
)


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
    # The function's folder (v1) or the app folder (v2): the worker's `context.function_directory`.
    directory: str = ""

    @property
    def methods(self) -> list[str]:
        methods = self.trigger.get("methods")
        return [str(getattr(m, "value", m)).upper() for m in methods] if methods else []

    @property
    def route(self) -> str:
        return str(self.trigger.get("route") or self.name)

    @property
    def output_parameters(self) -> list[str]:
        """Named output bindings the function sets through a `func.Out` parameter (not `$return`)."""
        return [
            str(b["name"])
            for b in self.bindings
            if str(b.get("direction", "")).lower() == "out"
            and b.get("name") != "$return"
            and b["name"] in self.parameters
        ]

    @property
    def wants_context(self) -> bool:
        """A `context` parameter no binding fills gets the invocation context, as from the worker."""
        return "context" in self.parameters and not any(b.get("name") == "context" for b in self.bindings)

    @property
    def has_return(self) -> bool:
        """Whether the function's return value goes anywhere (a `$return` binding, or a durable trigger's
        implicit output); the worker fails an invocation that returns a value with nowhere to go."""
        return self.kind in (Kind.ORCHESTRATOR, Kind.ACTIVITY, Kind.ENTITY) or any(
            b.get("name") == "$return" for b in self.bindings
        )


class OutValue(func.Out[Any]):
    """The value the worker passes for a named output binding; the function calls `set()` on it."""

    def __init__(self) -> None:
        self._value: Any = None

    def set(self, val: Any) -> None:
        self._value = val

    def get(self) -> Any:
        return self._value


def plain(value: Any) -> Any:
    """Binding dicts of the v2 model hold enums (direction, authLevel); keep their wire values."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def load_error(name: str, bindings: list[dict[str, Any]], parameters: set[str]) -> str | None:
    """The worker's FunctionLoadError for parameters and bindings that do not pair up, or None.

    The Python worker matches the callable's parameters to the binding names (azure-functions-python-
    worker, azure_functions_worker/functions.py, `validate_function_params`): a `context` parameter no
    binding names is the invocation context; any other parameter without a binding, or binding without
    a parameter, fails the function's load. The SDK's decorators hand the worker a wrapper whose only
    parameter is `context`, so an orchestrator or entity whose `context_name` is anything else fails
    there.
    """
    bound = {str(b.get("name")) for b in bindings if b.get("name") != "$return"}
    params = set(parameters)
    if "context" in params and "context" not in bound:
        params.discard("context")
    if params - bound:
        detail = (
            f"the following parameters are declared in Python but not in function.json: {params - bound!r}"
        )
    elif bound - params:
        detail = (
            f"the following parameters are declared in function.json but not in Python: {bound - params!r}"
        )
    else:
        return None
    return f"FunctionLoadError: cannot load the {name} function: {detail}"


def classify(
    name: str, bindings: list[dict[str, Any]], user: Callable[..., Any], directory: str = ""
) -> AppFunction:
    """An AppFunction from a function's bindings (wire form) and its callable; says what devhost skips."""
    trigger = next((b for b in bindings if str(b.get("type", "")).endswith("Trigger")), {})
    trigger_type = str(trigger.get("type", "none"))
    kind = next((k for k in Kind if k.value == trigger_type), Kind.OTHER)
    unsupported = None
    parameters = set(inspect.signature(user).parameters)
    if kind is Kind.OTHER:
        unsupported = f"trigger type '{trigger_type}' is not run by devhost"
    else:
        extra = sorted({str(b.get("type")) for b in bindings} - SUPPORTED_BINDINGS)
        if extra:
            unsupported = f"binding type(s) {', '.join(extra)} are not supported by devhost"
        else:
            refusal = load_error(name, bindings, parameters)
            if refusal:
                unsupported = f"the Python worker refuses to load it, as on Azure: {refusal}"
    return AppFunction(
        name=name,
        kind=kind,
        trigger_type=trigger_type,
        trigger=trigger,
        bindings=bindings,
        user_function=user,
        is_async=inspect.iscoroutinefunction(user),
        parameters=parameters,
        unsupported=unsupported,
        directory=directory,
    )
