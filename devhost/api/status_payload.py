"""The status object of the Durable HTTP API (the extension's `StatusResponsePayload`).

Shapes as azure-functions-durable-extension, src/WebJobs.Extensions.DurableTask/HttpApiHandler.cs
(`ConvertFrom` of a DurableOrchestrationStatus): stored JSON values parsed back into JSON, a value that
is not JSON shown as text, times in whole seconds.
"""

from __future__ import annotations

import json
from typing import Any

from .. import history as h
from ..store import InstanceRecord


def status_payload(
    record: InstanceRecord, *, show_input: bool = True, history_events: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The status object of the HTTP API (`StatusResponsePayload`)."""
    body: dict[str, Any] = {
        "name": record.name,
        "instanceId": record.instance_id,
        "runtimeStatus": record.runtime_status.value,
        "input": _json_or_text(record.input) if show_input else None,
        "customStatus": _json_or_text(record.custom_status),
        "output": _json_or_text(record.output),
        "createdTime": h.status_time(record.created_time),
        "lastUpdatedTime": h.status_time(record.last_updated_time),
    }
    if history_events is not None:
        body["historyEvents"] = history_events
    return body


def _json_or_text(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text
