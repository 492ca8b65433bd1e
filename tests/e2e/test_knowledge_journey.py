# ruff: noqa: RUF001  (Chinese text is written with Chinese punctuation)
"""The knowledge base in a real browser: an agent opens a case and sees the articles suggested
for it; picks the Chinese template of one (the customer wrote in English, but asked for
Chinese), inserts it into the message to the customer — placeholders filled in for this case —
adds a line, and sends it; the timeline says which article it was written from. Later the agent
inserts the reply into an internal note they are writing: it is added to the note, which stays
internal. The customer's tracking page, in a browser of their own, shows the filled-in message
and not the note."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from complaints import services as case_services
from complaints.models import CaseEvent
from complaints.roles import Role
from knowledge import services
from knowledge.models import Article

from ..caches import cache_clear
from ..factories import CustomerFactory, staff
from .conftest import TIMEOUT_MS

# The live server reads what this test writes, so no wrapping transaction: the database is
# flushed after the test instead (factories.staff makes the roles again if a flush removed them).
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

expect.set_options(timeout=TIMEOUT_MS)

PASSWORD = "pw-for-tests"  # UserFactory's
ADDED = " 如有疑问，请直接回复。"  # the agent's own words, after the template
NOTE = "Called Mr Weber back: the engineer comes on Friday."


def publish(by, **content) -> Article:
    article = services.article_create(by=by, data=content)
    services.article_set_status(article=article, by=by, status="published", expected_version=1)
    article.refresh_from_db()
    return article


def test_agent_inserts_a_suggested_articles_filled_in_reply_and_the_customer_reads_it(
    page: Page, browser, live_server, agent
):
    cache_clear()  # the tracking page's rate limit counts in the cache
    agent.first_name = "Mei"
    agent.save(update_fields=["first_name"])
    quality = staff(Role.QUALITY_MANAGER, username="quality")
    drum = publish(
        quality,
        category="product_quality",
        title_en="Noisy washing machine drum",
        title_zh="洗衣机滚筒噪音大",
        guidance_en="Apologise, then book an engineer within two days.",
        remedies=["apology", "repair"],
        reply_template_en="Dear {customer_name}, we repair your {product} ({reference}) by "
        "{next_due_date}. {agent_name}",
        reply_template_zh="{customer_name}您好：您的{product}（受理号 {reference}）将于 "
        "{next_due_date} 前修好。{agent_name}",
    )
    publish(
        quality,
        category="price_billing",
        title_en="Charged twice",
        guidance_en="Refund the second charge.",
        reply_template_en="Dear {customer_name}, we refunded you.",
    )
    received = case_services.case_receive(
        by=agent,
        customer=CustomerFactory(name="Hans Weber"),
        channel="phone",
        category="product_quality",
        product="Washing machine W-200",
        description="The drum bangs loudly on every spin cycle.",
        desired_outcome="A repair; please write to me in Chinese.",
    )
    case = received.case

    # The agent opens the case: the drum article is suggested, not the billing one.
    page.goto("/login/")
    page.locator("input[name=username]").fill(agent.username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_test_id("nav-knowledge")).to_be_visible()
    page.goto(f"/cases/{case.reference}/")
    page.wait_for_load_state("load")
    panel = page.get_by_test_id("knowledge-panel")
    suggestions = panel.get_by_test_id("suggestion")
    expect(suggestions).to_have_count(1)
    expect(suggestions.first).to_contain_text("Noisy washing machine drum")
    expect(suggestions.first).to_contain_text("within a handler's authority")
    expect(panel.get_by_test_id("template-language")).to_have_value("en")

    # The customer asked for Chinese: the agent picks it and inserts the article's reply.
    panel.get_by_test_id("template-language").select_option("zh-hans")
    with page.expect_response(re.compile(rf"/knowledge/{drum.pk}/fill/{case.reference}/")):
        suggestions.first.get_by_test_id("insert-template").click()
    body = page.get_by_label("Note or message")
    due = timezone.localtime(case.due_at).date()  # in TIME_ZONE
    filled = (
        f"Hans Weber您好：您的Washing machine W-200（受理号 {case.reference}）将于 "
        f"{due.year}年{due.month}月{due.day}日 前修好。Mei"
    )
    expect(body).to_have_value(filled)
    expect(page.get_by_label("Send to the customer")).to_be_checked()
    # The agent is told in their own language what was inserted.
    expect(panel.get_by_test_id("insert-status")).to_contain_text("Noisy washing machine drum")

    # The agent adds a line of their own and sends it with the message form's own button.
    body.press("Control+End")
    body.press_sequentially(ADDED)
    page.get_by_role("button", name="Add to the timeline").click()
    entry = page.get_by_test_id("timeline").locator("li[data-kind=message]")
    expect(entry).to_have_count(1)
    expect(entry.locator("blockquote")).to_have_text(filled + ADDED)
    expect(entry).to_contain_text(f"written from: the knowledge base's article {drum.pk}")
    expect(body).to_have_value("")  # a fresh form came back
    event = CaseEvent.objects.get(case=case, kind=CaseEvent.Kind.MESSAGE)
    assert event.customer_visible
    assert event.changes == {"source": [None, f"knowledge:{drum.pk}:{drum.version}"]}

    # Later the agent is writing an internal note and inserts the reply into it: it is added
    # after what they wrote, replacing nothing, and the note stays internal.
    visible = page.get_by_label("Send to the customer")
    body.fill(NOTE)
    expect(visible).not_to_be_checked()
    with page.expect_response(re.compile(rf"/knowledge/{drum.pk}/fill/{case.reference}/")):
        suggestions.first.get_by_test_id("insert-template").click()
    expect(body).to_have_value(f"{NOTE}\n\n{filled}")
    expect(visible).not_to_be_checked()
    expect(panel.get_by_test_id("insert-status")).to_contain_text("stays an internal note")
    page.get_by_role("button", name="Add to the timeline").click()
    expect(page.get_by_test_id("timeline").locator("li[data-kind=note]")).to_have_count(1)
    note = CaseEvent.objects.get(case=case, kind=CaseEvent.Kind.NOTE)
    # (a form sends its line breaks as CRLF)
    assert (note.note.replace("\r\n", "\n"), note.customer_visible) == (
        f"{NOTE}\n\n{filled}",
        False,
    )

    # The customer, in a browser of their own, reads the filled-in reply on the tracking page.
    context = browser.new_context(base_url=live_server.url, locale="en-GB")
    try:
        customer = context.new_page()
        customer.goto(f"/t/{received.tracking_token}")
        expect(customer.get_by_test_id("tracking-page")).to_contain_text(case.reference)
        message = customer.get_by_test_id("tracking-timeline").locator("li", has_text="Hans")
        expect(message.locator("blockquote")).to_have_text(filled + ADDED)
        expect(customer.locator("main")).not_to_contain_text("{customer_name}")
        expect(customer.locator("main")).not_to_contain_text(NOTE)
    finally:
        context.close()
    assert page.problems == []  # no script errors, every static file served
