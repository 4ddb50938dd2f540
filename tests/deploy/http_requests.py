"""requests.http (REST Client format) and the README walk-through's curl commands, read as requests.

Both are reduced to the same comparable form: method, path and query with each value read from an
earlier answer (an instance id, a creation time) as {id}, query without the key (`code`), and the
JSON body. requests.http is also runnable here: file variables and
`{{name.response.body.$.field}}` references to earlier named answers are resolved as REST Client does.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

_VARIABLE = re.compile(r"^@(\w+)\s*=\s*(.*)$")
_REFERENCE = re.compile(r"\{\{(\w+)\.response\.body\.\$\.(\w+)\}\}")
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


@dataclass(frozen=True, slots=True)
class Comparable:
    """A request reduced to what the walk-through and requests.http must agree on."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    body: Any

    @classmethod
    def of(
        cls, method: str, url: str, body: Any, extra_query: list[tuple[str, str]] | None = None
    ) -> Comparable:
        parts = urlsplit(url)
        pairs = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "code"]
        return cls(method, parts.path, tuple(sorted(pairs + (extra_query or []))), body)


@dataclass(slots=True)
class HttpFileRequest:
    """One request of an .http file: `url` and `body` still hold {{...}} placeholders."""

    title: str
    name: str | None
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""


def parse_http_file(text: str) -> tuple[dict[str, str], list[HttpFileRequest]]:
    """Return the file variables and the requests of a REST Client file, in order.

    Raises ValueError for a block without a request line.
    """
    blocks = re.split(r"^###[^\n]*\n?", text, flags=re.M)
    titles = re.findall(r"^###\s*([^\n]*)", text, flags=re.M)
    variables = {}
    for line in blocks[0].splitlines():
        if match := _VARIABLE.match(line.strip()):
            variables[match.group(1)] = match.group(2).strip()
    requests = []
    for title, block in zip(titles, blocks[1:], strict=True):
        name = None
        lines = block.splitlines()
        while lines and (not lines[0].strip() or lines[0].lstrip().startswith(("#", "//"))):
            if match := re.match(r"^\s*(?:#|//)\s*@name\s+(\w+)", lines[0]):
                name = match.group(1)
            lines.pop(0)
        if not lines:
            raise ValueError(f"request block {title!r} has no request line")
        method, url = lines.pop(0).split()[:2]
        headers = {}
        while lines and lines[0].strip():
            key, _, value = lines.pop(0).partition(":")
            headers[key.strip()] = value.strip()
        body = "\n".join(lines).strip()
        requests.append(HttpFileRequest(title.strip(), name, method, url, headers, body))
    return variables, requests


def resolve(text: str, variables: dict[str, str], answers: dict[str, Any]) -> str:
    """Fill {{name.response.body.$.field}} from earlier answers and {{variable}} from file variables.

    Raises KeyError for an unknown variable or a reference to a request not answered yet.
    """
    text = _REFERENCE.sub(lambda m: str(answers[m.group(1)][m.group(2)]), text)
    return _PLACEHOLDER.sub(lambda m: variables[m.group(1)], text)


def comparable_http_file(text: str) -> list[Comparable]:
    _, requests = parse_http_file(text)
    result = []
    for request in requests:
        url = _REFERENCE.sub("{id}", request.url).replace("{{base}}", "")
        body = json.loads(request.body) if request.body else None
        result.append(Comparable.of(request.method, url, body))
    return result


def _curl_commands(script: str) -> list[str]:
    commands = []
    for line in script.splitlines():
        start = line.find("curl ")
        if start < 0 or line.lstrip().startswith("#"):
            continue
        command = line[start:]
        # `$(curl ... | python3 ...)`: the request is what comes before the pipe.
        commands.append(command.split(" | ", 1)[0])
    return commands


def comparable_curl(command: str) -> Comparable:
    """One README curl command as a Comparable; raises ValueError for options it does not know."""
    args = shlex.split(command)[1:]
    method, url, body, get_query = "GET", "", None, False
    query: list[str] = []
    takes_value = {"-H", "-w"}
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "-X":
            method, index = args[index + 1], index + 1
        elif arg == "-d":
            body, index = json.loads(args[index + 1]), index + 1
        elif arg == "--data-urlencode":
            query.append(args[index + 1])
            index += 1
        elif arg == "-G":
            get_query = True
        elif arg in takes_value:
            index += 1
        elif arg == "-s":
            pass
        elif arg.startswith("$base"):
            url = arg.removeprefix("$base")
        else:
            raise ValueError(f"unexpected curl argument {arg!r} in {command!r}")
        index += 1
    if query and not get_query:
        raise ValueError(f"--data-urlencode without -G: {command!r}")
    extra = [(key, value) for key, _, value in (item.partition("=") for item in query)]
    return Comparable.of(method, re.sub(r"\$\w+", "{id}", url), body, extra)


def walk_through_requests(readme: str) -> list[Comparable]:
    """Every curl request of the README's Walk-through section, in order."""
    section = readme.split("## Walk-through", 1)[1].split("\n## ", 1)[0]
    scripts = re.findall(r"```bash\n(.*?)```", section, re.S)
    return [comparable_curl(command) for script in scripts for command in _curl_commands(script)]
