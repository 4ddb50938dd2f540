"""The store contract every durable backend implements, and the records it moves.

Modelled on a work-item backend: the engine fetches an orchestration work item (instance + history +
inbox messages), runs an episode, and hands back one `EpisodeResult` that the store commits
atomically: history appended, instance row updated, consumed messages deleted, new messages and
activity tasks queued. Activities complete with one commit that deletes the task and queues its
result message, so a crash anywhere re-runs work (at least once) but never loses or repeats a
state transition.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol

from ..json_text import dumps_ascii

if TYPE_CHECKING:
    from .entity_records import EntityRequest


class RuntimeStatus(str, Enum):
    RUNNING = "Running"
    COMPLETED = "Completed"
    CONTINUED_AS_NEW = "ContinuedAsNew"
    FAILED = "Failed"
    CANCELED = "Canceled"
    TERMINATED = "Terminated"
    PENDING = "Pending"
    SUSPENDED = "Suspended"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL

    @property
    def is_active(self) -> bool:
        """Running, Pending, ContinuedAsNew, Suspended: a new start with this id is refused."""
        return not self.is_terminal


_TERMINAL = {RuntimeStatus.COMPLETED, RuntimeStatus.FAILED, RuntimeStatus.CANCELED, RuntimeStatus.TERMINATED}


@dataclass(slots=True)
class InstanceRecord:
    """One orchestration instance, as the status API shows it (JSON fields hold JSON text)."""

    instance_id: str
    name: str
    execution_id: str
    runtime_status: RuntimeStatus
    created_time: str
    last_updated_time: str
    input: str | None = None
    output: str | None = None
    custom_status: str | None = None
    parent: dict[str, Any] | None = None
    # The engine's bookkeeping (engine/ledger.py) as the store holds it, JSON text. It is parsed on
    # first use of `ledger`: a status read never needs it, and it grows with the custom status history.
    ledger_text: str | None = field(default=None, repr=False, compare=False)
    _ledger: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    @property
    def ledger(self) -> dict[str, Any]:
        if self._ledger is None:
            self._ledger = json.loads(self.ledger_text) if self.ledger_text else {}
        return self._ledger

    @ledger.setter
    def ledger(self, value: dict[str, Any]) -> None:
        self._ledger = value
        self.ledger_text = None

    def ledger_json(self) -> str:
        """The ledger as JSON text to store: as read when it was not replaced, else encoded now."""
        if self._ledger is None and self.ledger_text:
            return self.ledger_text
        return dumps_ascii(self.ledger)


@dataclass(slots=True)
class Message:
    """An event for an instance's inbox. `visible_at` delays it (durable timers)."""

    instance_id: str
    event: dict[str, Any]
    execution_id: str | None = None
    visible_at: datetime | None = None
    id: int = 0

    @property
    def event_type(self) -> int:
        return int(self.event["EventType"])


@dataclass(slots=True)
class ActivityTask:
    """An activity to run; its result goes back to (instance_id, execution_id) as task `task_id`."""

    instance_id: str
    execution_id: str
    task_id: int
    name: str
    input: str | None
    id: int = 0
    attempt: int = 0


@dataclass(slots=True)
class WorkItem:
    """What one orchestration episode needs: the instance, its history (JSON texts), new messages."""

    instance: InstanceRecord
    history: list[str]
    messages: list[Message]


@dataclass(slots=True)
class EpisodeResult:
    """Everything one episode changes, committed as one transaction by `complete_orchestration`."""

    instance: InstanceRecord
    new_history: list[str]
    consumed: list[int]
    reset_history: bool = False
    messages: list[Message] = field(default_factory=list)
    activities: list[ActivityTask] = field(default_factory=list)
    new_instances: list[tuple[InstanceRecord, Message]] = field(default_factory=list)
    # Operation requests for entities: the episode's calls and signals.
    entity_requests: list[EntityRequest] = field(default_factory=list)


def id_prefix_range(prefix: str) -> tuple[str, str | None]:
    """The key range holding exactly the ids that start with `prefix`: `lo <= id < hi` (no upper bound
    when `hi` is None). A range rather than a pattern, so no character in an id can widen the match;
    both stores compare ids by code point, which this successor respects."""
    stem = prefix.rstrip("\U0010ffff")
    if not stem:
        return prefix, None
    following = ord(stem[-1]) + 1
    if 0xD800 <= following <= 0xDFFF:  # surrogates are not characters: the next one is U+E000
        following = 0xE000
    return prefix, stem[:-1] + chr(following)


@dataclass(frozen=True, slots=True)
class InstanceQuery:
    """Filters of the list and purge APIs; None means "any"."""

    created_from: str | None = None
    created_to: str | None = None
    statuses: tuple[RuntimeStatus, ...] = ()
    id_prefix: str | None = None


class Store(Protocol):
    """Durable state of one task hub. Methods raise StoreError on infrastructure failure."""

    async def open(self) -> None:
        """Create what the store needs and recover from a crash; StoreError if it is unreachable."""

    async def create_instance(self, instance: InstanceRecord, start: Message) -> None:
        """Create (or replace a finished) instance and queue its start; InstanceExistsError if active."""

    async def get_instance(self, instance_id: str) -> InstanceRecord | None:
        """The instance row, or None."""

    async def get_history(self, instance_id: str) -> list[str]:
        """The current execution's history events as JSON texts, oldest first."""

    async def query_instances(
        self, query: InstanceQuery, limit: int, after: str | None
    ) -> tuple[list[InstanceRecord], str | None]:
        """A page of instances ordered by id after the continuation `after`, and the next token or None."""

    async def send_message(self, message: Message) -> None:
        """Queue an event for an instance."""

    async def ready_instances(self, now: datetime, limit: int, busy: set[str]) -> list[str]:
        """Ids of instances that have messages due by `now` (and may take them), excluding `busy`."""

    async def fetch_work_item(self, instance_id: str, now: datetime) -> WorkItem | None:
        """The instance, its history and its due messages; None if it has none or is gone."""

    async def complete_orchestration(self, result: EpisodeResult) -> None:
        """Commit an episode atomically."""

    async def ready_activities(self, now: datetime, limit: int, busy: set[int]) -> list[ActivityTask]:
        """Activity tasks due by `now`, excluding ids in `busy`."""

    async def complete_activity(self, task: ActivityTask, result: Message) -> None:
        """Delete the task and queue its result, atomically."""

    async def abandon_activity(self, task: ActivityTask, retry_at: datetime) -> None:
        """Make the task visible again at `retry_at` (infrastructure failure, backoff)."""

    async def next_due(self, after: datetime) -> datetime | None:
        """The earliest time after `after` at which a message or activity becomes due."""

    async def request_rewind(self, instance_id: str, request: Message, at: str) -> RuntimeStatus | None:
        """If the instance is Failed: mark it Pending at `at` (output cleared) and queue `request`, as
        one atomic change; otherwise change nothing. Its status before, or None if there is none."""

    async def purge(self, instance_id: str) -> int:
        """Delete an instance with its history and messages; the number deleted (0 or 1)."""

    async def purge_by(self, query: InstanceQuery) -> int:
        """Delete terminal instances matching `query`; the number deleted."""

    async def close(self) -> None:
        """Release the store's resources."""
