"""Finding and handing out work on the Azure Storage store: due instances, work items, activity tasks.

**Activity results.** When an activity of an instance this process is running completes, its
result is not written: it waits here, due for the instance, and the commit of the episode that takes
it deletes the task row instead of a message row, in the same transaction. Until then the task row
stays, so a crash before that commit runs the activity again (at least once, as any crash before a
commit would); `close` writes the results still waiting. Otherwise (an instance not run here, or
suspended) completing an activity is one transaction on its instance's partition: the result
message inserted and the task deleted. If the task is gone (completed before, or purged), nothing
is written.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from typing import Any

from azure.core.exceptions import ResourceNotFoundError

from ..errors import StoreError
from ..history import format_time, parse_time
from ..json_text import dumps_ascii
from .azure_account import table_key
from .azure_duplicates import identities, without_duplicates
from .azure_index import AT_ONCE, DueIndex
from .azure_memory import HeldResult, Known, message_key, number, task_key
from .azure_outbox import OutboxApplier
from .azure_payloads import blob_refs
from .azure_rows import guarded
from .azure_tables import Operation
from .base import ActivityTask, Message, RuntimeStatus, WorkItem

log = logging.getLogger("devhost.store.azure")
_ORPHAN_SECONDS = 300


class WorkFetcher(OutboxApplier):
    """What is due, read from the index and the tables; activity completions."""

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
                        str(row["InstanceId"]), number(key), str(row["VisibleAt"]), int(row["EventType"])
                    )
                elif key.startswith("W"):
                    tasks.add(number(key))
                    if number(key) not in self._held:
                        index.add_task(number(key), str(row["VisibleAt"]), str(row["InstanceId"]))
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

    async def _status_of(self, instance_id: str) -> RuntimeStatus | None:
        if instance_id not in self._status:
            try:
                row = await self._instances.get(table_key(instance_id), "", select=["RuntimeStatus"])
                self._status[instance_id] = RuntimeStatus(row["RuntimeStatus"])
            except ResourceNotFoundError:
                self._status[instance_id] = None
        return self._status[instance_id]

    @guarded
    async def ready_instances(self, now: datetime, limit: int, busy: set[str]) -> list[str]:
        await self._ready()
        if await self._hints.from_others():
            await self._reload()
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
            [("delete", {"PartitionKey": table_key(instance_id), "RowKey": message_key(m)}) for m in ids],
        )
        for m in ids:
            self._gone_message(instance_id, m)

    async def _load(self, instance_id: str) -> Known | None:
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

    @guarded
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
            known.seen = identities(history)
        bodies = [self._bodies[m] for m in due]
        messages = list(await asyncio.gather(*(self._message(r) for r in bodies)))
        refs = {number(str(r["RowKey"])): blob_refs(r) for r in bodies}
        keep, duplicates = without_duplicates(known.seen, messages, str(entity["ExecutionId"]))
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

    @guarded
    async def ready_activities(self, now: datetime, limit: int, busy: set[int]) -> list[ActivityTask]:
        await self._ready()
        if await self._hints.from_others():
            await self._reload()
        due = self._index.due_tasks(format_time(now), busy, limit)

        async def read(task_id: int, owner: str) -> ActivityTask | None:
            e = self._task_rows.get(task_id)
            if e is None:
                try:
                    e = dict(await self._instances.get(table_key(owner), task_key(task_id)))
                except ResourceNotFoundError:
                    self._gone_task(task_id)
                    return None
                self._task_rows[task_id] = e
            return self._task(e, task_id, await self._payloads.get(e, "Input"))

        return [t for t in await asyncio.gather(*(read(t, o) for t, o in due)) if t is not None]

    @guarded
    async def complete_activity(self, task: ActivityTask, result: Message) -> None:
        await self._ready()
        if task.id in self._held:
            return  # completed before: its result is held
        owner = table_key(task.instance_id)
        row = self._task_rows.get(task.id)
        if row is None:
            try:
                row = dict(await self._instances.get(owner, task_key(task.id)))
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
                "RowKey": message_key(message_id),
                "InstanceId": task.instance_id,
                "EventType": result.event_type,
                "VisibleAt": AT_ONCE,
                "Event": dumps_ascii(result.event),
            }
            if result.execution_id is not None:
                body["ExecutionId"] = result.execution_id
            self._hold(message_id, HeldResult(body, task.id, blob_refs(row)))
            return
        message = await self._message_entity(result)
        done: Operation = ("delete", {"PartitionKey": owner, "RowKey": task_key(task.id)}, None)
        try:
            if message["PartitionKey"] == owner:
                # One transaction: the result is queued if and only if the task is deleted.
                await self._instances.transact([("upsert", message, None), done])
            else:
                await self._instances.upsert(message)
                await self._instances.delete(owner, task_key(task.id))
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
        await self._hints.soon()

    @guarded
    async def abandon_activity(self, task: ActivityTask, retry_at: datetime) -> None:
        await self._ready()
        visible = format_time(retry_at)
        patch = {
            "PartitionKey": table_key(task.instance_id),
            "RowKey": task_key(task.id),
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

    @guarded
    async def next_due(self, after: datetime) -> datetime | None:
        await self._ready()
        moment = self._index.next_due(format_time(after))
        first = parse_time(moment) if moment else None
        entity = self.entity_next_due(after)
        return entity if first is None or (entity is not None and entity < first) else first
