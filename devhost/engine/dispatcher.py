"""The engine's loop: find due work in the store, run it, commit, repeat.

One asyncio task watches the store. Work that is ready runs at once (every commit wakes the loop),
an instance is never processed by two episodes at a time, and the loop sleeps until the next due
timer otherwise. When nothing is running and nothing is due, the time-skipping policy
(devhost/time_skipping.py) may let the clock jump to the next timer: now, after a pause, or never.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from .. import history as h
from ..clock import RealClock
from ..errors import StoreUnavailableError
from ..execution_log import executing, orchestration_ended
from ..history import EventType
from ..store import ActivityTask, Message, Store
from ..store.outage import wait_out
from ..time_skipping import NoSkipping
from .actions import HTTP_ACTIVITY
from .entity_batch import MAX_BATCH, EntityRunner
from .episode import EpisodeRunner
from .http_activity import run_http_activity
from .invoker import ActivityReply, Invoker
from .worker_pool import WorkerLost

log = logging.getLogger("devhost.engine")
_IDLE_POLL_SECONDS = 30.0  # a safety net only: commits wake the loop at once
_RETRY_FIRST_SECONDS = 1.0  # pause after a work item's first infrastructure failure, doubled each time
_RETRY_MAX_SECONDS = 30.0


def _worth_a_traceback(exc: BaseException) -> bool:
    """A worker process that died is said once by the pool (worker_pool.py): its work items need no
    traceback each; anything else gets one."""
    return not isinstance(exc, WorkerLost)


def retry_delay(failures: int) -> float:
    """Seconds to wait after the `failures`-th failure in a row (1, 2, 4, ... up to 30)."""
    return min(_RETRY_FIRST_SECONDS * 2 ** min(max(failures - 1, 0), 16), _RETRY_MAX_SECONDS)


class Dispatcher:
    """Runs orchestration episodes and activities until stopped."""

    def __init__(
        self,
        store: Store,
        invoker: Invoker,
        runner: EpisodeRunner,
        clock: RealClock,
        *,
        max_orchestrations: int,
        max_activities: int,
        skipping: NoSkipping | None = None,
        entities: EntityRunner | None = None,
        max_entities: int = 10,
    ) -> None:
        self._store = store
        self._invoker = invoker
        self._runner = runner
        self._clock = clock
        self._skipping = skipping or NoSkipping()
        self._generation = 0
        self._max_orchestrations = max_orchestrations
        self._max_activities = max_activities
        self._busy_instances: set[str] = set()
        self._busy_activities: set[int] = set()
        self._entities = entities
        self._max_entities = max_entities
        self._busy_entities: set[str] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._stopping = False
        self._failures: dict[str, int] = {}  # instance id -> infrastructure failures in a row
        self._skipping.on_change(self._wake.set)

    def notify(self) -> None:
        """New work may be due (a start, an event, a commit): look again now."""
        self._generation += 1
        self._wake.set()

    @property
    def generation(self) -> int:
        """Grows with every notify and every finished work item: equal values, nothing happened between."""
        return self._generation

    async def start(self) -> None:
        self._loop_task = asyncio.create_task(self._run(), name="devhost-dispatcher")

    async def stop(self) -> None:
        """Stop the loop and every running work item; returns even if a cancel is swallowed on the way.

        The loop also checks `_stopping` after every await, so a cancel lost in library code (Python
        3.11's `asyncio.wait_for` drops one that lands as its awaitable completes) still ends it; the
        cancel is repeated until the task is done.
        """
        self._stopping = True
        self._wake.set()
        if self._loop_task:
            await _cancel_and_wait({self._loop_task})
        await _cancel_and_wait(set(self._tasks))

    async def wait_idle(self) -> None:
        """Until nothing is running, nothing is due and the clock is not about to skip: timers in the
        future may remain (used by tests and the library API)."""
        self.notify()
        self._idle.clear()
        await self._idle.wait()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._generation += 1
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("work item crashed", exc_info=task.exception())
        self._wake.set()

    async def _run(self) -> None:
        failures = 0
        while not self._stopping:
            self._wake.clear()
            try:
                timeout = await self._one_pass()
            except StoreUnavailableError as exc:
                await wait_out(exc)  # an outage, logged once by store/outage.py
                continue
            except Exception:
                # Whatever failed (the store, a devhost bug), the loop carries on after a pause: a host
                # that stops dispatching while still answering HTTP would look alive and do nothing.
                failures += 1
                delay = retry_delay(failures)
                log.exception("dispatcher failed while looking for work; retrying in %.1f s", delay)
                await asyncio.sleep(delay)
                continue
            failures = 0
            if timeout is not None:
                await self._sleep_until_woken(timeout)

    async def _one_pass(self) -> float | None:
        """Start what is due; None to look again at once, else how long to sleep unless woken."""
        if await self._dispatch_due() or self._stopping:
            return None  # a kind of work filled its room: there may be more
        now = self._clock.now()
        next_due = await self._store.next_due(now)
        # A notify since this pass began (a start, an event, a commit) may have brought work the
        # pass did not see, as the store calls above can suspend: look again before calling the
        # host idle or skipping time past it.
        timeout = _IDLE_POLL_SECONDS if next_due is None else self._clock.real_delay(next_due)
        if not self._tasks and not self._wake.is_set():
            permit_in = self._skipping.permit_in(self._generation) if next_due is not None else None
            if permit_in == 0:
                self._clock.advance_to(next_due)  # type: ignore[arg-type]
                self._skipping.skipped()
                return None
            if permit_in is not None:
                timeout = min(timeout, permit_in)
            self._idle.set()
        return min(timeout, _IDLE_POLL_SECONDS)

    async def _sleep_until_woken(self, timeout: float) -> None:
        """Until notify() or `timeout` seconds. Not `asyncio.wait_for`: on Python 3.11 it swallows a
        cancel that arrives in the loop turn the event is set, and the loop would then never stop."""
        waiter = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({waiter}, timeout=timeout)
        finally:
            waiter.cancel()

    async def _dispatch_due(self) -> bool:
        """Start the work that is due, as far as there is room; True if some kind of work filled its
        room (more of it may be due), False if everything due was started."""
        now = self._clock.now()
        full = False
        room = self._max_orchestrations - len(self._busy_instances)
        if room > 0:
            ready = await self._store.ready_instances(now, room, self._busy_instances)
            for instance_id in ready:
                # Busy since the query was sent (an activity's task took it over): already running.
                if instance_id not in self._busy_instances:
                    self._busy_instances.add(instance_id)
                    self._spawn(self._drive(instance_id, None))
            full = len(ready) >= room
        room = self._max_activities - len(self._busy_activities)
        if room > 0:
            tasks = await self._store.ready_activities(now, room, self._busy_activities)
            for task in tasks:
                if task.id not in self._busy_activities:
                    self._busy_activities.add(task.id)
                    self._spawn(self._drive(None, task))
            full = full or len(tasks) >= room
        room = self._max_entities - len(self._busy_entities)
        if self._entities is not None and room > 0:
            entities: Any = self._store  # every store keeps entities too (store/entity_records.py)
            ready = await entities.ready_entities(now, room, self._busy_entities)
            for entity_id in ready:
                if entity_id in self._busy_entities:
                    continue
                self._busy_entities.add(entity_id)
                self._spawn(self._entity(entity_id, self._entities))
            full = full or len(ready) >= room
        return full

    async def _entity(self, entity_id: str, runner: EntityRunner) -> None:
        """One entity batch: fetch, run, commit; an entity is never in two batches at a time, so its
        operations run one by one in arrival order."""
        store: Any = self._store
        key = f"entity:{entity_id}"
        try:
            batch = await store.fetch_entity_batch(entity_id, self._clock.now(), MAX_BATCH)
            if batch is not None:
                await store.complete_entity_batch(await runner.run(batch, self._clock.now()))
            self._failures.pop(key, None)
        except Exception:
            failures = self._failures[key] = self._failures.get(key, 0) + 1
            delay = retry_delay(failures)
            log.exception(
                "entity batch for %s abandoned (failure %d); retrying in %.1f s", entity_id, failures, delay
            )
            await asyncio.sleep(delay)
        finally:
            self._busy_entities.discard(entity_id)

    async def _drive(self, instance_id: str | None, task: ActivityTask | None) -> None:
        """Run an episode (of `instance_id`, marked busy) or an activity (`task`, marked busy), then
        what it makes due, one after the other in this task while the instance needs nothing else:
        an activity's result is followed by its instance's next episode; an episode that scheduled
        activities, when it is the only work running, by one of them (the others due then are
        started in tasks of their own). The loop
        would find the same work with store queries on its next pass; it still does whenever the
        chain stops (the instance is busy elsewhere, no room, nothing was saved)."""
        while not self._stopping:
            if task is not None:
                instance_id = task.instance_id if await self._activity(task) else None
                task = None
                if instance_id is None or not self._take_instance(instance_id):
                    return
            elif instance_id is not None:
                if not await self._orchestrate(instance_id) or len(self._tasks) > 1:
                    return  # under load the loop's next pass starts the activities of many at once
                task = await self._take_activity_of(instance_id)
                instance_id = None
                if task is None:
                    return
            else:
                return

    def _take_instance(self, instance_id: str) -> bool:
        """Mark `instance_id` busy for an episode if it is idle and there is room."""
        if instance_id in self._busy_instances or len(self._busy_instances) >= self._max_orchestrations:
            return False
        self._busy_instances.add(instance_id)
        return True

    async def _take_activity_of(self, instance_id: str) -> ActivityTask | None:
        """After an episode that scheduled activities: start those due (oldest first, as far as there
        is room, as the loop would) and keep one of `instance_id`'s for the caller, marked busy."""
        room = self._max_activities - len(self._busy_activities)
        if room <= 0 or self._stopping:
            return None
        try:
            tasks = await self._store.ready_activities(self._clock.now(), room, self._busy_activities)
        except Exception:
            return None  # the loop's next pass asks again, and says what went wrong
        mine: ActivityTask | None = None
        for task in tasks:
            if task.id in self._busy_activities or self._stopping:
                continue  # started meanwhile
            self._busy_activities.add(task.id)
            if mine is None and task.instance_id == instance_id:
                mine = task
            else:
                self._spawn(self._drive(None, task))
        return mine

    async def _orchestrate(self, instance_id: str) -> bool:
        """One episode of `instance_id` (marked busy, freed here); True if it scheduled activities."""
        scheduled = False
        try:
            work = await self._store.fetch_work_item(instance_id, self._clock.now())
            if work is not None:
                was_final = work.instance.runtime_status.is_terminal
                result = await self._runner.run(work, self._clock.now())
                await self._store.complete_orchestration(result)
                scheduled = bool(result.activities)
                if not was_final and result.instance.runtime_status.is_terminal:
                    orchestration_ended(result.instance)
            self._failures.pop(instance_id, None)
        except StoreUnavailableError as exc:
            # An outage (logged once by store/outage.py): nothing was committed, the messages stay,
            # and the work item is tried again after the outage's backoff.
            await wait_out(exc)
        except Exception as exc:
            # Infrastructure failure (or a devhost bug): nothing was committed, the messages stay
            # in the inbox and the work item is retried after a pause that grows with each failure.
            # (A user's exception is no failure here: the episode records it in the history.)
            failures = self._failures[instance_id] = self._failures.get(instance_id, 0) + 1
            delay = retry_delay(failures)
            log.error(
                "orchestration work item for instance %s abandoned (failure %d); retrying in %.1f s",
                instance_id,
                failures,
                delay,
                exc_info=_worth_a_traceback(exc),
            )
            await asyncio.sleep(delay)
        finally:
            if len(self._busy_instances) >= self._max_orchestrations:
                self._wake.set()  # its room was full: the loop may start a waiting episode now
            self._busy_instances.discard(instance_id)
        return scheduled

    async def _activity(self, task: ActivityTask) -> bool:
        """Run one activity and save its result; True if saved."""
        try:
            if task.name == HTTP_ACTIVITY:
                reply = await run_http_activity(task.input)
            else:
                with executing(task.name, "ActivityTrigger", task.instance_id) as run:
                    reply = await self._invoker.run_activity(task.name, task.input, run.id)
                    run.failure = reply.failure[0] if reply.failure else None
            await self._store.complete_activity(task, self._result_message(task, reply))
            return True
        except StoreUnavailableError as exc:
            # An outage (logged once by store/outage.py): the task stays in the store and runs again
            # once it is back (at least once, as after a crash); kept busy here until then.
            await wait_out(exc)
        except Exception as exc:
            delay = retry_delay(task.attempt + 1)
            log.error(
                "activity %s of instance %s abandoned (failure %d); retrying in %.1f s",
                task.name,
                task.instance_id,
                task.attempt + 1,
                delay,
                exc_info=_worth_a_traceback(exc),
            )
            try:
                await self._store.abandon_activity(task, self._clock.now() + timedelta(seconds=delay))
            except Exception:
                log.exception(
                    "could not abandon activity %s of instance %s; it runs again after %.1f s",
                    task.name,
                    task.instance_id,
                    delay,
                )
                # Still visible in the store: keep it busy for the pause so it is not retried at once.
                await asyncio.sleep(delay)
        finally:
            if len(self._busy_activities) >= self._max_activities:
                self._wake.set()  # its room was full: the loop may start a waiting activity now
            self._busy_activities.discard(task.id)
        return False

    def _result_message(self, task: ActivityTask, reply: ActivityReply) -> Message:
        now = self._clock.now()
        if reply.failure is not None:
            reason, details = reply.failure
            event = h.event(
                EventType.TASK_FAILED,
                now,
                TaskScheduledId=task.task_id,
                Reason=reason,
                Details=details,
                FailureDetails=None,
            )
        else:
            event = h.event(
                EventType.TASK_COMPLETED,
                now,
                TaskScheduledId=task.task_id,
                Result=h.reserialize(reply.result),
            )
        return Message(task.instance_id, event, execution_id=task.execution_id)


async def _cancel_and_wait(tasks: set[asyncio.Task[Any]]) -> None:
    """Cancel `tasks` until all are done: a task that swallows one cancel gets another."""
    while tasks:
        for task in tasks:
            task.cancel()
        _, tasks = await asyncio.wait(tasks, timeout=0.1)
