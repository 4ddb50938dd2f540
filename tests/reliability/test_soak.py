"""Soak suite (short): memory and descriptors of devhost and its workers stay bounded under the mixed
workload with purges, and nothing is lost or doubled.

The long run (30 minutes) is `make soak`; see soak.py for what is sampled and the bounds.
"""

from __future__ import annotations

import os
from pathlib import Path

from .crash import StoreSpec
from .soak import run_soak

SEED = int(os.environ.get("RELIABILITY_SEED", "20261126"))


async def test_resources_stay_bounded_and_nothing_is_lost_under_a_soak(
    store_spec: StoreSpec, tmp_path: Path
) -> None:
    report = await run_soak(seconds=8.0, warmup=3.0, every=1.0, seed=SEED, spec=store_spec, work=tmp_path)
    print(report.summary())
    command = f"python -m tests.reliability.soak --store {store_spec.kind} --minutes 30 --seed {SEED}"
    assert report.ok, f"{report.summary()}\n{report.details()}\nreproduce: {command}"
    assert len(report.idle) == 2 and report.idle[-1].children >= 2  # the workers were sampled too
    assert report.purged > 0  # the store turned over
    assert report.verdict.histories == report.verdict.instances > 0  # the kept ones read from the store
