"""devhost's exceptions. Everything devhost raises on purpose derives from DevHostError."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # asyncio costs 30 ms of the `devhost` command's start: only named here
    import asyncio


class DevHostError(Exception):
    """Root of devhost's own errors."""


class ConfigError(DevHostError):
    """host.json, local.settings.json or a command-line option is invalid."""


class AppLoadError(DevHostError):
    """The function app could not be imported or indexed."""


class StoreError(DevHostError):
    """The durable store failed (an infrastructure failure: the work item is retried)."""


class StoreUnavailableError(StoreError):
    """The store cannot be reached or written just now (an outage): retry after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.back: asyncio.Event | None = None  # set when the store works again

    @property
    def whole_seconds(self) -> int:
        """`retry_after` as a Retry-After header gives it: whole seconds, at least 1."""
        return whole_seconds(self.retry_after)


def whole_seconds(seconds: float) -> int:
    return max(1, math.ceil(seconds))


class HubConflictError(ConfigError):
    """The account holds a task hub of this name that this devhost did not make; nothing was changed.
    At start it stops the host; on a purge the API answers 409 Conflict with this message."""


class StoreInUseError(StoreError):
    """Another devhost process has the SQLite store open."""


class PortInUseError(DevHostError, OSError):
    """The HTTP port is taken (an OSError too, as the failed bind it reports)."""


class OperationRefusedError(DevHostError):
    """The engine refuses an operation on an instance. Each kind is an exception the Durable extension
    throws in the same case; the HTTP layer (api/errors.py) answers it with the status code the
    extension's HTTP API gives that exception."""


class InvalidArgumentError(OperationRefusedError):
    """An id, name or value the operation cannot take (the extension's ArgumentException)."""


class InstanceNotFoundError(OperationRefusedError):
    """No instance has that id."""


class InstanceExistsError(OperationRefusedError):
    """An instance with that id exists and is not in a state that may be overwritten."""


class InstanceEndedError(OperationRefusedError):
    """The instance has finished (Completed, Failed, Terminated): it takes no more of this operation."""


class PreconditionFailedError(OperationRefusedError):
    """The instance is not in a state the operation takes, which the extension's handler checks itself
    and answers 412 with its reason as a JSON string (a rewind of an instance that is not Failed, a
    purge of an unfinished one)."""


class InvalidStateError(OperationRefusedError):
    """The instance is in a state the operation does not apply to (the extension's
    InvalidOperationException, which its HTTP API does not catch)."""


class NotSupportedError(OperationRefusedError):
    """The operation is one devhost does not implement; `func start` is the way for it."""


class RequestError(DevHostError):
    """A client request is invalid; carries the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status
