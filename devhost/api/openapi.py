"""An OpenAPI 3.0 description of what devhost serves: the Durable HTTP API, the app's HTTP routes and the
dashboard's routes (devhost/dashboard/routes.py).

Served at `/runtime/webhooks/durabletask/openapi.json` (and `/durabletask/openapi.json` on the RPC
port), so clients and schema-driven test tools can see every endpoint, its parameters and the error
shape. App routes come from the function index: their route templates with the host's syntax
(`{name?}`, `{name:int}`, `{*rest}`) reduced to plain OpenAPI path parameters.
"""

from __future__ import annotations

import re
from typing import Any

from ..bindings import WEBHOOK_PATH
from ..config import Settings
from ..engine.control import MAX_EVENT_NAME_LENGTH, MAX_ID_LENGTH
from .app_routes import AppRoutes, auth_level

_TEMPLATE_PARAM = re.compile(r"\{\*?([A-Za-z_][A-Za-z0-9_]*)(?::[^}?]*)?\??\}")
_ERROR = {"$ref": "#/components/schemas/Error"}
_STATUS = {"$ref": "#/components/schemas/Status"}


def _error_responses(*codes: int) -> dict[str, Any]:
    reasons = {
        400: "invalid argument",
        401: "missing or wrong key (with --auth)",
        404: "no such instance",
        405: "method not allowed",
        409: "an active instance has this id",
        410: "the instance has ended",
        412: "the instance is not in a state the operation takes (a JSON string says why)",
        413: "body larger than the host accepts",
        501: "not supported by devhost",
    }
    return {
        str(c): {
            "description": reasons[c],
            "content": {"application/json": {"schema": {"type": "string"} if c == 412 else _ERROR}},
        }
        for c in codes
    }


def _path_param(name: str, max_length: int | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "minLength": 1}
    if max_length:
        schema["maxLength"] = max_length
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _query(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


_BOOL = {"type": "string", "enum": ["true", "false"]}
_TIME = {"type": "string", "format": "date-time"}
_REASON = _query("reason", {"type": "string"}, "free text kept in the history")
_JSON_BODY = {"required": False, "content": {"application/json": {"schema": {}}}}
_ACCEPTED = {"202": {"description": "accepted"}}


def _instance_op(
    summary: str, extra: dict[str, Any], *errors: int, params: list[Any] | None = None
) -> dict[str, Any]:
    return {
        "summary": summary,
        "parameters": params or [],
        "responses": {**extra, **_error_responses(*errors)},
    }


def management_paths(prefix: str) -> dict[str, Any]:
    """The Durable HTTP API under `prefix` (docs/protocol.md, section 3)."""
    instance = f"{prefix}/instances/{{instanceId}}"
    check_status = {
        "202": {
            "description": "check-status links",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CheckStatus"}}},
        }
    }
    wait_params = [
        _query("timeout", {"type": "number"}, "seconds to wait for the end (with pollingInterval)"),
        _query("pollingInterval", {"type": "number"}, "seconds between checks (with timeout)"),
    ]
    start = {
        "summary": "Start an orchestration; the JSON body is its input",
        "parameters": [
            _path_param("functionName"),
            *wait_params,
        ],
        "requestBody": _JSON_BODY,
        "responses": {
            **check_status,
            "200": {"description": "the output, when waiting"},
            **_error_responses(400, 404, 409, 413),
        },
    }
    start_with_id = {**start, "parameters": [*start["parameters"], _path_param("instanceId", MAX_ID_LENGTH)]}
    list_params = [
        _query("createdTimeFrom", _TIME),
        _query("createdTimeTo", _TIME),
        _query("runtimeStatus", {"type": "string"}, "comma-separated runtime statuses"),
        _query("instanceIdPrefix", {"type": "string"}),
        _query("showInput", _BOOL),
        _query("top", {"type": "integer", "minimum": 1}),
    ]
    status_params = [
        _path_param("instanceId"),
        _query("showHistory", _BOOL),
        _query("showHistoryOutput", _BOOL),
        _query("showInput", _BOOL),
        _query("returnInternalServerErrorOnFailure", _BOOL),
    ]
    ok_status = {
        "200": {"description": "ended", "content": {"application/json": {"schema": _STATUS}}},
        "202": {"description": "still running", "content": {"application/json": {"schema": _STATUS}}},
    }
    with_id = [_path_param("instanceId")]
    return {
        f"{prefix}/orchestrators/{{functionName}}": {"post": start},
        f"{prefix}/orchestrators/{{functionName}}/{{instanceId}}": {"post": start_with_id},
        f"{prefix}/instances": {
            "get": _instance_op(
                "List instances", {"200": {"description": "a page of statuses"}}, 400, params=list_params
            ),
            "delete": _instance_op(
                "Purge ended instances by filter",
                {"200": {"description": "purged"}},
                400,
                404,
                params=list_params,
            ),
        },
        instance: {
            "get": _instance_op("Instance status", ok_status, 404, params=status_params),
            "delete": _instance_op(
                "Purge one finished instance", {"200": {"description": "purged"}}, 404, 412, params=with_id
            ),
        },
        f"{instance}/raiseEvent/{{eventName}}": {
            "post": {
                "summary": "Raise an external event; the JSON body is its data",
                "parameters": [*with_id, _path_param("eventName", MAX_EVENT_NAME_LENGTH)],
                "requestBody": {"required": False, "content": {"application/json": {"schema": {}}}},
                "responses": {**_ACCEPTED, **_error_responses(400, 404, 410, 413)},
            }
        },
        **{
            f"{instance}/{op}": {
                "post": _instance_op(
                    f"{op.capitalize()} an instance", _ACCEPTED, 404, 410, params=[*with_id, _REASON]
                )
            }
            for op in ("terminate", "suspend", "resume")
        },
        f"{instance}/restart": {
            "post": _instance_op(
                "Start the instance's orchestrator again with the same input",
                check_status,
                400,
                409,
                params=[*with_id, _query("restartWithNewInstanceId", _BOOL), *wait_params],
            )
        },
        f"{instance}/rewind": {
            "post": _instance_op(
                "Rewind a Failed instance: its failed activities and sub-orchestrations run again",
                _ACCEPTED,
                404,
                412,
                501,
                params=[*with_id, _REASON],
            )
        },
        f"{prefix}/makeprimary": {
            "post": {
                "summary": "Make this app the task hub's primary app (app lease); devhost is the only one",
                "responses": {"200": {"description": "done (no body)"}, **_error_responses(400)},
            }
        },
        **entity_paths(prefix),
    }


def entity_paths(prefix: str) -> dict[str, Any]:
    """The `entities/` routes (docs/entities.md)."""
    entity = [_path_param("entityName"), _path_param("entityKey")]
    list_params = [
        _query("fetchState", _BOOL),
        _query("top", {"type": "integer", "minimum": 1}),
        _query("lastOperationTimeFrom", _TIME),
        _query("lastOperationTimeTo", _TIME),
    ]
    listing = {"200": {"description": "a page of entity statuses"}}
    signal = {
        "summary": "Signal an entity operation (`op`); the body is its input",
        "parameters": [*entity, _query("op", {"type": "string"})],
        "requestBody": _JSON_BODY,
        "responses": {**_ACCEPTED, **_error_responses(400, 413)},
    }
    return {
        f"{prefix}/entities": {"get": _instance_op("List entities", listing, 400, params=list_params)},
        f"{prefix}/entities/{{entityName}}": {
            "get": _instance_op(
                "List the entities of one name", listing, 400, params=[entity[0], *list_params]
            )
        },
        f"{prefix}/entities/{{entityName}}/{{entityKey}}": {
            "get": _instance_op(
                "An entity's state (`$` is the empty key)",
                {"200": {"description": "the state as JSON"}},
                404,
                params=entity,
            ),
            "post": signal,
            "delete": {**signal, "summary": "Signal the operation `delete`", "parameters": entity},
        },
    }


def app_paths(routes: AppRoutes) -> dict[str, Any]:
    """The app's HTTP functions, one path per route template."""
    paths: dict[str, Any] = {}
    for route in routes.routes:
        fn = route.function
        names = _TEMPLATE_PARAM.findall(route.template)
        path = (
            routes.prefix
            + "/"
            + _TEMPLATE_PARAM.sub(lambda m: "{" + m.group(1) + "}", route.template.strip("/"))
        )
        operation = {
            "operationId": fn.name,
            "summary": f"HTTP function {fn.name} (auth level {auth_level(fn)})",
            "parameters": [_path_param(n) for n in names],
            "requestBody": {"required": False, "content": {"application/json": {"schema": {}}}},
            "responses": {"default": {"description": "whatever the function answers"}},
        }
        entry = paths.setdefault(path, {})
        for method in fn.methods or ["GET", "POST", "PUT", "PATCH", "DELETE"]:
            entry[method.lower()] = operation
    return paths


def openapi_document(
    settings: Settings,
    routes: AppRoutes | None,
    prefix: str = WEBHOOK_PATH,
    extra_paths: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The whole description: the Durable HTTP API under `prefix`, when `routes` are given (the public
    server) the app's routes, and `extra_paths` (the dashboard's, from the host)."""
    return {
        "openapi": "3.0.3",
        "info": {"title": "devhost: Durable Functions HTTP API and app routes", "version": "1"},
        "paths": {
            **(app_paths(routes) if routes else {}),
            **management_paths(prefix),
            **(extra_paths or {}),
        },
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["Message"],
                    "properties": {"Message": {"type": "string"}, "ExceptionMessage": {"type": "string"}},
                },
                "CheckStatus": {
                    "type": "object",
                    "required": ["id", "statusQueryGetUri"],
                    "properties": {
                        k: {"type": "string"}
                        for k in (
                            "id",
                            "statusQueryGetUri",
                            "sendEventPostUri",
                            "terminatePostUri",
                            "purgeHistoryDeleteUri",
                            "restartPostUri",
                            "suspendPostUri",
                            "resumePostUri",
                        )
                    },
                },
                "Status": {
                    "type": "object",
                    "required": ["name", "instanceId", "runtimeStatus"],
                    "properties": {
                        "name": {"type": "string"},
                        "instanceId": {"type": "string"},
                        "runtimeStatus": {
                            "type": "string",
                            "enum": [
                                "Running",
                                "Completed",
                                "ContinuedAsNew",
                                "Failed",
                                "Canceled",
                                "Terminated",
                                "Pending",
                                "Suspended",
                            ],
                        },
                        "input": {},
                        "customStatus": {},
                        "output": {},
                        "createdTime": {"type": "string"},
                        "lastUpdatedTime": {"type": "string"},
                        "historyEvents": {"type": "array"},
                        "devhostVirtualTime": {
                            "type": "string",
                            "description": "devhost only, when its virtual clock is ahead of the wall "
                            "clock: the engine's time, in which createdTime and lastUpdatedTime are given",
                        },
                    },
                },
            },
            "securitySchemes": {
                "code": {"type": "apiKey", "in": "query", "name": "code"},
                "functionsKey": {"type": "apiKey", "in": "header", "name": "x-functions-key"},
            },
        },
        "security": [{"code": []}, {"functionsKey": []}] if settings.auth else [],
    }
