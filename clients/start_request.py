"""What the starting clients read from an HTTP request, and the JSON error responses they answer with.

Not a blueprint: HttpStart, HttpStartAndWait and the progress page's routes share it, so they
validate the orchestrator name and the body the same way and a bad request gets a 4xx with a JSON
body that says what was wrong.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import azure.functions as func

from orchestrators.names import ORCHESTRATORS


def json_response(status_code: int, body: Any, headers: dict[str, str] | None = None) -> func.HttpResponse:
    """Return an HTTP response whose body is `body` as JSON, with extra `headers` if given."""
    return func.HttpResponse(
        json.dumps(body), status_code=status_code, mimetype="application/json", headers=headers
    )


class BadRequestError(Exception):
    """A request the client must fix; `response()` is the 4xx to send back."""

    def __init__(self, status_code: int, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.details = details

    def response(self) -> func.HttpResponse:
        """Return the JSON error response: {"error": message, **details}."""
        return json_response(self.status_code, {"error": str(self), **self.details})


@dataclass(frozen=True, slots=True)
class StartRequest:
    """An orchestrator to start and its input (None when the request had no body)."""

    function_name: str
    input: Any


def read_start_request(req: func.HttpRequest) -> StartRequest:
    """Return the orchestrator named by the route value `functionName` and the JSON body as input.

    An empty body means no input. Raises BadRequestError: 404 if the name is not one of this app's
    orchestrators, 400 if the body is not valid JSON.
    """
    function_name = req.route_params.get("functionName", "")
    if function_name not in ORCHESTRATORS:
        raise BadRequestError(
            404,
            f"No orchestrator function named {function_name!r} in this app.",
            functionName=function_name,
            orchestrators=list(ORCHESTRATORS),
        )
    return StartRequest(function_name, read_json_body(req))


def read_json_body(req: func.HttpRequest) -> Any:
    """Return the request body parsed as JSON, or None when the body is empty.

    Raises BadRequestError (400) if the body is not valid UTF-8 JSON.
    """
    body = req.get_body()
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except ValueError as exc:
        # UnicodeDecodeError is a ValueError too: the body must be UTF-8 JSON.
        raise BadRequestError(400, f"The request body is not valid JSON: {exc}.") from exc
    except RecursionError as exc:
        raise BadRequestError(400, "The request body is JSON nested too deeply to read.") from exc
