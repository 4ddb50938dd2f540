"""The console log of `devhost start`: func start's lines, written in one go per event-loop turn.

A busy host logs two lines per function execution. The standard StreamHandler writes and flushes each
record on its own (a system call per line); this handler keeps the lines of one event-loop turn and
writes them together when the turn ends, so the console shows the same lines in the same order, at
most one loop turn later. Records logged outside the event loop's thread, or with no loop running,
are written at once. The logging module's per-record lookups devhost's format does not print (the
caller's file and line, thread and process names) are turned off, as the logging HOWTO's
"Optimization" section describes.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
from typing import TextIO

from .. import execution_log

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class TurnBufferedHandler(logging.StreamHandler):  # type: ignore[type-arg,unused-ignore]
    """A StreamHandler that writes the records of one event-loop turn together (see the module doc)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(stream or sys.stderr)
        self._lines: list[str] = []
        self._loop_thread: int | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + self.terminator
        except Exception:
            self.handleError(record)
            return
        if threading.get_ident() == self._loop_thread or self._attach():
            if not self._lines:
                asyncio.get_running_loop().call_soon(self.flush)
            self._lines.append(line)
            return
        with self.lock:  # type: ignore[union-attr]
            self._write(line)

    def direct(self, logger: logging.Logger, message: str) -> bool:
        """Write an INFO line of `logger` without a LogRecord, when this handler is the only one it
        reaches and the caller runs on the event loop's thread (the Executing/Executed lines: two
        per execution); False to have the caller log it the usual way."""
        if (
            threading.get_ident() != self._loop_thread
            or logger.handlers
            or logging.root.handlers != [self]
            or not logger.isEnabledFor(logging.INFO)
            or logger.filters
            or logging.root.filters
        ):
            return False
        if not self._lines:
            asyncio.get_running_loop().call_soon(self.flush)
        self._lines.append(f"{_asctime()} INFO {logger.name}: {message}{self.terminator}")
        return True

    def _attach(self) -> bool:
        """True if this thread runs an event loop (which then flushes the lines at its turn's end)."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return False
        self._loop_thread = threading.get_ident()
        return True

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except Exception:  # a closed console must not break the host
            pass

    def flush(self) -> None:
        lines, self._lines = self._lines, []
        if lines:
            with self.lock:  # type: ignore[union-attr]
                self._write("".join(lines))

    def close(self) -> None:
        self.flush()
        super().close()


_second: tuple[int, str] = (-1, "")


def _asctime() -> str:
    """The time as logging.Formatter writes %(asctime)s ("2026-12-04 20:07:01,123", local time)."""
    global _second
    now = time.time()
    whole = int(now)
    if _second[0] != whole:
        _second = (whole, time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(whole)))
    return f"{_second[1]},{int((now - whole) * 1000):03d}"


def configure(verbose: bool) -> None:
    """Log to the console as `devhost start` does: INFO and up, devhost's debug lines with --verbose."""
    logging._srcfile = None  # no caller lookup per record
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = TurnBufferedHandler()
    handler.setFormatter(logging.Formatter(FORMAT))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    if logging.root.handlers == [handler]:
        execution_log.write_directly(handler.direct)
    if verbose:
        # devhost's own debug messages; the libraries under it stay at INFO (theirs drown the rest).
        logging.getLogger("devhost").setLevel(logging.DEBUG)
