"""Two apps' hosts in one test session: the marker picks the app per test, each host starts clean."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from devhost.testing import TestHost

CHAINING = Path(__file__).resolve().parents[1] / "devhost" / "apps" / "chaining"


@pytest.mark.devhost(app="tests/devhost/apps/chaining")
async def test_the_chaining_app(durable_host: TestHost) -> None:
    assert durable_host.settings.app_dir == CHAINING
    client = durable_host.client()
    instance_id = await client.start_new("chain", None, ["A", "B", "C"])
    done = await durable_host.wait_for(instance_id, runtime_status="Completed")
    assert done.output == ["Hi A", "Hi B", "Hi C"]


async def test_then_the_sample_app_in_the_same_session(durable_host: TestHost) -> None:
    assert durable_host.index is not None
    assert "chain" not in durable_host.index.functions
    assert "E1_HelloSequence" in durable_host.index.functions
    client = durable_host.client()
    instance_id = await client.start_new("E1_HelloSequence", None, ["Oslo"])
    done = await durable_host.wait_for(instance_id, runtime_status="Completed")
    assert done.output == ["Hello Oslo!"]


@pytest.mark.devhost(app=str(CHAINING))
async def test_and_the_chaining_app_again_by_absolute_path(durable_host: TestHost) -> None:
    module = sys.modules["function_app"]
    assert Path(module.__file__ or "").parent == CHAINING
    instance_id = await durable_host.client().start_new("chain")
    done = await durable_host.wait_for(instance_id)
    assert done.output == ["Hi Lisbon", "Hi Oslo", "Hi Quito"]


def test_no_app_module_is_left_after_the_hosts() -> None:
    module = sys.modules.get("function_app")
    assert module is None or Path(module.__file__ or "").parent != CHAINING
