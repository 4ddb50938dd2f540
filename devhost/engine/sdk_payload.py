"""What the SDK's `handle()` is given and what of its answer the host checks.

The orchestration trigger's JSON is built as the extension builds it for out-of-process SDKs
(azure-functions-durable-extension, src/WebJobs.Extensions.DurableTask/Bindings/
OrchestrationTriggerAttributeBindingProvider.cs; docs/protocol.md, docs/engine-parity.md).
"""

from __future__ import annotations

import json
from typing import Any

from .. import history as h
from ..json_text import utf16_size
from ..store import InstanceRecord

CUSTOM_STATUS_LIMIT_KB = 16
# What the extension tells out-of-proc SDKs (OrchestrationTriggerAttributeBindingProvider.cs):
# replay schema V2 in the old field and V3 in the new one, and the Azure Storage provider's timer limits
# (AzureStorageDurabilityProvider.cs: MaximumDelayTime 6 days, LongRunningTimerIntervalLength 3 days)
# written as .NET TimeSpans. With them the SDK splits a timer longer than 6 days into 3-day timers.
SCHEMA_V2, SCHEMA_V3 = 1, 2
MAX_SHORT_TIMER = "6.00:00:00"
LONG_TIMER_INTERVAL = "3.00:00:00"


def custom_status_size_error(status: Any) -> str | None:
    """The extension's 16 KB rule on compact JSON measured in UTF-16; the error text, or None."""
    text = h.dumps(status)
    size_kb = int(utf16_size(text) / 1024.0)
    if size_kb > CUSTOM_STATUS_LIMIT_KB:
        return (
            "The UTF-16 size of the JSON-serialized payload must not exceed 16 KB. "
            f"The current payload size is {size_kb} KB."
        )
    return None


def payload_tail(http_poll_ms: int = 30000) -> str:
    """The trigger fields after the instance's own, in the order the extension writes them
    (docs/protocol.md, docs/engine-parity.md): schema V2/V3, the Azure Storage provider's timer
    limits, and the HTTP polling interval."""
    return (
        f',"upperSchemaVersion":{SCHEMA_V2},"upperSchemaVersionNew":{SCHEMA_V3}'
        f',"longRunningTimerIntervalDuration":"{LONG_TIMER_INTERVAL}"'
        f',"maximumShortTimerDuration":"{MAX_SHORT_TIMER}"'
        f',"defaultHttpAsyncRequestSleepTimeMillseconds":{int(http_poll_ms)}}}'
    )


def trigger_payload(
    inst: InstanceRecord, played: list[str], fresh: list[str], tail: str | None = None
) -> str:
    """The orchestration trigger's JSON, which the SDK's `handle()` replays: `played` stored events
    (JSON texts), then `fresh` new ones; `tail` from `payload_tail`."""
    parent = inst.parent["instanceId"] if inst.parent else None
    return (
        '{"history":['
        + ",".join([*played, *fresh])
        + "]"
        + ',"input":'
        + (inst.input if inst.input is not None else "null")
        + ',"instanceId":'
        + json.dumps(inst.instance_id)
        + ',"isReplaying":'
        + ("true" if played else "false")
        + ',"parentInstanceId":'
        + json.dumps(parent)
        + (tail if tail is not None else payload_tail())
    )
