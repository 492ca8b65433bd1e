"""Learning from a complaint, in a real browser (issue 7): an agent opens a case at Follow up,
picks the article the knowledge base suggests for it, sends its reply filled in for the case,
closes the case with the customer satisfied, and records a corrective action linked to it and
to a second case of the same root cause; the action shows on both cases' pages."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from complaints.models import CaseEvent, Step
from complaints.roles import Role
from improvement.models import Action
from knowledge import services as knowledge
from tests.factories import CustomerFactory, receive_case, staff, walk

from .conftest import TIMEOUT_MS

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

expect.set_options(timeout=TIMEOUT_MS)

PASSWORD = "pw-for-tests"  # UserFactory's
TITLE = "Check every W-200 drum bearing before dispatch"


def test_an_agent_answers_with_a_suggested_article_closes_the_case_and_records_an_action(
    page: Page, live_server, agent, handler, after_sales
):
    quality = staff(Role.QUALITY_MANAGER, username="quality")
    article = knowledge.article_create(
        by=quality,
        data={
            "category": "product_quality",
            "root_cause": "materials",
            "title_en": "Noisy drum after a bearing failure",
            "guidance_en": "Apologise, repair at once, call back the next day.",
            "reply_template_en": "Dear {customer_name}, your {product} ({reference}) is "
            "repaired. Thank you for your patience.",
        },
    )
    knowledge.article_set_status(
        article=article, by=quality, status="published", expected_version=1
    )
    article.refresh_from_db()
    # The agent's case, worked to Follow up (materials: a faulty bearing), and an earlier one
    # of another customer with the same root cause.
    case = walk(
        receive_case(
            by=agent,
            customer=CustomerFactory(name="Li Wei"),
            product="Washing machine W-200",
            description="The drum bangs loudly on every spin.",
        ),
        to=Step.FOLLOW_UP,
        by=agent,
        department=after_sales,
        person=handler,
    )
    other = walk(
        receive_case(
            by=agent,
            customer=CustomerFactory(name="Zhang Min"),
            product="Washing machine W-200",
            received_at=timezone.now() - timedelta(days=3),
        ),
        to=Step.ACT,
        by=agent,
        department=after_sales,
        person=handler,
    )
    assert (case.root_cause_category, other.root_cause_category) == ("materials", "materials")

    page.goto("/login/")
    page.locator("input[name=username]").fill(agent.username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_test_id("nav-my-cases")).to_be_visible()

    # The case page suggests the article; its reply goes into the message, filled in.
    page.goto(f"/cases/{case.reference}/")
    suggestion = page.get_by_test_id("knowledge-panel").get_by_test_id("suggestion")
    expect(suggestion).to_have_count(1)
    expect(suggestion).to_contain_text("Noisy drum after a bearing failure")
    with page.expect_response(re.compile(rf"/knowledge/{article.pk}/fill/{case.reference}/")):
        suggestion.get_by_test_id("insert-template").click()
    filled = (
        f"Dear Li Wei, your Washing machine W-200 ({case.reference}) is repaired. "
        "Thank you for your patience."
    )
    expect(page.get_by_label("Note or message")).to_have_value(filled)
    page.get_by_role("button", name="Add to the timeline").click()
    message = page.get_by_test_id("timeline").locator("li[data-kind=message]")
    expect(message.locator("blockquote")).to_have_text(filled)

    # The follow-up call: satisfied, the case closes.
    form = page.get_by_test_id("step-panel").locator("form")
    form.locator("input[name=satisfaction_rating][value='5']").check()
    form.locator("[name=follow_up_comment]").fill("Quiet again, thank you.")
    page.get_by_test_id(f"move-{Step.CLOSED}").click()
    expect(page.get_by_test_id("progress").locator("[aria-current=step]")).to_have_text("Closed")

    # From the closed case, a corrective action for the cause, linked to the other case too.
    page.get_by_test_id("case-actions").get_by_test_id("record-action").click()
    expect(page).to_have_url(re.compile(r"/actions/new/\?case="))
    form = page.get_by_test_id("action-form")
    expect(form.locator("select[name=root_cause]")).to_have_value("materials")
    form.locator("input[name=title]").fill(TITLE)
    form.locator("textarea[name=cause]").fill("A batch of bearings wore out within weeks.")
    form.locator("input[name=due_on]").fill((timezone.localdate() + timedelta(days=10)).isoformat())
    page.get_by_test_id("save-action").click()
    expect(page).to_have_url(re.compile(r"/actions/\d+/$"))
    action = Action.objects.get()
    page.get_by_test_id("link-reference").fill(other.reference)
    page.get_by_test_id("link").click()
    expect(page.get_by_test_id("linked-case")).to_have_count(2)

    # Both cases' pages show the action.
    for reference in (case.reference, other.reference):
        page.goto(f"/cases/{reference}/")
        row = page.locator(f"[data-testid=case-action][data-reference='{action.reference}']")
        expect(row).to_contain_text(TITLE)

    # The rows behind what the pages showed.
    case.refresh_from_db()
    assert (case.step, case.follow_up_satisfied, case.satisfaction_rating) == (
        Step.CLOSED,
        True,
        5,
    )
    sent = CaseEvent.objects.get(case=case, kind=CaseEvent.Kind.MESSAGE)
    assert sent.note == filled and sent.customer_visible
    assert sent.changes == {"source": [None, f"knowledge:{article.pk}:{article.version}"]}
    assert set(action.cases.all()) == {case, other}
    assert action.recorded_by_id == agent.pk
    assert page.problems == []  # no script errors, every static file served
