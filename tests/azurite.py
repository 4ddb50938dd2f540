"""Azurite for the tests: the pinned npm package, started on free loopback ports, in memory.

With a `location` it keeps its data in that folder instead, and `restart()` brings it back on the
same ports with the same data (the storage outage driver stops it and starts it again).

`AZURITE_CONNECTION_STRING` in the environment names an Azurite (or account) that is already
running instead. Without either, the tests that need it are skipped with `INSTALL_HINT`; with
CI=true they fail, so CI cannot pass without them.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from devhost.config import HUB_SETTING as HUB_SETTING  # re-exported for the Azurite fixtures
from devhost.store.azure_account import DEV_ACCOUNT, DEV_KEY

ROOT = Path(__file__).resolve().parents[1]
BINARY = ROOT / "node_modules" / ".bin" / "azurite"
ENV_CONNECTION = "AZURITE_CONNECTION_STRING"
INSTALL_HINT = "Azurite is not installed: run `npm ci` (Node.js 18+) to run the Azure Storage store tests"
_LISTENING = re.compile(r"Azurite (Blob|Queue|Table) service is successfully listening at (http://\S+)")


def new_hub() -> str:
    """A task hub name no other test uses (letters and digits, starting with a letter)."""
    return "t" + uuid.uuid4().hex[:16]


def connection_string(endpoints: dict[str, str]) -> str:
    return f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};" + "".join(
        f"{kind}Endpoint={url}/{DEV_ACCOUNT};" for kind, url in sorted(endpoints.items())
    )


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the test process dies, however it dies (Linux only)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Azurite:
    """One Azurite process (blob, queue and table services) with its log file."""

    def __init__(self, work_dir: Path, *, location: Path | None = None) -> None:
        self.work_dir = work_dir
        self.location = location
        self.log_path = work_dir / "azurite.log"
        self.connection_string = ""
        self.endpoints: dict[str, str] = {}
        self._proc: subprocess.Popen[bytes] | None = None

    @staticmethod
    def installed() -> bool:
        return BINARY.exists()

    def start(self, timeout: float = 60.0) -> Azurite:
        """Start on free ports, or on the ports of the previous start when there was one."""
        storage = ["--location", str(self.location)] if self.location else ["--inMemoryPersistence"]
        args = [str(BINARY), *storage, "--skipApiVersionCheck", "--disableTelemetry", "--silent"]
        ports = {kind: url.rsplit(":", 1)[1] for kind, url in self.endpoints.items()}
        for kind in ("blob", "queue", "table"):
            # 0: the OS picks a free port
            args += [f"--{kind}Host", "127.0.0.1", f"--{kind}Port", ports.get(kind.capitalize(), "0")]
        if self.location:
            self.location.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self._proc = subprocess.Popen(
                args,
                cwd=self.work_dir,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            endpoints = dict(_LISTENING.findall(self.log()))
            if len(endpoints) == 3:
                self.endpoints = endpoints
                self.connection_string = connection_string(endpoints)
                return self
            if self._proc.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"Azurite did not start:\n{self.log()}")

    def restart(self, timeout: float = 60.0) -> Azurite:
        """Stop and start again: the same ports, and the same data when it has a `location`."""
        self.stop()
        return self.start(timeout)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        """Stop Azurite and anything it started (its whole process group)."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            try:
                os.killpg(self._proc.pid, signal.SIGTERM)
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self._proc.pid, signal.SIGKILL)
                self._proc.wait()
            except ProcessLookupError:
                pass
        self._proc = None
