"""Trigger and binding values in and out of user code, through the official `azure.functions` converters.

The Python worker turns host data into `meta.Datum`s and lets the converter registered for the binding
type decode them; return values are encoded the same way. devhost does exactly that, so the app sees
the same objects it sees on Azure.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import azure.functions as func
from azure.functions import _abc as func_abc
from azure.functions import meta

from .config import Settings
from .dotnet_text import url_encode
from .string_response import string_response

log = logging.getLogger("devhost.bindings")
WEBHOOK_PATH = "/runtime/webhooks/durabletask"
RPC_PATH = "/durabletask/"


def _converter(binding_type: str) -> Any:
    converter = meta.get_binding_registry().get(binding_type)
    if converter is None:
        raise LookupError(f"azure.functions has no converter for binding type '{binding_type}'")
    return converter


class TraceContext(func_abc.TraceContext):
    """The W3C trace context the worker gives every invocation: a new trace here, as for a request
    that arrives without a `traceparent` (its shape: version, trace id, span id, flags)."""

    def __init__(self) -> None:
        self._parent = f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-00"

    @property
    def trace_parent(self) -> str:
        return self._parent

    @property
    def trace_state(self) -> str:
        return ""

    @property
    def attributes(self) -> dict[str, str]:
        return {}


class RetryContext(func_abc.RetryContext):
    """No retry policy runs here: the first attempt, of none allowed, as the worker reports it then."""

    @property
    def retry_count(self) -> int:
        return 0

    @property
    def max_retry_count(self) -> int:
        return 0

    @property
    def exception(self) -> Any:
        return None


@dataclass(slots=True)
class InvocationContext:
    """What the worker passes as a function's `context` parameter (func.Context's attributes); the
    worker always fills the trace and retry contexts and a thread-local store (its `_get_context`)."""

    function_name: str
    function_directory: str
    invocation_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    trace_context: Any = field(default_factory=TraceContext)
    retry_context: Any = field(default_factory=RetryContext)
    thread_local_storage: Any = field(default_factory=threading.local)


def decode_http_request(
    method: str,
    url: str,
    headers: dict[str, str],
    query: dict[str, str],
    route_params: dict[str, str],
    body: bytes,
) -> func.HttpRequest:
    """Build the trigger value from request parts, via the httpTrigger converter."""
    datum = meta.Datum(
        type="http",
        value={
            "method": meta.Datum(method, "string"),
            "url": meta.Datum(url, "string"),
            "headers": {k: meta.Datum(v, "string") for k, v in headers.items()},
            "query": {k: meta.Datum(v, "string") for k, v in query.items()},
            "params": {k: meta.Datum(v, "string") for k, v in route_params.items()},
            "body": meta.Datum(body, "bytes"),
        },
    )
    return _converter("httpTrigger").decode(datum, trigger_metadata={})


@dataclass(slots=True)
class HttpResult:
    status: int
    headers: dict[str, str]
    body: bytes
    cookies: list[str] = field(default_factory=list)  # one Set-Cookie header each


def encode_http_response(value: Any) -> HttpResult:
    """A function's return value as an HTTP response, via the http output converter."""
    if value is None:  # an output binding never set (a returned None fails before: app_routes.py)
        return HttpResult(204, {}, b"")
    datum = _converter("http").encode(value, expected_type=None)
    if datum.type == "string":  # a returned str: the host reads it as JSON first
        return HttpResult(*string_response(str(datum.value)))
    parts = datum.value
    headers = {k: v.value for k, v in parts["headers"].items()}
    body = parts["body"].value if parts["body"] is not None else b""
    cookies = [set_cookie(m) for jar in parts.get("cookies") or [] for m in jar.values()]
    return HttpResult(int(parts["status_code"].value), headers, body or b"", cookies)


def set_cookie(morsel: Any) -> str:
    """A response cookie as the host writes it: the worker hands each `Set-Cookie` the function set to
    the host as a cookie, which ASP.NET's `Response.Cookies.Append` writes back, value escaped
    (`Uri.EscapeDataString`), attributes in lower case, `path=/` unless another is given."""
    parts = [f"{morsel.key}={quote(morsel.value, safe='')}"]
    for name in ("expires", "max-age", "domain"):
        if morsel[name]:
            parts.append(f"{name}={morsel[name]}")
    parts.append(f"path={morsel['path'] or '/'}")
    if morsel["secure"]:
        parts.append("secure")
    if morsel["samesite"]:
        parts.append(f"samesite={str(morsel['samesite']).lower()}")
    if morsel["httponly"]:
        parts.append("httponly")
    return "; ".join(parts)


def decode_activity_input(input_text: str | None) -> Any:
    """Activity input (the action's JSON text) as the activity parameter, via activityTrigger."""
    datum = meta.Datum("null" if input_text is None else input_text, "string")
    return _converter("activityTrigger").decode(datum, trigger_metadata={})


def encode_activity_output(value: Any) -> str:
    """An activity's return value as JSON text; ValueError if it cannot be serialised."""
    return str(_converter("activityTrigger").encode(value, expected_type=None).value)


def decode_orchestration_context(payload: str) -> Any:
    return _converter("orchestrationTrigger").decode(meta.Datum(payload, "string"), trigger_metadata={})


def decode_entity_context(payload: str) -> Any:
    """The entity trigger's batch JSON as the worker passes it (an `EntityContext`)."""
    return _converter("entityTrigger").decode(meta.Datum(payload, "string"), trigger_metadata={})


def decode_client_binding(payload: str) -> Any:
    return _converter("durableClient").decode(meta.Datum(payload, "string"), trigger_metadata={})


def management_query(settings: Settings) -> str:
    """The query every management URL ends with; with auth on, the system key (`code=`) as on Azure."""
    return f"taskHub={url_encode(settings.hub_name)}&connection=Storage" + _code(settings, "&")


def _code(settings: Settings, separator: str) -> str:
    return f"{separator}code={quote(settings.system_key, safe='')}" if settings.system_key else ""


def management_urls(base_url: str, settings: Settings, instance_id: str) -> dict[str, str]:
    """The check-status links for one instance (the webhook start response; 8 keys, no rewind).

    The id is encoded with `WebUtility.UrlEncode`, as the extension does (azure-functions-durable-extension,
    src/WebJobs.Extensions.DurableTask/HttpApiHandler.cs, GetClientResponseLinks): a space becomes '+',
    which the Durable API reads back as a space (api/path_values.py), as the extension's
    `WebUtility.UrlDecode` of the path does.
    """
    root = f"{base_url}{WEBHOOK_PATH}/instances/{url_encode(instance_id)}"
    q = management_query(settings)
    return {
        "id": instance_id,
        "statusQueryGetUri": f"{root}?{q}",
        "sendEventPostUri": f"{root}/raiseEvent/{{eventName}}?{q}",
        "terminatePostUri": f"{root}/terminate?reason={{text}}&{q}",
        "purgeHistoryDeleteUri": f"{root}?{q}",
        "restartPostUri": f"{root}/restart?{q}",
        "suspendPostUri": f"{root}/suspend?reason={{text}}&{q}",
        "resumePostUri": f"{root}/resume?reason={{text}}&{q}",
    }


def client_binding_payload(base_url: str, rpc_base_url: str, settings: Settings) -> str:
    """The `durableClient` input binding value, as the Durable extension serialises it."""
    urls = management_urls(base_url, settings, "INSTANCEID")
    base = f"{base_url}{WEBHOOK_PATH}"
    q = management_query(settings)
    rewind = f"{base}/instances/INSTANCEID/rewind?reason={{text}}&{q}"
    ordered: dict[str, str] = {}
    for key, value in urls.items():  # in HttpManagementPayload's order: rewind after terminate
        ordered[key] = value
        if key == "terminatePostUri":
            ordered["rewindPostUri"] = rewind
    return json.dumps(
        {
            "taskHubName": settings.hub_name,
            "connectionName": None,
            "creationUrls": {
                "createNewInstancePostUri": (
                    f"{base}/orchestrators/{{functionName}}[/{{instanceId}}]" + _code(settings, "?")
                ),
                "createAndWaitOnNewInstancePostUri": (
                    f"{base}/orchestrators/{{functionName}}[/{{instanceId}}]"
                    "?timeout={timeoutInSeconds}&pollingInterval={intervalInSeconds}" + _code(settings, "&")
                ),
            },
            "managementUrls": ordered,
            "baseUrl": base,
            "requiredQueryStringParameters": _code(settings, ""),
            "rpcBaseUrl": rpc_base_url,
            "httpBaseUrl": None,
        }
    )
