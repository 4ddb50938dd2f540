"""Fixtures for the browser tests: Debian's Chromium driven by Playwright, devhost as a process.

Playwright's own browser download is not used (`playwright install` is never needed): the tests
launch the system Chromium by path. Without it they skip on a developer machine, saying what to
install, and fail in CI (CI=true), where .ci/run installs it.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, async_playwright

from devhost.process import DevhostProcess

from ..conftest import unavailable

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 800, "height": 900}
PHONE = {"width": 390, "height": 844}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    """The Chromium executable; skips without it, except in CI where it must be there."""
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        unavailable(f"Chromium not found at {CHROMIUM}: install it with `apt-get install chromium` (as root)")
    return CHROMIUM


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """The folder screenshots are saved to (git-ignored); each test overwrites its own files."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture(scope="session")
def devhost(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevhostProcess]:
    """The app on devhost with the real clock, durable state in memory."""
    proc = DevhostProcess(tmp_path_factory.mktemp("browser-devhost"), "memory", app=ROOT).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def skipping_devhost(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevhostProcess]:
    """The app on devhost with --time-skipping: a deadline passes as soon as nothing else runs."""
    proc = DevhostProcess(
        tmp_path_factory.mktemp("browser-devhost-skip"), "memory", "--time-skipping", app=ROOT
    ).start()
    yield proc
    proc.stop()


@pytest.fixture
async def browser(chromium_path: Path) -> AsyncIterator[Browser]:
    # Function-scoped: Playwright's objects belong to the event loop that made them, and each
    # test has its own loop.
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(chromium_path), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


@dataclass
class PageWatch:
    """What a page did: its requests, script errors and console errors."""

    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def on_console(self, message: ConsoleMessage) -> None:
        # A fetch answered 404 is logged as "Failed to load resource"; the page handles those.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(message.text)

    def status_requests(self) -> list[str]:
        return [url for method, url, _ in self.requests if method == "GET" and "/progress/status/" in url]


# Runs before the page's own script: every timer the page sets for its `poll` function is recorded
# (the delay asked for) and counted while pending, so tests read the polling schedule from the page
# instead of counting requests per second of the machine's time.
POLL_TIMERS = """(() => {
  const setTimer = window.setTimeout, clearTimer = window.clearTimeout, pending = new Set();
  let running = 0;
  window.__pollDelays = [];
  window.__pollIdle = () => pending.size === 0 && running === 0;
  window.setTimeout = function (callback, ms, ...rest) {
    if (typeof callback !== "function" || callback.name !== "poll") {
      return setTimer.call(window, callback, ms, ...rest);
    }
    window.__pollDelays.push(ms);
    const fire = (...args) => {
      pending.delete(id);
      running += 1;
      Promise.resolve(callback(...args)).finally(() => { running -= 1; });
    };
    const id = setTimer.call(window, fire, ms, ...rest);
    pending.add(id);
    return id;
  };
  window.clearTimeout = function (id) {
    pending.delete(id);
    return clearTimer.call(window, id);
  };
})();"""


async def open_page(browser: Browser, viewport: dict[str, int], **options: object) -> tuple[Page, PageWatch]:
    """Return a new page in its own context and the record of what it does."""
    context: BrowserContext = await browser.new_context(viewport=viewport, **options)  # type: ignore[arg-type]
    context.set_default_timeout(15_000)
    await context.add_init_script(POLL_TIMERS)
    page = await context.new_page()
    watch = PageWatch()
    page.on("console", watch.on_console)
    page.on("pageerror", lambda error: watch.errors.append(f"uncaught: {error}"))
    page.on("request", lambda request: watch.requests.append((request.method, request.url, request.headers)))
    return page, watch


@pytest.fixture
async def page_and_watch(browser: Browser) -> AsyncIterator[tuple[Page, PageWatch]]:
    """A desktop-sized page (800 x 900); the test fails if the page logs an error."""
    page, watch = await open_page(browser, DESKTOP)
    yield page, watch
    await page.context.close()
    assert watch.errors == []
