"""Azure Storage store: a task hub in tables, queues and blobs, on Azurite or a real account.

Layout 2: resources named as the Durable extension's provider names its own, with `Devhost` added
(azure_account.py), never the provider's, and refused beside the provider's hub of the same name
(azure_guard.py, which reads the account before anything is created and before every purge):

- `<hub>InstancesDevhost`: a partition per instance (PartitionKey = instance id) holding
  - the instance row (RowKey ""): status, input, output, custom status, the window
    [HistoryStart, HistoryEnd) of its current history, its newest events while its activities are
    out (`HistoryTail`, from `TailStart`; see below), and an outbox while one is pending;
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

Which rows are due is known from an in-memory index (azure_index.py) loaded at open.

**One episode, and why a crash between any two writes loses and repeats nothing.** Tables have no
transaction across partitions or tables, so `complete_orchestration` writes in this order:

1. History rows for the tail and the new events, upserted at sequence numbers from TailStart on.
   Readers stop at TailStart, so these rows are invisible; a retry of the episode upserts the same
   keys. This step is skipped while the instance has activities out (it scheduled some, or some are
   still running or waiting for it): the new events then join the tail in the instance row, which
   is written in step 2 anyway, so a chain of activities writes its History rows once, when it ends
   or waits on a timer, an event or a sub-orchestration (or when the tail outgrows 24,000
   characters).
2. The commit point, one entity group transaction on the instance's partition: the instance row
   (new status, window and tail), replaced only if its ETag is the one the work item was read with;
   the consumed messages deleted; the messages the episode sends itself (timers, a continue-as-new's
   start) and its activity tasks inserted, under ids chosen here. All of it happens or none does; a
   crash before it leaves the messages in place, and the next attempt replays and overwrites step 1.
   What the transaction cannot hold goes into an *outbox* in the instance row, as fully built
   entities (with their ids): messages to other instances, sub-orchestrations to create, the old
   execution's history to delete after a continue-as-new, and whatever exceeds a transaction's 100
   rows or 4 MiB.
3. Only when there is an outbox: applying it (messages and tasks upserted under the ids in it,
   consumed messages it lists deleted, child instances created unless a row with the same execution
   id exists, old history deleted), then 4. clearing it from the instance row.

A crash after step 2 can leave an outbox in the instance row. It is applied again (the same keys, so
the same rows) when the store opens, and before any later read of that instance's work item, before
it is replaced by a new start and before it is purged, so no new episode runs before the consumed
messages it lists are gone. Applying twice can re-create a row that was meanwhile consumed; so when
a work item is read, a result for a task, timer or sub-orchestration that the history already holds,
or a second start of the same execution, is dropped as the duplicate it is. `create_instance`
inserts the instance row and its start message in one transaction. Blobs that a commit made garbage
are deleted after it (a crash can leave one behind until the instance is purged).

**Activity results.** When an activity of an instance this process is running completes, its
result is not written: it waits here, due for the instance, and the commit of the episode that takes
it deletes the task row instead of a message row, in the same transaction. Until then the task row
stays, so a crash before that commit runs the activity again (at least once, as any crash before a
commit would); `close` writes the results still waiting. Otherwise (an instance not run here, or
suspended) completing an activity is one transaction on its instance's partition: the result
message inserted and the task deleted. If the task is gone (completed before, or purged), nothing
is written.

**What this process remembers.** One devhost process serves a hub at a time, and an episode usually
reads nothing: the instance row with its ETag, the history of recently run instances and the pending
messages and tasks are kept as this process last wrote them, updated only after a write succeeded.
The commit's ETag condition keeps this safe: if the row changed in the table, the commit fails, what
is remembered of the instance is dropped and the work item is retried from the tables. After any
failed write to an instance (whose effect may or may not have happened), its partition is read again
before its next episode. The status API reads the tables.

Keys: instance ids are PartitionKeys as they are (odd ones encoded, see azure_account.py); message
and task ids are numbers. Queries bind values as OData literals (azure_tables.py), never by pasting
them into filter text. Table requests go through azure_tables.py; queues and blobs through the SDKs.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import re
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

from azure.core.exceptions import (
    AzureError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.data.tables import TableServiceClient as ConnectionStringParser
from azure.storage.blob.aio import BlobServiceClient
from azure.storage.queue.aio import QueueServiceClient

from ..errors import InstanceExistsError, StoreError
from ..history import EventType, format_time, parse_time
from .azure_account import Account, HubNames, table_key
from .azure_entities import AzureEntities
from .azure_guard import HubGuard
from .azure_index import AT_ONCE, DueIndex
from .azure_payloads import MAX_PROPERTY_BYTES, Payloads, blob_refs
from .azure_tables import Operation, Table, TableService
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
_ORPHAN_SECONDS = 300
_HINT_TTL_SECONDS = 120
_HINT_EVERY_SECONDS = 1.0
_DRAIN_EVERY_SECONDS = 1.0
_BATCH_OPS = 100  # Azure's limit per entity group transaction
_BATCH_BYTES = 3_000_000  # below the 4 MiB request limit
KNOWN_INSTANCES = 4096  # instances whose row and history are remembered
# Recent events kept in the instance row: JSON text (ASCII), well under 60 KiB of UTF-16.
_TAIL_CHARS = 24_000
_TAIL_EVENT_CHARS = 4_000  # a larger event goes to the History table at once
_RECORD = [
    "InstanceId",
    "Name",
    "ExecutionId",
    "RuntimeStatus",
    "CreatedTime",
    "LastUpdatedTime",
    "Parent",
    *(p + suffix for p in ("Input", "Output", "CustomStatus", "Ledger") for suffix in ("", "BlobName")),
]
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


def _message_key(number: int) -> str:
    return f"M{number:020d}"


def _task_key(number: int) -> str:
    return f"W{number:020d}"


def _number(row_key: str) -> int:
    return int(row_key[1:])


def _seq(number: int) -> str:
    return f"{number:016X}"


def _visible(moment: datetime | None) -> str:
    return format_time(moment) if moment else AT_ONCE


def _size(entity: Mapping[str, Any]) -> int:
    return 200 + sum(2 * len(str(v)) + 2 * len(k) for k, v in entity.items())


def _tail(entity: Mapping[str, Any]) -> tuple[int, list[str]]:
    """Where the events kept in the instance row start, and those events."""
    text = entity.get("HistoryTail")
    if not text:
        return int(entity.get("HistoryEnd", 0)), []
    return int(entity["TailStart"]), json.loads(text)


def _without_outbox(entity: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entity.items() if k not in _OUTBOX}


@dataclass(slots=True)
class _Known:
    """An instance row as this process last wrote or read it, and the history in its window."""

    entity: dict[str, Any]
    etag: str
    history: list[str] | None
    seen: set[tuple[str, Any]] | None = None  # what the history holds one of (see _identity)


@dataclass(slots=True)
class _Result:
    """An activity's result, held until the commit of the episode that takes it deletes the task."""

    body: dict[str, Any]  # the message row it stands for, its event inline
    task_id: int
    task_blobs: set[str]  # garbage once the task row is deleted


class AzureStore(AzureEntities):
    """The Azure Storage implementation of `Store` (see base.py for the contract)."""

    def __init__(self, account: Account, hub: str) -> None:
        # The SDKs log every request at INFO; devhost's log is for the app.
        logging.getLogger("azure").setLevel(logging.WARNING)
        self.account = account
        self.names = HubNames(hub)
        options: dict[str, Any] = {"retry_total": 3, "retry_backoff_factor": 0.2, "connection_timeout": 10}
        conn = account.connection_string
        parsed = ConnectionStringParser.from_connection_string(conn)
        self._tables = TableService(parsed.url, parsed.credential, connection_timeout=10)
        parsed.close()
        self._queues = QueueServiceClient.from_connection_string(conn, **options)
        self._blobs = BlobServiceClient.from_connection_string(conn, **options)
        self._instances: Table = self._tables.table(self.names.instances)
        self._history: Table = self._tables.table(self.names.history)
        self._payloads = Payloads(self._blobs.get_container_client(self.names.container))
        self._guard = HubGuard(self._tables, self._queues, self._blobs, hub, account.shown)
        self._index = DueIndex()
        self._status: dict[str, RuntimeStatus | None] = {}
        self._known: OrderedDict[str, _Known] = OrderedDict()
        # Pending messages and tasks as written (by id), so that running them reads nothing.
        self._bodies: dict[int, dict[str, Any]] = {}
        self._task_rows: dict[int, dict[str, Any]] = {}
        # Activity results not written anywhere yet, by message id; their task ids.
        self._results: dict[int, _Result] = {}
        self._held: dict[int, int] = {}
        # Instances whose partition must be read again before their next episode.
        self._recheck: set[str] = set()
        self._fetched: dict[str, tuple[dict[str, Any], str, dict[int, set[str]]]] = {}
        self._writer = uuid.uuid4().hex
        self._last_id = 0
        self._drained = 0.0
        self._hinted = 0.0
        self._hint_later: asyncio.Task[None] | None = None
        self._opened = False
        self._open_lock = asyncio.Lock()

    def describe(self) -> str:
        return f"azure ({self.account.shown})"  # the banner names the task hub

    # -- setup ------------------------------------------------------------------------------------

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
        """Read every pending message's and task's due time into a fresh index."""
        self._index.begin_reload()
        fresh: DueIndex | None = None
        try:
            index = DueIndex()
            tasks: set[int] = set()
            async for row in self._instances.query(
                "RowKey gt @row", {"row": ""}, select=["RowKey", "InstanceId", "VisibleAt", "EventType"]
            ):
                key = str(row["RowKey"])
                if key.startswith("M"):
                    index.add_message(
                        str(row["InstanceId"]), _number(key), str(row["VisibleAt"]), int(row["EventType"])
                    )
                elif key.startswith("W"):
                    tasks.add(_number(key))
                    if _number(key) not in self._held:
                        index.add_task(_number(key), str(row["VisibleAt"]), str(row["InstanceId"]))
            fresh = index
        finally:
            self._index.finish_reload(fresh)
        # Another process writes to the hub: trust nothing remembered of its rows.
        self._status.clear()
        self._known.clear()
        self._bodies.clear()
        self._task_rows.clear()
        for message_id, held in list(self._results.items()):
            if held.task_id in tasks:
                self._hold(message_id, held)
            else:
                self._gone_message(str(held.body["InstanceId"]), message_id)  # its task is gone

    async def close(self) -> None:
        for message_id, held in list(self._results.items()):
            try:
                await self._write_result(message_id, held)
            except AzureError as exc:  # its activity runs again when devhost starts next
                log.warning("activity result not saved: %s", _reason(exc))
        if self._hint_later is not None:
            self._hint_later.cancel()
            await asyncio.gather(self._hint_later, return_exceptions=True)
            self._hint_later = None
            await self._send_hint()
        await self._tables.close()
        for client in (self._payloads.container, self._queues, self._blobs):
            await client.close()

    # -- what this process remembers --------------------------------------------------------------

    def _remember(
        self,
        instance_id: str,
        entity: dict[str, Any],
        etag: str,
        history: list[str] | None,
        seen: set[tuple[str, Any]] | None = None,
    ) -> None:
        self._known[instance_id] = _Known(entity, etag, history, seen)
        self._known.move_to_end(instance_id)
        while len(self._known) > KNOWN_INSTANCES:
            self._known.popitem(last=False)

    def _forget(self, instance_id: str, *, recheck: bool = True) -> None:
        """Drop what is remembered of an instance; `recheck`: read its partition before its next episode."""
        self._known.pop(instance_id, None)
        if recheck:
            self._recheck.add(instance_id)

    def _note(self, entity: dict[str, Any]) -> None:
        """A message or task row just written: into the index and remembered."""
        key = str(entity["RowKey"])
        if key.startswith("M"):
            self._index.add_message(
                str(entity["InstanceId"]), _number(key), str(entity["VisibleAt"]), int(entity["EventType"])
            )
            self._bodies[_number(key)] = entity
        else:
            self._index.add_task(_number(key), str(entity["VisibleAt"]), str(entity["InstanceId"]))
            self._task_rows[_number(key)] = entity

    def _gone_message(self, instance_id: str, message_id: int) -> None:
        self._index.remove_message(instance_id, message_id)
        self._bodies.pop(message_id, None)
        held = self._results.pop(message_id, None)
        if held is not None:
            self._held.pop(held.task_id, None)

    def _hold(self, message_id: int, held: _Result) -> None:
        """Keep an activity's result here: due for its instance, its task no longer due."""
        self._results[message_id] = held
        self._held[held.task_id] = message_id
        self._gone_task(held.task_id)
        body = held.body
        self._index.add_message(str(body["InstanceId"]), message_id, AT_ONCE, int(body["EventType"]))
        self._bodies[message_id] = body

    def _task_blobs(self, message_id: int) -> set[str]:
        held = self._results.get(message_id)
        return held.task_blobs if held is not None else set()

    def _row_key(self, message_id: int) -> str:
        """The row a message's consumption deletes: its own, or for a held result its task's."""
        held = self._results.get(message_id)
        return _task_key(held.task_id) if held is not None else _message_key(message_id)

    def _held_of(self, instance_id: str) -> list[tuple[int, _Result]]:
        return [(m, r) for m, r in self._results.items() if r.body["InstanceId"] == instance_id]

    async def _write_result(self, message_id: int, held: _Result) -> None:
        """Write a held result as an activity completion does when nothing holds it."""
        body = held.body
        entity = {k: v for k, v in body.items() if k != "Event"}
        await self._payloads.put(entity, "Event", str(body["Event"]), str(body["InstanceId"]))
        task = {"PartitionKey": body["PartitionKey"], "RowKey": _task_key(held.task_id)}
        with contextlib.suppress(ResourceNotFoundError):  # the task is gone: so is the need
            await self._instances.transact([("upsert", entity, None), ("delete", task, None)])
        self._results.pop(message_id, None)
        self._held.pop(held.task_id, None)
        await self._payloads.delete(held.task_blobs)

    def _gone_task(self, task_id: int) -> None:
        self._index.remove_task(task_id)
        self._task_rows.pop(task_id, None)

    def _gone_instance(self, instance_id: str) -> None:
        for message_id, held in self._held_of(instance_id):
            del self._results[message_id], self._held[held.task_id]
        for message_id in self._index.messages_of(instance_id):
            self._bodies.pop(message_id, None)
        for task_id in self._index.tasks_of(instance_id):
            self._task_rows.pop(task_id, None)
        self._index.forget_instance(instance_id)
        self._forget(instance_id, recheck=False)

    def _take_partition(self, instance_id: str, rows: Iterable[Mapping[str, Any]]) -> None:
        """The instance's messages and tasks as just read: they replace what the index knew."""
        for message_id in self._index.messages_of(instance_id):
            self._bodies.pop(message_id, None)
        for task_id in self._index.tasks_of(instance_id):
            self._task_rows.pop(task_id, None)
        messages: dict[int, tuple[str, int]] = {}
        tasks: dict[int, str] = {}
        for row in rows:
            key = str(row["RowKey"])
            if key.startswith("M"):
                messages[_number(key)] = (str(row["VisibleAt"]), int(row["EventType"]))
                self._bodies[_number(key)] = dict(row)
            elif key.startswith("W"):
                tasks[_number(key)] = str(row["VisibleAt"])
                self._task_rows[_number(key)] = dict(row)
        held = self._held_of(instance_id)
        for message_id, result in held:
            if result.task_id not in tasks:
                del self._results[message_id], self._held[result.task_id]  # its task is gone
        self._index.set_messages(instance_id, messages)
        self._index.set_tasks(instance_id, tasks)
        for message_id, result in held:
            if message_id in self._results:
                self._hold(message_id, result)

    # -- rows -------------------------------------------------------------------------------------

    def _new_id(self) -> int:
        """Message and task ids: unique, increasing, and telling when they were made (ns)."""
        self._last_id = max(self._last_id + 1, time.time_ns())
        return self._last_id

    async def _row(self, instance_id: str) -> tuple[dict[str, Any], str] | None:
        try:
            row = await self._instances.get(table_key(instance_id), "")
        except ResourceNotFoundError:
            return None
        return dict(row), row.etag

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
            "RowKey": _message_key(self._new_id()),
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
            "RowKey": _task_key(self._new_id()),
            "InstanceId": a.instance_id,
            "ExecutionId": a.execution_id,
            "TaskId": a.task_id,
            "Name": a.name,
            "VisibleAt": AT_ONCE,
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
            id=_number(str(e["RowKey"])),
            visible_at=parse_time(visible) if visible != AT_ONCE else None,
        )

    @staticmethod
    def _task(e: Mapping[str, Any], task_id: int, text: str | None) -> ActivityTask:
        return ActivityTask(
            instance_id=str(e["InstanceId"]),
            execution_id=str(e["ExecutionId"]),
            task_id=int(e["TaskId"]),
            name=str(e["Name"]),
            input=text,
            id=task_id,
            attempt=int(e.get("Attempt", 0)),
        )

    async def _write(self, table: Table, ops: Iterable[tuple[str, dict[str, Any]]]) -> None:
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
    async def _submit(table: Table, chunk: list[tuple[str, dict[str, Any]]]) -> None:
        if len(chunk) > 1:
            try:
                await table.transact([(kind, e, None) for kind, e in chunk])  # type: ignore[misc]
                return
            except ResourceNotFoundError:
                pass  # A delete of a row already gone fails the whole batch: do them one by one.
        for kind, e in chunk:
            if kind == "upsert":
                await table.upsert(e)
            else:
                with contextlib.suppress(ResourceNotFoundError):  # a missing row is fine
                    await table.delete(e["PartitionKey"], e["RowKey"])

    async def _keys(self, table: Table, instance_id: str, where: str = "") -> list[dict[str, Any]]:
        rows = table.query(
            "PartitionKey eq @pk" + where,
            {"pk": table_key(instance_id), "row": ""},
            select=["PartitionKey", "RowKey"],
        )
        return [{"PartitionKey": r["PartitionKey"], "RowKey": r["RowKey"]} async for r in rows]

    async def _history_of(self, instance_id: str, entity: Mapping[str, Any]) -> list[str]:
        """The instance's current history: History rows up to the tail, then the tail in its row."""
        tail_start, tail = _tail(entity)
        return await self._history_texts(instance_id, int(entity["HistoryStart"]), tail_start) + tail

    async def _history_texts(self, instance_id: str, start: int, end: int) -> list[str]:
        if end <= start:
            return []
        rows = self._history.query(
            "PartitionKey eq @pk and RowKey ge @lo and RowKey lt @hi",
            {"pk": table_key(instance_id), "lo": _seq(start), "hi": _seq(end)},
        )
        entities = sorted([dict(r) async for r in rows], key=lambda r: str(r["RowKey"]))
        texts = await asyncio.gather(*(self._payloads.get(e, "Event") for e in entities))
        return [t or "" for t in texts]

    async def _delete_instance_data(self, instance_id: str, keep: set[str] | None = None) -> None:
        """History, messages, tasks and blobs of an instance (not its row)."""
        await self._write(
            self._history, [("delete", k) for k in await self._keys(self._history, instance_id)]
        )
        rows = await self._keys(self._instances, instance_id, " and RowKey gt @row")
        await self._write(self._instances, [("delete", k) for k in rows])
        self._gone_instance(instance_id)
        await self._payloads.delete_instance(instance_id, keep or set())

    # -- wake-up hints ----------------------------------------------------------------------------

    async def _hint(self) -> None:
        """Tell any other devhost on this hub that there is new work (best effort: at most one a second).

        The first write after a quiet second sends a hint at once; later ones share one sent when the
        second is over, so a burst of writes costs one message, and its last write is never unhinted.
        """
        if self._hint_later is not None:
            return
        wait = self._hinted + _HINT_EVERY_SECONDS - time.monotonic()
        if wait <= 0:
            await self._send_hint()
        else:
            self._hint_later = asyncio.create_task(self._hint_after(wait))

    async def _hint_after(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        self._hint_later = None
        await self._send_hint()

    async def _send_hint(self) -> None:
        self._hinted = time.monotonic()
        try:
            await self._queues.get_queue_client(self.names.hint_queue).send_message(
                json.dumps({"writer": self._writer}), time_to_live=_HINT_TTL_SECONDS
            )
        except AzureError as exc:
            log.debug("wake-up hint not sent: %s", _reason(exc))

    async def _drain_hints(self) -> None:
        """At most once a second: read the hint queue; a hint from another writer reloads the index."""
        if time.monotonic() - self._drained < _DRAIN_EVERY_SECONDS:
            return
        self._drained = time.monotonic()

        found = False
        queue = self._queues.get_queue_client(self.names.hint_queue)
        # Received hints stay hidden until they expire: nobody needs to delete them.
        async for hint in queue.receive_messages(max_messages=32, visibility_timeout=_HINT_TTL_SECONDS // 2):
            try:
                found = found or json.loads(hint.content).get("writer") != self._writer
            except (ValueError, AttributeError):
                found = True
        if found:
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
        cleared = _without_outbox(entity)
        try:
            etag = await self._instances.replace(cleared, etag)
        except ResourceModifiedError:
            return await self._row(instance_id)
        if entity.get("OutboxBlobName"):
            await self._payloads.delete([str(entity["OutboxBlobName"])])
        return cleared, etag

    async def _apply(self, owner: str, outbox: dict[str, Any]) -> None:
        """Make an outbox's effects real; every step can run again with the same result."""
        owner_key = table_key(owner)
        consumed = [str(k) for k in outbox.get("consumed", [])]
        rows: list[dict[str, Any]] = [*outbox.get("messages", []), *outbox.get("activities", [])]
        await self._write(
            self._instances,
            [("delete", {"PartitionKey": owner_key, "RowKey": k}) for k in consumed]
            + [("upsert", e) for e in rows],
        )
        for key in consumed:
            if key.startswith("M"):
                self._gone_message(owner, _number(key))
            elif _number(key) in self._held:
                self._gone_message(owner, self._held[_number(key)])
        for e in rows:
            self._note(e)
        for row, start in outbox.get("children", []):
            await self._create_child(row, start)
        await self._upsert_requests(outbox.get("entity_requests", []))
        drop = outbox.get("drop")
        if drop:
            await self._write(
                self._history,
                [("delete", {"PartitionKey": owner_key, "RowKey": _seq(n)}) for n in range(*drop)],
            )
        await self._payloads.delete(outbox.get("garbage", []))

    async def _create_child(self, row: dict[str, Any], start: dict[str, Any]) -> None:
        child = str(row["InstanceId"])
        existing = await self._row(child)
        if existing is not None and existing[0].get("ExecutionId") == row["ExecutionId"]:
            return  # created by an earlier application of this outbox
        if existing is not None:
            # As in the SQLite store, a sub-orchestration replaces an instance with its id.
            await self._delete_instance_data(child, keep=blob_refs(row) | blob_refs(start))
        self._forget(child, recheck=False)
        [etag, _] = await self._instances.transact([("upsert", row, None), ("upsert", start, None)])
        self._note(start)
        self._status[child] = RuntimeStatus(row["RuntimeStatus"])
        self._remember(child, row, etag, [])

    # -- the Store protocol -----------------------------------------------------------------------

    @_guarded
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
        await self._hint()

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
            prefix = query.id_prefix
            clauses.append("PartitionKey ge @lo and PartitionKey lt @hi")
            params.update(lo=prefix, hi=prefix[:-1] + chr(ord(prefix[-1]) + 1))
        return clauses, params

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
        # Pages of limit + 1: the service serializes (and Azurite sorts) no more than that.
        found = self._instances.query(" and ".join(clauses), params, select=_RECORD, page_size=limit + 1)
        async for row in found:
            rows.append(dict(row))
            if len(rows) > limit:
                break
        page = [await self._record(r) for r in rows[:limit]]
        return page, (page[-1].instance_id if len(rows) > limit else None)

    @_guarded
    async def send_message(self, message: Message) -> None:
        await self._ready()
        entity = await self._message_entity(message)
        try:
            await self._instances.upsert(entity)
        except BaseException:
            self._recheck.add(message.instance_id)
            raise
        self._note(entity)
        await self._hint()

    @_guarded
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
        await self._hint()
        return status

    async def _status_of(self, instance_id: str) -> RuntimeStatus | None:
        if instance_id not in self._status:
            try:
                row = await self._instances.get(table_key(instance_id), "", select=["RuntimeStatus"])
                self._status[instance_id] = RuntimeStatus(row["RuntimeStatus"])
            except ResourceNotFoundError:
                self._status[instance_id] = None
        return self._status[instance_id]

    @_guarded
    async def ready_instances(self, now: datetime, limit: int, busy: set[str]) -> list[str]:
        await self._ready()
        await self._drain_hints()
        moment = format_time(now)
        # Instances whose partition is read again: their next fetch does that.
        ready = [i for i in self._recheck if i not in busy][:limit]
        seen = set(ready)
        orphans: list[str] = []
        while len(ready) < limit:
            # Walk the index without awaiting; statuses not known yet are read, then it walks again.
            unknown: list[str] = []
            for instance_id, only_if_running in self._index.due_instances(moment, busy):
                if instance_id in seen:
                    continue
                if instance_id not in self._status:
                    unknown.append(instance_id)
                    if len(ready) + len(unknown) >= limit:
                        break
                    continue
                seen.add(instance_id)
                status = self._status[instance_id]
                if status is None:
                    orphans.append(instance_id)
                elif not (only_if_running and status is RuntimeStatus.SUSPENDED):
                    ready.append(instance_id)
                    if len(ready) >= limit:
                        break
            if not unknown:
                break
            for instance_id in unknown:
                await self._status_of(instance_id)
        for instance_id in orphans:
            await self._drop_orphans(instance_id)
        return ready

    async def _drop_orphans(self, instance_id: str) -> None:
        """Messages for an instance that does not exist (purged, or never created)."""
        old = time.time_ns() - _ORPHAN_SECONDS * 1_000_000_000
        ids = [m for m in self._index.messages_of(instance_id) if m < old]
        if not ids:
            return
        if await self._row(instance_id) is not None:
            self._status.pop(instance_id, None)  # it exists after all: read its status again
            return
        await self._write(
            self._instances,
            [("delete", {"PartitionKey": table_key(instance_id), "RowKey": _message_key(m)}) for m in ids],
        )
        for m in ids:
            self._gone_message(instance_id, m)

    async def _load(self, instance_id: str) -> _Known | None:
        """Read the instance's partition (row, messages, tasks) and history: the tables are the truth."""
        for _ in range(2):
            rows = [
                r async for r in self._instances.query("PartitionKey eq @pk", {"pk": table_key(instance_id)})
            ]
            head = next((r for r in rows if r["RowKey"] == ""), None)
            if head is None or not head.get("OutboxPending"):
                break
            await self._settle(instance_id)  # then read again what applying the outbox changed
        self._recheck.discard(instance_id)
        self._take_partition(instance_id, rows)
        if head is None:
            self._status[instance_id] = None
            return None
        entity = dict(head)
        if entity.get("OutboxPending"):
            raise StoreError(f"instance '{instance_id}' keeps changing; try again")
        history = await self._history_of(instance_id, entity)
        self._remember(instance_id, entity, head.etag, history)
        return self._known[instance_id]

    @_guarded
    async def fetch_work_item(self, instance_id: str, now: datetime) -> WorkItem | None:
        await self._ready()
        try:
            return await self._fetch(instance_id, now)
        except BaseException:
            self._forget(instance_id)
            raise

    async def _fetch(self, instance_id: str, now: datetime) -> WorkItem | None:
        known = None if instance_id in self._recheck else self._known.get(instance_id)
        if known is None:
            known = await self._load(instance_id)
            if known is None:
                return None
        self._known.move_to_end(instance_id)
        entity = known.entity
        status = RuntimeStatus(entity["RuntimeStatus"])
        self._status[instance_id] = status
        moment = format_time(now)
        suspended = status is RuntimeStatus.SUSPENDED
        due = self._index.due_messages(instance_id, moment, suspended)
        if any(m not in self._bodies for m in due):
            # Written by another process (found by a reload): read the instance's messages.
            rows = self._instances.query(
                "PartitionKey eq @pk and RowKey gt @row", {"pk": table_key(instance_id), "row": ""}
            )
            self._take_partition(instance_id, [r async for r in rows])
            due = self._index.due_messages(instance_id, moment, suspended)
        if not due:
            return None
        if known.history is None:
            known.history = await self._history_of(instance_id, entity)
        history = known.history
        if known.seen is None:
            known.seen = _identities(history)
        bodies = [self._bodies[m] for m in due]
        messages = list(await asyncio.gather(*(self._message(r) for r in bodies)))
        refs = {_number(str(r["RowKey"])): blob_refs(r) for r in bodies}
        keep, duplicates = _without_duplicates(known.seen, messages, str(entity["ExecutionId"]))
        if duplicates:
            log.info("dropping %d duplicate message(s) for %s", len(duplicates), instance_id)
            await self._write(
                self._instances,
                [
                    ("delete", {"PartitionKey": table_key(instance_id), "RowKey": self._row_key(m.id)})
                    for m in duplicates
                ],
            )
            garbage = [b for m in duplicates for b in refs.pop(m.id, set()) | self._task_blobs(m.id)]
            for m in duplicates:
                self._gone_message(instance_id, m.id)
            await self._payloads.delete(garbage)
        if not keep:
            return None
        self._fetched[instance_id] = (entity, known.etag, refs)
        return WorkItem(await self._record(entity), list(history), keep)

    @_guarded
    async def complete_orchestration(self, result: EpisodeResult) -> None:
        await self._ready()
        try:
            await self._complete(result)
        except BaseException:
            self._forget(result.instance.instance_id)
            raise

    def _keeps_tail(self, result: EpisodeResult, tail_text: str) -> bool:
        """Whether an episode's events may stay in the instance row (no History write this time).

        While its activities are out: a chain of activities then writes its History rows once, when
        it ends or waits on a timer, an event or a sub-orchestration.
        """
        instance_id = result.instance.instance_id
        consumed = set(result.consumed)
        return (
            len(tail_text) <= _TAIL_CHARS
            and not result.instance.runtime_status.is_terminal
            and all(len(text) <= _TAIL_EVENT_CHARS for text in result.new_history)
            and bool(
                result.activities
                or self._index.tasks_of(instance_id)
                or any(m not in consumed for m, _ in self._held_of(instance_id))
            )
        )

    async def _complete(self, result: EpisodeResult) -> None:
        i = result.instance
        own = table_key(i.instance_id)
        fetched = self._fetched.pop(i.instance_id, None)
        if fetched is not None:
            old, etag, refs = fetched
        else:
            row = await self._settle(i.instance_id)
            old, etag, refs = (row[0], row[1], {}) if row else ({}, "", {})
        known = self._known.get(i.instance_id)
        history, seen = (
            (known.history, known.seen) if known is not None and known.etag == etag else (None, None)
        )
        start, end = int(old.get("HistoryStart", 0)), int(old.get("HistoryEnd", 0))
        old_tail_start, tail = _tail(old)
        new_start = end if result.reset_history else start
        tail_start, tail = (end, []) if result.reset_history else (old_tail_start, tail)
        tail += result.new_history
        added: set[tuple[str, Any]] = set()
        for text in result.new_history:
            added.update(_identity(json.loads(text) if text.startswith("{") else {}))
        entity = await self._instance_entity(i, new_start, end + len(result.new_history))
        tail_text = json.dumps(tail, separators=(",", ":"))
        if self._keeps_tail(result, tail_text):
            # The events stay in the instance row until the instance waits on something else.
            if tail:
                entity.update(HistoryTail=tail_text, TailStart=tail_start)
        else:
            # 1. history rows, invisible until the instance row's window covers them
            history_rows: list[tuple[str, dict[str, Any]]] = []
            for n, text in enumerate(tail):
                event_type = json.loads(text).get("EventType") if text.startswith("{") else None
                event_row: dict[str, Any] = {
                    "PartitionKey": own,
                    "RowKey": _seq(tail_start + n),
                    "ExecutionId": i.execution_id,
                    **({"EventType": event_type} if isinstance(event_type, int) else {}),
                }
                await self._payloads.put(event_row, "Event", text, i.instance_id)
                history_rows.append(("upsert", event_row))
            await self._write(self._history, history_rows)
        # 2. the commit point: one transaction on the instance's partition
        messages = [await self._message_entity(m) for m in result.messages]
        tasks = [await self._task_entity(a) for a in result.activities]
        garbage = sorted(
            (blob_refs(old) - blob_refs(entity) - {str(old.get("OutboxBlobName"))})
            | {b for m in result.consumed for b in refs.get(m, set()) | self._task_blobs(m)}
        )
        room, space = _BATCH_OPS - 1, _BATCH_BYTES - _size(entity) - 2 * MAX_PROPERTY_BYTES
        in_commit: list[tuple[int, str]] = []
        later_consumed: list[str] = []
        for m in result.consumed:
            if room > 0:
                in_commit.append((m, self._row_key(m)))
                room, space = room - 1, space - 400
            else:
                later_consumed.append(self._row_key(m))
        written: list[dict[str, Any]] = []
        later: list[dict[str, Any]] = []
        for e in [m for m in messages if m["PartitionKey"] == own] + tasks:
            if room > 0 and _size(e) <= space:
                written.append(e)
                room, space = room - 1, space - _size(e)
            else:
                later.append(e)
        outbox: dict[str, Any] = {
            "consumed": later_consumed,
            "messages": [m for m in messages if m["PartitionKey"] != own]
            + [e for e in later if e["RowKey"].startswith("M")],
            "activities": [e for e in later if e["RowKey"].startswith("W")],
            "children": [
                [await self._instance_entity(c, 0, 0), await self._message_entity(s)]
                for c, s in result.new_instances
            ],
            "drop": [start, old_tail_start] if result.reset_history and old_tail_start > start else None,
            "entity_requests": [await self._request_row(r) for r in result.entity_requests],
        }
        pending = any(outbox.values())
        if pending:
            outbox["garbage"] = garbage
            await self._payloads.put(
                entity, "Outbox", json.dumps(outbox, separators=(",", ":")), i.instance_id
            )
            entity["OutboxPending"] = True
        ops: list[Operation] = [("replace", entity, etag) if etag else ("insert", entity, None)]
        ops += [("delete", {"PartitionKey": own, "RowKey": key}, None) for _, key in in_commit]
        ops += [("upsert", e, None) for e in written]
        try:
            [etag, *_] = await self._instances.transact(ops)
        except (ResourceModifiedError, ResourceNotFoundError, ResourceExistsError) as exc:
            raise StoreError(
                f"instance '{i.instance_id}' changed while its episode ran; the work item is retried"
            ) from exc
        self._status[i.instance_id] = i.runtime_status
        for m, _ in in_commit:
            self._gone_message(i.instance_id, m)
        for e in written:
            self._note(e)
        if result.reset_history:
            history, seen = list(result.new_history), added
        else:
            history = None if history is None else history + result.new_history
            seen = None if seen is None else seen | added
        cleared = _without_outbox(entity)
        if pending:
            # 3. apply the outbox, 4. clear it
            await self._apply(i.instance_id, outbox)
            try:
                etag = await self._instances.replace(cleared, etag)
            except ResourceModifiedError:
                self._forget(i.instance_id)
                return
            if entity.get("OutboxBlobName"):
                await self._payloads.delete([str(entity["OutboxBlobName"])])
        else:
            await self._payloads.delete(garbage)
        self._remember(i.instance_id, cleared, etag, history, seen)
        await self._hint()

    @_guarded
    async def ready_activities(self, now: datetime, limit: int, busy: set[int]) -> list[ActivityTask]:
        await self._ready()
        await self._drain_hints()
        due = self._index.due_tasks(format_time(now), busy, limit)

        async def read(task_id: int, owner: str) -> ActivityTask | None:
            e = self._task_rows.get(task_id)
            if e is None:
                try:
                    e = dict(await self._instances.get(table_key(owner), _task_key(task_id)))
                except ResourceNotFoundError:
                    self._gone_task(task_id)
                    return None
                self._task_rows[task_id] = e
            return self._task(e, task_id, await self._payloads.get(e, "Input"))

        return [t for t in await asyncio.gather(*(read(t, o) for t, o in due)) if t is not None]

    @_guarded
    async def complete_activity(self, task: ActivityTask, result: Message) -> None:
        await self._ready()
        if task.id in self._held:
            return  # completed before: its result is held
        owner = table_key(task.instance_id)
        row = self._task_rows.get(task.id)
        if row is None:
            try:
                row = dict(await self._instances.get(owner, _task_key(task.id)))
            except ResourceNotFoundError:
                self._gone_task(task.id)
                return  # completed before (the result was queued then)
        if (
            result.instance_id == task.instance_id
            and result.visible_at is None
            and task.instance_id in self._known
            and self._status.get(task.instance_id) is RuntimeStatus.RUNNING
        ):
            # Its instance runs here: the commit of the episode that takes the result deletes the
            # task (a crash before that runs the activity again, as any crash before a commit would).
            message_id = self._new_id()
            body: dict[str, Any] = {
                "PartitionKey": owner,
                "RowKey": _message_key(message_id),
                "InstanceId": task.instance_id,
                "EventType": result.event_type,
                "VisibleAt": AT_ONCE,
                "Event": json.dumps(result.event, separators=(",", ":")),
            }
            if result.execution_id is not None:
                body["ExecutionId"] = result.execution_id
            self._hold(message_id, _Result(body, task.id, blob_refs(row)))
            return
        message = await self._message_entity(result)
        done: Operation = ("delete", {"PartitionKey": owner, "RowKey": _task_key(task.id)}, None)
        try:
            if message["PartitionKey"] == owner:
                # One transaction: the result is queued if and only if the task is deleted.
                await self._instances.transact([("upsert", message, None), done])
            else:
                await self._instances.upsert(message)
                await self._instances.delete(owner, _task_key(task.id))
        except ResourceNotFoundError:
            self._gone_task(task.id)
            await self._payloads.delete(blob_refs(message))
            return  # completed before, or the instance was purged
        except BaseException:
            self._recheck.add(task.instance_id)
            raise
        self._note(message)
        self._gone_task(task.id)
        await self._payloads.delete(blob_refs(row))
        await self._hint()

    @_guarded
    async def abandon_activity(self, task: ActivityTask, retry_at: datetime) -> None:
        await self._ready()
        visible = format_time(retry_at)
        patch = {
            "PartitionKey": table_key(task.instance_id),
            "RowKey": _task_key(task.id),
            "VisibleAt": visible,
            "Attempt": task.attempt + 1,
        }
        try:
            await self._instances.merge(patch)
        except ResourceNotFoundError:
            self._gone_task(task.id)
            return
        row = self._task_rows.get(task.id)
        if row is not None:
            row.update(VisibleAt=visible, Attempt=task.attempt + 1)
        self._index.add_task(task.id, visible, task.instance_id)

    @_guarded
    async def next_due(self, after: datetime) -> datetime | None:
        await self._ready()
        moment = self._index.next_due(format_time(after))
        first = parse_time(moment) if moment else None
        entity = self.entity_next_due(after)
        return entity if first is None or (entity is not None and entity < first) else first

    @_guarded
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
        found = self._instances.query(" and ".join(clauses), params, select=["InstanceId"])
        ids = [str(r["InstanceId"]) async for r in found]
        await self._guard.check()
        return sum([await self._purge(i) for i in ids])


_REQUEST_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _identities(history: list[str]) -> set[tuple[str, Any]]:
    seen: set[tuple[str, Any]] = set()
    for text in history:
        try:
            event = json.loads(text)
        except ValueError:
            continue
        if isinstance(event, dict):
            seen.update(_identity(event))
    return seen


def _without_duplicates(
    history: set[tuple[str, Any]], messages: list[Message], execution_id: str
) -> tuple[list[Message], list[Message]]:
    """Split messages into those to deliver and duplicates of what the history already holds.

    Duplicates only arise from recovery (an outbox applied twice, an activity run twice): a task,
    sub-orchestration or timer has one result per execution, and an execution one start.
    """
    seen = set(history)
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
    if kind == EventType.EVENT_RAISED and _REQUEST_ID.fullmatch(str(event.get("Name"))):
        # An entity's answer to a call, named after the call's request id: one per call.
        return [("answer", event.get("Name"))]
    return []
