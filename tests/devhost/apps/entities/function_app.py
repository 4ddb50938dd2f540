"""Sample app: durable entities. A counter entity, orchestrators that call and signal it, and HTTP
clients that signal it and read its state."""

import json

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.entity_trigger(context_name="context")
def Counter(context: df.DurableEntityContext) -> None:
    """add (input: a number), get, reset, fail (raises, state unchanged), add_then_fail (changes the
    state, then raises), delete (removes the entity)."""
    value = context.get_state(lambda: 0)
    operation = context.operation_name
    if operation == "add":
        value += context.get_input()
        context.set_state(value)
        context.set_result(value)
    elif operation == "get":
        context.set_result(value)
    elif operation == "reset":
        context.set_state(0)
    elif operation == "fail":
        raise ValueError(f"counter refuses at {value}")
    elif operation == "add_then_fail":
        context.set_state(value + context.get_input())
        raise RuntimeError("added, then failed")
    elif operation == "delete":
        context.destruct_on_exit()
    else:
        raise ValueError(f"unknown operation '{operation}'")


@app.orchestration_trigger(context_name="context")
def call_and_signal(context: df.DurableOrchestrationContext):
    """Input {"key", "add"}: signals add, calls add, calls get; returns what the calls answered."""
    args = context.get_input()
    counter = df.EntityId("Counter", args["key"])
    context.signal_entity(counter, "add", args["add"])
    after_call = yield context.call_entity(counter, "add", args["add"])
    current = yield context.call_entity(counter, "get")
    return {"afterCall": after_call, "current": current}


@app.orchestration_trigger(context_name="context")
def call_failing(context: df.DurableOrchestrationContext):
    """Calls `fail` and reports the exception the orchestration got."""
    counter = df.EntityId("Counter", context.get_input())
    try:
        yield context.call_entity(counter, "fail")
    except Exception as exc:  # the entity's error comes back as an exception
        return {"caught": str(exc)}
    return {"caught": None}


@app.orchestration_trigger(context_name="context")
def signal_then_continue(context: df.DurableOrchestrationContext):
    """Input {"key", "left"}: signals add 1, then continues as new until `left` reaches 1."""
    args = context.get_input()
    context.signal_entity(df.EntityId("Counter", args["key"]), "add", 1)
    if args["left"] > 1:
        context.continue_as_new({"key": args["key"], "left": args["left"] - 1})
        return None
    return "done"


@app.orchestration_trigger(context_name="context")
def call_unknown_entity(context: df.DurableOrchestrationContext):
    yield context.call_entity(df.EntityId("NoSuchEntity", "k"), "get")


@app.route(route="counter/{key}", methods=[func.HttpMethod.POST, func.HttpMethod.GET])
@app.durable_client_input(client_name="client")
async def counter_http(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """POST ?add=N signals add; GET answers {"exists", "state"}."""
    counter = df.EntityId("Counter", req.route_params["key"])
    if req.method == "POST":
        await client.signal_entity(counter, "add", int(req.params.get("add", "1")))
        return func.HttpResponse(status_code=202)
    state = await client.read_entity_state(counter)
    return func.HttpResponse(
        body=json.dumps({"exists": state.entity_exists, "state": state.entity_state}),
        mimetype="application/json",
    )
