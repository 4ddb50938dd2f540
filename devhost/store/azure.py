"""Azure Storage store: a task hub in tables, queues and blobs, on Azurite or a real account.

Layout (names as the Durable extension's Azure Storage provider gives them, where it has them):

- `<hub>Instances`: one row per instance (PartitionKey = instance id, RowKey ""): status, input,
  output, custom status, and the window [HistoryStart, HistoryEnd) of its current history.
- `<hub>History`: PartitionKey = instance id, RowKey = 16 hex digits of the event's sequence number,
  the event's JSON in `Event`. Only rows inside the instance row's window exist for readers.
- `<hub>Inbox`: the instance's messages (PartitionKey = instance id, RowKey = message id, `VisibleAt`:
  a durable timer is a message visible later). `<hub>WorkItems`: activity tasks, likewise.
- `<hub>-control-00..03`, `<hub>-workitems` queues: wake-up hints only. Queue visibility runs on the
  server's clock, which neither the contract's explicit `now` nor `--time-skipping` can move, so the
  messages themselves stay in tables. A hint from another process makes this one reload its index.
- `<hub>-largemessages` container: property values over 60 KiB (see azure_payloads.py).

Which rows are due is known from an in-memory index (azure_index.py) loaded at open.

**One episode, and why a crash between any two writes loses and repeats nothing.** Azure Tables
have no transaction across partitions, so `complete_orchestration` writes in this order:

1. New history rows, upserted at sequence numbers from HistoryEnd on. Readers see only the window,
   so these rows are invisible; a retry of the episode upserts the same keys.
2. The commit point: the instance row, replaced only if its ETag is the one the work item was read
   with. It carries the new status, the new window and an *outbox*: the consumed message ids and
   every message, activity and sub-orchestration the episode creates, as fully built entities
   (with their ids). A crash before this write leaves nothing visible: the messages are still in the
   inbox, and the next attempt replays and overwrites step 1.
3. Applying the outbox: consumed messages deleted, new rows upserted under the ids in the outbox,
   child instances created unless a row with the same execution id exists, the old execution's
   history deleted after a continue-as-new.
4. The outbox cleared from the instance row.

A crash after step 2 leaves the outbox in the instance row. It is applied again (the same keys, so
the same rows) when the store opens, and before any later read of that instance's work item,
before it is replaced by a new start and before it is purged, so no new episode runs before its
consumed messages are gone. Applying twice can re-create a row that was meanwhile consumed, or run an
activity again (at least once, as on Azure); so when a work item is read, a result for a task, timer
or sub-orchestration that the history already holds, or a second start of the same execution, is
dropped as the duplicate it is. Activity completion writes the result message first and deletes the
task after, with the same protection. `create_instance` writes the start message before the
instance row; a start left without its row by a crash is removed after five minutes.

Keys: instance ids are PartitionKeys as they are (odd ones encoded, see azure_account.py); message
and task ids are numbers. Queries bind values through the SDK's `parameters`, never by pasting them
into filter text. One devhost process serves a hub at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from datetime import datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.data.tables import TableTransactionError, UpdateMode
from azure.data.tables.aio import TableClient, TableServiceClient
from azure.storage.blob.aio import BlobServiceClient
from azure.storage.queue.aio import QueueServiceClient

from ..errors import InstanceExistsError, StoreError
from ..history import EventType, format_time, parse_time
from .azure_account import Account, HubNames, table_key
from .azure_index import WHILE_SUSPENDED, DueIndex
from .azure_payloads import Payloads, blob_refs
from .base import (
    ActivityTask,
    EpisodeResult,
    InstanceQuery,
    InstanceRecord,
    Message,
    RuntimeStatus,
    WorkItem,
)

log = logging.getLogger("devhost.store.azure")
_EPOCH = "0000-00-00T00:00:00.000000Z"
_ORPHAN_SECONDS = 300
_HINT_TTL_SECONDS = 120
_DRAIN_EVERY_SECONDS = 1.0
_BATCH_OPS = 100  # Azure's limit per entity group transaction
_BATCH_BYTES = 3_000_000  # below the 4 MiB request limit
_RESULTS = {
    int(EventType.TASK_COMPLETED),
    int(EventType.TASK_FAILED),
    int(EventType.SUB_ORCHESTRATION_COMPLETED),
    int(EventType.SUB_ORCHESTRATION_FAILED),
}
_OUTBOX = ("Outbox", "OutboxBlobName", "OutboxPending")
_T = TypeVar("_T")
_P = ParamSpec("_P")


def _guarded(
    method: Callable[Concatenate[AzureStore, _P], Coroutine[Any, Any, _T]],
) -> Callable[Concatenate[AzureStore, _P], Coroutine[Any, Any, _T]]:
    """Azure SDK failures become StoreError (an infrastructure failure: the work item is retried)."""

    @functools.wraps(method)
    async def run(self: AzureStore, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        try:
            return await method(self, *args, **kwargs)
        except AzureError as exc:
            raise StoreError(f"Azure Storage ({self.account.shown}) failed: {_reason(exc)}") from exc

    return run


def _reason(exc: AzureError) -> str:
    return (getattr(exc, "message", None) or str(exc)).splitlines()[0][:300]


def _rk(number: int) -> str:
    return f"{number:020d}"


def _seq(number: int) -> str:
    return f"{number:016X}"


def _visible(moment: datetime | None) -> str:
    return format_time(moment) if moment else _EPOCH


def _size(entity: Mapping[str, Any]) -> int:
    return 200 + sum(2 * len(str(v)) + 2 * len(k) for k, v in entity.items())


class AzureStore:
    """The Azure Storage implementation of `Store` (see base.py for the contract)."""

    def __init__(self, account: Account, hub: str) -> None:
        # The SDKs log every request at INFO; devhost's log is for the app.
        logging.getLogger("azure").setLevel(logging.WARNING)
        self.account = account
        self.names = HubNames(hub)
        options: dict[str, Any] = {"retry_total": 3, "retry_backoff_factor": 0.2, "connection_timeout": 10}
        conn = account.connection_string
        self._tables = TableServiceClient.from_connection_string(conn, **options)
        self._queues = QueueServiceClient.from_connection_string(conn, **options)
        self._blobs = BlobServiceClient.from_connection_string(conn, **options)
        self._instances = self._tables.get_table_client(self.names.instances)
        self._history = self._tables.get_table_client(self.names.history)
        self._inbox = self._tables.get_table_client(self.names.inbox)
        self._work = self._tables.get_table_client(self.names.work_items)
        self._payloads = Payloads(self._blobs.get_container_client(self.names.container))
        self._index = DueIndex()
        self._status: dict[str, RuntimeStatus | None] = {}
        self._fetched: dict[str, tuple[dict[str, Any], str, dict[int, set[str]]]] = {}
        self._writer = uuid.uuid4().hex
        self._last_id = 0
        self._drained = 0.0
        self._opened = False
        self._open_lock = asyncio.Lock()

    def describe(self) -> str:
        return f"azure ({self.account.shown})"  # the banner names the task hub

    # -- setup ------------------------------------------------------------------------------------

    async def open(self) -> None:
        """Create the hub's tables, queues and container if missing, recover, load the index."""
        async with self._open_lock:
            if self._opened:
                return
            try:
                await asyncio.gather(
                    *(self._create(self._tables.create_table(t)) for t in self.names.tables),
                    *(
                        self._create(self._queues.create_queue(q))
                        for q in [*self.names.control_queues, self.names.work_item_queue]
                    ),
                    self._create(self._blobs.create_container(self.names.container)),
                )
                pending = self._instances.query_entities(
                    "OutboxPending eq @yes", parameters={"yes": True}, select=["InstanceId"]
                )
                for row in [r async for r in pending]:
                    await self._settle(str(row["InstanceId"]))
                await self._reload()
            except AzureError as exc:
                raise StoreError(
                    f"cannot use Azure Storage ({self.account.shown}): {_reason(exc)}"
                    + (
                        ". Is Azurite running? See the README, section Stores."
                        if self.account.development
                        else ""
                    )
                ) from exc
            self._opened = True

    @staticmethod
    async def _create(call: Awaitable[Any]) -> None:
        with contextlib.suppress(ResourceExistsError):
            await call

    async def _ready(self) -> None:
        if not self._opened:
            await self.open()

    async def _reload(self) -> None:
        """Read every inbox and work-item row's due time into a fresh index."""
        self._index.begin_reload()
        fresh: DueIndex | None = None
        try:
            index = DueIndex()
            async for row in self._inbox.list_entities(
                select=["RowKey", "InstanceId", "VisibleAt", "EventType"]
            ):
                index.add_message(
                    str(row["InstanceId"]), int(row["RowKey"]), str(row["VisibleAt"]), int(row["EventType"])
                )
            async for row in self._work.list_entities(select=["RowKey", "InstanceId", "VisibleAt"]):
                index.add_task(int(row["RowKey"]), str(row["VisibleAt"]), str(row["InstanceId"]))
            fresh = index
        finally:
            self._index.finish_reload(fresh)
        self._status.clear()

    async def close(self) -> None:
        for client in (
            self._instances,
            self._history,
            self._inbox,
            self._work,
            self._payloads.container,
            self._tables,
            self._queues,
            self._blobs,
        ):
            await client.close()

    # -- rows -------------------------------------------------------------------------------------

    def _new_id(self) -> int:
        """Message and task ids: unique, increasing, and telling when they were made (ns)."""
        self._last_id = max(self._last_id + 1, time.time_ns())
        return self._last_id

    async def _row(self, instance_id: str) -> tuple[dict[str, Any], str] | None:
        try:
            row = await self._instances.get_entity(table_key(instance_id), "")
        except ResourceNotFoundError:
            return None
        return dict(row), str(row.metadata["etag"])

    async def _instance_entity(self, i: InstanceRecord, start: int, end: int) -> dict[str, Any]:
        entity: dict[str, Any] = {
            "PartitionKey": table_key(i.instance_id),
            "RowKey": "",
            "InstanceId": i.instance_id,
            "Name": i.name,
            "ExecutionId": i.execution_id,
            "RuntimeStatus": i.runtime_status.value,
            "CreatedTime": i.created_time,
            "LastUpdatedTime": i.last_updated_time,
            "HistoryStart": start,
            "HistoryEnd": end,
        }
        if i.parent:
            entity["Parent"] = json.dumps(i.parent)
        for name, value in (
            ("Input", i.input),
            ("Output", i.output),
            ("CustomStatus", i.custom_status),
            ("Ledger", json.dumps(i.ledger, separators=(",", ":"))),
        ):
            await self._payloads.put(entity, name, value, i.instance_id, reuse=True)
        return entity

    async def _record(self, e: Mapping[str, Any]) -> InstanceRecord:
        get = functools.partial(self._payloads.get, reuse=True)
        ledger = await get(dict(e), "Ledger")
        return InstanceRecord(
            instance_id=str(e["InstanceId"]),
            name=str(e["Name"]),
            execution_id=str(e["ExecutionId"]),
            runtime_status=RuntimeStatus(e["RuntimeStatus"]),
            created_time=str(e["CreatedTime"]),
            last_updated_time=str(e["LastUpdatedTime"]),
            input=await get(dict(e), "Input"),
            output=await get(dict(e), "Output"),
            custom_status=await get(dict(e), "CustomStatus"),
            parent=json.loads(e["Parent"]) if e.get("Parent") else None,
            ledger=json.loads(ledger) if ledger else {},
        )

    async def _message_entity(self, m: Message) -> dict[str, Any]:
        entity: dict[str, Any] = {
            "PartitionKey": table_key(m.instance_id),
            "RowKey": _rk(self._new_id()),
            "InstanceId": m.instance_id,
            "EventType": m.event_type,
            "VisibleAt": _visible(m.visible_at),
        }
        if m.execution_id is not None:
            entity["ExecutionId"] = m.execution_id
        await self._payloads.put(entity, "Event", json.dumps(m.event, separators=(",", ":")), m.instance_id)
        return entity

    async def _task_entity(self, a: ActivityTask) -> dict[str, Any]:
        entity: dict[str, Any] = {
            "PartitionKey": table_key(a.instance_id),
            "RowKey": _rk(self._new_id()),
            "InstanceId": a.instance_id,
            "ExecutionId": a.execution_id,
            "TaskId": a.task_id,
            "Name": a.name,
            "VisibleAt": _EPOCH,
            "Attempt": 0,
        }
        await self._payloads.put(entity, "Input", a.input, a.instance_id)
        return entity

    async def _message(self, e: Mapping[str, Any]) -> Message:
        text = await self._payloads.get(dict(e), "Event")
        visible = str(e["VisibleAt"])
        return Message(
            instance_id=str(e["InstanceId"]),
            event=json.loads(text or "{}"),
            execution_id=e.get("ExecutionId"),
            id=int(e["RowKey"]),
            visible_at=parse_time(visible) if visible != _EPOCH else None,
        )

    async def _write(self, table: TableClient, ops: Iterable[tuple[str, dict[str, Any]]]) -> None:
        """Upserts and deletes, as entity group transactions per partition (100 ops, < 4 MiB each)."""
        chunks: list[list[tuple[str, dict[str, Any]]]] = []
        open_chunks: dict[str, tuple[list[tuple[str, dict[str, Any]]], list[int]]] = {}
        for op in ops:
            pk = op[1]["PartitionKey"]
            chunk, size = open_chunks.get(pk, ([], [0]))
            weight = _size(op[1])
            if chunk and (len(chunk) >= _BATCH_OPS or size[0] + weight > _BATCH_BYTES):
                chunks.append(chunk)
                chunk, size = [], [0]
            chunk.append(op)
            size[0] += weight
            open_chunks[pk] = (chunk, size)
        chunks += [chunk for chunk, _ in open_chunks.values() if chunk]
        await asyncio.gather(*(self._submit(table, chunk) for chunk in chunks))

    @staticmethod
    async def _submit(table: TableClient, chunk: list[tuple[str, dict[str, Any]]]) -> None:
        if len(chunk) > 1:
            try:
                await table.submit_transaction(
                    [
                        (kind, e, {"mode": UpdateMode.REPLACE}) if kind == "upsert" else (kind, e)
                        for kind, e in chunk
                    ]
                )
                return
            except TableTransactionError as exc:
                if exc.status_code != 404:
                    raise
                # A delete of a row already gone fails the whole batch: do them one by one.
        for kind, e in chunk:
            if kind == "upsert":
                await table.upsert_entity(e, mode=UpdateMode.REPLACE)
            else:
                await table.delete_entity(e["PartitionKey"], e["RowKey"])  # a missing row is fine

    async def _keys(self, table: TableClient, instance_id: str) -> list[dict[str, Any]]:
        rows = table.query_entities(
            "PartitionKey eq @pk",
            parameters={"pk": table_key(instance_id)},
            select=["PartitionKey", "RowKey"],
        )
        return [{"PartitionKey": r["PartitionKey"], "RowKey": r["RowKey"]} async for r in rows]

    async def _history_texts(self, instance_id: str, start: int, end: int) -> list[str]:
        if end <= start:
            return []
        rows = self._history.query_entities(
            "PartitionKey eq @pk and RowKey ge @lo and RowKey lt @hi",
            parameters={"pk": table_key(instance_id), "lo": _seq(start), "hi": _seq(end)},
        )
        entities = sorted([dict(r) async for r in rows], key=lambda r: str(r["RowKey"]))
        texts = await asyncio.gather(*(self._payloads.get(e, "Event") for e in entities))
        return [t or "" for t in texts]

    async def _delete_instance_data(self, instance_id: str, keep: set[str] | None = None) -> None:
        """History, inbox, work items and blobs of an instance (not its row)."""
        for table in (self._history, self._inbox, self._work):
            await self._write(table, [("delete", k) for k in await self._keys(table, instance_id)])
        self._index.forget_instance(instance_id)
        await self._payloads.delete_instance(instance_id, keep or set())

    # -- wake-up hints ----------------------------------------------------------------------------

    async def _hint(self, instance_ids: Iterable[str], tasks: int = 0) -> None:
        """Tell any other devhost on this hub that there is new work (best effort: it also polls)."""
        queues: dict[str, list[str]] = {}
        for i in instance_ids:
            queues.setdefault(self.names.control_queue_of(i), []).append(i)
        if tasks:
            queues[self.names.work_item_queue] = []
        body = {"writer": self._writer}
        try:
            await asyncio.gather(
                *(
                    self._queues.get_queue_client(q).send_message(
                        json.dumps({**body, "instances": ids[:20], "tasks": tasks}),
                        time_to_live=_HINT_TTL_SECONDS,
                    )
                    for q, ids in queues.items()
                )
            )
        except AzureError as exc:
            log.debug("wake-up hint not sent: %s", _reason(exc))

    async def _drain_hints(self) -> None:
        """At most once a second: read the hint queues; a hint from another writer reloads the index."""
        if time.monotonic() - self._drained < _DRAIN_EVERY_SECONDS:
            return
        self._drained = time.monotonic()

        async def foreign(name: str) -> bool:
            found = False
            queue = self._queues.get_queue_client(name)
            # Received hints stay hidden until they expire: nobody needs to delete them.
            async for hint in queue.receive_messages(
                max_messages=32, visibility_timeout=_HINT_TTL_SECONDS // 2
            ):
                try:
                    found = found or json.loads(hint.content).get("writer") != self._writer
                except (ValueError, AttributeError):
                    found = True
            return found

        names = [*self.names.control_queues, self.names.work_item_queue]
        if any(await asyncio.gather(*(foreign(n) for n in names))):
            await self._reload()

    # -- the outbox (see the module docstring) ----------------------------------------------------

    async def _settle(self, instance_id: str) -> tuple[dict[str, Any], str] | None:
        """The instance row, after applying an outbox a crash left in it."""
        row = await self._row(instance_id)
        if row is None or not row[0].get("OutboxPending"):
            return row
        entity, etag = row
        text = await self._payloads.get(entity, "Outbox")
        await self._apply(instance_id, json.loads(text or "{}"))
        cleared = {k: v for k, v in entity.items() if k not in _OUTBOX}
        try:
            reply = await self._instances.update_entity(
                cleared, mode=UpdateMode.REPLACE, etag=etag, match_condition=MatchConditions.IfNotModified
            )
        except ResourceModifiedError:
            return await self._row(instance_id)
        if entity.get("OutboxBlobName"):
            await self._payloads.delete([str(entity["OutboxBlobName"])])
        return cleared, str(reply["etag"])

    async def _apply(self, owner: str, outbox: dict[str, Any]) -> None:
        """Make an outbox's effects real; every step can run again with the same result."""
        owner_key = table_key(owner)
        await self._write(
            self._inbox,
            [("delete", {"PartitionKey": owner_key, "RowKey": rk}) for rk in outbox.get("consumed", [])],
        )
        for rk in outbox.get("consumed", []):
            self._index.remove_message(owner, int(rk))
        messages: list[dict[str, Any]] = outbox.get("messages", [])
        tasks: list[dict[str, Any]] = outbox.get("activities", [])
        await asyncio.gather(
            self._write(self._inbox, [("upsert", e) for e in messages]),
            self._write(self._work, [("upsert", e) for e in tasks]),
        )
        for e in messages:
            self._index.add_message(e["InstanceId"], int(e["RowKey"]), e["VisibleAt"], int(e["EventType"]))
        for e in tasks:
            self._index.add_task(int(e["RowKey"]), e["VisibleAt"], e["InstanceId"])
        children = outbox.get("children", [])
        for row, start in children:
            await self._create_child(row, start)
        drop = outbox.get("drop")
        if drop:
            key = {"PartitionKey": owner_key}
            await self._write(self._history, [("delete", {**key, "RowKey": _seq(n)}) for n in range(*drop)])
        await self._payloads.delete(outbox.get("garbage", []))
        await self._hint(
            [e["InstanceId"] for e in messages] + [row["InstanceId"] for row, _ in children], tasks=len(tasks)
        )

    async def _create_child(self, row: dict[str, Any], start: dict[str, Any]) -> None:
        child = str(row["InstanceId"])
        existing = await self._row(child)
        if existing is not None and existing[0].get("ExecutionId") == row["ExecutionId"]:
            return  # created by an earlier application of this outbox
        if existing is not None:
            # As in the SQLite store, a sub-orchestration replaces an instance with its id.
            await self._delete_instance_data(child, keep=blob_refs(row) | blob_refs(start))
        await self._inbox.upsert_entity(start, mode=UpdateMode.REPLACE)
        self._index.add_message(child, int(start["RowKey"]), start["VisibleAt"], int(start["EventType"]))
        await self._instances.upsert_entity(row, mode=UpdateMode.REPLACE)
        self._status[child] = RuntimeStatus(row["RuntimeStatus"])

    # -- the Store protocol -----------------------------------------------------------------------

    @_guarded
    async def create_instance(self, instance: InstanceRecord, start: Message) -> None:
        await self._ready()
        row = await self._settle(instance.instance_id)
        if row is not None:
            status = RuntimeStatus(row[0]["RuntimeStatus"])
            if status.is_active:
                raise InstanceExistsError(
                    f"An instance with ID '{instance.instance_id}' already exists and is {status.value}."
                )
            await self._delete_instance_data(instance.instance_id)
        message = await self._message_entity(start)
        await self._inbox.upsert_entity(message, mode=UpdateMode.REPLACE)
        self._index.add_message(
            start.instance_id, int(message["RowKey"]), message["VisibleAt"], start.event_type
        )
        entity = await self._instance_entity(instance, 0, 0)
        try:
            if row is None:
                await self._instances.create_entity(entity)
            else:
                await self._instances.update_entity(
                    entity,
                    mode=UpdateMode.REPLACE,
                    etag=row[1],
                    match_condition=MatchConditions.IfNotModified,
                )
        except ResourceExistsError as exc:
            raise InstanceExistsError(
                f"An instance with ID '{instance.instance_id}' already exists."
            ) from exc
        except ResourceModifiedError as exc:
            raise StoreError(
                f"instance '{instance.instance_id}' changed while being replaced; try again"
            ) from exc
        self._status[instance.instance_id] = instance.runtime_status
        await self._hint([instance.instance_id])

    @_guarded
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

    @_guarded
    async def get_history(self, instance_id: str) -> list[str]:
        await self._ready()
        row = await self._row(instance_id)
        if row is None:
            return []
        return await self._history_texts(instance_id, int(row[0]["HistoryStart"]), int(row[0]["HistoryEnd"]))

    def _filter(self, query: InstanceQuery) -> tuple[list[str], dict[str, Any]]:
        clauses: list[str] = []
        params: dict[str, Any] = {}
        if query.created_from:
            clauses.append("CreatedTime ge @from")
            params["from"] = query.created_from
        if query.created_to:
            clauses.append("CreatedTime le @to")
            params["to"] = query.created_to
        if query.statuses:
            names = [f"s{n}" for n in range(len(query.statuses))]
            # The SDK finds parameters between spaces: keep the parentheses apart from them.
            clauses.append("( " + " or ".join(f"RuntimeStatus eq @{n}" for n in names) + " )")
            params.update({n: s.value for n, s in zip(names, query.statuses, strict=True)})
        if query.id_prefix:
            # A key range, not a pattern: nothing in an id can widen the match.
            prefix = query.id_prefix
            clauses.append("PartitionKey ge @lo and PartitionKey lt @hi")
            params.update(lo=prefix, hi=prefix[:-1] + chr(ord(prefix[-1]) + 1))
        return clauses, params

    async def _matching(self, clauses: list[str], params: dict[str, Any]) -> Any:
        if not clauses:
            return self._instances.list_entities()
        return self._instances.query_entities(" and ".join(clauses), parameters=params)

    @_guarded
    async def query_instances(
        self, query: InstanceQuery, limit: int, after: str | None
    ) -> tuple[list[InstanceRecord], str | None]:
        await self._ready()
        clauses, params = self._filter(query)
        if after is not None:
            clauses.append("PartitionKey gt @after")
            params["after"] = table_key(after)
        rows: list[dict[str, Any]] = []
        async for row in await self._matching(clauses, params):
            rows.append(dict(row))
            if len(rows) > limit:
                break
        page = [await self._record(r) for r in rows[:limit]]
        return page, (page[-1].instance_id if len(rows) > limit else None)

    @_guarded
    async def send_message(self, message: Message) -> None:
        await self._ready()
        entity = await self._message_entity(message)
        await self._inbox.upsert_entity(entity, mode=UpdateMode.REPLACE)
        self._index.add_message(
            message.instance_id, int(entity["RowKey"]), entity["VisibleAt"], message.event_type
        )
        await self._hint([message.instance_id])

    async def _status_of(self, instance_id: str) -> RuntimeStatus | None:
        if instance_id not in self._status:
            try:
                row = await self._instances.get_entity(table_key(instance_id), "", select=["RuntimeStatus"])
                self._status[instance_id] = RuntimeStatus(row["RuntimeStatus"])
            except ResourceNotFoundError:
                self._status[instance_id] = None
        return self._status[instance_id]

    @_guarded
    async def ready_instances(self, now: datetime, limit: int, busy: set[str]) -> list[str]:
        await self._ready()
        await self._drain_hints()
        ready: list[str] = []
        for instance_id, only_if_running in self._index.due_instances(format_time(now), busy):
            status = await self._status_of(instance_id)
            if status is None:
                await self._drop_orphans(instance_id)
            elif not (only_if_running and status is RuntimeStatus.SUSPENDED):
                ready.append(instance_id)
                if len(ready) >= limit:
                    break
        return ready

    async def _drop_orphans(self, instance_id: str) -> None:
        """Messages for an instance that does not exist (purged, or a start whose row a crash lost)."""
        old = time.time_ns() - _ORPHAN_SECONDS * 1_000_000_000
        ids = [m for m in self._index.inbox.get(instance_id, {}) if m < old]
        if ids and await self._row(instance_id) is None:
            await self._write(
                self._inbox,
                [("delete", {"PartitionKey": table_key(instance_id), "RowKey": _rk(m)}) for m in ids],
            )
            for m in ids:
                self._index.remove_message(instance_id, m)
        self._status.pop(instance_id, None)

    @_guarded
    async def fetch_work_item(self, instance_id: str, now: datetime) -> WorkItem | None:
        await self._ready()
        row = await self._settle(instance_id)
        if row is None:
            self._status[instance_id] = None
            return None
        entity, etag = row
        status = RuntimeStatus(entity["RuntimeStatus"])
        self._status[instance_id] = status
        stored = [
            dict(r)
            async for r in self._inbox.query_entities(
                "PartitionKey eq @pk", parameters={"pk": table_key(instance_id)}
            )
        ]
        # The table is the truth: refresh this instance's part of the index from it.
        self._index.set_messages(
            instance_id, {int(r["RowKey"]): (str(r["VisibleAt"]), int(r["EventType"])) for r in stored}
        )
        moment = format_time(now)
        due = sorted(
            (
                r
                for r in stored
                if str(r["VisibleAt"]) <= moment
                and (status is not RuntimeStatus.SUSPENDED or int(r["EventType"]) in WHILE_SUSPENDED)
            ),
            key=lambda r: int(r["RowKey"]),
        )
        if not due:
            return None
        history = await self._history_texts(
            instance_id, int(entity["HistoryStart"]), int(entity["HistoryEnd"])
        )
        messages = list(await asyncio.gather(*(self._message(r) for r in due)))
        refs = {int(r["RowKey"]): blob_refs(r) for r in due}
        keep, duplicates = _without_duplicates(history, messages, str(entity["ExecutionId"]))
        if duplicates:
            log.info("dropping %d duplicate message(s) for %s", len(duplicates), instance_id)
            await self._write(
                self._inbox,
                [
                    ("delete", {"PartitionKey": table_key(instance_id), "RowKey": _rk(m.id)})
                    for m in duplicates
                ],
            )
            for m in duplicates:
                self._index.remove_message(instance_id, m.id)
            await self._payloads.delete(b for m in duplicates for b in refs.pop(m.id, set()))
        if not keep:
            return None
        self._fetched[instance_id] = (entity, etag, refs)
        return WorkItem(await self._record(entity), history, keep)

    @_guarded
    async def complete_orchestration(self, result: EpisodeResult) -> None:
        await self._ready()
        i = result.instance
        fetched = self._fetched.pop(i.instance_id, None)
        if fetched is not None:
            old, etag, refs = fetched
        else:
            row = await self._settle(i.instance_id)
            old, etag, refs = (row[0], row[1], {}) if row else ({}, "", {})
        start, end = int(old.get("HistoryStart", 0)), int(old.get("HistoryEnd", 0))
        # 1. history rows, invisible until the instance row's window covers them
        history_rows: list[tuple[str, dict[str, Any]]] = []
        for n, text in enumerate(result.new_history):
            event_type = json.loads(text).get("EventType") if text.startswith("{") else None
            event_row: dict[str, Any] = {
                "PartitionKey": table_key(i.instance_id),
                "RowKey": _seq(end + n),
                "ExecutionId": i.execution_id,
                **({"EventType": event_type} if isinstance(event_type, int) else {}),
            }
            await self._payloads.put(event_row, "Event", text, i.instance_id)
            history_rows.append(("upsert", event_row))
        await self._write(self._history, history_rows)
        # 2. the commit point: the instance row with the outbox, if nobody changed it since the read
        new_start = end if result.reset_history else start
        entity = await self._instance_entity(i, new_start, end + len(result.new_history))
        outbox = {
            "consumed": [_rk(m) for m in result.consumed],
            "messages": [await self._message_entity(m) for m in result.messages],
            "activities": [await self._task_entity(a) for a in result.activities],
            "children": [
                [await self._instance_entity(c, 0, 0), await self._message_entity(s)]
                for c, s in result.new_instances
            ],
            "drop": [start, new_start] if new_start > start else None,
            "garbage": sorted(
                (blob_refs(old) - blob_refs(entity) - {str(old.get("OutboxBlobName"))})
                | {b for m in result.consumed for b in refs.get(m, set())}
            ),
        }
        await self._payloads.put(entity, "Outbox", json.dumps(outbox, separators=(",", ":")), i.instance_id)
        entity["OutboxPending"] = True
        try:
            if etag:
                reply = await self._instances.update_entity(
                    entity, mode=UpdateMode.REPLACE, etag=etag, match_condition=MatchConditions.IfNotModified
                )
            else:
                reply = await self._instances.create_entity(entity)
        except (ResourceModifiedError, ResourceNotFoundError, ResourceExistsError) as exc:
            raise StoreError(
                f"instance '{i.instance_id}' changed while its episode ran; the work item is retried"
            ) from exc
        self._status[i.instance_id] = i.runtime_status
        # 3. apply the outbox, 4. clear it
        await self._apply(i.instance_id, outbox)
        cleared = {k: v for k, v in entity.items() if k not in _OUTBOX}
        try:
            await self._instances.update_entity(
                cleared,
                mode=UpdateMode.REPLACE,
                etag=reply["etag"],
                match_condition=MatchConditions.IfNotModified,
            )
        except ResourceModifiedError:
            return
        if entity.get("OutboxBlobName"):
            await self._payloads.delete([str(entity["OutboxBlobName"])])

    @_guarded
    async def ready_activities(self, now: datetime, limit: int, busy: set[int]) -> list[ActivityTask]:
        await self._ready()
        await self._drain_hints()
        due = self._index.due_tasks(format_time(now), busy)[:limit]

        async def read(task_id: int, owner: str) -> ActivityTask | None:
            try:
                e = dict(await self._work.get_entity(table_key(owner), _rk(task_id)))
            except ResourceNotFoundError:
                self._index.remove_task(task_id)
                return None
            return ActivityTask(
                instance_id=str(e["InstanceId"]),
                execution_id=str(e["ExecutionId"]),
                task_id=int(e["TaskId"]),
                name=str(e["Name"]),
                input=await self._payloads.get(e, "Input"),
                id=task_id,
                attempt=int(e.get("Attempt", 0)),
            )

        return [t for t in await asyncio.gather(*(read(t, o) for t, o in due)) if t is not None]

    @_guarded
    async def complete_activity(self, task: ActivityTask, result: Message) -> None:
        await self._ready()
        key = (table_key(task.instance_id), _rk(task.id))
        try:
            row = dict(await self._work.get_entity(*key))
        except ResourceNotFoundError:
            self._index.remove_task(task.id)
            return  # completed before (the result was queued then)
        # Result first, then the task: a crash in between runs the activity again, and its second
        # result is dropped as a duplicate when the instance reads it.
        await self.send_message(result)
        await self._work.delete_entity(*key)
        self._index.remove_task(task.id)
        await self._payloads.delete(blob_refs(row))

    @_guarded
    async def abandon_activity(self, task: ActivityTask, retry_at: datetime) -> None:
        await self._ready()
        visible = format_time(retry_at)
        patch = {
            "PartitionKey": table_key(task.instance_id),
            "RowKey": _rk(task.id),
            "VisibleAt": visible,
            "Attempt": task.attempt + 1,
        }
        try:
            await self._work.update_entity(patch, mode=UpdateMode.MERGE)
        except ResourceNotFoundError:
            self._index.remove_task(task.id)
            return
        self._index.add_task(task.id, visible, task.instance_id)

    @_guarded
    async def next_due(self, after: datetime) -> datetime | None:
        await self._ready()
        moment = self._index.next_due(format_time(after))
        return parse_time(moment) if moment else None

    @_guarded
    async def purge(self, instance_id: str) -> int:
        await self._ready()
        row = await self._settle(instance_id)
        await self._delete_instance_data(instance_id)
        self._status.pop(instance_id, None)
        if row is None:
            return 0
        await self._instances.delete_entity(table_key(instance_id), "")
        return 1

    @_guarded
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
        ids = [str(r["InstanceId"]) async for r in await self._matching(clauses, params)]
        return sum([await self.purge(i) for i in ids])


def _without_duplicates(
    history: list[str], messages: list[Message], execution_id: str
) -> tuple[list[Message], list[Message]]:
    """Split messages into those to deliver and duplicates of what the history already holds.

    Duplicates only arise from recovery (an outbox applied twice, an activity run twice): a task,
    sub-orchestration or timer has one result per execution, and an execution one start.
    """
    seen: set[tuple[str, Any]] = set()
    for text in history:
        try:
            event = json.loads(text)
        except ValueError:
            continue
        seen.update(_identity(event))
    keep: list[Message] = []
    duplicates: list[Message] = []
    for m in messages:
        if m.execution_id != execution_id:
            keep.append(m)  # another execution's: the engine drops it as stale
            continue
        ident = _identity(m.event)
        if ident and ident[0] in seen:
            duplicates.append(m)
        else:
            seen.update(ident)
            keep.append(m)
    return keep, duplicates


def _identity(event: dict[str, Any]) -> list[tuple[str, Any]]:
    kind = event.get("EventType")
    if kind in _RESULTS:
        return [("task", event.get("TaskScheduledId"))]
    if kind == EventType.TIMER_FIRED:
        return [("timer", event.get("TimerId"))]
    if kind == EventType.EXECUTION_STARTED:
        return [("start", None)]
    return []
