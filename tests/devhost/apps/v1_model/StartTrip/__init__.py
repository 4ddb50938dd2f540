"""Starts PlanTrip with a custom-class input and answers through a named `http` output binding."""

import azure.durable_functions as df
import azure.functions as func
from shared.trip import Trip  # the app folder is on sys.path: shared code imports as a top-level package


async def main(req: func.HttpRequest, starter: str, message: func.Out[func.HttpResponse]) -> None:
    cities = req.get_json()
    if not isinstance(cities, list) or not cities:
        error = '{"error": "send a JSON list of cities"}'
        message.set(func.HttpResponse(error, status_code=400, mimetype="application/json"))
        return
    client = df.DurableOrchestrationClient(starter)
    instance_id = await client.start_new("PlanTrip", None, Trip(req.route_params["traveller"], cities))
    message.set(client.create_check_status_response(req, instance_id))
