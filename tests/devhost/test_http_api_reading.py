"""How the Durable HTTP API reads a request, as the extension does: query keys in any letter case, a
trailing slash, a body's UTF-8 and its NaN and infinities, a client that leaves mid-body
(docs/durable-http-operations.md, "Reading a request")."""

from __future__ import annotations

import contextlib
import json
import socket
import time
import urllib.request
from pathlib import Path

import pytest

from devhost.host import DevHost
from devhost.process import DevhostProcess

from .helpers import (
    APPS,
    WEBHOOKS,
    call,
    one_of_each,
    poll_url,
    run,
    start_and_wait,
    start_waiting,
    wait_done,
)

JSON = {"Content-Type": "application/json"}


async def test_query_keys_match_in_any_case(features: DevHost) -> None:
    """HttpRequestMessageExtensions.cs, `GetQueryNameValuePairs`: a NameValueCollection built with
    `StringComparer.OrdinalIgnoreCase`, so a key in any letter case is the same parameter."""
    await one_of_each(features, "case-")
    status_url = f"{WEBHOOKS}/instances/case-done"
    assert (await call(features, "GET", status_url, params={"SHOWINPUT": "false"})).json()["input"] is None
    failed = await call(
        features,
        "GET",
        f"{WEBHOOKS}/instances/case-failed",
        params={"ReturnInternalServerErrorOnFailure": "true"},
    )
    assert failed.status == 500
    listed = await call(
        features,
        "GET",
        f"{WEBHOOKS}/instances",
        params={"RUNTIMESTATUS": "Failed", "instanceidprefix": "case-"},
    )
    assert [s["instanceId"] for s in listed.json()] == ["case-failed"]
    await call(features, "POST", f"{WEBHOOKS}/instances/case-running/terminate", params={"REASON": "by case"})
    ended = await poll_url(features, f"{features.url}{WEBHOOKS}/instances/case-running")
    assert ended.json()["runtimeStatus"] == "Terminated" and ended.json()["output"] == "by case"


def _strict_json(text: str):
    def refuse(symbol: str):
        raise AssertionError(f"bare {symbol} in a response: not JSON")

    return json.loads(text, parse_constant=refuse)


async def test_non_finite_numbers_in_a_body_come_back_as_json(features: DevHost) -> None:
    """Newtonsoft reads NaN, Infinity and numbers beyond a double, and writes them back as strings
    (FloatFormatHandling.String); a status body must stay JSON that any reader accepts."""
    body = b'{"big": 1e400, "small": -1e400, "nan": NaN, "inf": Infinity, "plain": 1.5}'
    reply = await call(
        features, "POST", f"{WEBHOOKS}/orchestrators/input_echo/non-finite", data=body, headers=JSON
    )
    assert reply.status == 202, reply.text
    done = await poll_url(features, reply.json()["statusQueryGetUri"])
    status = _strict_json(done.text)
    expected = {"big": "Infinity", "small": "-Infinity", "nan": "NaN", "inf": "Infinity", "plain": 1.5}
    assert status["input"] == expected
    assert status["output"] == {"type": "dict", "value": expected}


async def test_a_body_with_bad_utf8_is_read_with_replacement_characters(features: DevHost) -> None:
    """The extension reads the body with `ReadAsStringAsync`, which replaces bytes that are not UTF-8."""
    reply = await call(
        features,
        "POST",
        f"{WEBHOOKS}/orchestrators/input_echo/bad-utf8",
        data=b'{"a": "x\xff"}',
        headers=JSON,
    )
    assert reply.status == 202, reply.text
    done = await poll_url(features, reply.json()["statusQueryGetUri"])
    assert done.json()["input"] == {"a": "x\ufffd"}


@pytest.mark.timeout(120)
def test_a_client_that_leaves_mid_body_is_no_host_error(tmp_path: Path) -> None:
    """A body shorter than its Content-Length, and the client gives up waiting and closes: nobody is
    left to answer, no traceback in the console, and the host serves the next request."""
    host = DevhostProcess(tmp_path, "memory", app=APPS / "features").start()
    try:
        address = host.url.split("//")[1].split(":")
        with socket.create_connection((address[0], int(address[1]))) as sock:
            sock.settimeout(1.0)
            sock.sendall(
                f"POST {WEBHOOKS}/orchestrators/input_echo/gone HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode()
                + b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
                + b'{"a": 1'
            )
            with contextlib.suppress(TimeoutError):
                sock.recv(200)  # the host waits for the rest of the body, then the client gives up
        time.sleep(0.5)
        with urllib.request.urlopen(f"{host.url}{WEBHOOKS}/instances") as response:
            assert response.status == 200
    finally:
        host.stop()
    assert "Traceback" not in host.log() and "ERROR" not in host.log(), host.log()


async def test_a_trailing_slash_is_the_same_route(features: DevHost) -> None:
    """HttpApiHandler.cs trims '/' from the end of the path before it matches its routes."""
    await run(features, "input_echo", 1, "slashed")
    reply = await call(features, "GET", f"{WEBHOOKS}/instances/slashed/")
    assert reply.status == 200 and reply.json()["instanceId"] == "slashed"
    await start_waiting(features, "slashed-run")
    ended = await call(
        features, "POST", f"{WEBHOOKS}/instances/slashed-run/terminate/", params={"reason": "x"}
    )
    assert ended.status == 202, ended.text
    started = await call(features, "POST", f"{WEBHOOKS}/orchestrators/input_echo/slashed-start/", body=2)
    assert started.status == 202 and started.json()["id"] == "slashed-start"


async def test_an_orchestrator_name_in_another_case_starts_it_under_that_spelling(features: DevHost) -> None:
    """FunctionName.cs compares names ignoring case; DurableClient.cs, `StartNewAsync`, creates the
    instance with the name as the client wrote it, which its status then shows."""
    started = await start_and_wait(features, "INPUT_Echo", "case-name", {"n": 3})
    assert started.status == 200 and started.json() == {"type": "dict", "value": {"n": 3}}
    status = (await call(features, "GET", f"{WEBHOOKS}/instances/case-name")).json()
    assert (status["name"], status["runtimeStatus"]) == ("INPUT_Echo", "Completed")


async def test_a_start_body_is_read_as_newtonsoft_reads_it(features: DevHost) -> None:
    """JsonConvert.DeserializeObject takes comments, single quotes, unquoted names and trailing commas,
    and refuses text after the value other than blanks and comments."""
    lenient = b"{city: 'Z\xc3\xbcrich', /* a comment */ list: [1, 2,], 'n': 0x1F,} // the end"
    reply = await call(
        features, "POST", f"{WEBHOOKS}/orchestrators/input_echo/lenient-start", data=lenient, headers=JSON
    )
    assert reply.status == 202, reply.text
    done = (await poll_url(features, reply.json()["statusQueryGetUri"])).json()
    assert done["input"] == {"city": "Zürich", "list": [1, 2], "n": 31}
    assert done["output"] == {"type": "dict", "value": done["input"]}

    extra = await call(
        features,
        "POST",
        f"{WEBHOOKS}/orchestrators/input_echo/extra-start",
        data=b'{"a": 1} {"b": 2}',
        headers=JSON,
    )
    assert extra.status == 400 and "line 1, column 10" in extra.json()["Message"]
    assert (await call(features, "GET", f"{WEBHOOKS}/instances/extra-start")).status == 404


async def test_an_event_body_is_its_first_value_whatever_follows(features: DevHost) -> None:
    """JToken.Load on a JsonTextReader (MessagePayloadDataConverter.ConvertToJToken) reads one value
    and leaves the rest of the text unread."""
    client = features.client()
    instance_id = await client.start_new("two_events", "lenient-event")
    base = f"{WEBHOOKS}/instances/{instance_id}/raiseEvent"
    refused = await call(features, "POST", f"{base}/First", data=b"{by: }", headers=JSON)
    assert refused.status == 400 and "column 6" in refused.json()["Message"]
    first = await call(
        features, "POST", f"{base}/First", data=b"{by: 'me', // who\n} then text", headers=JSON
    )
    second = await call(features, "POST", f"{base}/Second", data=b"[1, 2,] [3]", headers=JSON)
    assert (first.status, second.status) == (202, 202), (first.text, second.text)
    done = await wait_done(client, instance_id)
    assert done.output == {"first": {"by": "me"}, "second": [1, 2]}
