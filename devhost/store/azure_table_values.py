"""Values of the Table service's JSON: entities in and out of it, and literals in OData filters.

Entities are dicts of str, int, bool and float values; ints beyond 32 bits travel as Edm.Int64 and
floats are marked Edm.Double, as the azure-data-tables SDK writes them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_INT32 = range(-(2**31), 2**31)
_PARAMETER = re.compile(r"@(\w+)")

Entity = dict[str, Any]


class Row(dict[str, Any]):
    """An entity as read, with the ETag of the version read."""

    etag: str = ""


def literal(value: Any) -> str:
    """A value as an OData literal in a filter (what the SDK's `parameters` substitute)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if value in _INT32 else f"{value}L"
    if isinstance(value, float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def bind(text: str, parameters: Mapping[str, Any]) -> str:
    """Substitute @name in a filter, in one pass: a value is never read as filter syntax."""
    return _PARAMETER.sub(lambda m: literal(parameters[m.group(1)]), text)


def encode(entity: Mapping[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for name, value in entity.items():
        if value is None:
            continue
        if isinstance(value, (bool, str)):
            body[name] = value
        elif isinstance(value, int):
            if value in _INT32:
                body[name] = value
            else:
                body[name] = str(value)
                body[name + "@odata.type"] = "Edm.Int64"
        elif isinstance(value, float):
            body[name] = value
            body[name + "@odata.type"] = "Edm.Double"
        else:
            raise TypeError(f"table property {name} cannot hold a {type(value).__name__}")
    return body


def decode(body: Mapping[str, Any]) -> Row:
    """An entity from the service's JSON, without the system and OData properties."""
    entity = Row()
    entity.etag = str(body.get("odata.etag", ""))
    for name, value in body.items():
        if name.startswith("odata.") or name == "Timestamp" or "@odata." in name:
            continue
        kind = body.get(name + "@odata.type")
        if kind == "Edm.Int64":
            value = int(value)
        elif kind == "Edm.Double":
            value = float(value)
        entity[name] = value
    return entity
