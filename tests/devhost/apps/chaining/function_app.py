"""Sample app: function chaining. An HTTP starter, an orchestrator, one activity called three times."""

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
def chain(context: df.DurableOrchestrationContext):
    cities = context.get_input() or ["Lisbon", "Oslo", "Quito"]
    first = yield context.call_activity("greet", cities[0])
    second = yield context.call_activity("greet", cities[1])
    third = yield context.call_activity("greet", cities[2])
    return [first, second, third]


@app.activity_trigger(input_name="city")
def greet(city: str) -> str:
    return f"Hi {city}"
