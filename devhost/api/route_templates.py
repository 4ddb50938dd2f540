"""HTTP trigger route templates, read and matched as ASP.NET Core routing reads and matches them.

The Functions host maps each HTTP function's route through ASP.NET Core's route builder
(azure-functions-host, src/WebJobs.Script.WebHost/WebScriptHostHttpRoutesManager.cs), so a route
template has ASP.NET's syntax and rules:

- parameters `{name}`, optional `{name?}`, with a default `{name=value}`, catch-all `{*rest}`;
  `{{` and `}}` stand for literal braces; literal text matches in any letter case;
- inline constraints, several chained (`{id:int:min(1)}`): `int`, `long`, `bool`, `datetime`,
  `decimal`, `double`, `float`, `guid`, `alpha`, `minlength(n)`, `maxlength(n)`, `length(n)`,
  `length(min,max)`, `min(n)`, `max(n)`, `range(min,max)`, `regex(expression)`, `required`, `file`,
  `nonfile`. A value a constraint refuses does not match the route, so the request goes on to the next
  route, or is a 404. A constraint ASP.NET does not know keeps the route from being built at all;
- when several routes match a path, the most specific wins, whatever order the functions are in:
  literal segments before constrained parameters, before plain parameters, before catch-alls, segment
  by segment from the left (ASP.NET Core's `RoutePrecedence.ComputeInbound`);
- a path is matched decoded, except `%2F`, which Kestrel leaves encoded so that it can never split a
  segment: `/files/a%2Fb` gives `{name}` the value `a%2Fb`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import unquote

from ..dotnet_text import int_text, try_bool, try_datetime, try_double


class TemplateError(ValueError):
    """A route template ASP.NET Core would not build a route from."""


_GUID = re.compile(
    r"\s*(?:[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    r"|\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}"
    r"|\([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\))\s*",
    re.IGNORECASE,
)
_ALPHA = re.compile(r"[a-z]*", re.IGNORECASE)
_ENCODED_SLASH = re.compile("(%2[fF])")

Check = Callable[[str], bool]


def _int64(value: str) -> int | None:
    return int_text(value, 64)


def _file(value: str) -> bool:
    last = value.rsplit("/", 1)[-1]
    dot = last.rfind(".")
    return 0 <= dot < len(last) - 1


def _numbers(name: str, args: str, count: int) -> list[int]:
    parts = [a.strip() for a in args.split(",")] if args else []
    if len(parts) != count or any(_int64(p) is None for p in parts):
        raise TemplateError(f"the constraint '{name}' takes {count} whole number(s), not '{args}'")
    return [int(p) for p in parts]


def _constraint(name: str, args: str | None) -> Check | None:
    """The check for one inline constraint (DefaultInlineConstraintResolver's map), or None if unknown."""
    simple: dict[str, Check] = {
        "int": lambda v: int_text(v) is not None,
        "long": lambda v: _int64(v) is not None,
        "bool": lambda v: try_bool(v) is not None,
        "datetime": lambda v: try_datetime(v) is not None,
        "decimal": lambda v: try_double(v) is not None,
        "double": lambda v: try_double(v) is not None,
        "float": lambda v: try_double(v) is not None,
        "guid": lambda v: _GUID.fullmatch(v) is not None,
        "alpha": lambda v: _ALPHA.fullmatch(v) is not None,
        "required": lambda v: v != "",
        "file": _file,
        "nonfile": lambda v: not _file(v),
    }
    key = name.lower()
    if key in simple:
        return simple[key]
    text = args or ""
    if key == "regex":
        try:
            expression = re.compile(text, re.IGNORECASE)
        except re.error as exc:
            raise TemplateError(f"the regex constraint '{text}' is not a regular expression: {exc}") from None
        return lambda v: expression.search(v) is not None
    if key in ("minlength", "maxlength"):
        (n,) = _numbers(name, text, 1)
        return (lambda v: len(v) >= n) if key == "minlength" else (lambda v: len(v) <= n)
    if key == "length":
        bounds = _numbers(name, text, 2 if "," in text else 1)
        low, high = bounds[0], bounds[-1]
        return lambda v: low <= len(v) <= high
    if key in ("min", "max"):
        (n,) = _numbers(name, text, 1)

        def bounded(v: str) -> bool:
            number = _int64(v)
            return number is not None and (number >= n if key == "min" else number <= n)

        return bounded
    if key == "range":
        low, high = _numbers(name, text, 2)

        def in_range(v: str) -> bool:
            number = _int64(v)
            return number is not None and low <= number <= high

        return in_range
    return None


@dataclass(slots=True)
class _Parameter:
    name: str
    catch_all: bool
    optional: bool
    default: str | None
    checks: list[Check] = field(default_factory=list)


@dataclass(slots=True)
class _Segment:
    parts: list[str | _Parameter]  # literal text or a parameter


def _read_parameter(text: str, template: str) -> _Parameter:
    """One parameter's text between its braces: [*|**]name[:constraint[(args)]]...[?][=default]."""
    catch_all = text.startswith("*")
    body = text.lstrip("*")
    match = re.match(r"[^:=?]*", body)
    name = match.group(0) if match else ""
    if not name:
        raise TemplateError(f"a parameter of the route '{template}' has no name")
    pos = len(name)
    checks: list[Check] = []
    while pos < len(body) and body[pos] == ":":
        end = pos + 1
        while end < len(body) and body[end] not in ":=?(":
            end += 1
        constraint = body[pos + 1 : end]
        args = None
        if end < len(body) and body[end] == "(":
            close = _closing(body, end)
            args = body[end + 1 : close]
            end = close + 1
        check = _constraint(constraint, args)
        if check is None:
            raise TemplateError(
                f"The constraint entry '{name}' - '{constraint}{f'({args})' if args is not None else ''}' on "
                f"the route '{template}' could not be resolved by the constraint resolver of type "
                "'DefaultInlineConstraintResolver'."
            )
        checks.append(check)
        pos = end
    optional = False
    default = None
    rest = body[pos:]
    if rest.startswith("?"):
        optional, rest = True, rest[1:]
    if rest.startswith("="):
        default, rest = rest[1:], ""
        optional = True
    if rest:
        raise TemplateError(f"the parameter '{{{text}}}' of the route '{template}' cannot be read")
    return _Parameter(name, catch_all, optional or catch_all, default, checks)


def _closing(body: str, start: int) -> int:
    """Where the argument list opened at `start` ends: the last ')' before the next ':', '=', '?' or the
    end (a regex may hold brackets of its own)."""
    candidates = [i for i in range(start + 1, len(body)) if body[i] == ")"]
    for i in candidates:
        if i + 1 == len(body) or body[i + 1] in ":=?":
            return i
    raise TemplateError(f"the constraint arguments in '{body}' have no closing ')'")


def _segments(template: str) -> list[_Segment]:
    segments: list[_Segment] = []
    for raw in template.strip("/").split("/") if template.strip("/") else []:
        parts: list[str | _Parameter] = []
        literal = ""
        pos = 0
        while pos < len(raw):
            ch = raw[pos]
            if raw.startswith("{{", pos) or raw.startswith("}}", pos):
                literal += ch
                pos += 2
            elif ch == "{":
                end = pos + 1
                while end < len(raw) and not (raw[end] == "}" and not raw.startswith("}}", end)):
                    end += 2 if raw.startswith("}}", end) or raw.startswith("{{", end) else 1
                if end >= len(raw):
                    raise TemplateError(f"a '{{' in the route '{template}' is not closed")
                if literal:
                    parts.append(literal)
                    literal = ""
                inner = raw[pos + 1 : end].replace("}}", "}").replace("{{", "{")
                parts.append(_read_parameter(inner, template))
                pos = end + 1
            elif ch == "}":
                raise TemplateError(f"a '}}' in the route '{template}' has no opening '{{'")
            else:
                literal += ch
                pos += 1
        if literal:
            parts.append(literal)
        segments.append(_Segment(parts))
    return segments


def _digit(segment: _Segment) -> int:
    """ASP.NET's inbound precedence digit of a segment: lower is more specific."""
    if len(segment.parts) > 1:
        return 2
    part = segment.parts[0]
    if isinstance(part, str):
        return 1
    digit = 5 if part.catch_all else 3
    return digit - 1 if part.checks else digit


class RouteTemplate:
    """A compiled route template: `match(path)` gives the route values, or None."""

    def __init__(self, template: str) -> None:
        self.template = template
        self._segments = _segments(template)
        self._parameters = [p for s in self._segments for p in s.parts if isinstance(p, _Parameter)]
        self._regex = self._compile()
        self.precedence = sum(
            (Decimal(_digit(s)) / Decimal(10) ** i for i, s in enumerate(self._segments)), Decimal(0)
        )

    def _compile(self) -> re.Pattern[str]:
        pattern = ""
        for segment in self._segments:
            piece = ""
            optional = False
            for part in segment.parts:
                if isinstance(part, str):
                    piece += re.escape(part)
                    continue
                body = ".*" if part.catch_all else "[^/]+"
                piece += f"(?P<p{self._parameters.index(part)}>{body})"
                optional = optional or part.optional
            pattern += f"(?:/{piece})?" if optional and len(segment.parts) == 1 else f"/{piece}"
        return re.compile("^" + pattern + "/?$", re.IGNORECASE | re.DOTALL)

    def match(self, path: str) -> dict[str, str | None] | None:
        """The route values for `path` (as `request_path` gives it), or None if it does not match."""
        found = self._regex.match(path)
        if found is None:
            return None
        values: dict[str, str | None] = {}
        for n, parameter in enumerate(self._parameters):
            value = found.group(f"p{n}")
            if parameter.catch_all and value == "":
                value = None
            if value is None:
                values[parameter.name] = parameter.default
                continue
            if not all(check(value) for check in parameter.checks):
                return None
            values[parameter.name] = value
        return values


def request_path(raw_path: str) -> str:
    """A request's path as Kestrel hands it to routing: percent-decoded as UTF-8, except `%2F`."""
    path = raw_path.split("?", 1)[0].split("#", 1)[0]
    if "%" not in path:
        return path
    pieces = _ENCODED_SLASH.split(path)
    return "".join(p if n % 2 else unquote(p, errors="replace") for n, p in enumerate(pieces))
