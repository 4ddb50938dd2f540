"""The dispatcher loop as library users see it: `DevHost.wait_idle()` and time skipping."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest

from devhost.host import DevHost

from .conftest import host_for
from .helpers import Status, approve_while_waiting, idle, start_waiting


@pytest.fixture(params=[False, True], ids=["real-clock", "time-skipping"])
async def slow_store(request: pytest.FixtureRequest) -> AsyncIterator[DevHost]:
    """The features app on a store whose `next_due` takes a while, as a networked store's does.

    The SQLite store never suspends; the Azure store awaits every call, so work can arrive while the
    dispatcher is between looking for it and deciding that nothing is left to do.
    """
    async for host in host_for("features", time_skipping=request.param):
        _slow_down_next_due(host._store)
        yield host


def _slow_down_next_due(store: Any) -> None:
    next_due = store.next_due

    async def slow_next_due(after: datetime) -> datetime | None:
        await asyncio.sleep(0.3)
        return await next_due(after)

    store.next_due = slow_next_due


async def test_wait_idle_covers_work_that_arrived_during_the_last_look(slow_store: DevHost) -> None:
    client = slow_store.client()
    instance_id = await start_waiting(slow_store)
    # The episode that set "one" has just committed: the dispatcher is inside its slow next_due.
    await client.raise_event(instance_id, "Next", None)
    await idle(slow_store)
    # Read the store at once, without yielding to the loop: work done after idle() is not counted.
    record = await slow_store._store.get_instance(instance_id)
    assert record.custom_status is None, "wait_idle returned before the raised event was delivered"


async def test_time_is_not_skipped_past_an_event_that_came_first(slow_store: DevHost) -> None:
    # Raised an hour before the deadline (in virtual time too): the event must win the race.
    done = await approve_while_waiting(slow_store, "in time")
    assert done.runtime_status == Status.Completed
    assert done.output == {"approved": '"in time"'}
