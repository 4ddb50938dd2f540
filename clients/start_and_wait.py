"""Client HttpStartAndWait: start an orchestration and answer only once its custom status reaches a target.

POST /api/orchestrators/{functionName}/wait-for-status?target=London&timeout=30&interval=0.25

The article's starter polls forever with a blocking sleep and never notices a failed instance. This
one polls without blocking the worker, stops when the instance ends, and gives up after a timeout:

* 200: the custom status equals the target; body {instanceId, runtimeStatus, customStatus, output}.
* 409: the instance completed, or was terminated or canceled, and no poll saw the target.
* 500: the instance failed and no poll saw the target; `output` holds the failure message.
* 202: the timeout passed first; the standard check-status response, to keep polling elsewhere.
* 400 / 404: a bad query value or body, or an unknown orchestrator (JSON error body).

Polling can only report what it saw, so every 200, 409, 500 and 202 body also carries `observed`
(the custom-status values the polls read, in order, a value repeated by consecutive polls listed
once, null left out) and `polls` (how many status queries were sent). A status set and replaced
between two polls is never among them.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from clients.start_request import BadRequestError, json_response, read_start_request
from orchestrators.names import HELLO_SEQUENCE, HTTP_START_AND_WAIT

bp = df.Blueprint()

# The article's example waits for E1_HelloSequence to reach its last city.
DEFAULT_TARGETS: dict[str, str] = {HELLO_SEQUENCE: "London"}

DEFAULT_TIMEOUT_SECONDS = 30.0
# Below the 230 s after which Azure's front end drops an HTTP request that has not answered.
MAX_TIMEOUT_SECONDS = 120.0
DEFAULT_INTERVAL_SECONDS = 0.25
MIN_INTERVAL_SECONDS = 0.05
MAX_INTERVAL_SECONDS = 5.0
# One status query should take milliseconds; this bounds a call that hangs (a known SDK report).
GET_STATUS_TIMEOUT_SECONDS = 10.0

ENDED = frozenset(
    {
        df.OrchestrationRuntimeStatus.Completed,
        df.OrchestrationRuntimeStatus.Failed,
        df.OrchestrationRuntimeStatus.Terminated,
        df.OrchestrationRuntimeStatus.Canceled,
    }
)


def read_seconds(req: func.HttpRequest, name: str, default: float, low: float, high: float) -> float:
    """Return the query value `name` as seconds in [low, high], or `default` when absent.

    Raises BadRequestError (400) for anything else.
    """
    text = req.params.get(name)
    if text is None or not text.strip():
        return default
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not low <= seconds <= high:  # also false for nan
        raise BadRequestError(
            400, f"The query value {name} must be a number of seconds from {low} to {high}."
        )
    return seconds


def read_target(req: func.HttpRequest, function_name: str) -> tuple[Any, str]:
    """Return the target custom status as (decoded value, raw text) from the query value `target`.

    The text is parsed as JSON when it is valid JSON (target={"a":1}, target=2, target="London"),
    otherwise it is the plain string (target=London). Orchestrators without a default target need
    one. Raises BadRequestError (400) when it is missing or could never be reached.
    """
    text = req.params.get("target")
    if text is None:
        if function_name not in DEFAULT_TARGETS:
            raise BadRequestError(
                400, f"Give the custom status to wait for in the query value target for {function_name}."
            )
        text = DEFAULT_TARGETS[function_name]
    try:
        target = json.loads(text)
    except ValueError:
        target = text
    if not target:
        # The Python SDK never sends a falsy custom status: waiting for one could only time out.
        raise BadRequestError(
            400,
            f'The target {text!r} can never be reached: an empty or false custom status (null, "", 0, '
            "false, {} or []) is never stored by a Python orchestrator.",
        )
    return target, text


def canonical(value: Any) -> str:
    """Return JSON text that is equal for equal JSON values (key order ignored, 1 and true differ)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def status_matches(custom_status: Any, target: Any, target_text: str) -> bool:
    """Tell whether the custom status equals the target as JSON, or, for a string status, its raw text."""
    if custom_status is None:
        return False  # Not set yet (or Pending): nothing to compare.
    if canonical(custom_status) == canonical(target):
        return True
    return isinstance(custom_status, str) and custom_status == target_text


def status_body(status: df.DurableOrchestrationStatus) -> dict[str, Any]:
    """Return the JSON-ready part of a status; the status object itself is not JSON-serializable."""
    runtime_status = status.runtime_status
    return {
        "instanceId": status.instance_id,
        "runtimeStatus": runtime_status.value if runtime_status is not None else None,
        "customStatus": status.custom_status,
        "output": status.output,
    }


@dataclass
class Observed:
    """What the polls saw: the custom-status values in order, consecutive repeats once, and the poll count."""

    values: list[Any] = field(default_factory=list)
    polls: int = 0

    def record(self, custom_status: Any) -> None:
        """Add a custom status read by a poll, unless it is unset (null) or the value read last."""
        if custom_status is None:
            return
        if self.values and canonical(self.values[-1]) == canonical(custom_status):
            return
        self.values.append(custom_status)

    def body(self) -> dict[str, Any]:
        """Return the fields every answer carries: {"observed": [...], "polls": n}."""
        return {"observed": list(self.values), "polls": self.polls}


def ended_response(
    status: df.DurableOrchestrationStatus, target: Any, observed: Observed
) -> func.HttpResponse:
    """Return the answer for an instance that ended and no poll saw its custom status at the target."""
    state = status.runtime_status.value if status.runtime_status is not None else "ended"
    failed = status.runtime_status == df.OrchestrationRuntimeStatus.Failed
    body = {
        # Only what the polls saw can be stated: the status may have passed through the target
        # between two of them.
        "error": f"The orchestration {state.lower()} and the target was not observed while polling: "
        "a custom status set and replaced between two polls cannot be seen.",
        "target": target,
        **status_body(status),
        **observed.body(),
    }
    return json_response(500 if failed else 409, body)


def timed_out_response(
    client: df.DurableOrchestrationClient, req: func.HttpRequest, instance_id: str, observed: Observed
) -> func.HttpResponse:
    """Return the SDK's 202 check-status response with `observed` and `polls` added to its body.

    Its status code, headers (Location, Retry-After) and every management link stay as the SDK made them.
    """
    response = client.create_check_status_response(req, instance_id)
    body = {**json.loads(response.get_body()), **observed.body()}
    return func.HttpResponse(
        json.dumps(body), status_code=response.status_code, headers=dict(response.headers)
    )


async def poll_status(
    client: df.DurableOrchestrationClient,
    instance_id: str,
    target: Any,
    target_text: str,
    timeout: float,
    interval: float,
    observed: Observed,
) -> df.DurableOrchestrationStatus | None:
    """Poll until the custom status matches the target or the instance ends; None after `timeout` seconds.

    Returns the last status read: a match, or an ended instance that never matched. Each poll and
    the custom status it read are recorded in `observed`.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (remaining := deadline - loop.time()) > 0:
        observed.polls += 1
        try:
            status = await asyncio.wait_for(
                client.get_status(instance_id), timeout=min(GET_STATUS_TIMEOUT_SECONDS, remaining)
            )
        except asyncio.TimeoutError:
            logging.warning("Status query for %s did not answer in time; retrying.", instance_id)
            continue
        # A status for an instance that does not exist yet (still Pending) is falsy.
        if status:
            observed.record(status.custom_status)
            if status_matches(status.custom_status, target, target_text):
                return status
            if status.runtime_status in ENDED:
                return status
        await asyncio.sleep(min(interval, max(0.0, deadline - loop.time())))
    return None


@bp.function_name(HTTP_START_AND_WAIT)
@bp.route(route="orchestrators/{functionName}/wait-for-status", methods=[func.HttpMethod.POST])
@bp.durable_client_input(client_name="client")
async def start_and_wait(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Start the orchestrator named in the route and answer when its custom status equals `target`.

    See the module docstring for the query values and the answers.
    """
    try:
        start = read_start_request(req)
        target, target_text = read_target(req, start.function_name)
        timeout = read_seconds(req, "timeout", DEFAULT_TIMEOUT_SECONDS, 0.1, MAX_TIMEOUT_SECONDS)
        interval = read_seconds(
            req, "interval", DEFAULT_INTERVAL_SECONDS, MIN_INTERVAL_SECONDS, MAX_INTERVAL_SECONDS
        )
    except BadRequestError as exc:
        return exc.response()

    instance_id = await client.start_new(start.function_name, None, start.input)
    logging.info(
        "Started orchestration %s with ID %s; waiting for %s.", start.function_name, instance_id, target_text
    )
    observed = Observed()
    status = await poll_status(client, instance_id, target, target_text, timeout, interval, observed)
    if status is None:
        return timed_out_response(client, req, instance_id, observed)
    if status_matches(status.custom_status, target, target_text):
        return json_response(200, {**status_body(status), **observed.body()})
    return ended_response(status, target, observed)
