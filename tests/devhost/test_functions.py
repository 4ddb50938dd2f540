"""Indexing an app with the v2 model's own API, and the banner `python -m devhost start` prints."""

from __future__ import annotations

from pathlib import Path

import pytest

from devhost.__main__ import banner
from devhost.errors import AppLoadError
from devhost.functions import FunctionIndex, Kind
from devhost.host import DevHost

ROOT = Path(__file__).resolve().parents[2]

MIXED_APP = """
import azure.functions as func
import azure.durable_functions as df

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

@app.route(route="hello/{name}", methods=["GET"])
def hello(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(f"hi {req.route_params['name']}")

@app.timer_trigger(schedule="0 */5 * * * *", arg_name="timer")
def every_five_minutes(timer) -> None:
    pass

@app.entity_trigger(context_name="context")
def counter(context):
    pass
"""


def test_the_apps_functions_are_classified() -> None:
    index = FunctionIndex.load(ROOT)
    kinds = {name: f.kind for name, f in index.functions.items()}
    assert kinds["E1_HelloSequence"] is Kind.ORCHESTRATOR
    assert kinds["E1_SayHello"] is Kind.ACTIVITY
    assert kinds["HttpStart"] is Kind.HTTP
    assert index.functions["HttpStart"].route == "orchestrators/{functionName}"
    assert index.functions["HttpStart"].methods == ["POST"]
    assert index.get("e1_hellosequence", Kind.ORCHESTRATOR) is index.functions["E1_HelloSequence"]
    assert index.get("E1_HelloSequence", Kind.ACTIVITY) is None


async def test_unsupported_triggers_are_listed_with_a_warning(tmp_path: Path) -> None:
    (tmp_path / "function_app.py").write_text(MIXED_APP)
    async with DevHost(tmp_path, store="memory", port=0, rpc_port=0) as host:
        text = banner(host)
    assert "hello: [GET] http://localhost:" in text and "/api/hello/{name}" in text
    assert (
        "WARNING: every_five_minutes is not run: trigger type 'timerTrigger' is not run by devhost." in text
    )
    assert "counter: entityTrigger" in text and "WARNING: counter" not in text


MISMATCHED_APP = """
import azure.functions as func
import azure.durable_functions as df

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

@app.orchestration_trigger(context_name="ctx")
def renamed_context(ctx):
    return None

@app.activity_trigger(input_name="x")
def wrong_input(y):
    return y

@app.route(route="extra")
def extra_parameter(req: func.HttpRequest, unbound) -> func.HttpResponse:
    return func.HttpResponse("never")

@app.route(route="fine")
def fine(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    return func.HttpResponse("fine")
"""


def test_parameters_and_bindings_that_do_not_pair_up_fail_to_load_as_in_the_worker(tmp_path: Path) -> None:
    """validate_function_params: every parameter but an unbound `context` needs a binding and every
    binding a parameter; the SDK's orchestrator wrapper takes only `context`."""
    (tmp_path / "function_app.py").write_text(MISMATCHED_APP)
    index = FunctionIndex.load(tmp_path)
    refused = {name: f.unsupported for name, f in index.functions.items()}
    assert refused["fine"] is None
    assert refused["renamed_context"] == (
        "the Python worker refuses to load it, as on Azure: FunctionLoadError: cannot load the "
        "renamed_context function: the following parameters are declared in function.json but not in "
        "Python: {'ctx'}"
    )
    assert "declared in Python but not in function.json: {'y'}" in str(refused["wrong_input"])
    assert "declared in Python but not in function.json: {'unbound'}" in str(refused["extra_parameter"])
    assert index.get("renamed_context", Kind.ORCHESTRATOR) is None


def test_an_app_that_fails_to_import_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "function_app.py").write_text("import no_such_module_here\n")
    with pytest.raises(AppLoadError, match="no_such_module_here"):
        FunctionIndex.load(tmp_path)


def test_an_app_without_a_function_app_object_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "function_app.py").write_text("x = 1\n")
    with pytest.raises(AppLoadError, match="defines no FunctionApp"):
        FunctionIndex.load(tmp_path)
