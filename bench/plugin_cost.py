"""plugin-tests: what one test with devhost's pytest plugin costs, and a 1,000-test-style loop.

One test = a new host on the memory store (the `durable_host` fixture's own code), one E1_HelloSequence
of five activities to Completed, the host stopped and the process state put back; each on an event loop
of its own, as pytest-asyncio gives each test. Beside it: the same orchestration per test on
durabletask-python's in-memory backend as its documentation sets it up (a backend and a worker per test).
Its per-test cost is dominated by the worker's shutdown, so its loop is shorter and its 1,000-test figure
is projected from the per-test median (labelled so).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from .cold_start import child_env
from .durabletask_env import CHILD as DT_CHILD
from .durabletask_env import durabletask_python
from .stats import ms, percentile

DEVHOST_CHILD = Path(__file__).with_name("devhost_child.py")


def _loop(argv: list[str], env: dict[str, str], cwd: Path) -> list[float]:
    out = subprocess.run(argv, check=True, capture_output=True, env=env, cwd=cwd, timeout=3600)
    return [float(x) for x in json.loads(out.stdout.decode().strip().splitlines()[-1])]


def run_plugin_cost(root: Path, tests: int, durabletask_tests: int) -> dict[str, Any]:
    env = child_env(root)
    times = _loop([sys.executable, str(DEVHOST_CHILD), "tests", str(root), str(tests)], env, root)
    warm = times[1:] or times  # the first test pays the imports (see cold-start)
    result: dict[str, Any] = {
        "scenario": "plugin-tests",
        "tests": tests,
        "devhost_first_test_ms": ms(times[0]),
        "devhost_per_test_p50_ms": ms(percentile(warm, 50)),
        "devhost_per_test_p95_ms": ms(percentile(warm, 95)),
        "devhost_loop_s": round(sum(times), 2),
    }
    dt_python, why = durabletask_python(root)
    if dt_python is None:
        print(f"plugin-tests: no durabletask-python figures: {why}", flush=True)
        result["durabletask_skipped"] = why
        return result
    dt_env = child_env(None)
    dt = _loop([str(dt_python), str(DT_CHILD), "tests", str(durabletask_tests)], dt_env, root)
    dt_warm = dt[1:] or dt
    result.update(
        {
            "durabletask_tests": durabletask_tests,
            "durabletask_first_test_ms": ms(dt[0]),
            "durabletask_per_test_p50_ms": ms(percentile(dt_warm, 50)),
            "durabletask_loop_projected_s": round(percentile(dt_warm, 50) * tests, 1),
            "per_test_ratio_devhost_to_durabletask": round(percentile(warm, 50) / percentile(dt_warm, 50), 3),
        }
    )
    return result
