"""One orchestration episode: from a work item to the `EpisodeResult` the store commits.

fetch -> pick the batch of new events -> replay through the SDK's `handle()` (sdk_payload.py) -> check
the replayed actions against the history (determinism.py) -> turn the new ones into history events and
outbox (scheduling.py) -> one commit. A user's exception is data (the instance fails with its message);
only infrastructure failures abandon the work item.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from .. import history as h
from ..execution_log import executing
from ..functions import FunctionIndex
from ..history import EventType
from ..json_text import dumps_ascii
from ..store import EpisodeResult, Message, RuntimeStatus, WorkItem
from .actions import ActionType, flatten_actions
from .determinism import recorded_tasks, replay_mismatch
from .invoker import EpisodeReply, Invoker, orchestrator_failure_details
from .ledger import Ledger
from .rewind import failed_execution, is_rewind, plan_rewind, rewind_event
from .scheduling import Episode, NonDeterminism, OrchestrationFailure, Scheduler, execution_version
from .sdk_payload import custom_status_size_error, payload_tail, trigger_payload

_CONTROL = (int(EventType.EXECUTION_SUSPENDED), int(EventType.EXECUTION_RESUMED))
# Executions one work item may start by continuing as new before the next start waits in the inbox.
MAX_CONTINUATIONS = 100


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


_PLAYED = '"IsPlayed":true'


def _unplayed(stored: str, event: dict[str, Any]) -> str:
    """A stored event's text as the payload's new events carry it, with IsPlayed false. Quotes inside
    JSON strings are escaped, so a single match is the event's own key; otherwise it is encoded again."""
    if event.get("IsPlayed") is True and stored.count(_PLAYED) == 1:
        return stored.replace(_PLAYED, '"IsPlayed":false')
    return dumps_ascii({**event, "IsPlayed": False})


class EpisodeRunner(Scheduler):
    """Turns work items into committed transitions, calling user code through the invoker."""

    def __init__(
        self, index: FunctionIndex, invoker: Invoker, *, http_poll_ms: int = 30000, default_version: str = ""
    ) -> None:
        self._index = index
        self._invoker = invoker
        self._default_version = default_version
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
        ep = Episode(work, now, ledger, stale + [m.id for m in batch])
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
        recorded = recorded_tasks(plan.history)
        ledger.rewound |= {i for i in ledger.action_ids if i != -1 and i not in recorded}
        inst.runtime_status = RuntimeStatus.PENDING
        inst.output = None
        ep = Episode(WorkItem(inst, plan.history, []), now, ledger, consumed)
        reason = request.event.get("Data")
        ep.messages += [Message(child, rewind_event(now, reason)) for child in plan.children]
        # The provider sends its wake-up message only to the deepest failed instances
        # (AzureTableTrackingStore.RewindHistoryAsync): a parent with failed children gets none in its
        # history, and is woken by its children's completions.
        result = await self._replay(ep, [] if plan.children else [request])
        if not result.reset_history:  # a continue-as-new has reset it already
            result.new_history = plan.history + result.new_history
            result.reset_history = True
        return result

    # -- outcomes ---------------------------------------------------------------------------------

    def _finish(
        self, ep: Episode, status: RuntimeStatus, output_text: str | None, details: str | None = None
    ) -> None:
        """Close the execution with `status` and tell the parent orchestration, if any; a failure's
        `details` reach the parent's SubOrchestrationInstanceFailed (DTFx copies them from the
        child's completion, TaskOrchestrationDispatcher.cs)."""
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
                Details=details,
                FailureDetails=None,
            )
        ep.messages.append(Message(parent["instanceId"], evt, execution_id=parent["executionId"]))

    def _commit(self, ep: Episode, *, reset: bool = False) -> EpisodeResult:
        inst = ep.instance
        inst.last_updated_time = h.format_time(ep.now)
        ep.ledger.record_status(inst.last_updated_time, inst.custom_status)
        inst.ledger = ep.ledger.to_json()
        return EpisodeResult(
            instance=inst,
            new_history=[ep.encoded_text(e) for e in ep.events],
            consumed=ep.consumed,
            reset_history=reset,
            messages=ep.messages,
            activities=ep.activities,
            new_instances=ep.children,
            entity_requests=ep.entity_requests,
        )

    def _terminate(self, ep: Episode, message: Message) -> EpisodeResult:
        reason = message.event.get("Input")
        ep.events += [h.event(EventType.ORCHESTRATOR_STARTED, ep.now), message.event]
        self._finish(ep, RuntimeStatus.TERMINATED, _json_value_text(reason) if reason else None)
        ep.events.append(h.event(EventType.ORCHESTRATOR_COMPLETED, ep.now))
        return self._commit(ep)

    def _suspend_or_resume(self, ep: Episode, message: Message) -> EpisodeResult:
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

    def _payload(self, ep: Episode, frame: list[dict[str, Any]]) -> str:
        """The trigger payload; the frame's events are stored as encoded here (the SDK replayed
        exactly these, and nothing changes them after)."""
        fresh = []
        for e in frame:
            ep.encoded[id(e)] = (e, stored := dumps_ascii(e))
            fresh.append(_unplayed(stored, e))
        return trigger_payload(ep.instance, ep.work.history, fresh, self._payload_tail)

    async def _replay(self, ep: Episode, batch: list[Message], continuation: int = 0) -> EpisodeResult:
        """Replay the batch; `continuation` counts the executions this work item has started already
        by continuing as new (the new one's start is then `batch`, closed as DTFx closes it)."""
        inst = ep.instance
        frame = [h.event(EventType.ORCHESTRATOR_STARTED, ep.now)] + [m.event for m in batch]
        if continuation:
            frame.append(h.event(EventType.ORCHESTRATOR_COMPLETED, ep.now))
        ep.events.extend(frame)
        for m in batch:
            self._on_delivered(ep, m.event)
        ep.carries_status = inst.runtime_status is RuntimeStatus.CONTINUED_AS_NEW
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
                ep,
                RuntimeStatus.FAILED,
                json.dumps(f"Orchestrator function '{inst.name}' failed: {failure}"),
                failure.details(),
            )
            continued = False
        if continued:
            return await self._next_execution(ep, continuation)
        if ep.events[-1]["EventType"] != EventType.ORCHESTRATOR_COMPLETED:
            ep.events.append(h.event(EventType.ORCHESTRATOR_COMPLETED, ep.now))
        return self._commit(ep, reset=continuation > 0)  # a new execution replaces the history

    async def _next_execution(self, ep: Episode, continuation: int) -> EpisodeResult:
        """After a continue-as-new: the new execution's first episode, in this same work item.

        DTFx does the same (DurableTask.Core `TaskOrchestrationDispatcher.cs`, `OnProcessWorkItemAsync`,
        its `while (continuedAsNew)` loop): the new execution's history starts OrchestratorStarted,
        ExecutionStarted, OrchestratorCompleted, the orchestrator runs again at once, and one commit
        stores it, so no reader ever sees the instance ContinuedAsNew between two executions. After
        `MAX_CONTINUATIONS` in one work item the start goes through the inbox instead, so an
        orchestrator that continues as new without ever waiting cannot hold the instance for good
        (a terminate still gets in).
        """
        inst = ep.instance
        start = h.execution_started(
            ep.now,
            inst.instance_id,
            inst.execution_id,
            inst.name,
            inst.input,
            inst.parent,
            version=execution_version(ep),  # DTFx's ContinueAsNew keeps the execution's version
        )
        message = Message(inst.instance_id, start, execution_id=inst.execution_id)
        if continuation >= MAX_CONTINUATIONS:
            ep.messages.append(message)
            return self._commit(ep, reset=True)
        following = Episode(WorkItem(inst, [], []), ep.now, ep.ledger, ep.consumed)
        following.entity_requests.extend(ep.entity_requests)  # sent by the execution that ended
        return await self._replay(following, [message], continuation + 1)

    def _apply(self, ep: Episode, reply: EpisodeReply) -> bool:
        """Apply the SDK's reply; True when the execution continued as new."""
        inst = ep.instance
        state = reply.state
        custom = state.get("customStatus")
        if custom is not None:
            too_big = custom_status_size_error(custom)
            if too_big:
                raise OrchestrationFailure(too_big)
        if custom is not None:
            inst.custom_status = h.dumps(custom)
        elif not ep.carries_status:
            inst.custom_status = None
        # else: the first episode of an execution that continued as new, without a status of its
        # own, keeps the one the previous execution left. DTFx runs that episode in the same work
        # item as the continue-as-new and stores `Status ?? carryOverStatus`
        # (DurableTask.Core TaskOrchestrationDispatcher.cs, OnProcessWorkItemAsync).
        if reply.error is not None:
            ep.discard_outbox(len(ep.events))
            self._finish(
                ep,
                RuntimeStatus.FAILED,
                json.dumps(f"Orchestrator function '{inst.name}' failed: {reply.error}"),
                orchestrator_failure_details(reply),
            )
            return False
        led = ep.ledger
        flat = flatten_actions(state.get("actions") or [])
        if len(flat) < len(led.action_ids):
            raise NonDeterminism(
                f"Non-deterministic workflow detected: the orchestrator returned {len(flat)} actions, but "
                f"{len(led.action_ids)} were already recorded. "
                "Orchestrator code must replay the same way every time."
            )
        recorded = recorded_tasks(ep.work.history) if led.action_ids else {}
        for position, action in enumerate(flat):
            if position < len(led.action_ids):
                task_id = led.action_ids[position]
                # DTFx matches every replayed action against the event recorded for its id and fails
                # the instance on a mismatch; without this check the recorded result would be handed
                # to a different task (another activity, or a timer) and the orchestration run on.
                mismatch = replay_mismatch(action, task_id, recorded.get(task_id))
                if mismatch:
                    raise NonDeterminism(mismatch)
                if task_id in led.rewound:
                    self._schedule_again(ep, action, task_id)
                    continue
                if (
                    action.get("actionType") == ActionType.CREATE_TIMER
                    and action.get("isCanceled")
                    and led.open.get(task_id) == "timer"
                ):
                    led.open.pop(task_id)
            else:
                self._schedule(ep, action)
        if not state.get("isDone"):
            return False
        restart = next((a for a in flat if a.get("actionType") == ActionType.CONTINUE_AS_NEW), None)
        if restart is not None:
            self._continue_as_new(ep, restart)
            return True
        if not led.open:
            # DTFx completes only when no timer, activity or sub-orchestration is still open.
            output = h.dumps(state["output"]) if "output" in state else None
            self._finish(ep, RuntimeStatus.COMPLETED, output)
        return False

    def _continue_as_new(self, ep: Episode, action: dict[str, Any]) -> None:
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
