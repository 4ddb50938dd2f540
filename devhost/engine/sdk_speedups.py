"""Two SDK costs the host controls, cut without changing anything user code can see.

Every episode replays the whole history, and the SDK parses each event's `Timestamp` with dateutil's
general-purpose parser (most of a replay's CPU time), and builds a `namedtuple` class each time an
executor is created. devhost writes every timestamp in one exact format, so:

- `fast_parse_timestamp` reads that format with `datetime.fromisoformat` and returns the very value
  dateutil returns (same fields, same `tzutc()` tzinfo); any other text goes to dateutil unchanged.
- the executor's `namedtuple` is memoised: the same class for the same fields.

`install()` applies both in the process that runs orchestrators; tests prove the values are identical.
"""

from __future__ import annotations

import functools
import importlib
import logging
import time
from collections import namedtuple
from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Any

from dateutil import tz
from dateutil.parser import parse as dateutil_parse

_installed = False
log = logging.getLogger("devhost.engine")


def _utc_designator_zone() -> Callable[[], tzinfo] | None:
    """The tzinfo dateutil gives a trailing "Z" in this process, or None where that depends on the date.

    dateutil reads "Z" as the zone name "UTC": if the local zone is named UTC it returns `tzlocal()`,
    if the local zone has no such name it returns `tz.UTC`; a zone with "UTC" as only one of its two
    names is decided per date, so the fast path stays off there.
    """
    names = set(time.tzname)
    if names == {"UTC"}:
        local = tz.tzlocal()  # one instance: dateutil's are all equal for one process's zone
        return lambda: local
    if "UTC" not in names:
        return lambda: tz.UTC
    return None


_ZONE = _utc_designator_zone()


def fast_parse_timestamp(text: Any, *args: Any, **kwargs: Any) -> datetime:
    """dateutil's `parse`, with a fast path for devhost's `YYYY-MM-DDTHH:MM:SS.ffffffZ`."""
    if (
        _ZONE is not None
        and not args
        and not kwargs
        and isinstance(text, str)
        and len(text) == 27
        and text[26] == "Z"
        and text[10] == "T"
        and text[19] == "."
    ):
        try:
            return datetime.fromisoformat(text[:26]).replace(tzinfo=_ZONE())
        except ValueError:
            pass
    return dateutil_parse(text, *args, **kwargs)


@functools.lru_cache(maxsize=64)
def _cached_namedtuple(typename: str, field_names: Any, **kwargs: Any) -> Any:
    return namedtuple(typename, field_names, **kwargs)


def _memo_namedtuple(typename: str, field_names: Any, **kwargs: Any) -> Any:
    if isinstance(field_names, list):
        field_names = tuple(field_names)
    return _cached_namedtuple(typename, field_names, **kwargs)


def install() -> None:
    """Apply both speed-ups to the imported SDK (idempotent)."""
    global _installed
    if _installed:
        return
    # The modules, not the classes of the same name that their packages re-export.
    history_module = importlib.import_module("azure.durable_functions.models.history.HistoryEvent")
    executor_module = importlib.import_module("azure.durable_functions.models.TaskOrchestrationExecutor")
    if getattr(history_module, "dt_parse", None) is not dateutil_parse or not hasattr(
        executor_module, "namedtuple"
    ):
        log.warning("azure-functions-durable changed where devhost's speed-ups apply; running without them")
        return

    history_module.dt_parse = fast_parse_timestamp  # type: ignore[attr-defined]
    executor_module.namedtuple = _memo_namedtuple  # type: ignore[attr-defined]
    _installed = True
