"""The README's walk-through, run verbatim in bash against devhost (only the base URL differs)."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from .devhost_process import ROOT, DevhostProcess

README = (ROOT / "README.md").read_text()
WALK_THROUGH = README.split("## Walk-through", 1)[1].split("\n## ", 1)[0]
BLOCKS = {
    m.group(1): m.group(2)
    for m in re.finditer(r"### ([^\n]+)\n(?:(?!### ).)*?```bash\n(.*?)```", WALK_THROUGH, re.S)
}
SECTIONS = {
    m.group(1): m.group(2) for m in re.finditer(r"### ([^\n]+)\n(.*?)(?=\n### |\Z)", WALK_THROUGH, re.S)
}
# What each scenario must print; the README's own "what you will see" for that scenario.
EXPECTED = {
    "Progress: E1_HelloSequence": ['"customStatus": "London"', '"customStatus": "Lisbon"', "Hello Lisbon!"],
    "Waiting for a custom status: HttpStartAndWait": [
        '"customStatus": "London"',
        '"customStatus": "Oslo"',
        "HTTP 409",
        '"target": "Berlin"',
        "reached the target on",
        "HTTP 202",
    ],
    "Per-user output: CityRecommender": [
        '"recommendedCities": ["Seattle", "London"]',
        "not one of the recommended cities",
        "Enjoy London in Summer.",
        "expects a choice of 1, 2 or 3",
    ],
    "Instructions to the client: ReserveTicket": [
        '"discountTimeout": 60',
        "Thank you for confirming your booking.",
        "not confirmed on time",
    ],
    "A status read while running: SetStatusTest": [
        '"nextActions": ["A", "B", "C"]',
        "HTTP 202",
        '"proceeded": true',
        "HTTP 200",
    ],
}


def printed_objects(stdout: str) -> list[dict[str, Any]]:
    """Return the JSON objects a script printed, one per line (curl answers end with echo or -w)."""
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def shown_objects(title: str) -> list[dict[str, Any]]:
    """Return the JSON answers the README shows under the walk-through section `title`."""
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", SECTIONS[title], re.S)]


def check_waiting_answers(stdout: str) -> None:
    """Every wait-for-status answer says what its polls saw, and the README shows those answers."""
    title = "Waiting for a custom status: HttpStartAndWait"
    answers = [answer for answer in printed_objects(stdout) if "polls" in answer]
    # London, Oslo, Berlin (409), the 202; the SetStatusTest answer goes to python3, which prints its id.
    assert len(answers) == 4, stdout
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
    shown = shown_objects(title)
    assert len(shown) == 2
    for printed, example in zip((london, berlin), shown, strict=True):
        # Same fields; the same values where a run cannot change them (ids, timing and poll counts can).
        assert set(printed) == set(example), (printed, example)
        stable = {"error", "target", "customStatus"}
        assert {k: printed[k] for k in stable & set(printed)} == {
            k: example[k] for k in stable & set(example)
        }
        assert printed["observed"][-1] == example["observed"][-1]
    shown_tail = re.search(r'followed by `("observed": .*?, "polls": \d+)`', SECTIONS[title])
    assert shown_tail, "the README no longer shows what the 202 answer adds"
    assert json.loads("{" + shown_tail.group(1) + "}")["observed"] == timed_out["observed"]


# Further checks of a script's output, beyond the substrings above.
CHECKS: dict[str, Callable[[str], None]] = {
    "Waiting for a custom status: HttpStartAndWait": check_waiting_answers,
}


def test_every_walk_through_script_is_checked() -> None:
    assert set(BLOCKS) == set(EXPECTED)


@pytest.mark.parametrize("title", sorted(EXPECTED))
def test_walk_through_script(devhost: DevhostProcess, title: str) -> None:
    script = BLOCKS[title].replace("http://localhost:7071", devhost.url)
    run = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stdout + run.stderr
    for expected in EXPECTED[title]:
        assert expected in run.stdout, f"{expected!r} missing from:\n{run.stdout}"
    if title in CHECKS:
        CHECKS[title](run.stdout)
