"""The department head's journey through the escalation queue in a real browser: two cases of
their department pass the one-day limit to finish Decide, the sweep (Celery beat's function,
called directly) escalates both; the head sees the count in the navigation, takes one case
(and lands on it as its owner) and hands the other to a handler with an instruction, with the
queue's bulk reassign. Each case's timeline and time limits then tell the story. Also opens the
queue in Chinese once."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import Page, expect

from complaints.models import CaseEvent, Step, Tier
from escalation.models import Escalation, Milestone
from escalation.sweep import sweep

from ..factories import CustomerFactory, receive_case, walk
from .conftest import TIMEOUT_MS, log_in

# The live server reads what this test writes, so no wrapping transaction: the database is
# flushed after the test instead (factories.staff makes the roles again if a flush removed them).
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

expect.set_options(timeout=TIMEOUT_MS)

INSTRUCTION = "Call the customer today and book the engineer for tomorrow morning."


def switch_language(page: Page, code: str) -> None:
    page.get_by_test_id("language-switcher").select_option(code)
    expect(page.locator("html")).to_have_attribute("lang", code)


def queue_row(page: Page, reference: str):
    return page.locator(f"[data-testid=queue-row][data-reference='{reference}']")


def overdue_case(*, agent, handler, department, name: str):
    """A case received two days ago and worked up to Decide by the agent, with after-sales and
    the handler responsible: its one-day limit to finish Decide has passed."""
    case = receive_case(
        by=agent,
        customer=CustomerFactory(name=name),
        received_at=timezone.now() - timedelta(days=2),
    )
    return walk(case, to=Step.DECIDE, by=agent, department=department, person=handler)


def test_department_head_takes_one_overdue_case_and_reassigns_another_from_the_queue(
    page: Page, live_server, agent, handler, department_head, after_sales
):
    taken = overdue_case(agent=agent, handler=handler, department=after_sales, name="Li Wei")
    handed = overdue_case(agent=agent, handler=handler, department=after_sales, name="Zhang Min")

    # Celery beat's job, run once: each case's Decide limit is breached, one tier up.
    result = sweep()
    assert sorted(a.reference for a in result.actions if a.action == "escalate") == sorted(
        [taken.reference, handed.reference]
    )
    for case in (taken, handed):
        case.refresh_from_db()
        assert case.tier == Tier.DEPARTMENT_HEAD
    # The sweep sent the outbox: the head was told of each case by email.
    assert sorted(m.subject for m in mail.outbox if department_head.email in m.to) == sorted(
        f"[Heed] {case.reference}: escalated to Department head (Overdue)"
        for case in (taken, handed)
    )

    # The head of after-sales logs in: the navigation counts the two escalations.
    log_in(page, department_head)
    nav_queue = page.get_by_test_id("nav-queue")
    expect(nav_queue).to_contain_text("Escalations")
    expect(nav_queue.locator(".count")).to_have_text("2")
    nav_queue.click()
    expect(page).to_have_url(re.compile(r"/escalations/$"))
    expect(page.get_by_test_id("queue-row")).to_have_count(2)
    for case in (taken, handed):
        row = queue_row(page, case.reference)
        expect(row).to_contain_text("Decide finished")
        expect(row).to_contain_text("Overdue")
        expect(row).to_contain_text(case.customer.name)

    # The queue in Chinese still renders, rows and all; then back to English.
    switch_language(page, "zh-hans")
    expect(page).to_have_url(re.compile(r"/escalations/$"))
    expect(page.get_by_test_id("queue-row")).to_have_count(2)
    expect(page.get_by_test_id("take")).to_have_count(2)
    switch_language(page, "en")
    expect(page.get_by_test_id("queue-row")).to_have_count(2)

    # Take the first: its case page, with the head as owner.
    queue_row(page, taken.reference).get_by_test_id("take").click()
    expect(page).to_have_url(re.compile(rf"/cases/{taken.reference}/$"))
    expect(page.locator(".message.success")).to_contain_text(f"{taken.reference} is now yours.")
    expect(page.get_by_test_id("owner")).to_have_text(str(department_head))
    expect(page.get_by_test_id("case-tier")).to_contain_text("Department head")

    # Back to the queue: the taken case has left it; hand the other to the handler.
    page.get_by_test_id("nav-queue").click()
    expect(page).to_have_url(re.compile(r"/escalations/$"))
    expect(page.get_by_test_id("nav-queue").locator(".count")).to_have_text("1")
    expect(page.get_by_test_id("queue-row")).to_have_count(1)
    expect(queue_row(page, taken.reference)).to_have_count(0)
    queue_row(page, handed.reference).locator("input[type=checkbox]").check()
    page.get_by_test_id("reassign-person").select_option(str(handler.pk))
    page.get_by_test_id("reassign-instruction").fill(INSTRUCTION)
    page.get_by_test_id("reassign").click()
    expect(page).to_have_url(re.compile(r"/escalations/$"))
    expect(page.locator(".message.success")).to_contain_text("1 case(s) reassigned.")
    expect(page.get_by_test_id("queue-row")).to_have_count(0)
    expect(page.get_by_test_id("queue-escalations")).to_contain_text("Nothing is waiting for you.")
    expect(page.get_by_test_id("nav-queue").locator(".count")).to_have_text("0")

    # Each case's page: escalated, acknowledged, handed over (taken, or with the instruction);
    # Decide finished too late.
    for case, owner, handover_note in (
        (taken, department_head, "Taken over from the escalation queue."),
        (handed, handler, INSTRUCTION),
    ):
        page.goto(f"/cases/{case.reference}/")
        expect(page.get_by_test_id("owner")).to_have_text(str(owner))
        timeline = page.get_by_test_id("timeline")
        expect(timeline.locator("li[data-kind=escalated]")).to_have_count(1)
        expect(timeline.locator("li[data-kind=escalated]")).to_contain_text("Overdue")
        expect(timeline.locator("li[data-kind=acknowledged]")).to_have_count(1)
        expect(timeline.locator("li[data-kind=assigned]")).to_have_count(1)
        expect(timeline.locator("li[data-kind=assigned]")).to_contain_text(handover_note)
        limits = page.get_by_test_id("time-limits")
        decided = limits.get_by_test_id(f"deadline-{Milestone.DECIDED}")
        expect(decided).to_have_attribute("data-state", "breached")
        expect(decided).to_contain_text("overdue by")
        expect(limits.get_by_test_id(f"deadline-{Milestone.ACTED}")).to_have_attribute(
            "data-state", "open"
        )
        expect(limits.get_by_test_id("escalations")).to_contain_text(
            f"acknowledged by {department_head}"
        )

    # The rows behind what the pages showed.
    for case, owner in ((taken, department_head), (handed, handler)):
        case.refresh_from_db()
        assert case.owner_id == owner.pk
        assert case.tier == Tier.DEPARTMENT_HEAD
        escalation = Escalation.objects.get(case=case)
        assert escalation.reason == Escalation.Reason.OVERDUE
        assert escalation.milestone == Milestone.DECIDED
        assert (escalation.from_tier, escalation.to_tier) == (Tier.HANDLER, Tier.DEPARTMENT_HEAD)
        assert escalation.acknowledged_by_id == department_head.pk
        assert escalation.next_notify_at is None  # the reminders stop
        assert case.deadlines.get(milestone=Milestone.DECIDED, round=0).breached_at is not None
    handed_over = CaseEvent.objects.get(case=handed, kind=CaseEvent.Kind.ASSIGNED)
    assert handed_over.note == INSTRUCTION
    assert handed_over.actor_id == department_head.pk
    assert page.problems == []  # no script errors, every static file served
