"""Test app for rewind: an activity that fails while a marker file exists, and the orchestrators
around it (directly, and as a sub-orchestration).

A test creates the marker, starts an instance, sees it fail, deletes the marker and rewinds it: the
failed activity then succeeds, whatever process (host or worker) runs it.
"""

from pathlib import Path

import azure.durable_functions as df

app = df.DFApp()


@app.activity_trigger(input_name="order")
def fragile_step(order: dict) -> str:
    """Fail while the file `order["marker"]` exists; else answer which step ran."""
    if Path(order["marker"]).exists():
        raise ConnectionError(f"step {order['step']} failed: {order['marker']} exists")
    return f"step {order['step']} done"


@app.activity_trigger(input_name="value")
def echo(value: str) -> str:
    return value


@app.orchestration_trigger(context_name="context")
def RewindSteps(context: df.DurableOrchestrationContext):
    """Step 1 (always fine), then the fragile step 2; the custom status says how far it got."""
    marker = context.get_input()["marker"]
    first = yield context.call_activity("echo", "step 1 done")
    context.set_custom_status({"reached": 2})
    second = yield context.call_activity("fragile_step", {"marker": marker, "step": 2})
    context.set_custom_status({"reached": "end"})
    return [first, second]


@app.orchestration_trigger(context_name="context")
def RewindParent(context: df.DurableOrchestrationContext):
    """RewindSteps as a sub-orchestration (its own id), then one more activity."""
    context.set_custom_status("calling the child")
    child = yield context.call_sub_orchestrator(
        "RewindSteps", context.get_input(), f"{context.instance_id}-child"
    )
    after = yield context.call_activity("echo", "after the child")
    context.set_custom_status("done")
    return {"child": child, "after": after}


@app.orchestration_trigger(context_name="context")
def RewindWaiter(context: df.DurableOrchestrationContext):
    """Running until the event `go`: an instance that is neither Failed nor ended."""
    return (yield context.wait_for_external_event("go"))
