"""Durations as people type them: `2h`, `90s`, `1h30m`, `1.5d`, `250ms`, ISO 8601 (`PT2H`, `P1DT30M`,
`P2W`), or a number of seconds. Used by `devhost time advance` and its management route."""

from __future__ import annotations

import math
import re
from datetime import timedelta

MAX_DURATION = timedelta(days=3660)  # about ten years: far enough for any test, far from overflow
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_NUMBER = r"\d+(?:\.\d+)?"
_SHORT = re.compile(rf"(?:({_NUMBER})\s*(ms|w|d|h|m|s))", re.IGNORECASE)
_ISO = re.compile(
    rf"P(?:({_NUMBER})W)?(?:({_NUMBER})D)?(?:T(?:({_NUMBER})H)?(?:({_NUMBER})M)?(?:({_NUMBER})S)?)?",
    re.IGNORECASE,
)


def parse_duration(value: object) -> timedelta:
    """The duration `value` says; ValueError naming what is accepted otherwise (negative included)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(_expected(value))
    seconds = float(value) if isinstance(value, (int, float)) else _seconds(value.strip())
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(_expected(value))
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"{value!r} is more than {MAX_DURATION.days} days: move the clock in smaller steps")
    return timedelta(seconds=seconds)


def _seconds(text: str) -> float:
    if not text:
        raise ValueError(_expected(text))
    if re.fullmatch(_NUMBER, text):
        return float(text)
    iso = _ISO.fullmatch(text)
    if iso and text.upper() not in ("P", "PT") and not text.upper().endswith("T"):
        weeks, days, hours, minutes, secs = (float(part or 0) for part in iso.groups())
        return weeks * 604800 + days * 86400 + hours * 3600 + minutes * 60 + secs
    parts = _SHORT.findall(text)
    if not parts or "".join(f"{n}{u}" for n, u in parts) != re.sub(r"\s+", "", text):
        raise ValueError(_expected(text))
    return sum(float(number) * _UNITS[unit.lower()] for number, unit in parts)


def _expected(value: object) -> str:
    return (
        f"{value!r} is not a duration: give one such as 90s, 15m, 2h, 1h30m, 1d, 250ms, an ISO 8601 "
        "duration (PT2H, P1DT30M) or a number of seconds, not negative"
    )


def format_duration(delta: timedelta) -> str:
    """`2h 5m 3s`, `250ms`: short and exact enough for a message."""
    total = delta.total_seconds()
    if 0 < total < 1:
        return f"{round(total * 1000)}ms"
    days, rest = divmod(int(total), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{n}{u}" for n, u in ((days, "d"), (hours, "h"), (minutes, "m"), (seconds, "s")) if n]
    return " ".join(parts) or "0s"
