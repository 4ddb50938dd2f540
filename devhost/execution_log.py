"""What the console says as functions run, in the words `func start` uses, plus the instance id.

    Executing 'Functions.say_hello' (Reason='ActivityTrigger', InstanceId=abc, Id=2f1c...)
    Executed 'Functions.say_hello' (Succeeded, InstanceId=abc, Id=2f1c..., Duration=3ms)

The Functions host writes the same two lines per execution (azure-webjobs-sdk,
src/Microsoft.Azure.WebJobs.Host/Loggers/FunctionInstanceLogger.cs): information when it starts and
when it succeeds, an error when it fails. devhost adds the instance id, the failure's message, and one
line when an orchestration ends.
"""

from __future__ import annotations

import itertools
import json
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from .store.base import InstanceRecord, RuntimeStatus

log = logging.getLogger("devhost.functions")

HTTP_REASON = "This function was programmatically called via the host APIs."


_direct: Callable[[logging.Logger, str], bool] | None = None


def write_directly(writer: Callable[[logging.Logger, str], bool] | None) -> None:
    """Have the console write the Executing/Executed lines itself when it can (devhost start does:
    devhost/cli/console.py); None goes back to plain logging."""
    global _direct
    _direct = writer


def _info(message: str) -> None:
    if _direct is None or not _direct(log, message):
        log.info("%s", message)


_ids = itertools.count(1)
_ID_BASE = uuid.uuid4().int >> 32  # 96 random bits per process; the low 32 count executions


def _execution_id() -> str:
    """A GUID-shaped id, unique within the host (as the Functions host's invocation ids are): a random
    prefix per process and a counter, which costs far less than a uuid4 per execution."""
    text = f"{(_ID_BASE << 32) | (next(_ids) & 0xFFFFFFFF):032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


class Execution:
    """One function execution being logged; set `failure` to have it end as Failed.

    Used as a context manager (`with executing(...) as run:`): the start line on entry, the end line on
    exit, Failed with the exception's message if one leaves the block. A plain class, not a
    generator-based context manager: two of these run for every episode and activity.
    """

    __slots__ = ("_started", "failure", "function", "id", "instance_id", "reason")

    def __init__(self, function: str, reason: str, instance_id: str | None = None) -> None:
        self.function = function
        self.reason = reason
        self.instance_id = instance_id
        self.id = _execution_id()
        self.failure: str | None = None
        self._started = 0.0

    @property
    def _ids(self) -> str:
        return (f"InstanceId={self.instance_id}, " if self.instance_id else "") + f"Id={self.id}"

    def __enter__(self) -> Execution:
        if log.isEnabledFor(logging.INFO):
            _info(f"Executing 'Functions.{self.function}' (Reason='{self.reason}', {self._ids})")
        self._started = time.perf_counter()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        if exc is not None:
            self.failure = self.failure or f"{type(exc).__name__}: {exc}"
        self.end()

    def end(self) -> None:
        ms = int((time.perf_counter() - self._started) * 1000)
        if self.failure is None:
            if log.isEnabledFor(logging.INFO):
                _info(f"Executed 'Functions.{self.function}' (Succeeded, {self._ids}, Duration={ms}ms)")
        else:
            log.error(
                "Executed 'Functions.%s' (Failed, %s, Duration=%dms)\n  %s",
                self.function,
                self._ids,
                ms,
                self.failure,
            )


def executing(function: str, reason: str, instance_id: str | None = None) -> Execution:
    """Log the start and end of one execution; an exception out of the block ends it as Failed."""
    return Execution(function, reason, instance_id)


def orchestration_ended(instance: InstanceRecord) -> None:
    """One line when an orchestration reaches a final state: its output's message if it failed."""
    what = f"Orchestration '{instance.name}' (instance {instance.instance_id})"
    status = instance.runtime_status
    if status is RuntimeStatus.FAILED:
        log.error("%s failed: %s", what, _text(instance.output) or "no message")
    elif status is RuntimeStatus.TERMINATED:
        reason = _text(instance.output)
        log.info("%s was terminated%s", what, f": {reason}" if reason else ".")
    else:
        log.info("%s %s.", what, status.value.lower())


def event_not_awaited(instance_id: str, name: str, waiting_for: list[str]) -> None:
    """An event was raised that no wait of the instance asks for (yet): most often a misspelt name."""
    waits = ", ".join(f"'{w}'" for w in waiting_for) if waiting_for else "no event right now"
    log.warning(
        "Event '%s' was raised for instance %s, which is not waiting for it (it waits for %s). The event "
        "is kept: a later wait for '%s' receives it. Event names are case-sensitive.",
        name,
        instance_id,
        waits,
        name,
    )


def _text(output: str | None) -> str | None:
    """A stored JSON output as readable text (a JSON string loses its quotes)."""
    if output is None:
        return None
    try:
        value = json.loads(output)
    except ValueError:
        return output
    return value if isinstance(value, str) else output
