"""cold-start: a new process to its first completed orchestration, and how quick the command line is.

Each figure is the median of N new processes: devhost as the pytest plugin runs it (memory store, the
sample app, one E1_HelloSequence), the same orchestration on durabletask-python's in-memory backend,
`devhost --help`, and what importing the pytest plugin adds to a process that has pytest loaded.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .durabletask_env import CHILD as DT_CHILD
from .durabletask_env import durabletask_python
from .stats import ms, percentile

DEVHOST_CHILD = Path(__file__).with_name("devhost_child.py")


def _until_completed(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    """Seconds from starting the process to its line "completed" (its exit is not waited for)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=cwd)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    elapsed = time.perf_counter() - t0
    proc.stdout.read()
    if proc.wait(timeout=60) != 0 or line.strip() != b"completed":
        raise RuntimeError(f"{argv} did not complete its orchestration (exit {proc.returncode})")
    return elapsed


def _until_exit(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=env, cwd=cwd)
    return time.perf_counter() - t0


_PLUGIN_IMPORT = (
    "import time, pytest, pytest_asyncio; t0 = time.perf_counter(); import devhost.testing; "
    "print(time.perf_counter() - t0)"
)


def _plugin_import(py: str, env: dict[str, str], cwd: Path) -> float:
    """Seconds that importing the pytest plugin adds to a process that has pytest loaded (a new one)."""
    out = subprocess.run([py, "-c", _PLUGIN_IMPORT], check=True, capture_output=True, env=env, cwd=cwd)
    return float(out.stdout.decode().split()[-1])


def _p50(fn: Any, runs: int, *args: Any) -> tuple[float, float]:
    times = [fn(*args) for _ in range(runs)]
    return ms(percentile(times, 50)), ms(min(times))


def child_env(root: Path | None) -> dict[str, str]:
    """This environment for a child process, with bytecode caches allowed (a user's second run has them)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH")}
    if root is not None:
        env["PYTHONPATH"] = str(root)
    return env


def run_cold_start(root: Path, runs: int) -> dict[str, Any]:
    env = child_env(root)
    py = sys.executable
    result: dict[str, Any] = {"scenario": "cold-start", "runs": runs}
    _until_completed([py, str(DEVHOST_CHILD), "cold", str(root)], env, root)  # writes the bytecode caches
    p50, best = _p50(_until_completed, runs, [py, str(DEVHOST_CHILD), "cold", str(root)], env, root)
    result["devhost_to_first_completed_p50_ms"] = p50
    result["devhost_to_first_completed_min_ms"] = best
    p50, best = _p50(_until_exit, runs, [py, "-m", "devhost", "--help"], env, root)
    result["devhost_help_p50_ms"] = p50
    plugin = [_plugin_import(py, env, root) for _ in range(runs)]
    result["plugin_import_over_pytest_p50_ms"] = ms(percentile(plugin, 50))
    p50, best = _p50(_until_exit, runs, [py, "-c", "pass"], env, root)
    result["bare_interpreter_p50_ms"] = p50
    dt_python, why = durabletask_python(root)
    if dt_python is None:
        print(f"cold-start: no durabletask-python figures: {why}", flush=True)
        result["durabletask_skipped"] = why
    else:
        dt_env = child_env(None)
        _until_completed([str(dt_python), str(DT_CHILD), "cold"], dt_env, root)
        p50, best = _p50(_until_completed, runs, [str(dt_python), str(DT_CHILD), "cold"], dt_env, root)
        result["durabletask_to_first_completed_p50_ms"] = p50
        result["durabletask_to_first_completed_min_ms"] = best
        result["ratio_devhost_to_durabletask"] = round(
            result["devhost_to_first_completed_p50_ms"] / max(p50, 1e-6), 2
        )
    return result
