"""The customer's tracking link in a real browser: the agent logs a complaint and reads out the
tracking link; the customer, in a browser of their own with no account, opens it and follows the
case in their own words as the agent works it — the step it is at and the messages written to
them, never an internal note. Then the agent issues a new link: the old one stops working, in a
fresh browser and in the customer's (whose cookie belonged to the old link), and the new one
opens the page."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from complaints.models import Case, CaseEvent, Step, tracking_digest
from complaints.roles import Role
from intake import tracking

from ..caches import cache_clear
from ..factories import active_digests
from .conftest import TIMEOUT_MS, log_in

# The live server reads what this test writes, so no wrapping transaction: the database is
# flushed after the test instead (factories.staff makes the roles again if a flush removed them).
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

expect.set_options(timeout=TIMEOUT_MS)

MESSAGE = "We are on it: an engineer will call you tomorrow morning."
INTERNAL = "Sounded furious; check whether batch B-17 bearings are in this machine."


@pytest.fixture
def new_browser(browser, live_server) -> Iterator[Callable[[], Page]]:
    """Opens a page in a fresh browser context each call (no cookies: someone else's browser),
    with script errors and failed static files collected on ``page.problems``, as the ``page``
    fixture does for the agent's."""
    contexts = []

    def open_page() -> Page:
        context = browser.new_context(base_url=live_server.url, locale="en-GB")
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))

        def on_console(message) -> None:
            # The not-found page answers 404 on purpose; Chromium logs "Failed to load resource".
            if message.type == "error" and "Failed to load resource" not in message.text:
                problems.append(f"console error: {message.text}")

        def on_response(response) -> None:
            if "/static/" in response.url and response.status >= 400:
                problems.append(f"{response.status} {response.url}")

        page.on("console", on_console)
        page.on("response", on_response)
        page.problems = problems
        return page

    yield open_page
    for context in contexts:
        context.close()


def tracking_path(page: Page) -> str:
    """The tracking link shown once on the agent's case page, as a path on the live server
    (the link itself points at SITE_URL, the public address)."""
    link = page.get_by_test_id("tracking-link").locator("input").input_value()
    assert link.startswith(f"{settings.SITE_URL}/t/"), link
    path = urlsplit(link).path
    assert re.fullmatch(r"/t/[A-Za-z0-9_-]{43}", path), link
    return path


def now_at(page: Page):
    return page.get_by_test_id("tracking-progress").locator("[aria-current=step]")


def send(page: Page, body: str, *, to_customer: bool) -> None:
    """Write on the case's timeline from the case page (htmx swaps the conversation in)."""
    page.get_by_label("Note or message").fill(body)
    if to_customer:
        page.get_by_label("Send to the customer").check()
    page.get_by_role("button", name="Add to the timeline").click()
    kind = "message" if to_customer else "note"
    entry = page.get_by_test_id("timeline").locator(f"li[data-kind={kind}]", has_text=body)
    expect(entry).to_have_count(1)
    expect(page.get_by_label("Note or message")).to_have_value("")  # a fresh form came back


def expect_not_found(page: Page, path: str) -> None:
    response = page.goto(path)
    assert response is not None and response.status == 404
    expect(page.get_by_test_id("tracking-not-found")).to_be_visible()
    expect(page.get_by_test_id("tracking-page")).to_have_count(0)


def test_customer_link_shows_the_step_and_messages_never_notes_until_a_new_link_replaces_it(
    page: Page, new_browser, live_server, agent
):
    # The customer's pages count requests per address in the cache (shared with
    # the live server's thread); start from empty so that no earlier test's count carries over.
    cache_clear()
    # A name to look for (and a surname that must not show) on the customer's page.
    agent.first_name, agent.last_name = "Mei", "Zhang-Hollis"
    agent.save(update_fields=["first_name", "last_name"])

    # The agent logs a complaint from a new customer on the New complaint screen.
    log_in(page, agent)
    page.get_by_role("button", name="New complaint").click()  # a link styled as a button
    expect(page).to_have_url(re.compile(r"/intake/new/$"))
    page.wait_for_load_state("load")
    page.wait_for_function("() => window.htmx !== undefined")
    intake = page.get_by_test_id("intake-form")
    # The name first: the lookup that typing the phone number triggers keeps what is typed.
    intake.locator("[name=customer_name]").fill("Chen Jing")
    with page.expect_response(re.compile(r"/intake/customer-lookup/")):
        intake.locator("[name=phone]").fill("139 8765 4321")
    expect(page.get_by_test_id("customer-found")).to_have_count(0)  # nobody known by it
    expect(intake.locator("[name=customer_name]")).to_have_value("Chen Jing")
    intake.locator("[name=channel]").select_option("phone")
    intake.locator("[name=category]").select_option("product_quality")
    intake.locator("[name=urgency]").select_option("yellow")
    intake.locator("[name=product]").fill("Dishwasher D-50")
    intake.locator("[name=description]").fill("Leaves a puddle under the door after each wash.")
    intake.locator("[name=desired_outcome]").fill("A repair.")
    intake.get_by_role("button", name="Log the complaint").click()

    # The case page shows the tracking link, once.
    expect(page).to_have_url(re.compile(r"/cases/C\d{6}-\d{5}/$"))
    reference = page.get_by_test_id("case-reference").inner_text().strip()
    first_link = tracking_path(page)
    case = Case.objects.get(reference=reference)
    assert active_digests(case) == {tracking_digest(first_link.removeprefix("/t/"))}

    # The customer, in a browser of their own, opens the link: the token is traded for a
    # cookie and leaves the address bar.
    customer = new_browser()
    customer.goto(first_link)
    expect(customer).to_have_url(f"{live_server.url}/t/")
    expect(customer.get_by_test_id("tracking-page")).to_contain_text(reference)
    expect(now_at(customer)).to_have_text("Received")
    expect(customer.get_by_test_id("tracking-now")).to_contain_text("Now: Received")
    (cookie,) = [c for c in customer.context.cookies() if c["name"] == tracking.COOKIE_NAME]
    assert cookie["path"] == tracking.COOKIE_PATH
    assert cookie["httpOnly"] is True
    assert cookie["secure"] is False  # the live server speaks http: Secure only over HTTPS
    assert first_link.removeprefix("/t/") not in cookie["value"]  # a signed digest, not the token
    # No staff navigation for someone who is not logged in.
    expect(customer.get_by_test_id("nav-my-cases")).to_have_count(0)

    # The agent moves the case to Listen, writes to the customer, and writes an internal note.
    expect(page.get_by_test_id("tracking-link")).to_have_count(1)
    page.get_by_test_id(f"move-{Step.LISTEN}").click()
    expect(page.get_by_test_id("progress").locator("[aria-current=step]")).to_have_text("Listen")
    expect(page.get_by_test_id("tracking-link")).to_have_count(0)  # shown once, not again
    send(page, MESSAGE, to_customer=True)
    send(page, INTERNAL, to_customer=False)

    # The customer reloads: the step in their words, the message, and who wrote it as first
    # name and role; never the internal note, never a surname.
    customer.reload()
    expect(customer).to_have_url(f"{live_server.url}/t/")
    expect(now_at(customer)).to_have_text("Listening")
    expect(customer.get_by_test_id("tracking-now")).to_contain_text("Now: Listening")
    progress = customer.get_by_test_id("tracking-progress")
    expect(progress.locator("li")).to_have_text(
        [str(label) for label, _meaning in tracking.CUSTOMER_STEPS.values()]
    )
    expect(progress.locator("li.done")).to_have_text(["Received"])
    timeline = customer.get_by_test_id("tracking-timeline")
    expect(timeline.locator("li")).to_have_count(3)  # received, now listening, the message
    expect(timeline.locator("li").nth(0)).to_contain_text("We received your complaint.")
    expect(timeline.locator("li").nth(1)).to_contain_text("Now: Listening")
    message = timeline.locator("li").nth(2)
    expect(message).to_contain_text("A message for you")
    expect(message.locator("blockquote")).to_have_text(MESSAGE)
    expect(message.locator(".actor")).to_have_text(f"Mei ({Role.AGENT.label})")
    body = customer.locator("main")
    expect(body).not_to_contain_text(INTERNAL)
    expect(body).not_to_contain_text("Zhang-Hollis")
    expect(body).not_to_contain_text("Chen Jing")  # nor the customer's own details

    # The agent issues a new link (the old one reached the wrong person, say).
    panel = page.get_by_test_id("tracking-link-panel")
    panel.get_by_test_id("renew-tracking-link").click()
    expect(page.get_by_test_id("tracking-link")).to_have_count(1)
    new_link = tracking_path(page)
    assert new_link != first_link
    expect(page.get_by_test_id("timeline").locator("li[data-kind=link_renewed]")).to_have_count(1)

    # The old link, opened in a fresh browser, opens nothing.
    stranger = new_browser()
    expect_not_found(stranger, first_link)
    assert [c for c in stranger.context.cookies() if c["name"] == tracking.COOKIE_NAME] == []
    # Nor does the cookie the old link gave the customer.
    expect_not_found(customer, "/t/")

    # The new link opens the page, in the customer's browser and in a fresh one.
    customer.goto(new_link)
    expect(customer).to_have_url(f"{live_server.url}/t/")
    expect(now_at(customer)).to_have_text("Listening")
    expect(customer.get_by_test_id("tracking-timeline")).to_contain_text(MESSAGE)
    newcomer = new_browser()
    newcomer.goto(new_link)
    expect(newcomer).to_have_url(f"{live_server.url}/t/")
    expect(newcomer.get_by_test_id("tracking-page")).to_contain_text(reference)
    expect(now_at(newcomer)).to_have_text("Listening")

    # The customer writes back; the agent finds it on the case page.
    customer.get_by_label("Write to us").fill("The photos are attached to my email.")
    customer.get_by_test_id("tracking-send").click()
    expect(customer.locator(".messages")).to_contain_text("your message is on your complaint")
    expect(customer.get_by_test_id("tracking-timeline")).to_contain_text(
        "The photos are attached to my email."
    )
    page.reload()
    expect(page.get_by_test_id("timeline")).to_contain_text("Message from the customer")
    expect(page.get_by_test_id("timeline")).to_contain_text("The photos are attached")

    case.refresh_from_db()
    assert case.step == Step.LISTEN
    assert active_digests(case) == {tracking_digest(new_link.removeprefix("/t/"))}
    events = case.events.order_by("pk")
    visible = list(events.filter(customer_visible=True).values_list("kind", flat=True))
    assert visible == [
        CaseEvent.Kind.RECEIVED,
        CaseEvent.Kind.STEP,
        CaseEvent.Kind.MESSAGE,
        CaseEvent.Kind.CUSTOMER_MESSAGE,
    ]
    assert events.filter(kind=CaseEvent.Kind.NOTE, customer_visible=False).count() == 1
    for browser_page in (page, customer, stranger, newcomer):
        assert browser_page.problems == []  # no script errors, every static file served


def test_customer_agrees_at_confirm_rates_at_follow_up_and_the_case_closes(
    new_browser, agent, after_sales, handler
):
    """The end of the customer's side: the decision is shown at Confirm, the customer agrees,
    rates both the handling and the outcome at Follow up, and the case closes."""
    from complaints import services

    from ..factories import CustomerFactory, walk

    cache_clear()  # the customer pages' rate limit counts per address
    received = services.case_receive(
        by=agent,
        customer=CustomerFactory(),
        channel="web_form",
        category="product_quality",
        description="The kettle leaks.",
        desired_outcome="A new kettle.",
    )
    case = received.case
    walk(case, to=Step.CONFIRM, by=agent, department=after_sales, person=handler)
    customer = new_browser()
    customer.goto(f"/t/{received.tracking_token}")

    expect(now_at(customer)).to_have_text("Your agreement")
    expect(customer.get_by_test_id("tracking-plan")).to_contain_text("Repair within two days.")
    answer = customer.get_by_test_id("tracking-answer")
    answer.get_by_label("I agree", exact=True).check()
    answer.get_by_test_id("tracking-answer-send").click()
    expect(customer.locator(".messages")).to_contain_text("Thank you for your answer.")
    expect(now_at(customer)).to_have_text("Checking with you")

    rating = customer.get_by_test_id("tracking-follow-up")
    rating.get_by_test_id("tracking-handling").get_by_label("4").check()
    rating.get_by_test_id("tracking-outcome").get_by_label("5").check()
    rating.get_by_label("Yes, I am satisfied").check()
    rating.get_by_test_id("tracking-follow-up-send").click()
    expect(customer.locator(".messages")).to_contain_text("Thank you for your rating.")
    expect(now_at(customer)).to_have_text("Closed")
    expect(customer.get_by_test_id("tracking-write")).to_have_count(0)

    case.refresh_from_db()
    assert (case.step, case.handling_rating, case.satisfaction_rating) == (Step.CLOSED, 4, 5)
    assert case.customer_agreed is True
    assert customer.problems == []
