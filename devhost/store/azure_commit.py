"""The commit of an orchestration episode on the Azure Storage store.

**One episode, and why a crash between any two writes loses and repeats nothing.** Tables have no
transaction across partitions or tables, so `complete_orchestration` writes in this order:

1. History rows for the tail and the new events, upserted at sequence numbers from TailStart on.
   Readers stop at TailStart, so these rows are invisible; a retry of the episode upserts the same
   keys. This step is skipped while the instance has activities out (it scheduled some, or some are
   still running or waiting for it) and when it ends: the new events then join the tail in the
   instance row, which is written in step 2 anyway. So a chain of activities writes its History
   rows once, when it waits on a timer, an event or a sub-orchestration (or when the tail outgrows
   24,000 characters), and one that ends first writes none: its history stays in its row.
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
"""

from __future__ import annotations

import json
from typing import Any

from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError

from ..errors import StoreError
from ..json_text import dumps_ascii
from .azure_account import table_key
from .azure_duplicates import identity
from .azure_outbox import OutboxApplier
from .azure_payloads import MAX_PROPERTY_BYTES, blob_refs
from .azure_rows import BATCH_BYTES, BATCH_OPS, guarded, row_size, seq, tail_of, without_outbox
from .azure_tables import Operation
from .base import EpisodeResult

# Recent events kept in the instance row: JSON text (ASCII), well under 60 KiB of UTF-16.
_TAIL_CHARS = 24_000
_TAIL_EVENT_CHARS = 4_000  # a larger event goes to the History table at once


class EpisodeCommitter(OutboxApplier):
    """`complete_orchestration`: history rows, then one transaction, then the outbox if there is one."""

    @guarded
    async def complete_orchestration(self, result: EpisodeResult) -> None:
        await self._ready()
        try:
            await self._complete(result)
        except BaseException:
            self._forget(result.instance.instance_id)
            raise

    def _keeps_tail(self, result: EpisodeResult, tail_text: str) -> bool:
        """Whether an episode's events may stay in the instance row (no History write this time).

        While its activities are out, and once it has ended (nothing rewrites its row then, so the
        tail costs no more than History rows would): a chain of activities then writes its History
        rows once, when it waits on a timer, an event or a sub-orchestration, and none if it ends
        first with a history that fits.
        """
        instance_id = result.instance.instance_id
        consumed = set(result.consumed)
        return (
            len(tail_text) <= _TAIL_CHARS
            and all(len(text) <= _TAIL_EVENT_CHARS for text in result.new_history)
            and (
                result.instance.runtime_status.is_terminal
                or bool(
                    result.activities
                    or self._index.tasks_of(instance_id)
                    or any(m not in consumed for m, _ in self._held_of(instance_id))
                )
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
        old_tail_start, tail = tail_of(old)
        new_start = end if result.reset_history else start
        tail_start, tail = (end, []) if result.reset_history else (old_tail_start, tail)
        tail += result.new_history
        added: set[tuple[str, Any]] = set()
        for text in result.new_history:
            added.update(identity(json.loads(text) if text.startswith("{") else {}))
        entity = await self._instance_entity(i, new_start, end + len(result.new_history))
        tail_text = dumps_ascii(tail)
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
                    "RowKey": seq(tail_start + n),
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
        room, space = BATCH_OPS - 1, BATCH_BYTES - row_size(entity) - 2 * MAX_PROPERTY_BYTES
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
            if room > 0 and row_size(e) <= space:
                written.append(e)
                room, space = room - 1, space - row_size(e)
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
            await self._payloads.put(entity, "Outbox", dumps_ascii(outbox), i.instance_id)
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
        cleared = without_outbox(entity)
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
        await self._hints.soon()
