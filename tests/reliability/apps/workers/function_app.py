"""The worker-kill test's app: activities that take their time, so a worker can be killed while one runs.

`NapFlow` ({"n": width, "seconds": s}) fans out `n` calls of `Nap`, which appends `start KEY PID` to the
file named by RELIABILITY_LEDGER, sleeps `s` seconds and appends `end KEY PID`: the test reads which
worker process runs which activity, kills it, and counts the runs of each key.
"""

from __future__ import annotations

import os
import time

import azure.durable_functions as df

LEDGER_ENV = "RELIABILITY_LEDGER"
app = df.DFApp()


def _note(line: str) -> None:
    # One short O_APPEND write: a line is written whole or not at all, whatever kills the process.
    fd = os.open(os.environ[LEDGER_ENV], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


@app.orchestration_trigger(context_name="context")
def NapFlow(context: df.DurableOrchestrationContext):
    spec = context.get_input() or {}
    n, seconds = int(spec.get("n", 2)), float(spec.get("seconds", 1.0))
    keys = [f"{context.instance_id}/{i}" for i in range(n)]
    done = yield context.task_all(
        [context.call_activity("Nap", {"key": k, "seconds": seconds}) for k in keys]
    )
    return sorted(done)


@app.activity_trigger(input_name="job")
def Nap(job: dict) -> str:
    _note(f"start {job['key']} {os.getpid()}")
    time.sleep(float(job["seconds"]))
    _note(f"end {job['key']} {os.getpid()}")
    return str(job["key"])
