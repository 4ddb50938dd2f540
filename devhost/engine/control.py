"""Instance management: what the Durable HTTP API and the SDK client ask of the engine.

Each operation validates its input, then commits one change to the store and wakes the dispatcher.
Errors are `RequestError`s carrying the status code the HTTP layer answers with.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

from .. import history as h
from ..clock import RealClock
from ..errors import InstanceExistsError, RequestError, StoreError
from ..execution_log import event_not_awaited
from ..functions import FunctionIndex, Kind
from ..history import EventType
from ..store import InstanceQuery, InstanceRecord, Message, RuntimeStatus, Store
from .ledger import Ledger

_BAD_ID_CHARS = re.compile(r"[/\\#?\x00-\x1f\x7f]")
MAX_ID_LENGTH = 256
MAX_EVENT_NAME_LENGTH = 256
_RAISED_MARKER = f'"EventType":{int(EventType.EVENT_RAISED)}'


def validate_instance_id(instance_id: str) -> None:
    """The extension's rules for instance ids; RequestError(400) naming the rule broken."""
    if not instance_id:
        raise RequestError("Instance ID must not be empty.")
    if len(instance_id) > MAX_ID_LENGTH:
        raise RequestError(f"Instance ID must not be longer than {MAX_ID_LENGTH} characters.")
    if instance_id.startswith("@"):
        raise RequestError("Instance ID must not start with '@'.")
    if _BAD_ID_CHARS.search(instance_id):
        raise RequestError("Instance ID must not contain /, \\, #, ? or control characters.")


def validate_event_name(name: str) -> None:
    if not name or len(name) > MAX_EVENT_NAME_LENGTH or _BAD_ID_CHARS.search(name):
        raise RequestError(
            f"Event name must be 1-{MAX_EVENT_NAME_LENGTH} characters without /, \\, #, ? "
            "or control characters."
        )


class Control:
    """The operations behind the management API, on one store and clock."""

    def __init__(
        self, store: Store, index: FunctionIndex, clock: RealClock, wake: Callable[[], None]
    ) -> None:
        self.store = store
        self.index = index
        self.clock = clock
        self._wake = wake

    async def start(self, name: str, instance_id: str | None, input_json: str | None) -> str:
        """Create an instance; `input_json` is the JSON text stored as its input."""
        fn = self.index.get(name, Kind.ORCHESTRATOR)
        if fn is None:
            raise RequestError(
                # 400, as the extension answers (an ArgumentException); the SDK's start_new then raises
                # with this message.
                f"The function '{name}' doesn't exist, is disabled, or is not an orchestrator function.", 400
            )
        instance_id = instance_id or uuid.uuid4().hex
        validate_instance_id(instance_id)
        now = self.clock.now()
        stamp = h.format_time(now)
        execution_id = uuid.uuid4().hex
        record = InstanceRecord(
            instance_id, fn.name, execution_id, RuntimeStatus.PENDING, stamp, stamp, input=input_json
        )
        start = h.execution_started(now, instance_id, execution_id, fn.name, input_json, None)
        try:
            await self.store.create_instance(record, Message(instance_id, start, execution_id=execution_id))
        except InstanceExistsError as exc:
            raise RequestError(str(exc), 409) from exc
        self._wake()
        return instance_id

    async def require(self, instance_id: str) -> InstanceRecord:
        record = await self.store.get_instance(instance_id)
        if record is None:
            raise RequestError(f"No instance with ID '{instance_id}' found.", 404)
        return record

    async def raise_event(self, instance_id: str, name: str, input_json: str | None) -> None:
        validate_event_name(name)
        record = await self.require(instance_id)
        if record.runtime_status.is_terminal:
            raise RequestError(
                f"The instance '{instance_id}' is {record.runtime_status.value}: it takes no more events.",
                410,
            )
        event = h.event(EventType.EVENT_RAISED, self.clock.now(), Name=name, Input=input_json)
        await self.store.send_message(Message(instance_id, event))
        self._wake()
        if record.runtime_status is not RuntimeStatus.PENDING:  # a pending one has asked for nothing yet
            await self._warn_unless_awaited(record, name)

    async def _warn_unless_awaited(self, record: InstanceRecord, name: str) -> None:
        """Warn when no open wait of the instance asks for `name` (the event is queued regardless)."""
        open_waits = Counter(Ledger.from_json(record.ledger).waits)
        try:
            history = await self.store.get_history(record.instance_id)
        except StoreError:
            return  # only a hint is lost: the event itself is already queued
        for text in history:
            if _RAISED_MARKER in text:
                event = json.loads(text)
                if event.get("EventType") == EventType.EVENT_RAISED:
                    open_waits[event.get("Name")] -= 1
        if open_waits[name] <= 0:
            event_not_awaited(record.instance_id, name, sorted(set(open_waits.elements())))

    async def _control(self, instance_id: str, kind: EventType, reason: str | None, **fields: Any) -> None:
        record = await self.require(instance_id)
        if record.runtime_status.is_terminal:
            raise RequestError(f"The instance '{instance_id}' is already {record.runtime_status.value}.", 410)
        event = h.event(kind, self.clock.now(), **fields)
        await self.store.send_message(Message(instance_id, event))
        self._wake()

    async def terminate(self, instance_id: str, reason: str | None) -> None:
        await self._control(instance_id, EventType.EXECUTION_TERMINATED, reason, Input=reason)

    async def suspend(self, instance_id: str, reason: str | None) -> None:
        await self._control(instance_id, EventType.EXECUTION_SUSPENDED, reason, Reason=reason)

    async def resume(self, instance_id: str, reason: str | None) -> None:
        await self._control(instance_id, EventType.EXECUTION_RESUMED, reason, Reason=reason)

    async def restart(self, instance_id: str, new_instance_id: bool) -> str:
        record = await self.store.get_instance(instance_id)
        if record is None:
            raise RequestError("InstanceId does not match a valid orchestration instance.", 400)
        target = None if new_instance_id else instance_id
        if target and record.runtime_status.is_active:
            raise RequestError(f"The instance '{instance_id}' is still {record.runtime_status.value}.", 409)
        return await self.start(record.name, target, record.input)

    async def purge(self, instance_id: str) -> int:
        deleted = await self.store.purge(instance_id)
        if not deleted:
            raise RequestError(f"No instance with ID '{instance_id}' found.", 404)
        return deleted

    async def purge_by(self, query: InstanceQuery) -> int:
        return await self.store.purge_by(query)


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
