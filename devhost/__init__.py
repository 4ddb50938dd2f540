"""devhost: run a Python Durable Functions app locally, with no .NET tooling.

`python -m devhost start` serves the app like `func start`; `DevHost` does the same from Python code.
"""

from .errors import DevHostError
from .host import DevHost

__all__ = ["DevHost", "DevHostError"]
