"""devhost: run a Python Durable Functions app locally, with no .NET tooling.

`python -m devhost start` serves the app like `func start`; `DevHost` does the same from Python code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import DevHostError

if TYPE_CHECKING:
    from .host import DevHost

__all__ = ["DevHost", "DevHostError"]


def __getattr__(name: str) -> Any:
    # `DevHost` pulls in the HTTP server and the SDK (most of a cold start): imported on first use, so
    # that `devhost --help` and the pytest plugin's import do not pay for it.
    if name == "DevHost":
        from .host import DevHost

        return DevHost
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
