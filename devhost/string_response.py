"""A `str` an HTTP function returns, turned into a response the way the Functions host turns it.

The Python worker hands a returned `str` to the host as a plain string, not as an HTTP response. The
host (azure-functions-host, src/WebJobs.Script/Binding/Http/HttpBinding.cs: CreateResult,
ParseResponseObject; RawScriptResult.cs) first tries to read the string as JSON with
`JsonConvert.DeserializeObject`:

- text that is not JSON (most text) is sent as it is;
- a JSON object with a `body` property (any case) is a response object: `body` is sent, `status` or
  `statusCode` sets the status and `headers` the headers, `Content-Type` among them;
- any other object or array is written back by `JToken.ToString()`: indented by two spaces, with
  Newtonsoft's number forms (`1E+20`, `1.0`);
- a lone JSON value is written as .NET writes that value: a string without its quotes, `True` or
  `False`, a number in .NET's form, nothing for `null`.

The answer is `text/plain; charset=utf-8` unless the response object names another type. What is not
copied (docs/devhost.md): strings that look like ISO dates, which Newtonsoft turns into dates and .NET
then writes in the server's culture, stay as they were sent; `enableContentNegotiation` is ignored.
"""

from __future__ import annotations

from typing import Any

from .dotnet_text import double_text, int_text
from .json_text import dumps_newtonsoft, loads_body

TEXT_PLAIN = "text/plain; charset=utf-8"
_NOT_READ = object()
# What ToString() gives for the containers ExpandoObjectConverter makes of nested objects and arrays.
_TYPE_NAMES = {dict: "System.Dynamic.ExpandoObject", list: "System.Collections.Generic.List`1[System.Object]"}


def string_response(text: str) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of the response for a returned `text`."""
    value = _read_json(text)
    if value is _NOT_READ:
        return 200, {"Content-Type": TEXT_PLAIN}, text.encode("utf-8", "surrogatepass")
    status, headers = 200, {}
    if isinstance(value, dict):
        body_key = _key(value, "body")
        if body_key is not None:
            status, headers = _status(value), _headers(value)
            value = value[body_key]
            if isinstance(value, dict):  # an ExpandoObject body: Utility.ToJson, not indented
                value = dumps_newtonsoft(value)
            elif isinstance(value, list):  # a List<object>, which .NET writes as its type name
                value = _TYPE_NAMES[list]
    headers.setdefault("Content-Type", TEXT_PLAIN)
    return status, headers, _written(value).encode("utf-8", "surrogatepass")


def _read_json(text: str) -> Any:
    """The value `JsonConvert.DeserializeObject` reads (as a request body is read: loads_body), or
    _NOT_READ where it throws."""
    if not text.strip():
        return None  # DeserializeObject of blank text is null
    try:
        return loads_body(text.encode("utf-8", "surrogatepass"))
    except (ValueError, RecursionError):
        return _NOT_READ


def _written(value: Any) -> str:
    """`value` as RawScriptResult writes it: strings as they are, other values by their ToString()."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return double_text(value)
    return dumps_newtonsoft(value, indented=True)


def _key(obj: dict[str, Any], name: str) -> str | None:
    """The first key of `obj` that is `name` in any case (ExpandoObject TryGetValue, ignoreCase)."""
    return next((k for k in obj if k.lower() == name), None)


def _status(obj: dict[str, Any]) -> int:
    """`statusCode`, else `status`: a whole number, or text `int.TryParse` reads; else 200."""
    key = _key(obj, "statuscode") or _key(obj, "status")
    value = obj.get(key) if key is not None else None
    if isinstance(value, bool):
        return 200
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        number = int_text(value)
        if number is not None:
            return number
    return 200


def _headers(obj: dict[str, Any]) -> dict[str, str]:
    """The response object's `headers` object, each value by its ToString()."""
    key = _key(obj, "headers")
    given = obj.get(key) if key is not None else None
    if not isinstance(given, dict):
        return {}
    headers: dict[str, str] = {}
    for name, value in given.items():
        if value is None:
            continue
        text = _TYPE_NAMES[type(value)] if isinstance(value, (dict, list)) else _written(value)
        if name.lower() == "content-type":
            headers["Content-Type"] = text
        else:
            headers[name] = text
    return headers
