"""Durable stores, chosen by one URL: `sqlite:PATH` (default), `memory`, `azure` (Azure Storage)."""

from __future__ import annotations

from collections.abc import Mapping

from ..config import DEFAULT_HUB
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


def open_store(
    url: str, *, hub_name: str = DEFAULT_HUB, app_settings: Mapping[str, str] | None = None
) -> Store:
    """The store a URL names; ConfigError for an unknown scheme or a missing setting.

    `azure` keeps the task hub `hub_name` in the account of the AzureWebJobsStorage app setting
    (environment first, then `app_settings`). Call `await store.open()` before using it.
    """
    if url == "memory":
        return SqliteStore(":memory:")
    if url.startswith("sqlite:"):
        path = url.removeprefix("sqlite:")
        if not path:
            raise ConfigError("store URL 'sqlite:' needs a file path, e.g. sqlite:.devhost/durable.db")
        # synchronous=NORMAL in WAL mode: a commit is in the log before it returns, so it survives the
        # process being killed (kill -9, a crash) without waiting for an fsync; the log is synced at
        # checkpoints, so only an operating-system crash or power loss can take back the last commits,
        # and even that never leaves a torn file.
        return SqliteStore(path, synchronous="NORMAL")
    if url == "azure":
        # Imported here: the Azure SDKs are development dependencies that only this store needs.
        from .azure import AzureStore
        from .azure_account import connection_setting, parse_account

        return AzureStore(parse_account(connection_setting(app_settings or {})), hub_name)
    raise ConfigError(f"unknown store URL '{url}': use sqlite:PATH, memory or azure")
