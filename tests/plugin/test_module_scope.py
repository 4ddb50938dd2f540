"""`durable_host_module`: one host for every test of a module, on the module's event loop."""

from __future__ import annotations

import pytest

from devhost.testing import TestHost

pytestmark = [
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.devhost(app="tests/devhost/apps/chaining"),
]

seen: list[int] = []


async def test_a_first_test_starts_an_instance(durable_host_module: TestHost) -> None:
    seen.append(id(durable_host_module))
    await durable_host_module.client().start_new("chain", "kept")
    await durable_host_module.wait_for("kept", runtime_status="Completed")


async def test_a_second_test_sees_the_same_host_and_store(durable_host_module: TestHost) -> None:
    assert seen == [id(durable_host_module)]
    status = await durable_host_module.client().get_status("kept")
    assert status.output == ["Hi Lisbon", "Hi Oslo", "Hi Quito"]
