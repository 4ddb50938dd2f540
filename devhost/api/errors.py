"""JSON error responses: every error devhost answers carries a body saying what was wrong."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from ..errors import (
    HubConflictError,
    InstanceEndedError,
    InstanceExistsError,
    InstanceNotFoundError,
    InvalidArgumentError,
    InvalidStateError,
    NotSupportedError,
    OperationRefusedError,
    PreconditionFailedError,
    RequestError,
    StoreUnavailableError,
)
from .json_reply import json_reply

log = logging.getLogger("devhost.http")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


# The status the extension's HTTP API gives each refusal (azure-functions-durable-extension,
# src/WebJobs.Extensions.DurableTask/HttpApiHandler.cs: ArgumentException is 400, a missing instance 404,
# an existing one 409, a finished one 410 Gone; an InvalidOperationException is not caught and becomes
# 500). 501 is devhost's own: an operation it does not implement.
REFUSAL_STATUS: dict[type[OperationRefusedError], int] = {
    InvalidArgumentError: 400,
    InstanceNotFoundError: 404,
    InstanceExistsError: 409,
    InstanceEndedError: 410,
    InvalidStateError: 500,
    NotSupportedError: 501,
}


def refusal_status(exc: OperationRefusedError) -> int:
    return next((code for kind, code in REFUSAL_STATUS.items() if isinstance(exc, kind)), 400)


def error_response(status: int, message: str) -> web.Response:
    """The error body shape of the Durable HTTP API (`Message`, `ExceptionMessage`)."""
    return json_reply({"Message": message, "ExceptionMessage": message}, status=status)


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except RequestError as exc:
        return error_response(exc.status, str(exc))
    except PreconditionFailedError as exc:  # the extension's handler answers its reason as a string
        return json_reply(str(exc), status=412)
    except OperationRefusedError as exc:
        return error_response(refusal_status(exc), str(exc))
    except HubConflictError as exc:  # a purge refused: the real host has made a hub of this name
        return error_response(409, str(exc))
    except StoreUnavailableError as exc:  # a storage outage (store/outage.py): try again later
        response = error_response(503, str(exc))
        response.headers["Retry-After"] = str(exc.whole_seconds)
        return response
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        message = exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else exc.reason
        response = error_response(exc.status, message or exc.reason)
        if "Allow" in exc.headers:  # a 405 says which methods would do
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    except ConnectionResetError:
        # The client went away mid-request (a body shorter than its Content-Length, say): not a host
        # failure. Nobody is left to read the answer; aiohttp drops it with the connection.
        log.debug("%s %s: the client closed the connection mid-request", request.method, request.path)
        return error_response(400, "The client closed the connection before its request was complete.")
    except Exception:
        log.exception("unhandled error serving %s %s", request.method, request.path)
        return error_response(500, "Something went wrong while processing your request.")
