"""What is due, in memory: the `azure` store's index of its inbox and work-item rows.

Azure Tables can only range-query keys, and a query across all instances' inboxes for "visible by
now" is a scan of every pending row. So the store keeps, per row, just its id, instance, visible-at
time and event type in memory: loaded by one scan when the store opens, kept current by the store's
own writes, and reloaded when another process is seen writing to the hub. The tables stay the only
truth: every work item is read back from them before it runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..history import EventType

# Events a suspended instance still takes (as in the SQLite store).
WHILE_SUSPENDED = frozenset({int(EventType.EXECUTION_TERMINATED), int(EventType.EXECUTION_RESUMED)})


@dataclass(slots=True)
class DueIndex:
    """Inbox messages per instance and activity tasks, each with its visible-at text."""

    inbox: dict[str, dict[int, tuple[str, int]]] = field(default_factory=dict)
    work: dict[int, tuple[str, str]] = field(default_factory=dict)
    # Changes made while a reload runs, replayed over what the reload read.
    _journal: list[tuple[str, tuple[object, ...]]] | None = None

    def add_message(self, instance_id: str, message_id: int, visible: str, event_type: int) -> None:
        self.inbox.setdefault(instance_id, {})[message_id] = (visible, event_type)
        self._log("add_message", (instance_id, message_id, visible, event_type))

    def remove_message(self, instance_id: str, message_id: int) -> None:
        messages = self.inbox.get(instance_id)
        if messages is not None:
            messages.pop(message_id, None)
            if not messages:
                del self.inbox[instance_id]
        self._log("remove_message", (instance_id, message_id))

    def set_messages(self, instance_id: str, messages: dict[int, tuple[str, int]]) -> None:
        """Replace what is known of an instance's inbox with what was just read from it."""
        if messages:
            self.inbox[instance_id] = dict(messages)
        else:
            self.inbox.pop(instance_id, None)
        self._log("set_messages", (instance_id, messages))

    def forget_instance(self, instance_id: str) -> None:
        self.inbox.pop(instance_id, None)
        for task_id in [t for t, (_, owner) in self.work.items() if owner == instance_id]:
            del self.work[task_id]
        self._log("forget_instance", (instance_id,))

    def add_task(self, task_id: int, visible: str, instance_id: str) -> None:
        self.work[task_id] = (visible, instance_id)
        self._log("add_task", (task_id, visible, instance_id))

    def remove_task(self, task_id: int) -> None:
        self.work.pop(task_id, None)
        self._log("remove_task", (task_id,))

    def due_instances(self, now: str, busy: set[str]) -> list[tuple[str, bool]]:
        """(instance id, only-if-not-suspended) for instances with a message visible by `now`.

        The flag is False when one of the due messages is one a suspended instance still takes.
        Oldest first by message id.
        """
        found: list[tuple[int, str, bool]] = []
        for instance_id, messages in self.inbox.items():
            if instance_id in busy:
                continue
            due = [(mid, kind) for mid, (visible, kind) in messages.items() if visible <= now]
            if due:
                found.append(
                    (min(m for m, _ in due), instance_id, not any(k in WHILE_SUSPENDED for _, k in due))
                )
        return [(i, flag) for _, i, flag in sorted(found)]

    def due_tasks(self, now: str, busy: set[int]) -> list[tuple[int, str]]:
        return sorted(
            (t, owner) for t, (visible, owner) in self.work.items() if visible <= now and t not in busy
        )

    def next_due(self, after: str) -> str | None:
        times = [v for msgs in self.inbox.values() for v, _ in msgs.values() if v > after]
        times += [v for v, _ in self.work.values() if v > after]
        return min(times, default=None)

    def begin_reload(self) -> None:
        self._journal = []

    def finish_reload(self, fresh: DueIndex | None) -> None:
        """Take what a reload read (None: it failed), then replay the changes made while it ran."""
        changes, self._journal = self._journal or [], None
        if fresh is None:
            return
        self.inbox, self.work = fresh.inbox, fresh.work
        for name, args in changes:
            getattr(self, name)(*args)

    def _log(self, name: str, args: tuple[object, ...]) -> None:
        if self._journal is not None:
            self._journal.append((name, args))
