"""The figures `python -m bench` is judged by: each with its target and the anchor it is measured against.

After the scenarios, `summary()` prints one row per figure: this run's value, the target, the anchor
(what the figure was before, or what another system does), and whether this run met the target. Ratios
are taken within one run, as the machine's speed moves between runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Target:
    scenario: str
    figure: str  # the key in the scenario's result
    label: str
    unit: str
    target: str
    anchor: str
    met: Callable[[float, dict[str, Any]], bool] | None  # None: reported, no target
    store: str | None = None


def _within(limit: float) -> Callable[[float, dict[str, Any]], bool]:
    return lambda value, _result: value <= limit


TARGETS = (
    Target(
        "hello-cities",
        "ratio_to_floor",
        "hello-cities 1,000 x 5 on SQLite, over the app's HTTP starter",
        "x floor",
        "at most 0.7 x floor (goal 0.5 x)",
        "1.36-1.46 x before; Azure Storage on EP2 about 22.5 s, Netherite 5.9 s",
        _within(0.7),
        store="sqlite",
    ),
    Target(
        "hello-cities",
        "seconds",
        "hello-cities on the Azure Storage store (Azurite)",
        "s",
        "at most 11 s",
        "13.6 s before; the Azure Storage provider on EP2 about 22.5 s",
        _within(11.0),
        store="azure",
    ),
    Target(
        "single",
        "p50_ms",
        "one E1_HelloSequence on an idle host, client-observed over HTTP, p50",
        "ms",
        "at most 10 ms",
        "18-26 ms before",
        _within(10.0),
    ),
    Target(
        "cold-start",
        "devhost_to_first_completed_p50_ms",
        "cold start: new process to first orchestration completed (memory store), p50",
        "ms",
        "at most 400 ms",
        "750-860 ms before; durabletask-python in this run: see below",
        _within(400.0),
    ),
    Target(
        "cold-start",
        "durabletask_to_first_completed_p50_ms",
        "the same on durabletask-python's in-memory backend, p50",
        "ms",
        "-",
        "300-460 ms when the target was set",
        None,
    ),
    Target(
        "cold-start",
        "ratio_devhost_to_durabletask",
        "cold start, devhost / durabletask-python (same run)",
        "x",
        "-",
        "1.9-2.5 x when the target was set (0.75-0.86 s against 0.3-0.46 s)",
        None,
    ),
    Target(
        "cold-start",
        "devhost_help_p50_ms",
        "`devhost --help`, p50",
        "ms",
        "instant: at most 100 ms",
        "about 330-400 ms before",
        _within(100.0),
    ),
    Target(
        "cold-start",
        "plugin_import_over_pytest_p50_ms",
        "importing the pytest plugin, on top of pytest and pytest-asyncio, p50",
        "ms",
        "instant: at most 20 ms",
        "about 250 ms before (it imported the host, aiohttp and the SDK)",
        _within(20.0),
    ),
    Target(
        "plugin-tests",
        "devhost_per_test_p50_ms",
        "pytest plugin, one test (host start + one orchestration + stop), p50",
        "ms",
        "-",
        "durabletask-python in this run: see below",
        None,
    ),
    Target(
        "plugin-tests",
        "devhost_loop_s",
        "pytest plugin, a 1,000-test-style loop",
        "s",
        "-",
        "durabletask-python in this run: see below",
        None,
    ),
    Target(
        "plugin-tests",
        "durabletask_per_test_p50_ms",
        "durabletask-python in-memory backend, one test (backend + worker + one orchestration + stop), p50",
        "ms",
        "-",
        "-",
        None,
    ),
    Target(
        "plugin-tests",
        "durabletask_loop_projected_s",
        "durabletask-python, the same loop (projected: per-test p50 x tests)",
        "s",
        "-",
        "-",
        None,
    ),
)


def summary(results: list[dict[str, Any]]) -> str:
    """One row per target figure found in `results` (a figure whose scenario did not run is left out)."""
    rows = []
    for t in TARGETS:
        for result in results:
            if result.get("scenario") != t.scenario or (t.store and result.get("store") != t.store):
                continue
            value = result.get(t.figure)
            if value is None:
                if t.figure.startswith("durabletask") and "durabletask_skipped" in result:
                    rows.append(f"   {t.label}: not measured ({result['durabletask_skipped']})")
                continue
            verdict = "" if t.met is None else ("  [met]" if t.met(float(value), result) else "  [missed]")
            rows.append(
                f"   {t.label}: {value} {t.unit}{verdict}\n      target: {t.target}; anchor: {t.anchor}"
            )
    return "\n".join(["== figures, targets and anchors", *rows])
