"""The `taskHub` and `connection` query parameters of the Durable HTTP API.

The extension opens a client for whichever task hub and connection a request names (azure-functions-
durable-extension, src/WebJobs.Extensions.DurableTask/HttpApiHandler.cs, GetClient: keys in any case,
blank values ignored). devhost keeps one task hub in one store, so a request naming another hub or
connection is refused with 400 instead of being answered from the wrong hub.
"""

from __future__ import annotations

from aiohttp import web

from ..config import Settings
from ..errors import RequestError

# The connection names that mean the app's own storage account: the extension's default ("Storage",
# as in every management URL) and the setting it stands for.
DEFAULT_CONNECTIONS = frozenset({"storage", "azurewebjobsstorage"})


def check_task_hub(request: web.Request, settings: Settings) -> None:
    """RequestError(400) when the query names a task hub or connection other than devhost's."""
    hub = connection = None
    for key, value in request.query.items():
        if not value.strip():
            continue
        if hub is None and key.lower() == "taskhub":
            hub = value
        elif connection is None and key.lower() == "connection":
            connection = value
    # Azure Storage names are case-insensitive, so is the hub name.
    if hub is not None and hub.lower() != settings.hub_name.lower():
        raise RequestError(
            f"taskHub={hub!r} names another task hub; devhost serves one, '{settings.hub_name}' "
            "(host.json extensions.durableTask.hubName). Leave taskHub out or name that one."
        )
    if connection is not None and connection.lower() not in DEFAULT_CONNECTIONS:
        raise RequestError(
            f"connection={connection!r} names another storage connection; devhost serves the app's "
            "own, 'Storage'. Leave connection out or name that one."
        )
