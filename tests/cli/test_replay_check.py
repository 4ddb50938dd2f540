"""`devhost replay-check`: stored histories replayed through the app's code as it is now.

A store is filled by the app as first written; the check then runs (in its own process, as a user runs
it after editing the code) against that app unchanged and against edited copies of it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from devhost.process_state import ProcessState
from devhost.testing import start_host

ROOT = Path(__file__).resolve().parents[2]

APP = """\
from datetime import timedelta

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.orchestration_trigger(context_name="context")
def chain(context: df.DurableOrchestrationContext):
    first = yield context.call_activity("hello", "Seattle")
    second = yield context.call_activity("hello", "Tokyo")
    return [first, second]


@app.orchestration_trigger(context_name="context")
def waiter(context: df.DurableOrchestrationContext):
    yield context.call_activity("hello", "Lima")
    timer = context.create_timer(context.current_utc_datetime + timedelta(hours=1))
    yield context.task_any([timer, context.wait_for_external_event("Go")])
    return "done"


@app.activity_trigger(input_name="city")
def hello(city: str) -> str:
    return f"Hello {city}"


@app.activity_trigger(input_name="city")
def goodbye(city: str) -> str:
    return f"Bye {city}"
"""


@pytest.fixture
async def stored(tmp_path: Path) -> tuple[Path, str]:
    """(app folder, store URL): `chain-1` Completed and `wait-1` Running (its timer an hour away)."""
    app = tmp_path / "app"
    app.mkdir()
    (app / "function_app.py").write_text(APP)
    (app / "host.json").write_text('{"version": "2.0"}')
    store = f"sqlite:{tmp_path / 'durable.db'}"
    state = ProcessState(app)
    host = await start_host(app, store=store, time_skipping=False)
    try:
        client = host.client()
        await client.start_new("chain", "chain-1")
        await host.wait_for("chain-1", runtime_status="Completed")
        await client.start_new("waiter", "wait-1")
        await host.wait_for("wait-1", runtime_status="Running")
        await host.wait_idle()
    finally:
        await host.stop()
        state.restore()
    return app, store


def edit(app: Path, old: str, new: str) -> None:
    code = (app / "function_app.py").read_text()
    assert old in code
    (app / "function_app.py").write_text(code.replace(old, new))


def replay_check(app: Path, store: str, *extra: str) -> tuple[int, str, str]:
    run = subprocess.run(
        [sys.executable, "-m", "devhost", "replay-check", "--app", str(app), "--store", store, *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return run.returncode, run.stdout, run.stderr


def diverged(app: Path, store: str, *extra: str) -> tuple[int, dict[str, object]]:
    code, out, err = replay_check(app, store, "--json", *extra)
    assert code in (0, 1), err
    return code, json.loads(out)


def test_unchanged_code_reproduces_every_history(stored: tuple[Path, str]) -> None:
    code, out, err = replay_check(*stored)
    assert (code, out.strip()) == (0, "2 instance(s) replayed; 0 no longer reproduce their history"), err


def test_another_activity_in_a_recorded_place_is_reported(stored: tuple[Path, str]) -> None:
    app, store = stored
    edit(
        app,
        'second = yield context.call_activity("hello", "Tokyo")',
        'second = yield context.call_activity("goodbye", "Tokyo")',
    )
    code, out, _ = replay_check(app, store)
    assert code == 1
    header, row, *_ = out.splitlines()
    assert header.split()[:3] == ["INSTANCE", "ORCHESTRATOR", "EVENT"]
    assert row.split()[:2] == ["chain-1", "chain"]
    assert "action 2: TaskScheduled EventId 1" in row
    assert "activity 'hello'" in row and "activity 'goodbye'" in row
    assert out.strip().endswith(
        "2 instance(s) replayed; 1 no longer reproduce their history "
        "(the code would fail or change them when they next run)"
    )


def test_a_changed_input_a_changed_timer_and_a_changed_result(stored: tuple[Path, str]) -> None:
    app, store = stored
    edit(app, '"Tokyo"', '"Osaka"')
    edit(app, "timedelta(hours=1)", "timedelta(hours=2)")
    code, body = diverged(app, store)
    assert code == 1 and body["checked"] == 2
    found = {d["instance_id"]: d for d in body["diverged"]}
    assert found["chain-1"]["recorded"] == "activity 'hello' with input \"Tokyo\""
    assert found["chain-1"]["now"] == "activity 'hello' with input \"Osaka\""
    assert found["wait-1"]["event"] == "action 2: TimerCreated EventId 1"
    assert found["wait-1"]["recorded"].startswith("a timer due ")
    assert found["wait-1"]["recorded"] != found["wait-1"]["now"]

    edit(app, '"Osaka"', '"Tokyo"')
    edit(app, "return [first, second]", "return [second, first]")
    code, body = diverged(app, store, "--name", "chain")
    assert code == 1 and body["checked"] == 1
    (only,) = body["diverged"]
    assert only["event"].startswith("ExecutionCompleted")
    assert (only["recorded"], only["now"]) == (
        'result ["Hello Seattle", "Hello Tokyo"]',
        'result ["Hello Tokyo", "Hello Seattle"]',
    )


def test_name_limits_the_check_to_one_orchestrator(stored: tuple[Path, str]) -> None:
    app, store = stored
    edit(app, 'call_activity("hello", "Lima")', 'call_activity("goodbye", "Lima")')
    assert diverged(app, store, "--name", "chain") == (0, {"checked": 1, "diverged": []})
    code, body = diverged(app, store, "--name", "waiter")
    assert code == 1 and [d["instance_id"] for d in body["diverged"]] == ["wait-1"]


def test_a_removed_orchestrator_and_a_missing_app(stored: tuple[Path, str], tmp_path: Path) -> None:
    app, store = stored
    edit(app, "def waiter(", "def waiter_renamed(")
    code, body = diverged(app, store)
    assert code == 1
    assert [(d["instance_id"], d["now"]) for d in body["diverged"]] == [
        ("wait-1", "no such orchestrator in the app")
    ]
    code, _, err = replay_check(tmp_path / "nowhere", store)
    assert code == 2 and "devhost:" in err
    code, _, err = replay_check(app, "memory")
    assert code == 2 and "memory store keeps nothing" in err
