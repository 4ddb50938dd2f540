"""One entity batch: from the entity's due requests to the `EntityBatchResult` the store commits.

The host hands the entity function the batch JSON (`self`, `exists`, `state`, and `batch` of
`{name, input, isSignal}`) and the SDK's `Entity.handle` answers one EntityState: `entityExists`,
`entityState` (JSON text), one result per operation (`isError`, `result` as JSON text) and the
signals it sent (azure-functions-durable-extension, src/WebJobs.Extensions.DurableTask/Bindings/
EntityTriggerAttributeBindingProvider.cs and Listener/TaskEntityShim.cs, `ExecuteOutOfProcBatch`;
azure-functions-durable-python, azure/durable_functions/entity.py).

The state after the batch is the one the SDK returned. The extension rolls an operation that raised
back only for in-process (.NET) entities; for an out-of-process entity it takes the returned state as
it is, so a Python operation that changed the state before raising keeps that change, as on Azure.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime
from typing import Any

from .. import history as h
from ..execution_log import executing
from ..functions import FunctionIndex
from ..store.entity_records import (
    EntityBatch,
    EntityBatchResult,
    EntityRecord,
    EntityRequest,
    scheduler_id,
    split_scheduler_id,
)
from .entity_messages import response_message, unknown_entity_message
from .invoker import EntityReply, Invoker

log = logging.getLogger("devhost.entities")
# maxEntityOperationBatchSize when unset on a dedicated plan (Options/DurableTaskOptions.cs).
MAX_BATCH = 5000


def batch_payload(entity: EntityRecord, requests: list[EntityRequest]) -> str:
    """The entity trigger's JSON for one batch."""
    name, key = split_scheduler_id(entity.entity_id)
    return json.dumps(
        {
            "self": {"name": name, "key": key},
            "exists": entity.exists,
            "state": entity.state if entity.exists else None,
            "batch": [
                {
                    "name": r.request.get("op"),
                    "input": r.request.get("input"),
                    "isSignal": bool(r.request.get("signal")),
                }
                for r in requests
            ],
        },
        separators=(",", ":"),
    )


def _checked_results(reply: EntityReply, count: int) -> list[dict[str, Any]] | str:
    """The reply's results, or why the whole batch failed (the host needs one result per operation)."""
    if reply.error is not None or reply.state is None:
        return reply.error or "the entity function returned nothing"
    results = reply.state.get("results")
    if not isinstance(results, list) or len(results) != count:
        got = len(results) if isinstance(results, list) else "no"
        return f"the entity function returned {got} results for a batch of {count} operations"
    if not all(isinstance(r, dict) for r in results):
        return "the entity function returned a result that is not an object"
    return results


def _failed_operation(checked: list[dict[str, Any]] | str, requests: list[EntityRequest]) -> str | None:
    """Why the execution counts as failed although the batch ran: the extension captures each failed
    operation as an application error (TaskEntityShim, OperationErrorException) and the host logs the
    invocation as Failed; devhost names the first such operation and its error."""
    if isinstance(checked, str):
        return checked
    for request, result in zip(requests, checked, strict=False):
        if result.get("isError"):
            return f"Error in operation '{request.request.get('op')}': {result.get('result')}"
    return None


def _signals(reply: EntityReply, sender: str) -> list[EntityRequest]:
    """The signals a batch sent, as requests for their entities' inboxes."""
    out = []
    for signal in (reply.state or {}).get("signals") or []:
        target = signal.get("target") if isinstance(signal, dict) else None
        if not isinstance(target, dict) or not target.get("name"):
            continue
        request = {"op": signal.get("name"), "signal": True, "id": str(uuid.uuid4()), "parent": sender}
        if signal.get("input") is not None:
            request["input"] = signal["input"]
        out.append(EntityRequest(scheduler_id(str(target["name"]), str(target.get("key", ""))), request))
    return out


class EntityRunner:
    """Runs entity batches through the invoker and turns each into one commit."""

    def __init__(self, index: FunctionIndex, invoker: Invoker) -> None:
        self._index = index
        self._invoker = invoker

    async def run(self, batch: EntityBatch, now: datetime) -> EntityBatchResult:
        entity, requests = batch.entity, batch.requests
        name = entity.name
        fn = self._index.entity(name)
        if fn is None:
            reply = EntityReply(error=unknown_entity_message(name, self._index))
        else:
            with executing(fn.name, "EntityTrigger", entity.entity_id) as run:
                reply = await self._invoker.run_entity(fn.name, batch_payload(entity, requests))
                run.failure = reply.error or _failed_operation(
                    _checked_results(reply, len(requests)), requests
                )
        checked = _checked_results(reply, len(requests))
        after = EntityRecord(entity.entity_id, entity.exists, entity.state, h.format_time(now))
        results: list[dict[str, Any]]
        if isinstance(checked, str):
            # The whole batch failed (not one operation): every caller hears why, the state stays.
            log.error(
                "Entity '%s' failed a batch of %d operations: %s", entity.entity_id, len(requests), checked
            )
            results = [{"isError": True, "result": json.dumps(checked)}] * len(requests)
            signals: list[EntityRequest] = []
        else:
            assert reply.state is not None
            results = checked
            after.exists = bool(reply.state.get("entityExists"))
            state = reply.state.get("entityState")
            after.state = state if after.exists and isinstance(state, str) else None
            signals = _signals(reply, entity.entity_id)
        responses = [
            response_message(r.request, result.get("result"), bool(result.get("isError")), now)
            for r, result in zip(requests, results, strict=True)
            if not r.request.get("signal") and r.request.get("parent")
        ]
        for r, result in zip(requests, results, strict=True):
            if result.get("isError"):
                log.warning(
                    "Entity '%s' operation '%s' failed: %s",
                    entity.entity_id,
                    r.request.get("op"),
                    result.get("result"),
                )
        return EntityBatchResult(after, [r.id for r in requests], responses, signals)
