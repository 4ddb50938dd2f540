"""Route templates in the Functions host's syntax."""

from __future__ import annotations

import pytest

from devhost.api.app_routes import template_to_regex


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
    ],
)
def test_templates_match(template: str, path: str, params: dict[str, str | None]) -> None:
    match = template_to_regex(template).match(path)
    assert match is not None
    assert match.groupdict() == params


@pytest.mark.parametrize(
    ("template", "path"),
    [
        ("orchestrators/{functionName}", "/orchestrators/a/b"),
        ("orchestrators/{functionName}", "/orchestrators"),
        ("items/{id:int}", "/items/abc"),
        ("a.b", "/aXb"),
    ],
)
def test_templates_do_not_match(template: str, path: str) -> None:
    assert template_to_regex(template).match(path) is None
