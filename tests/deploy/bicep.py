"""infra/*.bicep parsed offline, for structure tests.

The Bicep CLI (which type-checks templates against the resource providers' schemas) cannot be installed
here, so the templates are parsed with pycep-parser, the Bicep parser checkov uses: a syntax error fails
the parse, and the result is a JSON-like tree of parameters, variables, resources, modules and outputs.
pycep keeps identifiers and string literals alike as Python strings, and expressions as nested
{"operator": ...} / {"function": ...} nodes; `render` turns those back into compact Bicep text.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, cast

from pycep import BicepParser

INFRA = Path(__file__).resolve().parents[2] / "infra"


@cache
def parse_text(text: str) -> dict[str, Any]:
    """Parse Bicep source; raises lark's UnexpectedInput (or ValueError) on a syntax error."""
    return cast(dict[str, Any], BicepParser().parse(text=text))


def parse(name: str) -> dict[str, Any]:
    """Parse infra/<name>."""
    return parse_text((INFRA / name).read_text(encoding="utf-8"))


def render(node: Any) -> Any:
    """Render pycep's expression nodes as Bicep text ("storage.properties.primaryEndpoints.blob");
    objects and arrays keep their shape, with their values rendered."""
    if isinstance(node, list):
        return [render(item) for item in node]
    if not isinstance(node, dict):
        return node
    if "operator" in node and len(node) == 1:
        operator = node["operator"]
        operands = [render(value) for value in operator["operands"].values()]
        if operator["type"] == "property_accessor":
            return ".".join(str(operand) for operand in operands)
        if operator["type"] == "conditional":
            return f"{operands[0]} ? {operands[1]} : {operands[2]}"
        return f"{operator['type']}({', '.join(map(str, operands))})"
    if "function" in node and len(node) == 1:
        function = node["function"]
        arguments = [render(value) for value in function.get("parameters", {}).values() if value is not None]
        return f"{function['type']}({', '.join(map(str, arguments))})"
    return {key: render(value) for key, value in node.items()}


def decorators(declaration: dict[str, Any]) -> dict[str, Any]:
    """A declaration's decorators by name: {"description": "...", "allowed": [...]}."""
    return {decorator["type"]: decorator["argument"] for decorator in declaration["decorators"]}


def resource_body(resource: dict[str, Any]) -> dict[str, Any]:
    """The object of a resource declaration, through a loop or a deployment condition."""
    body = resource["config"]
    while "config" in body and ("loop_type" in body or "condition" in body):
        body = body["config"]
    return dict(body)


def app_settings(function_app: dict[str, Any]) -> dict[str, Any]:
    """The function app's siteConfig.appSettings as {name: rendered value}."""
    entries = resource_body(function_app)["properties"]["siteConfig"]["appSettings"]
    return {entry["name"]: render(entry["value"]) for entry in entries}
