"""The customer's conversation in real browsers: the agent writes to the customer; the customer
gets the email, follows its link on a phone, asks a question, agrees with the decision and rates
it — and the case closes only once the question is answered. The customer's pages are checked on
a 390 px phone, the agent's case page at desktop width and on a phone: nothing scrolls sideways,
axe-core passes.

The outbox is played in this process (``notices_deliver``, what the worker runs after the
commit); the emails land in Django's in-memory mailer."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import Page, expect

from complaints.models import Step
from conversation.models import Notice, NoticeKind
from conversation.outbox import notices_deliver

from ..caches import cache_clear
from ..factories import CustomerFactory, receive, receive_case, walk
from .conftest import PHONE, TIMEOUT_MS, check_screen, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

expect.set_options(timeout=TIMEOUT_MS)

LINK = re.compile(r"http\S+/t/([A-Za-z0-9_-]{43})")


@pytest.fixture
def phone(browser, live_server) -> Iterator[Page]:
    """The customer's phone: a browser of their own, 390 px wide."""
    context = browser.new_context(base_url=live_server.url, locale="en-GB", viewport=PHONE)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


def delivered(kind: str) -> mail.EmailMessage:
    """Run the outbox, and the one email of ``kind`` it sent to the customer."""
    notices_deliver()
    notice = Notice.objects.get(kind=kind)
    assert notice.status == Notice.Status.SENT, notice.last_error
    [email] = [m for m in mail.outbox if m.subject == notice.subject]
    return email


def follow(phone: Page, email) -> None:
    """The customer follows the link in the email, on their phone."""
    token = LINK.search(email.body).group(1)
    phone.goto(f"/t/{token}")
    expect(phone.get_by_test_id("tracking-page")).to_be_visible()
    check_screen(phone)


def on_both_screens(page: Page) -> None:
    """The agent's page at desktop width, then on a phone, then back."""
    check_screen(page)
    desktop = page.viewport_size
    page.set_viewport_size(PHONE)
    check_screen(page)
    page.set_viewport_size(desktop)


def test_the_agent_writes_the_customer_answers_on_a_phone_and_the_case_closes_once_answered(
    page: Page, phone: Page, agent, handler, after_sales
):
    cache_clear()  # the customer pages' rate limits count per address
    agent.first_name = "Mei"
    agent.save(update_fields=["first_name"])
    customer = CustomerFactory(name="Li Na", email="li.na@example.com", phone="")
    case = receive_case(by=agent, customer=customer, description="The washer leaks.")
    walk(case, to=Step.ACT, by=agent, department=after_sales, person=agent)
    notices_deliver()  # the acknowledgement
    mail.outbox.clear()

    # The agent writes to the customer from the case page.
    log_in(page, agent)
    page.goto(f"/cases/{case.reference}/")
    page.get_by_label("Note or message").fill("The engineer comes on Tuesday at 9.")
    page.get_by_label("Send to the customer").check()
    page.get_by_role("button", name="Add to the timeline").click()
    expect(page.get_by_test_id("timeline").locator("li[data-kind=message]")).to_have_count(1)

    # The customer gets it by email, in their words, and follows its link on their phone.
    email = delivered(NoticeKind.MESSAGE)
    assert email.to == ["li.na@example.com"]
    assert "Mei wrote to you about your complaint" in email.body
    assert "The engineer comes on Tuesday at 9." in email.body
    follow(phone, email)
    expect(phone.get_by_test_id("tracking-timeline")).to_contain_text("Tuesday at 9")

    # They ask a question: the case now waits on us.
    phone.get_by_label("Write to us").fill("Will he bring the new door seal?")
    phone.get_by_test_id("tracking-send").click()
    expect(phone.get_by_test_id("tracking-timeline")).to_contain_text("new door seal")
    check_screen(phone)
    page.reload()
    expect(page.get_by_test_id("waiting-on-us").first).to_be_visible()
    on_both_screens(page)

    # The agent carries the decision out and asks for the customer's agreement.
    page.get_by_label("Actions taken").fill("Engineer booked; seal ordered.")
    page.get_by_label("Investigation report").fill("Seal worn after two years.")
    page.get_by_test_id("move-confirm").click()
    expect(page.get_by_test_id("step-panel")).to_contain_text("Confirm")

    # The customer is asked by email, agrees on their phone, and rates it: satisfied.
    follow(phone, delivered(NoticeKind.DECISION))
    phone.get_by_label("I agree").check()
    phone.get_by_test_id("tracking-answer-send").click()
    expect(phone.get_by_test_id("tracking-follow-up")).to_be_visible()
    check_screen(phone)
    for name, value in (("handling", "5"), ("outcome", "5")):
        phone.get_by_test_id(f"tracking-{name}").get_by_label(value, exact=True).check()
    phone.get_by_label("Yes, I am satisfied").check()
    phone.get_by_test_id("tracking-follow-up-send").click()
    # Their question has no answer yet: the rating is kept and the case waits.
    expect(phone.get_by_test_id("tracking-rated-waiting")).to_contain_text(
        "We will answer your last message first"
    )
    check_screen(phone)
    case.refresh_from_db()
    assert (case.step, case.satisfaction_rating) == (Step.FOLLOW_UP, 5)

    # The agent cannot close it before answering; after the answer, it closes as rated.
    page.reload()
    expect(page.get_by_test_id("waiting-on-us").first).to_contain_text("rated the outcome 5")
    page.get_by_test_id("move-closed").click()
    expect(page.get_by_test_id("refusal")).to_contain_text("has no answer yet")
    page.get_by_label("Note or message").fill("Yes: he brings the seal and fits it.")
    page.get_by_label("Send to the customer").check()
    page.get_by_role("button", name="Add to the timeline").click()
    expect(page.get_by_test_id("timeline").locator("li[data-kind=message]")).to_have_count(2)
    page.goto(f"/cases/{case.reference}/")
    expect(page.get_by_test_id("waiting-on-us")).to_have_count(0)
    page.get_by_test_id("move-closed").click()
    expect(page.get_by_test_id("case-ending")).to_contain_text("Rated by the customer")
    on_both_screens(page)

    # The customer is told of the answer and of the closing.
    notices_deliver()
    closing = Notice.objects.get(kind=NoticeKind.CLOSED)
    assert closing.status == Notice.Status.SENT
    follow(phone, next(m for m in mail.outbox if m.subject == closing.subject))
    expect(phone.get_by_test_id("tracking-now")).to_contain_text("Closed")
    assert urlsplit(phone.url).path == "/t/"


def test_a_supervisor_reviews_a_sample_of_follow_ups_on_a_desktop_and_a_phone(
    page: Page, agent, handler, after_sales, quality_manager
):
    """客户服务主管审阅: the quality manager opens the sample from the Reports, marks one
    follow-up reviewed with a comment on the sample page, another on its case page."""
    walked = [
        walk(
            receive_case(by=agent), to=Step.CLOSED, by=agent, department=after_sales, person=handler
        )
        for _ in range(2)
    ]
    log_in(page, quality_manager)
    page.goto("/reports/")
    page.get_by_test_id("follow-up-review-link").click()
    expect(page.get_by_test_id("follow-up")).to_have_count(2)
    expect(page.get_by_test_id("follow-up-coverage")).to_contain_text("0 of the 2 follow-ups")
    on_both_screens(page)

    first = page.get_by_test_id("follow-up").first
    reference = first.locator("a").first.inner_text()
    first.get_by_label("Comment").fill("Called on the right day; rating noted.")
    first.get_by_test_id("follow-up-review-save").click()
    expect(page.get_by_test_id("follow-up")).to_have_count(1)
    expect(page.get_by_test_id("follow-up-coverage")).to_contain_text("1 of the 2 follow-ups")
    expect(page.get_by_test_id("follow-up-latest")).to_contain_text(reference)
    page.set_viewport_size(PHONE)
    check_screen(page)

    other = next(case for case in walked if case.reference != reference)
    page.goto(f"/cases/{other.reference}/")
    page.get_by_test_id("follow-up-review").locator("summary").click()
    page.get_by_test_id("follow-up-review").get_by_label("Comment").fill("Fine.")
    page.get_by_test_id("follow-up-review-save").click()
    expect(page.get_by_test_id("follow-up-reviewed")).to_contain_text("Fine.")
    check_screen(page)


def test_while_sending_is_behind_the_agent_and_the_customer_are_told_on_both_screens(
    page: Page, phone: Page, agent
):
    """The worker has been away 20 minutes: the acknowledgement waits. The agent's pages say
    sending is behind and the case's timeline marks the notice; the customer's tracking page
    says a message to them is late, and that its news is on the page."""
    cache_clear()
    received = receive(by=agent, customer=CustomerFactory(email="li.na@example.com"))
    Notice.objects.filter(case=received.case).update(
        next_attempt_at=timezone.now() - timedelta(minutes=20)
    )

    log_in(page, agent)
    expect(page.get_by_test_id("delayed-banner")).to_contain_text(
        "1 message to a customer is late."
    )
    on_both_screens(page)
    page.goto(f"/cases/{received.case.reference}/")
    expect(page.get_by_test_id("notice-late")).to_be_visible()
    on_both_screens(page)

    phone.goto(f"/t/{received.tracking_token}")
    expect(phone.get_by_test_id("tracking-delayed")).to_contain_text("delayed on its way to you")
    check_screen(phone)
