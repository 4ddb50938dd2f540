"""Entity operations of the management API: signal, read, list (what `client.signal_entity`,
`client.read_entity_state` and the `entities/` routes ask for).

As the extension's client does (azure-functions-durable-extension, src/WebJobs.Extensions.DurableTask/
ContextImplementations/DurableClient.cs, `SignalEntityAsyncInternal`, `ReadEntityStateAsync`,
`ListEntitiesAsync`): a signal checks the key's characters and that the app has the entity (an
ArgumentException, so 400), then queues a request with no parent; reading an entity no operation
has made exist finds nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from ..clock import RealClock
from ..errors import RequestError
from ..functions import FunctionIndex
from ..store.entity_records import EntityQuery, EntityRecord, EntityRequest, EntityStore, scheduler_id
from .entity_messages import entity_key_problem, request_message, unknown_entity_message

EMPTY_KEY = "$"  # HttpApiHandler.cs: `$` in a URL stands for the empty key


# EntityId's ArgumentNullException, as its Message reads (with the parameter's name).
NO_ENTITY_NAME = "Invalid entity id: entity name must not be a null or empty string. (Parameter 'entityName')"


class EntityControl:
    """Entity signals and queries on one store."""

    def __init__(self, store: Any, index: FunctionIndex, clock: RealClock, wake: Callable[[], None]) -> None:
        self.store = store
        self.index = index
        self.clock = clock
        self._wake = wake

    def _entities(self) -> EntityStore:
        if not hasattr(self.store, "send_entity_request"):
            raise RequestError("This store does not keep durable entities.", 501)
        return cast(EntityStore, self.store)

    async def signal(self, name: str, key: str, operation: str, input_json: str | None) -> None:
        """Queue a signal; `input_json` is the request's input (JSON text), or None for none."""
        if not name:
            raise RequestError(NO_ENTITY_NAME)
        problem = entity_key_problem(key)
        if problem:
            raise RequestError(problem)
        if self.index.entity(name) is None:
            raise RequestError(unknown_entity_message(name, self.index))
        request = EntityRequest(scheduler_id(name, key), request_message(operation, input_json, signal=True))
        await self._entities().send_entity_request(request)
        self._wake()

    async def read(self, name: str, key: str) -> EntityRecord | None:
        """The entity if it exists (has state), else None; key `$` is the empty key."""
        if not name:
            raise RequestError(NO_ENTITY_NAME)
        key = "" if key == EMPTY_KEY else key
        record = await self._entities().get_entity(scheduler_id(name, key))
        return record if record is not None and record.exists else None

    async def query(
        self, query: EntityQuery, limit: int, after: str | None
    ) -> tuple[list[EntityRecord], str | None]:
        page, token = await self._entities().query_entities(query, limit, after)
        return list(page), token
