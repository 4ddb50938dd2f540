"""requests.http holds every request of the README walk-through, and every one of them works on devhost."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from devhost.process import DevhostProcess

from .http_requests import comparable_http_file, parse_http_file, resolve, walk_through_requests
from .packaging import ROOT

REQUESTS_HTTP = (ROOT / "requests.http").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_requests_http_has_every_walk_through_request_in_order() -> None:
    walk_through = walk_through_requests(README)
    in_file = comparable_http_file(REQUESTS_HTTP)

    assert len(walk_through) > 20
    missing = [request for request in walk_through if request not in in_file]
    extra = [request for request in in_file if request not in walk_through]
    assert (missing, extra) == ([], [])
    assert in_file == walk_through


def test_requests_http_targets_localhost_and_leaves_the_keys_empty() -> None:
    variables, requests = parse_http_file(REQUESTS_HTTP)

    assert variables == {"base": "http://localhost:7071", "code": "", "systemKey": ""}
    for request in requests:
        if "/api/" in request.url:
            assert request.headers.get("x-functions-key") == "{{code}}", request.title
        else:
            assert re.search(r"[?&]code=\{\{systemKey\}\}$", request.url), request.title
        if request.body:
            assert request.headers.get("Content-Type") == "application/json", request.title


@pytest.fixture(scope="module")
def devhost(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevhostProcess]:
    work = tmp_path_factory.mktemp("requests-http")
    process = DevhostProcess(work, "memory", app=ROOT).start()
    yield process
    process.stop()


def send(method: str, url: str, headers: dict[str, str], body: str) -> tuple[int, Any]:
    request = urllib.request.Request(
        url, data=body.encode() if body else None, method=method, headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    return status, json.loads(text) if text.strip() else None


def test_every_request_of_requests_http_answers_on_devhost(devhost: DevhostProcess) -> None:
    variables, requests = parse_http_file(REQUESTS_HTTP)
    variables["base"] = devhost.url
    answers: dict[str, Any] = {}
    statuses = []
    for request in requests:
        url = resolve(request.url, variables, answers)
        headers = {key: resolve(value, variables, answers) for key, value in request.headers.items()}
        status, payload = send(request.method, url, headers, resolve(request.body, variables, answers))
        statuses.append((request.url, status))
        if request.name:
            answers[request.name] = payload

    # The walk-through's one deliberate error answer: 409 for a target the instance never reaches.
    errors = [(url, status) for url, status in statuses if status >= 400]
    assert errors == [("{{base}}/api/orchestrators/E1_HelloSequence/wait-for-status?target=Berlin", 409)]


def test_resolve_fills_references_from_named_answers() -> None:
    answers = {"start": {"id": "abc"}}
    text = "{{base}}/instances/{{start.response.body.$.id}}?code={{systemKey}}"

    assert resolve(text, {"base": "http://h", "systemKey": ""}, answers) == "http://h/instances/abc?code="
    with pytest.raises(KeyError):
        resolve("{{later.response.body.$.id}}", {}, answers)
