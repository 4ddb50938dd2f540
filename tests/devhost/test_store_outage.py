"""Storage outages (store/outage.py): which failures are one, told once, answered 503, and recovered from."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
)

from devhost.errors import StoreError, StoreUnavailableError
from devhost.host import DevHost
from devhost.store.azure_tables import TableService
from devhost.store.outage import MAX_RETRY_SECONDS, OutageWatch, WatchedStore, outage_reason

from .conftest import host_for
from .helpers import WEBHOOKS, call, wait_done

LOGGER = "devhost.store"
PADDING = {"pad": "x" * 2000}


def full_disk_error() -> sqlite3.Error:
    """A real SQLITE_FULL: an insert into a database that may not grow."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (x TEXT)")
    db.execute(f"PRAGMA max_page_count={db.execute('PRAGMA page_count').fetchone()[0]}")
    try:
        db.executemany("INSERT INTO t VALUES (?)", [("x" * 1000,)] * 100)
    except sqlite3.Error as exc:
        return exc
    raise AssertionError("the insert did not fail")


def read_only_error(tmp_path: Path) -> sqlite3.Error:
    path = tmp_path / "ro.db"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.commit()
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        db.execute("INSERT INTO t VALUES (1)")
    except sqlite3.Error as exc:
        return exc
    raise AssertionError("the write did not fail")


def wrapped(cause: BaseException) -> StoreError:
    error = StoreError(f"store failed: {cause}")
    error.__cause__ = cause
    return error


def test_storage_that_is_down_or_unwritable_is_an_outage(tmp_path: Path) -> None:
    assert "SQLITE_FULL" in (outage_reason(wrapped(full_disk_error())) or "")
    assert "SQLITE_READONLY" in (outage_reason(wrapped(read_only_error(tmp_path))) or "")
    assert "no answer" in (outage_reason(wrapped(ServiceRequestError("connection refused"))) or "")
    busy = HttpResponseError("server busy")
    busy.status_code = 503
    assert "HTTP 503" in (outage_reason(wrapped(busy)) or "")


def test_other_failures_are_not_an_outage() -> None:
    conflict = ResourceExistsError("exists")
    conflict.status_code = 409
    assert outage_reason(wrapped(conflict)) is None
    assert outage_reason(wrapped(sqlite3.IntegrityError("UNIQUE constraint failed"))) is None
    assert outage_reason(ValueError("a devhost bug")) is None


def test_an_outage_is_logged_once_and_ends_with_a_write(caplog: pytest.LogCaptureFixture) -> None:
    now = [100.0]
    watch = OutageWatch("sqlite:test.db", clock=lambda: now[0])
    caplog.set_level(logging.WARNING, LOGGER)
    delays = []
    for _ in range(5):
        delays.append(watch.failed("disk full", write=True).retry_after)
        now[0] += 4.0
    watch.succeeded(write=False)  # a read works on a full disk: not over yet
    assert watch.down
    watch.succeeded(write=True)
    assert not watch.down
    messages = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == LOGGER]
    assert len(messages) == 2, messages
    assert messages[0][0] == logging.ERROR and "unavailable: disk full" in messages[0][1]
    assert (
        messages[1][0] == logging.WARNING and "available again after 20.0 s (5 calls failed" in messages[1][1]
    )
    assert delays == sorted(delays) and delays[0] < delays[-1] == MAX_RETRY_SECONDS


def test_an_answer_from_before_the_outage_does_not_end_it(caplog: pytest.LogCaptureFixture) -> None:
    now = [100.0]
    watch = OutageWatch("azure:devstoreaccount1", clock=lambda: now[0])
    caplog.set_level(logging.WARNING, LOGGER)
    in_flight = watch.began()  # a write sent while the storage was still up
    now[0] += 1.0
    watch.failed("no answer (ConnectionRefusedError)", write=True)
    now[0] += 0.1
    watch.succeeded(write=True, started=in_flight)  # its answer arrives late
    assert watch.down
    watch.failed("no answer (ConnectionRefusedError)", write=True)
    now[0] += 2.0
    watch.succeeded(write=True, started=watch.began())
    assert not watch.down
    messages = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert len(messages) == 2 and "unavailable:" in messages[0] and "after 2.1 s" in messages[1], messages


@pytest.fixture
async def sqlite_host(tmp_path: Path) -> AsyncIterator[DevHost]:
    async for host in host_for("features", store=f"sqlite:{tmp_path / 'full.db'}"):
        yield host


def set_max_pages(host: DevHost, pages: int | None) -> None:
    """Let the store's database grow to `pages` pages at most (None: as far as SQLite allows)."""
    store = host._store.inner
    for db in {id(store._db): store._db, id(store._writer): store._writer}.values():
        limit = pages if pages is not None else 2**31 - 2
        db.execute(f"PRAGMA max_page_count={limit}")


async def test_a_full_database_answers_503_and_recovers(
    sqlite_host: DevHost, caplog: pytest.LogCaptureFixture
) -> None:
    host = sqlite_host
    caplog.set_level(logging.WARNING, LOGGER)
    done = await wait_done(host.client(), await host.client().start_new("input_echo", "before", 1))
    assert done.runtime_status.name == "Completed"
    pages = host._store.inner._writer.execute("PRAGMA page_count").fetchone()[0]
    set_max_pages(host, pages)
    refused = None
    for n in range(500):  # starts fill the free pages, then one finds the database full
        reply = await call(
            host, "POST", f"{WEBHOOKS}/orchestrators/input_echo/full-{n}", body={"pad": "x" * 2000}
        )
        if reply.status != 202:
            refused = (n, reply)
            break
    assert refused is not None, "the database never filled up"
    n, reply = refused
    assert reply.status == 503, reply.text
    assert reply.headers["Retry-After"].isdigit()
    assert "is unavailable" in reply.json()["Message"]
    assert (await call(host, "GET", f"{WEBHOOKS}/instances/full-{n}")).status == 404  # nothing half made
    assert (await call(host, "GET", f"{WEBHOOKS}/instances/before")).status == 200  # reads still served
    set_max_pages(host, None)
    reply = await call(host, "POST", f"{WEBHOOKS}/orchestrators/input_echo/after", body={"n": 2})
    assert reply.status == 202, reply.text
    assert (await wait_done(host.client(), "after")).runtime_status.name == "Completed"
    told = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert len(told) == 2 and "SQLITE_FULL" in told[0] and "available again" in told[1], told
    integrity = host._store.inner._db.execute("PRAGMA integrity_check").fetchone()[0]
    assert integrity == "ok"


class RemembersSome:
    """A store that answers `next_due` from memory and `get_instance` from the storage, which is down
    or up as the test says; `answered_sent` as the azure store keeps it."""

    def __init__(self) -> None:
        self.storage_up = True
        self.answered_sent = float("-inf")

    async def next_due(self, after: object) -> None:
        return None

    async def get_instance(self, instance_id: str) -> None:
        sent = time.monotonic()
        if not self.storage_up:
            raise ServiceRequestError("Cannot connect to host 127.0.0.1:10002")
        self.answered_sent = max(self.answered_sent, sent)


async def test_a_call_answered_from_memory_does_not_end_an_outage(caplog: pytest.LogCaptureFixture) -> None:
    inner = RemembersSome()
    store = WatchedStore(inner)  # type: ignore[arg-type]
    caplog.set_level(logging.WARNING, LOGGER)
    await store.get_instance("a")
    inner.storage_up = False
    with pytest.raises(StoreUnavailableError):
        await store.get_instance("a")
    await store.next_due(datetime.now(timezone.utc))  # the index in memory: nothing reached the storage
    assert store.watch.down
    inner.storage_up = True
    await store.get_instance("a")
    assert not store.watch.down
    messages = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert len(messages) == 2 and "available again" in messages[1], messages


async def test_the_table_client_tells_when_the_service_last_answered() -> None:
    statuses = iter([404, 503, 503, 503, 503])

    async def answer(request: web.Request) -> web.Response:
        return web.json_response(
            {"odata.error": {"code": "x", "message": {"value": "x"}}}, status=next(statuses)
        )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    async with TestServer(app) as server:
        service = TableService(str(server.make_url("/devstoreaccount1")), None)
        try:
            before = time.monotonic()
            with pytest.raises(ResourceNotFoundError):
                await service.request("GET", "/t()", None, "read t")
            answered = service.answered_sent
            assert answered >= before  # a 404 is an answer: the service is there
            with pytest.raises(HttpResponseError):
                await service.request("GET", "/t()", None, "read t")  # 503, tried again, then given up
            assert service.answered_sent == answered  # a busy service's 503 shows nothing
        finally:
            await service.close()


async def test_a_store_method_beyond_the_contract_is_watched_and_a_replaced_one_is_called() -> None:
    class Extra:
        def describe(self) -> str:
            return "extra"

        async def ready_things(self) -> str:
            raise wrapped(full_disk_error())

    inner = Extra()
    store = WatchedStore(inner)  # type: ignore[arg-type]
    with pytest.raises(StoreUnavailableError):
        await store.ready_things()  # type: ignore[attr-defined]
    assert store.ready_things is store.ready_things  # type: ignore[attr-defined]  # made once

    async def replaced() -> str:
        return "replaced"

    inner.ready_things = replaced  # type: ignore[method-assign]
    assert await store.ready_things() == "replaced"  # type: ignore[attr-defined]
