"""The agent's journey in a real browser: log in, log a complaint for a returning customer found
by phone (htmx), and work the case through the seven steps to closed — one refused move on the
way — then read every step back on the timeline. Also switches the language and back."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from complaints.models import Case, CaseEvent, Customer, Step

from ..factories import CustomerFactory
from .conftest import TIMEOUT_MS

# The live server reads what this test writes, so no wrapping transaction: the database is
# flushed after the test instead (factories.staff makes the roles again if a flush removed them).
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

expect.set_options(timeout=TIMEOUT_MS)

PASSWORD = "pw-for-tests"  # UserFactory's


def current_step(page: Page):
    return page.get_by_test_id("progress").locator("[aria-current=step]")


def step_form(page: Page):
    return page.get_by_test_id("step-panel").locator("form")


def move(page: Page, target: str, *, then_at: str) -> None:
    """Press the button that moves the case to ``target`` and wait for the case page that
    shows the case at its new step."""
    page.get_by_test_id(f"move-{target}").click()
    expect(current_step(page)).to_have_text(then_at)
    expect(page.get_by_test_id("refusal")).to_have_count(0)


def switch_language(page: Page, code: str) -> None:
    page.get_by_test_id("language-switcher").select_option(code)
    expect(page.locator("html")).to_have_attribute("lang", code)


def test_agent_logs_a_complaint_and_works_it_through_all_seven_steps_to_closed(
    page: Page, live_server, agent, handler, after_sales
):
    returning = CustomerFactory(
        name="Li Wei", phone="+8613812345678", email="li.wei@example.com", type="regular"
    )

    # Log in as the agent.
    page.goto("/login/")
    page.locator("input[name=username]").fill(agent.username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_test_id("nav-my-cases")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/$"))

    # New complaint: typing the phone number of a customer we know fills in their name.
    page.get_by_role("button", name="New complaint").click()  # a link styled as a button
    expect(page).to_have_url(re.compile(r"/intake/new/$"))
    # htmx.min.js was served and ran, and has wired up the form (it does so before "load").
    page.wait_for_load_state("load")
    page.wait_for_function("() => window.htmx !== undefined")
    intake = page.get_by_test_id("intake-form")
    intake.locator("[name=phone]").fill("138 1234 5678")  # national format, no country code
    expect(page.get_by_test_id("customer-found")).to_contain_text("Li Wei")
    expect(intake.locator("[name=customer_name]")).to_have_value("Li Wei")
    expect(intake.locator("[name=customer_type]")).to_have_value("regular")
    intake.locator("[name=channel]").select_option("phone")
    intake.locator("[name=category]").select_option("product_quality")
    intake.locator("[name=urgency]").select_option("red")
    intake.locator("[name=product]").fill("Washing machine W-200")
    intake.locator("[name=order_number]").fill("SO-20261104-7")
    intake.locator("[name=description]").fill("The drum bangs loudly on every spin cycle.")
    intake.locator("[name=desired_outcome]").fill("A repair this week.")
    intake.get_by_role("button", name="Log the complaint").click()

    # The case page: the reference and the tracking link to read out.
    expect(page).to_have_url(re.compile(r"/cases/C\d{6}-\d{5}/$"))
    reference = page.get_by_test_id("case-reference").inner_text().strip()
    assert re.fullmatch(r"C\d{6}-\d{5}", reference)
    expect(page.get_by_test_id("tracking-link").locator("input")).to_have_value(
        re.compile(r"/t/[A-Za-z0-9_-]{43}$")
    )
    expect(current_step(page)).to_have_text("Receive")
    case = Case.objects.get(reference=reference)
    assert case.customer_id == returning.pk, "the returning customer was not found"
    assert Customer.objects.count() == 1, "the customer was duplicated"
    assert case.receiver_id == agent.pk

    # 1 Receive: everything was recorded at intake.
    move(page, Step.LISTEN, then_at="Listen")

    # 2 Listen: moving on without the customer's account is refused, and says why.
    page.get_by_test_id(f"move-{Step.ANALYSE}").click()
    refusal = page.get_by_test_id("refusal")
    expect(refusal).to_contain_text("Write down the customer's account.")
    expect(refusal).to_contain_text("Confirm with the customer that you understood them.")
    expect(current_step(page)).to_have_text("Listen")
    case.refresh_from_db()
    assert case.step == Step.LISTEN
    form = step_form(page)
    form.locator("[name=customer_account]").fill(
        "Bought two weeks ago; since then the drum bangs on every spin and wakes the baby."
    )
    form.locator("[name=emotion]").fill("Angry, wants it fixed before the weekend.")
    form.locator("[name=understanding_confirmed]").check()
    move(page, Step.ANALYSE, then_at="Analyse")

    # 3 Analyse: valid, root cause, who is responsible.
    form = step_form(page)
    form.locator("[name=validity]").select_option("valid")
    form.locator("[name=root_cause_category]").select_option("materials")
    form.locator("[name=root_cause_analysis]").fill("A faulty bearing batch from one supplier.")
    form.locator("[name=department]").select_option(label=after_sales.name)
    form.locator("[name=responsible_person]").select_option(str(handler.pk))
    move(page, Step.DECIDE, then_at="Decide")

    # The language switcher keeps the agent on the case page.
    switch_language(page, "zh-hans")
    expect(page).to_have_url(re.compile(rf"/cases/{reference}/$"))
    expect(page.get_by_test_id(f"move-{Step.ACT}")).to_be_visible()
    switch_language(page, "en")
    expect(current_step(page)).to_have_text("Decide")

    # 4 Decide: remedies, their value, the plan.
    form = step_form(page)
    form.locator("input[name=remedy_types][value=repair]").check()
    form.locator("input[name=remedy_types][value=apology]").check()
    form.locator("[name=remedy_value]").fill("120.00")
    form.locator("[name=remedy_plan]").fill("Replace the bearing on site within two days.")
    move(page, Step.ACT, then_at="Act")

    # 5 Act: what was done and the report upward.
    form = step_form(page)
    form.locator("[name=actions_taken]").fill("Engineer replaced the bearing on site.")
    form.locator("[name=report]").fill("Bearing batch B-17 faulty; supplier informed.")
    move(page, Step.CONFIRM, then_at="Confirm")

    # 6 Confirm: the customer agrees.
    step_form(page).locator("[name=agreement_note]").fill("Agreed on the phone.")
    move(page, Step.FOLLOW_UP, then_at="Follow up")

    # 7 Follow up: satisfied, so the case closes.
    form = step_form(page)
    form.locator("input[name=satisfaction_rating][value='5']").check()
    form.locator("[name=follow_up_comment]").fill("Quiet as new, thank you.")
    move(page, Step.CLOSED, then_at="Closed")

    # Closed: every step done on the progress bar, nothing left to press.
    progress = page.get_by_test_id("progress")
    expect(progress.locator("li.done")).to_have_count(7)
    expect(page.locator("[data-testid^='move-']")).to_have_count(0)

    # The timeline shows the complaint received and each step it moved to, once.
    timeline = page.get_by_test_id("timeline")
    expect(timeline.locator("li[data-kind=received]")).to_have_count(1)
    for step in Step.values[1:]:
        expect(timeline.locator(f"li[data-kind=step][data-to-step={step}]")).to_have_count(1)

    case.refresh_from_db()
    assert case.step == Step.CLOSED
    assert case.closed_at is not None
    assert case.customer_agreed is True
    assert case.follow_up_satisfied is True
    assert case.satisfaction_rating == 5
    assert set(case.remedy_types) == {"repair", "apology"}
    steps = case.events.filter(kind=CaseEvent.Kind.STEP).order_by("pk")
    moves = list(steps.values_list("to_step", flat=True))
    assert moves == Step.values[1:]
    assert page.problems == []  # no script errors, every static file served
