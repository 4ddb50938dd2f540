"""One invocation of an app's HTTP function, where the Python worker runs it.

The Functions host parses the request, routes it and checks its key; the worker turns the request data
into a `func.HttpRequest`, calls the function, and encodes what it returns (or what it set on its
`http` output) as the response. `HttpCall` is what the host sends and `HttpReply` what comes back, plain
data either way, so the invocation can run in a worker process as well as in the host's.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from typing import Any

from ..bindings import HttpResult, InvocationContext, decode_http_request, encode_http_response
from ..indexing.model import CLIENT_BINDINGS, AppFunction, OutValue


@dataclass(slots=True)
class HttpCall:
    """The request as the host hands it to the worker, with the values of the function's bindings."""

    method: str
    url: str
    headers: dict[str, str]
    query: dict[str, str]
    params: dict[str, str]
    body: bytes
    client_binding: str  # the `durableClient` binding's value (the host's URLs for this request)
    directory: str  # the function's directory, for `context.function_directory`
    invocation_id: str  # the `Id=` of the invocation's log lines


@dataclass(slots=True)
class HttpReply:
    """The response, or why there is none: (message, traceback) of what the invocation raised."""

    result: HttpResult | None = None
    failure: tuple[str, str] | None = None


def http_arguments(fn: AppFunction, call: HttpCall) -> tuple[dict[str, Any], dict[str, OutValue]]:
    """The function's keyword arguments, and its output parameters among them."""
    kwargs: dict[str, Any] = {}
    for binding in fn.bindings:
        kind, name = binding.get("type"), str(binding.get("name"))
        if kind == "httpTrigger":
            kwargs[name] = decode_http_request(
                call.method, call.url, call.headers, call.query, call.params, call.body
            )
        elif kind in CLIENT_BINDINGS:
            kwargs[name] = call.client_binding
    outputs = {name: OutValue() for name in fn.output_parameters}
    kwargs.update(outputs)
    if fn.wants_context:
        context = InvocationContext(fn.name, call.directory)
        context.invocation_id = call.invocation_id  # the id the log lines show, as on Azure
        kwargs["context"] = context
    return kwargs, outputs


def http_result(fn: AppFunction, value: Any, outputs: dict[str, OutValue]) -> HttpResult:
    """What the function returned as the response; raises where the worker fails the invocation."""
    if value is not None and not fn.has_return:
        raise RuntimeError(f"function {fn.name!r} without a $return binding returned a non-None value")
    if value is None and fn.has_return:
        raise TypeError('unable to encode outgoing TypedData: unsupported type "NoneType" for http output')
    # A named `http` output (v1 function.json) set through func.Out is the response.
    value = next((out.get() for out in outputs.values() if out.get() is not None), value)
    return encode_http_response(value)


def http_failure(exc: BaseException) -> HttpReply:
    return HttpReply(
        failure=(f"{type(exc).__name__}: {exc}", "".join(traceback.format_exception(exc)).rstrip())
    )
