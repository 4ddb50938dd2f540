"""The README's walk-through, run verbatim in bash against devhost (only the base URL differs)."""

from __future__ import annotations

import re
import subprocess

import pytest

from .devhost_process import ROOT, DevhostProcess

README = (ROOT / "README.md").read_text()
WALK_THROUGH = README.split("## Walk-through", 1)[1].split("\n## ", 1)[0]
BLOCKS = {
    m.group(1): m.group(2)
    for m in re.finditer(r"### ([^\n]+)\n(?:(?!### ).)*?```bash\n(.*?)```", WALK_THROUGH, re.S)
}
# What each scenario must print; the README's own "what you will see" for that scenario.
EXPECTED = {
    "Progress: E1_HelloSequence": ['"customStatus": "London"', '"customStatus": "Lisbon"', "Hello Lisbon!"],
    "Waiting for a custom status: HttpStartAndWait": [
        '"customStatus": "London"',
        '"customStatus": "Oslo"',
        "HTTP 409",
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
