"""Percentiles and the printed report: one JSON line and a short table per scenario."""

from __future__ import annotations

import json
from typing import Any


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


# Every result report() was given, in order: the run's closing summary of targets reads them.
reported: list[dict[str, Any]] = []


def report(result: dict[str, Any], floor_seconds: float | None) -> str:
    """The JSON line and a two-column table of one scenario's figures."""
    reported.append(result)
    if floor_seconds and "seconds" in result and result.get("scenario") != "floor":
        result["ratio_to_floor"] = round(result["seconds"] / floor_seconds, 3)
    lines = [json.dumps(result)]
    lines.append(f"-- {result['scenario']}" + (f" ({result['store']})" if "store" in result else ""))
    for key, value in result.items():
        if key not in ("scenario", "store"):
            lines.append(f"   {key:<40} {value}")
    return "\n".join(lines)
