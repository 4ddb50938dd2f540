"""Crash suite (short): devhost killed with SIGKILL at random moments under a mixed workload loses nothing.

The long run (200 kills and more) is `make reliability`; see crash.py for what is checked.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ..azurite import new_hub
from .crash import StoreSpec, run_crash

SEED = int(os.environ.get("RELIABILITY_SEED", "20261126"))
KILLS = 12


@pytest.mark.parametrize("store", ["sqlite", pytest.param("azure", marks=pytest.mark.azurite)])
async def test_nothing_is_lost_when_devhost_is_killed(
    store: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    spec = (
        StoreSpec("azure", request.getfixturevalue("azurite"), new_hub())
        if store == "azure"
        else StoreSpec("sqlite")
    )
    report = await run_crash(kills=KILLS, seed=SEED, spec=spec, work=tmp_path)
    print(report.summary())
    assert report.ok, (
        f"{report.summary()}\n{report.details()}\n"
        f"reproduce: python -m tests.reliability.crash --store {store} --kills {KILLS} --seed {SEED}"
    )
    assert report.kills == KILLS
    assert report.verdict.instances > KILLS
