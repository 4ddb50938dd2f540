"""The README's walk-through, run verbatim in bash against devhost (only the base URL differs)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from .devhost_process import DevhostProcess
from .readme_blocks import BLOCKS, printed_values, shown_values, unmatched

# What each script prints besides the JSON answers its "what you will see" shows: HTTP status lines.
EXPECTED = {
    "Progress: E1_HelloSequence": [],
    "Waiting for a custom status: HttpStartAndWait": ["HTTP 409", "reached the target on", "HTTP 202"],
    "Per-user output: CityRecommender": [],
    "Instructions to the client: ReserveTicket": [],
    "A status read while running: SetStatusTest": ["HTTP 202", "HTTP 200"],
    "Listing, terminating and purging instances": ["HTTP 202"],
}


def check_waiting_answers(printed: list[Any]) -> None:
    """Every wait-for-status answer says what its polls saw, consistently with its custom status."""
    answers = [answer for answer in printed if "polls" in answer]
    # London, Oslo, Berlin (409), the 202; the SetStatusTest answer goes to python3, which prints its id.
    assert len(answers) == 4, printed
    for answer in answers:
        assert isinstance(answer["polls"], int) and answer["polls"] >= 1, answer
        assert isinstance(answer["observed"], list) and len(answer["observed"]) <= answer["polls"], answer
        assert None not in answer["observed"], answer
        assert all(a != b for a, b in zip(answer["observed"], answer["observed"][1:], strict=False)), answer
    london, oslo, berlin, timed_out = answers
    for answer in (london, oslo, berlin):
        assert answer["observed"][-1] == answer["customStatus"], answer
    assert "Berlin" not in berlin["observed"]
    assert "not observed while polling" in berlin["error"]
    assert timed_out["observed"] == [{"nextActions": ["A", "B", "C"], "foo": 2}]
    assert {"id", "statusQueryGetUri", "sendEventPostUri", "terminatePostUri"} <= set(timed_out)


# Further checks of a script's output, beyond the substrings above.
CHECKS: dict[str, Callable[[list[Any]], None]] = {
    "Waiting for a custom status: HttpStartAndWait": check_waiting_answers,
}


def test_every_walk_through_script_is_checked() -> None:
    assert set(BLOCKS) == set(EXPECTED)
    assert [title for title in BLOCKS if not shown_values(title)] == []


@pytest.mark.parametrize("title", sorted(EXPECTED))
def test_walk_through_script(devhost: DevhostProcess, title: str) -> None:
    script = BLOCKS[title].replace("http://localhost:7071", devhost.url)
    run = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stdout + run.stderr
    for expected in EXPECTED[title]:
        assert expected in run.stdout, f"{expected!r} missing from:\n{run.stdout}"
    printed = printed_values(run.stdout, devhost.url)
    # Every answer the README shows, field for field, in the order the script prints them.
    assert unmatched(shown_values(title), printed) == [], run.stdout
    if title in CHECKS:
        CHECKS[title](printed)


RUNNING = {
    "name": "SetStatusTest",
    "instanceId": "5be0...",
    "runtimeStatus": "Running",
    "input": None,
    "customStatus": {"nextActions": ["A", "B", "C"], "foo": 2},
    "output": None,
    "createdTime": "2024-05-01T12:00:00Z",
    "lastUpdatedTime": "2024-05-01T12:00:00Z",
}
PRINTED = {
    **RUNNING,
    "instanceId": "c8a47176083d4c0cbc21b027f0046eab",
    "createdTime": "2026-12-04T20:27:20Z",
    "lastUpdatedTime": "2026-12-04T20:27:21Z",
}


def test_a_shown_answer_matches_a_run_whatever_its_ids_and_times() -> None:
    assert unmatched([RUNNING], [{"instancesDeleted": 1}, PRINTED]) == []
    assert unmatched([RUNNING, {"instancesDeleted": 1}], [PRINTED, {"instancesDeleted": 1}]) == []


@pytest.mark.parametrize(
    "printed",
    [
        {**PRINTED, "input": '{"timeout": 5}'},  # the run shows the JSON-encoded input, the README null
        {**PRINTED, "rewindPostUri": "http://localhost:7071/x"},  # a key the README leaves out
        {key: value for key, value in PRINTED.items() if key != "output"},  # a key the run does not print
        {**PRINTED, "customStatus": {"nextActions": ["A", "B"], "foo": 2}},
    ],
)
def test_a_shown_answer_that_differs_in_any_field_is_reported(printed: dict[str, Any]) -> None:
    assert unmatched([RUNNING], [printed]) == [RUNNING]


def test_shown_answers_must_come_in_the_order_printed() -> None:
    assert unmatched([{"instancesDeleted": 1}, RUNNING], [PRINTED, {"instancesDeleted": 1}]) == [RUNNING]


def test_a_wait_answer_may_come_while_running_and_after_other_polled_values() -> None:
    shown = {
        "instanceId": "9f1d...",
        "runtimeStatus": "Completed",
        "customStatus": "London",
        "output": ["Hello Tokyo!"],
        "observed": ["London"],
        "polls": 2,
    }
    early = {
        **shown,
        "instanceId": "a" * 32,
        "runtimeStatus": "Running",
        "output": None,
        "observed": ["Seattle", "London"],
        "polls": 5,
    }

    assert unmatched([shown], [early]) == []
    assert unmatched([shown], [{**early, "customStatus": "Seattle"}]) == [shown]
