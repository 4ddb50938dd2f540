"""The app indexed once, as the Functions worker indexes it.

FunctionApp.get_functions() records the names it has seen and refuses a second call on the same
app ("does not have a unique function name"), so every test shares this one index.
"""

from __future__ import annotations

from functools import cache

import azure.functions as func

from function_app import app


@cache
def indexed_functions() -> dict[str, func.Function]:
    """Return the app's functions by registered name."""
    return {function.get_function_name(): function for function in app.get_functions()}
