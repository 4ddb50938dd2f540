"""The progress page: GET /api/progress shows a scenario's custom status live, in the browser.

* GET /api/progress?scenario=hello|city|ticket|set-status: a form that starts the scenario, then
  its progress; GET /api/progress?instance={id}: the progress of an existing instance; without a
  query, every scenario's form and a field to open an instance by id.
* GET /api/progress/static/{file}: the page's script and style sheet, shipped next to this module
  (clients/static/) and deployed with the app. No build step and nothing from a CDN.

Both routes are ANONYMOUS: the page and its files hold no data and change nothing, and a key in
their URLs would have to be written into the page for it to load its own files. Everything that
reads or changes an instance goes through clients/progress_api.py, which keeps the FUNCTION level:
on Azure open the page as /api/progress?code=<function key> and its script sends that key with
each call (header x-functions-key) without showing it.
"""

from __future__ import annotations

import html
import json
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import azure.durable_functions as df
import azure.functions as func

from clients.progress_api import SCENARIOS
from orchestrators.city_recommender import RECOMMENDATIONS
from orchestrators.hello_sequence import DEFAULT_CITIES
from orchestrators.names import PROGRESS_ASSET, PROGRESS_PAGE

bp = df.Blueprint()

STATIC_DIR = Path(__file__).resolve().parent / "static"

# The files the asset route serves, with their media types; no other name can be asked for.
ASSETS: dict[str, str] = {"progress.js": "text/javascript", "progress.css": "text/css"}

# The page loads nothing but its own files and calls nothing but its own app; no-referrer keeps a
# ?code= key in its URL from leaving with a click on the booking link.
PAGE_HEADERS: dict[str, str] = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}


@cache
def read_static(name: str) -> str:
    """Return the text of clients/static/`name`; raises OSError if it is missing."""
    return (STATIC_DIR / name).read_text(encoding="utf-8")


def page_config() -> dict[str, Any]:
    """Return what the page's script needs to know about the scenarios, taken from the app's own code."""
    return {
        "scenarios": [
            {"key": s.key, "orchestrator": s.orchestrator, "title": s.title, "event": s.event}
            for s in SCENARIOS
        ],
        "defaultCities": list(DEFAULT_CITIES),
        # Each choice with the cities and seasons it recommends, so the form can name them.
        "choices": [
            {
                "choice": choice,
                "cities": RECOMMENDATIONS[choice]["recommendedCities"],
                "seasons": RECOMMENDATIONS[choice]["recommendedSeasons"],
            }
            for choice in sorted(RECOMMENDATIONS)
        ],
    }


def script_json(value: Any) -> str:
    """Return `value` as JSON that is safe inside a <script> element (no "</script>" can end it)."""
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def asset_base(req: func.HttpRequest) -> str:
    """Return the path of the asset route as seen from the request (e.g. /api/progress/static).

    Taken from the request so it follows the host's route prefix, with or without a trailing slash.
    """
    return urlsplit(req.url).path.rstrip("/") + "/static"


def render_page(req: func.HttpRequest) -> str:
    """Return the page's HTML with the asset path and the scenario config filled in."""
    return (
        read_static("progress.html")
        .replace("{{ASSETS}}", html.escape(asset_base(req), quote=True))
        .replace("{{CONFIG}}", script_json(page_config()))
    )


@bp.function_name(PROGRESS_PAGE)
@bp.route(route="progress", methods=[func.HttpMethod.GET], auth_level=func.AuthLevel.ANONYMOUS)
def progress_page(req: func.HttpRequest) -> func.HttpResponse:
    """Answer the progress page (HTML); the query (scenario=, instance=) is read by its script."""
    return func.HttpResponse(
        render_page(req), status_code=200, mimetype="text/html", charset="utf-8", headers=PAGE_HEADERS
    )


@bp.function_name(PROGRESS_ASSET)
@bp.route(route="progress/static/{file}", methods=[func.HttpMethod.GET], auth_level=func.AuthLevel.ANONYMOUS)
def progress_asset(req: func.HttpRequest) -> func.HttpResponse:
    """Answer one of the page's files with its content type; 404 for any other name."""
    name = req.route_params.get("file", "")
    if name not in ASSETS:
        return func.HttpResponse(
            json.dumps({"error": f"No file named {name!r}.", "files": sorted(ASSETS)}),
            status_code=404,
            mimetype="application/json",
        )
    return func.HttpResponse(
        read_static(name),
        status_code=200,
        mimetype=ASSETS[name],
        charset="utf-8",
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"},
    )
