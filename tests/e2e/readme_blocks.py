"""The README's walk-through read as data: its bash scripts, and the JSON its "what you will see" blocks show.

A shown answer is compared with what a run printed field by field, with only what differs from run to
run put aside: instance ids (32 hex digits in a run, `4c2e...` in the README, in URLs too), ISO
times, the number of polls of a wait-for-status answer and the values its polls saw before the last
one (a slow machine lets a poll catch `Tokyo` on the way to `London`).
"""

from __future__ import annotations

import json
import re
from typing import Any

from .devhost_process import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
WALK_THROUGH = README.split("## Walk-through", 1)[1].split("\n## ", 1)[0]
SECTIONS = {
    m.group(1): m.group(2) for m in re.finditer(r"### ([^\n]+)\n(.*?)(?=\n### |\Z)", WALK_THROUGH, re.S)
}
BLOCKS = {
    title: scripts[0]
    for title, text in SECTIONS.items()
    if (scripts := re.findall(r"```bash\n(.*?)```", text, re.S))
}
README_BASE = "http://localhost:7071"

_ID = re.compile(r"\b[0-9a-f]{32}\b|\b[0-9a-f]{4}\.\.\.")
_HUB = re.compile(r"([?&]taskHub=)[^&]+")
_TIME = re.compile(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z\b")


def json_values(text: str) -> list[Any]:
    """Every JSON value of a text that holds one after the other, separated by whitespace."""
    decoder, values, index = json.JSONDecoder(), [], 0
    while text[index:].strip():
        index += len(text[index:]) - len(text[index:].lstrip())
        value, index = decoder.raw_decode(text, index)
        values.append(value)
    return values


def shown_values(title: str) -> list[Any]:
    """The JSON answers the README shows under the walk-through section `title`, in order."""
    blocks = re.findall(r"```json\n(.*?)```", SECTIONS[title], re.S)
    return [value for block in blocks for value in json_values(block)]


def printed_values(stdout: str, base_url: str) -> list[Any]:
    """The JSON answers a script printed, one a line, with the run's base URL written as the README's."""
    lines = stdout.replace(base_url, README_BASE).splitlines()
    return [json.loads(line) for line in lines if line.startswith(("{", "["))]


def steady(value: Any) -> Any:
    """The value with what differs from one run to the next replaced by placeholders."""
    if isinstance(value, str):
        return _HUB.sub(r"\1<hub>", _TIME.sub("<time>", _ID.sub("<id>", value)))
    if isinstance(value, list):
        return [steady(item) for item in value]
    if not isinstance(value, dict):
        return value
    result = {key: steady(item) for key, item in value.items()}
    if "polls" in value and "observed" in value:
        result["polls"] = "<count>" if isinstance(value["polls"], int) else value["polls"]
        if isinstance(value["observed"], list):
            result["observed"] = result["observed"][-1:]
    return result


def _forms(shown: Any) -> list[Any]:
    """The shown answer, and the other form the README says it may take.

    A wait-for-status answer that reached its target can come while the instance is still Running,
    its output not yet set (see "Waiting for a custom status").
    """
    forms = [steady(shown)]
    if isinstance(shown, dict) and "polls" in shown and "error" not in shown and "runtimeStatus" in shown:
        forms.append(steady({**shown, "runtimeStatus": "Running", "output": None}))
    return forms


def unmatched(shown: list[Any], printed: list[Any]) -> list[Any]:
    """The shown answers that the printed ones do not hold, in order, field for field."""
    missing, position = [], 0
    printed_steady = [steady(value) for value in printed]
    for value in shown:
        forms = _forms(value)
        found = next(
            (index for index in range(position, len(printed_steady)) if printed_steady[index] in forms), None
        )
        if found is None:
            missing.append(value)
        else:
            position = found + 1
    return missing
