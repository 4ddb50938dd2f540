"""How the Durable HTTP API writes its answers, as the extension's JSON formatter does: compact, with
non-ASCII characters as they are and `application/json; charset=utf-8` (devhost/api/json_reply.py)."""

from __future__ import annotations

import json

from devhost.host import DevHost

from .helpers import WEBHOOKS, Reply, call

VALUE = {"city": "Zürich", "greeting": "こんにちは", "list": [1, 2], "quote": 'say "hi"'}


def _written_as_newtonsoft(reply: Reply) -> None:
    assert reply.headers["Content-Type"] == "application/json; charset=utf-8"
    assert "Zürich" in reply.text and "こんにちは" in reply.text and "\\u" not in reply.text
    assert ", " not in reply.text and '": ' not in reply.text


async def _start_and_wait(features: DevHost, instance_id: str) -> Reply:
    """A start with `timeout` answers the output itself once completed (HttpApiHandler.cs)."""
    return await call(
        features,
        "POST",
        f"{WEBHOOKS}/orchestrators/input_echo/{instance_id}",
        body=VALUE,
        params={"timeout": "30", "pollingInterval": "0.05"},
    )


async def test_a_waited_for_output_is_the_value_written_as_newtonsoft_writes_it(features: DevHost) -> None:
    reply = await _start_and_wait(features, "writes-wait")
    assert reply.status == 200 and reply.json() == {"type": "dict", "value": VALUE}
    _written_as_newtonsoft(reply)


async def test_a_status_is_compact_and_keeps_non_ascii(features: DevHost) -> None:
    await _start_and_wait(features, "writes-status")
    reply = await call(features, "GET", f"{WEBHOOKS}/instances/writes-status")
    body = reply.json()
    assert reply.status == 200 and body["input"] == VALUE
    assert body["output"] == {"type": "dict", "value": VALUE}
    _written_as_newtonsoft(reply)


async def test_an_error_is_compact_json_with_its_charset(features: DevHost) -> None:
    reply = await call(features, "POST", f"{WEBHOOKS}/instances/writes-none/terminate")
    assert reply.status == 404 and reply.headers["Content-Type"] == "application/json; charset=utf-8"
    assert "writes-none" in reply.json()["Message"] and ", " not in reply.text
    assert json.loads(reply.text) == reply.json()
