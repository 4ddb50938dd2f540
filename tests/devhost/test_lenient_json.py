"""host.json, local.settings.json and request bodies as the Functions host and the Durable extension
read them (Newtonsoft).

azure-functions-host, src/WebJobs.Script/Config/HostJsonFileConfigurationSource.cs (LoadHostConfig).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from devhost.__main__ import main
from devhost.config import load_settings
from devhost.errors import ConfigError
from devhost.json_text import LENIENT_LIMIT_CHARS, loads_body
from devhost.lenient_json import LenientJsonError, parse_object, parse_value


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


@pytest.mark.parametrize(
    ("text", "ignore_rest", "expected"),
    [
        ("{'a': [1,], b: null,}", False, {"a": [1], "b": None}),
        ('"x" /* then a comment */', False, "x"),
        ('{"a": 1} {"b": 2}', True, {"a": 1}),
        ("[1] and some text", True, [1]),
        ("undefined", False, None),
    ],
)
def test_a_body_value_is_read_as_json_text_reader_reads_it(
    text: str, ignore_rest: bool, expected: object
) -> None:
    assert parse_value(text, ignore_rest=ignore_rest) == expected


@pytest.mark.parametrize(
    ("text", "where"), [('{"a": 1} {"b": 2}', "column 10"), ("", "column 1"), ("[1 2]", "column 4")]
)
def test_a_body_that_is_not_one_value_is_refused_with_its_place(text: str, where: str) -> None:
    with pytest.raises(LenientJsonError, match=where):
        parse_value(text)


@pytest.mark.parametrize("text", ["12abc", "2020-01-01T00:00:00Z", "1.2.3", "-", "truex", "null1", "[1x]"])
def test_a_number_or_word_that_runs_on_is_refused_even_when_the_rest_is_ignored(text: str) -> None:
    """JsonTextReader reads every character a number may hold, then needs a separator and a valid number
    (ReadNumberIntoBuffer); `true`, `null` and the like need a separator after them too."""
    with pytest.raises(LenientJsonError):
        parse_value(text, ignore_rest=True)


@pytest.mark.parametrize(
    ("text", "expected"), [("12 rest", 12), ("1)", 1), ("0x1F,", 31), ("true/**/", True)]
)
def test_a_number_or_word_ends_at_a_separator(text: str, expected: object) -> None:
    assert parse_value(text, ignore_rest=True) == expected


def test_a_big_body_that_is_not_strict_json_is_not_read_leniently() -> None:
    """Past LENIENT_LIMIT_CHARS the strict parser's error stands: no slow pure-Python read on the loop."""
    big = b"{a: '" + b"x" * (LENIENT_LIMIT_CHARS + 10) + b"'}"
    with pytest.raises(ValueError) as refused:
        loads_body(big)
    assert not isinstance(refused.value, LenientJsonError)
    assert loads_body(big[: LENIENT_LIMIT_CHARS // 2] + b"'}") == {"a": "x" * (LENIENT_LIMIT_CHARS // 2 - 5)}


def test_a_body_nested_past_newtonsofts_max_depth_is_refused() -> None:
    """Newtonsoft.Json 13 reads at most 64 levels of objects and arrays (MaxDepth), strict or not."""
    innermost = loads_body(b"[" * 64 + b"]" * 64)
    for _ in range(63):
        (innermost,) = innermost
    assert innermost == []
    deep_object = b'{"a":' * 65 + b"1" + b"}" * 65
    for body in (b"[" * 65 + b"]" * 65, deep_object, b"{a: " + b"[" * 64 + b"]" * 64 + b"}"):
        with pytest.raises(ValueError, match="nested more than 64 levels"):
            loads_body(body)
    wide = b"[" + b"[1]," * 1000 + b"[1]]"  # many brackets, shallow
    assert len(loads_body(wide)) == 1001
