"""Bad input on the dashboard's routes (/runtime/devhost/...), drawn from the OpenAPI description.

Whatever is sent (odd instance ids and file names, odd queries and bodies, wrong methods), the answer
is the page, a JSON answer or a JSON 4xx, never an unhandled error; the host keeps answering; and the
store is exactly as it was after a refused request, and after any request to a route described with
GET only (those only read).
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devhost.api.time_routes import time_routes
from devhost.dashboard.routes import PREFIX, dashboard_routes
from devhost.process import DevhostProcess

from .probe import send, settle
from .store_state import store_state
from .test_bad_input import KNOWN_IDS, bodies, check_answer, fill, texts

FILES = ["index.html", "dashboard.js", "dashboard.css", "favicon.svg", "../index.html", "index.HTML"]


def test_every_dashboard_route_is_in_the_openapi_description(openapi: dict[str, Any]) -> None:
    described = {path for path in openapi["paths"] if path.startswith(PREFIX)}
    served = {route.path for route in dashboard_routes(control=None)}  # type: ignore[arg-type]
    served |= {route.path for route in time_routes(time=None)}  # type: ignore[arg-type]
    assert served and served == described


@settings(max_examples=100, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_dashboard_routes_refuse_bad_input_cleanly(
    seeded: DevhostProcess, openapi: dict[str, Any], data: st.DataObject
) -> None:
    operations = [
        (path, method, op)
        for path, item in openapi["paths"].items()
        if path.startswith(PREFIX)
        for method, op in item.items()
    ]
    path, method, op = data.draw(st.sampled_from(operations), label="operation")
    values = {}
    for param in op.get("parameters", []):
        choices = KNOWN_IDS if param["name"] == "instanceId" else FILES
        values[param["name"]] = data.draw(st.one_of(st.sampled_from(choices), texts()), label=param["name"])
    query = data.draw(
        st.dictionaries(st.sampled_from(["code", "instanceId", "showHistory", "x"]), texts(), max_size=2),
        label="query",
    )
    verb = data.draw(st.sampled_from([method.upper(), "POST", "PUT", "DELETE", "PATCH"]), label="method")
    body = data.draw(bodies(), label="body")
    before = store_state(seeded)
    answer = send(
        seeded.port,
        verb,
        fill(path, values),
        query=query,
        body=body,
        headers={"Content-Type": "application/json"},
    )
    check_answer(answer, f"{verb} {path} {values} {query}")
    if verb == "GET" and answer.status == 200 and "/api/" in path:
        assert answer.content_type == "application/json"
    assert send(seeded.port, "GET", "/").status == 200, "the host stopped answering"
    if answer.status >= 400 or set(openapi["paths"][path]) == {"get"}:
        assert store_state(seeded) == before, f"{verb} {path} {values} changed the store"
    else:
        settle(seeded.port)
