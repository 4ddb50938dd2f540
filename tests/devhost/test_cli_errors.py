"""What `python -m devhost start` says when it cannot start: a store in use, a port in use."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from devhost.__main__ import main
from devhost.errors import StoreInUseError
from devhost.host import DevHost
from devhost.process import DevhostProcess

from .helpers import APPS

FEATURES = APPS / "features"


@pytest.mark.timeout(120)
def test_a_second_host_on_one_sqlite_store_is_refused_naming_the_file_and_the_holder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "durable.db"
    first = DevhostProcess(tmp_path, f"sqlite:{db}", app=FEATURES).start()
    holder = first.pid
    try:
        code = main(
            ["start", "--app", str(FEATURES), "--store", f"sqlite:{db}", "--port", "0", "--rpc-port", "0"]
        )
    finally:
        first.stop()
    err = capsys.readouterr().err
    assert code == 2
    assert str(db) in err
    assert f"process {holder}" in err
    assert "--store" in err


@pytest.mark.timeout(60)
def test_a_taken_port_is_named_with_a_way_out(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(
            ["start", "--app", str(FEATURES), "--store", "memory", "--port", str(port), "--rpc-port", "0"]
        )
    err = capsys.readouterr().err
    assert code == 2
    assert f"port {port} on 127.0.0.1 is already in use" in err
    assert "--port" in err


async def test_the_store_lock_is_released_when_its_host_stops_and_kept_by_a_refused_one(
    tmp_path: Path,
) -> None:
    store = f"sqlite:{tmp_path / 'durable.db'}"
    first = await DevHost(FEATURES, store=store, port=0, rpc_port=0).start()
    try:
        with pytest.raises(StoreInUseError):
            await DevHost(FEATURES, store=store, port=0, rpc_port=0).start()
        # The refused host's cleanup must not have taken the first host's lock away.
        with pytest.raises(StoreInUseError):
            await DevHost(FEATURES, store=store, port=0, rpc_port=0).start()
    finally:
        await first.stop()
    again = await DevHost(FEATURES, store=store, port=0, rpc_port=0).start()
    await again.stop()
