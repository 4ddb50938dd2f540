"""Run devhost as a child process on a free port, as a user runs `python -m devhost start`.

For tests and benchmarks that need the host in its own process (crash and restart tests, load from a
separate client process); `DevHost` runs it in-process instead.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

_PACKAGE_PARENT = Path(__file__).resolve().parents[1]
_RPC = re.compile(r"SDK RPC: (http://127\.0\.0\.1:\d+/durabletask/)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _copy(source: Any, target: Any) -> None:
    """Copy a child's output to its log file until the child closes it."""
    try:
        for chunk in iter(lambda: source.read1(65536), b""):
            target.write(chunk)
            target.flush()
    finally:
        target.close()
        source.close()


class DevhostProcess:
    """One `python -m devhost start` child process and its log file."""

    def __init__(
        self,
        log_dir: Path,
        store: str,
        *extra: str,
        app: Path = Path("."),
        port: int | None = None,
        env: dict[str, str] | None = None,
        piped_log: bool = False,
    ) -> None:
        self.app = app
        # True: the log goes through a pipe, written to its file by this process (so that it keeps
        # being written when the child may not write files, as under a file-size limit).
        self.piped_log = piped_log
        self.store = store
        self.extra = extra
        self.env = dict(env or {})  # added to (and winning over) this process's environment
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"devhost-{self.port}.log"
        self.rpc_base_url = ""
        self._proc: subprocess.Popen[bytes] | None = None
        self._copier: threading.Thread | None = None

    def start(self, timeout: float = 30.0) -> DevhostProcess:
        log = self.log_path.open("ab")
        offset = log.tell()  # a restart appends to the same log: read only what this run prints
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        self._proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "devhost",
                "start",
                "--app",
                str(self.app),
                "--port",
                str(self.port),
                "--rpc-port",
                "0",
                "--store",
                self.store,
                *self.extra,
            ],
            cwd=_PACKAGE_PARENT,
            stdout=subprocess.PIPE if self.piped_log else log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        if self.piped_log:
            self._copier = threading.Thread(target=_copy, args=(self._proc.stdout, log), daemon=True)
            self._copier.start()
        else:
            log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"devhost exited with {self._proc.returncode}:\n{self.log()}")
            printed = self.log()[offset:]
            match = _RPC.search(printed)
            if match and "Press Ctrl+C" in printed:
                self.rpc_base_url = match.group(1)
                return self
            time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"devhost did not start in {timeout} s:\n{self.log()}")

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def peak_rss_mb(self) -> float | None:
        """The process's peak resident memory (Linux VmHWM), in MB."""
        return self._memory_mb("VmHWM:")

    def rss_mb(self) -> float | None:
        """The process's current resident memory (Linux VmRSS), in MB."""
        return self._memory_mb("VmRSS:")

    def _memory_mb(self, field: str) -> float | None:
        if self._proc is None:
            return None
        try:
            lines = Path(f"/proc/{self._proc.pid}/status").read_text().splitlines()
        except OSError:
            return None
        return next((int(line.split()[1]) / 1024 for line in lines if line.startswith(field)), None)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int | None:
        if self._proc is None:
            return None
        if self._proc.poll() is None:
            self._proc.send_signal(sig)
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        code = self._proc.returncode
        if self._copier is not None:
            self._copier.join(10)  # the rest of its output is in the log, and the pipe closed
            self._copier = None
        self._proc = None
        return code

    def kill(self) -> None:
        self.stop(signal.SIGKILL)
