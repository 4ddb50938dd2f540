"""A fresh task hub on Azurite for the Azure Storage store's tests: stores opened on it, its tables read."""

from __future__ import annotations

from typing import Any

from azure.data.tables.aio import TableClient

from devhost.store import open_store
from devhost.store.azure import AzureStore
from devhost.store.azure_account import HubNames


class AzureHub:
    """One fresh task hub on Azurite; `store()` opens a(nother) store on it, as a devhost restart would."""

    def __init__(self, connection_string: str, name: str) -> None:
        self.connection_string = connection_string
        self.name = name
        self.opened: list[AzureStore] = []

    async def store(self) -> AzureStore:
        s = open_store("azure", hub_name=self.name)
        assert isinstance(s, AzureStore)
        self.opened.append(s)
        await s.open()
        return s

    def table(self, kind: str) -> TableClient:
        """devhost's table of that kind ("Instances" or "History") in this hub."""
        names = HubNames(self.name)
        name = {"Instances": names.instances, "History": names.history}[kind]
        return TableClient.from_connection_string(self.connection_string, name)

    async def rows(self, kind: str, instance_id: str) -> list[dict[str, Any]]:
        async with self.table(kind) as table:
            found = table.query_entities("PartitionKey eq @pk", parameters={"pk": instance_id})
            return [dict(r) async for r in found]

    async def instance_row(self, instance_id: str) -> dict[str, Any]:
        """The instance row itself (its partition also holds its messages and tasks)."""
        [row] = [r for r in await self.rows("Instances", instance_id) if r["RowKey"] == ""]
        return row

    async def pending(self, instance_id: str) -> tuple[list[int], list[str]]:
        """The event types of the instance's messages and the names of its tasks, in the table."""
        rows = await self.rows("Instances", instance_id)
        return (
            [r["EventType"] for r in rows if r["RowKey"].startswith("M")],
            [r["Name"] for r in rows if r["RowKey"].startswith("W")],
        )
