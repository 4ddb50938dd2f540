"""Load suite (short): many concurrent clients for a few seconds; zero errors, every event applied.

The long run is `make reliability`; figures are printed (run pytest with -s to see them).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ..azurite import new_hub
from .crash import StoreSpec
from .load import run_load

SEED = int(os.environ.get("RELIABILITY_SEED", "20261126"))


@pytest.mark.parametrize("store", ["sqlite", pytest.param("azure", marks=pytest.mark.azurite)])
async def test_concurrent_clients_get_no_errors_and_lose_no_event(
    store: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    spec = (
        StoreSpec("azure", request.getfixturevalue("azurite"), new_hub())
        if store == "azure"
        else StoreSpec("sqlite")
    )
    report = await run_load(seconds=3.0, clients=16, seed=SEED, spec=spec, work=tmp_path)
    print(report.summary())
    assert report.ok, (
        f"{report.summary()}\n{report.details()}\nreproduce: python -m tests.reliability.load --seed {SEED}"
    )
    assert report.verdict.instances >= 16
