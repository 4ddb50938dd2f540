"""Worker kill (short): a worker process killed with SIGKILL while an activity runs in it, not the host.

The host must start new workers, run the activity again (at least once: the killed run never
finished), complete the instance with the right output and record no step twice. The long run (many
kills under the mixed workload) is `python -m tests.reliability.worker_kill`, part of `make reliability`.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from devhost.process import DevhostProcess

from .crash import LEDGER_ENV, StoreSpec, stored_histories
from .probe import WEBHOOKS, send
from .processes import alive, worker_pids
from .workload import TERMINAL, doubled_steps

WORKERS_APP = Path(__file__).resolve().parent / "apps" / "workers"
NAP_SECONDS = 2.0


def ledger_lines(path: Path) -> list[list[str]]:
    """[event, key, pid] per line the activities wrote."""
    return [line.split() for line in path.read_text().splitlines()] if path.exists() else []


def wait_until(condition: object, what: str, timeout: float = 60.0) -> None:
    """Poll `condition()` until true; AssertionError naming `what` after `timeout` s (a host that
    never gets there fails rather than hangs)."""
    end = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > end:
            raise AssertionError(f"{what}: not reached in {timeout} s")
        time.sleep(0.05)


@pytest.fixture
def host(store_spec: StoreSpec, tmp_path: Path) -> Iterator[DevhostProcess]:
    proc = DevhostProcess(
        tmp_path,
        store_spec.url(tmp_path),
        "--workers",
        "2",
        app=WORKERS_APP,
        env={**store_spec.env(), LEDGER_ENV: str(tmp_path / "ledger.txt")},
    ).start(60.0)
    yield proc
    proc.stop()


async def test_a_worker_killed_mid_activity_is_replaced_and_the_activity_retried(
    host: DevhostProcess, store_spec: StoreSpec, tmp_path: Path
) -> None:
    assert host.pid is not None
    ledger = tmp_path / "ledger.txt"
    first = set(worker_pids(host.pid))
    assert len(first) == 2
    started = send(
        host.port,
        "POST",
        f"{WEBHOOKS}/orchestrators/NapFlow/nap",
        body=json.dumps({"n": 2, "seconds": NAP_SECONDS}).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert started.status == 202, started.body
    wait_until(lambda: any(e == "start" for e, _, _ in ledger_lines(ledger)), "an activity running")
    _, key, pid_text = next(line for line in ledger_lines(ledger) if line[0] == "start")
    victim = int(pid_text)
    assert victim in first  # the activity runs in a worker, not in the host
    os.kill(victim, signal.SIGKILL)

    def ended() -> bool:
        answer = send(host.port, "GET", f"{WEBHOOKS}/instances/nap")
        return answer.status == 200 and answer.json()["runtimeStatus"] in TERMINAL

    wait_until(ended, "the instance ending")
    status = send(host.port, "GET", f"{WEBHOOKS}/instances/nap").json()
    assert status["runtimeStatus"] == "Completed", status
    assert status["output"] == ["nap/0", "nap/1"]
    lines = ledger_lines(tmp_path / "ledger.txt")
    assert ["end", key, str(victim)] not in lines  # the killed run never finished...
    assert [e for e, k, _ in lines if k == key].count("start") >= 2  # ...and ran again
    assert ["end", key] in [[e, k] for e, k, _ in lines]
    assert alive(host.pid) and send(host.port, "GET", "/").status == 200
    wait_until(lambda: len(worker_pids(host.pid)) == 2, "two workers again")  # type: ignore[arg-type]
    replaced = set(worker_pids(host.pid))
    assert victim not in replaced and len(replaced - first) == 1, (first, replaced)  # one new worker
    assert f"worker process {victim} ended abruptly" in host.log()
    host.stop()
    history = (await stored_histories(store_spec, tmp_path, ["nap"]))["nap"]
    assert doubled_steps("nap", history, Counter()) == []
