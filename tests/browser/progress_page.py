"""What the progress page tests share: a recorder of the page's announcements and steps, opening a
page with it, and reading the instance the page follows."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import aiohttp
from playwright.async_api import Page, expect

from .conftest import PageWatch

WEBHOOKS = "/runtime/webhooks/durabletask"
RECORDER = """
window.__announcements = [];
window.__steps = [];
document.addEventListener("DOMContentLoaded", () => {
  const live = document.getElementById("live");
  new MutationObserver(() => window.__announcements.push(live.textContent))
    .observe(live, { childList: true, characterData: true, subtree: true });
  const view = document.getElementById("view");
  new MutationObserver(() => {
    const steps = [...view.querySelectorAll(".step")].map((li) => li.className.replace("step ", ""));
    if (steps.length) window.__steps.push(steps.join(","));
  }).observe(view, { childList: true, subtree: true });
});
"""


async def goto(page: Page, url: str) -> None:
    await page.add_init_script(RECORDER)
    await page.goto(url)


async def reserve(page: Page, base: str, user_id: str, seconds: int | None = None) -> None:
    """Open the ticket form, fill it in and start the reservation."""
    await goto(page, f"{base}/api/progress?scenario=ticket")
    await page.get_by_label("User id").fill(user_id)
    if seconds is not None:
        await page.get_by_label("Seconds to confirm").fill(str(seconds))
    await page.get_by_role("button", name="Reserve a ticket").click()


async def shot(page: Page, screenshots: Path, name: str) -> None:
    await page.screenshot(path=str(screenshots / f"{name}.png"))


async def instance_id(page: Page) -> str:
    """Return the id of the instance the page follows, once its address says it."""
    await expect(page).to_have_url(re.compile(r"[?&]instance=\w+"))
    match = re.search(r"[?&]instance=(\w+)", page.url)
    assert match
    return match.group(1)


async def webhook_status(base: str, instance: str) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{base}{WEBHOOKS}/instances/{instance}") as resp,
    ):
        return dict(await resp.json())


async def polling_stops(page: Page, watch: PageWatch) -> None:
    """The page says it stopped polling, and no poll is running or waiting on a timer (POLL_TIMERS)."""
    await expect(page.locator("#instance")).to_have_attribute("data-polling", "stopped")
    # A page still polling always has its next poll running or on a timer: it is never idle.
    await page.wait_for_function("() => window.__pollIdle()")
