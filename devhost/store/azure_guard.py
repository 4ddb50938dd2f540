"""The `azure` store's guard: devhost never shares a task hub with the real host, nor with another layout.

devhost's resources have names of their own (azure_account.HubNames), so they cannot overwrite the
real provider's. But the same hub name on one account still means two hosts that each take the
hub's instances for theirs, so before devhost creates anything, and again before it purges, the
guard reads the account for

- the Durable extension's hub of that name (DurableTask.AzureStorage): the containers
  `<hub lower>-leases` (holding `taskhub.json`, the task hub description), `-applease`,
  `-appleaseinfo` and `-largemessages`, the tables `<hub>Instances`, `<hub>History` and
  `<hub>Partitions`, the queues `<hub lower>-control-NN` and `-workitems`;
- devhost's layout 1 (devhost before the marker), which used those very names. It is told apart
  by its shape: no leases container, no Partitions table, rows with properties only devhost wrote,
  and queue messages that are devhost's wake-up hints;
- devhost's marker, the blob `devhost-layout.json` in the hub's devhost container, written when
  devhost creates a hub: `{"layout": 2, "hub": ..., "created": ...}`. Another layout is refused.

Any of the first two, or a marker of another layout, raises `HubConflictError` naming what was
found and the way out. Reading is all the guard does; `claim` writes the marker, in devhost's own
container. Upstream: Azure/durabletask `src/DurableTask.AzureStorage/AzureStorageOrchestrationService.cs`
and `AzureStorageOrchestrationServiceSettings.cs` (names), `Partitioning/BlobPartitionLeaseManager.cs`
(`taskhub.json`); see docs/azure-storage-names.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.blob.aio import BlobServiceClient
from azure.storage.queue.aio import QueueServiceClient

from ..config import HUB_SETTING
from ..errors import HubConflictError
from .azure_account import HubNames, ProviderNames
from .azure_tables import TableService

LAYOUT = 2
MARKER = "devhost-layout.json"
TASK_HUB_BLOB = "taskhub.json"  # the provider's task hub description, in its leases container
_SAMPLE_ROWS = 5
_PEEK = 32  # the most messages one peek returns
# Properties only devhost's layout 1 wrote: an instance row's history window, a message's or
# task's due time, a History row's event JSON. A row with none of them is the provider's.
_DEVHOST_PROPERTIES = frozenset({"HistoryStart", "VisibleAt", "Event"})


@dataclass
class _Survey:
    """What the account holds under the provider's names for the hub."""

    found: list[str] = field(default_factory=list)
    provider: bool = False  # something only the real provider makes


class HubGuard:
    """Reads the account for a hub devhost must not touch; writes only devhost's marker."""

    def __init__(
        self,
        tables: TableService,
        queues: QueueServiceClient,
        blobs: BlobServiceClient,
        hub: str,
        shown: str,
    ) -> None:
        self.hub = hub
        self.names = HubNames(hub)
        self.provider = ProviderNames(hub)
        self._tables = tables
        self._queues = queues
        self._blobs = blobs
        self._shown = shown

    async def check(self) -> bool:
        """Whether devhost's hub exists (its marker is there); HubConflictError if it may not be used.

        Raises HubConflictError when the account holds the real provider's hub of this name,
        devhost's layout 1 of it, or a marker of another layout (or not a marker); AzureError when
        the account cannot be read.
        """
        survey, marker = await asyncio.gather(self._survey(), self._marker())
        if survey.found:
            found = self._provider_found(survey) if survey.provider else self._layout_1(survey)
            raise HubConflictError(found)
        if marker is None:
            return False
        if not isinstance(marker, dict) or not isinstance(marker.get("layout"), int):
            raise HubConflictError(
                f"{self._where()} holds a blob {MARKER} in container {self.names.container} that is not "
                f"devhost's layout marker, so that container is not devhost's. {self._way_out()}"
            )
        if marker["layout"] != LAYOUT:
            first = (
                "Run the newer devhost that made it, or "
                if marker["layout"] > LAYOUT
                else "Its instances are not carried over: "
            )
            raise HubConflictError(
                f"{self._where()} holds devhost's task hub '{self.hub}' in layout {marker['layout']} "
                f"(created {marker.get('created', 'at an unknown time')}); this devhost reads layout "
                f"{LAYOUT}. "
                + first
                + f"delete the tables {', '.join(self.names.tables)}, the queue {self.names.hint_queue} "
                f"and the container {self.names.container}, or {self._way_out(lead=False)}"
            )
        return True

    async def claim(self) -> None:
        """Write the marker into devhost's container (which must exist); one already there stays."""
        body = json.dumps(
            {"layout": LAYOUT, "hub": self.hub, "created": datetime.now(timezone.utc).isoformat()}
        )
        container = self._blobs.get_container_client(self.names.container)
        with contextlib.suppress(ResourceExistsError):
            await container.upload_blob(MARKER, body.encode(), overwrite=False)

    # -- reading ------------------------------------------------------------------------------

    async def _marker(self) -> Any:
        """The marker's JSON (None if there is none); the text itself if it is not JSON."""
        blob = self._blobs.get_blob_client(self.names.container, MARKER)
        try:
            data = await (await blob.download_blob()).readall()
        except ResourceNotFoundError:  # no container or no blob
            return None
        try:
            return json.loads(data)
        except ValueError:
            return data

    async def _survey(self) -> _Survey:
        survey = _Survey()
        parts = await asyncio.gather(
            self._containers(), self._queue_messages(), *(self._table(t) for t in self.provider.tables)
        )
        for found, provider in parts:
            survey.found += found
            survey.provider = survey.provider or provider
        return survey

    async def _containers(self) -> tuple[list[str], bool]:
        found: list[str] = []
        provider = False
        wanted = set(self.provider.containers)
        async for item in self._blobs.list_containers(name_starts_with=self.hub.lower() + "-"):
            if item.name not in wanted:
                continue
            text = f"container {item.name}"
            if item.name == self.provider.leases:
                described = await self._blobs.get_blob_client(item.name, TASK_HUB_BLOB).exists()
                text += f" with {TASK_HUB_BLOB}" if described else ""
            # Only the provider makes lease containers; large messages were devhost's too.
            provider = provider or not item.name.endswith("-largemessages")
            found.append(text)
        return found, provider

    async def _queue_messages(self) -> tuple[list[str], bool]:
        found: list[str] = []
        provider = False
        wanted = {*self.provider.control_queues, self.provider.work_item_queue}
        async for item in self._queues.list_queues(name_starts_with=self.hub.lower() + "-"):
            if item.name not in wanted:
                continue
            peeked = await self._queues.get_queue_client(item.name).peek_messages(max_messages=_PEEK)
            provider = provider or any(not _is_hint(m.content) for m in peeked)
            count = len(peeked)
            many = f"{count}{'+' if count == _PEEK else ''} message{'' if count == 1 else 's'}"
            found.append(f"queue {item.name} ({many})" if count else f"queue {item.name} (empty)")
        return sorted(found), provider

    async def _table(self, name: str) -> tuple[list[str], bool]:
        rows: list[dict[str, Any]] = []
        try:
            async with contextlib.aclosing(self._tables.table(name).query(page_size=_SAMPLE_ROWS)) as found:  # type: ignore[type-var]
                async for row in found:
                    rows.append(row)
                    if len(rows) == _SAMPLE_ROWS:
                        break
        except ResourceNotFoundError:
            return [], False
        provider = name.endswith("Partitions") or any(not _DEVHOST_PROPERTIES & row.keys() for row in rows)
        return [f"table {name} ({'rows' if rows else 'empty'})"], provider

    # -- messages -----------------------------------------------------------------------------

    def _where(self) -> str:
        return f"Azure Storage ({self._shown})"

    def _way_out(self, *, lead: bool = True) -> str:
        other = self.hub[:42] + "Dev"
        text = (
            f"use another task hub name (host.json extensions.durableTask.hubName, or the setting "
            f"{HUB_SETTING}={other}) or another storage account."
        )
        return text[0].upper() + text[1:] if lead else text

    def _provider_found(self, survey: _Survey) -> str:
        return (
            f"{self._where()} already holds the Durable extension's task hub '{self.hub}' (made by the "
            f"Functions host, with Core Tools or in Azure): {', '.join(survey.found)}. devhost keeps a hub "
            f"in resources of its own and does not run beside the real host's hub of the same name; "
            f"nothing was changed. {self._way_out()}"
        )

    def _layout_1(self, survey: _Survey) -> str:
        return (
            f"{self._where()} holds devhost's task hub '{self.hub}' in layout 1, which used the Durable "
            f"extension's names: {', '.join(survey.found)}. This devhost keeps hubs in resources of its "
            f"own (layout {LAYOUT}) and does not carry layout 1 over; nothing was changed. Delete those "
            f"tables, queues and containers (in Storage Explorer, or for Azurite stop it and delete its "
            f"--location folder), or {self._way_out(lead=False)}"
        )


def _is_hint(content: object) -> bool:
    """Whether a queue message is one of devhost's wake-up hints (`{"writer": ...}`)."""
    try:
        body = json.loads(content) if isinstance(content, (str, bytes)) else None
    except ValueError:
        return False
    return isinstance(body, dict) and set(body) == {"writer"}
