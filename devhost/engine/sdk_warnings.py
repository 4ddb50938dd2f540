"""The SDK's replay warnings as log lines, whatever warning filters the process has.

When an event arrives before the orchestrator waits for it, the SDK's replay calls `warnings.warn`
("Potential duplicate Task completion for TaskId: <name>", `TaskOrchestrationExecutor.set_task_value`)
and parks the event for a later wait. In the Python worker on Azure the filters are Python's own, so
the warning is printed once and the orchestration goes on. Under `pytest -W error` (or a
`filterwarnings = error` setting, common in test suites) the same call would raise inside the
orchestrator and fail the orchestration, which never happens on Azure. So the SDK module that warns
gets a `warnings` of its own here, which logs each distinct message once per process, as Python's
default filter shows it, and raises nothing.
"""

from __future__ import annotations

import importlib
import logging
import threading
import warnings
from typing import Any

log = logging.getLogger("devhost.sdk")
_WARNING_MODULES = ("azure.durable_functions.models.TaskOrchestrationExecutor",)


class _LoggedWarnings:
    """Stands in for the `warnings` module inside the SDK modules that warn during a replay."""

    def __init__(self) -> None:
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def warn(self, message: Any, category: Any = None, stacklevel: int = 1, source: Any = None) -> None:
        text = str(message)
        with self._lock:
            if text in self._seen:
                return
            self._seen.add(text)
        kind = getattr(category, "__name__", None) or type(message).__name__
        log.warning("%s: %s", "UserWarning" if kind == "str" else kind, text)

    def __getattr__(self, name: str) -> Any:
        return getattr(warnings, name)


_installed = False


def install() -> None:
    """Give the SDK's warning modules the logging stand-in (idempotent)."""
    global _installed
    if _installed:
        return
    stand_in = _LoggedWarnings()
    for name in _WARNING_MODULES:
        module = importlib.import_module(name)
        if getattr(module, "warnings", None) is not warnings:
            log.warning(
                "azure-functions-durable changed how %s warns; its warnings keep Python's filters", name
            )
            continue
        module.warnings = stand_in  # type: ignore[attr-defined]
    _installed = True
