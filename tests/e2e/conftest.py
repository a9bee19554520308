"""Browser tests: Playwright (sync API) driving Debian's Chromium against pytest-django's
``live_server``.

* Chromium is the system package (``apt-get install chromium``, ``/usr/bin/chromium``);
  Playwright's own browser download is never used. Without ``/usr/bin/chromium`` every
  test here is skipped with a message saying so; CI installs it, so there they run.
* The tests are excluded from the default run (``addopts`` ignores tests/e2e); run them
  with ``scripts/e2e`` (or ``pytest tests/e2e --override-ini addopts=``).
* Playwright's sync API runs an event loop in the test thread, so Django would refuse
  database access from the test ("You cannot call this from an async context"):
  ``DJANGO_ALLOW_ASYNC_UNSAFE`` is set (scripts/e2e sets it too).
* When a test fails, the report gets the address and text of the page the browser was
  on, and a ``FAILED-*.png`` screenshot of it, so a CI log shows what the person saw.

pytest-playwright (the ``e2e`` extra) stays installed for anyone who wants its options, but
these fixtures do not use its ``browser``/``page`` fixtures: they would launch a browser
Playwright downloads itself.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path(os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
E2E_DIR = Path(__file__).resolve().parent
#: Playwright's wait for a locator, a navigation or an ``expect`` (ms). Pages here answer in
#: well under a second; a wait ends as soon as its condition holds, so the margin costs
#: nothing and covers a loaded CI machine (the API docs' script took over 5 s at load 11).
TIMEOUT_MS = 60_000
#: How Chromium words what the Content-Security-Policy refused ("Refused to apply inline
#: style because it violates the following Content Security Policy directive: …").
CSP_MESSAGE = re.compile(r"Content[ -]Security[ -]Policy", re.IGNORECASE)


SKIP_REASON = (
    f"browser tests need Chromium at {CHROMIUM} (apt-get install -y chromium); "
    "it is missing, so they are skipped"
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=SKIP_REASON)
    for item in items:
        if E2E_DIR in Path(str(item.fspath)).resolve().parents:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One headless Debian Chromium for the session."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def e2e_settings(_settings_for_tests, settings, tmp_path):
    """The app as deployed for the journey: routing on, Celery eager, uploads in tmp."""
    settings.AUTO_ASSIGN = True
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.CELERY_TASK_EAGER_PROPAGATES = True
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DEBUG = False
    return settings


class Browsing:
    """Browser contexts (one per person, each with its own cookies), screenshots, and the
    page that was on screen last (for failure reports)."""

    def __init__(self, browser, base_url: str, shots: Path):
        self.browser = browser
        self.base_url = base_url.rstrip("/")
        self.shots = shots
        self.contexts: list[Any] = []
        self.last_page = None
        self.taken: list[Path] = []
        self._count = 0
        #: Console messages of every page that mention the Content Security Policy: what
        #: the browser refused (an inline script or style, a frame), with the page address.
        self.csp_messages: list[str] = []

    def new_page(self, *, locale: str = "en-US", phone: bool = False):
        """A page in a fresh context: a desktop window, or with ``phone`` a 390×844 touch
        screen (an iPhone 12–15 in portrait) that may write to the clipboard."""
        size = {"width": 390, "height": 844} if phone else {"width": 1366, "height": 900}
        context = self.browser.new_context(
            base_url=self.base_url,
            locale=locale,
            viewport=size,
            timezone_id="Asia/Shanghai",
            is_mobile=phone,
            has_touch=phone,
            device_scale_factor=2 if phone else 1,
        )
        if phone:
            context.grant_permissions(["clipboard-read", "clipboard-write"])
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        self.contexts.append(context)
        page = context.new_page()
        page.on("framenavigated", lambda frame: self._seen(frame.page))
        page.on("console", lambda message: self._console(page, message))
        self.last_page = page
        return page

    def _console(self, page, message) -> None:
        if CSP_MESSAGE.search(message.text):
            self.csp_messages.append(f"{page.url}: {message.text}")

    def _seen(self, page) -> None:
        self.last_page = page

    def url(self, path: str) -> str:
        return self.base_url + path

    def shot(self, page, name: str) -> Path:
        """A full-page screenshot, numbered in the order of the journey."""
        self._count += 1
        slug = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-")
        path = self.shots / f"{self._count:02d}-{slug}.png"
        page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)
        self.last_page = page
        return path

    def close(self) -> None:
        for context in self.contexts:
            with contextlib.suppress(Exception):  # best effort at teardown
                context.close()


@pytest.fixture
def browsing(chromium, live_server, request) -> Iterator[Browsing]:
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name)
    shots = SCREENSHOTS / name
    shots.mkdir(parents=True, exist_ok=True)
    for old in shots.glob("*.png"):
        old.unlink()
    session = Browsing(chromium, live_server.url, shots)
    request.node._e2e_browsing = session
    try:
        yield session
    finally:
        session.close()


def page_report(session: Browsing) -> str:
    """The address and visible text of the page on screen, for a failure report."""
    page = session.last_page
    if page is None or page.is_closed():
        return "(no page open)"
    try:
        text = page.inner_text("body", timeout=3_000)
    except Exception as error:  # the page may be mid-navigation
        text = f"(could not read the page text: {error})"
    try:
        path = session.shots / "FAILED-last-page.png"
        page.screenshot(path=str(path), full_page=True, timeout=5_000)
        where = f"\nscreenshot: {path}"
    except Exception:
        where = ""
    return f"url: {page.url}{where}\n\n{text}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    session = getattr(item, "_e2e_browsing", None)
    if report.when == "call" and report.failed and session is not None:
        report.sections.append(("page the browser was on", page_report(session)))
        if session.csp_messages:
            text = "\n".join(session.csp_messages)
            report.sections.append(("what the Content-Security-Policy refused", text))
    return report
