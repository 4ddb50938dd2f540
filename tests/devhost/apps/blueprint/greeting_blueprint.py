"""The blueprint of the blueprint sample: HTTP starter, orchestrator and activity.

The module name is unique among the test apps: devhost imports apps into one process, where a
second module of the same name would be served from the import cache.
"""

import azure.durable_functions as df
import azure.functions as func

bp = df.Blueprint()


@bp.route(route="start/{name}", methods=[func.HttpMethod.POST])
@bp.durable_client_input(client_name="client")
async def bp_start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    instance_id = await client.start_new("bp_orchestrator", None, {"name": req.route_params["name"]})
    return client.create_check_status_response(req, instance_id)


@bp.orchestration_trigger(context_name="context")
def bp_orchestrator(context: df.DurableOrchestrationContext):
    name = context.get_input()["name"]
    shout = yield context.call_activity("bp_shout", name)
    return f"{shout} from the blueprint"


@bp.activity_trigger(input_name="name")
def bp_shout(name: str) -> str:
    return name.upper()
