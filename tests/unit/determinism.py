"""Replaying one history twice under conditions an orchestrator must not depend on.

An orchestrator is replayed from its history many times, at other moments, in other processes, on
other machines; its reply must depend on the history alone. Replaying twice in the same instant with
the same process state proves little: a reply built from the clock at minute precision, from the
random module or from an app setting would come out the same. So the second replay here runs under
other conditions:

* the clock is days and hours later: time.time() and time.time_ns(), and datetime.now(), utcnow() and
  today(), whether the app's modules imported the names before (those names are swapped in every
  module loaded from outside the standard library and site-packages) or import them while running
  (the datetime module's own attributes are swapped; the C type itself cannot be changed). The
  stand-ins pass isinstance() for real datetimes, which the SDK checks;
* the random module is seeded differently;
* every app setting in local.settings.json holds another value, and an extra variable is set.

The SDK's replay-safe values (context.current_utc_datetime, context.new_uuid()) come from the history
and stay the same, so a deterministic orchestrator gives byte-for-byte the same reply.
"""

from __future__ import annotations

import contextlib
import datetime as _datetime
import json
import os
import random
import sys
import sysconfig
import time
import types
from collections.abc import Callable, Iterator
from datetime import date as _RealDate
from datetime import datetime as _RealDatetime
from pathlib import Path
from typing import Any

from ..conftest import environment_restored
from .history_builder import HistoryBuilder

ROOT = Path(__file__).resolve().parents[2]
LATER = _datetime.timedelta(days=3, hours=5, minutes=7, seconds=11)
SEEDS = (20240501, 19700101)
EXTRA_SETTING = "DEVHOST_REPLAY_CONDITIONS"

_real_time, _real_time_ns = time.time, time.time_ns


class _StandsIn(type):
    """A stand-in class that every instance of the real one passes isinstance() for (the SDK checks)."""

    def __instancecheck__(cls, instance: Any) -> bool:
        return isinstance(instance, cls.__mro__[1])

    def __subclasscheck__(cls, subclass: type) -> bool:
        return issubclass(subclass, cls.__mro__[1])


class _LateDatetime(_RealDatetime, metaclass=_StandsIn):
    """datetime whose now(), utcnow() and today() run LATER than the real clock."""

    @classmethod
    def now(cls, tz: _datetime.tzinfo | None = None) -> Any:
        return _RealDatetime.now(tz) + LATER

    @classmethod
    def utcnow(cls) -> Any:
        return _RealDatetime.now(_datetime.timezone.utc).replace(tzinfo=None) + LATER

    @classmethod
    def today(cls) -> Any:
        return cls.now()


class _LateDate(_RealDate, metaclass=_StandsIn):
    @classmethod
    def today(cls) -> Any:
        return (_RealDatetime.now() + LATER).date()


def _late_time() -> float:
    return _real_time() + LATER.total_seconds()


def _late_time_ns() -> int:
    return _real_time_ns() + int(LATER.total_seconds()) * 10**9


_late_module = types.ModuleType("datetime")
_late_module.__dict__.update(vars(_datetime))
_late_module.__dict__.update(datetime=_LateDatetime, date=_LateDate)
_LATE = {
    id(_RealDatetime): _LateDatetime,
    id(_RealDate): _LateDate,
    id(_datetime): _late_module,
    id(_real_time): _late_time,
    id(_real_time_ns): _late_time_ns,
}
_LIBRARIES = tuple({sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")})


def _app_modules() -> list[types.ModuleType]:
    """Modules loaded from outside the standard library and site-packages: the app's own code."""
    found = []
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if isinstance(module, types.ModuleType) and file and not file.startswith(_LIBRARIES):
            found.append(module)
    return found


@contextlib.contextmanager
def _late_clock() -> Iterator[None]:
    swapped: list[tuple[types.ModuleType, str, Any]] = []
    for module in _app_modules():
        for name, value in list(vars(module).items()):
            late = _LATE.get(id(value))
            if late is not None and value is not late and module is not sys.modules[__name__]:
                swapped.append((module, name, value))
                setattr(module, name, late)
    # And the datetime module itself, for an import made inside the orchestrator while it runs.
    _datetime.datetime, _datetime.date = _LateDatetime, _LateDate  # type: ignore[misc]
    time.time, time.time_ns = _late_time, _late_time_ns
    try:
        yield
    finally:
        time.time, time.time_ns = _real_time, _real_time_ns
        _datetime.datetime, _datetime.date = _RealDatetime, _RealDate  # type: ignore[misc]
        for module, name, value in swapped:
            setattr(module, name, value)


def _other_value(value: str) -> str:
    return str(int(value) * 7 + 1) if value.isdigit() else value + "-elsewhere"


@contextlib.contextmanager
def _seeded(seed: int) -> Iterator[None]:
    state = random.getstate()
    random.seed(seed)
    try:
        yield
    finally:
        random.setstate(state)


@contextlib.contextmanager
def other_conditions() -> Iterator[None]:
    """Later clock, another random seed, other app settings; all put back afterwards."""
    settings = json.loads((ROOT / "local.settings.json").read_text())["Values"]
    with environment_restored(), _seeded(SEEDS[1]), _late_clock():
        for name, value in settings.items():
            os.environ[name] = _other_value(os.environ.get(name, value))
        os.environ[EXTRA_SETTING] = "second replay"
        yield


def replays_under_other_conditions(function: Callable[..., Any], history: HistoryBuilder) -> tuple[str, str]:
    """The replies of `function` to `history`: as things are, then under `other_conditions()`."""
    from .replay import run_function

    with _seeded(SEEDS[0]):
        first = run_function(function, history)
    with other_conditions():
        second = run_function(function, history)
    return first, second
