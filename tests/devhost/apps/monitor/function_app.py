"""Sample app: the monitor pattern beside a short orchestration.

`monitor` is eternal: each iteration checks something (an activity), publishes how many iterations have
run as its custom status, waits an hour on a durable timer and continues as new. `short` waits five
minutes and completes. Both take their times from `current_utc_datetime`, the engine's clock.
"""

from datetime import timedelta

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
CHECK_EVERY = timedelta(hours=1)


@app.orchestration_trigger(context_name="context")
def monitor(context: df.DurableOrchestrationContext):
    state = context.get_input() or {"iterations": 0}
    checked_at = yield context.call_activity("check", context.current_utc_datetime.isoformat())
    iterations = state["iterations"]
    context.set_custom_status({"iterations": iterations, "checkedAt": checked_at})
    yield context.create_timer(context.current_utc_datetime + CHECK_EVERY)
    context.continue_as_new({"iterations": iterations + 1})


@app.orchestration_trigger(context_name="context")
def short(context: df.DurableOrchestrationContext):
    started = context.current_utc_datetime
    yield context.create_timer(started + timedelta(minutes=5))
    return {"started": started.isoformat(), "ended": context.current_utc_datetime.isoformat()}


@app.activity_trigger(input_name="moment")
def check(moment: str) -> str:
    return moment
