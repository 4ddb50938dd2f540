"""Client HttpStart: POST /api/orchestrators/{functionName} starts an orchestration.

The JSON body, if any, is the orchestration's input. The answer is the standard 202 check-status
response, whose statusQueryGetUri shows the custom status while the instance runs.
"""

from __future__ import annotations

import logging

import azure.durable_functions as df
import azure.functions as func

from clients.start_request import BadRequestError, read_start_request
from orchestrators.names import HTTP_START

bp = df.Blueprint()


@bp.function_name(HTTP_START)
@bp.route(route="orchestrators/{functionName}", methods=[func.HttpMethod.POST])
@bp.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Start the orchestrator named in the route with the body as input; answer 202 check-status.

    Answers 404 (JSON) for a name that is not one of this app's orchestrators, 400 for a body
    that is not JSON.
    """
    try:
        start = read_start_request(req)
    except BadRequestError as exc:
        return exc.response()
    instance_id = await client.start_new(start.function_name, None, start.input)
    logging.info("Started orchestration %s with ID %s.", start.function_name, instance_id)
    return client.create_check_status_response(req, instance_id)
