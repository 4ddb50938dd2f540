"""devhost as a separate process, with this repository's app as the default app."""

from __future__ import annotations

from pathlib import Path

from devhost.process import DevhostProcess as _DevhostProcess
from devhost.process import free_port

ROOT = Path(__file__).resolve().parents[2]

__all__ = ["ROOT", "DevhostProcess", "free_port"]


class DevhostProcess(_DevhostProcess):
    def __init__(
        self,
        log_dir: Path,
        store: str,
        *extra: str,
        app: Path = ROOT,
        port: int | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        super().__init__(log_dir, store, *extra, app=app, port=port, env=env)
