"""Durable entities in the store: the records entity work moves, and the part of the contract they add.

An entity is kept apart from orchestration instances: one row (exists flag, state as JSON text, time of
the last operation) and an inbox of operation requests in arrival order. The engine fetches a batch
(the entity and its due requests), runs it through the app's entity function, and hands back one
`EntityBatchResult` that the store commits atomically: the new state, the consumed requests deleted,
the responses queued to the orchestrations that called, and the signals the batch sent queued to their
entities. A crash before the commit runs the batch again from the old state; after it, nothing is
left to run: every operation is applied exactly once.

Entity ids are the extension's scheduler ids, `@{name lower-cased}@{key}`
(azure-functions-durable-extension, src/WebJobs.Extensions.DurableTask/EntityScheduler/EntityId.cs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from .base import Message


def scheduler_id(name: str, key: str) -> str:
    """The id the extension gives the entity `name`/`key` (the name is case-insensitive)."""
    return f"@{name.lower()}@{key}"


def split_scheduler_id(entity_id: str) -> tuple[str, str]:
    """(name, key) of a scheduler id; ValueError if it is not one."""
    if not entity_id.startswith("@") or "@" not in entity_id[1:]:
        raise ValueError(f"'{entity_id}' is not an entity id (@name@key)")
    name, _, key = entity_id[1:].partition("@")
    if not name:
        raise ValueError(f"'{entity_id}' is not an entity id: the name is empty")
    return name, key


@dataclass(slots=True)
class EntityRecord:
    """One entity: whether it exists, its state (JSON text), and when an operation last changed it."""

    entity_id: str
    exists: bool = False
    state: str | None = None
    last_operation_time: str | None = None

    @property
    def name(self) -> str:
        return split_scheduler_id(self.entity_id)[0]

    @property
    def key(self) -> str:
        return split_scheduler_id(self.entity_id)[1]


@dataclass(slots=True)
class EntityRequest:
    """An operation request for an entity's inbox: the extension's RequestMessage as a JSON object
    (`op`, `id`, `signal`, `input`, `parent`, `parentExecution`), due at `visible_at` (None: now)."""

    entity_id: str
    request: dict[str, Any]
    visible_at: datetime | None = None
    id: int = 0


@dataclass(slots=True)
class EntityBatch:
    """What one entity batch needs: the entity (a new record if it never existed) and its requests."""

    entity: EntityRecord
    requests: list[EntityRequest]


@dataclass(slots=True)
class EntityBatchResult:
    """Everything one batch changes, committed as one transaction by `complete_entity_batch`."""

    entity: EntityRecord
    consumed: list[int]
    responses: list[Message] = field(default_factory=list)
    signals: list[EntityRequest] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class EntityQuery:
    """Filters of the entity list: a name (None: every entity), last-operation range, deleted ones."""

    name: str | None = None
    last_operation_from: str | None = None
    last_operation_to: str | None = None
    include_deleted: bool = False


class EntityStore(Protocol):
    """The entity part of a store. Methods raise StoreError on infrastructure failure."""

    async def send_entity_request(self, request: EntityRequest) -> None:
        """Queue an operation request for an entity."""

    async def ready_entities(self, now: datetime, limit: int, busy: set[str]) -> list[str]:
        """Ids of entities with requests due by `now`, excluding `busy`."""

    async def fetch_entity_batch(self, entity_id: str, now: datetime, limit: int) -> EntityBatch | None:
        """The entity and up to `limit` of its due requests in arrival order; None if none is due."""

    async def complete_entity_batch(self, result: EntityBatchResult) -> None:
        """Commit a batch atomically (state, consumed requests, responses, signals); a batch whose
        requests are no longer all queued (committed already) changes nothing."""

    async def get_entity(self, entity_id: str) -> EntityRecord | None:
        """The entity's row, or None if no operation ever reached it."""

    async def query_entities(
        self, query: EntityQuery, limit: int, after: str | None
    ) -> tuple[list[EntityRecord], str | None]:
        """A page of entities ordered by id after the continuation `after`, and the next token or None."""
