"""Browser journeys: real headless Chromium driven by Playwright against pytest-django's live
server (a real HTTP server in a thread, on the transactional test database).

Chromium is the system's (/usr/bin/chromium, or ``HEED_CHROMIUM``); Playwright's own browser
download is not used. Without Chromium the journeys are skipped, except in CI (``CI`` set),
where a missing browser must fail the run rather than hide it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

CHROMIUM = os.environ.get("HEED_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
# How long a single wait for the page may take (navigation, a selector, an htmx swap).
TIMEOUT_MS = 15_000


@pytest.fixture
def browser(monkeypatch) -> Iterator:
    """Chromium, started for one test and stopped after it.

    Not session-wide on purpose: while Playwright's sync API is running, asyncio sees a running
    event loop in this thread, so Django keeps the thread's database connections in a separate,
    context-local slot. Stopping Playwright after each journey, and closing the connections
    opened meanwhile, keeps that from leaking into the tests that run after it (an unclosed
    connection would also block dropping the test database)."""
    if not os.path.exists(CHROMIUM):
        message = f"Chromium not found at {CHROMIUM} (set HEED_CHROMIUM)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from django.db import connections
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an asyncio event loop in this thread, and Django's ORM refuses
    # to run beside one unless told it is safe: the test reads and writes rows between browser
    # steps, never concurrently with the loop. Only while the browser runs, not for every test.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
            connections.close_all()  # those opened while the event loop ran


@pytest.fixture
def page(browser, live_server) -> Iterator:
    """A fresh browser context (no cookies) with a page on the live server. Script errors and
    static files that failed to load are collected on ``page.problems`` for the test to check."""
    context = browser.new_context(base_url=live_server.url, locale="en-GB")
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))

    def on_console(message) -> None:
        # A refused step answers 4xx on purpose; Chromium logs that as "Failed to load resource".
        if message.type == "error" and "Failed to load resource" not in message.text:
            problems.append(f"console error: {message.text}")

    page.on("console", on_console)

    def on_response(response) -> None:
        if "/static/" in response.url and response.status >= 400:
            problems.append(f"{response.status} {response.url}")

    page.on("response", on_response)
    page.problems = problems
    yield page
    context.close()


# ---------------------------------------------------------------- staff

PASSWORD = "pw-for-tests"  # UserFactory's


def log_in(page, user) -> None:
    """Log ``user`` in through the login page and wait for their first page."""
    from playwright.sync_api import expect

    page.goto("/login/")
    page.locator("input[name=username]").fill(user.username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    # Attached, not visible: on a phone the navigation is folded behind "Menu".
    expect(page.get_by_test_id("nav-my-cases")).to_be_attached()


# ---------------------------------------------------------------- every page on every screen

PHONE = {"width": 390, "height": 844}
AXE = os.path.join(os.path.dirname(__file__), "..", "..", "node_modules", "axe-core", "axe.min.js")


def sideways_scroll(page) -> int:
    """How many pixels the page is wider than the screen (0: nothing scrolls sideways)."""
    return page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


def axe_violations(page) -> list[str]:
    """axe-core's violations on the page as it is now (the npm package, run in the page), each
    as "rule: the elements' selectors"; empty when it passes."""
    if not os.path.exists(AXE):
        pytest.fail("axe-core is missing: npm ci installs it (package.json devDependencies)")
    page.add_script_tag(path=AXE)
    results = page.evaluate("async () => await axe.run(document)")
    return [
        f"{v['id']} ({v['impact']}): " + ", ".join(str(n["target"]) for n in v["nodes"])
        for v in results["violations"]
    ]


def too_wide(page) -> list[str]:
    """The outermost elements that reach past the screen's right edge (what to mend)."""
    return page.evaluate(
        """() => {
          const edge = document.documentElement.clientWidth;
          const past = el => el.getBoundingClientRect().right > edge + 0.5;
          return [...document.querySelectorAll("body *")]
            .filter(el => past(el) && !past(el.parentElement))
            .slice(0, 5)
            .map(el => `${el.tagName.toLowerCase()}.${[...el.classList].join(".")}`);
        }"""
    )


def check_screen(page) -> None:
    """The page as a user on this screen gets it: nothing scrolls sideways, axe-core passes."""
    wide = sideways_scroll(page)
    assert wide <= 0, f"{page.url} scrolls sideways by {wide} px: {too_wide(page)}"
    assert axe_violations(page) == [], page.url
