"""The progress page and its files: served from the package with their types, nothing else served."""

from __future__ import annotations

import fnmatch
import json
import re
from pathlib import Path

import azure.functions as func
import pytest

from clients.progress_page import ASSETS, STATIC_DIR, script_json
from orchestrators.names import PROGRESS_ASSET, PROGRESS_PAGE

from ..app_index import indexed_functions

ROOT = Path(__file__).resolve().parents[3]


def get(function: str, path: str, route_params: dict[str, str] | None = None) -> func.HttpResponse:
    request = func.HttpRequest(
        method="GET",
        url=f"http://localhost:7071{path}",
        body=b"",
        route_params=route_params or {},
        params={"scenario": "hello"},
    )
    response = indexed_functions()[function].get_user_function()(req=request)
    assert isinstance(response, func.HttpResponse)
    return response


def page_config(html: str) -> dict[str, object]:
    match = re.search(r'<script type="application/json" id="progress-config">(.*?)</script>', html, re.S)
    assert match
    value = json.loads(match.group(1))
    assert isinstance(value, dict)
    return value


def test_the_page_is_html_that_loads_only_its_own_files() -> None:
    response = get(PROGRESS_PAGE, "/api/progress?scenario=hello")

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert response.charset == "utf-8"
    html = response.get_body().decode()
    assert '<script type="module" src="/api/progress/static/progress.js"></script>' in html
    assert '<link rel="stylesheet" href="/api/progress/static/progress.css">' in html
    # Nothing from elsewhere: no CDN, no external font, and the CSP says so to the browser.
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "connect-src 'self'" in csp
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "{{" not in html


def test_the_asset_paths_follow_the_request_path() -> None:
    html = get(PROGRESS_PAGE, "/api/progress/").get_body().decode()

    assert 'src="/api/progress/static/progress.js"' in html


def test_the_page_gets_the_scenarios_from_the_app() -> None:
    config = page_config(get(PROGRESS_PAGE, "/api/progress").get_body().decode())

    assert config == {
        "scenarios": [
            {"key": "hello", "orchestrator": "E1_HelloSequence", "title": "Hello sequence", "event": None},
            {
                "key": "city",
                "orchestrator": "CityRecommender",
                "title": "City recommender",
                "event": "CitySelected",
            },
            {
                "key": "ticket",
                "orchestrator": "ReserveTicket",
                "title": "Ticket reservation",
                "event": "BookingConfirmed",
            },
            {
                "key": "set-status",
                "orchestrator": "SetStatusTest",
                "title": "Status read while running",
                "event": "Proceed",
            },
        ],
        "defaultCities": ["Tokyo", "Seattle", "London"],
        "choices": [
            {"choice": 1, "cities": ["Tokyo", "Seattle"], "seasons": ["Spring", "Summer"]},
            {"choice": 2, "cities": ["Seattle", "London"], "seasons": ["Summer"]},
            {"choice": 3, "cities": ["Tokyo", "London"], "seasons": ["Spring", "Summer"]},
        ],
    }


def test_script_json_cannot_close_the_script_element() -> None:
    text = script_json({"city": "</script><script>alert(1)</script>&"})

    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"city": "</script><script>alert(1)</script>&"}


@pytest.mark.parametrize(
    ("name", "mimetype"), [("progress.js", "text/javascript"), ("progress.css", "text/css")]
)
def test_each_asset_is_served_with_its_type(name: str, mimetype: str) -> None:
    response = get(PROGRESS_ASSET, f"/api/progress/static/{name}", {"file": name})

    assert response.status_code == 200
    assert (response.mimetype, response.charset) == (mimetype, "utf-8")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.get_body() == (STATIC_DIR / name).read_bytes()


@pytest.mark.parametrize(
    "name", ["progress.html", "../progress_api.py", "..%2Fprogress_api.py", "missing.js", ""]
)
def test_nothing_else_is_served(name: str) -> None:
    response = get(PROGRESS_ASSET, f"/api/progress/static/{name}", {"file": name})

    assert response.status_code == 404
    assert json.loads(response.get_body()) == {"error": f"No file named {name!r}.", "files": sorted(ASSETS)}


def test_the_page_script_never_writes_html_from_data() -> None:
    # Custom statuses, inputs and outputs come from whoever started the instance: the script builds
    # elements and sets textContent, never innerHTML.
    script = (STATIC_DIR / "progress.js").read_text()

    assert "innerHTML" not in script and "insertAdjacentHTML" not in script and "eval(" not in script


def test_the_static_files_deploy_with_the_app() -> None:
    # .funcignore decides what the deployment package leaves out (gitignore syntax, simplified here
    # to per-segment globs, which is all this file uses).
    patterns = [
        line.strip().strip("/")
        for line in (ROOT / ".funcignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for path in sorted(STATIC_DIR.iterdir()):
        relative = path.relative_to(ROOT)
        excluded = [
            p
            for p in patterns
            if any(fnmatch.fnmatch(part, p) for part in relative.parts) or fnmatch.fnmatch(str(relative), p)
        ]
        assert excluded == [], f"{relative} is left out of the package by {excluded}"
    assert {p.name for p in STATIC_DIR.iterdir()} == {"progress.html", *ASSETS}
