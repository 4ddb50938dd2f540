"""The entity checks of the crash and load suites, fed end states made up to be wrong."""

from __future__ import annotations

import json
from collections import Counter

from .entity_workload import EntityLedger, check_entities
from .workload import Verdict, doubled_steps

TALLY = {"name": "EntityTally", "input": {"key": "a", "id": "entity-1"}}


def ledger() -> EntityLedger:
    return EntityLedger(acknowledged={"signal-1": "a"}, uncertain={"signal-2": "b"})


def verdict_for(applied_a: dict[str, int], applied_b: dict[str, int] | None = None) -> Verdict:
    states = {"a": {"count": sum(applied_a.values()), "applied": applied_a}}
    if applied_b is not None:
        states["b"] = {"count": sum(applied_b.values()), "applied": applied_b}
    verdict = Verdict()
    check_entities(ledger(), states, {"entity-1": TALLY}, verdict)
    return verdict


def test_every_operation_applied_once_passes() -> None:
    verdict = verdict_for({"signal-1": 1, "entity-1/s": 1, "entity-1/c": 1}, {})
    assert verdict.ok and verdict.entity_operations == 3 and verdict.entity_acknowledged == 3


def test_a_lost_an_applied_twice_and_an_uncertain_twice_operation_are_named() -> None:
    verdict = verdict_for({"signal-1": 2, "entity-1/s": 1}, {"signal-2": 2})
    assert verdict.lost == ["entity Tally/a: operation entity-1/c never applied"]
    assert sorted(verdict.doubled) == [
        "entity Tally/a: operation signal-1 applied 2 times",
        "entity Tally/b: operation signal-2 applied 2 times",
    ]


def test_a_count_that_disagrees_with_the_operations_applied_is_wrong() -> None:
    verdict = Verdict()
    states = {"a": {"count": 5, "applied": {"signal-1": 1, "entity-1/s": 1, "entity-1/c": 1}}}
    check_entities(ledger(), states, {"entity-1": TALLY}, verdict)
    assert verdict.wrong == ["entity Tally/a: count 5 != operations applied"]


def test_an_entity_answer_recorded_twice_is_a_doubled_step() -> None:
    sent = {"EventType": 14, "EventId": 0, "Input": json.dumps({"id": "req-1"})}
    answer = {"EventType": 15, "EventId": -1, "Name": "req-1"}
    assert doubled_steps("i", [sent, answer], Counter()) == []
    assert doubled_steps("i", [sent, answer, answer], Counter()) == [
        "i: EntityAnswer req-1 recorded 2 times (at most 1)"
    ]
    assert doubled_steps("i", [sent, sent], Counter()) == ["i: EventSent 0 recorded 2 times (at most 1)"]
