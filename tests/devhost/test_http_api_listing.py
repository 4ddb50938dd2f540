"""The Durable HTTP API's instance listing and purging: pages, filters, the continuation header, purge
by filter and of one instance."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import azure.durable_functions as df
import pytest

from devhost.host import DevHost

from .helpers import (
    WEBHOOKS,
    assert_json_error,
    call,
    idle,
    one_of_each,
    run,
    start_waiting,
)

# -- list and purge --------------------------------------------------------------------------------


async def test_list_pages_with_top_and_continuation_token(features: DevHost) -> None:
    for n in range(5):
        await run(features, "input_echo", n, f"page-{n}")
    await run(features, "input_echo", 0, "other")
    seen: list[str] = []
    headers: dict[str, str] = {}
    for _ in range(5):
        reply = await call(
            features,
            "GET",
            f"{WEBHOOKS}/instances",
            headers=headers,
            params={"top": "2", "instanceIdPrefix": "page-"},
        )
        assert reply.status == 200
        page = reply.json()
        assert 0 < len(page) <= 2
        seen += [s["instanceId"] for s in page]
        token = reply.headers.get("x-ms-continuation-token")
        if not token:
            break
        headers = {"x-ms-continuation-token": token}
    assert seen == [f"page-{n}" for n in range(5)]


async def test_list_filters_by_status_and_time(features: DevHost) -> None:
    since = await one_of_each(features, "l-")
    url = f"{WEBHOOKS}/instances/"

    async def ids(**params: str) -> list[str]:
        reply = await call(features, "GET", url, params=params)
        assert reply.status == 200
        return sorted(s["instanceId"] for s in reply.json())

    every = ["l-done", "l-failed", "l-running"]
    assert await ids(runtimeStatus="Failed,Running") == ["l-failed", "l-running"]
    assert await ids(runtimeStatus="Completed,NotAStatus") == ["l-done"]
    assert await ids(createdTimeFrom=since.isoformat()) == every
    assert await ids(createdTimeTo=since.isoformat()) == []


async def test_list_filters_parse_like_the_extension(features: DevHost) -> None:
    """HttpApiHandler.cs, `TryGetIEnumerableQueryParameterValue` (Enum.TryParse), `DateTime.TryParse`,
    `int.TryParse`: names are case-sensitive, numbers count, what does not parse is no filter."""
    await one_of_each(features, "n-")
    url = f"{WEBHOOKS}/instances/"
    every = ["n-done", "n-failed", "n-running"]

    async def ids(**params: str) -> list[str]:
        reply = await call(features, "GET", url, params=params)
        assert reply.status == 200, reply.text
        return sorted(s["instanceId"] for s in reply.json())

    assert await ids(runtimeStatus="failed") == every  # wrong case: not a status, so no filter
    assert await ids(runtimeStatus=" Failed ") == ["n-failed"]
    assert await ids(runtimeStatus="3") == ["n-failed"]
    assert await ids(runtimeStatus="0,1") == ["n-done", "n-running"]
    assert await ids(runtimeStatus="42") == []  # a number parses even outside the enum
    assert await ids(createdTimeFrom="yesterday") == every
    assert await ids(createdTimeTo="not a time") == every
    # DateTime.TryParse reads more than ISO 8601: US dates, month names, RFC 1123.
    assert await ids(createdTimeTo="01/01/2000") == [] and await ids(createdTimeFrom="Jan 1, 2000") == every
    assert await ids(createdTimeTo="Sat, 01 Jan 2000 00:00:00 GMT") == []
    # The calendar's ends, where a local offset would step outside it: .NET reads them all the same.
    assert await ids(createdTimeFrom="0001-01-01") == every and await ids(createdTimeTo="0001-01-01") == []
    assert await ids(createdTimeTo="9999-12-31T23:59:59-05:00") == every
    for edge in ("0001-01-01", "9999-12-31T23:59:59-05:00"):
        listed = await call(features, "GET", f"{WEBHOOKS}/entities", params={"lastOperationTimeTo": edge})
        assert listed.status == 200, listed.text
    assert await ids(top="many") == every  # default page size 100
    assert await ids(top="99999") == every  # no upper bound
    assert_json_error(await call(features, "GET", url, params={"top": "0"}), 400, "top")


async def test_list_always_answers_the_continuation_header(features: DevHost) -> None:
    """HttpApiHandler.cs adds `x-ms-continuation-token` to every list response, empty on the last page."""
    await run(features, "input_echo", 1, "c-1")
    await run(features, "input_echo", 2, "c-2")
    url = f"{WEBHOOKS}/instances"
    first = await call(features, "GET", url, params={"top": "1", "instanceIdPrefix": "c-"})
    token = first.headers["x-ms-continuation-token"]
    assert token
    second = await call(
        features,
        "GET",
        url,
        params={"top": "1", "instanceIdPrefix": "c-"},
        headers={"x-ms-continuation-token": token},
    )
    assert [s["instanceId"] for s in second.json()] == ["c-2"]
    assert second.headers["x-ms-continuation-token"] == ""
    bad = await call(features, "GET", url, headers={"x-ms-continuation-token": "c-1"})
    assert_json_error(bad, 400, "continuation")


async def test_purge_by_filter_needs_created_time_from(features: DevHost) -> None:
    since = await one_of_each(features, "p-")
    url = f"{WEBHOOKS}/instances/"
    assert_json_error(await call(features, "DELETE", url), 400, "createdTimeFrom")
    future = (datetime.now(timezone.utc) + timedelta(days=400)).isoformat()
    assert_json_error(await call(features, "DELETE", url, params={"createdTimeFrom": future}), 404)
    finished = {"createdTimeFrom": since.isoformat(), "runtimeStatus": "Completed,Failed,Running"}
    reply = await call(features, "DELETE", url, params=finished)
    assert reply.status == 200 and reply.json() == {"instancesDeleted": 2}
    remaining = (await call(features, "GET", url)).json()
    assert [s["instanceId"] for s in remaining] == ["p-running"]


async def test_purge_everything_from_datetime_min_through_the_sdk(features: DevHost) -> None:
    """Python's strftime writes year 1 as "1-01-01..." on Linux; the extension pads such years
    (TryGetDateTimeQueryParameterValue), so the common purge-all call works."""
    await one_of_each(features, "m-")
    client = features.client()
    result = await client.purge_instance_history_by(
        created_time_from=datetime.min, runtime_status=[df.OrchestrationRuntimeStatus.Completed]
    )
    assert result.instances_deleted == 1
    listed = await client.get_status_by(created_time_to=datetime(999, 12, 31))
    assert listed == []  # a filter, not dropped as unreadable


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"runtimeStatus": "Running,Pending"},
        {"instanceIdPrefix": "keep-"},
    ],
)
async def test_purge_by_filter_deletes_what_azure_deletes(features: DevHost, params, caplog) -> None:
    """HttpApiHandler.cs (azure-functions-durable-extension), HandleDeleteHistoryWithFiltersRequestAsync
    ignores instanceIdPrefix; DurableTask.AzureStorage's AzureTableTrackingStore.cs,
    PurgeInstanceHistoryAsync, drops non-terminal statuses, and with none left purges every status:
    running instances go too. devhost does the same and warns in its log."""
    since = await one_of_each(features, "keep-")
    reply = await call(
        features, "DELETE", f"{WEBHOOKS}/instances", params={"createdTimeFrom": since.isoformat(), **params}
    )
    assert reply.status == 200 and reply.json() == {"instancesDeleted": 3}
    assert (await call(features, "GET", f"{WEBHOOKS}/instances")).json() == []
    assert_json_error(
        await call(features, "POST", f"{WEBHOOKS}/instances/keep-running/raiseEvent/Next", body=1), 404
    )
    await idle(features)
    warnings = [r.getMessage() for r in caplog.records if r.name == "devhost.api"]
    assert any("EVERY status in the time range, running ones included" in w for w in warnings)
    if "instanceIdPrefix" in params:
        assert any("instanceIdPrefix='keep-' is ignored" in w for w in warnings)


async def test_purge_one_instance_over_http(features: DevHost) -> None:
    await run(features, "input_echo", 1, "gone")
    url = f"{WEBHOOKS}/instances/gone"
    reply = await call(features, "DELETE", url)
    assert reply.status == 200 and reply.json() == {"instancesDeleted": 1}
    assert_json_error(await call(features, "DELETE", url), 404)
    assert_json_error(await call(features, "GET", url), 404)


async def test_purge_of_an_unfinished_instance_is_412_and_deletes_nothing(features: DevHost) -> None:
    """HandleDeleteHistoryByIdRequestAsync (since extension PR 3311) purges finished orchestrations only;
    the SDK's purge_instance_history then raises on the unexpected status."""
    await start_waiting(features, "still-running")
    url = f"{WEBHOOKS}/instances/still-running"
    refused = await call(features, "DELETE", url)
    assert refused.status == 412
    assert refused.json() == (
        "Only orchestrations in a terminal state can be purged, but the orchestration with instance ID "
        "still-running has status Running"
    )
    with pytest.raises(Exception, match="412"):
        await features.client().purge_instance_history("still-running")
    assert (await call(features, "GET", url)).status == 202  # still there, still running
