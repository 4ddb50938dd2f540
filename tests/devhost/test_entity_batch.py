"""Entity batches: the payload the SDK gets, and what a reply becomes (EntityRunner with a stand-in
invoker for replies the SDK never gives, the real app's entity for the rest)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from devhost.engine.entity_batch import EntityRunner, batch_payload
from devhost.engine.invoker import EntityReply, InProcessInvoker
from devhost.functions import FunctionIndex
from devhost.store.entity_records import EntityBatch, EntityRecord, EntityRequest

from .helpers import APPS

NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
E = "@counter@k"


class ReplyWith:
    """An invoker that answers every entity batch with `reply` and records the payloads."""

    def __init__(self, reply: EntityReply) -> None:
        self.reply = reply
        self.payloads: list[dict[str, Any]] = []

    async def run_entity(self, name: str, payload: str) -> EntityReply:
        self.payloads.append(json.loads(payload))
        return self.reply


def requests() -> list[EntityRequest]:
    call = {"op": "add", "input": '"2"', "id": "c-1", "parent": "orch", "parentExecution": "x1"}
    signal = {"op": "add", "input": '"3"', "id": "s-1", "signal": True}
    return [EntityRequest(E, call, id=1), EntityRequest(E, signal, id=2)]


def test_the_payload_is_the_extension_batch_shape() -> None:
    payload = json.loads(batch_payload(EntityRecord(E, True, "5"), requests()))
    assert payload == {
        "self": {"name": "counter", "key": "k"},
        "exists": True,
        "state": "5",
        "batch": [
            {"name": "add", "input": '"2"', "isSignal": False},
            {"name": "add", "input": '"3"', "isSignal": True},
        ],
    }


async def test_the_real_entity_answers_each_call_and_keeps_the_new_state() -> None:
    index = FunctionIndex.load(APPS / "entities")
    invoker = InProcessInvoker(index, 1)
    try:
        result = await EntityRunner(index, invoker).run(
            EntityBatch(EntityRecord(E, True, "5"), requests()), NOW
        )
    finally:
        await invoker.close()
    assert (result.entity.exists, result.entity.state) == (True, "10")
    assert result.consumed == [1, 2]
    [answer] = result.responses  # the signal gets no answer
    assert (answer.instance_id, answer.execution_id) == ("orch", "x1")
    assert answer.event["Name"] == "c-1" and json.loads(answer.event["Input"]) == {"result": "7"}


async def test_a_reply_without_one_result_per_operation_fails_every_call_and_keeps_the_state() -> None:
    index = FunctionIndex.load(APPS / "entities")
    short = EntityReply({"entityExists": True, "entityState": "99", "results": [], "signals": []})
    runner = EntityRunner(index, ReplyWith(short))  # type: ignore[arg-type]
    result = await runner.run(EntityBatch(EntityRecord(E, True, "5"), requests()), NOW)
    assert (result.entity.exists, result.entity.state) == (True, "5")
    [answer] = result.responses
    body = json.loads(answer.event["Input"])
    assert body["exceptionType"] == "Error" and "0 results for a batch of 2" in json.loads(body["result"])


async def test_signals_a_batch_sends_go_to_their_entities() -> None:
    index = FunctionIndex.load(APPS / "entities")
    sends = EntityReply(
        {
            "entityExists": True,
            "entityState": "1",
            "results": [{"isError": False, "result": "null"}] * 2,
            "signals": [{"target": {"name": "Other", "key": "b"}, "name": "ping", "input": '"1"'}],
        }
    )
    result = await EntityRunner(index, ReplyWith(sends)).run(  # type: ignore[arg-type]
        EntityBatch(EntityRecord(E), requests()), NOW
    )
    [signal] = result.signals
    assert signal.entity_id == "@other@b"
    assert {k: signal.request[k] for k in ("op", "signal", "input", "parent")} == {
        "op": "ping",
        "signal": True,
        "input": '"1"',
        "parent": E,
    }
