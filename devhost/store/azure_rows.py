"""The Azure Storage store's rows: keys, sizes, and records, messages and tasks as table entities.

`RowAccess` holds the store's clients and what it remembers (azure_memory.py) and reads and writes rows;
the classes built on it (azure_outbox.py, azure_commit.py, azure_work.py, azure.py) add the store's
operations. Keys: instance ids are PartitionKeys as they are (odd ones encoded, see azure_account.py);
message and task ids are numbers, in RowKeys "M" and "W" + 20 digits; History RowKeys are 16 hex digits
of the event's sequence number.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import time
from collections.abc import Callable, Coroutine, Iterable, Mapping
from datetime import datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

from azure.core.exceptions import AzureError, ResourceNotFoundError
from azure.data.tables import TableServiceClient as ConnectionStringParser
from azure.storage.blob.aio import BlobServiceClient
from azure.storage.queue.aio import QueueServiceClient

from ..errors import StoreError
from ..history import format_time, parse_time
from ..json_text import dumps_ascii
from .azure_account import Account, HubNames, table_key
from .azure_guard import HubGuard
from .azure_hints import WakeHints
from .azure_index import AT_ONCE
from .azure_memory import HeldResult, Remembered, message_key, number, task_key
from .azure_payloads import Payloads
from .azure_tables import Table, TableService
from .base import ActivityTask, InstanceRecord, Message, RuntimeStatus

log = logging.getLogger("devhost.store.azure")
BATCH_OPS = 100  # Azure's limit per entity group transaction
BATCH_BYTES = 3_000_000  # below the 4 MiB request limit
OUTBOX_PROPERTIES = ("Outbox", "OutboxBlobName", "OutboxPending")
_S = TypeVar("_S", bound="RowAccess")
_T = TypeVar("_T")
_P = ParamSpec("_P")


def guarded(
    method: Callable[Concatenate[_S, _P], Coroutine[Any, Any, _T]],
) -> Callable[Concatenate[_S, _P], Coroutine[Any, Any, _T]]:
    """Azure SDK failures become StoreError (an infrastructure failure: the work item is retried)."""

    @functools.wraps(method)
    async def run(self: _S, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        try:
            return await method(self, *args, **kwargs)
        except AzureError as exc:
            raise StoreError(f"Azure Storage ({self.account.shown}) failed: {error_reason(exc)}") from exc

    return run


def error_reason(exc: AzureError) -> str:
    return (getattr(exc, "message", None) or str(exc)).splitlines()[0][:300]


def seq(number: int) -> str:
    return f"{number:016X}"


def visible(moment: datetime | None) -> str:
    return format_time(moment) if moment else AT_ONCE


def row_size(entity: Mapping[str, Any]) -> int:
    return 200 + sum(2 * len(str(v)) + 2 * len(k) for k, v in entity.items())


def tail_of(entity: Mapping[str, Any]) -> tuple[int, list[str]]:
    """Where the events kept in the instance row start, and those events."""
    text = entity.get("HistoryTail")
    if not text:
        return int(entity.get("HistoryEnd", 0)), []
    return int(entity["TailStart"]), json.loads(text)


def without_outbox(entity: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entity.items() if k not in OUTBOX_PROPERTIES}


class RowAccess(Remembered):
    """The clients of one task hub, and the reads and writes every operation of the store is made of."""

    def __init__(self, account: Account, hub: str) -> None:
        super().__init__()
        # The SDKs log every request at INFO; devhost's log is for the app.
        logging.getLogger("azure").setLevel(logging.WARNING)
        self.account = account
        self.names = HubNames(hub)
        # Three retries about 0.2 s apart, as azure_tables.py retries (the storage SDKs' own policy
        # waits 15 s before its first retry, which held the engine that long in an outage).
        options: dict[str, Any] = {
            "retry_total": 3,
            "initial_backoff": 0.2,
            "increment_base": 0,
            "random_jitter_range": 0.1,
            "connection_timeout": 10,
        }
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
        self._hints = WakeHints(self._queues.get_queue_client(self.names.hint_queue))
        self._last_id = 0
        self._opened = False
        self._open_lock = asyncio.Lock()

    async def open(self) -> None:
        raise NotImplementedError  # AzureStore.open (azure.py)

    async def _ready(self) -> None:
        if not self._opened:
            await self.open()

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
            ("Ledger", i.ledger_json()),
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
            ledger_text=ledger or None,
        )

    async def _message_entity(self, m: Message) -> dict[str, Any]:
        entity: dict[str, Any] = {
            "PartitionKey": table_key(m.instance_id),
            "RowKey": message_key(self._new_id()),
            "InstanceId": m.instance_id,
            "EventType": m.event_type,
            "VisibleAt": visible(m.visible_at),
        }
        if m.execution_id is not None:
            entity["ExecutionId"] = m.execution_id
        await self._payloads.put(entity, "Event", dumps_ascii(m.event), m.instance_id)
        return entity

    async def _task_entity(self, a: ActivityTask) -> dict[str, Any]:
        entity: dict[str, Any] = {
            "PartitionKey": table_key(a.instance_id),
            "RowKey": task_key(self._new_id()),
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
            id=number(str(e["RowKey"])),
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
            weight = row_size(op[1])
            if chunk and (len(chunk) >= BATCH_OPS or size[0] + weight > BATCH_BYTES):
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
        tail_start, tail = tail_of(entity)
        return await self._history_texts(instance_id, int(entity["HistoryStart"]), tail_start) + tail

    async def _history_texts(self, instance_id: str, start: int, end: int) -> list[str]:
        if end <= start:
            return []
        rows = self._history.query(
            "PartitionKey eq @pk and RowKey ge @lo and RowKey lt @hi",
            {"pk": table_key(instance_id), "lo": seq(start), "hi": seq(end)},
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

    async def _write_result(self, message_id: int, held: HeldResult) -> None:
        """Write a held result as an activity completion does when nothing holds it."""
        body = held.body
        entity = {k: v for k, v in body.items() if k != "Event"}
        await self._payloads.put(entity, "Event", str(body["Event"]), str(body["InstanceId"]))
        task = {"PartitionKey": body["PartitionKey"], "RowKey": task_key(held.task_id)}
        with contextlib.suppress(ResourceNotFoundError):  # the task is gone: so is the need
            await self._instances.transact([("upsert", entity, None), ("delete", task, None)])
        self._results.pop(message_id, None)
        self._held.pop(held.task_id, None)
        await self._payloads.delete(held.task_blobs)
