"""What a matched HTTP function is given and what its client gets back, as the Functions host and the
Python worker pass them: a failure's bare 500, the request's parts and the response's cookies and
context, a returned `str` read as JSON, chunked and compressed bodies, and bodies on statuses that
have none.

How routes are matched is in test_app_routes.py.
"""

from __future__ import annotations

import gzip
import logging
import re
from pathlib import Path

import aiohttp
import pytest

from devhost.host import DevHost

from .helpers import call

_FAILING_APP = """
import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="fails")
def fails(req: func.HttpRequest) -> func.HttpResponse:
    raise ValueError("the handler broke on " + req.params.get("what", "nothing"))


@app.route(route="works")
def works(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("still here")
"""


async def test_a_function_that_raises_answers_a_bare_500_and_logs_its_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The Functions host's ExceptionMiddleware sets 500 and writes no body; the host serves on."""
    (tmp_path / "host.json").write_text('{"version": "2.0"}')
    (tmp_path / "function_app.py").write_text(_FAILING_APP)
    async with DevHost(tmp_path, store="memory", port=0, rpc_port=0) as host:
        failed = await call(host, "GET", "/api/fails?what=purpose")
        after = await call(host, "GET", "/api/works")
    assert failed.status == 500 and failed.text == ""
    assert "Traceback" in caplog.text and "ValueError: the handler broke on purpose" in caplog.text
    assert (after.status, after.text) == (200, "still here")


_REQUEST_APP = """
import json

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="seen")
def seen(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(json.dumps({"params": dict(req.params), "tag": req.headers.get("x-tag")}))


@app.route(route="cookies")
def cookies(req: func.HttpRequest) -> func.HttpResponse:
    response = func.HttpResponse("set")
    response.headers.add("Set-Cookie", "session=abc; Path=/app; HttpOnly; Secure")
    response.headers.add("Set-Cookie", "theme=dark")
    return response


@app.route(route="nothing")
def nothing(req: func.HttpRequest) -> func.HttpResponse:
    return None


@app.route(route="context")
def with_context(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    context.thread_local_storage.note = "kept"
    return func.HttpResponse(json.dumps({
        "id": context.invocation_id,
        "trace": context.trace_context.trace_parent,
        "state": context.trace_context.trace_state,
        "retry": [context.retry_context.retry_count, context.retry_context.max_retry_count],
    }))
"""


async def test_the_request_and_the_response_pass_the_host_as_on_azure(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """GrpcMessageConversionExtensions.ToRpcHttp joins repeated query keys and headers with commas and
    leaves out query keys without a value; each cookie the function sets is its own Set-Cookie (the
    worker hands them over as cookies, the host appends them); a None return fails the invocation."""
    (tmp_path / "host.json").write_text('{"version": "2.0"}')
    (tmp_path / "function_app.py").write_text(_REQUEST_APP)
    caplog.set_level(logging.INFO, logger="devhost.functions")
    async with DevHost(tmp_path, store="memory", port=0, rpc_port=0) as host:
        url = f"{host.url}/api/seen?a=1&a=2&flag&empty=&b=x"
        async with aiohttp.ClientSession() as session:
            async with session.get(url, headers=[("X-Tag", "one"), ("X-Tag", "two")]) as reply:
                seen = await reply.json(content_type=None)
            async with session.get(f"{host.url}/api/cookies") as reply:
                cookies = reply.headers.getall("Set-Cookie")
        nothing = await call(host, "GET", "/api/nothing")
        context = (await call(host, "GET", "/api/context")).json()
    assert seen == {"params": {"a": "1,2", "b": "x"}, "tag": "one,two"}
    assert cookies == ["session=abc; path=/app; secure; httponly", "theme=dark; path=/"]
    assert nothing.status == 500 and nothing.text == ""
    assert "NoneType" in caplog.text
    # The worker always fills these (its _get_context); the id is the one the log lines show.
    assert re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-00", context["trace"]), context
    assert (context["state"], context["retry"]) == ("", [0, 0])
    assert f"Executed 'Functions.with_context' (Succeeded, Id={context['id']}," in caplog.text


_STRING_APP = """
import json

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="text/{kind}")
def text(req: func.HttpRequest) -> str:
    return {
        "plain": "hello, world",
        "object": json.dumps({"name": "Tokyo", "scores": [1, 2.0, 1e20], "empty": {}}),
        "number": "1.0",
        "flag": "true",
        "quoted": json.dumps("Seattle"),
        "null": "null",
        "response": json.dumps(
            {"Body": "made", "status": "201", "headers": {"Content-Type": "text/html", "X-Count": 3}}
        ),
        "almost": '{"a": 1} and more',
    }[req.route_params["kind"]]
"""


@pytest.mark.parametrize(
    ("kind", "status", "content_type", "body"),
    [
        ("plain", 200, "text/plain; charset=utf-8", "hello, world"),
        (
            "object",
            200,
            "text/plain; charset=utf-8",
            '{\n  "name": "Tokyo",\n  "scores": [\n    1,\n    2.0,\n    1E+20\n  ],\n  "empty": {}\n}',
        ),
        ("number", 200, "text/plain; charset=utf-8", "1"),
        ("flag", 200, "text/plain; charset=utf-8", "True"),
        ("quoted", 200, "text/plain; charset=utf-8", "Seattle"),
        ("null", 200, "text/plain; charset=utf-8", ""),
        ("response", 201, "text/html", "made"),
        ("almost", 200, "text/plain; charset=utf-8", '{"a": 1} and more'),
    ],
)
async def test_a_returned_str_is_read_as_json_first_as_the_host_reads_it(
    tmp_path: Path, kind: str, status: int, content_type: str, body: str
) -> None:
    """HttpBinding.CreateResult runs JsonConvert.DeserializeObject over a returned string: JSON comes back
    as JToken.ToString() or .NET's ToString() writes it, an object with a body is a response object."""
    (tmp_path / "host.json").write_text('{"version": "2.0"}')
    (tmp_path / "function_app.py").write_text(_STRING_APP)
    async with (
        DevHost(tmp_path, store="memory", port=0, rpc_port=0) as host,
        aiohttp.ClientSession() as session,
        session.get(f"{host.url}/api/text/{kind}") as reply,
    ):
        got = (reply.status, reply.headers["Content-Type"], await reply.text())
        extra = reply.headers.get("X-Count")
    assert got == (status, content_type, body)
    assert extra == ("3" if kind == "response" else None)


_ECHO_APP = """
import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="echo", methods=["POST"])
def echo(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(b"got:" + req.get_body())


@app.route(route="hex", methods=["POST"])
def hex_of(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(req.get_body().hex())
"""


async def test_a_chunked_body_does_not_reach_the_function_as_with_the_host(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """ToRpcHttp copies the body only when the request's Content-Length is above 0; devhost says so."""
    (tmp_path / "host.json").write_text('{"version": "2.0"}')
    (tmp_path / "function_app.py").write_text(_ECHO_APP)

    async def chunks():  # no Content-Length: aiohttp sends it chunked
        yield b"hello "
        yield b"world"

    async with (
        DevHost(tmp_path, store="memory", port=0, rpc_port=0) as host,
        aiohttp.ClientSession() as session,
    ):
        async with session.post(f"{host.url}/api/echo", data=chunks()) as reply:
            chunked = await reply.read()
        async with session.post(f"{host.url}/api/echo", data=b"hello world") as reply:
            sized = await reply.read()
    assert (chunked, sized) == (b"got:", b"got:hello world")
    assert "sent chunked" in caplog.text


async def test_a_compressed_body_reaches_the_function_as_it_was_sent(tmp_path: Path) -> None:
    """The Functions host does not decompress request bodies: the function gets the bytes sent, and a
    body that claims gzip without being gzip is no failure of the host's."""
    (tmp_path / "host.json").write_text('{"version": "2.0"}')
    (tmp_path / "function_app.py").write_text(_ECHO_APP)
    packed = gzip.compress(b"hello")
    async with DevHost(tmp_path, store="memory", port=0, rpc_port=0) as host:
        zipped = await call(host, "POST", "/api/hex", data=packed, headers={"Content-Encoding": "gzip"})
        liar = await call(host, "POST", "/api/echo", data=b"plain", headers={"Content-Encoding": "gzip"})
        signal = await call(
            host,
            "POST",
            "/runtime/webhooks/durabletask/entities/nothing/k?op=x",
            data=b"1",
            headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
        )
    assert (zipped.status, zipped.text) == (200, packed.hex())
    assert (liar.status, liar.text) == (200, "got:plain")
    assert signal.status == 400 and "nothing" in signal.json()["Message"]  # read, then refused: no 500


_NO_BODY_APP = """
import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="answer/{code:int}", methods=["GET", "HEAD", "DELETE"])
def answer(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("Deleted", status_code=int(req.route_params["code"]))
"""


async def test_a_body_on_a_status_without_one_is_not_sent_and_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """204, 205 and 304 have no body: Kestrel throws when the host writes one
    (HttpProtocol.HandleNonBodyResponseWrite), so on Azure the client gets the status and no body, and
    the host logs the failed write. devhost sends no body either and says why; a 200 keeps its body,
    and a HEAD request is answered without one as ever."""
    (tmp_path / "host.json").write_text('{"version": "2.0"}')
    (tmp_path / "function_app.py").write_text(_NO_BODY_APP)
    caplog.set_level(logging.INFO, logger="devhost.functions")
    async with DevHost(tmp_path, store="memory", port=0, rpc_port=0) as host:
        replies = {code: await call(host, "DELETE", f"/api/answer/{code}") for code in (204, 205, 304, 200)}
        head = await call(host, "HEAD", "/api/answer/200")
    assert {code: (r.status, r.text) for code, r in replies.items()} == {
        204: (204, ""),
        205: (205, ""),
        304: (304, ""),
        200: (200, "Deleted"),
    }
    assert (head.status, head.text) == (200, "")
    for code in (204, 205, 304):
        assert f"Function 'answer' answered {code} with a body of 7 bytes, which is not sent" in caplog.text
    assert "answered 200" not in caplog.text
