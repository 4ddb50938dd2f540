"""An activity's `context: func.Context` is the invocation the log lines name, as the worker fills it."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from devhost import DevHost

from .helpers import wait_done

_APP = """
import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.orchestration_trigger(context_name="context")
def both(context: df.DurableOrchestrationContext):
    first = yield context.call_activity("sync_one", "a")
    second = yield context.call_activity("async_one", "b")
    return [first, second]


@app.activity_trigger(input_name="value")
def sync_one(value: str, context: func.Context) -> dict:
    return {"id": context.invocation_id, "name": context.function_name, "value": value}


@app.activity_trigger(input_name="value")
async def async_one(value: str, context: func.Context) -> dict:
    return {"id": context.invocation_id, "name": context.function_name, "value": value}
"""


@pytest.mark.parametrize("workers", [0, 2])
async def test_an_activitys_invocation_id_is_the_one_its_log_lines_show(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, workers: int
) -> None:
    """The Functions host gives the worker the invocation id it logs (`InvocationRequest.invocation_id`),
    so `context.invocation_id` and the `Id=` of `Executed 'Functions.<name>'` are the same."""
    (tmp_path / "host.json").write_text('{"version": "2.0"}')
    (tmp_path / "function_app.py").write_text(_APP)
    caplog.set_level(logging.INFO, logger="devhost.functions")
    async with DevHost(tmp_path, store="memory", port=0, rpc_port=0, workers=workers) as host:
        client = host.client()
        status = await wait_done(client, await client.start_new("both", None, None))
    first, second = status.output
    assert (first["name"], first["value"], second["name"], second["value"]) == (
        "sync_one",
        "a",
        "async_one",
        "b",
    )
    assert first["id"] != second["id"]
    for seen in (first, second):
        assert (
            f"Executed 'Functions.{seen['name']}' (Succeeded, InstanceId={status.instance_id}, "
            f"Id={seen['id']}," in caplog.text
        ), caplog.text
