"""durabletask-python in an environment of the bench's own, for the side-by-side figures.

It is not one of the app's or devhost's requirements: the first bench run creates a virtual environment
under `.bench-cache/` (git ignores it) and installs the pinned version there with pip. When that cannot
be done (no network, no index), the scenarios print why and report devhost's figures alone.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

VERSION = "1.12.0"
CHILD = Path(__file__).with_name("durabletask_child.py")


def durabletask_python(root: Path) -> tuple[Path | None, str]:
    """The interpreter of the bench's durabletask environment, made on first use; or None and why not."""
    venv = root / ".bench-cache" / f"durabletask-{VERSION}"
    python = venv / "bin" / "python"
    ready = venv / ".installed"
    if ready.exists():
        return python, ""
    try:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True, capture_output=True)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                f"durabletask=={VERSION}",
            ],
            check=True,
            capture_output=True,
            timeout=600,
        )
    except (OSError, subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        tail = detail.decode(errors="replace").strip().splitlines()[-1:] if detail else []
        return None, f"durabletask=={VERSION} could not be installed into {venv}: {exc}" + (
            f" ({tail[0]})" if tail else ""
        )
    ready.touch()
    return python, ""
