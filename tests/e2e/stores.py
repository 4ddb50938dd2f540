"""The store kinds the e2e suite runs on, and how a devhost process is pointed at each."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from ..azurite import HUB_SETTING, new_hub

# Every e2e test runs once per store kind; the Azure Storage one on Azurite (see tests/azurite.py).
STORES = ["sqlite", pytest.param("azure", marks=pytest.mark.azurite)]


@dataclass(frozen=True)
class DurableStore:
    """A --store value and what to add to the devhost process's environment for it."""

    url: str
    env: dict[str, str]


def store_for(
    kind: str, work: Path, request: pytest.FixtureRequest, *, hub: str | None = None
) -> DurableStore:
    """The --store value and extra environment of a devhost process on a store of `kind`.

    An azure devhost gets Azurite's connection string and a task hub of its own, through the
    settings the Functions host reads (the environment wins over local.settings.json).
    """
    if kind == "azure":
        env = {"AzureWebJobsStorage": request.getfixturevalue("azurite"), HUB_SETTING: hub or new_hub()}
        return DurableStore("azure", env)
    if kind == "memory":
        return DurableStore("memory", {})
    return DurableStore(f"sqlite:{work / 'durable.db'}", {})
