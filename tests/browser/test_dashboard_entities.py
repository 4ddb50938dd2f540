"""The dashboard's entities page in headless Chromium: the list with state, and signals sent from the
page, against a devhost process running the entities sample app."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Page, expect

from devhost.process import DevhostProcess

from .conftest import PageWatch
from .test_dashboard import DASHBOARD, WEBHOOKS, _call

ENTITIES_APP = Path(__file__).resolve().parents[1] / "devhost" / "apps" / "entities"


async def test_the_entities_page_lists_state_and_signals(
    tmp_path: Path, page_and_watch: tuple[Page, PageWatch]
) -> None:
    page, _ = page_and_watch
    proc = DevhostProcess(tmp_path, "memory", app=ENTITIES_APP).start()
    try:
        # The input as the SDK's client.signal_entity sends it: JSON text in a JSON string.
        _call(proc, "POST", f"{WEBHOOKS}/entities/Counter/shown?op=add", "3")
        await page.goto(proc.url + DASHBOARD + "#/entities")
        row = page.locator('tr[data-entity="counter@shown"]')
        await expect(row).to_contain_text("3")

        # A signal from the page's form reaches the entity.
        await page.get_by_label("Entity name", exact=True).fill("Counter")
        await page.get_by_label("Key", exact=True).fill("typed")
        await page.get_by_label("Operation").fill("add")
        await page.get_by_label("Input (JSON, optional)").fill("{")
        await page.get_by_role("button", name="Signal").click()
        await expect(page.locator("#signal-error")).to_contain_text("not JSON")
        await page.get_by_label("Input (JSON, optional)").fill("7")
        await page.get_by_role("button", name="Signal").click()
        await expect(page.locator('tr[data-entity="counter@typed"]')).to_contain_text("7")
        assert _call(proc, "GET", f"{WEBHOOKS}/entities/Counter/typed") == 7

        # The entity's own refusal is shown: an entity the app does not have.
        await page.get_by_label("Entity name", exact=True).fill("NoSuchEntity")
        await page.get_by_role("button", name="Signal").click()
        await expect(page.locator("#signal-error")).to_contain_text("not an entity function")

        # The name filter asks the API for that entity's instances only.
        await page.get_by_label("Filter by entity name").fill("counter")
        await page.get_by_role("button", name="Apply").click()
        await expect(page.locator("#entities tbody tr")).to_have_count(2)
        await page.get_by_label("Filter by entity name").fill("other")
        await page.get_by_role("button", name="Apply").click()
        await expect(page.locator("#entities tbody tr")).to_have_count(0)
        await expect(page.locator("#entities-empty")).to_be_visible()
    finally:
        proc.stop()
