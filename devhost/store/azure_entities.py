"""Durable entities in the Azure Storage store (entity_records.py has the contract).

`<hub>EntitiesDevhost` holds a partition per entity (PartitionKey = the entity id, encoded as instance
ids are): the entity row (RowKey ""; `Exists`, `State`, `LastOperationTime`, the ids of the requests
it applied last, `Seen`, and an outbox while one is pending) and its requests (RowKey "R" + 20 digits
of the request's id, increasing in arrival order; `VisibleAt`).

**A batch, and why a crash between two writes applies no operation twice and loses none.**

1. The commit point, one entity group transaction on the entity's partition: the entity row (new
   state, the consumed requests added to `Seen`, and the outbox: the answers to orchestrations and
   the signals to other entities, as fully built rows) replaced only if its ETag is the one the
   batch was read with, and the consumed request rows deleted. All or nothing; if a request row is
   gone (the batch was committed already), nothing is written.
2. The outbox applied (rows upserted under the keys in it), then 3. cleared from the entity row.

A crash after 1 leaves the outbox in the row; it is applied again when the store opens and before
the entity's next batch. Applying twice can re-create a row its receiver has consumed meanwhile: an
entity drops a request whose id is in its `Seen`, and an orchestration drops an answer to a call
whose answer its history holds (azure_duplicates.py, `identity`). An orchestration's calls and signals reach
entities the same way, through the episode's outbox (azure_commit.py and azure_outbox.py).

Which entities have requests due is known from an in-memory index loaded at open.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from azure.core.exceptions import AzureError, ResourceModifiedError, ResourceNotFoundError

from ..errors import StoreError
from ..history import format_time, parse_time
from .azure_account import table_key
from .azure_index import AT_ONCE
from .azure_rows import RowAccess
from .azure_tables import Operation, Table
from .entity_records import EntityBatch, EntityBatchResult, EntityQuery, EntityRecord, EntityRequest

if TYPE_CHECKING:
    pass

_BATCH_REQUESTS = 99  # a transaction holds 100 operations: the entity row and the deleted requests
_SEEN = 1000  # request ids an entity remembers having applied, to drop a request delivered twice
_OUTBOX = ("Outbox", "OutboxBlobName", "OutboxPending")


_F = TypeVar("_F", bound=Callable[..., Coroutine[Any, Any, Any]])


def _guarded(method: _F) -> _F:
    """Azure SDK failures become StoreError (an infrastructure failure: the work is retried)."""

    @functools.wraps(method)
    async def run(self, *args: Any, **kwargs: Any) -> Any:
        await self._ready()
        try:
            return await method(self, *args, **kwargs)
        except AzureError as exc:
            raise StoreError(f"Azure Storage ({self.account.shown}) failed on entities: {exc}") from exc

    return run  # type: ignore[return-value]


def _request_key(number: int) -> str:
    return f"R{number:020d}"


class AzureEntities(RowAccess):
    """The entity methods of AzureStore: a layer of the store over its rows (azure_rows.py)."""

    _entity_due_index: dict[str, dict[str, str]]
    _entity_fetched: dict[str, tuple[dict[str, Any] | None, str, dict[str, str]]]

    def _entity_table(self) -> Table:
        return self._tables.table(self.names.entities)

    def _due_entities(self) -> dict[str, dict[str, str]]:
        """Entity id -> request RowKey -> VisibleAt, for every request row (loaded at open)."""
        if not hasattr(self, "_entity_due_index"):
            self._entity_due_index = {}
        return self._entity_due_index

    async def _open_entities(self) -> None:
        """Finish the outboxes a crash left, and load the index of due requests."""
        table = self._entity_table()
        pending = table.query("RowKey eq @row and OutboxPending eq @yes", {"row": "", "yes": True})
        for row, etag in [(dict(r), r.etag) async for r in pending]:
            await self._settle_entity(row, etag)
        due: dict[str, dict[str, str]] = {}
        async for row in table.query(
            "RowKey gt @row", {"row": ""}, select=["RowKey", "EntityId", "VisibleAt"]
        ):
            due.setdefault(str(row["EntityId"]), {})[str(row["RowKey"])] = str(row["VisibleAt"])
        self._entity_due_index = due

    async def _request_row(self, r: EntityRequest) -> dict[str, Any]:
        row: dict[str, Any] = {
            "PartitionKey": table_key(r.entity_id),
            "RowKey": _request_key(self._new_id()),
            "EntityId": r.entity_id,
            "VisibleAt": format_time(r.visible_at) if r.visible_at else AT_ONCE,
        }
        await self._payloads.put(row, "Request", json.dumps(r.request, separators=(",", ":")), r.entity_id)
        return row

    def _note_request(self, row: dict[str, Any]) -> None:
        self._due_entities().setdefault(str(row["EntityId"]), {})[str(row["RowKey"])] = str(row["VisibleAt"])

    async def _upsert_requests(self, rows: list[dict[str, Any]]) -> None:
        """Queue request rows built by `_request_row` (an outbox's, so again with the same keys)."""
        table = self._entity_table()
        for row in rows:
            await table.upsert(row)
            self._note_request(row)

    async def _entity_row(self, entity_id: str) -> tuple[dict[str, Any], str] | None:
        try:
            row = await self._entity_table().get(table_key(entity_id), "")
        except ResourceNotFoundError:
            return None
        return dict(row), row.etag

    async def _settle_entity(self, row: dict[str, Any], etag: str | None) -> str | None:
        """Apply and clear the outbox of an entity row; the row's ETag after (None if it changed)."""
        text = await self._payloads.get(row, "Outbox")
        outbox = json.loads(text or "{}")
        for message in outbox.get("messages", []):
            await self._instances.upsert(message)
            self._note(message)
        await self._upsert_requests(outbox.get("requests", []))
        cleared = {k: v for k, v in row.items() if k not in _OUTBOX}
        try:
            etag = await self._entity_table().replace(cleared, etag)
        except ResourceModifiedError:
            return None
        if row.get("OutboxBlobName"):
            await self._payloads.delete([str(row["OutboxBlobName"])])
        if outbox.get("messages"):
            await self._hints.soon()
        return etag

    async def _record_of(self, entity_id: str, row: dict[str, Any] | None) -> EntityRecord:
        if row is None:
            return EntityRecord(entity_id)
        state = await self._payloads.get(row, "State")
        last = row.get("LastOperationTime")
        return EntityRecord(entity_id, bool(row.get("Exists")), state, str(last) if last else None)

    # -- the EntityStore protocol -------------------------------------------------------------------

    @_guarded
    async def send_entity_request(self, request: EntityRequest) -> None:
        await self._upsert_requests([await self._request_row(request)])

    async def ready_entities(self, now: datetime, limit: int, busy: set[str]) -> list[str]:
        await self._ready()
        moment = format_time(now)
        ready = [
            entity_id
            for entity_id, rows in self._due_entities().items()
            if entity_id not in busy and any(v <= moment for v in rows.values())
        ]
        return ready[:limit]

    def entity_next_due(self, after: datetime) -> datetime | None:
        moment = format_time(after)
        later = [v for rows in self._due_entities().values() for v in rows.values() if v > moment]
        return parse_time(min(later)) if later else None

    @_guarded
    async def fetch_entity_batch(self, entity_id: str, now: datetime, limit: int) -> EntityBatch | None:
        return await self._fetch_entity(entity_id, now, min(limit, _BATCH_REQUESTS))

    async def _fetch_entity(self, entity_id: str, now: datetime, limit: int) -> EntityBatch | None:
        table = self._entity_table()
        own = table_key(entity_id)
        rows = [dict(r) | {"_etag": r.etag} async for r in table.query("PartitionKey eq @pk", {"pk": own})]
        head = next((r for r in rows if r["RowKey"] == ""), None)
        etag = head.pop("_etag") if head is not None else ""
        if head is not None and head.get("OutboxPending"):
            settled = await self._settle_entity(head, etag)
            if settled is None:
                raise StoreError(f"entity '{entity_id}' changed while its outbox was applied")
            return await self._fetch_entity(entity_id, now, limit)
        seen = set(json.loads(str(head.get("Seen") or "[]"))) if head else set()
        moment = format_time(now)
        requests: list[EntityRequest] = []
        index = self._due_entities().setdefault(entity_id, {})
        for row in sorted((r for r in rows if r["RowKey"] != ""), key=lambda r: str(r["RowKey"])):
            row.pop("_etag", None)
            index[str(row["RowKey"])] = str(row["VisibleAt"])
            if str(row["VisibleAt"]) > moment:
                continue
            request = json.loads(await self._payloads.get(row, "Request") or "{}")
            if request.get("id") in seen:
                # Delivered twice (an outbox applied again after a crash): it was applied already.
                with contextlib.suppress(ResourceNotFoundError):
                    await table.delete(own, str(row["RowKey"]))
                index.pop(str(row["RowKey"]), None)
                continue
            visible = None if row["VisibleAt"] == AT_ONCE else parse_time(str(row["VisibleAt"]))
            requests.append(EntityRequest(entity_id, request, visible, int(str(row["RowKey"])[1:])))
            if len(requests) == limit:
                break
        if not index:
            self._due_entities().pop(entity_id, None)
        if not requests:
            return None
        ids = {_request_key(r.id): str(r.request.get("id")) for r in requests}
        self._entities_fetched()[entity_id] = (head, etag, ids)
        return EntityBatch(await self._record_of(entity_id, head), requests)

    def _entities_fetched(self) -> dict[str, tuple[dict[str, Any] | None, str, dict[str, str]]]:
        """Entity id -> (row, ETag, request RowKey -> request id) of the batch last fetched."""
        if not hasattr(self, "_entity_fetched"):
            self._entity_fetched = {}
        return self._entity_fetched

    @_guarded
    async def complete_entity_batch(self, result: EntityBatchResult) -> None:
        e = result.entity
        own = table_key(e.entity_id)
        table = self._entity_table()
        fetched = self._entities_fetched().pop(e.entity_id, None)
        ids: dict[str, str]
        if fetched is None:
            row = await self._entity_row(e.entity_id)
            old, etag, ids = (row[0], row[1], {}) if row else (None, "", {})
        else:
            old, etag, ids = fetched
        consumed = [_request_key(n) for n in result.consumed]
        applied_ids: list[str] = []
        for key in consumed:
            if key not in ids:
                try:
                    request_row = dict(await table.get(own, key))
                except ResourceNotFoundError:
                    return  # committed already: applying it again would repeat its operations
                ids[key] = str(json.loads(await self._payloads.get(request_row, "Request") or "{}").get("id"))
            applied_ids.append(ids[key])
        seen = json.loads(str(old.get("Seen") or "[]")) if old else []
        entity: dict[str, Any] = {
            "PartitionKey": own,
            "RowKey": "",
            "EntityId": e.entity_id,
            "Exists": e.exists,
            "LastOperationTime": e.last_operation_time or "",
            "Seen": json.dumps((seen + applied_ids)[-_SEEN:], separators=(",", ":")),
        }
        if e.exists:
            await self._payloads.put(entity, "State", e.state, e.entity_id)
        outbox = {
            "messages": [await self._message_entity(m) for m in result.responses],
            "requests": [await self._request_row(s) for s in result.signals],
        }
        pending = bool(outbox["messages"] or outbox["requests"])
        if pending:
            await self._payloads.put(entity, "Outbox", json.dumps(outbox, separators=(",", ":")), e.entity_id)
            entity["OutboxPending"] = True
        ops: list[Operation] = [("replace", entity, etag) if etag else ("insert", entity, None)]
        ops += [("delete", {"PartitionKey": own, "RowKey": key}, None) for key in consumed]
        try:
            [etag, *_] = await table.transact(ops)
        except ResourceNotFoundError:
            return  # a request row is gone: the batch was committed already
        except ResourceModifiedError as exc:
            raise StoreError(f"entity '{e.entity_id}' changed while its batch ran; it is retried") from exc
        index = self._due_entities().get(e.entity_id, {})
        for key in consumed:
            index.pop(key, None)
        if not index:
            self._due_entities().pop(e.entity_id, None)
        if pending:
            await self._settle_entity(entity, etag)

    @_guarded
    async def get_entity(self, entity_id: str) -> EntityRecord | None:
        row = await self._entity_row(entity_id)
        return None if row is None else await self._record_of(entity_id, row[0])

    @_guarded
    async def query_entities(
        self, query: EntityQuery, limit: int, after: str | None
    ) -> tuple[list[EntityRecord], str | None]:
        clauses = ["RowKey eq @row"]
        params: dict[str, Any] = {"row": ""}
        if query.name is not None:
            prefix = f"@{query.name.lower()}@"
            clauses.append("EntityId ge @lo and EntityId lt @hi")
            params.update(lo=prefix, hi=prefix + "\uffff")
        if not query.include_deleted:
            clauses.append("Exists eq @yes")
            params["yes"] = True
        if query.last_operation_from:
            clauses.append("LastOperationTime ge @start")
            params["start"] = query.last_operation_from
        if query.last_operation_to:
            clauses.append("LastOperationTime le @end")
            params["end"] = query.last_operation_to
        if after is not None:
            clauses.append("EntityId gt @after")
            params["after"] = after
        rows: list[dict[str, Any]] = []
        async for row in self._entity_table().query(" and ".join(clauses), params, page_size=limit + 1):
            rows.append(dict(row))
            if len(rows) > limit:
                break
        rows.sort(key=lambda r: str(r["EntityId"]))
        page = [await self._record_of(str(r["EntityId"]), r) for r in rows[:limit]]
        return page, (page[-1].entity_id if len(rows) > limit else None)
