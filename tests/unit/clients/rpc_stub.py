"""A stand-in for the Durable extension's local RPC endpoint, the only thing the SDK client talks to.

The client functions get a real DurableOrchestrationClient built from binding JSON whose rpcBaseUrl
points here, so everything above the HTTP edge (URL building, encoding, status parsing) is the SDK's
own code. The stub records what it was sent and answers status queries from a script.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import azure.functions as func
from aiohttp import web

from ..app_index import indexed_functions

INSTANCE_ID = "abc123"
WEBHOOKS = "http://localhost:7071/runtime/webhooks/durabletask"
QUERY = "taskHub=CustomStatusHub&connection=Storage&code=SYSKEY"


@dataclass(frozen=True)
class StatusReply:
    """One answer to GET instances/{id}: an HTTP status and a JSON body (None: empty body)."""

    http_status: int
    body: dict[str, Any] | None
    hang: bool = False


def status(runtime_status: str, custom_status: Any = None, output: Any = None) -> StatusReply:
    """A status answer as the extension gives it: 202 while running, 200 once ended."""
    body = {
        "name": "E1_HelloSequence",
        "instanceId": INSTANCE_ID,
        "runtimeStatus": runtime_status,
        "input": None,
        "customStatus": custom_status,
        "output": output,
        "createdTime": "2024-05-01T12:00:00Z",
        "lastUpdatedTime": "2024-05-01T12:00:01Z",
    }
    return StatusReply(202 if runtime_status in {"Running", "Pending"} else 200, body)


NOT_FOUND = StatusReply(404, None)
# A status query that does not answer until the test ends (then: not found).
HANG = StatusReply(404, None, hang=True)


@dataclass
class RpcStub:
    """The stub's recorded requests and scripted answers; `base_url` ends with /durabletask/."""

    base_url: str = ""
    starts: list[tuple[str, str]] = field(default_factory=list)
    status_queries: int = 0
    status_params: list[dict[str, str]] = field(default_factory=list)
    script: list[StatusReply] = field(default_factory=lambda: [status("Running")])
    released: asyncio.Event = field(default_factory=asyncio.Event)
    events: list[tuple[str, str, str]] = field(default_factory=list)
    raise_event_status: int = 202

    def answer_status(self, *replies: StatusReply) -> None:
        """Answer status queries with `replies` in order, then repeat the last one."""
        self.script = list(replies)

    def binding(self) -> str:
        """Return the durable client binding JSON the host would pass, pointing at this stub."""
        instance = f"{WEBHOOKS}/instances/INSTANCEID"
        create = f"{WEBHOOKS}/orchestrators/{{functionName}}[/{{instanceId}}]"
        return json.dumps(
            {
                "taskHubName": "CustomStatusHub",
                "connectionName": None,
                "creationUrls": {
                    "createNewInstancePostUri": f"{create}?code=SYSKEY",
                    "createAndWaitOnNewInstancePostUri": f"{create}?timeout={{timeoutInSeconds}}"
                    "&pollingInterval={intervalInSeconds}&code=SYSKEY",
                },
                "managementUrls": {
                    "id": "INSTANCEID",
                    "statusQueryGetUri": f"{instance}?{QUERY}",
                    "sendEventPostUri": f"{instance}/raiseEvent/{{eventName}}?{QUERY}",
                    "terminatePostUri": f"{instance}/terminate?reason={{text}}&{QUERY}",
                    "rewindPostUri": f"{instance}/rewind?reason={{text}}&{QUERY}",
                    "purgeHistoryDeleteUri": f"{instance}?{QUERY}",
                    "restartPostUri": f"{instance}/restart?{QUERY}",
                    "suspendPostUri": f"{instance}/suspend?reason={{text}}&{QUERY}",
                    "resumePostUri": f"{instance}/resume?reason={{text}}&{QUERY}",
                },
                "baseUrl": WEBHOOKS,
                "requiredQueryStringParameters": "code=SYSKEY",
                "rpcBaseUrl": self.base_url,
                "httpBaseUrl": None,
            }
        )

    def app(self) -> web.Application:
        """Return the aiohttp application serving the RPC routes the clients use."""
        app = web.Application()
        app.router.add_post("/durabletask/orchestrators/{name}", self._start)
        app.router.add_get("/durabletask/instances/{id}", self._status)
        app.router.add_post("/durabletask/instances/{id}/raiseEvent/{event}", self._raise_event)
        return app

    async def _start(self, request: web.Request) -> web.Response:
        self.starts.append((request.match_info["name"], await request.text()))
        return web.json_response({"id": INSTANCE_ID}, status=202)

    async def _status(self, request: web.Request) -> web.Response:
        self.status_params.append(dict(request.query))
        if request.match_info["id"] != INSTANCE_ID:
            return web.Response(status=404)
        reply = self.script[min(self.status_queries, len(self.script) - 1)]
        self.status_queries += 1
        if reply.hang:
            await self.released.wait()
        if reply.body is None:
            return web.Response(status=reply.http_status)
        return web.json_response(reply.body, status=reply.http_status)

    async def _raise_event(self, request: web.Request) -> web.Response:
        """Record (instance id, event name, body) and answer `raise_event_status` (202: delivered)."""
        self.events.append((request.match_info["id"], request.match_info["event"], await request.text()))
        return web.Response(status=self.raise_event_status)


async def invoke(
    function: str,
    stub: RpcStub,
    orchestrator: str,
    *,
    body: bytes = b"",
    params: dict[str, str] | None = None,
    path_suffix: str = "",
) -> func.HttpResponse:
    """Call the registered HTTP client `function` as the worker does, for a start of `orchestrator`."""
    request = func.HttpRequest(
        method="POST",
        url=f"http://localhost:7071/api/orchestrators/{orchestrator}{path_suffix}",
        body=body,
        route_params={"functionName": orchestrator},
        params=params or {},
    )
    response = await indexed_functions()[function].get_user_function()(req=request, client=stub.binding())
    assert isinstance(response, func.HttpResponse)
    return response


def json_body(response: func.HttpResponse) -> Any:
    """Return the response body parsed as JSON, checking it is declared as JSON."""
    assert (
        response.mimetype == "application/json" or response.headers.get("Content-Type") == "application/json"
    )
    return json.loads(response.get_body())
