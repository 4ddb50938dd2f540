"""`devhost time now` and `devhost time advance`: in a thread against a host in this process, and as
a user runs them, against a `devhost start` process."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from devhost.cli import main
from devhost.process import DevhostProcess, free_port
from devhost.testing import TestHost

MONITOR = Path(__file__).resolve().parents[1] / "devhost" / "apps" / "monitor"
ROOT = Path(__file__).resolve().parents[2]
WEBHOOKS = "/runtime/webhooks/durabletask"


async def devhost_time(capsys: pytest.CaptureFixture[str], url: str, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    verb, *rest = argv
    code = await asyncio.to_thread(main, ["time", verb, "--url", url, *rest])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.devhost(app=str(MONITOR), time_skipping=False)
async def test_advance_and_now_against_a_host(
    durable_host: TestHost, capsys: pytest.CaptureFixture[str]
) -> None:
    client = durable_host.client()
    monitor = await client.start_new("monitor")
    await durable_host.wait_for(monitor, custom_status=lambda s: s is not None)
    await durable_host.wait_idle(timeout=10)

    code, out, err = await devhost_time(capsys, durable_host.url, "advance", "3h")
    assert code == 0, err
    assert "advanced 3h" in out and "(3 due time(s) passed)" in out
    assert (await client.get_status(monitor)).custom_status["iterations"] == 3

    code, out, err = await devhost_time(capsys, durable_host.url, "now", "--json")
    assert code == 0, err
    assert json.loads(out)["aheadBySeconds"] >= 3 * 3600 and json.loads(out)["mode"] == "off"


@pytest.mark.devhost(app=str(MONITOR), time_skipping=False)
async def test_bad_durations_and_unreachable_hosts_are_one_line_errors(
    durable_host: TestHost, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = await devhost_time(capsys, durable_host.url, "advance", "soon")
    assert code == 1 and "not a duration" in err
    code, _, err = await devhost_time(capsys, durable_host.url, "advance", "--", "-2h")
    assert code == 1 and "not a duration" in err
    code, _, err = await devhost_time(capsys, f"http://127.0.0.1:{free_port()}", "now")
    assert code == 1 and "cannot reach" in err
    assert durable_host.clock.offset.total_seconds() == 0


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def _post(url: str) -> Any:
    request = urllib.request.Request(url, data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _iterations(proc: DevhostProcess, instance_id: str) -> int | None:
    status = _get(f"{proc.url}{WEBHOOKS}/instances/{instance_id}")
    return (status.get("customStatus") or {}).get("iterations")


def _cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devhost", *argv], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_devhost_time_advance_against_a_devhost_start_process(tmp_path: Path) -> None:
    proc = DevhostProcess(tmp_path, "memory", app=MONITOR).start()
    try:
        assert "Clock: virtual time, moves with the wall clock" in proc.log()
        monitor = _post(f"{proc.url}{WEBHOOKS}/orchestrators/monitor")["id"]
        deadline = time.monotonic() + 10
        while _iterations(proc, monitor) is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _iterations(proc, monitor) == 0

        done = _cli("time", "advance", "3h", "--url", proc.url)
        assert done.returncode == 0, done.stderr
        assert "(3 due time(s) passed)" in done.stdout
        assert _iterations(proc, monitor) == 3
        status = _get(f"{proc.url}{WEBHOOKS}/instances/{monitor}")
        assert status["runtimeStatus"] == "Running" and "devhostVirtualTime" in status

        now = _cli("time", "now", "--url", proc.url, "--json")
        assert now.returncode == 0, now.stderr
        assert json.loads(now.stdout)["aheadBySeconds"] >= 3 * 3600
    finally:
        proc.stop()


def test_the_banner_says_when_time_skips(tmp_path: Path) -> None:
    proc = DevhostProcess(tmp_path, "memory", "--time-skipping", app=MONITOR).start()
    try:
        assert "Clock: time-skipping: jumps to the next timer when idle" in proc.log()
        assert _get(f"{proc.url}/runtime/devhost/api/time")["mode"] == "idle"
    finally:
        proc.stop()
