"""Crash suite (short): devhost killed with SIGKILL at random moments under a mixed workload loses nothing.

The long run (200 kills) is `make reliability`; see crash.py for what is checked.
"""

from __future__ import annotations

import os
from pathlib import Path

from .crash import StoreSpec, run_crash

SEED = int(os.environ.get("RELIABILITY_SEED", "20261126"))
KILLS = 12


async def test_nothing_is_lost_when_devhost_is_killed(store_spec: StoreSpec, tmp_path: Path) -> None:
    report = await run_crash(kills=KILLS, seed=SEED, spec=store_spec, work=tmp_path)
    print(report.summary())
    command = f"python -m tests.reliability.crash --store {store_spec.kind} --kills {KILLS} --seed {SEED}"
    assert report.ok, f"{report.summary()}\n{report.details()}\nreproduce: {command}"
    assert report.kills == KILLS
    assert report.verdict.instances > 0  # how many depends on the machine's speed: see `make bench`
    assert report.verdict.histories == report.verdict.instances  # every history searched for doubles
