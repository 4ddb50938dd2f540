"""How the app's HTTP routes are matched: route templates in the Functions host's syntax, which of
several routes serves a request, the route prefix, and the routes the host refuses to build.

What a matched function is given and what the client gets back is in test_app_exchanges.py.
"""

from __future__ import annotations

from pathlib import Path

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


async def test_the_route_prefix_matches_in_any_case(tmp_path: Path) -> None:
    """The host's route templates, the prefix included, match ignoring case; other paths stay 404."""
    (tmp_path / "host.json").write_text('{"version": "2.0"}')
    (tmp_path / "function_app.py").write_text(_PRECEDENCE_APP)
    async with DevHost(tmp_path, store="memory", port=0, rpc_port=0) as host:
        replies = [
            await call(host, "GET", path)
            for path in ("/API/products/featured", "/Api/Products/Featured", "/apix/products/featured")
        ]
    assert [(r.status, r.text) for r in replies[:2]] == [(200, "featured")] * 2
    assert replies[2].status == 404


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
