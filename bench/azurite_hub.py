"""An Azurite started for one benchmark, with a task hub of its own."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def azurite_hub(work: Path) -> Iterator[tuple[dict[str, str], str]]:
    """The app settings that point devhost's azure store at a new Azurite, and the hub's name."""
    from tests.azurite import HUB_SETTING, Azurite, new_hub

    if not Azurite.installed():
        raise SystemExit("the azure store benchmark needs Azurite: run `npm ci` first")
    azurite = Azurite(work).start()
    try:
        hub = new_hub()
        yield {"AzureWebJobsStorage": azurite.connection_string, HUB_SETTING: hub}, hub
    finally:
        azurite.stop()
