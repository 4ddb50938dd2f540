"""Query-string values read the way the Durable extension's HTTP API reads them.

Imitates azure-functions-durable-extension, src/WebJobs.Extensions.DurableTask/HttpApiHandler.cs, the
`TryGet...QueryParameterValue` helpers: .NET's lenient `TryParse` methods, where a value that does not
parse is treated as absent rather than refused. See docs/protocol.md, section 3.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timezone

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from .. import history as h
from ..dotnet_text import try_datetime
from ..store import RuntimeStatus

# OrchestrationRuntimeStatus numbers (extension, OrchestrationRuntimeStatus.cs).
_BY_NUMBER = (
    RuntimeStatus.RUNNING,
    RuntimeStatus.COMPLETED,
    RuntimeStatus.CONTINUED_AS_NEW,
    RuntimeStatus.FAILED,
    RuntimeStatus.CANCELED,
    RuntimeStatus.TERMINATED,
    RuntimeStatus.PENDING,
    RuntimeStatus.SUSPENDED,
)
_BY_NAME = {s.value: s for s in RuntimeStatus}
_INT32 = re.compile(r"^\s*[+-]?[0-9]+\s*$")
_INT32_RANGE = range(-(2**31), 2**31)


def query_of(request: web.Request) -> CIMultiDictProxy[str]:
    """The query string with its keys matched ignoring letter case, as the extension reads it
    (`HttpRequestMessageExtensions.GetQueryNameValuePairs`: a NameValueCollection built with
    `StringComparer.OrdinalIgnoreCase`), so `?SHOWINPUT=false` is `showInput=false`."""
    return CIMultiDictProxy(CIMultiDict(request.query))


def raw_value(request: web.Request, name: str) -> str | None:
    """The value as .NET's NameValueCollection gives it: the key in any letter case, repeated keys
    joined with commas."""
    values = query_of(request).getall(name, [])
    return ",".join(values) if values else None


def dotnet_bool(text: str | None) -> bool | None:
    """`bool.TryParse`: "true" or "false" in any letter case, blanks around allowed; else None."""
    if text is None:
        return None
    word = text.strip(" \t\r\n\0").lower()
    return {"true": True, "false": False}.get(word)


def flag(request: web.Request, name: str, default: bool) -> bool:
    """A boolean query flag; a value that does not parse leaves the default (`showInput=1` included)."""
    parsed = dotnet_bool(raw_value(request, name))
    return default if parsed is None else parsed


def dotnet_int(text: str | None) -> int | None:
    """`int.TryParse`: an optionally signed 32-bit decimal integer, blanks around allowed; else None."""
    if text is None or not _INT32.match(text):
        return None
    value = int(text)
    return value if value in _INT32_RANGE else None


def runtime_statuses(values: Sequence[str]) -> tuple[tuple[RuntimeStatus, ...], bool]:
    """`runtimeStatus` values through `Enum.TryParse`, each value a comma list.

    Returns (statuses, filtered): names are exact (letter case counts), numbers are accepted, values that
    do not parse are dropped. `filtered` is False when nothing parsed (then there is no status filter); a
    number outside the enum parses, so it filters, but it matches no instance.
    """
    found: list[RuntimeStatus] = []
    filtered = False
    for value in values:
        for part in value.split(","):
            name = part.strip()
            if name in _BY_NAME:
                found.append(_BY_NAME[name])
                filtered = True
            elif (number := dotnet_int(name)) is not None:
                filtered = True
                if 0 <= number < len(_BY_NUMBER):
                    found.append(_BY_NUMBER[number])
    return tuple(dict.fromkeys(found)), filtered


def query_time(request: web.Request, name: str) -> str | None:
    """A date filter (`DateTime.TryParse`, dotnet_text.try_datetime); a value that does not parse is
    dropped. A date without an offset is local time, as .NET reads it.
    """
    moment = try_datetime(raw_value(request, name))
    if moment is None:
        return None
    try:
        if moment.tzinfo is None:
            moment = moment.astimezone()
        return h.format_time(moment)
    except (OverflowError, ValueError, OSError):
        # At the calendar's ends (0001-01-01, 9999-12-31) the offset would step outside it; .NET's
        # DateTime clamps there, so the moment stands as it is, in UTC.
        return h.format_time(moment.replace(tzinfo=timezone.utc))
