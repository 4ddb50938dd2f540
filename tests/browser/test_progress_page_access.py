"""The progress page's keys and accessibility in headless Chromium: labelled fields and a live region,
a function key that goes only into a header, API answers that carry no key or management link, and a
reservation made by keyboard alone. The scenarios themselves are in test_progress_page.py.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
from playwright.async_api import Page, expect

from devhost.process import DevhostProcess

from .conftest import PageWatch
from .progress_page import goto, instance_id, polling_stops, shot, webhook_status


async def test_the_landing_page_lists_every_scenario_with_labelled_fields(
    devhost: DevhostProcess, page_and_watch: tuple[Page, PageWatch], screenshots: Path
) -> None:
    page, _ = page_and_watch
    await goto(page, f"{devhost.url}/api/progress")

    for heading in ("Hello sequence", "City recommender", "Ticket reservation", "Status read while running"):
        await expect(page.get_by_role("heading", name=heading)).to_be_visible()
    unlabelled = await page.evaluate(
        """[...document.querySelectorAll("input, select")]
            .filter((el) => !el.labels || el.labels.length === 0).map((el) => el.id)"""
    )
    assert unlabelled == []
    live = page.locator("#live")
    await expect(live).to_have_attribute("aria-live", "polite")
    await expect(live).to_have_attribute("role", "status")
    await shot(page, screenshots, "landing")


async def test_a_function_key_in_the_page_address_goes_only_into_a_header(
    devhost: DevhostProcess, page_and_watch: tuple[Page, PageWatch]
) -> None:
    page, watch = page_and_watch
    key = "k3y-from-the-portal"
    await goto(page, f"{devhost.url}/api/progress?scenario=set-status&code={key}")
    await page.get_by_role("button", name="Start").click()
    await page.get_by_role("button", name="Proceed").click()
    await expect(page.locator(".result")).to_have_text("Proceeded.")

    # Reloading keeps following the same instance, still with the key.
    assert f"code={key}" in page.url and "instance=" in page.url
    api_calls = [(m, u, h) for m, u, h in watch.requests if "/api/progress/" in u and "/static/" not in u]
    assert {m for m, _, _ in api_calls} == {"GET", "POST"}
    assert all(h.get("x-functions-key") == key for _, _, h in api_calls)
    assert all(key not in u for _, u, _ in api_calls)
    assert key not in (await page.locator("body").inner_text())


async def test_the_api_answers_carry_no_key_or_management_link(devhost: DevhostProcess) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{devhost.url}/api/progress/start/set-status") as resp:
            started = await resp.text()
            assert resp.status == 202
        instance = json.loads(started)["instanceId"]
        await asyncio.sleep(0.3)
        async with http.get(f"{devhost.url}/api/progress/status/{instance}") as resp:
            status = await resp.text()
            assert resp.headers["Cache-Control"] == "no-store"
        async with http.post(f"{devhost.url}/api/progress/events/{instance}/Proceed", json={}) as resp:
            raised = await resp.text()
            assert resp.status == 202
    for body in (started, status, raised):
        for leak in ("code=", "sendEventPostUri", "statusQueryGetUri", "/runtime/webhooks"):
            assert leak not in body


async def test_a_ticket_is_reserved_and_confirmed_by_keyboard_alone(
    devhost: DevhostProcess, page_and_watch: tuple[Page, PageWatch]
) -> None:
    page, watch = page_and_watch
    await goto(page, f"{devhost.url}/api/progress?scenario=ticket")
    await expect(page.get_by_label("User id")).to_be_visible()

    async def tab_to(name: str) -> dict[str, Any]:
        for _ in range(30):
            await page.keyboard.press("Tab")
            now = await page.evaluate(
                "() => { const e = document.activeElement, s = getComputedStyle(e);"
                " return { text: (e.textContent || '').trim(), label: e.labels?.[0]?.textContent || '',"
                " outline: s.outlineStyle }; }"
            )
            if name in (now["text"], now["label"]):
                return dict(now)
        raise AssertionError(f"Tab never reached {name!r}")

    field = await tab_to("User id")
    assert field["outline"] == "solid"
    await page.keyboard.press("ControlOrMeta+a")
    await page.keyboard.type("hana")
    await page.keyboard.press("Enter")  # submits the form from its field
    instance = await instance_id(page)
    await expect(page.get_by_role("button", name="Confirm booking")).to_be_enabled()
    button = await tab_to("Confirm booking")
    assert button["outline"] == "solid"
    await page.keyboard.press("Enter")
    await expect(page.locator(".result")).to_have_text("Thank you for confirming your booking.")
    status = await webhook_status(devhost.url, instance)
    assert status["output"] is True and json.loads(status["input"]) == {"userId": "hana"}
    await polling_stops(page, watch)
