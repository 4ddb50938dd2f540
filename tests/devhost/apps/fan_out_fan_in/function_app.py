"""Sample app: fan-out/fan-in. One activity lists work items, ten run in parallel, the results are summed."""

import azure.durable_functions as df

app = df.DFApp()


@app.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext):
    items = yield context.call_activity("list_items", 10)
    parts = yield context.task_all([context.call_activity("weigh", item) for item in items])
    return {"count": len(parts), "total": sum(parts)}


@app.activity_trigger(input_name="count")
def list_items(count: int) -> list:
    return [f"item-{n}" for n in range(1, count + 1)]


@app.activity_trigger(input_name="item")
def weigh(item: str) -> int:
    # item-7 weighs 49: the sum tells whether every item ran exactly once and came back to its task.
    n = int(item.split("-")[1])
    return n * n
