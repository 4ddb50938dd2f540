"""The crash and load verdicts checked on their own: histories and end states made up to be wrong.

A checker that never flags anything would let every crash and load run pass; here each is fed a
doubled step, a lost instance, a wrong output and a missing activity run and must name them.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from .workload import (
    Expected,
    Tally,
    Verdict,
    Workload,
    check_histories,
    check_ledger,
    check_outcomes,
    doubled_steps,
)

Event = dict[str, Any]

# One of each step doubled_steps counts, recorded once: the history of an instance that ran right.
STARTED: Event = {"EventType": 0, "EventId": -1, "Name": "LedgerFlow"}
SCHEDULED: Event = {"EventType": 4, "EventId": 0, "Name": "Fan"}
SUB_CREATED: Event = {"EventType": 7, "EventId": 1, "Name": "Child"}
TIMER_CREATED: Event = {"EventType": 10, "EventId": 2}
COMPLETED: Event = {"EventType": 5, "EventId": -1, "TaskScheduledId": 0}
SUB_COMPLETED: Event = {"EventType": 8, "EventId": -1, "TaskScheduledId": 1}
FIRED: Event = {"EventType": 11, "EventId": -1, "TimerId": 2}
RAISED: Event = {"EventType": 15, "EventId": -1, "Name": "Go"}
ENDED: Event = {"EventType": 1, "EventId": -1}
EPISODE: Event = {"EventType": 12, "EventId": -1}
CLEAN: list[Event] = [
    STARTED,
    EPISODE,
    SCHEDULED,
    SUB_CREATED,
    TIMER_CREATED,
    EPISODE,
    COMPLETED,
    SUB_COMPLETED,
]
CLEAN += [FIRED, RAISED, EPISODE, ENDED]


def test_a_history_that_ran_right_has_no_doubled_step() -> None:
    assert doubled_steps("i", CLEAN, Counter({"Go": 1})) == []


@pytest.mark.parametrize(
    ("step", "problem"),
    [
        (STARTED, "i: ExecutionStarted None recorded 2 times (at most 1)"),
        (SCHEDULED, "i: TaskScheduled 0 recorded 2 times (at most 1)"),
        (SUB_CREATED, "i: SubOrchestrationInstanceCreated 1 recorded 2 times (at most 1)"),
        (TIMER_CREATED, "i: TimerCreated 2 recorded 2 times (at most 1)"),
        (COMPLETED, "i: completion 0 recorded 2 times (at most 1)"),
        (SUB_COMPLETED, "i: completion 1 recorded 2 times (at most 1)"),
        (FIRED, "i: TimerFired 2 recorded 2 times (at most 1)"),
        (RAISED, "i: EventRaised Go recorded 2 times (at most 1)"),
        (ENDED, "i: ExecutionCompleted None recorded 2 times (at most 1)"),
    ],
)
def test_every_step_recorded_twice_is_flagged(step: dict[str, Any], problem: str) -> None:
    at = CLEAN.index(step)
    history = [*CLEAN[: at + 1], step, *CLEAN[at + 1 :]]
    assert doubled_steps("i", history, Counter({"Go": 1})) == [problem]


def test_an_event_sent_twice_may_be_recorded_twice_but_not_three_times() -> None:
    twice = [*CLEAN[:-1], RAISED, ENDED]
    assert doubled_steps("i", twice, Counter({"Go": 2})) == []
    assert doubled_steps("i", [*twice[:-1], RAISED, ENDED], Counter({"Go": 2})) == [
        "i: EventRaised Go recorded 3 times (at most 2)"
    ]


def test_an_event_no_client_sent_is_flagged() -> None:
    assert doubled_steps("i", CLEAN, Counter()) == ["i: EventRaised Go recorded 1 times (at most 0)"]


def test_a_completion_of_a_task_never_scheduled_is_flagged() -> None:
    history = [e for e in CLEAN if e is not SCHEDULED]
    assert doubled_steps("i", history, Counter({"Go": 1})) == ["i: completions of tasks never scheduled: [0]"]


def _workload(**expected: Expected) -> Workload:
    workload = Workload(random.Random(0), Tally())
    workload.expected.update(expected)
    return workload


def _status(name: str, output: Any, custom: Any, given: Any = None, runtime: str = "Completed") -> dict:
    return {"name": name, "input": given, "output": output, "customStatus": custom, "runtimeStatus": runtime}


HELLO = Expected("E1_HelloSequence", ["Hello Oslo!"], "Oslo")


def test_histories_are_checked_with_the_events_sent_to_each_instance() -> None:
    workload = _workload(a=Expected("LedgerFlow", None, None, Counter({"Go": 1})))
    verdict = Verdict()
    check_histories(workload, {"a": CLEAN, "b": [STARTED, STARTED]}, verdict)
    # "a" was sent Go once; "b" (a start whose answer was lost) was sent nothing.
    assert verdict.doubled == ["b: ExecutionStarted None recorded 2 times (at most 1)"]
    assert (verdict.histories, verdict.ok) == (2, False)


def test_end_states_that_match_pass() -> None:
    verdict = Verdict()
    statuses = {
        "a": _status("E1_HelloSequence", ["Hello Oslo!"], "Oslo"),
        # Unknown to the clients (its start answer was lost): judged from its input.
        "b": _status("E1_HelloSequence", ["Hello Lima!"], "Lima", given=["Lima"]),
    }
    check_outcomes(_workload(a=HELLO), statuses, verdict)
    assert (verdict.instances, verdict.lost, verdict.wrong, verdict.ok) == (2, [], [], True)


def test_a_lost_instance_is_flagged() -> None:
    verdict = Verdict()
    check_outcomes(_workload(a=HELLO), {}, verdict)
    assert verdict.lost == ["a (E1_HelloSequence) is not in the store"]
    assert not verdict.ok


@pytest.mark.parametrize(
    ("status", "problem"),
    [
        (
            _status("E1_HelloSequence", ["Hello Lima!"], "Oslo"),
            "a: Completed output=['Hello Lima!'], expected ['Hello Oslo!']",
        ),
        (
            _status("E1_HelloSequence", ["Hello Oslo!"], "Lima"),
            "a: customStatus='Lima', expected 'Oslo'",
        ),
        (
            _status("E1_HelloSequence", ["Hello Oslo!"], "Oslo", runtime="Running"),
            "a: Running output=['Hello Oslo!'], expected ['Hello Oslo!']",
        ),
    ],
)
def test_a_wrong_end_state_is_flagged(status: dict[str, Any], problem: str) -> None:
    verdict = Verdict()
    check_outcomes(_workload(a=HELLO), {"a": status}, verdict)
    assert verdict.wrong == [problem]
    assert not verdict.ok


def test_an_instance_nobody_started_is_flagged() -> None:
    verdict = Verdict()
    check_outcomes(_workload(), {"x": _status("SetStatusTest", None, None, given={"timeout": 3600})}, verdict)
    assert verdict.wrong == ["x: unexpected instance SetStatusTest {'timeout': 3600}"]


def test_an_activity_that_never_ran_is_lost_and_runs_beyond_one_are_counted(tmp_path: Path) -> None:
    workload = _workload()
    workload.ledger_instances = {"l1": 2}
    ledger = tmp_path / "ledger.txt"
    ledger.write_text("l1/fan/0\nl1/fan/0\nl1/seq/0\nl1/seq/1\n")
    verdict = Verdict()
    check_ledger(workload, ledger, verdict)
    assert verdict.lost == ["l1: activities never ran: ['l1/fan/1']"]
    assert (verdict.activity_runs, verdict.activity_reexecutions) == (4, 1)


def test_no_ledger_at_all_loses_every_activity(tmp_path: Path) -> None:
    workload = _workload()
    workload.ledger_instances = {"l1": 1}
    verdict = Verdict()
    check_ledger(workload, tmp_path / "missing.txt", verdict)
    assert verdict.lost == ["l1: activities never ran: ['l1/fan/0', 'l1/seq/0', 'l1/seq/1']"]
