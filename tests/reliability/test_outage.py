"""Storage outage (short): the store goes away for 3 s under load; devhost answers 503, then loses nothing.

The long runs (20 s) are `make reliability`; see outage.py for what is checked.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..azurite import INSTALL_HINT, Azurite
from ..conftest import unavailable
from ..e2e.stores import STORES
from .crash import StoreSpec, azure_spec
from .outage import run_outage

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
    assert (report.began_logged, report.ended_logged) == (1, 1)
    assert report.probes[503] > 0  # the probe's start, made while the storage was down, was refused
    if kind == "azure":
        # Every call needs the store there; on a full SQLite disk reads are served, and 4 clients may
        # spend a 3 s outage reading statuses and waiting on timers (the probes' starts cover writes).
        assert report.tally.unavailable > 0
    assert report.verdict.instances > 0
    assert report.verdict.histories == report.verdict.instances
    if kind == "sqlite":
        assert report.integrity == "ok"
