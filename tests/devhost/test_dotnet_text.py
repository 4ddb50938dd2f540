"""How .NET and Newtonsoft write numbers and parsed JSON back, where devhost must write the same text."""

from __future__ import annotations

import math

import pytest

from devhost.dotnet_text import double_text, int_text
from devhost.json_text import dumps_newtonsoft


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.0, "1"),
        (1.5, "1.5"),
        (-0.0, "-0"),
        (0.1, "0.1"),
        (100.0, "100"),
        (1e14, "100000000000000"),
        (1e15, "1E+15"),
        (1234567890123456.0, "1234567890123456"),
        (123456789012345678.0, "1.2345678901234568E+17"),
        (0.0001, "0.0001"),
        (0.00001, "1E-05"),
        (-1.5e-7, "-1.5E-07"),
        (2.5e300, "2.5E+300"),
        (math.nan, "NaN"),
        (-math.inf, "-Infinity"),
    ],
)
def test_a_double_is_written_as_dotnet_writes_it(value: float, text: str) -> None:
    assert double_text(value) == text


@pytest.mark.parametrize(
    ("text", "number"),
    [("201", 201), (" +7 ", 7), ("-3", -3), ("2147483648", None), ("1.0", None), ("", None), ("0x10", None)],
)
def test_int_tryparse(text: str, number: int | None) -> None:
    assert int_text(text) == number
    assert int_text("2147483648", 64) == 2147483648


def test_newtonsoft_writes_parsed_json_back_with_its_own_number_forms() -> None:
    value = {"a": [1, 2.0, 1e20, math.nan], "b": {}, "c": [], "d": {"e": "line\u2028break"}}
    assert dumps_newtonsoft(value) == '{"a":[1,2.0,1E+20,"NaN"],"b":{},"c":[],"d":{"e":"line\\u2028break"}}'
    assert dumps_newtonsoft(value, indented=True) == (
        '{\n  "a": [\n    1,\n    2.0,\n    1E+20,\n    "NaN"\n  ],\n  "b": {},\n  "c": [],\n'
        '  "d": {\n    "e": "line\\u2028break"\n  }\n}'
    )
