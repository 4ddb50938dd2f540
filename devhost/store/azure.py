"""Azure Storage store: a task hub in tables, queues and blobs, on Azurite or a real account.

Layout 2: resources named as the Durable extension's provider names its own, with `Devhost` added
(azure_account.py), never the provider's, and refused beside the provider's hub of the same name
(azure_guard.py, which reads the account before anything is created and before every purge):

- `<hub>InstancesDevhost`: a partition per instance (PartitionKey = instance id) holding
  - the instance row (RowKey ""): status, input, output, custom status, the window
    [HistoryStart, HistoryEnd) of its current history, its newest events while its activities are
    out and after it ended (`HistoryTail`, from `TailStart`; see azure_commit.py), and an outbox
    while one is pending;
  - its pending messages (RowKey "M" + 20 digits of the message id; `VisibleAt`: a durable timer is a
    message visible later) and its activity tasks (RowKey "W" + 20 digits of the task id).
  They share the partition because an entity group transaction, Azure Tables' only atomic write of
  several rows, is confined to one partition of one table.
- `<hub>HistoryDevhost`: PartitionKey = instance id, RowKey = 16 hex digits of the event's sequence
  number, the event's JSON in `Event`. Readers take the rows in [HistoryStart, TailStart) and then
  the tail in the instance row; other rows do not exist for them.
- `<hub lower>-devhost` queue: wake-up hints only. Queue visibility runs on the server's clock,
  which neither the contract's explicit `now` nor `--time-skipping` can move, so the messages
  themselves stay in tables. A hint from another process makes this one reload its index.
- `<hub lower>-devhost` container: property values over 60 KiB (see azure_payloads.py), and the
  layout marker `devhost-layout.json`, written when devhost creates the hub.

The store is one class built in layers, each in its own module: azure_memory.py (what this process
remembers), azure_rows.py (clients, keys and row codecs), azure_outbox.py (the outbox), azure_commit.py
(an episode's commit, and why a crash loses and repeats nothing), azure_work.py (what is due, work
items, activities), azure_hints.py (wake-up hints), and here the rest of the Store protocol. Queries
bind values as OData literals (azure_table_values.py), never by pasting them into filter text.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from typing import Any

from azure.core.exceptions import (
    AzureError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)

from ..errors import InstanceExistsError, StoreError
from .azure_account import table_key
from .azure_commit import EpisodeCommitter
from .azure_payloads import blob_refs
from .azure_rows import error_reason, guarded
from .azure_tables import Operation
from .azure_work import WorkFetcher
from .base import InstanceQuery, InstanceRecord, Message, RuntimeStatus, id_prefix_range

log = logging.getLogger("devhost.store.azure")
RECORD_PROPERTIES = [
    "InstanceId",
    "Name",
    "ExecutionId",
    "RuntimeStatus",
    "CreatedTime",
    "LastUpdatedTime",
    "Parent",
    *(p + suffix for p in ("Input", "Output", "CustomStatus", "Ledger") for suffix in ("", "BlobName")),
]


class AzureStore(EpisodeCommitter, WorkFetcher):
    """The Azure Storage implementation of `Store` (see base.py for the contract)."""

    def describe(self) -> str:
        return f"azure ({self.account.shown})"  # the banner names the task hub

    @property
    def answered_sent(self) -> float:
        """When (time.monotonic) the latest table request Azure Storage answered was sent. Many calls
        are answered from what this process remembers; only this shows the storage is there."""
        return self._tables.answered_sent

    async def open(self) -> None:
        """Check the account (azure_guard.py), create the hub if missing, recover, load the index.

        Raises HubConflictError (nothing changed) if the hub may not be used, StoreError if the
        account cannot be.
        """
        async with self._open_lock:
            if self._opened:
                return
            try:
                exists = await self._guard.check()  # before anything is written
                await self._create(self._blobs.create_container(self.names.container))
                if not exists:
                    await self._guard.claim()
                await asyncio.gather(
                    *(self._create(self._tables.create_table(t)) for t in self.names.tables),
                    self._create(self._queues.create_queue(self.names.hint_queue)),
                )
                pending = self._instances.query(
                    "RowKey eq @row and OutboxPending eq @yes",
                    {"row": "", "yes": True},
                    select=["InstanceId"],
                )
                for row in [r async for r in pending]:
                    await self._settle(str(row["InstanceId"]))
                await self._reload()
                await self._open_entities()
            except AzureError as exc:
                raise StoreError(
                    f"cannot use Azure Storage ({self.account.shown}): {error_reason(exc)}"
                    + (
                        ". Is Azurite running? See docs/devhost.md, section Stores."
                        if self.account.development
                        else ""
                    )
                ) from exc
            self._opened = True

    @staticmethod
    async def _create(call: Awaitable[Any]) -> None:
        with contextlib.suppress(ResourceExistsError):
            await call

    async def close(self) -> None:
        for message_id, held in list(self._results.items()):
            try:
                await self._write_result(message_id, held)
            except AzureError as exc:  # its activity runs again when devhost starts next
                log.warning("activity result not saved: %s", error_reason(exc))
        await self._hints.close()
        await self._tables.close()
        for client in (self._payloads.container, self._queues, self._blobs):
            await client.close()

    @guarded
    async def create_instance(self, instance: InstanceRecord, start: Message) -> None:
        await self._ready()
        instance_id = instance.instance_id
        self._forget(instance_id, recheck=False)
        entity = await self._instance_entity(instance, 0, 0)
        message = await self._message_entity(start)
        if self._status.get(instance_id) is None:
            # Most starts are of new ids: try that first, one transaction.
            try:
                [etag, _] = await self._instances.transact(
                    [("insert", entity, None), ("upsert", message, None)]
                )
            except ResourceExistsError:
                pass
            except BaseException:
                self._recheck.add(instance_id)
                raise
            else:
                await self._created(instance, entity, etag, message)
                return
        row = await self._settle(instance_id)
        ops: list[Operation] = [("insert", entity, None), ("upsert", message, None)]
        if row is not None:
            status = RuntimeStatus(row[0]["RuntimeStatus"])
            if status.is_active:
                self._status[instance_id] = status
                raise InstanceExistsError(
                    f"An instance with ID '{instance_id}' already exists and is {status.value}."
                )
            await self._delete_instance_data(instance_id, keep=blob_refs(entity) | blob_refs(message))
            ops[0] = ("replace", entity, row[1])
        try:
            [etag, _] = await self._instances.transact(ops)
        except ResourceExistsError as exc:
            raise InstanceExistsError(f"An instance with ID '{instance_id}' already exists.") from exc
        except (ResourceModifiedError, ResourceNotFoundError) as exc:
            raise StoreError(f"instance '{instance_id}' changed while being replaced; try again") from exc
        except BaseException:
            self._recheck.add(instance_id)
            raise
        await self._created(instance, entity, etag, message)

    async def _created(
        self, instance: InstanceRecord, entity: dict[str, Any], etag: str, start: dict[str, Any]
    ) -> None:
        self._note(start)
        self._status[instance.instance_id] = instance.runtime_status
        self._remember(instance.instance_id, entity, etag, [])
        await self._hints.soon()

    @guarded
    async def get_instance(self, instance_id: str) -> InstanceRecord | None:
        await self._ready()
        for _ in range(3):
            row = await self._row(instance_id)
            if row is None:
                return None
            try:
                return await self._record(row[0])
            except ResourceNotFoundError:
                continue  # a large value was replaced between the two reads
        raise StoreError(f"instance '{instance_id}' keeps changing; try again")

    @guarded
    async def get_history(self, instance_id: str) -> list[str]:
        await self._ready()
        row = await self._row(instance_id)
        if row is None:
            return []
        known = self._known.get(instance_id)
        if known is not None and known.etag == row[1] and known.history is not None:
            return list(known.history)
        return await self._history_of(instance_id, row[0])

    def _filter(self, query: InstanceQuery) -> tuple[list[str], dict[str, Any]]:
        clauses: list[str] = ["RowKey eq @row"]  # instance rows, not their messages and tasks
        params: dict[str, Any] = {"row": ""}
        if query.created_from:
            clauses.append("CreatedTime ge @from")
            params["from"] = query.created_from
        if query.created_to:
            clauses.append("CreatedTime le @to")
            params["to"] = query.created_to
        if query.statuses:
            names = [f"s{n}" for n in range(len(query.statuses))]
            clauses.append("(" + " or ".join(f"RuntimeStatus eq @{n}" for n in names) + ")")
            params.update({n: s.value for n, s in zip(names, query.statuses, strict=True)})
        if query.id_prefix:
            # A key range, not a pattern: nothing in an id can widen the match.
            low, high = id_prefix_range(query.id_prefix)
            clauses.append("PartitionKey ge @lo")
            params["lo"] = low
            if high is not None:
                clauses.append("PartitionKey lt @hi")
                params["hi"] = high
        return clauses, params

    @guarded
    async def query_instances(
        self, query: InstanceQuery, limit: int, after: str | None
    ) -> tuple[list[InstanceRecord], str | None]:
        await self._ready()
        clauses, params = self._filter(query)
        if after is not None:
            clauses.append("PartitionKey gt @after")
            params["after"] = table_key(after)
        rows: list[dict[str, Any]] = []
        # Pages of limit + 1: the service serializes (and Azurite sorts) no more than that.
        found = self._instances.query(
            " and ".join(clauses), params, select=RECORD_PROPERTIES, page_size=limit + 1
        )
        async for row in found:
            rows.append(dict(row))
            if len(rows) > limit:
                break
        page = [await self._record(r) for r in rows[:limit]]
        return page, (page[-1].instance_id if len(rows) > limit else None)

    @guarded
    async def send_message(self, message: Message) -> None:
        await self._ready()
        entity = await self._message_entity(message)
        try:
            await self._instances.upsert(entity)
        except BaseException:
            self._recheck.add(message.instance_id)
            raise
        self._note(entity)
        await self._hints.soon()

    @guarded
    async def request_rewind(self, instance_id: str, request: Message, at: str) -> RuntimeStatus | None:
        """The instance row (Pending, no output) and the request message: one transaction on its partition."""
        await self._ready()
        row = await self._settle(instance_id)
        if row is None:
            return None
        entity, etag = row
        status = RuntimeStatus(entity["RuntimeStatus"])
        if status is not RuntimeStatus.FAILED:
            return status
        old_output = entity.pop("OutputBlobName", None)
        entity.pop("Output", None)
        entity.update(RuntimeStatus=RuntimeStatus.PENDING.value, LastUpdatedTime=at)
        message = await self._message_entity(request)
        try:
            await self._instances.transact([("replace", entity, etag), ("upsert", message, None)])
        except (ResourceModifiedError, ResourceNotFoundError) as exc:
            raise StoreError(f"instance '{instance_id}' changed while being rewound; try again") from exc
        finally:
            # Whatever happened, the partition is read again before the instance's next episode.
            self._forget(instance_id)
        self._status[instance_id] = RuntimeStatus.PENDING
        self._note(message)
        if old_output:
            await self._payloads.delete([str(old_output)])
        await self._hints.soon()
        return status

    @guarded
    async def purge(self, instance_id: str) -> int:
        await self._ready()
        await self._guard.check()  # the real host may have made a hub of this name since open
        return await self._purge(instance_id)

    async def _purge(self, instance_id: str) -> int:
        self._forget(instance_id, recheck=False)
        row = await self._settle(instance_id)
        await self._delete_instance_data(instance_id)
        self._status.pop(instance_id, None)
        if row is None:
            return 0
        with contextlib.suppress(ResourceNotFoundError):
            await self._instances.delete(table_key(instance_id), "")
        return 1

    @guarded
    async def purge_by(self, query: InstanceQuery) -> int:
        await self._ready()
        if not query.statuses:
            query = InstanceQuery(
                query.created_from,
                query.created_to,
                tuple(s for s in RuntimeStatus if s.is_terminal),
                query.id_prefix,
            )
        clauses, params = self._filter(query)
        found = self._instances.query(" and ".join(clauses), params, select=["InstanceId"])
        ids = [str(r["InstanceId"]) async for r in found]
        await self._guard.check()
        return sum([await self._purge(i) for i in ids])
