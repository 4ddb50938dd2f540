"""JSON as Newtonsoft's JsonTextReader reads it, not strict JSON: host.json as the Functions host reads it
(`JObject.Parse`), and the bodies the Durable extension reads (`parse_value`).

Accepted, as Newtonsoft's JsonTextReader accepts them: `//` and `/* */` comments, trailing commas,
single-quoted strings, unquoted property names, NaN/Infinity, duplicate keys (the last wins).
Refused, as `JObject.Parse` refuses it: anything but one object, and any text after it other than
whitespace and comments ("Additional text found in JSON string after parsing content").
Errors carry a 1-based line and column and say what to fix. See docs/engine-parity.md.
"""

from __future__ import annotations

import math
import re
from typing import Any

_NUMBER = re.compile(r"-?(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)")
_NUMBER_CHARS = re.compile(r"[-.0-9a-fA-FxX+eE]*")
_UNQUOTED_NAME = re.compile(r"[A-Za-z0-9_$]+")
_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_WORDS = {"true": True, "false": False, "null": None, "undefined": None, "NaN": math.nan}


class LenientJsonError(ValueError):
    """Where the text stops being JSON the host would read, and what to do about it."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(f"line {line}, column {column}: {message}")
        self.message = message
        self.line = line
        self.column = column


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, message: str, pos: int | None = None) -> LenientJsonError:
        at = self.pos if pos is None else pos
        line = self.text.count("\n", 0, at) + 1
        column = at - (self.text.rfind("\n", 0, at) + 1) + 1
        return LenientJsonError(message, line, column)

    def skip_blank(self) -> None:
        """Whitespace and comments."""
        text = self.text
        while self.pos < len(text):
            ch = text[self.pos]
            if ch in " \t\r\n\ufeff\u00a0":
                self.pos += 1
            elif text.startswith("//", self.pos):
                end = text.find("\n", self.pos)
                self.pos = len(text) if end == -1 else end + 1
            elif text.startswith("/*", self.pos):
                end = text.find("*/", self.pos + 2)
                if end == -1:
                    raise self.fail("a /* comment is never closed: add */ where it should end")
                self.pos = end + 2
            elif ch == "/":
                raise self.fail("a '/' that does not start a comment: comments are // or /* */")
            else:
                return

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def value(self) -> Any:
        self.skip_blank()
        ch = self.peek()
        if ch == "{":
            return self.object()
        if ch == "[":
            return self.array()
        if ch and ch in "\"'":
            return self.string()
        if not ch:
            raise self.fail("the text ends where a value is expected: complete or remove the last entry")
        if (ch.isdigit() or ch in "-.") and not self.text.startswith("-Infinity", self.pos):
            # Newtonsoft reads every character that can be part of a number, then needs a separator
            # after them (JsonTextReader.ReadNumberIntoBuffer) and a valid number in them.
            token = _NUMBER_CHARS.match(self.text, self.pos)
            literal = token.group() if token else ""
            start, self.pos = self.pos, self.pos + len(literal)
            self._separator_after(f"unexpected character {self.peek()!r} in the number {literal!r}")
            if not _NUMBER.fullmatch(literal):
                raise self.fail(f"{literal!r} is not a valid number", start)
            if "x" in literal.lower():
                return int(literal, 16)
            return float(literal) if any(c in literal for c in ".eE") else int(literal)
        for word in ("-Infinity", "Infinity", *_WORDS):
            if self.text.startswith(word, self.pos):
                self.pos += len(word)
                self._separator_after(f"unexpected character {self.peek()!r} after {word!r}")
                return {"-Infinity": -math.inf, "Infinity": math.inf}.get(word, _WORDS.get(word))
        raise self.fail(
            f"unexpected character {ch!r} where a value is expected: "
            "write a string in quotes, a number, true, false, null, an object or an array"
        )

    def _separator_after(self, message: str) -> None:
        """A number or a word must end at white space, `,`, `}`, `]`, `)`, a comment or the end."""
        ch = self.peek()
        if ch and not (ch.isspace() or ch in ",}])/"):
            raise self.fail(message)

    def string(self) -> str:
        quote = self.text[self.pos]
        start = self.pos
        self.pos += 1
        out: list[str] = []
        text = self.text
        while True:
            if self.pos >= len(text):
                raise self.fail(f"a string is never closed: add the closing {quote}", start)
            ch = text[self.pos]
            if ch == quote:
                self.pos += 1
                return "".join(out)
            if ch == "\\":
                nxt = text[self.pos + 1 : self.pos + 2]
                if nxt == "u":
                    digits = text[self.pos + 2 : self.pos + 6]
                    if not re.fullmatch(r"[0-9a-fA-F]{4}", digits):
                        raise self.fail("\\u must be followed by four hex digits")
                    out.append(chr(int(digits, 16)))
                    self.pos += 6
                    continue
                if nxt not in _ESCAPES:
                    raise self.fail(f"unknown escape \\{nxt} in a string: write \\\\ for a backslash")
                out.append(_ESCAPES[nxt])
                self.pos += 2
                continue
            out.append(ch)
            self.pos += 1

    def name(self) -> str:
        ch = self.peek()
        if ch and ch in "\"'":
            return self.string()
        match = _UNQUOTED_NAME.match(self.text, self.pos)
        if not match:
            raise self.fail(
                f"unexpected character {ch!r} where a property name is expected: put the name in quotes"
            )
        self.pos = match.end()
        return match.group()

    def object(self) -> dict[str, Any]:
        self.pos += 1
        out: dict[str, Any] = {}
        while True:
            self.skip_blank()
            if self.peek() == "}":
                self.pos += 1
                return out
            if not self.peek():
                raise self.fail("the text ends inside an object: add the closing }")
            key = self.name()
            self.skip_blank()
            if self.peek() != ":":
                raise self.fail(f"expected ':' after the property name {key!r}")
            self.pos += 1
            out[key] = self.value()
            self.skip_blank()
            ch = self.peek()
            if ch == ",":
                self.pos += 1
            elif ch != "}":
                raise self.fail(
                    "expected ',' or '}' after a property value: add a comma between properties"
                    if ch
                    else "the text ends inside an object: add the closing }"
                )

    def array(self) -> list[Any]:
        self.pos += 1
        out: list[Any] = []
        while True:
            self.skip_blank()
            if self.peek() == "]":
                self.pos += 1
                return out
            if not self.peek():
                raise self.fail("the text ends inside an array: add the closing ]")
            out.append(self.value())
            self.skip_blank()
            ch = self.peek()
            if ch == ",":
                self.pos += 1
            elif ch != "]":
                raise self.fail(
                    "expected ',' or ']' after an array item: add a comma between items"
                    if ch
                    else "the text ends inside an array: add the closing ]"
                )


def parse_object(text: str) -> dict[str, Any]:
    """The one JSON object in `text`, read as `JObject.Parse` reads it; LenientJsonError otherwise."""
    reader = _Reader(text)
    reader.skip_blank()
    if reader.peek() != "{":
        if not reader.peek():
            raise reader.fail("the file is empty: it must hold one JSON object, e.g. {}")
        raise reader.fail("the file must hold one JSON object, starting with '{'")
    result = reader.object()
    reader.skip_blank()
    if reader.pos < len(text):
        raise reader.fail(
            "text after the closing '}' of the JSON object: the host reads exactly one object; "
            "remove this text or move its settings into the object"
        )
    return result


def parse_value(text: str, *, ignore_rest: bool = False) -> Any:
    """The JSON value at the start of `text`, read as Newtonsoft reads a request body; LenientJsonError
    otherwise. After the value, `ignore_rest` reads nothing more (`JToken.Load` on a JsonTextReader);
    without it only blanks and comments may follow (`JsonConvert.DeserializeObject`, which checks for
    additional content). NaN and the infinities come back as Python floats."""
    reader = _Reader(text)
    reader.skip_blank()
    if not reader.peek():
        raise reader.fail("the body holds no JSON value")
    result = reader.value()
    if ignore_rest:
        return result
    reader.skip_blank()
    if reader.pos < len(text):
        raise reader.fail("text after the JSON value: send exactly one value")
    return result
