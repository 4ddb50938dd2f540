"""HttpStart: starts the orchestrator named in the route with the body as input."""

from __future__ import annotations

import json

from orchestrators.names import HTTP_START

from .rpc_stub import INSTANCE_ID, RpcStub, invoke, json_body


async def test_the_body_is_the_input_and_the_answer_is_the_check_status_response(rpc: RpcStub) -> None:
    response = await invoke(HTTP_START, rpc, "E1_HelloSequence", body=b'["Paris", "Oslo"]')

    # The SDK sends the input as JSON text inside a JSON string; decoding twice gives the list back.
    ((name, sent),) = rpc.starts
    assert name == "E1_HelloSequence"
    assert json.loads(json.loads(sent)) == ["Paris", "Oslo"]

    assert response.status_code == 202
    body = json_body(response)
    assert body["id"] == INSTANCE_ID
    assert body["statusQueryGetUri"].startswith(
        f"http://localhost:7071/runtime/webhooks/durabletask/instances/{INSTANCE_ID}?"
    )
    assert body["sendEventPostUri"].startswith(
        f"http://localhost:7071/runtime/webhooks/durabletask/instances/{INSTANCE_ID}/raiseEvent/"
    )
    assert response.headers["Location"] == body["statusQueryGetUri"]


async def test_an_empty_body_starts_without_input(rpc: RpcStub) -> None:
    response = await invoke(HTTP_START, rpc, "SetStatusTest", body=b"  \n")

    assert response.status_code == 202
    assert rpc.starts == [("SetStatusTest", "")]


async def test_scalar_inputs_pass_through(rpc: RpcStub) -> None:
    await invoke(HTTP_START, rpc, "CityRecommender", body=b"2")
    await invoke(HTTP_START, rpc, "ReserveTicket", body=b'"alice"')

    assert [json.loads(json.loads(sent)) for _, sent in rpc.starts] == [2, "alice"]


async def test_an_unknown_orchestrator_is_404_and_nothing_starts(rpc: RpcStub) -> None:
    response = await invoke(HTTP_START, rpc, "E1_SayHello", body=b'"Tokyo"')

    assert response.status_code == 404
    body = json_body(response)
    assert body["error"] == "No orchestrator function named 'E1_SayHello' in this app."
    assert body["functionName"] == "E1_SayHello"
    assert "E1_HelloSequence" in body["orchestrators"]
    assert rpc.starts == []


async def test_a_body_nested_too_deeply_is_400_and_nothing_starts(rpc: RpcStub) -> None:
    response = await invoke(HTTP_START, rpc, "E1_HelloSequence", body=b"[" * 100_000 + b"]" * 100_000)

    assert response.status_code == 400
    assert "nested too deeply" in json_body(response)["error"]
    assert rpc.starts == []


async def test_a_malformed_body_is_400_and_nothing_starts(rpc: RpcStub) -> None:
    response = await invoke(HTTP_START, rpc, "E1_HelloSequence", body=b'["Tokyo",')

    assert response.status_code == 400
    assert json_body(response)["error"].startswith("The request body is not valid JSON:")
    assert rpc.starts == []
