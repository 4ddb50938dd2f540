"""`DevHost.start()` and `stop()`: stop always returns, a start that fails leaves nothing open."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devhost import host as host_module
from devhost.engine.worker_pool import ProcessPoolInvoker
from devhost.errors import ConfigError, StoreError
from devhost.host import DevHost

from .helpers import APPS, wait_for


@pytest.mark.timeout(120)
async def test_stop_returns_when_a_wake_up_lands_in_the_same_loop_turn() -> None:
    # On Python 3.11, asyncio.wait_for returns normally when its awaitable completes in the turn a
    # cancel arrives: a dispatcher sleeping in wait_for would swallow stop's cancel and never end.
    for attempt in range(200):
        host = DevHost(APPS / "features", store="memory", port=0, rpc_port=0)
        await host.start()
        assert host._dispatcher is not None
        await asyncio.sleep(0)  # the dispatcher is now asleep, waiting to be woken
        host._dispatcher.notify()
        try:
            await asyncio.wait_for(host.stop(), 10)
        except asyncio.TimeoutError:
            pytest.fail(f"DevHost.stop() did not return (attempt {attempt + 1} of 200)")


@pytest.fixture
def opened_stores(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every store a DevHost opens during the test, to check it was closed."""
    stores: list[Any] = []

    def recording_open_store(*args: Any, **kwargs: Any) -> Any:
        stores.append(real(*args, **kwargs))
        return stores[-1]

    real = host_module.open_store
    monkeypatch.setattr(host_module, "open_store", recording_open_store)
    return stores


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port something else listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


async def store_is_closed(store: Any) -> bool:
    try:
        await store.get_instance("any")
    except StoreError:
        return True
    return False


async def test_a_start_that_cannot_listen_releases_the_rpc_port_and_the_store(
    tmp_path: Path, taken_port: int, opened_stores: list[Any]
) -> None:
    host = DevHost(APPS / "features", store=f"sqlite:{tmp_path / 'durable.db'}", port=taken_port, rpc_port=0)
    with pytest.raises(OSError):
        await host.start()
    assert host.rpc_port != 0, "the RPC endpoint is served before the public port"
    assert port_is_free(host.rpc_port)
    [store] = opened_stores
    assert await store_is_closed(store)


async def test_a_start_that_fails_ends_its_worker_processes(
    monkeypatch: pytest.MonkeyPatch, taken_port: int
) -> None:
    started: list[int] = []
    real_start = ProcessPoolInvoker.start

    async def recording_start(pool: ProcessPoolInvoker) -> None:
        await real_start(pool)
        started.extend(pool.pids())

    monkeypatch.setattr(ProcessPoolInvoker, "start", recording_start)
    host = DevHost(APPS / "features", store="memory", port=taken_port, rpc_port=0, workers=1)
    with pytest.raises(OSError):
        await host.start()
    assert len(started) == 1
    await wait_for(lambda: process_ended(started[0]))


async def test_a_bad_worker_count_closes_the_store(
    monkeypatch: pytest.MonkeyPatch, opened_stores: list[Any]
) -> None:
    monkeypatch.setenv("FUNCTIONS_WORKER_PROCESS_COUNT", "many")
    host = DevHost(APPS / "features", store="memory", port=0, rpc_port=0)
    with pytest.raises(ConfigError, match="FUNCTIONS_WORKER_PROCESS_COUNT"):
        await host.start()
    [store] = opened_stores
    assert await store_is_closed(store)


async def process_ended(pid: int) -> bool:
    """Gone, or a zombie waiting to be reaped (it runs nothing any more)."""
    return _process_state(pid) in ("", "Z", "X")


def _process_state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return ""
