"""HttpStartAndWait: answers when the custom status reaches the target, the instance ends or time is up."""

from __future__ import annotations

import json

import azure.durable_functions as df
import azure.functions as func
import pytest

from orchestrators.names import HTTP_START_AND_WAIT

from .rpc_stub import HANG, INSTANCE_ID, NOT_FOUND, RpcStub, invoke, json_body, status
from .virtual_clock import VirtualClock

FAST = {"interval": "0.05"}


async def wait(
    rpc: RpcStub, orchestrator: str = "E1_HelloSequence", *, body: bytes = b"", **params: str
) -> func.HttpResponse:
    """POST .../wait-for-status for `orchestrator`, polling fast unless `params` say otherwise."""
    return await invoke(
        HTTP_START_AND_WAIT,
        rpc,
        orchestrator,
        body=body,
        params={**FAST, **params},
        path_suffix="/wait-for-status",
    )


async def test_it_answers_once_the_status_reaches_london_by_default(rpc: RpcStub) -> None:
    rpc.answer_status(
        NOT_FOUND,  # Pending: not visible yet
        status("Running"),
        status("Running", "Tokyo"),
        status("Running", "London"),
        status("Completed", "London", ["never read"]),
    )

    response = await wait(rpc, body=b'["Tokyo", "London"]')

    assert response.status_code == 200
    assert json_body(response) == {
        "instanceId": INSTANCE_ID,
        "runtimeStatus": "Running",
        "customStatus": "London",
        "output": None,
        "observed": ["Tokyo", "London"],  # the unset status of the first two polls is not a value
        "polls": 4,
    }
    assert rpc.status_queries == 4
    ((_, sent),) = rpc.starts
    assert json.loads(json.loads(sent)) == ["Tokyo", "London"]


async def test_the_status_reached_on_the_last_step_comes_with_the_output(rpc: RpcStub) -> None:
    rpc.answer_status(status("Completed", "London", ["Hello Tokyo!", "Hello London!"]))

    response = await wait(rpc)

    assert response.status_code == 200
    assert json_body(response)["output"] == ["Hello Tokyo!", "Hello London!"]
    assert json_body(response)["runtimeStatus"] == "Completed"


async def test_a_json_target_matches_the_decoded_status_whatever_the_key_order(rpc: RpcStub) -> None:
    rpc.answer_status(
        status("Running", {"nextActions": ["A", "B", "C"]}),
        status("Running", {"foo": 2, "nextActions": ["A", "B", "C"]}),
    )

    response = await wait(rpc, "SetStatusTest", target='{"nextActions":["A","B","C"],"foo":2}')

    assert response.status_code == 200
    assert json_body(response)["customStatus"] == {"foo": 2, "nextActions": ["A", "B", "C"]}
    assert rpc.status_queries == 2


@pytest.mark.parametrize(
    ("target", "custom_status"), [("2", "2"), ("2", 2), ('"Seattle"', "Seattle"), ("true", True)]
)
async def test_a_target_matches_as_json_or_as_the_raw_text(
    rpc: RpcStub, target: str, custom_status: object
) -> None:
    rpc.answer_status(status("Running", custom_status))

    response = await wait(rpc, "CityRecommender", target=target)

    assert response.status_code == 200


async def test_1_and_true_are_different_targets(rpc: RpcStub) -> None:
    rpc.answer_status(status("Running", True), status("Completed", True, True))

    response = await wait(rpc, "ReserveTicket", target="1")

    assert response.status_code == 409


NOT_OBSERVED = (
    "the target was not observed while polling: "
    "a custom status set and replaced between two polls cannot be seen."
)


async def test_completing_without_a_poll_seeing_the_target_is_409(rpc: RpcStub) -> None:
    rpc.answer_status(
        status("Running", "Tokyo"), status("Completed", "Seattle", ["Hello Tokyo!", "Hello Seattle!"])
    )

    response = await wait(rpc)

    assert response.status_code == 409
    assert json_body(response) == {
        "error": f"The orchestration completed and {NOT_OBSERVED}",
        "target": "London",
        "instanceId": INSTANCE_ID,
        "runtimeStatus": "Completed",
        "customStatus": "Seattle",
        "output": ["Hello Tokyo!", "Hello Seattle!"],
        "observed": ["Tokyo", "Seattle"],
        "polls": 2,
    }


async def test_a_target_set_and_replaced_between_two_polls_is_not_observed(rpc: RpcStub) -> None:
    # The instance went Tokyo, Seattle, London; the polls read Tokyo twice, then London at the end.
    rpc.answer_status(
        NOT_FOUND,
        status("Running", "Tokyo"),
        status("Running", "Tokyo"),
        status("Completed", "London", ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]),
    )

    response = await wait(rpc, target="Seattle")

    assert response.status_code == 409
    body = json_body(response)
    assert body["observed"] == ["Tokyo", "London"]
    assert "Seattle" not in body["observed"]
    assert body["polls"] == rpc.status_queries == 4
    assert body["error"] == f"The orchestration completed and {NOT_OBSERVED}"


async def test_only_consecutive_repeats_are_collapsed_and_json_values_compare_as_json(rpc: RpcStub) -> None:
    rpc.answer_status(
        status("Running", {"a": 1, "b": 2}),
        status("Running", {"b": 2, "a": 1}),  # the same object, keys in another order
        status("Running", "Tokyo"),
        status("Running", {"a": 1, "b": 2}),
        status("Running", 1),
        status("Completed", True, None),  # 1 and true are different values
    )

    response = await wait(rpc, "SetStatusTest", target="never")

    assert response.status_code == 409
    assert json_body(response)["observed"] == [{"a": 1, "b": 2}, "Tokyo", {"a": 1, "b": 2}, 1, True]
    assert json_body(response)["polls"] == 6


async def test_a_terminated_instance_is_409(rpc: RpcStub) -> None:
    rpc.answer_status(status("Terminated", "Tokyo", "stopped by operator"))

    response = await wait(rpc)

    assert response.status_code == 409
    assert json_body(response)["runtimeStatus"] == "Terminated"
    assert json_body(response)["output"] == "stopped by operator"


async def test_a_failed_instance_is_500_with_the_failure(rpc: RpcStub) -> None:
    failure = "Orchestrator function 'E1_HelloSequence' failed: Activity function 'E1_SayHello' failed: boom"
    rpc.answer_status(status("Running", "Tokyo"), status("Failed", "Tokyo", failure))

    response = await wait(rpc)

    assert response.status_code == 500
    body = json_body(response)
    assert body["error"] == f"The orchestration failed and {NOT_OBSERVED}"
    assert body["output"] == failure
    assert (body["observed"], body["polls"]) == (["Tokyo"], 2)
    assert rpc.status_queries == 2


async def test_after_the_timeout_it_answers_with_the_check_status_response(
    rpc: RpcStub, virtual_clock: VirtualClock
) -> None:
    rpc.answer_status(status("Running", "Tokyo"))
    started = virtual_clock.time()

    response = await wait(rpc, timeout="0.3")

    assert response.status_code == 202
    body = json_body(response)
    assert body["id"] == INSTANCE_ID
    assert response.headers["Location"] == body["statusQueryGetUri"]
    assert response.headers["Retry-After"] == "10"
    assert (body["observed"], body["polls"]) == (["Tokyo"], rpc.status_queries)
    assert virtual_clock.time() - started >= 0.3  # it waited for the timeout
    # Between polls it slept the requested interval (the last sleep cut at the deadline), never less.
    *between, last = virtual_clock.sleeps
    assert between and set(between) == {0.05}
    assert 0 <= last <= 0.05
    assert rpc.status_queries == len(virtual_clock.sleeps)


async def test_the_202_body_is_the_check_status_payload_plus_what_was_observed(rpc: RpcStub) -> None:
    rpc.answer_status(status("Running", "Tokyo"), status("Running", "Seattle"))

    response = await wait(rpc, timeout="0.3")

    body = json_body(response)
    links = {key: value for key, value in body.items() if key not in {"observed", "polls"}}
    # Every link the SDK's own check-status response has (the request's origin is the binding's).
    assert links == df.DurableOrchestrationClient(rpc.binding()).create_http_management_payload(INSTANCE_ID)
    assert {
        "id",
        "statusQueryGetUri",
        "sendEventPostUri",
        "terminatePostUri",
        "purgeHistoryDeleteUri",
    } <= set(links)
    assert body["observed"] == ["Tokyo", "Seattle"]
    assert body["polls"] == rpc.status_queries


async def test_a_status_query_that_hangs_does_not_outlive_the_timeout(
    rpc: RpcStub, virtual_clock: VirtualClock
) -> None:
    rpc.answer_status(HANG)

    response = await wait(rpc, timeout="0.3")

    assert response.status_code == 202
    assert (json_body(response)["observed"], json_body(response)["polls"]) == ([], 1)
    # The hung query was given what was left of the 0.3 s, not the 10 s a single query may take.
    assert virtual_clock.query_limits and max(virtual_clock.query_limits) <= 0.3


async def test_other_orchestrators_need_a_target(rpc: RpcStub) -> None:
    response = await wait(rpc, "CityRecommender", body=b"2")

    assert response.status_code == 400
    assert "target" in json_body(response)["error"]
    assert rpc.starts == []


@pytest.mark.parametrize("target", ["", "0", "false", "{}", "[]", "null", '""'])
async def test_a_target_no_python_orchestrator_can_set_is_400(rpc: RpcStub, target: str) -> None:
    response = await wait(rpc, target=target)

    assert response.status_code == 400
    assert "can never be reached" in json_body(response)["error"]
    assert rpc.starts == []


@pytest.mark.parametrize(
    ("name", "value"), [("timeout", "abc"), ("timeout", "0"), ("timeout", "1000"), ("interval", "0")]
)
async def test_bad_timing_values_are_400(rpc: RpcStub, name: str, value: str) -> None:
    response = await invoke(
        HTTP_START_AND_WAIT, rpc, "E1_HelloSequence", params={name: value}, path_suffix="/wait-for-status"
    )

    assert response.status_code == 400
    assert f"The query value {name} must be a number of seconds" in json_body(response)["error"]
    assert rpc.starts == []


async def test_unknown_orchestrators_and_malformed_bodies_are_refused(rpc: RpcStub) -> None:
    unknown = await wait(rpc, "Nope")
    malformed = await wait(rpc, body=b"{")

    assert (unknown.status_code, malformed.status_code) == (404, 400)
    assert rpc.starts == []
