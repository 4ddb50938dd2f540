"""Instance management: what the Durable HTTP API and the SDK client ask of the engine.

Each operation validates its input, then commits one change to the store and wakes the dispatcher.
Refusals are `OperationRefusedError`s (devhost/errors.py), named as the extension's exceptions; the
HTTP layer picks the status code (api/errors.py).
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

from .. import history as h
from ..clock import RealClock
from ..errors import (
    InstanceEndedError,
    InstanceExistsError,
    InstanceNotFoundError,
    InvalidArgumentError,
    InvalidStateError,
    NotSupportedError,
    PreconditionFailedError,
    StoreError,
)
from ..execution_log import event_not_awaited
from ..functions import FunctionIndex, Kind
from ..history import EventType
from ..store import InstanceQuery, InstanceRecord, Message, RuntimeStatus, Store
from .entity_control import EntityControl
from .ledger import Ledger
from .rewind import retried_failures, rewind_event

log = logging.getLogger("devhost.control")
_BAD_ID_CHARS = re.compile(r"[/\\#?\x00-\x1f\x7f]")
MAX_ID_LENGTH = 256
MAX_EVENT_NAME_LENGTH = 256
# DurableClient.cs, IsOrchestrationSuspendable and IsOrchestrationSuspended.
_SUSPENDABLE = frozenset({RuntimeStatus.RUNNING, RuntimeStatus.PENDING, RuntimeStatus.CONTINUED_AS_NEW})
_RESUMABLE = frozenset({RuntimeStatus.SUSPENDED})
_GONE = (RuntimeStatus.COMPLETED, RuntimeStatus.TERMINATED, RuntimeStatus.CANCELED)
_RAISED_MARKER = f'"EventType":{int(EventType.EVENT_RAISED)}'


def validate_instance_id(instance_id: str) -> None:
    """The extension's rules for instance ids; InvalidArgumentError naming the rule broken."""
    if not instance_id:
        raise InvalidArgumentError("Instance ID must not be empty.")
    if len(instance_id) > MAX_ID_LENGTH:
        raise InvalidArgumentError(f"Instance ID must not be longer than {MAX_ID_LENGTH} characters.")
    if instance_id.startswith("@"):
        raise InvalidArgumentError("Instance ID must not start with '@'.")
    if _BAD_ID_CHARS.search(instance_id):
        raise InvalidArgumentError("Instance ID must not contain /, \\, #, ? or control characters.")


def validate_event_name(name: str) -> None:
    if not name or len(name) > MAX_EVENT_NAME_LENGTH or _BAD_ID_CHARS.search(name):
        raise InvalidArgumentError(
            f"Event name must be 1-{MAX_EVENT_NAME_LENGTH} characters without /, \\, #, ? "
            "or control characters."
        )


class Control:
    """The operations behind the management API, on one store and clock."""

    def __init__(
        self,
        store: Store,
        index: FunctionIndex,
        clock: RealClock,
        wake: Callable[[], None],
        *,
        replace_active: bool = False,
        default_version: str = "",
    ) -> None:
        self.store = store
        self.replace_active = replace_active
        self.default_version = default_version
        self.index = index
        self.clock = clock
        self._wake = wake
        self.entities = EntityControl(store, index, clock, wake)

    async def start(
        self, name: str, instance_id: str | None, input_json: str | None, version: str | None = None
    ) -> str:
        """Create an instance; `input_json` is the JSON text stored as its input. Without a `version`
        it gets host.json's `defaultVersion` (HttpApiHandler.cs, HandleStartOrchestratorRequestAsync)."""
        fn = self.index.get(name, Kind.ORCHESTRATOR)
        if fn is None:
            # 400, as the extension answers (an ArgumentException); the SDK's start_new then raises
            # with this message.
            raise InvalidArgumentError(self.unknown_orchestrator_message(name))
        instance_id = instance_id or uuid.uuid4().hex
        validate_instance_id(instance_id)
        now = self.clock.now()
        stamp = h.format_time(now)
        execution_id = uuid.uuid4().hex
        # Stored under the client's spelling: the extension checks the name ignoring case
        # (FunctionName.cs) but creates the instance with the name it was given (DurableClient.cs,
        # StartNewAsync), and its dispatcher finds the function in any case.
        record = InstanceRecord(
            instance_id, name, execution_id, RuntimeStatus.PENDING, stamp, stamp, input=input_json
        )
        start = h.execution_started(
            now,
            instance_id,
            execution_id,
            name,
            input_json,
            None,
            generation=0,
            version=self.default_version if version is None else version,
        )
        message = Message(instance_id, start, execution_id=execution_id)
        try:
            await self.store.create_instance(record, message)
        except InstanceExistsError:
            if not self.replace_active:
                raise
            # overridableExistingInstanceStates: AnyState. The running execution is dropped for the new
            # one (its pending work is discarded), as the extension's empty dedupe list lets happen.
            log.warning("Instance '%s' was active and is replaced by a new start (AnyState).", instance_id)
            await self.store.purge(instance_id)
            await self.store.create_instance(record, message)
        self._wake()
        return instance_id

    def unknown_orchestrator_message(self, name: str) -> str:
        """The extension's words, known orchestrators listed."""
        return self.index.missing(name, Kind.ORCHESTRATOR)

    async def history(self, instance_id: str) -> list[str]:
        """The stored history of the instance's current execution, as JSON texts (empty if none)."""
        return await self.store.get_history(instance_id)

    async def list_instances(
        self, query: InstanceQuery, limit: int, after: str | None
    ) -> tuple[list[InstanceRecord], str | None]:
        """A page of at most `limit` instances matching `query`, in id order after `after`, and the id
        the next page starts after (None on the last page)."""
        return await self.store.query_instances(query, limit, after)

    async def require(self, instance_id: str) -> InstanceRecord:
        record = await self.store.get_instance(instance_id)
        if record is None:
            raise InstanceNotFoundError(f"No instance with ID '{instance_id}' found.")
        return record

    async def event_target(self, instance_id: str) -> InstanceRecord:
        """The instance an event goes to: InstanceNotFoundError if there is none, InstanceEndedError if
        it has finished."""
        record = await self.require(instance_id)
        if record.runtime_status.is_terminal:
            raise InstanceEndedError(
                f"The instance '{instance_id}' is {record.runtime_status.value}: it takes no more events."
            )
        return record

    async def raise_event(self, instance_id: str, name: str, input_json: str | None) -> None:
        validate_event_name(name)
        record = await self.event_target(instance_id)
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

    async def _control(
        self,
        instance_id: str,
        kind: EventType,
        reason: str | None,
        accepts: frozenset[RuntimeStatus] | None = None,
        **fields: Any,
    ) -> None:
        record = await self.require(instance_id)
        if record.runtime_status.is_terminal:
            raise InstanceEndedError(
                f"The instance '{instance_id}' is already {record.runtime_status.value}."
            )
        if accepts is not None and record.runtime_status not in accepts:
            # DurableClient.SuspendAsync / ResumeAsync throw InvalidOperationException, which the HTTP
            # API answers with 500 (azure-functions-durable-extension, ContextImplementations/
            # DurableClient.cs and HttpApiHandler.cs, HandleRequestAsync).
            verb = "suspend" if kind is EventType.EXECUTION_SUSPENDED else "resume"
            message = (
                f"Cannot {verb} the orchestration instance {instance_id} because instance is in the "
                f"{record.runtime_status.value} state."
            )
            log.warning("%s Answered 500, as on Azure.", message)
            raise InvalidStateError(message)
        event = h.event(kind, self.clock.now(), **fields)
        await self.store.send_message(Message(instance_id, event))
        self._wake()

    async def terminate(self, instance_id: str, reason: str | None) -> None:
        await self._control(instance_id, EventType.EXECUTION_TERMINATED, reason, Input=reason)

    async def suspend(self, instance_id: str, reason: str | None) -> None:
        await self._control(instance_id, EventType.EXECUTION_SUSPENDED, reason, _SUSPENDABLE, Reason=reason)

    async def resume(self, instance_id: str, reason: str | None) -> None:
        await self._control(instance_id, EventType.EXECUTION_RESUMED, reason, _RESUMABLE, Reason=reason)

    async def restart(self, instance_id: str, new_instance_id: bool) -> str:
        record = await self.store.get_instance(instance_id)
        if record is None:
            raise InvalidArgumentError("InstanceId does not match a valid orchestration instance.")
        target = None if new_instance_id else instance_id
        if target and record.runtime_status.is_active and not self.replace_active:
            raise InstanceExistsError(f"The instance '{instance_id}' is still {record.runtime_status.value}.")
        return await self.start(record.name, target, record.input)

    async def rewind(self, instance_id: str, reason: str | None) -> None:
        """Rewind a failed instance: one atomic store change marks it Pending and queues the request,
        which its next episode carries out (rewind.py).

        As the extension answers (azure-functions-durable-extension, src/WebJobs.Extensions.DurableTask/
        HttpApiHandler.cs, `HandleRewindInstanceRequestAsync`, 2025 and later): 404 for no such
        instance, 412 for one in any state but Failed.
        """
        record = await self.require(instance_id)
        _check_rewindable(record.runtime_status)
        retried = retried_failures(await self.store.get_history(instance_id), Ledger.from_json(record.ledger))
        if retried:
            raise NotSupportedError(
                f"The instance '{instance_id}' failed in task {retried[0]}, which ran with retry options: "
                "devhost cannot rewind a task with retry options; run the app with `func start` for that."
            )
        now = self.clock.now()
        request = Message(instance_id, rewind_event(now, reason), execution_id=record.execution_id)
        before = await self.store.request_rewind(instance_id, request, h.format_time(now))
        if before is None:
            raise InstanceNotFoundError(f"No instance with ID '{instance_id}' found.")
        _check_rewindable(before)  # it changed since it was read: nothing was done
        self._wake()

    async def purge(self, instance_id: str) -> int:
        """Purge a finished orchestration (HttpApiHandler.cs, HandleDeleteHistoryByIdRequestAsync, since
        extension PR 3311); an id starting with '@' (an entity's, on Azure Storage) is not checked."""
        if not instance_id.startswith("@"):
            status = (await self.require(instance_id)).runtime_status
            if not status.is_terminal:
                raise PreconditionFailedError(
                    "Only orchestrations in a terminal state can be purged, but the orchestration with "
                    f"instance ID {instance_id} has status {status.value}"
                )
        deleted = await self.store.purge(instance_id)
        if not deleted:
            raise InstanceNotFoundError(f"No instance with ID '{instance_id}' found.")
        return deleted

    async def purge_by(self, query: InstanceQuery) -> int:
        return await self.store.purge_by(query)


def _check_rewindable(status: RuntimeStatus) -> None:
    if status is not RuntimeStatus.FAILED:
        raise PreconditionFailedError(
            f"This orchestration has status {status.value}, but only orchestrations in the "
            '"Failed" state can be rewound.'
        )
