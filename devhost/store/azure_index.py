"""What is due, in memory: the `azure` store's index of its pending messages and activity tasks.

Azure Tables can only range-query keys, and a query across all instances for "visible by now" is a
scan of every pending row. So the store keeps, per row, just its id, instance, visible-at time and
event type in memory: loaded by one scan when the store opens, kept current by the store's own
writes, and reloaded when another process is seen writing to the hub.

The engine asks for due work after every step, so answering must not cost a pass over everything
pending: rows visible at once (no delay) are kept in arrival order, delayed ones (durable timers,
activities retried later) sorted by their visible-at time.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterator
from dataclasses import dataclass, field

from ..history import EventType

# Events a suspended instance still takes (as in the SQLite store).
WHILE_SUSPENDED = frozenset({int(EventType.EXECUTION_TERMINATED), int(EventType.EXECUTION_RESUMED)})
# The visible-at text of a row visible at once: before any real time.
AT_ONCE = "0000-00-00T00:00:00.000000Z"
_LAST = "\uffff"


@dataclass(slots=True)
class DueIndex:
    """Inbox messages per instance and activity tasks, each with its visible-at text."""

    inbox: dict[str, dict[int, tuple[str, int]]] = field(default_factory=dict)
    work: dict[int, tuple[str, str]] = field(default_factory=dict)
    # Instances with messages visible at once: how many, in the order they got their first one.
    _at_once: dict[str, int] = field(default_factory=dict)
    # Delayed messages: (visible, message id, instance), sorted.
    _timers: list[tuple[str, int, str]] = field(default_factory=list)
    # Tasks visible at once, by id (ids grow with time: oldest first); delayed ones, sorted.
    _tasks_at_once: dict[int, None] = field(default_factory=dict)
    _tasks_later: list[tuple[str, int]] = field(default_factory=list)
    _owned: dict[str, set[int]] = field(default_factory=dict)
    # Changes made while a reload runs, replayed over what the reload read.
    _journal: list[tuple[str, tuple[object, ...]]] | None = None

    # -- messages ---------------------------------------------------------------------------------

    def add_message(self, instance_id: str, message_id: int, visible: str, event_type: int) -> None:
        self._unlink_message(instance_id, message_id)
        self.inbox.setdefault(instance_id, {})[message_id] = (visible, event_type)
        if visible == AT_ONCE:
            self._at_once[instance_id] = self._at_once.get(instance_id, 0) + 1
        else:
            insort(self._timers, (visible, message_id, instance_id))
        self._log("add_message", (instance_id, message_id, visible, event_type))

    def remove_message(self, instance_id: str, message_id: int) -> None:
        self._unlink_message(instance_id, message_id)
        self._log("remove_message", (instance_id, message_id))

    def _unlink_message(self, instance_id: str, message_id: int) -> None:
        messages = self.inbox.get(instance_id)
        if messages is None or message_id not in messages:
            return
        visible, _ = messages.pop(message_id)
        if not messages:
            del self.inbox[instance_id]
        if visible == AT_ONCE:
            left = self._at_once[instance_id] - 1
            if left:
                self._at_once[instance_id] = left
            else:
                del self._at_once[instance_id]
        else:
            entry = (visible, message_id, instance_id)
            at = bisect_left(self._timers, entry)
            if at < len(self._timers) and self._timers[at] == entry:
                del self._timers[at]

    def set_messages(self, instance_id: str, messages: dict[int, tuple[str, int]]) -> None:
        """Replace what is known of an instance's inbox with what was just read from it."""
        for message_id in list(self.inbox.get(instance_id, {})):
            self._unlink_message(instance_id, message_id)
        for message_id, (visible, event_type) in messages.items():
            self.add_message(instance_id, message_id, visible, event_type)
        self._log("set_messages", (instance_id, dict(messages)))

    def messages_of(self, instance_id: str) -> dict[int, tuple[str, int]]:
        return self.inbox.get(instance_id, {})

    def due_messages(self, instance_id: str, now: str, suspended: bool) -> list[int]:
        """The instance's message ids visible by `now` (only those it takes while suspended), oldest first."""
        return sorted(
            m
            for m, (visible, kind) in self.inbox.get(instance_id, {}).items()
            if visible <= now and (not suspended or kind in WHILE_SUSPENDED)
        )

    def due_instances(self, now: str, busy: set[str]) -> Iterator[tuple[str, bool]]:
        """(instance id, only-if-not-suspended) for instances with a message visible by `now`.

        The flag is False when one of the due messages is one a suspended instance still takes.
        Due timers first, then messages visible at once in arrival order. Read it without
        awaiting in between: it walks the live index.
        """
        seen: set[str] = set()
        end = bisect_right(self._timers, (now, 2**63, _LAST))
        for _, _, instance_id in self._timers[:end]:
            if instance_id not in busy and instance_id not in seen:
                seen.add(instance_id)
                yield instance_id, self._only_if_running(instance_id, now)
        for instance_id in self._at_once:
            if instance_id not in busy and instance_id not in seen:
                yield instance_id, self._only_if_running(instance_id, now)

    def _only_if_running(self, instance_id: str, now: str) -> bool:
        return not any(
            kind in WHILE_SUSPENDED for visible, kind in self.inbox[instance_id].values() if visible <= now
        )

    # -- tasks ------------------------------------------------------------------------------------

    def add_task(self, task_id: int, visible: str, instance_id: str) -> None:
        self._unlink_task(task_id)
        self.work[task_id] = (visible, instance_id)
        self._owned.setdefault(instance_id, set()).add(task_id)
        if visible == AT_ONCE:
            self._tasks_at_once[task_id] = None
        else:
            insort(self._tasks_later, (visible, task_id))
        self._log("add_task", (task_id, visible, instance_id))

    def remove_task(self, task_id: int) -> None:
        self._unlink_task(task_id)
        self._log("remove_task", (task_id,))

    def _unlink_task(self, task_id: int) -> None:
        found = self.work.pop(task_id, None)
        if found is None:
            return
        visible, owner = found
        owned = self._owned.get(owner)
        if owned is not None:
            owned.discard(task_id)
            if not owned:
                del self._owned[owner]
        if visible == AT_ONCE:
            self._tasks_at_once.pop(task_id, None)
        else:
            at = bisect_left(self._tasks_later, (visible, task_id))
            if at < len(self._tasks_later) and self._tasks_later[at] == (visible, task_id):
                del self._tasks_later[at]

    def set_tasks(self, instance_id: str, tasks: dict[int, str]) -> None:
        """Replace what is known of an instance's tasks (id: visible-at) with what was just read."""
        for task_id in list(self._owned.get(instance_id, ())):
            self._unlink_task(task_id)
        for task_id, visible in tasks.items():
            self.add_task(task_id, visible, instance_id)
        self._log("set_tasks", (instance_id, dict(tasks)))

    def tasks_of(self, instance_id: str) -> set[int]:
        return self._owned.get(instance_id, set())

    def due_tasks(self, now: str, busy: set[int], limit: int) -> list[tuple[int, str]]:
        """Up to `limit` (task id, instance id) visible by `now`, not in `busy`: delayed ones first."""
        found: list[tuple[int, str]] = []
        end = bisect_right(self._tasks_later, (now, 2**63))
        for _, task_id in self._tasks_later[:end]:
            if len(found) >= limit:
                return found
            if task_id not in busy:
                found.append((task_id, self.work[task_id][1]))
        for task_id in self._tasks_at_once:
            if len(found) >= limit:
                break
            if task_id not in busy:
                found.append((task_id, self.work[task_id][1]))
        return found

    # -- both -------------------------------------------------------------------------------------

    def forget_instance(self, instance_id: str) -> None:
        for message_id in list(self.inbox.get(instance_id, {})):
            self._unlink_message(instance_id, message_id)
        for task_id in list(self._owned.get(instance_id, ())):
            self._unlink_task(task_id)
        self._log("forget_instance", (instance_id,))

    def next_due(self, after: str) -> str | None:
        """The earliest visible-at time after `after` (rows visible at once are never after anything)."""
        times: list[str] = []
        at = bisect_right(self._timers, (after, 2**63, _LAST))
        if at < len(self._timers):
            times.append(self._timers[at][0])
        at = bisect_right(self._tasks_later, (after, 2**63))
        if at < len(self._tasks_later):
            times.append(self._tasks_later[at][0])
        return min(times, default=None)

    def begin_reload(self) -> None:
        self._journal = []

    def finish_reload(self, fresh: DueIndex | None) -> None:
        """Take what a reload read (None: it failed), then replay the changes made while it ran."""
        changes, self._journal = self._journal or [], None
        if fresh is None:
            return
        self.inbox, self.work, self._owned = fresh.inbox, fresh.work, fresh._owned
        self._at_once, self._timers = fresh._at_once, fresh._timers
        self._tasks_at_once, self._tasks_later = fresh._tasks_at_once, fresh._tasks_later
        for name, args in changes:
            getattr(self, name)(*args)

    def _log(self, name: str, args: tuple[object, ...]) -> None:
        if self._journal is not None:
            self._journal.append((name, args))
