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


def test_an_app_that_fails_to_import_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "function_app.py").write_text("import no_such_module_here\n")
    with pytest.raises(AppLoadError, match="no_such_module_here"):
        FunctionIndex.load(tmp_path)


def test_an_app_without_a_function_app_object_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "function_app.py").write_text("x = 1\n")
    with pytest.raises(AppLoadError, match="defines no FunctionApp"):
        FunctionIndex.load(tmp_path)
