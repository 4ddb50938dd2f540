"""The outbox: what an episode's commit could not hold, made real afterwards, and again after a crash.

An instance row with `OutboxPending` holds, as fully built entities with their ids, the messages and
tasks its last commit could not write in its one transaction, the consumed messages still to delete,
the sub-orchestrations to create and the old history to drop. Applying it writes the same keys every
time, so a crash in the middle only means it is applied again: when the store opens, and before the
instance's next work item is read, before it is replaced by a new start and before it is purged (see
azure_commit.py for why a crash between any two writes loses and repeats nothing).
"""

from __future__ import annotations

import json
from typing import Any

from azure.core.exceptions import ResourceModifiedError

from .azure_account import table_key
from .azure_entities import AzureEntities
from .azure_memory import number
from .azure_payloads import blob_refs
from .azure_rows import seq, without_outbox
from .base import RuntimeStatus


class OutboxApplier(AzureEntities):
    """Applies outboxes; every step can run again with the same result."""

    async def _settle(self, instance_id: str) -> tuple[dict[str, Any], str] | None:
        """The instance row, after applying an outbox a crash left in it."""
        row = await self._row(instance_id)
        if row is None or not row[0].get("OutboxPending"):
            return row
        entity, etag = row
        text = await self._payloads.get(entity, "Outbox")
        await self._apply(instance_id, json.loads(text or "{}"))
        cleared = without_outbox(entity)
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
                self._gone_message(owner, number(key))
            elif number(key) in self._held:
                self._gone_message(owner, self._held[number(key)])
        for e in rows:
            self._note(e)
        for row, start in outbox.get("children", []):
            await self._create_child(row, start)
        await self._upsert_requests(outbox.get("entity_requests", []))
        drop = outbox.get("drop")
        if drop:
            await self._write(
                self._history,
                [("delete", {"PartitionKey": owner_key, "RowKey": seq(n)}) for n in range(*drop)],
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
