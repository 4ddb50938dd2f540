"""The one way orchestrators set their custom status: checked against the 16 KB limit first.

The Durable extension stores a custom status only if its compact JSON text, measured in UTF-16,
is at most 16 KB; a larger one fails the whole orchestration after the fact, and on Azure Storage an
even larger one can leave the instance stuck in Running. Checking here turns that into an immediate,
readable failure raised inside the orchestrator, while the last accepted status stays in place.
"""

from __future__ import annotations

import json
from typing import Any

import azure.durable_functions as df

# The extension's limit (MessagePayloadDataConverter, maxSizeInKB: 16).
MAX_CUSTOM_STATUS_KB = 16


class CustomStatusError(ValueError):
    """A custom status that the Durable extension would refuse to store."""


def custom_status_json(value: Any) -> str:
    """Return the JSON text the extension stores for `value`.

    The extension re-serializes the status compactly, without the spaces Python puts after ','
    and ':' and with non-ASCII characters written as themselves, so that is the text measured.

    Raises CustomStatusError if `value` is not JSON-serializable.
    """
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise CustomStatusError(
            f"The custom status must be JSON-serializable (dicts, lists, strings, numbers, booleans "
            f"and null): {exc}."
        ) from exc


def custom_status_size(value: Any) -> int:
    """Return the size in bytes of `value`'s stored JSON text encoded as UTF-16.

    Raises CustomStatusError if `value` is not JSON-serializable.
    """
    return len(custom_status_json(value).encode("utf-16-le", "surrogatepass"))


def check_custom_status(value: Any) -> None:
    """Raise CustomStatusError unless the extension would accept `value` as a custom status.

    The rule mirrors the extension exactly: whole kilobytes are counted by truncation
    (int(size / 1024)), so 17,407 bytes still count as 16 KB and 17,408 bytes are refused.
    """
    size = custom_status_size(value)
    size_kb = int(size / 1024)
    if size_kb > MAX_CUSTOM_STATUS_KB:
        raise CustomStatusError(
            f"The custom status is {size} bytes ({size_kb} KB) as UTF-16 JSON text, over the "
            f"{MAX_CUSTOM_STATUS_KB} KB limit of Durable Functions (at most "
            f"{(MAX_CUSTOM_STATUS_KB + 1) * 1024 - 1} bytes). Keep large data in external storage "
            f"and put only a reference or a summary in the custom status."
        )


def set_custom_status(context: df.DurableOrchestrationContext, value: Any) -> None:
    """Set the orchestration's custom status after checking it against the size limit.

    The new value becomes visible to clients when the orchestrator next yields or returns. The SDK
    does not send falsy values (0, "", False, {} or []): they leave the status unset for that
    episode, which clears it.

    Raises CustomStatusError if `value` is not JSON-serializable or is larger than 16 KB; the
    previous status is then left unchanged and the orchestration fails with that message.
    """
    check_custom_status(value)
    context.set_custom_status(value)
