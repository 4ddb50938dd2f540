"""The progress page's API: a trimmed status, starting a scenario, raising the events the page needs."""

from __future__ import annotations

import json
from typing import Any

import azure.functions as func
import pytest

import clients.progress_api as progress_api
from orchestrators.names import PROGRESS_EVENT, PROGRESS_START, PROGRESS_STATUS

from ..app_index import indexed_functions
from .rpc_stub import HANG, INSTANCE_ID, NOT_FOUND, RpcStub, StatusReply, json_body

# What must never reach a browser: keys and the management links that carry them.
LEAKS = ("code=", "sendEventPostUri", "statusQueryGetUri", "SYSKEY")


def reply(
    name: str,
    runtime_status: str,
    custom_status: Any = None,
    *,
    input_text: Any = None,
    output: Any = None,
) -> StatusReply:
    """A status answer as the extension gives it, with the orchestrator name and input chosen."""
    body = {
        "name": name,
        "instanceId": INSTANCE_ID,
        "runtimeStatus": runtime_status,
        "input": input_text,
        "customStatus": custom_status,
        "output": output,
        "createdTime": "2024-05-01T12:00:00Z",
        "lastUpdatedTime": "2024-05-01T12:00:01.250000Z",
    }
    return StatusReply(202 if runtime_status in {"Running", "Pending"} else 200, body)


async def call(
    function: str, stub: RpcStub, method: str, path: str, route_params: dict[str, str], body: bytes = b""
) -> func.HttpResponse:
    """Call the registered HTTP function as the worker does."""
    request = func.HttpRequest(
        method=method, url=f"http://localhost:7071/api/{path}", body=body, route_params=route_params
    )
    response = await indexed_functions()[function].get_user_function()(req=request, client=stub.binding())
    assert isinstance(response, func.HttpResponse)
    text = response.get_body().decode()
    for leak in LEAKS:
        assert leak not in text
    assert response.headers["Cache-Control"] == "no-store"
    return response


async def get_status(stub: RpcStub, instance_id: str = INSTANCE_ID) -> func.HttpResponse:
    return await call(
        PROGRESS_STATUS, stub, "GET", f"progress/status/{instance_id}", {"instanceId": instance_id}
    )


async def start(stub: RpcStub, scenario: str, body: bytes = b"") -> func.HttpResponse:
    return await call(
        PROGRESS_START, stub, "POST", f"progress/start/{scenario}", {"scenario": scenario}, body
    )


async def send_event(
    stub: RpcStub, event_name: str, body: bytes = b"true", instance_id: str = INSTANCE_ID
) -> func.HttpResponse:
    return await call(
        PROGRESS_EVENT,
        stub,
        "POST",
        f"progress/events/{instance_id}/{event_name}",
        {"instanceId": instance_id, "eventName": event_name},
        body,
    )


# --- GET progress/status/{instanceId} ---------------------------------------------------------


async def test_the_status_is_trimmed_to_what_the_page_shows(rpc: RpcStub) -> None:
    rpc.answer_status(reply("E1_HelloSequence", "Running", "Paris", input_text='["Paris", "Oslo"]'))

    response = await get_status(rpc)

    assert response.status_code == 200
    body = json_body(response)
    server_time = body.pop("serverTime")
    assert body == {
        "instanceId": INSTANCE_ID,
        "name": "E1_HelloSequence",
        "runtimeStatus": "Running",
        "customStatus": "Paris",
        # The SDK sends inputs as JSON text; the page gets what get_input() would return.
        "input": ["Paris", "Oslo"],
        "output": None,
        "createdTime": "2024-05-01T12:00:00.000Z",
        "lastUpdatedTime": "2024-05-01T12:00:01.250Z",
    }
    assert server_time.endswith("Z") and server_time > "2024"
    # The input is only in the status when asked for.
    assert rpc.status_params[-1].get("showInput", "").lower() == "true"


async def test_a_completed_status_carries_the_output(rpc: RpcStub) -> None:
    rpc.answer_status(
        reply("ReserveTicket", "Completed", {"message": "Thank you."}, input_text='"alice"', output=True)
    )

    body = json_body(await get_status(rpc))

    assert (body["runtimeStatus"], body["output"], body["input"]) == ("Completed", True, "alice")


async def test_an_unknown_instance_is_404_json(rpc: RpcStub) -> None:
    rpc.answer_status(NOT_FOUND)

    response = await get_status(rpc)

    assert response.status_code == 404
    assert json_body(response) == {
        "error": f"No instance with id {INSTANCE_ID} was found. A new instance can take a moment to appear.",
        "instanceId": INSTANCE_ID,
    }


@pytest.mark.parametrize("bad_id", ["a b", "x?y", "50%", "a" * 257])
async def test_an_id_that_cannot_be_one_is_400_and_not_queried(rpc: RpcStub, bad_id: str) -> None:
    response = await get_status(rpc, bad_id)

    assert response.status_code == 400
    assert "An instance id is 1 to 256 letters" in json_body(response)["error"]
    assert rpc.status_queries == 0


async def test_a_status_query_that_hangs_is_504(rpc: RpcStub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress_api, "GET_STATUS_TIMEOUT_SECONDS", 0.2)
    rpc.answer_status(HANG)

    response = await get_status(rpc)

    assert response.status_code == 504
    assert "could not be read in time" in json_body(response)["error"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('["Paris"]', ["Paris"]),
        ('{"choice": 2}', {"choice": 2}),
        ("2", 2),
        ("alice", "alice"),  # not JSON text: kept as it is
        ({"userId": "bob"}, {"userId": "bob"}),  # started through the webhook with an object
        (None, None),
    ],
)
def test_decoded_input_reads_the_input_as_get_input_does(value: Any, expected: Any) -> None:
    assert progress_api.decoded_input(value) == expected


# --- POST progress/start/{scenario} -----------------------------------------------------------


@pytest.mark.parametrize(
    ("scenario", "orchestrator", "body", "sent"),
    [
        ("hello", "E1_HelloSequence", b'["Paris", "Oslo"]', ["Paris", "Oslo"]),
        (
            "city",
            "CityRecommender",
            b'{"choice": 2, "selectionTimeout": 120}',
            {"choice": 2, "selectionTimeout": 120},
        ),
        ("ticket", "ReserveTicket", b'{"userId": "alice"}', {"userId": "alice"}),
        ("set-status", "SetStatusTest", b'{"timeout": 5}', {"timeout": 5}),
    ],
)
async def test_a_scenario_starts_its_orchestrator_with_the_body_as_input(
    rpc: RpcStub, scenario: str, orchestrator: str, body: bytes, sent: Any
) -> None:
    response = await start(rpc, scenario, body)

    assert response.status_code == 202
    assert json_body(response) == {"instanceId": INSTANCE_ID, "name": orchestrator, "scenario": scenario}
    ((name, text),) = rpc.starts
    assert name == orchestrator
    assert json.loads(json.loads(text)) == sent


async def test_an_empty_body_starts_without_input(rpc: RpcStub) -> None:
    response = await start(rpc, "hello")

    assert response.status_code == 202
    assert rpc.starts == [("E1_HelloSequence", "")]


async def test_an_unknown_scenario_is_404_and_nothing_starts(rpc: RpcStub) -> None:
    response = await start(rpc, "E1_SayHello")

    assert response.status_code == 404
    assert json_body(response) == {
        "error": "No scenario named 'E1_SayHello'.",
        "scenario": "E1_SayHello",
        "scenarios": ["hello", "city", "ticket", "set-status"],
    }
    assert rpc.starts == []


async def test_a_malformed_body_is_400_and_nothing_starts(rpc: RpcStub) -> None:
    response = await start(rpc, "ticket", b'{"userId": ')

    assert response.status_code == 400
    assert json_body(response)["error"].startswith("The request body is not valid JSON:")
    assert rpc.starts == []


# --- POST progress/events/{instanceId}/{eventName} --------------------------------------------


@pytest.mark.parametrize(
    ("orchestrator", "event_name", "body", "data"),
    [
        ("CityRecommender", "CitySelected", b'{"city": "London"}', {"city": "London"}),
        ("ReserveTicket", "BookingConfirmed", b"true", True),
        ("ReserveTicket", "BookingConfirmed", b"false", False),
        ("SetStatusTest", "Proceed", b"{}", {}),
    ],
)
async def test_the_event_the_instance_waits_for_is_raised_with_the_body(
    rpc: RpcStub, orchestrator: str, event_name: str, body: bytes, data: Any
) -> None:
    rpc.answer_status(reply(orchestrator, "Running", {"waiting": True}))

    response = await send_event(rpc, event_name, body)

    assert response.status_code == 202
    assert json_body(response) == {"instanceId": INSTANCE_ID, "eventName": event_name}
    ((instance_id, name, sent),) = rpc.events
    assert (instance_id, name) == (INSTANCE_ID, event_name)
    # The SDK encodes the data as JSON text once more; the orchestrators decode it.
    assert json.loads(json.loads(sent)) == data


@pytest.mark.parametrize("event_name", ["Terminate", "citySelected", "Approval"])
async def test_an_event_the_page_does_not_need_is_404_and_not_raised(rpc: RpcStub, event_name: str) -> None:
    rpc.answer_status(reply("CityRecommender", "Running"))

    response = await send_event(rpc, event_name)

    assert response.status_code == 404
    assert json_body(response)["error"] == (
        f"The progress page raises only CitySelected, BookingConfirmed, Proceed; not {event_name!r}."
    )
    assert rpc.events == []
    assert rpc.status_queries == 0


async def test_an_event_for_another_orchestrator_is_409_and_not_raised(rpc: RpcStub) -> None:
    rpc.answer_status(reply("ReserveTicket", "Running"))

    response = await send_event(rpc, "CitySelected", b'"London"')

    assert response.status_code == 409
    assert json_body(response)["error"] == "ReserveTicket does not wait for CitySelected."
    assert rpc.events == []


@pytest.mark.parametrize("runtime_status", ["Completed", "Failed", "Terminated"])
async def test_an_ended_instance_takes_no_event(rpc: RpcStub, runtime_status: str) -> None:
    rpc.answer_status(reply("ReserveTicket", runtime_status))

    response = await send_event(rpc, "BookingConfirmed")

    assert response.status_code == 409
    assert json_body(response)["runtimeStatus"] == runtime_status
    assert rpc.events == []


async def test_an_unknown_instance_is_404_and_nothing_is_raised(rpc: RpcStub) -> None:
    response = await send_event(rpc, "Proceed", b"{}", instance_id="another")

    assert response.status_code == 404
    assert rpc.events == []


async def test_an_instance_that_ends_before_the_event_arrives_is_409(rpc: RpcStub) -> None:
    rpc.answer_status(reply("SetStatusTest", "Running"))
    rpc.raise_event_status = 410

    response = await send_event(rpc, "Proceed", b"{}")

    assert response.status_code == 409
    assert json_body(response)["error"] == (
        f"The event was not delivered: Instance with ID {INSTANCE_ID} is gone: either completed or failed"
    )


async def test_a_malformed_event_body_is_400_and_not_raised(rpc: RpcStub) -> None:
    rpc.answer_status(reply("ReserveTicket", "Running"))

    response = await send_event(rpc, "BookingConfirmed", b"tru")

    assert response.status_code == 400
    assert rpc.events == []
