"""Repeats and merging in a real browser: an agent logs a complaint and, as they type the phone
number and the order number (htmx), is told of the customer's recent case; they open it, log
the new complaint, which the case page calls a repeat, and merge it into the recent case after
seeing both side by side. The customer's tracking link from the new case then shows the
survivor: its progress and what was written to them there."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from complaints import services
from complaints.models import Case, CaseEvent, Step

from ..factories import CustomerFactory, receive_case
from .conftest import TIMEOUT_MS

# The live server reads what this test writes, so no wrapping transaction: the database is
# flushed after the test instead (factories.staff makes the roles again if a flush removed them).
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

expect.set_options(timeout=TIMEOUT_MS)

PASSWORD = "pw-for-tests"  # UserFactory's
TO_THE_CUSTOMER = "An engineer will call you on Monday morning."


def test_agent_is_told_of_the_recent_case_merges_the_new_one_into_it_and_the_link_follows(
    page: Page, browser, live_server, agent
):
    customer = CustomerFactory(name="Li Wei", phone="+8613812345678", email="")
    recent = receive_case(
        by=agent,
        customer=customer,
        received_at=timezone.now() - timedelta(days=5),
        order_number="SO-20261104-7",
        description="The drum bangs loudly on every spin cycle.",
    )
    services.case_transition(case=recent, to=Step.LISTEN, by=agent)
    services.case_add_note(case=recent, by=agent, body=TO_THE_CUSTOMER, customer_visible=True)

    # The agent logs in and starts a new complaint.
    page.goto("/login/")
    page.locator("input[name=username]").fill(agent.username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_test_id("nav-my-cases")).to_be_visible()
    page.goto("/intake/new/")
    page.wait_for_load_state("load")
    page.wait_for_function("() => window.htmx !== undefined")
    intake = page.get_by_test_id("intake-form")

    # The phone number finds the customer, and with them their recent case.
    intake.locator("[name=phone]").fill("138 1234 5678")
    hint = page.get_by_test_id("customer-recent-cases")
    expect(hint).to_contain_text(recent.reference)
    expect(hint).to_contain_text("Listen")
    # The order number finds the open complaints about the same order: the same case.
    intake.locator("[name=order_number]").fill("SO-20261104-7")
    expect(page.get_by_test_id("related-open-cases")).to_contain_text(recent.reference)

    # The agent opens the recent case (a new tab) to see what it is about.
    with page.expect_popup() as opened:
        hint.get_by_role("link", name=recent.reference).click()
    recent_tab = opened.value
    expect(recent_tab.get_by_test_id("case-reference")).to_have_text(recent.reference)
    expect(recent_tab.locator("body")).to_contain_text("The drum bangs loudly")
    recent_tab.close()

    # It is the same drum: the agent logs the call anyway and merges it.
    intake.locator("[name=channel]").select_option("phone")
    intake.locator("[name=category]").select_option("product_quality")
    intake.locator("[name=description]").fill("Calling again: the drum still bangs.")
    intake.locator("[name=desired_outcome]").fill("A repair this week.")
    intake.get_by_role("button", name="Log the complaint").click()
    expect(page).to_have_url(re.compile(r"/cases/C\d{6}-\d{5}/$"))
    new_reference = page.get_by_test_id("case-reference").inner_text().strip()
    assert new_reference != recent.reference
    tracking_link = page.get_by_test_id("tracking-link").locator("input").input_value()
    expect(page.get_by_test_id("repeat-of")).to_contain_text(
        f"Repeat complaint: previous case {recent.reference}"
    )

    merge = page.get_by_test_id("merge")
    merge.locator("summary").click()
    expect(merge.locator("[name=into]")).to_have_value(recent.reference)
    merge.locator("[name=note]").fill("The same customer about the same drum, called twice.")
    page.get_by_test_id("merge-review").click()

    # The confirmation shows both cases before anything is done.
    expect(page.get_by_test_id("merge-absorbed")).to_contain_text(new_reference)
    expect(page.get_by_test_id("merge-absorbed")).to_contain_text("the drum still bangs")
    expect(page.get_by_test_id("merge-survivor")).to_contain_text(recent.reference)
    assert not Case.objects.filter(merged_into__isnull=False).exists()
    page.get_by_test_id("merge-confirm").click()

    # The survivor's page: both timelines, the merged case's events marked with its reference.
    expect(page).to_have_url(re.compile(rf"/cases/{recent.reference}/$"))
    expect(page.locator("body")).to_contain_text(
        f"{new_reference} was merged into {recent.reference}."
    )
    expect(page.get_by_test_id("timeline").get_by_test_id("from-case").first).to_have_text(
        new_reference
    )
    expect(page.get_by_test_id("merged-cases")).to_contain_text(new_reference)
    new = Case.objects.get(reference=new_reference)
    assert new.merged_into_id == recent.pk
    assert new.events.filter(kind=CaseEvent.Kind.MERGED).count() == 1

    # The customer's link of the new case, in a browser of their own, shows the survivor.
    context = browser.new_context(base_url=live_server.url, locale="en-GB")
    customer_page = context.new_page()
    customer_page.goto(urlsplit(tracking_link).path)  # SITE_URL's host is not the live server
    expect(customer_page.get_by_test_id("tracking-page")).to_contain_text(
        f"Your complaint {recent.reference}"
    )
    expect(
        customer_page.get_by_test_id("tracking-progress").locator("[aria-current=step]")
    ).to_have_text("Listening")
    timeline = customer_page.get_by_test_id("tracking-timeline")
    expect(timeline).to_contain_text(TO_THE_CUSTOMER)
    expect(timeline).to_contain_text(f"Your complaint {new_reference} is about the same matter")
    context.close()

    assert page.problems == []
