"""A corrective action's journey in a real browser: a handler records it from the page of a case
that has finished Analyse, links a second case, sees it on both cases and in the actions list,
marks it done as its owner; a quality manager verifies it with evidence (no new case of its
root cause since it was done, counted by Heed): refused until the days asked for have passed,
verified once they have (the clock moved with time_machine)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from complaints.models import Step
from improvement.models import Action, Verification

from ..factories import CustomerFactory, receive_case, walk
from .conftest import TIMEOUT_MS, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

expect.set_options(timeout=TIMEOUT_MS)

TITLE = "Change the bearing supplier of the W-200"
DONE_NOTE = "All W-200 drums now get the new supplier's bearings (since batch 2611)."
EVIDENCE = "Checked the repair log: no bearing failure since the change."


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login/"))


def analysed_case(*, agent, handler, department, name: str, days_ago: int):
    """A case received ``days_ago`` and worked to Act, with the handler responsible: its root
    cause (materials) is known."""
    case = receive_case(
        by=agent,
        customer=CustomerFactory(name=name),
        received_at=timezone.now() - timedelta(days=days_ago),
    )
    return walk(case, to=Step.ACT, by=agent, department=department, person=handler)


def test_a_handler_records_a_corrective_action_and_a_quality_manager_verifies_it(
    page: Page, live_server, time_machine, agent, handler, quality_manager, after_sales
):
    first = analysed_case(
        agent=agent, handler=handler, department=after_sales, name="Li Wei", days_ago=20
    )
    second = analysed_case(
        agent=agent, handler=handler, department=after_sales, name="Zhang Min", days_ago=15
    )

    # The handler opens the first case and records an action from its panel: the analysis is
    # filled in already.
    log_in(page, handler)
    page.goto(f"/cases/{first.reference}/")
    page.get_by_test_id("case-actions").get_by_test_id("record-action").click()
    expect(page).to_have_url(re.compile(r"/actions/new/\?case="))
    form = page.get_by_test_id("action-form")
    expect(form.locator("select[name=root_cause]")).to_have_value("materials")
    expect(form.locator("input[name=cases]")).to_have_value(first.reference)
    expect(form.locator("select[name=owner]")).to_have_value(str(handler.pk))
    form.locator("input[name=title]").fill(TITLE)
    form.locator("textarea[name=cause]").fill("One supplier's bearings wear out within weeks.")
    due = timezone.localdate() + timedelta(days=14)
    form.locator("input[name=due_on]").fill(due.isoformat())
    page.get_by_test_id("save-action").click()

    expect(page).to_have_url(re.compile(r"/actions/\d+/$"))
    action = Action.objects.get()
    expect(page.locator(".message.success")).to_contain_text(f"{action.reference} is recorded.")
    expect(page.get_by_test_id("action-status")).to_have_text("Open")
    expect(page.get_by_test_id("action-owner")).to_contain_text(str(handler))

    # It also covers the second case.
    page.get_by_test_id("link-reference").fill(second.reference)
    page.get_by_test_id("link").click()
    expect(page.locator(".message.success")).to_contain_text(
        f"{second.reference} is linked to {action.reference}."
    )
    expect(page.get_by_test_id("linked-case")).to_have_count(2)

    # It shows on both cases' pages and in the actions list.
    for case in (first, second):
        page.goto(f"/cases/{case.reference}/")
        row = page.locator(f"[data-testid=case-action][data-reference='{action.reference}']")
        expect(row).to_contain_text(TITLE)
        expect(row).to_contain_text("Open")
    page.get_by_test_id("nav-actions").click()
    expect(page).to_have_url(re.compile(r"/actions/$"))
    listed = page.locator(f"[data-testid=action-row][data-reference='{action.reference}']")
    expect(listed).to_contain_text(TITLE)
    expect(listed).to_contain_text(first.reference)
    expect(listed).to_contain_text(second.reference)

    # The owner starts it, then marks it done with what was done.
    listed.get_by_role("link", name=action.reference).click()
    page.get_by_test_id("move-in_progress").click()
    expect(page.get_by_test_id("action-status")).to_have_text("In progress")
    page.get_by_test_id("move-done").click()  # without saying what was done: refused
    expect(page.get_by_test_id("refusal")).to_contain_text("Say what was done.")
    page.get_by_test_id("status-note").fill(DONE_NOTE)
    page.get_by_test_id("move-done").click()
    expect(page.get_by_test_id("action-status")).to_have_text("Done")
    expect(page.get_by_test_id("verify-panel")).to_have_count(0)  # not the owner's to verify
    log_out(page)

    # The quality manager wants ten days without a new case of its root cause since it was
    # done: asked at once, Heed says until when to wait.
    action.refresh_from_db()
    log_in(page, quality_manager)
    page.goto(f"/actions/{action.pk}/")

    def verify() -> None:
        panel = page.get_by_test_id("verify-panel")
        expect(panel.get_by_test_id("verify-counted-from")).to_contain_text(
            "The new cases are counted from when it was done"
        )
        panel.locator("textarea[name=note]").fill(EVIDENCE)
        panel.locator("input[name=window_days]").fill("10")
        panel.locator("input[name=same_department]").check()
        page.get_by_test_id("verify").click()

    verify()
    expect(page.get_by_test_id("refusal")).to_contain_text("Wait until ")
    expect(page.get_by_test_id("action-status")).to_have_text("Done")

    # Eleven days later it is verified, with the cases counted since it was done.
    time_machine.move_to(action.done_at + timedelta(days=11), tick=True)
    page.goto(f"/actions/{action.pk}/")
    verify()

    expect(page.locator(".message.success")).to_contain_text(f"{action.reference} is verified.")
    expect(page.get_by_test_id("action-status")).to_have_text("Verified")
    evidence = page.get_by_test_id("verification")
    expect(evidence).to_contain_text(EVIDENCE)
    expect(evidence.get_by_test_id("evidence-count")).to_contain_text("when it was done, to")
    expect(evidence.get_by_test_id("evidence-count")).to_contain_text(": 0 · 10 days asked for")
    history = page.get_by_test_id("action-history")
    expect(history.locator("li[data-kind=status]")).to_have_count(3)
    expect(history.locator("li[data-kind=linked]")).to_contain_text(second.reference)

    # The rows behind what the pages showed.
    action.refresh_from_db()
    assert (action.status, action.done_note) == ("verified", DONE_NOTE)
    assert set(action.cases.all()) == {first, second}
    verification = Verification.objects.get(action=action)
    assert (verification.by_id, verification.window_days, verification.cases_found) == (
        quality_manager.pk,
        10,
        0,
    )
    assert verification.same_department is True
    assert verification.window_start == action.done_at
    assert verification.window_end - action.done_at >= timedelta(days=11)
    assert page.problems == []  # no script errors, every static file served
