"""Apps of the v1 programming model (a function.json folder per function) on devhost: indexing as the
Functions host and the Python worker do it, and the sample app's starters, orchestrators and activity."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from devhost.__main__ import banner
from devhost.errors import AppLoadError
from devhost.functions import FunctionIndex, Kind
from devhost.host import DevHost

from .helpers import APPS, WEBHOOKS, call, poll_url, stored_history, wait_for

V1_APP = APPS / "v1_model"
ACTIVITY_JSON = {"bindings": [{"name": "name", "type": "activityTrigger", "direction": "in"}]}


@pytest.fixture
async def v1_host() -> AsyncIterator[DevHost]:
    async with DevHost(V1_APP, store="memory", port=0, rpc_port=0, time_skipping=True) as host:
        yield host


def write_function(
    app: Path, name: str, config: dict[str, object], code: str, script: str = "__init__.py"
) -> None:
    folder = app / name
    folder.mkdir(parents=True)
    (folder / "function.json").write_text(json.dumps(config))
    (folder / script).write_text(code)


def test_the_v1_app_is_indexed_by_folder() -> None:
    index = FunctionIndex.load(V1_APP)
    kinds = {name: f.kind for name, f in index.functions.items()}
    assert kinds == {
        "Counter": Kind.ENTITY,
        "Greet": Kind.ACTIVITY,
        "HttpStart": Kind.HTTP,
        "LegacyStart": Kind.HTTP,
        "PlanTrip": Kind.ORCHESTRATOR,
        "StartTrip": Kind.HTTP,
        "Summarize": Kind.ORCHESTRATOR,
    }
    # The entry point named by entryPoint, from the folder's only script; the module is __app__.<folder>.
    legacy = index.functions["LegacyStart"]
    assert legacy.user_function.__name__ == "start"
    assert legacy.user_function.__module__ == "__app__.LegacyStart.start"
    assert index.functions["PlanTrip"].user_function.orchestrator_function.__module__ == "__app__.PlanTrip"
    assert index.functions["Counter"].unsupported is None
    assert index.functions["StartTrip"].output_parameters == ["message"]
    assert index.notes == []


async def test_named_http_output_answers_and_custom_classes_cross_every_boundary(v1_host: DevHost) -> None:
    reply = await call(v1_host, "POST", "/api/trips/ada", body=["Rome", "Lima", "Baku"])
    assert reply.status == 202, reply.text
    assert reply.headers["Location"] == reply.json()["statusQueryGetUri"]
    done = (await poll_url(v1_host, reply.headers["Location"])).json()
    assert done["runtimeStatus"] == "Completed", done
    assert done["output"] == {
        "traveller": "ada",
        "summary": ["1. Hello Rome from Greet", "2. Hello Lima from Greet", "3. Hello Baku from Greet"],
    }
    assert done["customStatus"] == {"traveller": "ada", "visited": 3, "of": 3}
    # The input went through Trip.to_json as imported by the starter (top-level `shared` package).
    assert json.loads(done["input"])["__module__"] == "shared.trip"
    history = await stored_history(v1_host, done["instanceId"])
    scheduled = [e for e in history if e["EventType"] == 4]
    # Leg as the orchestrator imported it (relatively: __app__.shared.trip) is the activity's input.
    assert json.loads(json.loads(scheduled[0]["Input"])[0])["__module__"] == "__app__.shared.trip"
    sub = next(e for e in history if e["EventType"] == 7)
    assert sub["Name"] == "Summarize" and sub["InstanceId"] == f"{done['instanceId']}:summary"


async def test_named_http_output_carries_the_functions_own_error(v1_host: DevHost) -> None:
    reply = await call(v1_host, "POST", "/api/trips/ada", body={"not": "a list"})
    assert reply.status == 400
    assert reply.json() == {"error": "send a JSON list of cities"}


async def test_durable_client_and_orchestration_client_bindings_both_start(v1_host: DevHost) -> None:
    started = await call(v1_host, "POST", "/api/orchestrators/PlanTrip", body=None)
    assert started.status == 202
    # Without input PlanTrip fails on `trip.cities`: the failure is the orchestrator's, not the binding's.
    failed = (await poll_url(v1_host, started.headers["Location"])).json()
    assert failed["runtimeStatus"] == "Failed" and "cities" in failed["output"]
    legacy = await call(v1_host, "POST", "/api/legacy/PlanTrip/trip-1", body=["Lima"])
    assert legacy.status == 202, legacy.text
    assert legacy.json()["id"] == "trip-1"
    done = (await poll_url(v1_host, legacy.headers["Location"])).json()
    assert done["output"] == {"traveller": "guest", "summary": ["1. Hello Lima from Greet"]}
    # Summarize expects a Summary object; a plain list fails inside the orchestrator.
    await call(v1_host, "POST", "/api/legacy/Summarize/sum-1", body=["a", "b"])
    failed = (await poll_url(v1_host, f"{v1_host.url}{WEBHOOKS}/instances/sum-1")).json()
    assert (
        failed["runtimeStatus"] == "Failed" and "'list' object has no attribute 'lines'" in failed["output"]
    )


async def test_the_entity_function_of_a_function_json_folder_runs(v1_host: DevHost) -> None:
    text = banner(v1_host)
    assert "Counter: entityTrigger" in text and "WARNING" not in text
    for _ in range(3):
        assert (await call(v1_host, "POST", f"{WEBHOOKS}/entities/Counter/one?op=increment")).status == 202
    await wait_for(lambda: _entity_state(v1_host, "one", 3))
    assert "StartTrip: [POST]" in text and "/api/trips/{traveller}" in text
    assert "LegacyStart: [POST]" in text


async def test_user_code_runs_in_worker_processes_too() -> None:
    async with DevHost(V1_APP, store="memory", port=0, rpc_port=0, time_skipping=True, workers=1) as host:
        assert len(host.worker_pids()) == 1
        reply = await call(host, "POST", "/api/trips/bo", body=["Oslo"])
        done = (await poll_url(host, reply.headers["Location"], timeout=60)).json()
        assert (await call(host, "POST", f"{WEBHOOKS}/entities/Counter/w?op=increment")).status == 202
        await wait_for(lambda: _entity_state(host, "w", 1), timeout=60)
    assert done["runtimeStatus"] == "Completed", done
    assert done["output"] == {"traveller": "bo", "summary": ["1. Hello Oslo from Greet"]}


# --- indexing rules, on small apps written per test ---


def test_folders_that_fail_the_hosts_or_workers_checks_are_left_out_with_the_reason(tmp_path: Path) -> None:
    write_function(tmp_path, "Good", ACTIVITY_JSON, "def main(name: str) -> str:\n    return name\n")
    write_function(tmp_path, "NoBindings", {"bindings": []}, "def main():\n    pass\n")
    write_function(
        tmp_path, "BadScript", {**ACTIVITY_JSON, "scriptFile": "missing.py"}, "def main(name): pass\n"
    )
    write_function(tmp_path, "Renamed", ACTIVITY_JSON, "def main(other):\n    return other\n")
    write_function(tmp_path, "NoEntry", {**ACTIVITY_JSON, "entryPoint": "run"}, "def main(name): pass\n")
    write_function(tmp_path, "Broken", ACTIVITY_JSON, "import not_a_module_anywhere\n")
    client_json = {
        "bindings": [
            {"name": "req", "type": "httpTrigger", "direction": "in"},
            {"name": "$return", "type": "http", "direction": "out"},
            {"name": "starter", "type": "durableClient", "direction": "in"},
        ]
    }
    write_function(
        tmp_path,
        "RichClient",
        client_json,
        "import azure.durable_functions as df\nimport azure.functions as func\n\n"
        "def main(req: func.HttpRequest, starter: df.DurableOrchestrationClient) -> func.HttpResponse:\n"
        "    pass\n",
    )
    (tmp_path / "NotJson").mkdir()
    (tmp_path / "NotJson" / "function.json").write_text("{bindings: [")
    (tmp_path / "1bad").mkdir()
    (tmp_path / "1bad" / "function.json").write_text(json.dumps(ACTIVITY_JSON))
    index = FunctionIndex.load(tmp_path)
    assert list(index.functions) == ["Good"]
    notes = "\n".join(index.notes)
    assert "1bad is not run: '1bad' is not a valid function name." in notes
    assert "NotJson is not run: function.json is not valid JSON" in notes
    assert "NoBindings is not run: At least one binding must be declared." in notes
    assert "BadScript is not run: Invalid script file name configuration." in notes
    assert (
        "Renamed is not run: cannot load the Renamed function: the following parameters are declared in "
        "Python but not in function.json: {'other'}"
    ) in notes
    assert "NoEntry is not run: cannot load function NoEntry: function run() is not present in" in notes
    assert "Broken is not run: importing Broken/__init__.py failed: ModuleNotFoundError" in notes
    assert (
        'type of starter binding in function.json "durableClient" does not match its Python annotation'
        in notes
    )


def test_script_file_may_live_in_a_shared_folder(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "handlers.py").write_text("def shout(name):\n    return name.upper()\n")
    config = {**ACTIVITY_JSON, "scriptFile": "../lib/handlers.py", "entryPoint": "shout"}
    (tmp_path / "Shout").mkdir()
    (tmp_path / "Shout" / "function.json").write_text(json.dumps(config))
    fn = FunctionIndex.load(tmp_path).get("shout", Kind.ACTIVITY)  # names are case-insensitive
    assert fn is not None and fn.user_function.__module__ == "__app__.lib.handlers"
    assert fn.user_function(name="ada") == "ADA"


def test_out_annotation_must_match_the_binding_direction(tmp_path: Path) -> None:
    config = {
        "bindings": [
            {"name": "req", "type": "httpTrigger", "direction": "in"},
            {"name": "reply", "type": "http", "direction": "out"},
        ]
    }
    code = (
        "import azure.functions as func\n\n"
        "def main(req: func.HttpRequest, reply: func.HttpResponse) -> None:\n    pass\n"
    )
    write_function(tmp_path, "NotOut", config, code)
    index = FunctionIndex.load(tmp_path)
    assert index.functions == {}
    assert 'binding reply is declared to have the "out" direction' in index.notes[0]


def test_a_mixed_app_is_indexed_from_function_app_py_and_its_folders_are_named(tmp_path: Path) -> None:
    shutil.copy(APPS / "chaining" / "function_app.py", tmp_path / "function_app.py")
    write_function(tmp_path, "Legacy", ACTIVITY_JSON, "def main(name):\n    return name\n")
    index = FunctionIndex.load(tmp_path)
    assert "Legacy" not in index.functions and index.functions  # the v2 functions only
    assert index.notes[0].startswith(
        "Detected mixed function app. Some functions may not be indexed - Legacy"
    )


def test_host_json_functions_list_keeps_only_the_named_functions(tmp_path: Path) -> None:
    write_function(tmp_path, "KeepMe", ACTIVITY_JSON, "def main(name):\n    return name\n")
    write_function(tmp_path, "DropMe", ACTIVITY_JSON, "def main(name):\n    return name\n")
    (tmp_path / "host.json").write_text(json.dumps({"version": "2.0", "functions": ["keepme"]}))
    assert list(FunctionIndex.load(tmp_path).functions) == ["KeepMe"]


def test_disabled_app_setting_disables_and_function_json_disabled_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_function(tmp_path, "Off", ACTIVITY_JSON, "def main(name):\n    return name\n")
    write_function(
        tmp_path, "Flagged", {**ACTIVITY_JSON, "disabled": True}, "def main(name):\n    return name\n"
    )
    monkeypatch.setenv("AzureWebJobs.Off.Disabled", "true")
    index = FunctionIndex.load(tmp_path)
    assert index.get("Off", Kind.ACTIVITY) is None
    assert index.functions["Off"].unsupported == "disabled by the app setting AzureWebJobs.Off.Disabled"
    assert (
        index.get("Flagged", Kind.ACTIVITY) is not None
    )  # the v4 host does not read function.json `disabled`
    assert any("AzureWebJobs.Flagged.Disabled" in note for note in index.notes)


def test_a_folder_with_neither_model_is_refused(tmp_path: Path) -> None:
    (tmp_path / "host.json").write_text("{}")
    with pytest.raises(AppLoadError, match=r"no function_app\.py and no function folders"):
        FunctionIndex.load(tmp_path)


async def test_returning_a_value_without_a_return_binding_fails_the_invocation(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = {
        "bindings": [{"name": "req", "type": "httpTrigger", "direction": "in", "authLevel": "anonymous"}]
    }
    write_function(tmp_path, "Chatty", config, "def main(req):\n    return 'hello'\n")
    async with DevHost(tmp_path, store="memory", port=0, rpc_port=0) as host:
        reply = await call(host, "GET", "/api/Chatty")
    assert reply.status == 500 and reply.text == ""  # the Functions host writes no body
    assert "'Chatty' without a $return binding returned a non-None value" in caplog.text


async def _entity_state(host: DevHost, key: str, wanted: int) -> bool:
    reply = await call(host, "GET", f"{WEBHOOKS}/entities/Counter/{key}")
    return reply.status == 200 and reply.json() == wanted
