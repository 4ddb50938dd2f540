"""A host never stops silently: failures in the store or in devhost are logged, retried, survived."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from devhost.engine import dispatcher
from devhost.errors import StoreError
from devhost.host import DevHost
from devhost.store import SqliteStore

from .conftest import host_for
from .helpers import WEBHOOKS, Status, call, wait_done, wait_for


class Failing:
    """Makes a store method raise RuntimeError (not a StoreError): its first `times` calls, or while on."""

    def __init__(self, store: Any, method: str, *, times: int | None = None) -> None:
        self.on = True
        self.failures = 0
        real: Callable[..., Awaitable[Any]] = getattr(store, method)

        async def flaky(*args: Any) -> Any:
            if self.on and (times is None or self.failures < times):
                self.failures += 1
                raise RuntimeError(f"injected failure in {method}")
            return await real(*args)

        setattr(store, method, flaky)

    async def failed(self, times: int) -> bool:
        return self.failures >= times


@pytest.fixture
async def host(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[DevHost]:
    """The features app with the retry pauses shortened (the real ones start at one second)."""
    monkeypatch.setattr(dispatcher, "_RETRY_FIRST_SECONDS", 0.01)
    async for running in host_for("features"):
        yield running


def errors_about(caplog: pytest.LogCaptureFixture, text: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR and text in r.getMessage()]


async def test_a_failing_work_item_is_logged_with_its_instance_and_retried(
    host: DevHost, caplog: pytest.LogCaptureFixture
) -> None:
    looking = Failing(host._store, "ready_instances", times=2)
    fetching = Failing(host._store, "fetch_work_item")
    client = host.client()
    instance_id = await client.start_new("input_echo", None, 42)
    await wait_for(lambda: fetching.failed(3))
    # The host still answers HTTP while the work item keeps failing, and the instance waits.
    reply = await call(host, "GET", f"{WEBHOOKS}/instances/{instance_id}")
    assert reply.status == 202, reply.text
    assert reply.json()["runtimeStatus"] == "Pending"
    fetching.on = False
    done = await wait_done(client, instance_id)
    assert done.runtime_status == Status.Completed
    assert done.output == {"type": "int", "value": 42}
    assert looking.failures == 2
    assert errors_about(caplog, "dispatcher failed while looking for work")
    logged = errors_about(caplog, f"instance {instance_id} abandoned")
    assert len(logged) >= 3
    assert all(r.exc_info and isinstance(r.exc_info[1], RuntimeError) for r in logged)


async def test_a_failing_activity_commit_is_abandoned_and_run_again(
    host: DevHost, caplog: pytest.LogCaptureFixture
) -> None:
    completing = Failing(host._store, "complete_activity", times=2)
    client = host.client()
    instance_id = await client.start_new("child", None, 5)
    done = await wait_done(client, instance_id)
    assert done.runtime_status == Status.Completed
    assert done.output["doubled"] == 10
    assert completing.failures == 2
    logged = errors_about(caplog, f"activity double of instance {instance_id} abandoned")
    assert [r.getMessage().split("(failure ")[1][0] for r in logged] == ["1", "2"]


async def test_retry_pauses_double_up_to_thirty_seconds() -> None:
    assert [dispatcher.retry_delay(n) for n in (1, 2, 3, 5, 6, 10, 10_000)] == [1, 2, 4, 16, 30, 30, 30]


async def test_a_sqlite_read_that_fails_raises_store_error(tmp_path: Any) -> None:
    store = SqliteStore(str(tmp_path / "durable.db"))
    store.close_now()  # every read now fails inside sqlite3
    with pytest.raises(StoreError, match=r"durable\.db failed in get_instance") as caught:
        await store.get_instance("any")
    assert isinstance(caught.value.__cause__, sqlite3.Error)
