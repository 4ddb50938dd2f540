"""What one Azure Storage store process remembers of the hub, so that an episode usually reads nothing.

One devhost process serves a hub at a time: the instance row with its ETag, the history of recently run
instances and the pending messages and tasks are kept as this process last wrote them, updated only
after a write succeeded. The commit's ETag condition keeps this safe: if the row changed in the table,
the commit fails, what is remembered of the instance is dropped and the work item is retried from the
tables. After any failed write to an instance (whose effect may or may not have happened), its partition
is read again before its next episode. The status API reads the tables.

Activity results of instances run here are held in memory until the episode that takes them commits
(see azure_work.py, `complete_activity`). Which rows are due is known from the index (azure_index.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .azure_index import AT_ONCE, DueIndex
from .base import RuntimeStatus
from .recent import Recent


def message_key(number: int) -> str:
    return f"M{number:020d}"


def task_key(number: int) -> str:
    return f"W{number:020d}"


def number(row_key: str) -> int:
    return int(row_key[1:])


@dataclass(slots=True)
class Known:
    """An instance row as this process last wrote or read it, and the history in its window."""

    entity: dict[str, Any]
    etag: str
    history: list[str] | None
    seen: set[tuple[str, Any]] | None = None  # what the history holds one of (see _identity)


@dataclass(slots=True)
class HeldResult:
    """An activity's result, held until the commit of the episode that takes it deletes the task."""

    body: dict[str, Any]  # the message row it stands for, its event inline
    task_id: int
    task_blobs: set[str]  # garbage once the task row is deleted


class Remembered:
    """The in-memory side of the store: the due index, instance rows and histories, pending rows."""

    def __init__(self) -> None:
        self._index = DueIndex()
        self._status: dict[str, RuntimeStatus | None] = {}
        self._known: Recent[str, Known] = Recent()
        # Pending messages and tasks as written (by id), so that running them reads nothing.
        self._bodies: dict[int, dict[str, Any]] = {}
        self._task_rows: dict[int, dict[str, Any]] = {}
        # Activity results not written anywhere yet, by message id; their task ids.
        self._results: dict[int, HeldResult] = {}
        self._held: dict[int, int] = {}
        # Instances whose partition must be read again before their next episode.
        self._recheck: set[str] = set()
        self._fetched: dict[str, tuple[dict[str, Any], str, dict[int, set[str]]]] = {}

    def _remember(
        self,
        instance_id: str,
        entity: dict[str, Any],
        etag: str,
        history: list[str] | None,
        seen: set[tuple[str, Any]] | None = None,
    ) -> None:
        self._known.remember(instance_id, Known(entity, etag, history, seen))

    def _forget(self, instance_id: str, *, recheck: bool = True) -> None:
        """Drop what is remembered of an instance; `recheck`: read its partition before its next episode."""
        self._known.pop(instance_id, None)
        if recheck:
            self._recheck.add(instance_id)

    def _note(self, entity: dict[str, Any]) -> None:
        """A message or task row just written: into the index and remembered."""
        key = str(entity["RowKey"])
        if key.startswith("M"):
            self._index.add_message(
                str(entity["InstanceId"]), number(key), str(entity["VisibleAt"]), int(entity["EventType"])
            )
            self._bodies[number(key)] = entity
        else:
            self._index.add_task(number(key), str(entity["VisibleAt"]), str(entity["InstanceId"]))
            self._task_rows[number(key)] = entity

    def _gone_message(self, instance_id: str, message_id: int) -> None:
        self._index.remove_message(instance_id, message_id)
        self._bodies.pop(message_id, None)
        held = self._results.pop(message_id, None)
        if held is not None:
            self._held.pop(held.task_id, None)

    def _hold(self, message_id: int, held: HeldResult) -> None:
        """Keep an activity's result here: due for its instance, its task no longer due."""
        self._results[message_id] = held
        self._held[held.task_id] = message_id
        self._gone_task(held.task_id)
        body = held.body
        self._index.add_message(str(body["InstanceId"]), message_id, AT_ONCE, int(body["EventType"]))
        self._bodies[message_id] = body

    def _task_blobs(self, message_id: int) -> set[str]:
        held = self._results.get(message_id)
        return held.task_blobs if held is not None else set()

    def _row_key(self, message_id: int) -> str:
        """The row a message's consumption deletes: its own, or for a held result its task's."""
        held = self._results.get(message_id)
        return task_key(held.task_id) if held is not None else message_key(message_id)

    def _held_of(self, instance_id: str) -> list[tuple[int, HeldResult]]:
        return [(m, r) for m, r in self._results.items() if r.body["InstanceId"] == instance_id]

    def _gone_task(self, task_id: int) -> None:
        self._index.remove_task(task_id)
        self._task_rows.pop(task_id, None)

    def _gone_instance(self, instance_id: str) -> None:
        for message_id, held in self._held_of(instance_id):
            del self._results[message_id], self._held[held.task_id]
        for message_id in self._index.messages_of(instance_id):
            self._bodies.pop(message_id, None)
        for task_id in self._index.tasks_of(instance_id):
            self._task_rows.pop(task_id, None)
        self._index.forget_instance(instance_id)
        self._forget(instance_id, recheck=False)

    def _take_partition(self, instance_id: str, rows: Iterable[Mapping[str, Any]]) -> None:
        """The instance's messages and tasks as just read: they replace what the index knew."""
        for message_id in self._index.messages_of(instance_id):
            self._bodies.pop(message_id, None)
        for task_id in self._index.tasks_of(instance_id):
            self._task_rows.pop(task_id, None)
        messages: dict[int, tuple[str, int]] = {}
        tasks: dict[int, str] = {}
        for row in rows:
            key = str(row["RowKey"])
            if key.startswith("M"):
                messages[number(key)] = (str(row["VisibleAt"]), int(row["EventType"]))
                self._bodies[number(key)] = dict(row)
            elif key.startswith("W"):
                tasks[number(key)] = str(row["VisibleAt"])
                self._task_rows[number(key)] = dict(row)
        held = self._held_of(instance_id)
        for message_id, result in held:
            if result.task_id not in tasks:
                del self._results[message_id], self._held[result.task_id]  # its task is gone
        self._index.set_messages(instance_id, messages)
        self._index.set_tasks(instance_id, tasks)
        for message_id, result in held:
            if message_id in self._results:
                self._hold(message_id, result)
