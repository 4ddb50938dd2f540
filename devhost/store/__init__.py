"""Durable stores, chosen by one URL: `sqlite:PATH` (default), `memory`, `azure` (Azure Storage)."""

from __future__ import annotations

from ..errors import ConfigError
from .base import (
    ActivityTask,
    EpisodeResult,
    InstanceQuery,
    InstanceRecord,
    Message,
    RuntimeStatus,
    Store,
    WorkItem,
)
from .sqlite import SqliteStore

__all__ = [
    "ActivityTask",
    "EpisodeResult",
    "InstanceQuery",
    "InstanceRecord",
    "Message",
    "RuntimeStatus",
    "SqliteStore",
    "Store",
    "WorkItem",
    "open_store",
]


def open_store(url: str) -> SqliteStore:
    """Open the store a URL names; ConfigError for an unknown or unavailable scheme."""
    if url == "memory":
        return SqliteStore(":memory:")
    if url.startswith("sqlite:"):
        path = url.removeprefix("sqlite:")
        if not path:
            raise ConfigError("store URL 'sqlite:' needs a file path, e.g. sqlite:.devhost/durable.db")
        return SqliteStore(path)
    if url == "azure" or url.startswith("azure:"):
        raise ConfigError(
            "the 'azure' store (Azure Storage / Azurite) is not available in this version of devhost"
        )
    raise ConfigError(f"unknown store URL '{url}': use sqlite:PATH, memory or azure")
