"""host.json / local.settings.json as the Functions host reads them (Newtonsoft `JObject.Parse`).

azure-functions-host, src/WebJobs.Script/Config/HostJsonFileConfigurationSource.cs (LoadHostConfig).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from devhost.__main__ import main
from devhost.config import load_settings
from devhost.errors import ConfigError
from devhost.lenient_json import LenientJsonError, parse_object


def test_comments_and_trailing_commas_are_read() -> None:
    text = """// host.json
    {
      /* the schema */ "version": "2.0",
      "extensions": {"durableTask": {"hubName": "Commented",},},  // trailing commas
      "list": [1, 2,],
    }
    // a comment after the object is fine
    """
    assert parse_object(text) == {
        "version": "2.0",
        "extensions": {"durableTask": {"hubName": "Commented"}},
        "list": [1, 2],
    }


def test_newtonsoft_leniencies_single_quotes_unquoted_names_and_last_duplicate_wins() -> None:
    parsed = parse_object("{ id: '123xyz', 'n': -1.5e2, x: NaN, h: 0x1F, d: 1, d: 2 }")
    assert parsed["id"] == "123xyz" and parsed["n"] == -150.0 and parsed["h"] == 31 and parsed["d"] == 2
    assert math.isnan(parsed["x"])


def test_escapes_in_strings() -> None:
    assert parse_object(r'{"a": "x\"y\\z\u00e9\n"}') == {"a": 'x"y\\z\u00e9\n'}


@pytest.mark.parametrize(
    ("text", "line", "column", "what"),
    [
        ('{"version": "2.0"}\n{"version": "2.0"}', 2, 1, "text after the closing '}'"),
        ('{"version": "2.0"} trailing', 1, 20, "text after the closing '}'"),
        ('{\n  "version": "2.0"\n  "logging": {}\n}', 3, 3, "add a comma"),
        ('{"version": ', 1, 13, "the text ends where a value is expected"),
        ("", 1, 1, "the file is empty"),
        ("[1, 2]", 1, 1, "one JSON object"),
        ('{"a": "open}', 1, 7, "string is never closed"),
        ('{"a": 1 /* open }', 1, 9, "comment is never closed"),
        ('{"a": tru}', 1, 7, "unexpected character 't'"),
    ],
)
def test_what_the_host_refuses_is_refused_with_line_column_and_a_fix(
    text: str, line: int, column: int, what: str
) -> None:
    with pytest.raises(LenientJsonError) as caught:
        parse_object(text)
    assert (caught.value.line, caught.value.column) == (line, column)
    assert what in caught.value.message


def _app(tmp_path: Path, host_json: str, local: str | None = None) -> Path:
    (tmp_path / "function_app.py").write_text("")
    (tmp_path / "host.json").write_text(host_json)
    if local is not None:
        (tmp_path / "local.settings.json").write_text(local)
    return tmp_path


def test_settings_come_from_a_commented_host_json(tmp_path: Path) -> None:
    app = _app(
        tmp_path,
        '{"version": "2.0", // comment\n "extensions": {"durableTask": {"hubName": "Commented",},},}',
        "{'Values': {FUNCTIONS_WORKER_RUNTIME: 'python',}, /* ok */}",
    )
    settings = load_settings(app)
    assert settings.hub_name == "Commented"
    assert settings.values == {"FUNCTIONS_WORKER_RUNTIME": "python"}


def test_a_second_object_in_local_settings_names_the_file_and_position(tmp_path: Path) -> None:
    app = _app(tmp_path, '{"version": "2.0"}', '{"Values": {}}\n\n  {"Values": {}}')
    with pytest.raises(ConfigError) as caught:
        load_settings(app)
    text = str(caught.value)
    assert "local.settings.json" in text and "line 3, column 3" in text and "remove this text" in text


def test_the_cli_exits_with_2_and_says_what_to_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = _app(tmp_path, '{"version": "2.0"}\n{"version": "2.0"}')
    assert main(["start", "--app", str(app), "--store", "memory", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "host.json" in err and "line 2, column 1" in err and "exactly one object" in err
