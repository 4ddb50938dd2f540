"""The routes the progress page's script calls: start a scenario, read a status, raise an event.

* GET  /api/progress/status/{instanceId}: the instance's status trimmed to what the page shows
  (name, runtimeStatus, customStatus, input, output, createdTime, lastUpdatedTime) plus the
  server's clock (serverTime), so the page can count down to a deadline whatever its own clock says.
* POST /api/progress/start/{scenario}: starts the scenario's orchestrator with the JSON body as input.
* POST /api/progress/events/{instanceId}/{eventName}: raises the event the instance's orchestrator
  waits for (CitySelected, BookingConfirmed or Proceed), with the JSON body as its data.

The answers go to a browser, so they never carry the check-status links of HttpStart: those hold
the extension's system key (?code=...) and would let the page terminate or purge any instance.
These routes keep the app's FUNCTION auth level; the page passes on the key it was opened with.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from clients.start_and_wait import ENDED, GET_STATUS_TIMEOUT_SECONDS
from clients.start_request import BadRequestError, json_response, read_json_body
from orchestrators.names import (
    BOOKING_CONFIRMED,
    CITY_RECOMMENDER,
    CITY_SELECTED,
    HELLO_SEQUENCE,
    PROCEED,
    PROGRESS_EVENT,
    PROGRESS_START,
    PROGRESS_STATUS,
    RESERVE_TICKET,
    SET_STATUS_TEST,
)
from orchestrators.waiting import decode_event_payload

bp = df.Blueprint()


@dataclass(frozen=True, slots=True)
class Scenario:
    """A scenario the page can start: its key in the page URL, orchestrator, title and event."""

    key: str
    orchestrator: str
    title: str
    event: str | None


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("hello", HELLO_SEQUENCE, "Hello sequence", None),
    Scenario("city", CITY_RECOMMENDER, "City recommender", CITY_SELECTED),
    Scenario("ticket", RESERVE_TICKET, "Ticket reservation", BOOKING_CONFIRMED),
    Scenario("set-status", SET_STATUS_TEST, "Status read while running", PROCEED),
)
SCENARIOS_BY_KEY: dict[str, Scenario] = {scenario.key: scenario for scenario in SCENARIOS}
# The one event each orchestrator waits for; the page may raise nothing else.
EVENTS_BY_ORCHESTRATOR: dict[str, str] = {s.orchestrator: s.event for s in SCENARIOS if s.event}

# Ids made by start_new are UUIDs; this also keeps an id from changing the path of the RPC call
# the SDK builds with it unescaped.
INSTANCE_ID = re.compile(r"[A-Za-z0-9_.:@-]{1,256}")

# Status answers change from one poll to the next: no cache may keep them.
NO_STORE = {"Cache-Control": "no-store"}


def api_response(status_code: int, body: Any) -> func.HttpResponse:
    """Return a JSON answer for the page, never cached."""
    return json_response(status_code, body, headers=NO_STORE)


def read_instance_id(req: func.HttpRequest) -> str:
    """Return the route value instanceId; raises BadRequestError (400) for one that cannot be an id."""
    instance_id = req.route_params.get("instanceId", "")
    if not INSTANCE_ID.fullmatch(instance_id):
        raise BadRequestError(
            400,
            f"An instance id is 1 to 256 letters, digits and the characters - _ . : @; got {instance_id!r}.",
        )
    return instance_id


def iso_time(value: datetime | None) -> str | None:
    """Return `value` as ISO 8601 UTC text ending in Z, the way the Durable HTTP API writes times."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def decoded_input(value: Any) -> Any:
    """Return an orchestration input the way the orchestrator's get_input() reads it.

    The SDK's start_new sends the input as JSON text, and the status gives that text back as a
    string ('["Paris", "Oslo"]'); get_input() parses it once more, and so does this. A string that
    is not JSON text is returned as it is.
    """
    return decode_event_payload(value)  # the same single level of JSON text encoding


def page_status(status: df.DurableOrchestrationStatus) -> dict[str, Any]:
    """Return what the page shows of a status, and nothing else (no history, no management links)."""
    runtime_status = status.runtime_status
    return {
        "instanceId": status.instance_id,
        "name": status.name,
        "runtimeStatus": runtime_status.value if runtime_status is not None else None,
        "customStatus": status.custom_status,
        "input": decoded_input(status.input_),
        "output": status.output,
        "createdTime": iso_time(status.created_time),
        "lastUpdatedTime": iso_time(status.last_updated_time),
        "serverTime": iso_time(datetime.now(timezone.utc)),
    }


async def read_status(
    client: df.DurableOrchestrationClient, instance_id: str
) -> df.DurableOrchestrationStatus:
    """Return the instance's status with its input.

    Raises BadRequestError: 404 for an unknown instance (also while a new one is still Pending, as
    the SDK cannot tell the two apart), 504 when the status query does not answer in time.
    """
    try:
        status = await asyncio.wait_for(
            client.get_status(instance_id, show_input=True), timeout=GET_STATUS_TIMEOUT_SECONDS
        )
    except asyncio.TimeoutError as exc:
        raise BadRequestError(
            504, f"The status of {instance_id} could not be read in time; try again.", instanceId=instance_id
        ) from exc
    if not status:
        raise BadRequestError(
            404,
            f"No instance with id {instance_id} was found. A new instance can take a moment to appear.",
            instanceId=instance_id,
        )
    return status


@bp.function_name(PROGRESS_STATUS)
@bp.route(route="progress/status/{instanceId}", methods=[func.HttpMethod.GET])
@bp.durable_client_input(client_name="client")
async def progress_status(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Answer 200 with the page's view of the instance's status.

    404 (JSON) for an unknown or still pending instance, 400 for a malformed id, 504 when the
    status query hangs.
    """
    try:
        instance_id = read_instance_id(req)
        status = await read_status(client, instance_id)
    except BadRequestError as exc:
        return api_response(exc.status_code, {"error": str(exc), **exc.details})
    return api_response(200, page_status(status))


@bp.function_name(PROGRESS_START)
@bp.route(route="progress/start/{scenario}", methods=[func.HttpMethod.POST])
@bp.durable_client_input(client_name="client")
async def progress_start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Start the scenario's orchestrator with the JSON body as input; answer 202 {instanceId, name, scenario}.

    404 (JSON) for an unknown scenario, 400 for a body that is not JSON. The orchestrator checks
    the input itself: one it cannot use fails the instance, and the page shows why.
    """
    key = req.route_params.get("scenario", "")
    scenario = SCENARIOS_BY_KEY.get(key)
    try:
        if scenario is None:
            raise BadRequestError(
                404, f"No scenario named {key!r}.", scenario=key, scenarios=list(SCENARIOS_BY_KEY)
            )
        value = read_json_body(req)
    except BadRequestError as exc:
        return api_response(exc.status_code, {"error": str(exc), **exc.details})
    instance_id = await client.start_new(scenario.orchestrator, None, value)
    logging.info("Progress page started %s with ID %s.", scenario.orchestrator, instance_id)
    return api_response(
        202, {"instanceId": instance_id, "name": scenario.orchestrator, "scenario": scenario.key}
    )


@bp.function_name(PROGRESS_EVENT)
@bp.route(route="progress/events/{instanceId}/{eventName}", methods=[func.HttpMethod.POST])
@bp.durable_client_input(client_name="client")
async def progress_event(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Raise the event the instance's orchestrator waits for, with the JSON body as data; answer 202.

    400 for a malformed id or body, 404 (JSON) for an event the page may not raise or an unknown
    instance, 409 for an instance whose orchestrator does not wait for this event or that has ended.
    """
    event_name = req.route_params.get("eventName", "")
    try:
        if event_name not in EVENTS_BY_ORCHESTRATOR.values():
            raise BadRequestError(
                404,
                f"The progress page raises only {', '.join(EVENTS_BY_ORCHESTRATOR.values())}; "
                f"not {event_name!r}.",
                eventName=event_name,
            )
        instance_id = read_instance_id(req)
        data = read_json_body(req)
        status = await read_status(client, instance_id)
        if EVENTS_BY_ORCHESTRATOR.get(status.name or "") != event_name:
            raise BadRequestError(
                409, f"{status.name} does not wait for {event_name}.", instanceId=instance_id
            )
        if status.runtime_status in ENDED:
            raise BadRequestError(
                409,
                f"The instance has ended ({status.runtime_status.value}); it takes no more events.",
                instanceId=instance_id,
                runtimeStatus=status.runtime_status.value,
            )
        try:
            await client.raise_event(instance_id, event_name, data)
        except Exception as exc:
            # The SDK signals an instance that ended or vanished since the status read with a
            # bare Exception; anything more specific is not ours to handle.
            if type(exc) is not Exception:
                raise
            raise BadRequestError(409, f"The event was not delivered: {exc}", instanceId=instance_id) from exc
    except BadRequestError as exc:
        return api_response(exc.status_code, {"error": str(exc), **exc.details})
    logging.info("Progress page raised %s for %s.", event_name, instance_id)
    return api_response(202, {"instanceId": instance_id, "eventName": event_name})
