"""What the console says as functions run, in the words `func start` uses, plus the instance id.

    Executing 'Functions.say_hello' (Reason='ActivityTrigger', InstanceId=abc, Id=2f1c...)
    Executed 'Functions.say_hello' (Succeeded, InstanceId=abc, Id=2f1c..., Duration=3ms)

The Functions host writes the same two lines per execution (azure-webjobs-sdk,
src/Microsoft.Azure.WebJobs.Host/Loggers/FunctionInstanceLogger.cs): information when it starts and
when it succeeds, an error when it fails. devhost adds the instance id, the failure's message, and one
line when an orchestration ends.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from .store.base import InstanceRecord, RuntimeStatus

log = logging.getLogger("devhost.functions")

HTTP_REASON = "This function was programmatically called via the host APIs."


@dataclass(slots=True)
class Execution:
    """One function execution being logged; set `failure` to have it end as Failed."""

    function: str
    instance_id: str | None
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    failure: str | None = None
    _started: float = field(default_factory=time.perf_counter)

    @property
    def _ids(self) -> str:
        return (f"InstanceId={self.instance_id}, " if self.instance_id else "") + f"Id={self.id}"

    def end(self) -> None:
        ms = int((time.perf_counter() - self._started) * 1000)
        if self.failure is None:
            log.info("Executed 'Functions.%s' (Succeeded, %s, Duration=%dms)", self.function, self._ids, ms)
        else:
            log.error(
                "Executed 'Functions.%s' (Failed, %s, Duration=%dms)\n  %s",
                self.function,
                self._ids,
                ms,
                self.failure,
            )


@contextmanager
def executing(function: str, reason: str, instance_id: str | None = None) -> Iterator[Execution]:
    """Log the start and end of one execution; an exception out of the block ends it as Failed."""
    run = Execution(function, instance_id)
    log.info("Executing 'Functions.%s' (Reason='%s', %s)", function, reason, run._ids)
    try:
        yield run
    except BaseException as exc:
        run.failure = run.failure or f"{type(exc).__name__}: {exc}"
        run.end()
        raise
    run.end()


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
