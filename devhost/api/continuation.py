"""The `x-ms-continuation-token` of `GET instances`: an opaque token naming where the next page starts.

The extension hands out the storage provider's token: base64 of the table continuation as JSON
(azure-functions-durable-extension, src/WebJobs.Extensions.DurableTask/HttpApiHandler.cs, the list
handler; DurableTask.AzureStorage, Tracking/AzureTableTrackingStore.cs). devhost's token has the same
outer form, base64 of a JSON object, so a client that stores or forwards tokens sees the same kind of
value; what is inside is devhost's own.
"""

from __future__ import annotations

import base64
import binascii
import json

from ..errors import RequestError
from ..json_text import dumps_ascii

_KEY = "lastInstanceId"


def encode_token(last_instance_id: str | None) -> str:
    """The header value: empty on the last page (the extension always sends the header)."""
    if last_instance_id is None:
        return ""
    text = dumps_ascii({_KEY: last_instance_id})
    return base64.b64encode(text.encode()).decode("ascii")


def decode_token(header: str | None) -> str | None:
    """The instance id a page continues after; None for no token; RequestError for a token not ours."""
    if header is None or not header.strip():
        return None
    try:
        value = json.loads(base64.b64decode(header.strip(), validate=True))
    except (binascii.Error, ValueError, RecursionError):
        value = None
    if not isinstance(value, dict) or not isinstance(value.get(_KEY), str):
        raise RequestError(
            "The x-ms-continuation-token header is not a token from a previous page of this listing."
        )
    return value[_KEY]
