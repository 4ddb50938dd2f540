"""The dashboard without a mouse, on a phone and in the dark: every action by Tab and Enter with a visible
focus, a label on every form control, no page wider than a phone, and the colours of the system scheme."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from devhost.process import DevhostProcess

from .conftest import DESKTOP, PHONE, PageWatch, open_page
from .test_dashboard import DASHBOARD, WEBHOOKS, _call, settle, shot, start

FOCUSED = """() => {
  const e = document.activeElement;
  const style = getComputedStyle(e);
  return { tag: e.tagName, text: (e.textContent || "").trim(), name: e.getAttribute("name") || "",
    href: e.getAttribute("href") || "", outline: style.outlineStyle, width: parseFloat(style.outlineWidth) };
}"""


async def focused(page: Page) -> dict[str, Any]:
    return dict(await page.evaluate(FOCUSED))


async def tab_to(page: Page, text: str, limit: int = 40) -> dict[str, Any]:
    """Press Tab until the focused element's text is `text`; fails after `limit` presses."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        now = await focused(page)
        if now["text"] == text:
            return now
    raise AssertionError(f"Tab never reached {text!r}")


async def test_the_keyboard_alone_raises_an_event_with_the_focus_always_visible(
    devhost: DevhostProcess, page_and_watch: tuple[Page, PageWatch]
) -> None:
    page, _ = page_and_watch
    instance = start(devhost, "ReserveTicket", {"userId": "kim", "discountTimeout": 600}, "dash-keys")
    await settle(devhost, instance, {"Running"})
    await page.goto(f"{devhost.url}{DASHBOARD}#/instance/{instance}")
    await expect(page.locator("#summary")).to_contain_text("Running")

    button = await tab_to(page, "Raise event")
    assert button["outline"] == "solid" and button["width"] >= 2, button
    await page.keyboard.press("Enter")
    assert (await focused(page))["name"] == "event"  # the form opens with the focus in its first field
    await page.keyboard.type("BookingConfirmed")
    await page.keyboard.press("Tab")
    field = await focused(page)
    assert field["name"] == "data" and field["outline"] == "solid", field
    await page.keyboard.press("ControlOrMeta+a")
    await page.keyboard.type("true")
    send = await tab_to(page, "Send event", limit=2)
    assert send["outline"] == "solid"
    await page.keyboard.press("Enter")

    await expect(page.locator("#summary")).to_contain_text("Completed")
    assert (await settle(devhost, instance, {"Completed"}))["output"] is True


async def test_the_keyboard_alone_terminates_and_purges_through_the_confirmation(
    devhost: DevhostProcess, page_and_watch: tuple[Page, PageWatch]
) -> None:
    page, _ = page_and_watch
    instance = start(devhost, "ReserveTicket", {"userId": "lee", "discountTimeout": 600}, "dash-keys-end")
    await settle(devhost, instance, {"Running"})
    await page.goto(f"{devhost.url}{DASHBOARD}#/instance/{instance}")
    await expect(page.locator("#summary")).to_contain_text("Running")

    await tab_to(page, "Terminate")
    await page.keyboard.press("Enter")
    await expect(page.locator("#confirm")).to_be_visible()
    assert (await focused(page))["name"] == "reason"  # the dialog takes the focus
    await page.keyboard.type("by keyboard")
    await tab_to(page, "Confirm", limit=3)
    await page.keyboard.press("Enter")
    assert (await settle(devhost, instance, {"Terminated"}))["output"] == "by keyboard"
    await expect(page.locator("#summary")).to_contain_text("Terminated")

    await page.locator("#view").focus()
    await tab_to(page, "Purge")
    await page.keyboard.press("Enter")
    await expect(page.locator("#confirm")).to_be_visible()
    await tab_to(page, "Confirm", limit=3)
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(devhost.url + DASHBOARD + "#/")
    await expect(page.get_by_role("heading", name="Instances")).to_be_visible()


async def test_a_focused_instance_link_keeps_the_focus_when_the_list_refreshes(
    devhost: DevhostProcess, page_and_watch: tuple[Page, PageWatch]
) -> None:
    page, _ = page_and_watch
    first = start(devhost, "E1_HelloSequence", ["Rome"], "dash-keys-list-a")
    await settle(devhost, first, {"Completed"})
    await page.goto(devhost.url + DASHBOARD)
    link = page.locator(f'tr[data-instance="{first}"] a')
    await expect(link).to_be_visible()
    await tab_to(page, first, limit=60)

    # A new instance changes the list: the auto-refresh draws it anew, the focus stays on the link.
    second = start(devhost, "E1_HelloSequence", ["Bern"], "dash-keys-list-b")
    await expect(page.locator(f'tr[data-instance="{second}"]')).to_be_visible()
    assert (await focused(page))["text"] == first
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name=first)).to_be_visible()


UNLABELLED = """() => [...document.querySelectorAll("input, select, textarea")]
  .filter((c) => !(c.labels && c.labels.length))
  .filter((c) => !c.getAttribute("aria-label") && !c.getAttribute("aria-labelledby"))
  .map((c) => c.outerHTML)"""
NAMELESS_BUTTONS = """() => [...document.querySelectorAll("button, a[href]")]
  .filter((b) => !b.textContent.trim() && !b.getAttribute("aria-label")).map((b) => b.outerHTML)"""


async def test_every_form_control_has_a_label(
    devhost: DevhostProcess, page_and_watch: tuple[Page, PageWatch]
) -> None:
    page, _ = page_and_watch
    instance = start(devhost, "ReserveTicket", {"userId": "max", "discountTimeout": 600}, "dash-labels")
    await settle(devhost, instance, {"Running"})
    await page.goto(devhost.url + DASHBOARD)
    await expect(page.locator("#instances tbody tr").first).to_be_visible()
    assert await page.evaluate(UNLABELLED) == []
    assert await page.evaluate(NAMELESS_BUTTONS) == []
    for label in ("Name", "Status", "Id prefix", "Created from", "Created to", "Sort", "Auto-refresh"):
        await expect(page.get_by_label(label, exact=True)).to_have_count(1)

    await page.goto(f"{devhost.url}{DASHBOARD}#/instance/{instance}")
    await page.get_by_role("button", name="Raise event").click()
    await expect(page.get_by_label("Event name")).to_be_focused()
    assert await page.evaluate(UNLABELLED) == []
    assert await page.evaluate(NAMELESS_BUTTONS) == []
    _call(devhost, "POST", f"{WEBHOOKS}/instances/{instance}/terminate?reason=labels")


async def test_the_instance_page_fits_a_phone(
    devhost: DevhostProcess, browser: Browser, screenshots: Path
) -> None:
    instance = start(devhost, "E1_HelloSequence", ["Kuala Lumpur", "Ouagadougou"], "dash-phone-instance")
    await settle(devhost, instance, {"Completed"})
    page, watch = await open_page(browser, PHONE, is_mobile=True, has_touch=True, device_scale_factor=1)
    try:
        await page.goto(f"{devhost.url}{DASHBOARD}#/instance/{instance}")
        await expect(page.locator("#status-timeline li .value")).to_have_count(2)
        await expect(page.locator("#tasks .bar.completed")).to_have_count(2)
        # Nothing wider than the screen: long ids and JSON wrap, wide tables scroll in their own box.
        assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
        for name in ("Raise event", "Terminate", "Purge"):
            box = await page.get_by_role("button", name=name).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (
                name,
                box,
            )
        await shot(page, screenshots, "dashboard-instance-phone")
    finally:
        await page.context.close()
    assert watch.errors == []


PROGRESS = "/api/progress"
SCHEMES = {
    "light": ("rgb(255, 255, 255)", "rgb(27, 27, 31)"),
    "dark": ("rgb(22, 24, 29)", "rgb(230, 232, 235)"),
}


@pytest.mark.parametrize("scheme", list(SCHEMES))
async def test_the_dashboard_follows_the_system_colour_scheme(
    devhost: DevhostProcess, browser: Browser, screenshots: Path, scheme: str
) -> None:
    page, watch = await open_page(browser, DESKTOP, color_scheme=scheme)
    try:
        await page.goto(devhost.url + DASHBOARD)
        await expect(page.get_by_role("heading", name="Instances")).to_be_visible()
        colours = await page.evaluate(
            "() => { const s = getComputedStyle(document.body); return [s.backgroundColor, s.color]; }"
        )
        assert tuple(colours) == SCHEMES[scheme]
        # Form controls follow too (color-scheme), not only the page's own colours.
        field = await page.get_by_label("Id prefix").evaluate("(e) => getComputedStyle(e).backgroundColor")
        assert field == SCHEMES[scheme][0]
        await shot(page, screenshots, f"dashboard-list-{scheme}")
    finally:
        await page.context.close()
    assert watch.errors == []


async def test_the_progress_page_follows_the_dark_scheme(devhost: DevhostProcess, browser: Browser) -> None:
    colours = {}
    for scheme in ("light", "dark"):
        page, watch = await open_page(browser, DESKTOP, color_scheme=scheme)
        try:
            await page.goto(devhost.url + PROGRESS)
            await expect(page.get_by_role("heading", name="Start a scenario")).to_be_visible()
            colours[scheme] = await page.evaluate(
                "() => { const s = getComputedStyle(document.body); return [s.backgroundColor, s.color]; }"
            )
        finally:
            await page.context.close()
        assert watch.errors == []
    assert colours["light"] != colours["dark"]
    # Dark means light text on a dark background.
    background, text = (_luminance(c) for c in colours["dark"])
    assert background < 0.2 < 0.6 < text, colours


def _luminance(rgb: str) -> float:
    r, g, b = (int(v) / 255 for v in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b
