"""The `entities/` routes of the Durable HTTP API (webhooks and the SDK's RPC endpoint).

As in the extension (azure-functions-durable-extension, src/WebJobs.Extensions.DurableTask/
HttpApiHandler.cs, `HandleGetEntityRequestAsync`, `HandleListEntitiesRequestAsync`,
`HandlePostEntityOperationRequestAsync`):

- `GET entities/{name}/{key}`: 200 with the state as JSON, 404 if the entity does not exist;
- `GET entities[/{name}]`: a page of `{entityId, lastOperationTime, state}` with `fetchState`, `top`,
  `lastOperationTimeFrom`, `lastOperationTimeTo` and the `x-ms-continuation-token` header;
- `POST entities/{name}/{key}?op=` signals the operation, `DELETE` signals `delete`: 202. An empty
  body is no input; a JSON body (Content-Type application/json) is the input; any other body is the
  input as a string.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from .. import history as h
from ..engine.entity_control import NO_ENTITY_NAME, EntityControl
from ..errors import RequestError
from ..json_text import body_text, loads_body
from ..store.entity_records import EntityQuery, EntityRecord
from . import query_params as q
from .continuation import decode_token, encode_token
from .history_view import json_date
from .json_reply import json_reply, stored_json_reply

DEFAULT_PAGE = 100


def _status(record: EntityRecord, fetch_state: bool) -> dict[str, Any]:
    """DurableEntityStatus as the extension writes it."""
    state = None
    if fetch_state and record.state is not None:
        try:
            state = json.loads(record.state)
        except ValueError:
            state = record.state
    return {
        "entityId": {"name": record.name, "key": record.key},
        # A DateTime property, which Newtonsoft writes with its fraction (DurableEntityStatus.cs); the
        # orchestration status's times are strings of whole seconds instead (StatusResponsePayload).
        "lastOperationTime": json_date(record.last_operation_time),
        "state": state,
    }


def _operation_input(request: web.Request, raw: bytes) -> str | None:
    """The request's input as JSON text (RequestMessage.SetInput), or None for an empty body."""
    if not raw:
        return None
    if request.content_type.lower() != "application/json":
        return json.dumps(body_text(raw))
    try:
        return h.dumps(loads_body(raw, ignore_rest=True))  # JToken.Load, as for an event
    except (ValueError, RecursionError) as exc:
        raise RequestError(f"Could not parse JSON content: {exc}") from exc


class EntitiesApi:
    """Handlers of the entity routes on one EntityControl."""

    def __init__(self, entities: EntityControl) -> None:
        self._entities = entities

    def handlers(self, prefix: str) -> dict[str, dict[str, Any]]:
        """Path -> method -> handler, for the management API's router."""
        e = f"{prefix}/entities"
        # POST or DELETE without a name reaches the signal handler, which refuses it as EntityId does.
        return {
            e: {"GET": self.list_entities, "POST": self.signal, "DELETE": self.signal},
            f"{e}/": {"GET": self.list_entities, "POST": self.signal, "DELETE": self.signal},
            f"{e}/{{entityName}}": {"GET": self.list_entities, "POST": self.signal, "DELETE": self.signal},
            f"{e}/{{entityName}}/": {"GET": self.list_entities, "POST": self.signal, "DELETE": self.signal},
            f"{e}/{{entityName}}/{{entityKey}}": {
                "GET": self.read,
                "POST": self.signal,
                "DELETE": self.signal,
            },
        }

    async def read(self, request: web.Request) -> web.Response:
        name, key = request.match_info["entityName"], request.match_info["entityKey"]
        record = await self._entities.read(name, key)
        if record is None:
            raise RequestError(f"No entity '{name}' with key '{key}' exists.", 404)
        return stored_json_reply(record.state)

    async def list_entities(self, request: web.Request) -> web.Response:
        top = q.dotnet_int(q.raw_value(request, "top"))
        if top is None:
            top = DEFAULT_PAGE
        elif top < 1:
            raise RequestError(f"'top' must be 1 or more, not {top}.")
        name = request.match_info.get("entityName") or None
        query = EntityQuery(
            name=name,
            last_operation_from=q.query_time(request, "lastOperationTimeFrom"),
            last_operation_to=q.query_time(request, "lastOperationTimeTo"),
        )
        after = decode_token(request.headers.get("x-ms-continuation-token"))
        page, last = await self._entities.query(query, top, after)
        fetch_state = q.flag(request, "fetchState", False)
        body = [_status(r, fetch_state) for r in page]
        return json_reply(body, headers={"x-ms-continuation-token": encode_token(last)})

    async def signal(self, request: web.Request) -> web.Response:
        name = request.match_info.get("entityName", "")
        if not name:  # EntityId refuses it before the body is read
            raise RequestError(NO_ENTITY_NAME)
        key = request.match_info.get("entityKey", "")
        operation = "delete" if request.method == "DELETE" else (q.raw_value(request, "op") or "")
        input_json = _operation_input(request, await request.read())
        await self._entities.signal(name, key, operation, input_json)
        return web.Response(status=202)
