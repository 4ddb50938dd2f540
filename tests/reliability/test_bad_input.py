"""Bad input: every endpoint gets malformed, mistyped, huge and odd requests; none may hurt the host.

Requests are generated with hypothesis from the OpenAPI description devhost serves: each operation
gets odd path values (quotes, slashes, unicode, control characters, very long ids, ids of real
instances), odd query values and odd bodies (malformed or deeply nested JSON, wrong types). For each:
no unhandled error (500 "Something went wrong"), a JSON body on every 4xx, the host still answers, and
a request that was refused left the store exactly as it was (every instance and history through the
API, and on SQLite every row of the file: `store_state.py`). Fixed examples cover the rest: bodies over
the size limit, a custom status over 16 KB, activity inputs and outputs that cannot be serialised.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devhost.process import DevhostProcess

from .probe import UNHANDLED, WEBHOOKS, Answer, segment, send, settle
from .store_state import store_state

EXAMPLES = 150
_PARAM = re.compile(r"\{([A-Za-z_]+)\}")
ODD = [
    "",
    " ",
    "'",
    '"',
    "' OR '1'='1",
    '"; DROP TABLE instances; --',
    "..",
    "../..",
    "a/b",
    "a\\b",
    "%2F",
    "#",
    "?",
    "@entity",
    "x" * 257,
    "é€😀",
    "\u202e",
    "\x00",
    "\x1f",
    "\x7f",
    "\n",
    "\ud800",
    "a b",
    "%00",
    "null",
    "NaN",
    "Infinity",
    "[]",
    "{}",
    "$",
    "*",
    "*)(|(x=*",
    "\\u0000",
]
KNOWN_IDS = ["bad-done", "bad-waiting", "bad-failed"]
NAMES = [
    "E1_HelloSequence",
    "SetStatusTest",
    "CityRecommender",
    "ReserveTicket",
    "LedgerFlow",
    "Record",
    "HttpStart",
    "NoSuchFunction",
]


def texts() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(ODD), st.text(max_size=40), st.text(min_size=250, max_size=600))


def bodies() -> st.SearchStrategy[bytes | None]:
    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
        max_leaves=10,
    )
    return st.one_of(
        st.none(),
        st.binary(max_size=200),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.sampled_from(
            [
                b"{",
                b'{"a": ',
                b"[1,",
                b"\xff\xfe",
                b'"\\ud800"',
                b"nul",
                b"1e999999",
                b"[" * 100_000,
                b'{"a":' * 50_000,
                b'"' + b"x" * 200_000 + b'"',
            ]
        ),
    )


def webhook_operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, item in document["paths"].items() for method, op in item.items()]


def check_answer(answer: Answer, what: str) -> None:
    """No unhandled error, and every error answer is JSON saying what was wrong."""
    text = answer.body.decode("utf-8", "replace")
    assert UNHANDLED not in text, f"{what}: unhandled error {answer.status} {text[:300]}"
    if answer.status >= 400:
        assert answer.content_type == "application/json", (
            f"{what}: {answer.status} {answer.content_type} {text[:200]}"
        )
        body = answer.json()
        # An object with a Message, or, where the extension answers so (a refused rewind or purge: the
        # SDK raises such a string as it is), a JSON string saying why.
        assert isinstance(body, (dict, str)) and body, f"{what}: {text[:200]}"


def fill(template: str, values: dict[str, str]) -> str:
    return _PARAM.sub(lambda m: segment(values.get(m.group(1), "x")), template)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_webhook_and_rpc_api_refuse_bad_input_cleanly(
    seeded: DevhostProcess, openapi: dict[str, Any], data: st.DataObject
) -> None:
    port = seeded.port
    path, method, op = data.draw(st.sampled_from(webhook_operations(openapi)), label="operation")
    if not path.startswith(WEBHOOKS) or path.endswith("openapi.json"):
        return
    values = {}
    for param in op.get("parameters", []):
        if param["in"] == "path":
            choices = KNOWN_IDS if param["name"] == "instanceId" else NAMES
            values[param["name"]] = data.draw(
                st.one_of(st.sampled_from(choices), texts()), label=param["name"]
            )
    query = {
        p["name"]: data.draw(texts(), label=p["name"])
        for p in op.get("parameters", [])
        if p["in"] == "query" and data.draw(st.booleans())
    }
    if data.draw(st.booleans(), label="via the RPC endpoint"):
        path, port = (
            path.replace(WEBHOOKS, "/durabletask", 1),
            int(seeded.rpc_base_url.split(":")[2].split("/")[0]),
        )
    body = data.draw(bodies(), label="body")
    content_type = data.draw(
        st.sampled_from(["application/json", "text/plain", "application/json; charset=utf-8", ""]),
        label="content type",
    )
    wrong_method = data.draw(st.sampled_from([None, "PUT", "PATCH", "GET", "DELETE"]), label="method")
    verb = (wrong_method or method).upper()
    before = store_state(seeded)
    answer = send(
        port,
        verb,
        fill(path, values),
        query=query,
        body=body,
        headers={"Content-Type": content_type} if content_type else {},
    )
    check_answer(answer, f"{verb} {path} {values} {query}")
    assert send(seeded.port, "GET", "/").status == 200, "the host stopped answering"
    if answer.status >= 400 and not started_anyway(answer):
        assert store_state(seeded) == before, f"a refused {verb} {path} changed the store"
    else:
        settle(seeded.port)


def started_anyway(answer: Answer) -> bool:
    """A start or restart whose timeout/pollingInterval the extension refuses only after it started the
    instance (HttpApiHandler.cs, HandleStartOrchestratorRequestAsync): the one 400 that changes the store."""
    return answer.status == 400 and "One or more of the arguments submitted is incorrect" in str(
        answer.json().get("Message")
    )


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(
    name=st.one_of(st.sampled_from(NAMES), texts()),
    body=bodies(),
    query=st.dictionaries(st.sampled_from(["target", "timeout", "interval", "code"]), texts(), max_size=3),
)
def test_app_routes_refuse_bad_input_cleanly(
    seeded: DevhostProcess, name: str, body: bytes | None, query: dict[str, str]
) -> None:
    port = seeded.port
    query.setdefault("timeout", "0.2")  # HttpStartAndWait answers within the query's timeout
    for route in (
        f"/api/orchestrators/{segment(name)}",
        f"/api/orchestrators/{segment(name)}/wait-for-status",
    ):
        before = store_state(seeded)
        answer = send(
            port, "POST", route, query=query, body=body, headers={"Content-Type": "application/json"}
        )
        check_answer(answer, f"POST {route} {query}")
        if 400 <= answer.status < 500:
            assert store_state(seeded) == before, f"a refused POST {route} changed the store"
        else:
            settle(port)
    assert send(port, "GET", "/").status == 200


def test_bodies_over_the_limit_are_413(seeded: DevhostProcess) -> None:
    # A purge by filter of the fuzz test above may have deleted the waiting instance, as on Azure.
    answer = send(
        seeded.port,
        "POST",
        f"{WEBHOOKS}/orchestrators/SetStatusTest/bad-waiting",
        body=b'{"timeout": 3600}',
        headers={"Content-Type": "application/json"},
    )
    assert answer.status in (202, 409)
    settle(seeded.port)
    before = store_state(seeded)
    huge = b"[" + b"1," * (50 * 1024 * 1024) + b"1]"  # 100 MB and a little more
    for path in (
        f"{WEBHOOKS}/orchestrators/E1_HelloSequence/huge",
        f"{WEBHOOKS}/instances/bad-waiting/raiseEvent/Go",
        "/api/orchestrators/E1_HelloSequence",
    ):
        answer = send(seeded.port, "POST", path, body=huge, headers={"Content-Type": "application/json"})
        check_answer(answer, path)
        assert answer.status == 413
    assert store_state(seeded) == before


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("HugeStatus", "The UTF-16 size of the JSON-serialized payload must not exceed 16 KB"),
        ("UnserialisableInput", "does not expose a `to_json` function"),
        ("UnserialisableOutput", "activity trigger output must be json serializable"),
    ],
)
def test_what_cannot_be_stored_fails_only_its_instance(
    seeded: DevhostProcess, name: str, message: str
) -> None:
    port = seeded.port
    for instance_id, orchestrator in ((f"bystander-{name}", "SetStatusTest"), (f"bad-{name}", name)):
        answer = send(port, "POST", f"{WEBHOOKS}/orchestrators/{orchestrator}/{instance_id}")
        assert answer.status in (202, 409)
    state = settle(port)
    failed = state[f"bad-{name}"]
    assert failed["runtimeStatus"] == "Failed"
    assert message in failed["output"]
    assert failed["customStatus"] is None
    assert state[f"bystander-{name}"]["runtimeStatus"] == "Running"  # the host runs on


def test_a_lone_surrogate_in_an_event_is_kept_and_stored(seeded: DevhostProcess) -> None:
    """JSON may hold "\\ud800" (not UTF-8): the event reaches the orchestrator, and its output and custom
    status, which carry it, are stored (escaped) instead of failing every commit of the instance."""
    port = seeded.port
    started = send(
        port,
        "POST",
        f"{WEBHOOKS}/orchestrators/LedgerFlow/bad-surrogate",
        body=b'{"n": 1, "timer": 0}',
        headers={"Content-Type": "application/json"},
    )
    assert started.status in (202, 409)
    raised = send(
        port,
        "POST",
        f"{WEBHOOKS}/instances/bad-surrogate/raiseEvent/Go",
        body=b'"\\ud800x"',
        headers={"Content-Type": "application/json"},
    )
    assert raised.status == 202
    state = settle(port)
    done = state["bad-surrogate"]
    assert done["runtimeStatus"] == "Completed"
    assert done["output"] == {"sum": 4, "go": "\ud800x"}
    assert done["customStatus"] == {"stage": "done", "sum": 4, "go": "\ud800x"}
