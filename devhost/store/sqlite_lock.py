"""One devhost per SQLite file: an exclusive lock on `<file>.lock`, which holds the holder's process id.

Two hosts on one file would both dispatch the same work items (the store keeps no leases: one process
owns the file). The operating system drops the lock when its process ends, however it ends, so a
crashed host never leaves the file locked.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import IO

from ..errors import StoreInUseError

if sys.platform == "win32":
    import msvcrt

    def _try_lock(file: IO[str]) -> bool:
        file.seek(64)  # lock a byte past the pid, so the holder's pid stays readable
        try:
            msvcrt.locking(file.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

else:
    import fcntl

    def _try_lock(file: IO[str]) -> bool:
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True


class StoreLock:
    """The lock of one SQLite store file; `acquire` raises StoreInUseError naming the holder."""

    def __init__(self, db_path: str | Path) -> None:
        self.db_path = Path(db_path).resolve()
        self.path = self.db_path.with_name(self.db_path.name + ".lock")
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock for this process; StoreInUseError if another host holds it."""
        file = self.path.open("a+", encoding="ascii")
        if not _try_lock(file):
            file.seek(0)
            holder = file.read(32).strip()
            file.close()
            raise StoreInUseError(
                f"the SQLite store {self.db_path} is in use by another devhost "
                f"(process {holder or 'unknown'}, which holds {self.path}). Stop that host, or give "
                "this one a store of its own with --store sqlite:OTHER.db or --store memory."
            )
        file.seek(0)
        file.truncate()
        file.write(str(os.getpid()))
        file.flush()
        self._file = file

    def release(self) -> None:
        """Let go of the lock (closing the file releases it); harmless if not held."""
        if self._file is not None:
            self._file.close()
            self._file = None
