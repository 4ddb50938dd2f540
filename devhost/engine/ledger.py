"""Task-id bookkeeping for one orchestration execution, kept in the instance row.

The SDK numbers every scheduling task (activity, timer, sub-orchestration, fire-and-forget action)
with one counter, in the order it yields them, and numbers the timer and the next attempt of a
`*_with_retry` task at the moment it processes the failure or the retry timer's firing. The ledger
mirrors that counter so the events devhost writes carry the ids the SDK expects on replay.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..history import EventType


@dataclass(slots=True)
class RetryChain:
    """A `call_*_with_retry` task: what to run again and how long to wait."""

    kind: str  # "activity" | "sub"
    name: str
    input: str | None
    instance_id: str | None
    first_interval_ms: int
    max_attempts: int
    backoff: float = 1.0
    max_interval_ms: int | None = None
    attempt: int = 1
    version: str | None = None  # a sub-orchestration's, as its action gave it

    def delay_ms(self) -> float:
        delay = self.first_interval_ms * self.backoff ** (self.attempt - 1)
        return min(delay, self.max_interval_ms) if self.max_interval_ms else delay

    @property
    def exhausted(self) -> bool:
        return self.attempt >= self.max_attempts


STATUS_LOG_LIMIT = 200
STATUS_TEXT_LIMIT = 1000


@dataclass(slots=True)
class Ledger:
    next_id: int = 0
    action_ids: list[int] = field(default_factory=list)
    open: dict[int, str] = field(default_factory=dict)
    chains: dict[int, RetryChain] = field(default_factory=dict)
    retry_tasks: dict[int, int] = field(default_factory=dict)
    retry_timers: dict[int, int] = field(default_factory=dict)
    # Every value the custom status took in this execution, as [time, JSON text], oldest first: the
    # dashboard's custom-status timeline. The newest STATUS_LOG_LIMIT are kept; `status_dropped` counts
    # the older ones left out. A value longer than STATUS_TEXT_LIMIT is kept cut, with a third element
    # giving its full length, so that the row stays small however large the status.
    status_log: list[list[Any]] = field(default_factory=list)
    status_dropped: int = 0

    def record_status(self, when: str, custom_status: str | None) -> None:
        """Note the custom status at a commit, if it differs from the last value noted."""
        entry: list[Any] = [when, custom_status]
        if custom_status is not None and len(custom_status) > STATUS_TEXT_LIMIT:
            entry = [when, custom_status[:STATUS_TEXT_LIMIT], len(custom_status)]
        if self.status_log and self.status_log[-1][1:] == entry[1:]:
            return
        if not self.status_log and custom_status is None:
            return
        self.status_log.append(entry)
        if len(self.status_log) > STATUS_LOG_LIMIT:
            del self.status_log[0]
            self.status_dropped += 1

    # Ids of tasks run under retry options (every attempt), and of failed tasks a rewind runs again
    # when the replay asks for them.
    retried: set[int] = field(default_factory=set)
    rewound: set[int] = field(default_factory=set)
    # The event name of every WaitForExternalEvent the execution asked for, in order (for the console's
    # warning about an event nobody waits for; the SDK itself matches events to waits).
    waits: list[str] = field(default_factory=list)

    def take_id(self) -> int:
        task_id = self.next_id
        self.next_id += 1
        return task_id

    def is_retry_event(self, event: dict[str, Any]) -> bool:
        """A failure of a retried task or the firing of a retry timer: the SDK numbers tasks on it."""
        kind = event["EventType"]
        if kind in (EventType.TASK_FAILED, EventType.SUB_ORCHESTRATION_FAILED):
            return event.get("TaskScheduledId") in self.retry_tasks
        if kind == EventType.TIMER_FIRED:
            return event.get("TimerId") in self.retry_timers
        return False

    def to_json(self) -> dict[str, Any]:
        status = {"cs": self.status_log, "csd": self.status_dropped} if self.status_log else {}
        return status | {
            "next": self.next_id,
            "ids": self.action_ids,
            "open": {str(k): v for k, v in self.open.items()},
            "chains": {
                str(k): [
                    c.kind,
                    c.name,
                    c.input,
                    c.instance_id,
                    c.first_interval_ms,
                    c.max_attempts,
                    c.backoff,
                    c.max_interval_ms,
                    c.attempt,
                    c.version,
                ]
                for k, c in self.chains.items()
            },
            "rtasks": {str(k): v for k, v in self.retry_tasks.items()},
            "rtimers": {str(k): v for k, v in self.retry_timers.items()},
            **({"retried": sorted(self.retried)} if self.retried else {}),
            **({"rewound": sorted(self.rewound)} if self.rewound else {}),
            "waits": self.waits,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Ledger:
        if not data:
            return cls()
        return cls(
            next_id=data["next"],
            action_ids=list(data["ids"]),
            open={int(k): v for k, v in data["open"].items()},
            chains={int(k): RetryChain(*v) for k, v in data["chains"].items()},
            retry_tasks={int(k): v for k, v in data["rtasks"].items()},
            retry_timers={int(k): v for k, v in data["rtimers"].items()},
            status_log=[list(entry) for entry in data.get("cs", [])],
            status_dropped=int(data.get("csd", 0)),
            retried=set(data.get("retried", ())),
            rewound=set(data.get("rewound", ())),
            waits=list(data.get("waits", [])),  # absent in rows written before it was kept
        )
