"""`devhost replay-check` on histories that call and signal durable entities."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from devhost.process_state import ProcessState
from devhost.testing import start_host

from .test_replay_check import diverged, edit

ENTITIES_APP = Path(__file__).resolve().parents[1] / "devhost" / "apps" / "entities"


@pytest.fixture
async def stored(tmp_path: Path) -> tuple[Path, str]:
    """(app folder, store URL) holding `calls-1`, a completed `call_and_signal`."""
    app = tmp_path / "app"
    shutil.copytree(ENTITIES_APP, app)
    store = f"sqlite:{tmp_path / 'durable.db'}"
    state = ProcessState(app)
    host = await start_host(app, store=store, time_skipping=False)
    try:
        await host.client().start_new("call_and_signal", "calls-1", {"key": "k", "add": 2})
        await host.wait_for("calls-1", runtime_status="Completed")
        await host.wait_idle()
    finally:
        await host.stop()
        state.restore()
    return app, store


def test_entity_calls_replay_and_a_changed_operation_or_entity_is_reported(stored: tuple[Path, str]) -> None:
    app, store = stored
    assert diverged(app, store, "--name", "call_and_signal") == (0, {"checked": 1, "diverged": []})
    edit(app, 'yield context.call_entity(counter, "get")', 'yield context.call_entity(counter, "add", 5)')
    code, body = diverged(app, store, "--name", "call_and_signal")
    assert code == 1
    (found,) = body["diverged"]
    assert found["event"] == "action 3: EventSent EventId 2"
    assert found["recorded"] == "a call to entity '@counter@k': 'get' with input null"
    assert found["now"] == "a call to entity '@counter@k': 'add' with input 5"
    edit(
        app,
        'yield context.call_entity(counter, "add", 5)',
        'yield context.call_entity(df.EntityId("Other", "k"), "get")',
    )
    code, body = diverged(app, store, "--name", "call_and_signal")
    (found,) = body["diverged"]
    assert (found["recorded"], found["now"]) == (
        "a message to entity '@counter@k'",
        "a call to entity '@other@k'",
    )
