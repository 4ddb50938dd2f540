"""Orchestrations whose behaviour depends on what the extension tells the SDK, or on the built-in
HTTP activity: a 7-day timer (split by the SDK), `call_http`, and continue-as-new after a timer."""

from datetime import timedelta

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="orchestrators/{functionName}", methods=[func.HttpMethod.POST])
@app.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    body = req.get_body()
    payload = req.get_json() if body else None
    instance_id = await client.start_new(req.route_params["functionName"], None, payload)
    return client.create_check_status_response(req, instance_id)


@app.orchestration_trigger(context_name="context")
def week_sleeper(context: df.DurableOrchestrationContext):
    """Sleep seven days on one durable timer; report the orchestration time before and after."""
    before = context.current_utc_datetime
    yield context.create_timer(before + timedelta(days=7))
    return {"before": before.isoformat(), "after": context.current_utc_datetime.isoformat()}


@app.orchestration_trigger(context_name="context")
def http_caller(context: df.DurableOrchestrationContext):
    """GET the URL in the input with the built-in HTTP activity; the response is the output."""
    request = context.get_input()
    response = yield context.call_http("GET", request["url"], headers=request.get("headers"))
    return response


@app.orchestration_trigger(context_name="context")
def restart_after_an_hour(context: df.DurableOrchestrationContext):
    """First execution: wait an hour, then continue as new with 'second'; second execution: done."""
    if context.get_input() == "second":
        return "second execution"
    yield context.create_timer(context.current_utc_datetime + timedelta(hours=1))
    context.continue_as_new("second")
    return None


@app.orchestration_trigger(context_name="context")
def http_poller(context: df.DurableOrchestrationContext):
    """The asynchronous pattern done by the orchestrator, as a Python app on Azure must: while the
    answer is 202, wait Retry-After seconds on a durable timer, then GET the Location."""
    response = yield context.call_http("GET", context.get_input()["url"])
    polls = 0
    while response["statusCode"] == 202:
        headers = {k.lower(): v for k, v in response["headers"].items()}
        wait = timedelta(seconds=int(headers.get("retry-after", "30")))
        yield context.create_timer(context.current_utc_datetime + wait)
        response = yield context.call_http("GET", headers["location"])
        polls += 1
    return {"polls": polls, "final": response}
