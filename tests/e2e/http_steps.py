"""Small HTTP steps shared by the end-to-end tests: start, read status, wait for a condition."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import aiohttp

WEBHOOKS = "/runtime/webhooks/durabletask"
TERMINAL = {"Completed", "Failed", "Terminated", "Canceled"}


async def start(http: aiohttp.ClientSession, base: str, name: str, body: Any = None) -> dict[str, Any]:
    """POST /api/orchestrators/{name} (the app's HttpStart); returns the 202 check-status body."""
    kwargs: dict[str, Any] = {} if body is None else {"json": body}
    async with http.post(f"{base}/api/orchestrators/{name}", **kwargs) as resp:
        payload = await resp.json()
        assert resp.status == 202, payload
        assert resp.headers["Location"] == payload["statusQueryGetUri"]
        return dict(payload)


async def status(http: aiohttp.ClientSession, base: str, instance_id: str, **query: str) -> dict[str, Any]:
    async with http.get(f"{base}{WEBHOOKS}/instances/{instance_id}", params=query) as resp:
        assert resp.status in (200, 202), await resp.text()
        return dict(await resp.json())


async def wait_until(
    http: aiohttp.ClientSession,
    base: str,
    instance_id: str,
    condition: Callable[[dict[str, Any]], bool],
    timeout: float = 30.0,
) -> dict[str, Any]:
    """Poll the status until `condition` holds; fail with the last status after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        current = await status(http, base, instance_id)
        if condition(current):
            return current
        if loop.time() > end:
            raise AssertionError(f"condition not reached in {timeout} s; last status: {current}")
        await asyncio.sleep(0.05)


async def finished(
    http: aiohttp.ClientSession, base: str, instance_id: str, timeout: float = 30.0
) -> dict[str, Any]:
    return await wait_until(http, base, instance_id, lambda s: s["runtimeStatus"] in TERMINAL, timeout)


async def raise_event(http: aiohttp.ClientSession, base: str, instance_id: str, name: str, data: Any) -> None:
    url = f"{base}{WEBHOOKS}/instances/{instance_id}/raiseEvent/{name}"
    async with http.post(url, data=json.dumps(data), headers={"Content-Type": "application/json"}) as resp:
        assert resp.status == 202, await resp.text()
