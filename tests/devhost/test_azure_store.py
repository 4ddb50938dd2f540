"""The `azure` store's own parts on Azurite: the Table client it sends its requests with, its index.

The store's promises are in test_store_contract.py, its layout in test_azure_store_layout.py and its
recovery in test_azure_store_recovery.py.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone

import pytest
from azure.core.credentials import AzureNamedKeyCredential
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import AccountSasPermissions, ResourceTypes, TableServiceClient, generate_account_sas

from devhost.store.azure_account import DEV_ACCOUNT, DEV_KEY, HubNames, ProviderNames
from devhost.store.azure_index import AT_ONCE, DueIndex
from devhost.store.azure_table_values import bind
from devhost.store.azure_tables import Table, TableService

ODD_KEYS = ["it's", "a' or PartitionKey ne '", "100%", "日本", "x y", "a+b=c&d", "@~abc", ""]


@pytest.fixture
async def table(azurite: str) -> AsyncIterator[Table]:
    parsed = TableServiceClient.from_connection_string(azurite)
    service = TableService(parsed.url, parsed.credential)
    parsed.close()
    name = "t" + uuid.uuid4().hex[:16]
    await service.create_table(name)
    try:
        yield service.table(name)
    finally:
        await service.close()


@pytest.mark.azurite
async def test_a_shared_access_signature_signs_instead_of_the_key(table: Table, azurite: str) -> None:
    sas = generate_account_sas(
        AzureNamedKeyCredential(DEV_ACCOUNT, DEV_KEY),
        resource_types=ResourceTypes(service=True, container=True, object=True),
        permission=AccountSasPermissions(
            read=True, write=True, delete=True, list=True, add=True, update=True
        ),
        expiry=datetime.now(timezone.utc) + timedelta(hours=1),
    )
    parsed = TableServiceClient.from_connection_string(
        f"TableEndpoint={table.service.endpoint};SharedAccessSignature={sas}"
    )
    service = TableService(parsed.url, parsed.credential)
    parsed.close()
    try:
        other = service.table(table.name)
        await other.transact([("upsert", {"PartitionKey": "p'1", "RowKey": "", "N": 1}, None)])
        assert (await other.get("p'1", ""))["N"] == 1
        assert [r["N"] async for r in other.query("PartitionKey eq @pk", {"pk": "p'1"})] == [1]
    finally:
        await service.close()


@pytest.mark.azurite
async def test_creating_a_table_twice_says_it_exists(table: Table) -> None:
    with pytest.raises(ResourceExistsError):
        await table.service.create_table(table.name)


@pytest.mark.azurite
@pytest.mark.parametrize("pk", ODD_KEYS)
async def test_odd_keys_and_typed_values_round_trip(table: Table, pk: str) -> None:
    entity = {"PartitionKey": pk, "RowKey": pk, "N": 5, "Big": 2**40, "Yes": True, "S": 'it\'s "x"'}
    etag = await table.upsert(entity)
    row = await table.get(pk, pk)
    assert row == entity and row.etag == etag
    [found] = [r async for r in table.query("PartitionKey eq @pk and RowKey eq @rk", {"pk": pk, "rk": pk})]
    assert found == entity and found.etag == etag
    await table.delete(pk, pk)
    with pytest.raises(ResourceNotFoundError):
        await table.get(pk, pk)


@pytest.mark.azurite
async def test_replace_needs_the_version_read(table: Table) -> None:
    first = await table.upsert({"PartitionKey": "p", "RowKey": "", "N": 1})
    second = await table.replace({"PartitionKey": "p", "RowKey": "", "N": 2}, first)
    with pytest.raises(ResourceModifiedError):
        await table.replace({"PartitionKey": "p", "RowKey": "", "N": 3}, first)
    await table.merge({"PartitionKey": "p", "RowKey": "", "M": "m"}, second)
    assert await table.get("p", "") == {"PartitionKey": "p", "RowKey": "", "N": 2, "M": "m"}
    with pytest.raises(ResourceNotFoundError):
        await table.replace({"PartitionKey": "p", "RowKey": "gone"})


@pytest.mark.azurite
async def test_a_transaction_is_all_or_nothing(table: Table) -> None:
    head = await table.upsert({"PartitionKey": "p", "RowKey": "", "N": 1})
    etags = await table.transact(
        [
            ("replace", {"PartitionKey": "p", "RowKey": "", "N": 2}, head),
            ("insert", {"PartitionKey": "p", "RowKey": "a"}, None),
            ("upsert", {"PartitionKey": "p", "RowKey": "b"}, None),
        ]
    )
    assert len(etags) == 3 and (await table.get("p", "")).etag == etags[0]
    with pytest.raises(ResourceNotFoundError) as gone:
        await table.transact(
            [
                ("upsert", {"PartitionKey": "p", "RowKey": "c"}, None),
                ("delete", {"PartitionKey": "p", "RowKey": "missing"}, None),
            ]
        )
    assert getattr(gone.value, "index", None) == 1
    with pytest.raises(ResourceExistsError):
        await table.transact([("insert", {"PartitionKey": "p", "RowKey": "a"}, None)])
    with pytest.raises(ResourceModifiedError):
        await table.transact(
            [
                ("delete", {"PartitionKey": "p", "RowKey": "a"}, None),
                ("replace", {"PartitionKey": "p", "RowKey": ""}, head),
            ]
        )
    assert [r["RowKey"] async for r in table.query("PartitionKey eq @pk", {"pk": "p"})] == ["", "a", "b"]


@pytest.mark.azurite
async def test_queries_page_through_continuations(table: Table) -> None:
    for n in range(25):
        await table.upsert({"PartitionKey": f"p{n:03d}", "RowKey": "", "N": n})
    found = table.query("PartitionKey ge @lo and PartitionKey lt @hi", {"lo": "p", "hi": "q"}, page_size=10)
    assert [r["N"] async for r in found] == list(range(25))
    some = table.query("N ge @n", {"n": 20}, select=["N"])
    assert [dict(r) async for r in some] == [{"N": n} for n in range(20, 25)]


def test_filter_values_are_literals_not_syntax() -> None:
    text = "PartitionKey eq @pk and N eq @n and B eq @b and L eq @big"
    bound = bind(text, {"pk": "a' or RowKey eq '@n", "n": 3, "b": True, "big": 2**40})
    assert bound == "PartitionKey eq 'a'' or RowKey eq ''@n' and N eq 3 and B eq true and L eq 1099511627776L"


def test_the_index_finds_due_work_oldest_first_and_delayed_work_by_time() -> None:
    index = DueIndex()
    index.add_message("a", 1, AT_ONCE, 0)
    index.add_message("b", 2, AT_ONCE, 0)
    index.add_message("c", 3, "2026-01-01T00:00:10.000000Z", 0)
    index.add_task(10, AT_ONCE, "a")
    index.add_task(11, "2026-01-01T00:00:05.000000Z", "b")
    early, late = "2026-01-01T00:00:00.000000Z", "2026-01-01T00:00:10.000000Z"
    assert [i for i, _ in index.due_instances(early, set())] == ["a", "b"]
    assert [i for i, _ in index.due_instances(late, {"a"})] == ["c", "b"]
    assert index.due_tasks(early, set(), 10) == [(10, "a")]
    assert index.due_tasks(late, set(), 10) == [(11, "b"), (10, "a")]
    assert index.next_due(early) == "2026-01-01T00:00:05.000000Z"
    index.remove_message("a", 1)
    index.set_tasks("b", {})
    index.forget_instance("c")
    assert [i for i, _ in index.due_instances(late, set())] == ["b"]
    assert index.due_tasks(late, set(), 10) == [(10, "a")] and index.next_due(early) is None


@pytest.mark.parametrize("hub", ["Hub", "CustomStatusHub", "A" + "b9" * 22])
def test_devhost_names_follow_azures_rules_and_are_never_the_providers(hub: str) -> None:
    ours = HubNames(hub)
    assert all(re.fullmatch(r"[A-Za-z][A-Za-z0-9]{2,62}", t) for t in ours.tables)
    assert all(
        re.fullmatch(r"[a-z0-9](-?[a-z0-9])*", n) and 3 <= len(n) <= 63
        for n in (ours.hint_queue, ours.container)
    )
    # The provider's names of this hub and of hubs whose names run on into devhost's suffixes.
    theirs: set[str] = set()
    for other in (hub, hub + "Devhost", hub + "Instances", hub + "History", hub.lower()):
        names = ProviderNames(other)
        theirs |= {
            n.lower()
            for n in [*names.tables, *names.control_queues, names.work_item_queue, *names.containers]
        }
    assert not {n.lower() for n in [*ours.tables, ours.hint_queue, ours.container]} & theirs
