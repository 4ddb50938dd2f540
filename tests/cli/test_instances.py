"""`devhost instances ...` against a running host: every subcommand, tables and --json, and its errors.

The host runs in this process (devhost's pytest plugin, the sample app, real clock); the command runs
in a thread, as it would in a terminal next to `devhost start`.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from devhost.cli import main
from devhost.process import free_port
from devhost.testing import TestHost

pytestmark = pytest.mark.devhost(time_skipping=False)
CHAINING = Path(__file__).resolve().parents[1] / "devhost" / "apps" / "chaining"


async def devhost(
    capsys: pytest.CaptureFixture[str], host: TestHost | None, *argv: str
) -> tuple[int, str, str]:
    """Run `devhost instances ARGV --url <host>`; (exit code, stdout, stderr)."""
    capsys.readouterr()
    url = host.url if host is not None else f"http://127.0.0.1:{free_port()}"
    code = await asyncio.to_thread(main, ["instances", *argv, "--url", url])
    out, err = capsys.readouterr()
    return code, out, err


async def listed(capsys: pytest.CaptureFixture[str], host: TestHost, *filters: str) -> list[str]:
    code, out, err = await devhost(capsys, host, "list", "--json", *filters)
    assert code == 0, err
    return sorted(i["instanceId"] for i in json.loads(out))


@pytest.fixture
async def two(durable_host: TestHost) -> TestHost:
    """`done` (E1_HelloSequence, Completed) and `waiting` (SetStatusTest, Running until Proceed)."""
    client = durable_host.client()
    await client.start_new("E1_HelloSequence", "done", ["Rome"])
    await durable_host.wait_for("done", runtime_status="Completed")
    await client.start_new("SetStatusTest", "waiting", {"timeout": 600})
    await durable_host.wait_for("waiting", custom_status={"nextActions": ["A", "B", "C"], "foo": 2})
    return durable_host


async def test_list_shows_a_table_and_filters(two: TestHost, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = await devhost(capsys, two, "list")
    assert code == 0
    header, *rows = out.splitlines()
    assert header.split() == ["INSTANCE", "NAME", "STATUS", "CREATED", "UPDATED", "CUSTOM", "STATUS"]
    assert sorted(r.split()[:3] for r in rows) == [
        ["done", "E1_HelloSequence", "Completed"],
        ["waiting", "SetStatusTest", "Running"],
    ]
    assert await listed(capsys, two, "--status", "Running") == ["waiting"]
    assert await listed(capsys, two, "--status", "running,completed") == ["done", "waiting"]
    assert await listed(capsys, two, "--name", "E1_HelloSequence") == ["done"]
    assert await listed(capsys, two, "--id-prefix", "wai") == ["waiting"]
    assert await listed(capsys, two, "--limit", "1") in (["done"], ["waiting"])
    hour_ago = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()
    in_an_hour = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    assert await listed(capsys, two, "--created-from", hour_ago, "--created-to", in_an_hour) == [
        "done",
        "waiting",
    ]
    assert await listed(capsys, two, "--created-from", in_an_hour) == []
    assert await listed(capsys, two, "--created-to", hour_ago) == []


async def test_show_and_history(two: TestHost, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = await devhost(capsys, two, "show", "waiting")
    assert code == 0
    lines = dict(line.split(":", 1) for line in out.splitlines())
    assert lines["Status"].strip() == "Running"
    assert json.loads(lines["Custom status"]) == {"nextActions": ["A", "B", "C"], "foo": 2}
    code, out, _ = await devhost(capsys, two, "show", "done", "--json")
    assert json.loads(out)["output"] == ["Hello Rome!"]

    code, out, _ = await devhost(capsys, two, "history", "done")
    assert code == 0
    rows = [line.split()[:4] for line in out.splitlines()[1:]]
    assert [r[2] for r in rows] == ["ExecutionStarted", "TaskCompleted", "ExecutionCompleted"]
    assert rows[1][3] == "E1_SayHello" and 'Result: "Hello Rome!"' in out
    code, out, _ = await devhost(capsys, two, "history", "done", "--json")
    assert [e["EventType"] for e in json.loads(out)] == [
        "ExecutionStarted",
        "TaskCompleted",
        "ExecutionCompleted",
    ]


async def test_raise_delivers_the_event(two: TestHost, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = await devhost(capsys, two, "raise", "waiting", "Proceed", '"go"')
    assert (code, out.strip()) == (0, "raised Proceed on waiting")
    done = await two.wait_for("waiting", runtime_status="Completed")
    assert done.output == {"proceeded": True}


async def test_suspend_resume_terminate(two: TestHost, capsys: pytest.CaptureFixture[str]) -> None:
    assert (await devhost(capsys, two, "suspend", "waiting", "--reason", "lunch"))[:2] == (
        0,
        "suspended waiting\n",
    )
    await two.wait_for("waiting", runtime_status="Suspended")
    assert (await devhost(capsys, two, "resume", "waiting"))[:2] == (0, "resumed waiting\n")
    await two.wait_for("waiting", runtime_status="Running")
    assert (await devhost(capsys, two, "terminate", "waiting", "--reason", "enough"))[:2] == (
        0,
        "terminated waiting\n",
    )
    status = await two.wait_for("waiting", runtime_status="Terminated")
    assert status.output == "enough"


async def test_restart_with_a_new_id_and_the_same(two: TestHost, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = await devhost(capsys, two, "restart", "done", "--json")
    new_id = json.loads(out)["instanceId"]
    assert code == 0 and new_id != "done"
    assert (await two.wait_for(new_id, runtime_status="Completed")).output == ["Hello Rome!"]
    code, out, _ = await devhost(capsys, two, "restart", "done", "--same-id")
    assert (code, out.strip()) == (0, "restarted done as done")
    await two.wait_for("done", runtime_status="Completed")


async def test_rewind_of_a_completed_instance_is_refused_with_the_hosts_answer(
    two: TestHost, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = await devhost(capsys, two, "rewind", "done")
    assert code == 1 and out == ""
    assert "answered 412" in err and 'only orchestrations in the "Failed" state can be rewound' in err


async def test_purge_one_and_by_filter(two: TestHost, capsys: pytest.CaptureFixture[str]) -> None:
    assert (await devhost(capsys, two, "purge", "done"))[:2] == (0, "purged 1 instance(s)\n")
    code, _, err = await devhost(capsys, two, "show", "done")
    assert code == 1 and "No instance with ID 'done' found." in err
    hour_ago = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()
    code, out, _ = await devhost(
        capsys, two, "purge", "--created-from", hour_ago, "--status", "Running", "--json"
    )
    assert (code, json.loads(out)) == (0, {"instancesDeleted": 1})
    assert await listed(capsys, two) == []


async def test_errors_say_what_went_wrong_and_wrong_arguments_exit_2(
    durable_host: TestHost, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = await devhost(capsys, None, "list")
    assert code == 1 and "cannot reach http://127.0.0.1:" in err and "devhost start" in err
    code, _, err = await devhost(capsys, durable_host, "list", "--status", "Sleeping")
    assert code == 2 and "unknown status 'Sleeping'" in err
    code, _, err = await devhost(capsys, durable_host, "raise", "nobody", "Proceed", "{not json")
    assert code == 2 and "the event data must be JSON" in err
    code, _, err = await devhost(capsys, durable_host, "raise", "nobody", "Proceed")
    assert code == 1 and "404" in err and "nobody" in err
    code, _, err = await devhost(capsys, durable_host, "purge")
    assert code == 2 and "--created-from" in err


async def test_keys_for_a_host_started_with_auth(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = shutil.copytree(CHAINING, tmp_path / "app")
    async with TestHost(app, store="memory", port=0, rpc_port=0, auth=True, workers=0) as host:
        code, _, err = await devhost(capsys, host, "list")
        assert code == 1 and "401" in err and "--key" in err
        keys = app / ".devhost" / "keys.json"
        code, out, err = await devhost(capsys, host, "list", "--keys-file", str(keys))
        assert (code, out.strip()) == (0, "no instances"), err
        system_key = json.loads(keys.read_text())["systemKeys"]["durabletask_extension"]
        assert (await devhost(capsys, host, "list", "--key", system_key))[0] == 0
        code, _, err = await devhost(capsys, host, "list", "--keys-file", str(tmp_path / "none.json"))
        assert code == 2 and "cannot read the keys file" in err
