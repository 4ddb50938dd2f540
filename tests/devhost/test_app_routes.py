"""Route templates in the Functions host's syntax, and how a failing HTTP function is answered."""

from __future__ import annotations

import gzip
import logging
import re
from pathlib import Path

import aiohttp
import pytest

from devhost.api.route_templates import RouteTemplate, TemplateError, request_path
from devhost.host import DevHost

from .helpers import call


@pytest.mark.parametrize(
    ("template", "path", "params"),
    [
        (
            "orchestrators/{functionName}",
            "/orchestrators/E1_HelloSequence",
            {"functionName": "E1_HelloSequence"},
        ),
        ("orchestrators/{functionName}", "/Orchestrators/x/", {"functionName": "x"}),
        ("items/{id:int}", "/items/42", {"id": "42"}),
        ("items/{id?}", "/items", {"id": None}),
        ("files/{*rest}", "/files/a/b/c.txt", {"rest": "a/b/c.txt"}),
        ("HttpTrigger", "/httptrigger", {}),
        ("items/{id:int:min(1)}", "/items/7", {"id": "7"}),
        ("items/{id:long}", "/items/99999999999", {"id": "99999999999"}),
        (
            "users/{id:guid}",
            "/users/{1b4e28ba-2fa1-11d2-883f-0016d3cca427}",
            {"id": "{1b4e28ba-2fa1-11d2-883f-0016d3cca427}"},
        ),
        ("codes/{code:length(3)}", "/codes/abc", {"code": "abc"}),
        ("codes/{code:regex(^[a-z]{{2}}\\d$)}", "/codes/AB1", {"code": "AB1"}),
        ("pages/{page:range(1,10)=1}", "/pages", {"page": "1"}),
        ("pages/{page=1}", "/pages/4", {"page": "4"}),
        ("when/{at:datetime}", "/when/2026-01-02", {"at": "2026-01-02"}),
        ("files/{name}.{ext}", "/files/report.final.pdf", {"name": "report.final", "ext": "pdf"}),
        ("files/{name}", "/files/a%2Fb", {"name": "a%2Fb"}),
    ],
)
def test_templates_match(template: str, path: str, params: dict[str, str | None]) -> None:
    assert RouteTemplate(template).match(path) == params


@pytest.mark.parametrize(
    ("template", "path"),
    [
        ("orchestrators/{functionName}", "/orchestrators/a/b"),
        ("orchestrators/{functionName}", "/orchestrators"),
        ("items/{id:int}", "/items/abc"),
        ("items/{id:int}", "/items/2147483648"),
        ("items/{id:int:min(1)}", "/items/0"),
        ("names/{name:alpha}", "/names/ab1"),
        ("codes/{code:maxlength(2)}", "/codes/abc"),
        ("flags/{on:bool}", "/flags/yes"),
        ("a.b", "/aXb"),
    ],
)
def test_templates_do_not_match(template: str, path: str) -> None:
    assert RouteTemplate(template).match(path) is None


def test_the_path_is_matched_decoded_except_an_encoded_slash() -> None:
    """Kestrel decodes the path before routing but leaves %2F, so it never splits a segment."""
    assert request_path("/api/files/a%20b%2fc%C3%A9?x=%2F") == "/api/files/a b%2fcé"


@pytest.mark.parametrize("template", ["items/{id:integer}", "items/{id", "items/{}", "items/{id:min(x)}"])
def test_a_template_aspnet_cannot_build_is_refused(template: str) -> None:
    with pytest.raises(TemplateError):
        RouteTemplate(template)


_PRECEDENCE_APP = """
import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="products/{*rest}")
def everything(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("everything " + req.route_params.get("rest", "-"))


@app.route(route="products/{name}")
def by_name(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("name " + req.route_params["name"])


@app.route(route="products/{id:int}")
def by_id(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("id " + req.route_params["id"])


@app.route(route="products/featured")
def featured(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("featured")


@app.route(route="broken/{id:number}")
def broken(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("never")
"""


async def test_the_most_specific_route_serves_a_request_whatever_the_functions_order(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """ASP.NET's route tree tries literal segments, then constrained parameters, then parameters, then
    catch-alls; a route with a constraint it does not know is not built."""
    (tmp_path / "host.json").write_text('{"version": "2.0"}')
    (tmp_path / "function_app.py").write_text(_PRECEDENCE_APP)
    async with DevHost(tmp_path, store="memory", port=0, rpc_port=0) as host:
        answers = [
            (await call(host, "GET", f"/api/products/{tail}")).text
            for tail in ("featured", "42", "Tokyo", "a/b", "99999999999")
        ]
        broken = await call(host, "GET", "/api/broken/1")
    assert answers == ["featured", "id 42", "name Tokyo", "everything a/b", "name 99999999999"]
    assert broken.status == 404
    assert "'broken' is not served" in caplog.text and "'number'" in caplog.text


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


async def test_the_route_prefix_matches_in_any_case(tmp_path: Path) -> None:
    """The host's route templates, the prefix included, match ignoring case; other paths stay 404."""
    (tmp_path / "host.json").write_text('{"version": "2.0"}')
    (tmp_path / "function_app.py").write_text(_FAILING_APP)
    async with DevHost(tmp_path, store="memory", port=0, rpc_port=0) as host:
        answers = [
            (await call(host, "GET", path)).status for path in ("/API/works", "/Api/Works", "/apix/works")
        ]
    assert answers == [200, 200, 404]


_CONFLICTS_APP = """
import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="admin/health")
def reserved(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("never")


@app.route(route="items", methods=["GET"])
def first(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("first")


@app.route(route="Items", methods=["GET", "PUT"])
def second(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("second")


@app.route(route="items", methods=["POST"])
def third(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("third")
"""


async def test_routes_the_host_refuses_are_not_served(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """ScriptHost.ValidateFunction: a route under `admin` and a route another function has for one of
    its methods put the function in error; the others run."""
    (tmp_path / "host.json").write_text('{"version": "2.0"}')
    (tmp_path / "function_app.py").write_text(_CONFLICTS_APP)
    async with DevHost(tmp_path, store="memory", port=0, rpc_port=0) as host:
        answers = [
            ((reply := await call(host, method, path)).status, reply.text if reply.status == 200 else "")
            for method, path in (
                ("GET", "/api/admin/health"),
                ("GET", "/api/items"),
                ("PUT", "/api/items"),
                ("POST", "/api/items"),
            )
        ]
    assert answers == [(404, ""), (200, "first"), (404, ""), (200, "third")]
    assert "Function 'reserved' is not served" in caplog.text and "built in routes" in caplog.text
    assert "conflicts with the route defined by function 'first'" in caplog.text


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
