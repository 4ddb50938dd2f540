"""The reliability suites' app: the repository's scenarios, unmodified, plus counted and bad-input functions.

The repository's orchestrators, activities and starting clients are registered from their own
blueprints (the same code and routes as the real app). Added here:

* `LedgerFlow`: fan-out, a durable timer, an external event (`Go`) and a sequence. Its activity `Record`
  appends one line per execution to the file named by RELIABILITY_LEDGER, so re-executions after a
  crash are counted exactly (at least once is allowed; never zero).
* `Tally` (a durable entity) and `EntityTally` (an orchestrator that signals and calls it): each
  operation carries an id and the entity counts how often each id was applied, so an operation
  applied twice or lost shows in its state.
* `HugeStatus`, `UnserialisableInput`, `UnserialisableOutput`: what an app can do wrong, each of which
  must fail only its own instance, with a message.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func

# The repository root, so its app packages import as they do in the real app.
sys.path.insert(0, str(Path(__file__).resolve().parents[4]))

from activities import discount, say_hello, settings
from clients import http_start, start_and_wait
from orchestrators import city_recommender, hello_sequence, reserve_ticket, set_status_test

LEDGER_ENV = "RELIABILITY_LEDGER"
app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)

for module in (
    hello_sequence,
    city_recommender,
    reserve_ticket,
    set_status_test,
    say_hello,
    discount,
    settings,
    http_start,
    start_and_wait,
):
    app.register_functions(module.bp)


@app.function_name("LedgerFlow")
@app.orchestration_trigger(context_name="context")
def ledger_flow(context: df.DurableOrchestrationContext):
    """{"n": fan-out width, "timer": seconds}: fan out, wait a timer, wait for Go, then two steps."""
    spec = context.get_input() or {}
    n, seconds = int(spec.get("n", 3)), float(spec.get("timer", 0.2))
    prefix = context.instance_id
    fanned = yield context.task_all([context.call_activity("Record", f"{prefix}/fan/{i}") for i in range(n)])
    context.set_custom_status({"stage": "fanned", "sum": sum(fanned)})
    yield context.create_timer(context.current_utc_datetime + timedelta(seconds=seconds))
    context.set_custom_status({"stage": "waiting", "sum": sum(fanned)})
    go = yield context.wait_for_external_event("Go")
    total = sum(fanned)
    for j in range(2):
        total += yield context.call_activity("Record", f"{prefix}/seq/{j}")
    result = {"sum": total, "go": go}
    context.set_custom_status({"stage": "done", **result})
    return result


@app.activity_trigger(input_name="key")
def Record(key: str) -> int:
    """Append `key` to the ledger file (one line per execution); return the key's number plus one."""
    path = os.environ.get(LEDGER_ENV)
    if path:
        # One short O_APPEND write: a line is written whole or not at all, whatever kills the process.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (key + "\n").encode())
        finally:
            os.close(fd)
    return int(key.rsplit("/", 1)[1]) + 1


@app.function_name("Tally")
@app.entity_trigger(context_name="context")
def tally(context: df.DurableEntityContext) -> None:
    """`add` with input {"id"}: counts the operation and how often each id was applied (once, unless a
    crash made devhost apply it twice); answers that id's count."""
    state = context.get_state(lambda: {"count": 0, "applied": {}})
    if context.operation_name == "add":
        op_id = context.get_input()["id"]
        state["count"] += 1
        state["applied"][op_id] = state["applied"].get(op_id, 0) + 1
        context.set_state(state)
        context.set_result(state["applied"][op_id])
    else:
        raise ValueError(f"Tally has no operation '{context.operation_name}'")


@app.function_name("EntityTally")
@app.orchestration_trigger(context_name="context")
def entity_tally(context: df.DurableOrchestrationContext):
    """{"key", "id"}: signals Tally `add` with id "<id>/s", then calls it with "<id>/c"; returns the
    answer of the call."""
    spec = context.get_input()
    counter = df.EntityId("Tally", spec["key"])
    context.signal_entity(counter, "add", {"id": f"{spec['id']}/s"})
    applied = yield context.call_entity(counter, "add", {"id": f"{spec['id']}/c"})
    return {"applied": applied}


@app.function_name("HugeStatus")
@app.orchestration_trigger(context_name="context")
def huge_status(context: df.DurableOrchestrationContext):
    """Sets a custom status over the 16 KB limit: the instance must fail with a message."""
    context.set_custom_status({"blob": "x" * 9000})
    yield context.call_activity("Record", "huge/0")
    return "unreachable"


@app.function_name("UnserialisableInput")
@app.orchestration_trigger(context_name="context")
def unserialisable_input(context: df.DurableOrchestrationContext):
    """Passes an object JSON cannot encode to an activity: the instance must fail with a message."""
    yield context.call_activity("Record", object())
    return "unreachable"


@app.function_name("UnserialisableOutput")
@app.orchestration_trigger(context_name="context")
def unserialisable_output(context: df.DurableOrchestrationContext):
    """Its activity returns an object JSON cannot encode: the task fails, and so does the instance."""
    result = yield context.call_activity("ReturnsObject", None)
    return result


@app.activity_trigger(input_name="ignored")
def ReturnsObject(ignored: object) -> object:
    return object()


@app.route(route="anonymous/ping", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def anonymous_ping(req: func.HttpRequest) -> func.HttpResponse:
    """An anonymous route: answers without a key even with --auth."""
    return func.HttpResponse('{"pong": true}', mimetype="application/json")


@app.route(route="manage/ping", methods=["GET"], auth_level=func.AuthLevel.ADMIN)
def admin_ping(req: func.HttpRequest) -> func.HttpResponse:
    """An admin route: only the master key opens it with --auth."""
    return func.HttpResponse('{"pong": "admin"}', mimetype="application/json")
