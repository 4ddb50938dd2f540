"""The built-in HTTP activity against a local server: what is sent, and the result's shape.

azure-functions-durable-extension, src/WebJobs.Extensions.DurableTask/Listener/TaskHttpActivityShim.cs,
DurableHttpResponse.cs and HttpHeadersConverter.cs.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from multidict import CIMultiDict

from devhost.engine.http_activity import run_http_activity


@pytest.fixture
async def echo() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """A server that records each request and answers with two Set-Cookie lines and a body."""
    seen: list[dict[str, Any]] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append(
            {
                "method": request.method,
                "content_type": request.headers.get("Content-Type"),
                "body": await request.text(),
                "accept": request.headers.getall("Accept", []),
            }
        )
        headers = CIMultiDict([("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("X-One", "1")])
        return web.Response(status=201, headers=headers, body="caf\xe9".encode("latin-1"))

    app = web.Application()
    app.router.add_route("*", "/echo", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}/echo", seen
    await runner.cleanup()


async def test_content_without_a_content_type_is_sent_as_text_plain(
    echo: tuple[str, list[dict[str, Any]]],
) -> None:
    url, seen = echo
    request = {"method": "POST", "uri": url, "content": '{"a": 1}', "headers": {"Accept": ["x/y", "z/w"]}}
    reply = await run_http_activity(json.dumps(request))
    assert reply.failure is None
    assert seen == [
        {"method": "POST", "content_type": "text/plain", "body": '{"a": 1}', "accept": ["x/y", "z/w"]}
    ]
    result = json.loads(reply.result or "")
    assert result["statusCode"] == 201
    assert result["headers"]["Set-Cookie"] == ["a=1", "b=2"] and result["headers"]["X-One"] == "1"
    assert "Content-Type" not in result["headers"] and "Content-Length" not in result["headers"]
    assert result["content"] == "caf\ufffd"  # not UTF-8: replaced, not a failure


async def test_a_content_type_header_goes_with_the_content_and_is_dropped_without_it(
    echo: tuple[str, list[dict[str, Any]]],
) -> None:
    url, seen = echo
    typed = {"method": "PUT", "uri": url, "content": "x", "headers": {"content-type": "application/json"}}
    await run_http_activity(json.dumps(typed))
    await run_http_activity(json.dumps({"method": "GET", "uri": url, "headers": {"Content-Type": "a/b"}}))
    assert [s["content_type"] for s in seen] == ["application/json", None]


async def test_multipart_content_is_refused_before_sending(echo: tuple[str, list[dict[str, Any]]]) -> None:
    url, seen = echo
    request = {
        "method": "POST",
        "uri": url,
        "content": "x",
        "headers": {"Content-Type": "multipart/form-data"},
    }
    reply = await run_http_activity(json.dumps(request))
    assert reply.failure is not None and "Multipart content is not supported" in reply.failure[0]
    assert seen == []


@pytest.mark.parametrize("text", ["not json", '{"method": "GET"}', '{"uri": "nope://x"}', "[1]"])
async def test_a_request_that_cannot_be_sent_fails_the_task_not_the_host(text: str) -> None:
    reply = await run_http_activity(text)
    assert reply.failure is not None and reply.failure[0].startswith(
        "Activity function 'BuiltIn::HttpActivity'"
    )


async def test_a_token_source_fails_the_task_instead_of_sending_without_auth(
    echo: tuple[str, list[dict[str, Any]]],
) -> None:
    url, seen = echo
    source = {"kind": "AzureManagedIdentity", "resource": "https://management.core.windows.net/.default"}
    reply = await run_http_activity(json.dumps({"method": "GET", "uri": url, "tokenSource": source}))
    assert reply.failure is not None and "tokenSource" in reply.failure[0]
    assert seen == []
