"""GET /runtime/devhost/api/instances: the dashboard's instance list, one page at a time from the store.

The Durable HTTP API lists instances in id order and cannot filter by orchestrator name; the dashboard
wants the newest first and a name filter. So it asks this route, which takes the Durable API's
filters (runtimeStatus, instanceIdPrefix, createdTimeFrom, createdTimeTo, read the same way) plus

    name   an orchestrator name (exact, in any case)
    sort   created (default) or updated, newest first; or id
    top    the page size (default 50, at most 500)

and answers {"instances": [...status of each, as GET instances gives it...], "continuationToken": "...",
"order": "created" | "updated" | "id"} with the token of the next page ("" on the last). A store that
keeps no time order (the azure store: Azure Tables sort only by key) lists by id, says so in
"order", and the page sorts what it shows.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from aiohttp import web

from ..api import query_params as q
from ..api.json_reply import json_reply
from ..api.management import instance_query
from ..api.status_payload import status_payload
from ..errors import RequestError
from ..store import InstanceQuery, InstanceRecord

DEFAULT_TOP = 50
MAX_TOP = 500
SORTS = ("created", "updated", "id")
# Without an index on names (id order, or a store without time order) a name filter reads pages of
# instances and keeps the matching ones; this many pages per answer, then the answer says where to go on.
NAME_SCAN_PAGES = 20


def page_token(order: str, position: Any) -> str:
    if position is None:
        return ""
    text = json.dumps({"order": order, "after": position}, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode("ascii")


def _position(token: str, order: str) -> Any:
    if not token:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
    except (binascii.Error, ValueError, UnicodeEncodeError, RecursionError):
        value = None
    after = value.get("after") if isinstance(value, dict) else None
    good = isinstance(after, str) or (
        isinstance(after, list) and len(after) == 2 and all(isinstance(v, str) for v in after)
    )
    if not good or value.get("order") != order:
        raise RequestError("The continuation token is not one this listing handed out (for this sort).")
    return tuple(after) if isinstance(after, list) else after


def _request(request: web.Request) -> tuple[InstanceQuery, bool, str | None, str, int, str]:
    query, matches_nothing = instance_query(request)
    name = (request.query.get("name") or "").strip() or None
    sort = request.query.get("sort") or "created"
    if sort not in SORTS:
        raise RequestError(f"'sort' is one of {', '.join(SORTS)}, not {sort!r}.")
    top = q.dotnet_int(q.raw_value(request, "top"))
    top = DEFAULT_TOP if top is None else top
    if not 1 <= top <= MAX_TOP:
        raise RequestError(f"'top' must be from 1 to {MAX_TOP}, not {top}.")
    token = request.query.get("continuationToken") or request.headers.get("x-ms-continuation-token") or ""
    return query, matches_nothing, name, sort, top, token.strip()


async def _by_id(
    store: Any, query: InstanceQuery, name: str | None, top: int, after: str | None
) -> tuple[list[InstanceRecord], str | None]:
    if name is None:
        return await store.query_instances(query, top, after)
    kept: list[InstanceRecord] = []
    wanted = name.casefold()
    for _ in range(NAME_SCAN_PAGES):
        page, after = await store.query_instances(query, top, after)
        for record in page:
            if record.name.casefold() == wanted:
                kept.append(record)
                if len(kept) == top:  # the next page starts after this one (in id order)
                    return kept, record.instance_id
        if after is None:
            break
    return kept, after


async def list_instances(store: Any, request: web.Request) -> web.Response:
    query, matches_nothing, name, sort, top, token = _request(request)
    ordered = sort != "id" and hasattr(store, "ordered_instances")
    order = sort if ordered else "id"
    after = _position(token, order)
    records: list[InstanceRecord] = []
    position: Any = None
    if matches_nothing:
        pass
    elif ordered:
        records, position = await store.ordered_instances(query, name, sort, top, after)
    else:
        records, position = await _by_id(store, query, name, top, after)
    return json_reply(
        {
            "instances": [status_payload(r, show_input=True) for r in records],
            "continuationToken": page_token(
                order, list(position) if isinstance(position, tuple) else position
            ),
            "order": order,
        }
    )
