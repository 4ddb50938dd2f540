"""function_app.py indexed the way the Functions worker indexes it."""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import re
import typing
from pathlib import Path
from typing import Any

import azure.durable_functions as df
import azure.functions as func
import pytest

from .app_index import indexed_functions

EXPECTED: dict[str, dict[str, Any]] = {
    "E1_HelloSequence": {"type": "orchestrationTrigger"},
    "CityRecommender": {"type": "orchestrationTrigger"},
    "ReserveTicket": {"type": "orchestrationTrigger"},
    "SetStatusTest": {"type": "orchestrationTrigger"},
    "E1_SayHello": {"type": "activityTrigger"},
    "CalculateDiscount": {"type": "activityTrigger"},
    "GetDeadlineSeconds": {"type": "activityTrigger"},
    "HttpStart": {"type": "httpTrigger", "route": "orchestrators/{functionName}", "methods": ["POST"]},
    "HttpStartAndWait": {
        "type": "httpTrigger",
        "route": "orchestrators/{functionName}/wait-for-status",
        "methods": ["POST"],
    },
    "ProgressPage": {"type": "httpTrigger", "route": "progress", "methods": ["GET"]},
    "ProgressAsset": {"type": "httpTrigger", "route": "progress/static/{file}", "methods": ["GET"]},
    "ProgressStatus": {"type": "httpTrigger", "route": "progress/status/{instanceId}", "methods": ["GET"]},
    "ProgressStart": {"type": "httpTrigger", "route": "progress/start/{scenario}", "methods": ["POST"]},
    "ProgressEvent": {
        "type": "httpTrigger",
        "route": "progress/events/{instanceId}/{eventName}",
        "methods": ["POST"],
    },
}

# Modules that share code between blueprints and register no function themselves.
HELPER_MODULES = {
    "orchestrators.names",
    "orchestrators.custom_status",
    "orchestrators.waiting",
    "clients.start_request",
}


def bindings(name: str) -> list[dict[str, Any]]:
    result = json.loads(indexed_functions()[name].get_function_json())["bindings"]
    assert isinstance(result, list)
    return result


def test_the_app_registers_exactly_the_expected_functions_and_triggers() -> None:
    found = {}
    for name in indexed_functions():
        (trigger,) = [binding for binding in bindings(name) if binding["type"].endswith("Trigger")]
        found[name] = {key: trigger[key] for key in ("type", "route", "methods") if key in trigger}

    assert found == EXPECTED


@pytest.mark.parametrize(
    "name", ["HttpStart", "HttpStartAndWait", "ProgressStatus", "ProgressStart", "ProgressEvent"]
)
def test_http_clients_take_a_durable_client_and_require_a_function_key(name: str) -> None:
    by_type = {binding["type"]: binding for binding in bindings(name)}

    assert by_type["durableClient"] == {"direction": "IN", "type": "durableClient", "name": "client"}
    assert by_type["httpTrigger"]["authLevel"] == "FUNCTION"
    assert by_type["http"] == {"direction": "OUT", "type": "http", "name": "$return"}


@pytest.mark.parametrize("name", ["ProgressPage", "ProgressAsset"])
def test_the_progress_page_and_its_files_are_anonymous_and_touch_no_instance(name: str) -> None:
    # They hold no data; a key in their URLs would have to be written into the page itself.
    (trigger,) = [binding for binding in bindings(name) if binding["type"] == "httpTrigger"]

    assert trigger["authLevel"] == "ANONYMOUS"
    assert [binding["type"] for binding in bindings(name)] == ["httpTrigger", "http"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_annotations_resolve_to_types_as_the_worker_requires(name: str) -> None:
    # The worker calls typing.get_type_hints on the user function and refuses parameters annotated
    # with anything but a type, and an explicit return binding annotated with a non-type.
    user_function = indexed_functions()[name].get_user_function()
    hints = typing.get_type_hints(user_function)
    parameters = inspect.signature(user_function).parameters

    assert {binding["name"] for binding in bindings(name) if binding["direction"] == "IN"} == set(parameters)
    assert all(isinstance(hints[parameter], type) for parameter in parameters)
    if EXPECTED[name]["type"] == "httpTrigger":
        assert hints["req"] is func.HttpRequest
        assert hints["return"] is func.HttpResponse


def test_every_module_is_one_documented_blueprint_or_a_known_helper() -> None:
    blueprints = []
    for package in ("orchestrators", "activities", "clients"):
        for info in pkgutil.iter_modules(importlib.import_module(package).__path__):
            module = importlib.import_module(f"{package}.{info.name}")
            assert module.__doc__, f"{module.__name__} has no docstring saying its scope"
            if module.__name__ in HELPER_MODULES:
                assert not hasattr(module, "bp")
                continue
            assert isinstance(module.bp, df.Blueprint), module.__name__
            assert [v for v in vars(module).values() if isinstance(v, df.Blueprint)] == [module.bp]
            blueprints.append(module.__name__)

    assert len(blueprints) == 11


def test_no_orchestrator_or_client_blocks_the_event_loop_with_a_sleep() -> None:
    # A blocking sleep in an async client stalls every other invocation in the worker, and in an
    # orchestrator it breaks replay; asyncio.sleep and durable timers are the only ways to wait.
    root = Path(__file__).resolve().parents[2]
    blocking = re.compile(r"time\.sleep|from time import sleep")
    offenders = [
        f"{path.relative_to(root)}:{number}"
        for package in ("orchestrators", "clients")
        for path in sorted((root / package).rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if blocking.search(line)
    ]

    assert offenders == []
