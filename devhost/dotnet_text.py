""".NET's lenient text rules, as the Durable extension applies them to query values and URLs.

The extension reads `timeout`, `pollingInterval` and `restartWithNewInstanceId` with `double.TryParse`
and `bool.TryParse`, the date filters with `DateTime.TryParse`, and puts instance ids into management
URLs with `WebUtility.UrlEncode` (azure-functions-durable-extension,
src/WebJobs.Extensions.DurableTask/HttpApiHandler.cs: TryGetTimeSpanQueryParameterValue,
TryGetBooleanQueryParameterValue, TryGetDateTimeQueryParameterValue, GetClientResponseLinks).
A value these parsers reject is not an error there: the parameter counts as absent.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone
from decimal import Decimal

# double.TryParse with NumberStyles.Float | AllowThousands, invariant culture: optional white space and
# sign, digits with ',' group separators before the point, a fraction, an exponent.
_DOUBLE = re.compile(r"[+-]?(?:\d[\d,]*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_SPECIAL = {"nan": math.nan, "infinity": math.inf, "+infinity": math.inf, "-infinity": -math.inf}
# .NET trims white space and NUL characters around a boolean.
_BOOL_TRIM = " \t\n\r\x0b\x0c\x00"
# WebUtility.UrlEncode keeps letters, digits and these; a space becomes '+', every other byte %XX.
_URL_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!*()")


def try_double(text: str | None) -> float | None:
    """The number `double.TryParse` reads from `text`, or None where it reads none."""
    if text is None:
        return None
    value = text.strip()
    if value.lower() in _SPECIAL:
        return _SPECIAL[value.lower()]
    if not _DOUBLE.fullmatch(value):
        return None
    number = float(value.replace(",", ""))
    return number


# Beyond ISO 8601, the forms DateTime.TryParse reads in the invariant culture (month before day) that
# people type: US dates with or without a time, year-first dates with slashes, month names, RFC 1123.
_DATE_FORMATS = (
    "%m/%d/%Y",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %I:%M:%S %p",
    "%Y/%m/%d",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%b %d %Y",
    "%b %d, %Y",
    "%d %b %Y",
    "%B %d %Y",
    "%B %d, %Y",
    "%d %B %Y",
)
_RFC1123 = "%a, %d %b %Y %H:%M:%S GMT"


def try_datetime(text: str | None) -> datetime | None:
    """The moment `DateTime.TryParse` reads from `text`, or None where it reads none (the common forms
    only). Without an offset the result is naive: .NET takes it as local time, the caller places it."""
    if text is None or not text.strip():
        return None
    value = text.strip()
    year_end = text.find("-")
    if 0 < year_end < 4 and text[:year_end].isdigit():
        # Python's strftime on Linux writes years before 1000 without leading zeros ("1-01-01T..."),
        # as the SDK does for datetime.min; the extension pads them (TryGetDateTimeQueryParameterValue).
        value = text.rjust(len(text) + 4 - year_end, "0").strip()
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        pass
    try:
        return datetime.strptime(value, _RFC1123).replace(tzinfo=timezone.utc)
    except ValueError:
        pass
    for form in _DATE_FORMATS:
        try:
            return datetime.strptime(value, form)
        except ValueError:
            continue
    return None


def try_bool(text: str | None) -> bool | None:
    """True or False as `bool.TryParse` reads `text` ("true"/"false" in any case), else None."""
    if text is None:
        return None
    value = text.strip(_BOOL_TRIM).lower()
    return {"true": True, "false": False}.get(value)


def url_encode(text: str) -> str:
    """`text` as `WebUtility.UrlEncode` writes it: UTF-8, space as '+', upper-case %XX escapes."""
    out = []
    for byte in text.encode("utf-8", "surrogatepass"):
        if byte in _URL_SAFE:
            out.append(chr(byte))
        elif byte == 0x20:
            out.append("+")
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def double_text(value: float) -> str:
    """`value.ToString()` for a double, invariant culture (.NET Core 3.0 and later): the shortest digits
    that read back the same, in scientific form ("1E+15", "1E-05") when the point would fall more
    than max(digits, 15) places right of the first digit or more than 4 places left of it."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    if value == 0:
        return sign + "0"
    exact = Decimal(repr(abs(value))).normalize()
    digits = "".join(map(str, exact.as_tuple().digits))
    scale = len(digits) + int(exact.as_tuple().exponent)  # where the point falls after the first digit
    if scale > max(len(digits), 15) or scale < -3:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        exponent = scale - 1
        return f"{sign}{mantissa}E{'+' if exponent >= 0 else '-'}{abs(exponent):02d}"
    if scale <= 0:
        return f"{sign}0.{'0' * -scale}{digits}"
    if scale >= len(digits):
        return sign + digits + "0" * (scale - len(digits))
    return f"{sign}{digits[:scale]}.{digits[scale:]}"


_INTEGER = re.compile(r"[ \t\n\r\x0b\x0c]*[+-]?\d+[ \t\n\r\x0b\x0c]*")


def int_text(text: str, bits: int = 32) -> int | None:
    """The number `int.TryParse` (or `long.TryParse`, with `bits=64`) reads: NumberStyles.Integer,
    invariant culture; None where it reads none."""
    if not _INTEGER.fullmatch(text):
        return None
    number = int(text)
    return number if -(2 ** (bits - 1)) <= number < 2 ** (bits - 1) else None
