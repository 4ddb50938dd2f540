"""The soak's own checks fed made-up cases: a doubled step in a history view, memory or descriptors
beyond the bound. A check that never flags anything would let every soak pass."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections import Counter
from typing import Any

import pytest

from devhost.api.history_view import history_view

from ..azurite import connection_string
from .crash import StoreSpec
from .processes import Sample, descriptors
from .soak import doubled_in_view
from .soak_report import SoakReport
from .workload import Tally, Verdict

T0, T1, T2 = "2026-12-04T10:00:00.0000000Z", "2026-12-04T10:00:01.0000000Z", "2026-12-04T10:00:02.0000000Z"
STARTED = {"EventType": 0, "EventId": -1, "Name": "LedgerFlow", "Timestamp": T0, "Input": "{}"}
FAN = [
    {"EventType": 4, "EventId": n, "Name": "Record", "Timestamp": T0, "Input": json.dumps(f"i/fan/{n}")}
    for n in range(2)
]
DONE = [
    {"EventType": 5, "EventId": -1, "TaskScheduledId": n, "Timestamp": T1, "Result": "1"} for n in range(2)
]
TIMER = {"EventType": 10, "EventId": 2, "Timestamp": T1, "FireAt": T2}
FIRED = {"EventType": 11, "EventId": -1, "TimerId": 2, "Timestamp": T2, "FireAt": T2}
RAISED = {"EventType": 15, "EventId": -1, "Name": "Go", "Timestamp": T2, "Input": "1"}
ENDED = {"EventType": 1, "EventId": -1, "Timestamp": T2, "OrchestrationStatus": 1, "Result": "{}"}
CLEAN: list[dict[str, Any]] = [STARTED, *FAN, *DONE, TIMER, FIRED, RAISED, ENDED]


def view(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The history as GET instances/{id}?showHistory=true&showHistoryOutput=true shows it."""
    return history_view([json.dumps(e) for e in events], True, True)


def test_a_fan_out_that_ran_right_shows_no_doubled_step() -> None:
    # Both tasks were scheduled and answered at the same moments: only their inputs tell them apart.
    assert doubled_in_view("i", view(CLEAN), Counter({"Go": 1})) == []


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        (STARTED, "ExecutionStarted"),
        (ENDED, "ExecutionCompleted"),
        (DONE[0], "completion Record"),
        (FIRED, "TimerFired"),
        (RAISED, "EventRaised Go"),
    ],
)
def test_each_doubled_step_is_named(extra: dict[str, Any], named: str) -> None:
    problems = doubled_in_view("i", view([*CLEAN, extra]), Counter({"Go": 1}))
    assert len(problems) == 1 and named in problems[0], problems


def test_an_event_sent_twice_may_be_shown_twice() -> None:
    assert doubled_in_view("i", view([*CLEAN, RAISED]), Counter({"Go": 2})) == []


def report(idle: list[Sample]) -> SoakReport:
    return SoakReport(
        verdict=Verdict(),
        tally=Tally(),
        seed=1,
        store="sqlite",
        workers=2,
        seconds=1.0,
        purged=0,
        samples=idle,
        idle=idle,
        rss_bound=25.0,
        fd_bound=4,
        pooled_bound=64,
    )


def reading(rss: float, fds: int, pooled: int = 0) -> Sample:
    return Sample(
        at=0.0,
        host_rss_mb=rss,
        children_rss_mb=100.0,
        host_fds=fds + pooled,
        children_fds=30,
        children=3,
        host_pooled=pooled,
    )


@pytest.mark.parametrize(
    ("end", "ok"),
    [
        (reading(75.0, 29), True),  # at both bounds
        (reading(75.5, 25), False),  # memory over
        (reading(50.0, 30), False),  # descriptors over
        (reading(50.0, 25, pooled=40), True),  # a client's pool grew: not a leak
        (reading(50.0, 30, pooled=3), False),  # the pool stayed, other descriptors grew
        (reading(50.0, 25, pooled=65), False),  # more pooled connections than the pools hold
    ],
)
def test_growth_beyond_a_bound_fails_the_soak(end: Sample, ok: bool) -> None:
    soak = report([reading(50.0, 25), end])
    assert soak.ok is ok, soak.summary()
    assert ("verdict=ok" in soak.summary()) is ok


def test_a_soak_without_its_two_idle_readings_fails() -> None:
    assert not report([reading(50.0, 25)]).ok


def test_the_store_ports_come_from_the_connection_string() -> None:
    spec = StoreSpec(
        "azure", connection_string({"Blob": "http://127.0.0.1:41001", "Table": "http://127.0.0.1:41003"})
    )
    assert spec.ports() == {41001, 41003}
    assert StoreSpec("sqlite").ports() == frozenset()


LISTENER = (  # a store stand-in in another process: listens, prints its port, never accepts
    "import socket, time; s = socket.create_server(('127.0.0.1', 0)); "
    "print(s.getsockname()[1], flush=True); time.sleep(60)"
)


def test_pooled_connections_are_counted_from_proc() -> None:
    def pooled(ports: frozenset[int] = frozenset()) -> int:
        counts = descriptors(os.getpid(), ports)
        assert counts is not None
        return counts[1]

    # Deltas: earlier tests in this process may have left connections of their own.
    with subprocess.Popen([sys.executable, "-c", LISTENER], stdout=subprocess.PIPE, text=True) as store:
        try:
            assert store.stdout is not None
            address = ("127.0.0.1", int(store.stdout.readline()))
            ports = frozenset({address[1]})
            base = pooled(ports)
            with socket.create_connection(address), socket.create_connection(address):
                assert pooled(ports) == base + 2
                assert pooled() == base  # to a port not named
            with socket.create_server(("127.0.0.1", 0)) as own:
                assert pooled(ports) == base  # listening is not a connection
                with socket.create_connection(own.getsockname()):
                    served, _ = own.accept()  # this process holds both ends of a call to itself
                    with served:
                        assert pooled(ports) == base + 2
        finally:
            store.kill()
