"""devhost's dashboard in headless Chromium: list and filter, an instance page with its custom-status
timeline, and the actions (raise an event, terminate, purge) against a devhost process."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import urllib.request
from pathlib import Path
from typing import Any

from playwright.async_api import Page, expect

from devhost.process import DevhostProcess

from .conftest import PHONE, PageWatch, open_page

WEBHOOKS = "/runtime/webhooks/durabletask"
DASHBOARD = "/runtime/devhost/dashboard/"
README_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
# DEVHOST_README_SCREENSHOTS=1 also copies the screenshots docs/devhost.md shows into docs/images.
UPDATE_README = os.environ.get("DEVHOST_README_SCREENSHOTS") == "1"


def _call(proc: DevhostProcess, method: str, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        proc.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        text = answer.read()
    return json.loads(text) if text else None


def start(proc: DevhostProcess, name: str, value: Any = None, instance_id: str = "") -> str:
    """Start as the SDK's client.start_new does: the input is JSON text sent as a JSON string."""
    path = f"{WEBHOOKS}/orchestrators/{name}" + (f"/{instance_id}" if instance_id else "")
    return str(_call(proc, "POST", path, None if value is None else json.dumps(value))["id"])


async def settle(proc: DevhostProcess, instance_id: str, statuses: set[str]) -> dict[str, Any]:
    status: dict[str, Any] = {}
    for _ in range(300):
        status = _call(proc, "GET", f"{WEBHOOKS}/instances/{instance_id}")
        if status["runtimeStatus"] in statuses:
            return status
        await asyncio.sleep(0.05)
    raise AssertionError(f"{instance_id} never reached {statuses}: {status}")


async def shot(page: Page, screenshots: Path, name: str, readme: bool = False) -> None:
    path = screenshots / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    if readme and UPDATE_README:
        shutil.copyfile(path, README_IMAGES / path.name)


async def test_the_list_filters_by_status_and_id_prefix(
    devhost: DevhostProcess, page_and_watch: tuple[Page, PageWatch], screenshots: Path
) -> None:
    page, _ = page_and_watch
    done = start(devhost, "E1_HelloSequence", ["Oslo"], "dash-list-done")
    waiting = start(devhost, "ReserveTicket", {"userId": "dana", "discountTimeout": 600}, "dash-list-waiting")
    await settle(devhost, done, {"Completed"})
    await settle(devhost, waiting, {"Running"})
    await page.goto(devhost.url + DASHBOARD)
    await expect(page.locator(f'tr[data-instance="{done}"]')).to_be_visible()
    await expect(page.locator(f'tr[data-instance="{waiting}"]')).to_contain_text("Running")
    # The custom status column shows the instance's status.
    await expect(page.locator(f'tr[data-instance="{done}"]')).to_contain_text('"Oslo"')
    await page.locator("#filters select[name=status]").select_option("Running")
    await page.get_by_role("button", name="Apply").click()
    await expect(page.locator(f'tr[data-instance="{done}"]')).to_have_count(0)
    await expect(page.locator(f'tr[data-instance="{waiting}"]')).to_be_visible()
    await page.locator("#filters select[name=status]").select_option("")
    await page.get_by_label("Id prefix").fill("dash-list-d")
    await page.get_by_role("button", name="Apply").click()
    await expect(page.locator(f'tr[data-instance="{waiting}"]')).to_have_count(0)
    await expect(page.locator("#instances tbody tr")).to_have_count(1)
    await page.get_by_label("Id prefix").fill("")
    await page.get_by_role("button", name="Apply").click()
    await shot(page, screenshots, "dashboard-list", readme=True)
    _call(devhost, "POST", f"{WEBHOOKS}/instances/{waiting}/terminate?reason=done")


async def test_the_custom_status_timeline_of_a_hello_sequence(
    devhost: DevhostProcess, page_and_watch: tuple[Page, PageWatch], screenshots: Path
) -> None:
    page, _ = page_and_watch
    instance = start(devhost, "E1_HelloSequence", None, "dash-hello")
    await settle(devhost, instance, {"Completed"})
    await page.goto(devhost.url + DASHBOARD)
    await page.get_by_role("link", name=instance).click()
    await expect(page.get_by_role("heading", name=instance)).to_be_visible()
    values = page.locator("#status-timeline li .value")
    await expect(values).to_have_text(['"Tokyo"', '"Seattle"', '"London"'])
    offsets = await page.locator("#status-timeline li .offset").all_text_contents()
    assert len(offsets) == 3 and all(o.startswith("+") for o in offsets)
    # One bar per activity, each completed; the history table lists the activities' results.
    await expect(page.locator("#tasks .bar.completed")).to_have_count(3)
    await expect(page.locator("#history")).to_contain_text("Hello Seattle!")
    await expect(page.locator("#summary")).to_contain_text("Completed")
    await shot(page, screenshots, "dashboard-instance", readme=True)
    await page.locator("#status-timeline").screenshot(path=str(screenshots / "dashboard-timeline.png"))
    if UPDATE_README:
        shutil.copyfile(screenshots / "dashboard-timeline.png", README_IMAGES / "dashboard-timeline.png")


async def test_raise_an_event_from_the_page_and_the_reservation_completes(
    devhost: DevhostProcess, page_and_watch: tuple[Page, PageWatch]
) -> None:
    page, _ = page_and_watch
    instance = start(devhost, "ReserveTicket", {"userId": "erin", "discountTimeout": 600}, "dash-ticket")
    await settle(devhost, instance, {"Running"})
    await page.goto(f"{devhost.url}{DASHBOARD}#/instance/{instance}")
    await expect(page.locator("#status-timeline li .value")).to_have_count(1)
    await page.get_by_role("button", name="Raise event").click()
    await page.get_by_label("Event name").fill("BookingConfirmed")
    await page.get_by_label("Event data (JSON)").fill("{not json")
    await page.get_by_role("button", name="Send event").click()
    await expect(page.locator("#raise-error")).to_contain_text("not JSON")
    assert (await settle(devhost, instance, {"Running"}))["runtimeStatus"] == "Running"
    await page.get_by_label("Event data (JSON)").fill("true")
    await page.get_by_role("button", name="Send event").click()
    await expect(page.locator("#summary")).to_contain_text("Completed")
    status = await settle(devhost, instance, {"Completed"})
    assert status["output"] is True
    # The timeline shows the offer, then the final message.
    await expect(page.locator("#status-timeline li .value")).to_have_count(2)
    await expect(page.locator("#status-timeline li .value").last).to_contain_text("message")


async def test_terminate_then_purge_with_confirmation(
    devhost: DevhostProcess, page_and_watch: tuple[Page, PageWatch]
) -> None:
    page, _ = page_and_watch
    instance = start(devhost, "ReserveTicket", {"userId": "finn", "discountTimeout": 600}, "dash-terminate")
    await settle(devhost, instance, {"Running"})
    await page.goto(f"{devhost.url}{DASHBOARD}#/instance/{instance}")
    await expect(page.locator("#summary")).to_contain_text("Running")
    # Cancelling the confirmation changes nothing.
    await page.get_by_role("button", name="Terminate").click()
    await page.locator("#confirm").get_by_role("button", name="Cancel").click()
    assert (await settle(devhost, instance, {"Running"}))["runtimeStatus"] == "Running"
    await page.get_by_role("button", name="Terminate").click()
    await page.locator("#confirm").get_by_label("Reason").fill("from the dashboard")
    await page.locator("#confirm").get_by_role("button", name="Confirm").click()
    status = await settle(devhost, instance, {"Terminated"})
    assert status["output"] == "from the dashboard"
    await expect(page.locator("#summary")).to_contain_text("Terminated")
    await page.get_by_role("button", name="Purge").click()
    await page.locator("#confirm").get_by_role("button", name="Confirm").click()
    await expect(page).to_have_url(devhost.url + DASHBOARD + "#/")
    for _ in range(100):
        try:
            _call(devhost, "GET", f"{WEBHOOKS}/instances/{instance}")
        except urllib.error.HTTPError as error:
            assert error.code == 404
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the purged instance is still there")


async def test_start_an_orchestration_from_the_page_and_an_unknown_id(
    devhost: DevhostProcess, page_and_watch: tuple[Page, PageWatch]
) -> None:
    page, _ = page_and_watch
    await page.goto(devhost.url + DASHBOARD)
    await page.get_by_text("Start an orchestration").click()
    await page.get_by_label("Orchestrator").select_option("E1_HelloSequence")
    await page.get_by_label("Instance id (optional)").fill("dash-started")
    await page.get_by_label("Input (JSON, optional)").fill('["Lima", "Quito"]')
    await page.get_by_role("button", name="Start", exact=True).click()
    await expect(page.get_by_role("heading", name="dash-started")).to_be_visible()
    await expect(page.locator("#status-timeline li .value")).to_have_text(['"Lima"', '"Quito"'])
    await page.goto(f"{devhost.url}{DASHBOARD}#/instance/no-such-instance")
    await expect(page.locator("#summary")).to_have_text("No instance with this id.")
    shown = " ".join((await page.locator("main").inner_text()).split())
    assert shown == "← All instances no-such-instance No instance with this id.", shown


async def test_the_phone_layout_keeps_the_list_usable(devhost: DevhostProcess, browser: Any) -> None:
    page, watch = await open_page(browser, PHONE)
    try:
        await page.goto(devhost.url + DASHBOARD)
        await expect(page.get_by_role("heading", name="Instances")).to_be_visible()
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"] + 1
    finally:
        await page.context.close()
    assert watch.errors == []


async def test_the_list_is_newest_first_across_pages_and_filters_by_name(
    devhost: DevhostProcess, page_and_watch: tuple[Page, PageWatch]
) -> None:
    page, _ = page_and_watch
    ids = [start(devhost, "E1_HelloSequence", ["Nuuk"], f"dash-newest-{n:02d}") for n in range(55)]
    ticket = start(devhost, "ReserveTicket", {"userId": "nia", "discountTimeout": 600}, "dash-newest-ticket")
    await settle(devhost, ids[-1], {"Completed"})
    await page.goto(devhost.url + DASHBOARD)
    await page.get_by_label("Id prefix").fill("dash-newest-")
    await page.get_by_role("button", name="Apply").click()
    rows = page.locator("#instances tbody tr")
    # Newest first from the store, not one page of ids sorted: the last started leads page 1.
    await expect(rows).to_have_count(50)
    await expect(rows.first).to_have_attribute("data-instance", ticket)
    first_page = [await r.get_attribute("data-instance") for r in await rows.all()]
    assert first_page == [ticket, *reversed(ids[-49:])]
    await page.get_by_role("button", name="Next page").click()
    await expect(rows).to_have_count(6)
    second_page = [await r.get_attribute("data-instance") for r in await rows.all()]
    assert second_page == list(reversed(ids[:6]))
    await expect(page.get_by_role("button", name="Next page")).to_be_disabled()
    # The name filter is the store's too: every row of every page is a ReserveTicket.
    await page.get_by_label("Name", exact=True).fill("reserveticket")
    await page.get_by_role("button", name="Apply").click()
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_have_attribute("data-instance", ticket)
    _call(devhost, "POST", f"{WEBHOOKS}/instances/{ticket}/terminate?reason=done")


async def test_the_start_banner_names_the_dashboard(
    devhost: DevhostProcess, page_and_watch: tuple[Page, PageWatch]
) -> None:
    page, _ = page_and_watch
    banner = [line for line in devhost.log_path.read_text().splitlines() if line.startswith("Dashboard: ")]
    assert banner == [f"Dashboard: http://localhost:{devhost.port}{DASHBOARD}"], banner
    await page.goto(banner[0].removeprefix("Dashboard: "))
    await expect(page.get_by_role("heading", name="Instances")).to_be_visible()


async def test_fast_forward_from_the_list_passes_a_deadline(
    tmp_path: Path, page_and_watch: tuple[Page, PageWatch]
) -> None:
    page, _ = page_and_watch
    proc = DevhostProcess(tmp_path, "memory", app=README_IMAGES.parents[1]).start()
    try:
        instance = start(proc, "ReserveTicket", {"userId": "fay", "discountTimeout": 600}, "dash-clock")
        await settle(proc, instance, {"Running"})
        await page.goto(proc.url + DASHBOARD)
        await expect(page.locator(f'tr[data-instance="{instance}"]')).to_contain_text("Running")
        await expect(page.locator("#clock-now")).to_contain_text("Clock:")
        await page.get_by_label("Fast-forward by").fill("soon")
        await page.get_by_role("button", name="Fast-forward").click()
        await expect(page.locator("#clock-error")).to_contain_text("not a duration")
        assert (await settle(proc, instance, {"Running"}))["runtimeStatus"] == "Running"

        await page.get_by_label("Fast-forward by").fill("11m")
        await page.get_by_role("button", name="Fast-forward").click()
        await expect(page.locator("#notice")).to_contain_text("1 due time(s) passed")
        await expect(page.locator(f'tr[data-instance="{instance}"]')).to_contain_text("Completed")
        await expect(page.locator("#clock-now")).to_contain_text("ahead of the wall clock")
        assert (await settle(proc, instance, {"Completed"}))["output"] is False
    finally:
        proc.stop()
