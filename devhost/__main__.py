"""`python -m devhost ...`: the same as the `devhost` command (start, instances, replay-check)."""

from __future__ import annotations

import sys

from .cli import main
from .cli.start import banner

__all__ = ["banner", "main"]

if __name__ == "__main__":
    sys.exit(main())
