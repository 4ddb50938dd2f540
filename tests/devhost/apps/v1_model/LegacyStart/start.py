"""The older `orchestrationClient` binding, a script file named by no `scriptFile` (the folder's only
script) and an entry point other than `main`."""

import azure.durable_functions as df
import azure.functions as func


async def start(req: func.HttpRequest, client: str) -> func.HttpResponse:
    durable = df.DurableOrchestrationClient(client)
    instance_id = await durable.start_new(
        req.route_params["functionName"], req.route_params.get("instanceId"), req.get_json()
    )
    return durable.create_check_status_response(req, instance_id)
