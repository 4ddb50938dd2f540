"""Bad requests get a 4xx with a JSON body saying what was wrong, and the host stays up."""

from __future__ import annotations

import aiohttp
import pytest

from .devhost_process import DevhostProcess
from .http_steps import WEBHOOKS, finished, start


async def _json_error(resp: aiohttp.ClientResponse, status: int) -> dict[str, object]:
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/json"
    body = await resp.json()
    assert isinstance(body, dict) and body, body
    return body


async def test_unknown_instance_is_404_with_json(
    devhost: DevhostProcess, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{devhost.url}{WEBHOOKS}/instances/no-such-instance") as resp:
        body = await _json_error(resp, 404)
        assert "no-such-instance" in str(body)


@pytest.mark.parametrize("action", ["raiseEvent/Go", "terminate", "suspend", "resume"])
async def test_operations_on_an_unknown_instance_are_404(
    devhost: DevhostProcess, http: aiohttp.ClientSession, action: str
) -> None:
    async with http.post(f"{devhost.url}{WEBHOOKS}/instances/ghost/{action}", json=True) as resp:
        await _json_error(resp, 404)


async def test_unknown_function_through_the_app_is_404(
    devhost: DevhostProcess, http: aiohttp.ClientSession
) -> None:
    async with http.post(f"{devhost.url}/api/orchestrators/NoSuchOrchestrator", json=1) as resp:
        body = await _json_error(resp, 404)
        assert "NoSuchOrchestrator" in str(body)


async def test_unknown_function_through_the_webhook_is_400_as_on_azure(
    devhost: DevhostProcess, http: aiohttp.ClientSession
) -> None:
    async with http.post(f"{devhost.url}{WEBHOOKS}/orchestrators/NoSuchOrchestrator") as resp:
        body = await _json_error(resp, 400)
        assert "NoSuchOrchestrator" in str(body)


@pytest.mark.parametrize(
    "path", ["/api/orchestrators/E1_HelloSequence", f"{WEBHOOKS}/orchestrators/E1_HelloSequence"]
)
async def test_malformed_json_is_400(devhost: DevhostProcess, http: aiohttp.ClientSession, path: str) -> None:
    async with http.post(
        f"{devhost.url}{path}", data=b'{"cities": [', headers={"Content-Type": "application/json"}
    ) as resp:
        await _json_error(resp, 400)


async def test_raise_event_needs_json_content(devhost: DevhostProcess, http: aiohttp.ClientSession) -> None:
    started = await start(http, devhost.url, "SetStatusTest")
    async with http.post(
        f"{devhost.url}{WEBHOOKS}/instances/{started['id']}/raiseEvent/Proceed",
        data=b"true",
        headers={"Content-Type": "text/plain"},
    ) as resp:
        body = await _json_error(resp, 400)
        assert "application/json" in str(body)
    async with http.post(
        f"{devhost.url}{WEBHOOKS}/instances/{started['id']}/terminate?reason=cleanup"
    ) as resp:
        assert resp.status == 202


async def test_events_to_a_finished_instance_are_410(
    devhost: DevhostProcess, http: aiohttp.ClientSession
) -> None:
    started = await start(http, devhost.url, "E1_HelloSequence")
    await finished(http, devhost.url, started["id"])
    async with http.post(
        f"{devhost.url}{WEBHOOKS}/instances/{started['id']}/raiseEvent/Late", json=1
    ) as resp:
        await _json_error(resp, 410)


@pytest.mark.parametrize("bad_id", ["@entity", "a%23b", "a%5Cb", "x" * 257])
async def test_invalid_instance_ids_are_400(
    devhost: DevhostProcess, http: aiohttp.ClientSession, bad_id: str
) -> None:
    async with http.post(f"{devhost.url}{WEBHOOKS}/orchestrators/E1_HelloSequence/{bad_id}") as resp:
        await _json_error(resp, 400)


async def test_wrong_method_on_an_app_route_is_404(
    devhost: DevhostProcess, http: aiohttp.ClientSession
) -> None:
    """The Functions host makes a route's methods a route constraint: no route matches, so 404."""
    async with http.get(f"{devhost.url}/api/orchestrators/E1_HelloSequence") as resp:
        body = await _json_error(resp, 404)
        assert "POST" in str(body)


async def test_rewind_of_an_unknown_id_and_an_unknown_entity_are_404_and_a_signal_to_it_400(
    devhost: DevhostProcess, http: aiohttp.ClientSession
) -> None:
    async with http.post(f"{devhost.url}{WEBHOOKS}/instances/never-started/rewind?reason=x") as resp:
        # The extension's rewind answers a JSON string (HandleRewindInstanceRequestAsync).
        assert (resp.status, resp.content_type) == (404, "application/json")
        assert await resp.json() == 'No orchestration with instance ID "$never-started" found.'
    async with http.get(f"{devhost.url}{WEBHOOKS}/entities/counter/one") as resp:
        await _json_error(resp, 404)
    # This app has no entity function: a signal is refused as the extension refuses it.
    async with http.post(f"{devhost.url}{WEBHOOKS}/entities/counter/one?op=add") as resp:
        body = await _json_error(resp, 400)
        assert "is not an entity function" in str(body)
