"""Storage outage (short): the store goes away for 3 s under load; devhost answers 503, then loses nothing.

The long runs (20 s) are `make reliability`; see outage.py for what is checked.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from ..azurite import INSTALL_HINT, Azurite
from ..conftest import unavailable
from ..e2e.stores import STORES
from .crash import StoreSpec, azure_spec
from .outage import run_outage, told_outages

SEED = int(os.environ.get("RELIABILITY_SEED", "20261126"))
OUTAGE = 3.0


@pytest.fixture(params=STORES)
def outage_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreSpec]:
    """SQLite in the run's folder, or an Azurite of the test's own (it is stopped and started again)."""
    if request.param != "azure":
        yield StoreSpec("sqlite")
        return
    if not Azurite.installed():
        unavailable(INSTALL_HINT)
    with azure_spec(tmp_path) as spec:
        yield spec


async def test_an_outage_is_answered_503_and_loses_nothing(outage_store: StoreSpec, tmp_path: Path) -> None:
    report = await run_outage(
        spec=outage_store, work=tmp_path, seed=SEED, outage=OUTAGE, before=2.0, after=2.0, clients=4
    )
    print(report.summary())
    kind = outage_store.kind
    command = f"python -m tests.reliability.outage --store {kind} --outage {OUTAGE:g} --seed {SEED}"
    assert report.ok, f"{report.summary()}\n{report.details()}\nreproduce: {command}"
    told = (report.began_logged - report.partial_stop, report.ended_logged - report.partial_stop)
    assert told == (1, 1)
    assert report.probes[503] > 0  # the probe's start, made while the storage was down, was refused
    if kind == "azure":
        # Every call needs the store there; on a full SQLite disk reads are served, and 4 clients may
        # spend a 3 s outage reading statuses and waiting on timers (the probes' starts cover writes).
        assert report.tally.unavailable > 0
    assert report.verdict.instances > 0
    assert report.verdict.histories == report.verdict.instances
    if kind == "sqlite":
        assert report.integrity == "ok"


# devhost's lines while Azurite shut down on SIGTERM (from a CI log, shortened): the blob port closed
# first, a table call then succeeded, and the table port closed after it.
SHUTDOWN_LOG = """\
2026-12-07 00:45:01,552 INFO devhost.functions: Executed 'Functions.LedgerFlow' (Succeeded)
2026-12-07 00:45:02,213 ERROR devhost.store: durable store azure (Azurite) unavailable: no answer (blob)
2026-12-07 00:45:02,716 WARNING devhost.store: durable store azure (Azurite) available again after 0.5 s
2026-12-07 00:45:02,969 ERROR devhost.store: durable store azure (Azurite) unavailable: no answer (table)
2026-12-07 00:45:05,818 WARNING devhost.store: durable store azure (Azurite) available again after 2.8 s
"""


def test_an_outage_ended_before_the_storage_was_wholly_gone_is_counted_apart() -> None:
    assert told_outages(SHUTDOWN_LOG, datetime(2026, 12, 7, 0, 45, 2, 900000)) == (2, 2, 1)
    # An answer received as Azurite exited is logged a moment after (seen in CI: 1 ms).
    assert told_outages(SHUTDOWN_LOG, datetime(2026, 12, 7, 0, 45, 2, 710000)) == (2, 2, 1)
    # Well after the storage was gone, an end is the outage's: two of them are two outages told.
    assert told_outages(SHUTDOWN_LOG, datetime(2026, 12, 7, 0, 45, 1)) == (2, 2, 0)
    assert told_outages("no outage here\n", datetime(2026, 12, 7)) == (0, 0, 0)
