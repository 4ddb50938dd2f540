"""Messages between orchestrations and durable entities, in the extension's wire shapes.

An orchestrator's `call_entity` (action 7) and `signal_entity` (action 9) each take a task id; the
host records an EventSent under that id whose Input is the request (the extension's RequestMessage:
`op`, `signal`, `input`, `id`, `parent`, `parentExecution`) and queues the same request in the
entity's inbox. The SDK re-keys an open call by the request's `id` when it replays the EventSent,
and the entity's answer comes back as an EventRaised named after that id whose Input is the
extension's ResponseMessage (`result`, and `exceptionType` only for an error)
(azure-functions-durable-python, azure/durable_functions/models/TaskOrchestrationExecutor.py and
models/entities/ResponseMessage.py; azure-functions-durable-extension,
src/WebJobs.Extensions.DurableTask/EntityScheduler/RequestMessage.cs, ResponseMessage.cs,
Listener/OutOfProcOrchestrationShim.cs and Listener/TaskEntityShim.cs).

Inputs are doubly encoded, as the extension does: the SDK sends an operation's input as JSON text,
and the extension serializes that string again into the request (RequestMessage.SetInput).
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime
from typing import Any

from .. import history as h
from ..functions import FunctionIndex, Kind
from ..history import EventType
from ..store import InstanceRecord, Message
from ..store.entity_records import EntityRequest, split_scheduler_id
from .actions import ActionType

REQUEST_EVENT_NAME = "op"  # EntityMessageEventNames.RequestMessageEventName
_BAD_KEY_CHARS = re.compile(r"[/\\#?\x00-\x1f\x7f]")


def entity_key_problem(key: str) -> str | None:
    """The extension's rule for the keys a client signals (DurableClient.cs, SignalEntityAsyncInternal),
    in the words its ArgumentException gives: it passes the message and the parameter name the wrong
    way round, so the message is the parameter's name. Orchestrations are not checked."""
    if _BAD_KEY_CHARS.search(key):
        return "entityKey (Parameter 'Entity keys must not contain /, \\, #, ?, or control characters.')"
    return None


def unknown_entity_message(name: str, index: FunctionIndex) -> str:
    """DurableTaskExtension.GetInvalidEntityFunctionMessage, for the entity name as EntityId keeps it
    (lower case). It lists the known entity functions when the app has orchestrators (the extension
    tests the wrong collection), else says none are registered."""
    known = [str(f.trigger.get("entityName") or f.name) for f in index.of_kind(Kind.ENTITY)]
    info = (
        "The following are the known entity functions: '" + "', '".join(known) + "'."
        if index.of_kind(Kind.ORCHESTRATOR)
        else "No entity functions are currently registered!"
    )
    return (
        f"The function '{name.lower()}' doesn't exist, is disabled, or is not an entity function. "
        f"Additional info: {info}"
    )


def request_message(
    operation: str,
    input_json: str | None,
    *,
    signal: bool,
    parent: str | None = None,
    parent_execution: str | None = None,
) -> dict[str, Any]:
    """A RequestMessage as JSON; `input_json` is the operation's input as JSON text, or None."""
    request: dict[str, Any] = {"op": operation}
    if signal:
        request["signal"] = True
    if input_json is not None:
        request["input"] = input_json
    request["id"] = str(uuid.uuid4())
    if parent is not None:
        request["parent"] = parent
    if parent_execution is not None:
        request["parentExecution"] = parent_execution
    return request


def entity_action_problem(action: dict[str, Any], index: FunctionIndex) -> str | None:
    """Why an entity action cannot be sent (a bad id, an entity the app does not have), or None."""
    target = str(action.get("instanceId") or "")
    try:
        name, _ = split_scheduler_id(target)
    except ValueError as exc:
        return str(exc)
    if index.entity(name) is None:
        return unknown_entity_message(name, index)
    return None  # any key: only a client's signal is checked (DurableClient.SignalEntityAsyncInternal)


def send_from_orchestration(
    inst: InstanceRecord, action: dict[str, Any], task_id: int, now: datetime
) -> tuple[dict[str, Any], EntityRequest]:
    """The EventSent an entity action records under `task_id`, and the request it queues."""
    signal = action.get("actionType") == ActionType.SIGNAL_ENTITY
    raw = action.get("input")
    request = request_message(
        str(action.get("operation") or ""),
        json.dumps(raw) if raw is not None else None,
        signal=signal,
        parent=inst.instance_id,
        parent_execution=None if signal else inst.execution_id,
    )
    target = str(action["instanceId"])
    event = h.event(
        EventType.EVENT_SENT,
        now,
        task_id,
        InstanceId=target,
        Name=REQUEST_EVENT_NAME,
        Input=json.dumps(request, separators=(",", ":")),
    )
    return event, EntityRequest(target, request)


def response_message(request: dict[str, Any], result: str | None, is_error: bool, now: datetime) -> Message:
    """The answer to a call: an EventRaised named after the request id, for the calling execution."""
    body: dict[str, Any] = {"result": result}
    if is_error:
        body["exceptionType"] = "Error"
    event = h.event(
        EventType.EVENT_RAISED, now, Name=request["id"], Input=json.dumps(body, separators=(",", ":"))
    )
    return Message(str(request["parent"]), event, execution_id=request.get("parentExecution"))
