"""How the Durable HTTP API writes its answers, as the extension's JSON formatter does: compact, with
non-ASCII characters as they are and `application/json; charset=utf-8` (devhost/api/json_reply.py)."""

from __future__ import annotations

import json

from devhost.engine.sdk_payload import custom_status_size_error
from devhost.host import DevHost
from devhost.json_text import dumps

from .helpers import WEBHOOKS, Reply, call, start_and_wait

VALUE = {"city": "Zürich", "greeting": "こんにちは", "list": [1, 2], "quote": 'say "hi"'}


def _written_as_newtonsoft(reply: Reply) -> None:
    assert reply.headers["Content-Type"] == "application/json; charset=utf-8"
    assert "Zürich" in reply.text and "こんにちは" in reply.text and "\\u" not in reply.text
    assert ", " not in reply.text and '": ' not in reply.text


async def test_a_waited_for_output_is_the_value_written_as_newtonsoft_writes_it(features: DevHost) -> None:
    reply = await start_and_wait(features, "input_echo", "writes-wait", VALUE)
    assert reply.status == 200 and reply.json() == {"type": "dict", "value": VALUE}
    _written_as_newtonsoft(reply)


async def test_a_status_is_compact_and_keeps_non_ascii(features: DevHost) -> None:
    await start_and_wait(features, "input_echo", "writes-status", VALUE)
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


def test_the_three_characters_newtonsoft_always_escapes_are_escaped() -> None:
    """JavaScriptUtils escapes U+0085, U+2028 and U+2029 in every string; the 16 KB custom status rule
    measures that text, so 1,500 line separators (6 characters each once escaped) are over it."""
    value = {"text": "a\u2028b\u0085c\u2029 ü"}
    written = dumps(value)
    assert written == '{"text":"a\\u2028b\\u0085c\\u2029 ü"}' and json.loads(written) == value
    assert custom_status_size_error("\u2028" * 1500) is not None
    assert custom_status_size_error("ü" * 1500) is None
