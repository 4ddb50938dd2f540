"""One orchestration episode: from a work item to the `EpisodeResult` the store commits.

fetch -> pick the batch of new events -> replay through the SDK's `handle()` -> turn the returned
actions into history events and outbox (activities, timers, sub-orchestrations, parent
notifications) -> one commit. A user's exception is data (the instance fails with its message);
only infrastructure failures abandon the work item.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .. import history as h
from ..execution_log import executing
from ..functions import FunctionIndex, Kind
from ..history import EventType
from ..json_text import dumps_ascii, utf16_size
from ..store import ActivityTask, EpisodeResult, InstanceRecord, Message, RuntimeStatus, WorkItem
from ..store.entity_records import EntityRequest
from .entity_messages import entity_action_problem, send_from_orchestration
from .invoker import EpisodeReply, Invoker
from .ledger import Ledger, RetryChain
from .rewind import failed_execution, is_rewind, plan_rewind, rewind_event

CUSTOM_STATUS_LIMIT_KB = 16
HTTP_ACTIVITY = "BuiltIn::HttpActivity"
# What the extension tells out-of-proc SDKs (OrchestrationTriggerAttributeBindingProvider.cs):
# replay schema V2 in the old field and V3 in the new one, and the Azure Storage provider's timer limits
# (AzureStorageDurabilityProvider.cs: MaximumDelayTime 6 days, LongRunningTimerIntervalLength 3 days)
# written as .NET TimeSpans. With them the SDK splits a timer longer than 6 days into 3-day timers.
SCHEMA_V2, SCHEMA_V3 = 1, 2
MAX_SHORT_TIMER = "6.00:00:00"
LONG_TIMER_INTERVAL = "3.00:00:00"
_CONTROL = (int(EventType.EXECUTION_SUSPENDED), int(EventType.EXECUTION_RESUMED))
_SCHEDULING = {0, 1, 2, 3, 4, 5, 7, 8, 9}


class OrchestrationFailure(Exception):
    """The instance fails with this message (host-side checks: names, limits, determinism)."""


def custom_status_size_error(status: Any) -> str | None:
    """The extension's 16 KB rule on compact JSON measured in UTF-16; the error text, or None."""
    text = h.dumps(status)
    size_kb = int(utf16_size(text) / 1024.0)
    if size_kb > CUSTOM_STATUS_LIMIT_KB:
        return (
            "The UTF-16 size of the JSON-serialized payload must not exceed 16 KB. "
            f"The current payload size is {size_kb} KB."
        )
    return None


def flatten_actions(actions: list[Any]) -> list[dict[str, Any]]:
    """Actions depth-first, compound ones (WhenAny 11, WhenAll 12) replaced by their children."""
    flat: list[dict[str, Any]] = []

    def walk(action: dict[str, Any]) -> None:
        if action.get("actionType") in (11, 12):
            for child in action.get("compoundActions") or []:
                walk(child)
        else:
            flat.append(action)

    for group in actions or []:
        for action in group if isinstance(group, list) else [group]:
            walk(action)
    return flat


def select_batch(messages: list[Message], ledger: Ledger) -> list[Message]:
    """The messages this episode takes, in order; the rest wait for the next episode.

    A terminate wins over everything. Suspend/resume and retry events (on which the SDK numbers new
    tasks) travel alone, so the ids devhost assigns match the SDK's replay order.
    """
    for m in messages:
        if m.event_type == EventType.EXECUTION_TERMINATED:
            return [m]
    # The start event opens an execution, whatever was queued before it was read.
    messages = sorted(messages, key=lambda m: m.event_type != EventType.EXECUTION_STARTED)
    first = messages[0]
    if first.event_type in _CONTROL or ledger.is_retry_event(first.event):
        return [first]
    batch = []
    for m in messages:
        if m.event_type in _CONTROL or ledger.is_retry_event(m.event):
            break
        batch.append(m)
    return batch


def _json_value_text(text: str) -> str:
    """A reason or output as the status API shows it: JSON if it parses, else a JSON string."""
    try:
        json.loads(text)
        return text
    except ValueError:
        return json.dumps(text)


# The history event each scheduling action type records: TaskScheduled, SubOrchestrationInstanceCreated,
# TimerCreated. WaitForExternalEvent (6) records nothing and takes no id.
_RECORDED_AS = {
    0: EventType.TASK_SCHEDULED,
    1: EventType.TASK_SCHEDULED,
    8: EventType.TASK_SCHEDULED,
    2: EventType.SUB_ORCHESTRATION_CREATED,
    3: EventType.SUB_ORCHESTRATION_CREATED,
    5: EventType.TIMER_CREATED,
    7: EventType.EVENT_SENT,
    9: EventType.EVENT_SENT,
}


# How a stored scheduling event's JSON text says its type. Inside JSON strings every quote is escaped,
# so these can only match the event's own EventType key: only those events need parsing.
_RECORDED_MARKERS = tuple(f'"EventType":{int(kind)},' for kind in set(_RECORDED_AS.values()))


def _recorded_tasks(history: list[str]) -> dict[int, dict[str, Any]]:
    """The scheduling events of stored history by task id."""
    events = (json.loads(text) for text in history if any(m in text for m in _RECORDED_MARKERS))
    return {e["EventId"]: e for e in events if e["EventType"] in _RECORDED_AS.values()}


def _describe_action(action: dict[str, Any]) -> str:
    kind = action.get("actionType")
    if kind in (0, 1):
        return f"activity '{action.get('functionName')}'"
    if kind in (2, 3):
        return f"sub-orchestration '{action.get('functionName')}'"
    if kind in (7, 9):
        return f"{'a call to' if kind == 7 else 'a signal to'} entity '{action.get('instanceId')}'"
    return {5: "a timer", 6: "an external event", 8: "an HTTP call"}.get(kind, f"action type {kind}")


def _describe_event(event: dict[str, Any] | None) -> str:
    if event is None:
        return "an external event wait"
    kind = event["EventType"]
    if kind == EventType.TIMER_CREATED:
        return "a timer"
    if kind == EventType.EVENT_SENT:
        return f"a message to entity '{event.get('InstanceId')}'"
    if event.get("Name") == HTTP_ACTIVITY:
        return "an HTTP call"
    what = "activity" if kind == EventType.TASK_SCHEDULED else "sub-orchestration"
    return f"{what} '{event.get('Name')}'"


def _replay_mismatch(action: dict[str, Any], task_id: int, event: dict[str, Any] | None) -> str | None:
    """Why a replayed action does not match what its position recorded, or None if it does."""
    kind = action.get("actionType")
    if task_id == -1:
        matches, event = kind == 6, None
    elif event is None:
        return None  # ContinueAsNew takes an id but records no event; it is never replayed
    else:
        name = HTTP_ACTIVITY if kind == 8 else action.get("functionName")
        matches = _RECORDED_AS.get(kind) == event["EventType"] and (
            name is None or str(event.get("Name", "")).lower() == str(name).lower()
        )
        if kind in (7, 9):
            matches = matches and event.get("InstanceId") == action.get("instanceId")
    if matches:
        return None
    where = f" as task {task_id}" if task_id != -1 else ""
    return (
        f"Non-deterministic workflow detected: on replay the orchestrator now asks for "
        f"{_describe_action(action)}{where}, but the history records {_describe_event(event)} there. "
        "Orchestrator code must make the same calls in the same order on every replay."
    )


@dataclass(slots=True)
class _Episode:
    """What one episode changes, gathered before it becomes an EpisodeResult."""

    work: WorkItem
    now: datetime
    ledger: Ledger
    consumed: list[int]
    events: list[dict[str, Any]] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    activities: list[ActivityTask] = field(default_factory=list)
    children: list[tuple[InstanceRecord, Message]] = field(default_factory=list)
    entity_requests: list[EntityRequest] = field(default_factory=list)

    @property
    def instance(self) -> InstanceRecord:
        return self.work.instance

    def discard_outbox(self, keep_events: int) -> None:
        del self.events[keep_events:]
        self.messages.clear()
        self.activities.clear()
        self.children.clear()
        self.entity_requests.clear()


def _retry_chain(kind: str, action: dict[str, Any], instance_id: str | None) -> RetryChain:
    options = action.get("retryOptions") or {}
    return RetryChain(
        kind=kind,
        name=action["functionName"],
        input=action.get("input"),
        instance_id=instance_id,
        first_interval_ms=int(options.get("firstRetryIntervalInMilliseconds", 0)),
        max_attempts=int(options.get("maxNumberOfAttempts", 1)),
        backoff=float(options.get("backoffCoefficient", 1.0)),
        max_interval_ms=options.get("maxRetryIntervalInMilliseconds"),
    )


def payload_tail(http_poll_ms: int = 30000) -> str:
    """The trigger fields after the instance's own, in the order the extension writes them
    (docs/protocol.md, docs/engine-parity.md): schema V2/V3, the Azure Storage provider's timer
    limits, and the HTTP polling interval."""
    return (
        f',"upperSchemaVersion":{SCHEMA_V2},"upperSchemaVersionNew":{SCHEMA_V3}'
        f',"longRunningTimerIntervalDuration":"{LONG_TIMER_INTERVAL}"'
        f',"maximumShortTimerDuration":"{MAX_SHORT_TIMER}"'
        f',"defaultHttpAsyncRequestSleepTimeMillseconds":{int(http_poll_ms)}}}'
    )


def trigger_payload(
    inst: InstanceRecord, played: list[str], fresh: list[str], tail: str | None = None
) -> str:
    """The orchestration trigger's JSON, which the SDK's `handle()` replays: `played` stored events
    (JSON texts), then `fresh` new ones; `tail` from `payload_tail`."""
    parent = inst.parent["instanceId"] if inst.parent else None
    return (
        '{"history":['
        + ",".join([*played, *fresh])
        + "]"
        + ',"input":'
        + (inst.input if inst.input is not None else "null")
        + ',"instanceId":'
        + json.dumps(inst.instance_id)
        + ',"isReplaying":'
        + ("true" if played else "false")
        + ',"parentInstanceId":'
        + json.dumps(parent)
        + (tail if tail is not None else payload_tail())
    )


class EpisodeRunner:
    """Turns work items into committed transitions, calling user code through the invoker."""

    def __init__(self, index: FunctionIndex, invoker: Invoker, *, http_poll_ms: int = 30000) -> None:
        self._index = index
        self._invoker = invoker
        self._payload_tail = payload_tail(http_poll_ms)

    async def run(self, work: WorkItem, now: datetime) -> EpisodeResult:
        inst = work.instance
        rewinds = [m for m in work.messages if is_rewind(m.event)]
        if rewinds:
            return await self._rewind(work, now, rewinds)
        if inst.runtime_status.is_terminal:
            # Late timers, results and events for a finished instance are dropped, as DTFx does.
            return EpisodeResult(inst, [], [m.id for m in work.messages])
        live = [m for m in work.messages if m.execution_id in (None, inst.execution_id)]
        stale = [m.id for m in work.messages if m.execution_id not in (None, inst.execution_id)]
        if not live:
            return EpisodeResult(inst, [], stale)
        ledger = Ledger.from_json(inst.ledger)
        batch = select_batch(live, ledger)
        ep = _Episode(work, now, ledger, stale + [m.id for m in batch])
        kind = batch[0].event_type
        if kind == EventType.EXECUTION_TERMINATED:
            return self._terminate(ep, batch[0])
        if kind in _CONTROL:
            return self._suspend_or_resume(ep, batch[0])
        if not work.history and kind != EventType.EXECUTION_STARTED:
            # No execution to deliver to (its start was lost with a purge): drop, do not spin.
            return self._commit(ep)
        return await self._replay(ep, batch)

    async def _rewind(self, work: WorkItem, now: datetime, rewinds: list[Message]) -> EpisodeResult:
        """Rewind a failed execution (rewind.py) and replay it, so its failed work runs again.

        Messages older than the request came while the instance had failed and are dropped, as for
        any finished instance; newer ones wait for the next episode. A request for an instance whose
        execution has not failed (a second request, or one for a child rewound already) does nothing.
        """
        inst = work.instance
        request = rewinds[-1]
        if not failed_execution(work.history):
            return EpisodeResult(inst, [], [m.id for m in rewinds])
        consumed = [m.id for m in work.messages if m.id <= request.id]
        ledger = Ledger.from_json(inst.ledger)
        plan = plan_rewind(work.history, ledger)
        # Ids taken for tasks whose events a host-side failure discarded (an unknown activity, say)
        # are asked for again too: nothing else would ever schedule them.
        recorded = _recorded_tasks(plan.history)
        ledger.rewound |= {i for i in ledger.action_ids if i != -1 and i not in recorded}
        inst.runtime_status = RuntimeStatus.PENDING
        inst.output = None
        ep = _Episode(WorkItem(inst, plan.history, []), now, ledger, consumed)
        reason = request.event.get("Data")
        ep.messages += [Message(child, rewind_event(now, reason)) for child in plan.children]
        result = await self._replay(ep, [request])
        if not result.reset_history:  # a continue-as-new has reset it already
            result.new_history = plan.history + result.new_history
            result.reset_history = True
        return result

    # -- outcomes ---------------------------------------------------------------------------------

    def _finish(self, ep: _Episode, status: RuntimeStatus, output_text: str | None) -> None:
        """Close the execution with `status` and tell the parent orchestration, if any."""
        inst = ep.instance
        code = {RuntimeStatus.COMPLETED: 1, RuntimeStatus.FAILED: 3, RuntimeStatus.TERMINATED: 5}[status]
        ep.events.append(
            h.event(
                EventType.EXECUTION_COMPLETED,
                ep.now,
                ep.ledger.next_id,
                OrchestrationStatus=code,
                Result=output_text,
                FailureDetails=None,
            )
        )
        inst.runtime_status = status
        inst.output = output_text
        if not inst.parent:
            return
        parent = inst.parent
        if status is RuntimeStatus.COMPLETED:
            evt = h.event(
                EventType.SUB_ORCHESTRATION_COMPLETED,
                ep.now,
                TaskScheduledId=parent["taskScheduledId"],
                Result=output_text,
            )
        else:
            reason = json.loads(output_text) if output_text else status.value
            evt = h.event(
                EventType.SUB_ORCHESTRATION_FAILED,
                ep.now,
                TaskScheduledId=parent["taskScheduledId"],
                Reason=reason if isinstance(reason, str) else output_text,
                Details=None,
                FailureDetails=None,
            )
        ep.messages.append(Message(parent["instanceId"], evt, execution_id=parent["executionId"]))

    def _commit(self, ep: _Episode, *, reset: bool = False) -> EpisodeResult:
        inst = ep.instance
        inst.last_updated_time = h.format_time(ep.now)
        ep.ledger.record_status(inst.last_updated_time, inst.custom_status)
        inst.ledger = ep.ledger.to_json()
        return EpisodeResult(
            instance=inst,
            new_history=[dumps_ascii(e) for e in ep.events],
            consumed=ep.consumed,
            reset_history=reset,
            messages=ep.messages,
            activities=ep.activities,
            new_instances=ep.children,
            entity_requests=ep.entity_requests,
        )

    def _terminate(self, ep: _Episode, message: Message) -> EpisodeResult:
        reason = message.event.get("Input")
        ep.events += [h.event(EventType.ORCHESTRATOR_STARTED, ep.now), message.event]
        self._finish(ep, RuntimeStatus.TERMINATED, _json_value_text(reason) if reason else None)
        ep.events.append(h.event(EventType.ORCHESTRATOR_COMPLETED, ep.now))
        return self._commit(ep)

    def _suspend_or_resume(self, ep: _Episode, message: Message) -> EpisodeResult:
        inst = ep.instance
        if message.event_type == EventType.EXECUTION_SUSPENDED:
            if inst.runtime_status is not RuntimeStatus.SUSPENDED:
                inst.runtime_status = RuntimeStatus.SUSPENDED
                ep.events.append(message.event)
        elif inst.runtime_status is RuntimeStatus.SUSPENDED:
            inst.runtime_status = RuntimeStatus.RUNNING
            ep.events.append(message.event)
        return self._commit(ep)

    # -- a replay ---------------------------------------------------------------------------------

    def _payload(self, ep: _Episode, frame: list[dict[str, Any]]) -> str:
        fresh = [dumps_ascii({**e, "IsPlayed": False}) for e in frame]
        return trigger_payload(ep.instance, ep.work.history, fresh, self._payload_tail)

    async def _replay(self, ep: _Episode, batch: list[Message]) -> EpisodeResult:
        inst = ep.instance
        frame = [h.event(EventType.ORCHESTRATOR_STARTED, ep.now)] + [m.event for m in batch]
        ep.events.extend(frame)
        for m in batch:
            self._on_delivered(ep, m.event)
        if inst.runtime_status in (RuntimeStatus.PENDING, RuntimeStatus.CONTINUED_AS_NEW):
            inst.runtime_status = RuntimeStatus.RUNNING
        with executing(inst.name, "OrchestrationTrigger", inst.instance_id) as run:
            reply = await self._invoker.run_orchestrator(inst.name, self._payload(ep, frame))
            run.failure = reply.error
        try:
            continued = self._apply(ep, reply)
        except OrchestrationFailure as failure:
            # A host-side failure: nothing this episode scheduled is kept.
            ep.discard_outbox(len(frame))
            self._finish(
                ep, RuntimeStatus.FAILED, json.dumps(f"Orchestrator function '{inst.name}' failed: {failure}")
            )
            continued = False
        if continued:
            return self._commit(ep, reset=True)
        ep.events.append(h.event(EventType.ORCHESTRATOR_COMPLETED, ep.now))
        return self._commit(ep)

    def _apply(self, ep: _Episode, reply: EpisodeReply) -> bool:
        """Apply the SDK's reply; True when the execution continued as new."""
        inst = ep.instance
        state = reply.state
        custom = state.get("customStatus")
        if custom is not None:
            too_big = custom_status_size_error(custom)
            if too_big:
                raise OrchestrationFailure(too_big)
        inst.custom_status = h.dumps(custom) if custom is not None else None
        if reply.error is not None:
            ep.discard_outbox(len(ep.events))
            self._finish(
                ep,
                RuntimeStatus.FAILED,
                json.dumps(f"Orchestrator function '{inst.name}' failed: {reply.error}"),
            )
            return False
        led = ep.ledger
        flat = flatten_actions(state.get("actions") or [])
        if len(flat) < len(led.action_ids):
            raise OrchestrationFailure(
                f"Non-deterministic workflow detected: the orchestrator returned {len(flat)} actions, but "
                f"{len(led.action_ids)} were already recorded. "
                "Orchestrator code must replay the same way every time."
            )
        recorded = _recorded_tasks(ep.work.history) if led.action_ids else {}
        for position, action in enumerate(flat):
            if position < len(led.action_ids):
                task_id = led.action_ids[position]
                # DTFx matches every replayed action against the event recorded for its id and fails
                # the instance on a mismatch; without this check the recorded result would be handed
                # to a different task (another activity, or a timer) and the orchestration run on.
                mismatch = _replay_mismatch(action, task_id, recorded.get(task_id))
                if mismatch:
                    raise OrchestrationFailure(mismatch)
                if task_id in led.rewound:
                    self._schedule_again(ep, action, task_id)
                    continue
                if (
                    action.get("actionType") == 5
                    and action.get("isCanceled")
                    and led.open.get(task_id) == "timer"
                ):
                    led.open.pop(task_id)
            else:
                self._schedule(ep, action)
        if not state.get("isDone"):
            return False
        restart = next((a for a in flat if a.get("actionType") == 4), None)
        if restart is not None:
            self._continue_as_new(ep, restart)
            return True
        if not led.open:
            # DTFx completes only when no timer, activity or sub-orchestration is still open.
            output = h.dumps(state["output"]) if "output" in state else None
            self._finish(ep, RuntimeStatus.COMPLETED, output)
        return False

    def _schedule_again(self, ep: _Episode, action: dict[str, Any], task_id: int) -> None:
        """A rewound task, asked for again by the replay: scheduled anew under its old id."""
        ep.ledger.rewound.discard(task_id)
        if action.get("actionType") not in _SCHEDULING:
            raise OrchestrationFailure(
                f"Non-deterministic workflow detected: on replay the orchestrator asks for "
                f"{_describe_action(action)} where the rewound task {task_id} was."
            )
        self._schedule(ep, action, task_id)

    def _schedule(self, ep: _Episode, action: dict[str, Any], again: int | None = None) -> None:
        """Schedule a new action under the next id, or (`again`) a rewound one under its old id."""
        led = ep.ledger
        kind = action.get("actionType")
        if kind not in _SCHEDULING:
            if kind != 6:  # WaitForExternalEvent takes no id
                raise OrchestrationFailure(f"devhost does not know action type {kind!r}.")
            led.action_ids.append(-1)
            led.waits.append(str(action.get("externalEventName")))
            return
        if again is None:
            task_id = led.take_id()
            led.action_ids.append(task_id)
        else:
            task_id = again
        if kind in (0, 1):
            name = action["functionName"]
            if self._index.get(name, Kind.ACTIVITY) is None:
                raise OrchestrationFailure(self._index.missing(name, Kind.ACTIVITY))
            self._schedule_activity(ep, task_id, name, action.get("input"))
            if kind == 1:
                led.chains[task_id] = _retry_chain("activity", action, None)
                led.retry_tasks[task_id] = task_id
                led.retried.add(task_id)
        elif kind in (2, 3):
            name = action["functionName"]
            if self._index.get(name, Kind.ORCHESTRATOR) is None:
                raise OrchestrationFailure(self._index.missing(name, Kind.ORCHESTRATOR))
            child_id = action.get("instanceId") or f"{ep.instance.execution_id}:{task_id}"
            if any(child.instance_id == child_id for child, _ in ep.children):
                raise OrchestrationFailure(
                    f"Two sub-orchestrations were started with the same instance ID '{child_id}'."
                )
            if child_id == ep.instance.instance_id:
                raise OrchestrationFailure(
                    "A sub-orchestration cannot have the same instance ID as its parent."
                )
            self._schedule_sub(ep, task_id, name, action.get("input"), child_id)
            if kind == 3:
                led.chains[task_id] = _retry_chain("sub", action, action.get("instanceId"))
                led.retry_tasks[task_id] = task_id
                led.retried.add(task_id)
        elif kind == 5:
            self._schedule_timer(ep, task_id, h.parse_time(action["fireAt"]))
            if action.get("isCanceled"):
                led.open.pop(task_id, None)
        elif kind == 8:
            self._schedule_activity(ep, task_id, HTTP_ACTIVITY, h.dumps(action.get("httpRequest")))
        elif kind in (7, 9):
            problem = entity_action_problem(action, self._index)
            if problem:
                raise OrchestrationFailure(problem)
            event, request = send_from_orchestration(ep.instance, action, task_id, ep.now)
            ep.events.append(event)
            ep.entity_requests.append(request)
        # 4 (ContinueAsNew) takes an id and nothing else here.

    def _schedule_activity(self, ep: _Episode, task_id: int, name: str, input_text: str | None) -> None:
        inst = ep.instance
        ep.ledger.open[task_id] = "activity"
        ep.events.append(
            h.event(
                EventType.TASK_SCHEDULED,
                ep.now,
                task_id,
                Name=name,
                Version="",
                Input=json.dumps([input_text]),
            )
        )
        ep.activities.append(ActivityTask(inst.instance_id, inst.execution_id, task_id, name, input_text))

    def _schedule_sub(
        self, ep: _Episode, task_id: int, name: str, input_text: str | None, child_id: str
    ) -> None:
        inst = ep.instance
        ep.ledger.open[task_id] = "sub"
        ep.events.append(
            h.event(
                EventType.SUB_ORCHESTRATION_CREATED,
                ep.now,
                task_id,
                Name=name,
                Version="",
                InstanceId=child_id,
                Input=input_text,
            )
        )
        stamp = h.format_time(ep.now)
        stored_input = json.dumps(input_text) if input_text is not None else None
        parent = {
            "instanceId": inst.instance_id,
            "executionId": inst.execution_id,
            "taskScheduledId": task_id,
            "name": inst.name,
        }
        child = InstanceRecord(
            child_id,
            name,
            uuid.uuid4().hex,
            RuntimeStatus.PENDING,
            stamp,
            stamp,
            input=stored_input,
            parent=parent,
        )
        start = h.execution_started(ep.now, child_id, child.execution_id, name, stored_input, parent)
        ep.children.append((child, Message(child_id, start, execution_id=child.execution_id)))

    def _schedule_timer(self, ep: _Episode, timer_id: int, fire_at: datetime) -> None:
        inst = ep.instance
        ep.ledger.open[timer_id] = "timer"
        ep.events.append(h.event(EventType.TIMER_CREATED, ep.now, timer_id, FireAt=h.format_time(fire_at)))
        fired = h.event(EventType.TIMER_FIRED, fire_at, TimerId=timer_id, FireAt=h.format_time(fire_at))
        ep.messages.append(
            Message(inst.instance_id, fired, execution_id=inst.execution_id, visible_at=fire_at)
        )

    def _on_delivered(self, ep: _Episode, event: dict[str, Any]) -> None:
        """Close the task a result belongs to; on a retry event, number the timer or next attempt."""
        led = ep.ledger
        kind = event["EventType"]
        if kind in (
            EventType.TASK_COMPLETED,
            EventType.TASK_FAILED,
            EventType.SUB_ORCHESTRATION_COMPLETED,
            EventType.SUB_ORCHESTRATION_FAILED,
        ):
            task_id = event["TaskScheduledId"]
            led.open.pop(task_id, None)
            chain_key = led.retry_tasks.pop(task_id, None)
            if chain_key is None:
                return
            if kind in (EventType.TASK_FAILED, EventType.SUB_ORCHESTRATION_FAILED):
                chain = led.chains[chain_key]
                # After the last attempt DTFx still waits for one immediate timer; the SDK expects it.
                delay = 0.0 if chain.exhausted else chain.delay_ms()
                timer_id = led.take_id()
                self._schedule_timer(ep, timer_id, ep.now + timedelta(milliseconds=delay))
                led.retry_timers[timer_id] = chain_key
            else:
                led.chains.pop(chain_key, None)
        elif kind == EventType.TIMER_FIRED:
            led.open.pop(event["TimerId"], None)
            chain_key = led.retry_timers.pop(event["TimerId"], None)
            if chain_key is None:
                return
            chain = led.chains[chain_key]
            if chain.exhausted:
                led.chains.pop(chain_key)
                return
            chain.attempt += 1
            task_id = led.take_id()
            led.retry_tasks[task_id] = chain_key
            led.retried.add(task_id)
            if chain.kind == "activity":
                self._schedule_activity(ep, task_id, chain.name, chain.input)
            else:
                child_id = chain.instance_id or f"{ep.instance.execution_id}:{task_id}"
                self._schedule_sub(ep, task_id, chain.name, chain.input, child_id)

    def _continue_as_new(self, ep: _Episode, action: dict[str, Any]) -> None:
        """Start a new execution in place: history reset, new execution id, input re-encoded."""
        inst = ep.instance
        input_text = action.get("input")
        inst.input = json.dumps(input_text) if input_text is not None else None
        inst.execution_id = uuid.uuid4().hex
        inst.output = None
        inst.runtime_status = RuntimeStatus.CONTINUED_AS_NEW
        # The Azure Storage provider sets CreatedTime from each ExecutionStarted it writes, so the status
        # shows when the current execution began (AzureTableTrackingStore.cs, UpdateStateAsync).
        inst.created_time = h.format_time(ep.now)
        ep.ledger = Ledger()
        # Messages to entities are sent all the same: DTFx hands a continuing execution's sent events to
        # the store with its new start (TaskOrchestrationDispatcher.cs, OnProcessWorkItemAsync).
        sent = list(ep.entity_requests)
        ep.discard_outbox(0)
        ep.entity_requests.extend(sent)
        start = h.execution_started(
            ep.now, inst.instance_id, inst.execution_id, inst.name, inst.input, inst.parent
        )
        ep.messages.append(Message(inst.instance_id, start, execution_id=inst.execution_id))
