"""The progress page in headless Chromium: every scenario from its start form to its final state.

The page runs against devhost as a separate process, as a user opens it after `make run`; only the
step-by-step hello test scripts the status route, because a real sequence greets its cities faster
than any poll can see. Screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import aiohttp
from playwright.async_api import Browser, Page, Route, expect

from devhost.process import DevhostProcess

from .conftest import PHONE, PageWatch, open_page
from .progress_page import goto, instance_id, polling_stops, reserve, shot, webhook_status


async def test_hello_sequence_runs_to_its_greetings(
    devhost: DevhostProcess, page_and_watch: tuple[Page, PageWatch], screenshots: Path
) -> None:
    page, watch = page_and_watch
    await goto(page, f"{devhost.url}/api/progress?scenario=hello")
    await expect(page.get_by_role("heading", name="Hello sequence")).to_be_visible()
    await shot(page, screenshots, "hello-form")

    await page.get_by_label("Cities, separated by commas").fill("Paris, Oslo, Lisbon")
    await page.get_by_role("button", name="Start the hello sequence").click()

    instance = await instance_id(page)
    await expect(page.locator("#runtime-badge")).to_have_text("Completed")
    await expect(page.locator(".step")).to_have_count(3)
    await expect(page.locator(".step.done")).to_have_count(3)
    await expect(page.locator(".greetings li")).to_have_text(["Hello Paris!", "Hello Oslo!", "Hello Lisbon!"])
    await expect(page.get_by_role("status")).to_have_text("Completed: 3 of 3 cities greeted.")
    await expect(page.locator("#custom-status")).to_have_text('"Lisbon"')
    assert json.loads(await page.locator("#input").text_content() or "") == ["Paris", "Oslo", "Lisbon"]
    await expect(page.locator("#instance-id")).to_have_text(instance)
    await shot(page, screenshots, "hello-completed")

    # Whatever the polls caught on the way, the steps only ever moved forward.
    seen = await page.evaluate("window.__steps")
    done_counts = [snapshot.split(",").count("done") for snapshot in seen]
    assert done_counts == sorted(done_counts)
    assert (await webhook_status(devhost.url, instance))["output"] == [
        "Hello Paris!",
        "Hello Oslo!",
        "Hello Lisbon!",
    ]
    await polling_stops(page, watch)
    # Nothing but the app itself: no CDN, nothing from elsewhere.
    assert all(url.startswith(devhost.url) for _, url, _ in watch.requests)


def scripted(
    instance: str, runtime: str, custom: Any, output: Any = None, updated: str = ""
) -> dict[str, Any]:
    return {
        "instanceId": instance,
        "name": "E1_HelloSequence",
        "runtimeStatus": runtime,
        "customStatus": custom,
        "input": None,
        "output": output,
        "createdTime": "2026-01-01T12:00:00.000Z",
        "lastUpdatedTime": updated or "2026-01-01T12:00:01.000Z",
        "serverTime": "2026-01-01T12:00:02.000Z",
    }


async def test_hello_sequence_shows_each_city_as_the_custom_status_moves(
    devhost: DevhostProcess, page_and_watch: tuple[Page, PageWatch], screenshots: Path
) -> None:
    page, watch = page_and_watch
    current = {"status": scripted("scripted", "Running", None)}

    async def answer(route: Route) -> None:
        await route.fulfill(status=200, content_type="application/json", body=json.dumps(current["status"]))

    await page.route("**/api/progress/status/scripted", answer)
    await goto(page, f"{devhost.url}/api/progress?instance=scripted")
    steps = page.locator(".step")
    live = page.get_by_role("status")

    await expect(steps).to_have_class(["step current", "step pending", "step pending"])
    await expect(page.locator('[aria-current="step"]')).to_contain_text("Tokyo")
    await expect(live).to_have_text("Running: greeting Tokyo, 1 of 3.")

    current["status"] = scripted("scripted", "Running", "Tokyo", updated="2026-01-01T12:00:02.000Z")
    await expect(steps).to_have_class(["step done", "step current", "step pending"])
    await expect(live).to_have_text("Running: greeted Tokyo, 1 of 3.")

    current["status"] = scripted("scripted", "Running", "Seattle", updated="2026-01-01T12:00:03.000Z")
    await expect(steps).to_have_class(["step done", "step done", "step current"])
    await expect(steps.nth(2)).to_contain_text("greeting now")
    await expect(live).to_have_text("Running: greeted Seattle, 2 of 3.")
    await expect(page.locator("#runtime-badge")).to_have_text("Running")
    await shot(page, screenshots, "hello-running")

    # Nothing changes for a while: the delay before each next poll doubles up to 2 s. The delays the
    # page asks setTimeout for are recorded, so no count of polls per second of the machine's time.
    await page.evaluate("window.__pollDelays.length = 0")  # recorded from here on (conftest.POLL_TIMERS)
    await page.wait_for_function("() => window.__pollDelays.includes(2000)", timeout=30_000)
    delays = await page.evaluate("window.__pollDelays")
    assert delays == [min(delays[0] * 2**n, 2000) for n in range(len(delays))], delays
    assert delays[0] <= 1000

    greetings = ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]
    current["status"] = scripted("scripted", "Completed", "London", greetings, "2026-01-01T12:00:04.000Z")
    await expect(steps).to_have_class(["step done", "step done", "step done"])
    await expect(page.locator(".greetings li")).to_have_text(greetings)
    await expect(live).to_have_text("Completed: 3 of 3 cities greeted.")
    await polling_stops(page, watch)
    announcements = await page.evaluate("window.__announcements")
    assert [text for text in announcements if text.startswith(("Running", "Completed"))] == [
        "Running: greeting Tokyo, 1 of 3.",
        "Running: greeted Tokyo, 1 of 3.",
        "Running: greeted Seattle, 2 of 3.",
        "Completed: 3 of 3 cities greeted.",
    ]


async def test_city_recommender_offers_cities_and_refines_on_a_pick(
    devhost: DevhostProcess, page_and_watch: tuple[Page, PageWatch], screenshots: Path
) -> None:
    page, watch = page_and_watch
    await goto(page, f"{devhost.url}/api/progress?scenario=city")
    await page.get_by_label("Your choice").select_option("2")
    await page.get_by_label("Seconds to pick a city").fill("120")
    await page.get_by_role("button", name="Get recommendations").click()

    instance = await instance_id(page)
    await expect(page.locator(".view .chips").first.locator("li")).to_have_text(["Seattle", "London"])
    await expect(page.get_by_role("group", name="Pick a city to refine the recommendation")).to_be_visible()
    await expect(page.get_by_role("status")).to_have_text(
        "Recommended: Seattle or London, in Summer. Pick a city."
    )
    await expect(page.locator("#runtime-badge")).to_have_text("Running")
    await shot(page, screenshots, "city-recommendation")

    await page.get_by_role("button", name="Pick London").click()
    await expect(page.locator(".result")).to_have_text("You picked London.")
    await expect(page.locator(".view .message")).to_have_text("Enjoy London in Summer.")
    await expect(page.locator("#runtime-badge")).to_have_text("Completed")
    await expect(page.get_by_role("button", name="Pick Seattle")).to_have_count(0)
    await shot(page, screenshots, "city-final")

    done = await webhook_status(devhost.url, instance)
    assert done["output"]["selectedCity"] == "London"
    events = [(m, u) for m, u, _ in watch.requests if "/progress/events/" in u]
    assert events == [("POST", f"{devhost.url}/api/progress/events/{instance}/CitySelected")]
    await polling_stops(page, watch)


async def test_ticket_reservation_counts_down_and_confirms(
    devhost: DevhostProcess, page_and_watch: tuple[Page, PageWatch], screenshots: Path
) -> None:
    page, watch = page_and_watch
    await reserve(page, devhost.url, "alice")

    instance = await instance_id(page)
    await expect(page.locator(".discount strong")).to_have_text("10%")
    timer = page.get_by_role("timer")
    await expect(timer).to_have_text(re.compile(r"^(1:00|0:5\d)$"))
    first = await timer.text_content()
    await expect(timer).not_to_have_text(first or "", timeout=3000)  # it runs
    await expect(page.get_by_role("status")).to_have_text("Offer: 10% discount, 60 seconds to confirm.")
    link = page.get_by_role("link", name="Booking site")
    await expect(link).to_have_attribute("rel", "noreferrer noopener")
    await shot(page, screenshots, "ticket-offer")

    await page.get_by_role("button", name="Confirm booking").click()
    await expect(page.locator(".result")).to_have_text("Thank you for confirming your booking.")
    await expect(page.locator("#runtime-badge")).to_have_text("Completed")
    await expect(page.locator("#output")).to_have_text("true")
    await expect(page.get_by_role("timer")).to_have_count(0)
    await shot(page, screenshots, "ticket-confirmed")

    assert (await webhook_status(devhost.url, instance))["output"] is True
    await polling_stops(page, watch)


async def test_ticket_reservation_on_a_phone(
    devhost: DevhostProcess, browser: Browser, screenshots: Path
) -> None:
    page, watch = await open_page(browser, PHONE, is_mobile=True, has_touch=True, device_scale_factor=1)
    await reserve(page, devhost.url, "carol", 90)

    await expect(page.get_by_role("timer")).to_have_text(re.compile(r"^1:[23]\d$"))
    confirm = page.get_by_role("button", name="Confirm booking")
    # Nothing wider than the screen, and the buttons are large enough to tap.
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    box = await confirm.bounding_box()
    assert box is not None and box["height"] >= 44
    await shot(page, screenshots, "ticket-offer-phone")

    await page.get_by_role("button", name="Decline").click()
    await expect(page.locator(".result")).to_have_text(
        "The booking was declined. The discount offer is withdrawn."
    )
    await expect(page.locator("#output")).to_have_text("false")
    await page.context.close()
    assert watch.errors == []


async def test_ticket_reservation_deadline_missed_with_time_skipping(
    skipping_devhost: DevhostProcess, page_and_watch: tuple[Page, PageWatch], screenshots: Path
) -> None:
    page, watch = page_and_watch
    await reserve(page, skipping_devhost.url, "bob")

    instance = await instance_id(page)
    await expect(page.locator(".result")).to_have_text(
        "The booking was not confirmed on time. Please try again."
    )
    await expect(page.locator("#runtime-badge")).to_have_text("Completed")
    await expect(page.locator("#output")).to_have_text("false")
    await expect(page.get_by_role("button", name="Confirm booking")).to_have_count(0)
    await shot(page, screenshots, "ticket-missed")
    assert (await webhook_status(skipping_devhost.url, instance))["output"] is False
    await polling_stops(page, watch)


async def test_ticket_countdown_reaches_zero_and_disables_the_buttons(
    devhost: DevhostProcess, page_and_watch: tuple[Page, PageWatch]
) -> None:
    page, _ = page_and_watch
    await reserve(page, devhost.url, "dave", 3)

    await expect(page.get_by_role("button", name="Confirm booking")).to_be_enabled()
    await expect(page.get_by_role("timer")).to_have_text("0:00 (expired)", timeout=6000)
    await expect(page.get_by_role("button", name="Confirm booking")).to_be_disabled()
    await expect(page.locator(".result")).to_have_text(
        "The booking was not confirmed on time. Please try again.", timeout=10_000
    )
    announcements = await page.evaluate("window.__announcements")
    assert "The offer has expired." in announcements
    assert announcements[-1] == "The booking was not confirmed on time. Please try again."


async def test_set_status_test_proceeds_on_the_button(
    devhost: DevhostProcess, page_and_watch: tuple[Page, PageWatch], screenshots: Path
) -> None:
    page, watch = page_and_watch
    await goto(page, f"{devhost.url}/api/progress?scenario=set-status")
    await page.get_by_role("button", name="Start").click()

    await expect(page.locator(".view .chips li")).to_have_text(["A", "B", "C"])
    await expect(page.get_by_role("status")).to_have_text("Next actions: A, B, C.")
    await shot(page, screenshots, "set-status-running")
    await page.get_by_role("button", name="Proceed").click()
    await expect(page.locator(".result")).to_have_text("Proceeded.")
    await expect(page.locator("#custom-status")).to_have_text(re.compile(r'"nextActions": \[\]'))
    await polling_stops(page, watch)


async def test_any_instance_shows_its_status_input_output_and_times(
    devhost: DevhostProcess, page_and_watch: tuple[Page, PageWatch], screenshots: Path
) -> None:
    page, _ = page_and_watch
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{devhost.url}/api/orchestrators/CityRecommender", json=7) as resp,
    ):
        instance = (await resp.json())["id"]

    await goto(page, f"{devhost.url}/api/progress")
    await page.get_by_label("Instance id").fill(instance)
    await page.get_by_role("button", name="Open").click()

    await expect(page.locator("#runtime-badge")).to_have_text("Failed")
    await expect(page.locator(".result.fail")).to_contain_text("expects a choice of 1, 2 or 3")
    await expect(page.get_by_role("status")).to_contain_text(
        "Failed: Orchestrator function 'CityRecommender' failed"
    )
    await expect(page.locator("#fact-name")).to_have_text("CityRecommender")
    await expect(page.locator("#input")).to_have_text("7")
    await expect(page.locator("#output")).to_contain_text("expects a choice of 1, 2 or 3")
    for fact in ("#fact-created", "#fact-updated"):
        await expect(page.locator(f"{fact} time")).to_have_attribute("datetime", re.compile(r"^\d{4}-.*Z$"))
    await shot(page, screenshots, "any-instance-failed")


async def test_an_unknown_instance_says_not_found_and_nothing_else(
    devhost: DevhostProcess, page_and_watch: tuple[Page, PageWatch], screenshots: Path
) -> None:
    page, watch = page_and_watch
    await goto(page, f"{devhost.url}/api/progress?instance=nosuchinstance")

    await expect(page.get_by_role("alert")).to_have_text("No instance with id nosuchinstance was found.")
    await polling_stops(page, watch)
    # Only that: no instance section with empty facts or null values, and no "waiting" on the way.
    await expect(page.locator("#instance")).to_be_hidden()
    main_text = await page.locator("main").inner_text()
    assert main_text.strip() == "No instance with id nosuchinstance was found.", main_text
    announcements = await page.evaluate("window.__announcements")
    assert not [a for a in announcements if "aiting" in a or "Pending" in a], announcements
    assert len(watch.status_requests()) >= 2  # it asked again before saying so
    await shot(page, screenshots, "unknown-instance")


# How many times a text is on the screen as a text of its own: text nodes equal to it, in an element
# that takes more than a pixel (a visually hidden live region does not count; a JSON dump is no match).
SHOWN_TIMES = """(text) => {
  let count = 0;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.textContent.trim() !== text) continue;
    const box = node.parentElement.getBoundingClientRect();
    if (node.parentElement.checkVisibility() && box.width > 1 && box.height > 1) count += 1;
  }
  return count;
}"""


async def test_the_final_message_is_shown_once(
    devhost: DevhostProcess, page_and_watch: tuple[Page, PageWatch]
) -> None:
    page, watch = page_and_watch
    await reserve(page, devhost.url, "gina")
    await page.get_by_role("button", name="Confirm booking").click()
    message = "Thank you for confirming your booking."
    await expect(page.locator("#runtime-badge")).to_have_text("Completed")
    await expect(page.locator(".result")).to_have_text(message)
    await polling_stops(page, watch)
    assert await page.evaluate(SHOWN_TIMES, message) == 1
    # Screen readers still hear it: it is the live region's last announcement.
    await expect(page.get_by_role("status")).to_have_text(message)

    await goto(page, f"{devhost.url}/api/progress?scenario=city")
    await page.get_by_label("Seconds to pick a city").fill("120")
    await page.get_by_role("button", name="Get recommendations").click()
    await page.get_by_role("button", name="Pick Tokyo").click()
    await expect(page.locator("#runtime-badge")).to_have_text("Completed")
    await expect(page.locator(".view .message")).to_have_text("Enjoy Tokyo in Spring.")
    await polling_stops(page, watch)
    assert await page.evaluate(SHOWN_TIMES, "Enjoy Tokyo in Spring.") == 1


async def test_the_city_choices_name_their_cities(
    devhost: DevhostProcess, page_and_watch: tuple[Page, PageWatch]
) -> None:
    page, _ = page_and_watch
    await goto(page, f"{devhost.url}/api/progress?scenario=city")
    choice = page.get_by_label("Your choice")
    await expect(choice.locator("option")).to_have_text(
        ["Choice 1: Tokyo or Seattle", "Choice 2: Seattle or London", "Choice 3: Tokyo or London"]
    )
    # The choice picked by its cities is the one the orchestrator recommends them for.
    await choice.select_option(label="Choice 3: Tokyo or London")
    await page.get_by_label("Seconds to pick a city").fill("120")
    await page.get_by_role("button", name="Get recommendations").click()
    instance = await instance_id(page)
    await expect(page.locator(".view .chips").first.locator("li")).to_have_text(["Tokyo", "London"])
    await page.get_by_role("button", name="Pick London").click()
    await expect(page.locator("#runtime-badge")).to_have_text("Completed")
    assert (await webhook_status(devhost.url, instance))["input"] == json.dumps(
        {"choice": 3, "selectionTimeout": 120}
    )
