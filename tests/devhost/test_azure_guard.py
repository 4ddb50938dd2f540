"""The `azure` store's guard on Azurite: a hub the real host made, or an older devhost layout, is refused
and left exactly as it was; a fresh hub gets the layout marker; purge touches only devhost's own.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from azure.data.tables.aio import TableServiceClient
from azure.storage.blob.aio import BlobServiceClient
from azure.storage.queue.aio import QueueServiceClient

from devhost import DevHost
from devhost.config import HUB_SETTING
from devhost.errors import HubConflictError
from devhost.history import EventType, event, format_time
from devhost.store import InstanceQuery, InstanceRecord, Message, RuntimeStatus, open_store
from devhost.store.azure import AzureStore
from devhost.store.azure_account import HubNames, ProviderNames
from devhost.store.azure_guard import LAYOUT, MARKER, TASK_HUB_BLOB
from tests.azurite import new_hub

pytestmark = pytest.mark.azurite
ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
# What DurableTask.AzureStorage writes, in outline: its task hub description, an instance row, a
# control queue message (a serialized MessageData).
TASK_HUB_JSON = '{"TaskHubName":"%s","CreatedAt":"2026-01-01T00:00:00Z","PartitionCount":4}'
PROVIDER_ROW = {
    "PartitionKey": "3f2a9c",
    "RowKey": "",
    "Name": "E1_HelloSequence",
    "ExecutionId": "b1e5",
    "RuntimeStatus": "Running",
    "CustomStatus": '"Tokyo"',
}
PROVIDER_MESSAGE = json.dumps(
    {
        "$type": "DurableTask.AzureStorage.MessageData",
        "ActivityId": "0d1c",
        "TaskMessage": {"Event": {"EventType": 0}, "OrchestrationInstance": {"InstanceId": "3f2a9c"}},
        "SequenceNumber": 1,
    }
)


class Account:
    """The Azurite account through the SDKs, independent of the store under test."""

    def __init__(self, connection_string: str) -> None:
        self.tables = TableServiceClient.from_connection_string(connection_string)
        self.queues = QueueServiceClient.from_connection_string(connection_string)
        self.blobs = BlobServiceClient.from_connection_string(connection_string)

    async def close(self) -> None:
        for client in (self.tables, self.queues, self.blobs):
            await client.close()

    async def table_rows(self, name: str, *rows: dict[str, Any]) -> None:
        table = self.tables.get_table_client(name)
        await self.tables.create_table_if_not_exists(name)
        for row in rows:
            await table.upsert_entity(row)

    async def queue_messages(self, name: str, *messages: str) -> None:
        queue = self.queues.get_queue_client(name)
        await queue.create_queue()
        for text in messages:
            await queue.send_message(text)

    async def blob(self, container: str, name: str, data: str) -> None:
        client = self.blobs.get_container_client(container)
        if not await client.exists():
            await client.create_container()
        await client.upload_blob(name, data.encode(), overwrite=True)

    async def provider_hub(
        self, hub: str, parts: tuple[str, ...] = ("leases", "instances", "control")
    ) -> None:
        """A task hub as the Durable extension's provider lays it out (the parts asked for)."""
        names = ProviderNames(hub)
        if "leases" in parts:
            await self.blob(names.leases, TASK_HUB_BLOB, TASK_HUB_JSON % hub)
            await self.blob(names.leases, "default/" + names.control_queues[0], '{"PartitionId":"00"}')
        if "instances" in parts:
            await self.table_rows(f"{hub}Instances", PROVIDER_ROW)
            await self.table_rows(f"{hub}History", {"PartitionKey": "3f2a9c", "RowKey": "sentinel"})
        if "control" in parts:
            await self.queue_messages(names.control_queues[0], PROVIDER_MESSAGE)
            await self.queue_messages(names.work_item_queue)

    async def snapshot(self, hub: str, *, provider_only: bool = False) -> dict[str, Any]:
        """Every table row, queue message (peeked) and blob whose resource name starts with the hub
        (or, with provider_only, that has one of the provider's names for it)."""
        lower = hub.lower()
        names = ProviderNames(hub)
        wanted = {
            n.lower()
            for n in [*names.tables, *names.control_queues, names.work_item_queue, *names.containers]
        }

        def taken(name: str) -> bool:
            return name.lower() in wanted if provider_only else name.lower().startswith(lower)

        state: dict[str, Any] = {}
        async for t in self.tables.list_tables():
            if taken(t.name):
                rows = self.tables.get_table_client(t.name).list_entities()
                state["table " + t.name] = [(dict(r), r.metadata["etag"]) async for r in rows]
        async for q in self.queues.list_queues(name_starts_with=lower):
            if not taken(q.name):
                continue
            peeked = await self.queues.get_queue_client(q.name).peek_messages(max_messages=32)
            state["queue " + q.name] = [(m.id, m.content, m.dequeue_count, m.expires_on) for m in peeked]
        async for c in self.blobs.list_containers(name_starts_with=lower):
            if not taken(c.name):
                continue
            container = self.blobs.get_container_client(c.name)
            blobs = []
            async for b in container.list_blobs():
                data = await (await container.download_blob(b.name)).readall()
                blobs.append((b.name, b.etag, data))
            state["container " + c.name] = blobs
        return state


@pytest.fixture
async def account(azurite: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Account]:
    monkeypatch.setenv("AzureWebJobsStorage", azurite)
    found = Account(azurite)
    yield found
    await found.close()


async def refused(hub: str) -> str:
    """Open a store on the hub: it must refuse; its message."""
    store = open_store("azure", hub_name=hub)
    try:
        with pytest.raises(HubConflictError) as refusal:
            await store.open()
    finally:
        await store.close()
    return str(refusal.value)


async def opened(hub: str) -> AzureStore:
    store = open_store("azure", hub_name=hub)
    assert isinstance(store, AzureStore)
    await store.open()
    return store


def finished(instance_id: str) -> tuple[InstanceRecord, Message]:
    stamp = format_time(NOW)
    instance = InstanceRecord(instance_id, "Orch", "e1", RuntimeStatus.COMPLETED, stamp, stamp, input='"x"')
    return instance, Message(
        instance_id, event(EventType.EXECUTION_STARTED, NOW, Name="Orch"), execution_id="e1"
    )


@pytest.mark.parametrize(
    "parts",
    [("leases", "instances", "control"), ("leases",), ("instances",), ("control",)],
    ids=["whole", "leases-only", "instances-only", "control-queue-only"],
)
async def test_a_hub_the_durable_extension_made_is_refused_and_left_as_it_was(
    account: Account, parts: tuple[str, ...]
) -> None:
    hub = new_hub()
    await account.provider_hub(hub, parts)
    before = await account.snapshot(hub)
    message = await refused(hub)
    assert await account.snapshot(hub) == before  # nothing written, nothing created
    lower = hub.lower()
    assert f"task hub '{hub}'" in message and "Durable extension" in message
    assert ("leases" in parts) == (f"container {lower}-leases with {TASK_HUB_BLOB}" in message)
    assert ("instances" in parts) == (f"table {hub}Instances (rows)" in message)
    assert ("control" in parts) == (f"queue {lower}-control-00 (1 message)" in message)
    assert "extensions.durableTask.hubName" in message and f"{HUB_SETTING}=" in message
    assert "another storage account" in message


async def test_devhost_start_refuses_the_real_hosts_hub(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = new_hub()
    monkeypatch.setenv(HUB_SETTING, hub)
    await account.provider_hub(hub)
    before = await account.snapshot(hub)
    host = DevHost(ROOT, store="azure", port=0, rpc_port=0, workers=0)
    with pytest.raises(HubConflictError, match=f"task hub '{hub}'"):
        await host.start()
    await host.stop()
    assert await account.snapshot(hub) == before


async def layout_1(account: Account, hub: str, *, rows: bool) -> None:
    """What devhost wrote before layout 2: the provider's names, devhost's rows, hints in control-00."""
    names = ProviderNames(hub)
    instance = {"PartitionKey": "i1", "RowKey": "", "InstanceId": "i1", "HistoryStart": 0, "HistoryEnd": 1}
    message = {"PartitionKey": "i1", "RowKey": "M" + "1".zfill(20), "InstanceId": "i1", "VisibleAt": ""}
    history = {"PartitionKey": "i1", "RowKey": "0" * 16, "Event": '{"EventType":0}'}
    await account.table_rows(f"{hub}Instances", *([instance, message] if rows else []))
    await account.table_rows(f"{hub}History", *([history] if rows else []))
    hints = ['{"writer": "5e0c"}'] if rows else []
    await account.queue_messages(names.control_queues[0], *hints)
    for queue in [*names.control_queues[1:4], names.work_item_queue]:
        await account.queue_messages(queue)
    await account.blob(f"{hub.lower()}-largemessages", "i1/input-1.json", '"big"')


@pytest.mark.parametrize("rows", [True, False], ids=["in-use", "empty"])
async def test_a_hub_of_devhost_layout_1_is_refused_with_a_way_to_migrate(
    account: Account, rows: bool
) -> None:
    hub = new_hub()
    await layout_1(account, hub, rows=rows)
    before = await account.snapshot(hub)
    message = await refused(hub)
    assert await account.snapshot(hub) == before
    lower = hub.lower()
    assert "layout 1" in message and "Durable extension's task hub" not in message
    assert f"table {hub}Instances" in message and f"container {lower}-largemessages" in message
    assert f"queue {lower}-control-00 ({'1 message' if rows else 'empty'})" in message
    assert "Delete those tables, queues and containers" in message and f"{HUB_SETTING}=" in message


@pytest.mark.parametrize(
    ("marker", "expected"),
    [
        (
            json.dumps({"layout": LAYOUT + 1, "created": "2030-01-01T00:00:00+00:00"}),
            f"in layout {LAYOUT + 1}",
        ),
        (json.dumps({"layout": 1}), "Its instances are not carried over"),
        ("not json", "not devhost's layout marker"),
    ],
    ids=["newer", "older", "not-a-marker"],
)
async def test_a_marker_of_another_layout_is_refused(account: Account, marker: str, expected: str) -> None:
    hub = new_hub()
    await account.blob(HubNames(hub).container, MARKER, marker)
    before = await account.snapshot(hub)
    message = await refused(hub)
    assert expected in message and f"{HUB_SETTING}=" in message
    assert await account.snapshot(hub) == before


async def test_a_fresh_hub_gets_the_marker_and_opens_again(account: Account) -> None:
    hub = new_hub()
    store = await opened(hub)
    await store.close()
    container = account.blobs.get_container_client(HubNames(hub).container)
    marker = json.loads(await (await container.download_blob(MARKER)).readall())
    assert marker["layout"] == LAYOUT and marker["hub"] == hub
    assert datetime.fromisoformat(marker["created"]).tzinfo is not None
    first = await account.snapshot(hub)
    again = await opened(hub)
    await again.close()
    assert await account.snapshot(hub) == first  # the marker is written once, not on every start


async def test_purge_touches_only_devhosts_resources(account: Account) -> None:
    hub = new_hub()
    # Hubs whose real names start like devhost's would under a naive prefix or suffix.
    neighbours = [hub + "Devhost", hub + "Instances"]
    for other in neighbours:
        await account.provider_hub(other)
    await layout_1(account, hub + "Old", rows=True)
    before = {o: await account.snapshot(o, provider_only=True) for o in [*neighbours, hub + "Old"]}
    store = await opened(hub)
    try:
        for n in range(3):
            await store.create_instance(*finished(f"i{n}"))
        assert await store.purge("i0") == 1
        assert await store.purge_by(InstanceQuery()) == 2
        assert await store.query_instances(InstanceQuery(), 10, None) == ([], None)
    finally:
        await store.close()
    assert {o: await account.snapshot(o, provider_only=True) for o in before} == before
    assert all(before.values())  # the neighbours were there to be touched


async def test_purge_is_refused_once_the_real_host_made_a_hub_of_the_same_name(account: Account) -> None:
    hub = new_hub()
    store = await opened(hub)
    try:
        await store.create_instance(*finished("i1"))
        await account.provider_hub(hub)  # func start on the same account and hub, while devhost runs
        before = await account.snapshot(hub)
        with pytest.raises(HubConflictError, match="Durable extension"):
            await store.purge("i1")
        with pytest.raises(HubConflictError, match="Durable extension"):
            await store.purge_by(InstanceQuery())
        assert await account.snapshot(hub) == before
        assert await store.get_instance("i1") is not None
    finally:
        await store.close()


async def test_a_purge_refused_over_http_is_a_409_saying_why(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = new_hub()
    monkeypatch.setenv(HUB_SETTING, hub)
    async with DevHost(ROOT, store="azure", port=0, rpc_port=0, workers=0) as host:
        await host._store.create_instance(*finished("i1"))
        await account.provider_hub(hub)  # func start on the same account and hub, while devhost runs
        before = await account.snapshot(hub)
        base = f"http://127.0.0.1:{host.port}/runtime/webhooks/durabletask/instances"
        async with aiohttp.ClientSession() as http:
            for method, url in (("DELETE", f"{base}/i1"), ("DELETE", f"{base}?createdTimeFrom=2000-01-01")):
                async with http.request(method, url) as reply:
                    body = await reply.json()
                    assert reply.status == 409, body
                    assert "Durable extension" in body["Message"] and f"task hub '{hub}'" in body["Message"]
        assert await account.snapshot(hub) == before
        assert await host._store.get_instance("i1") is not None
