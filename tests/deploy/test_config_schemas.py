"""host.json, local.settings.json and azure.yaml checked against the schemas kept in schemas/.

The public schemas (SchemaStore's host.json and local.settings.json, azd's azure.yaml) cannot be fetched
offline, so trimmed and stricter copies live in schemas/. Every schema is also shown to reject the
mistakes it exists for, so that a schema loosened by accident fails here too.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
import pytest
import yaml

from .packaging import ROOT

SCHEMAS = ROOT / "schemas"


def load(name: str) -> Any:
    text = (ROOT / name).read_text(encoding="utf-8")
    return yaml.safe_load(text) if name.endswith(".yaml") else json.loads(text)


def validator(name: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def errors(name: str, document: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}"
        for error in validator(name).iter_errors(document)
    ]


def changed(name: str, path: str, value: Any) -> Any:
    """The committed document with the value at a slash-separated path replaced (None deletes it)."""
    document = copy.deepcopy(load(name))
    *parents, last = path.split("/")
    target = document
    for key in parents:
        target = target[key]
    if value is None:
        del target[last]
    else:
        target[last] = value
    return document


@pytest.mark.parametrize("name", ["host.json", "local.settings.json", "azure.yaml"])
def test_the_committed_file_is_valid(name: str) -> None:
    assert errors(name, load(name)) == []


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("version", "1.0"),
        ("extensionBundle", None),
        ("extensionBundle/id", "Microsoft.Azure.Functions.ExtensionBundle.Preview"),
        ("extensionBundle/version", "[3.*, 4.0.0)"),
        ("extensionBundle/version", "4.*"),
        ("extensions/durableTask/hubName", "Custom-Status-Hub"),
        ("extensions/durableTask/hubName", "1CustomStatusHub"),
        ("extensions/durableTask/hubName", "ab"),
        ("extensions/durableTask/hubName", "H" * 46),
        ("extensions/durableTask/hubname", "CustomStatusHub"),
        ("extensions/durableTask/maxConcurrentActivityFunctions", 0),
        ("extensions/http/routePrefix", "/api"),
        ("extensions/http/routPrefix", "api"),
        ("logging/applicationInsights/samplingSettings/excludedTypes", "Requests"),
        ("logging/logLevel", {"default": "Verbose"}),
    ],
)
def test_host_json_mistakes_are_rejected(path: str, value: Any) -> None:
    assert errors("host.json", changed("host.json", path, value)) != []


def test_the_longest_and_shortest_hub_names_are_accepted() -> None:
    for name in ("Hub", "H" * 45):
        assert errors("host.json", changed("host.json", "extensions/durableTask/hubName", name)) == []


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("IsEncrypted", True),
        ("Values/FUNCTIONS_WORKER_RUNTIME", "node"),
        ("Values/FUNCTIONS_WORKER_RUNTIME", None),
        (
            "Values/AzureWebJobsStorage",
            "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=abc==;EndpointSuffix=core.windows.net",
        ),
        (
            "Values/APPLICATIONINSIGHTS_CONNECTION_STRING",
            "InstrumentationKey=00000000-0000;IngestionEndpoint=x",
        ),
        ("Values/RESERVATION_DEADLINE_SECONDS", 60),
        ("Values/CITY_SELECTION_DEADLINE_SECONDS", "five minutes"),
        ("Values/Some:Section", "x"),
        ("ConnectionStrings", {"Db": "Server=x"}),
        ("Host", {"LocalHttpPort": "7071"}),
    ],
)
def test_local_settings_mistakes_and_secrets_are_rejected(path: str, value: Any) -> None:
    assert errors("local.settings.json", changed("local.settings.json", path, value)) != []


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("name", "Durable_Custom_Status"),
        ("services", {}),
        ("services/api/host", "containerapp"),
        ("services/api/language", "js"),
        ("services/api/project", None),
        ("infra/provider", "terraform"),
    ],
)
def test_azure_yaml_mistakes_are_rejected(path: str, value: Any) -> None:
    assert errors("azure.yaml", changed("azure.yaml", path, value)) != []


def test_every_host_json_setting_is_documented() -> None:
    section = (ROOT / "docs" / "host-json.md").read_text(encoding="utf-8")

    def leaves(node: Any, prefix: str = "") -> list[str]:
        if not isinstance(node, dict):
            return [prefix]
        return [leaf for key, value in node.items() for leaf in leaves(value, f"{prefix}{key}.")]

    settings = [leaf.rstrip(".") for leaf in leaves(load("host.json"))]
    assert [setting for setting in settings if f"`{setting}`" not in section] == []
