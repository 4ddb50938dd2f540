"""Load suite (short): many concurrent clients for a few seconds; zero errors, every event applied once.

The long run is `make reliability`; figures are printed (run pytest with -s to see them).
"""

from __future__ import annotations

import os
from pathlib import Path

from .crash import StoreSpec
from .load import run_load

SEED = int(os.environ.get("RELIABILITY_SEED", "20261126"))


async def test_concurrent_clients_get_no_errors_and_lose_no_event(
    store_spec: StoreSpec, tmp_path: Path
) -> None:
    report = await run_load(seconds=3.0, clients=16, seed=SEED, spec=store_spec, work=tmp_path)
    print(report.summary())
    command = f"python -m tests.reliability.load --store {store_spec.kind} --seed {SEED}"
    assert report.ok, f"{report.summary()}\n{report.details()}\nreproduce: {command}"
    assert report.verdict.instances >= 16
    assert report.verdict.histories == report.verdict.instances  # every history searched for doubles
