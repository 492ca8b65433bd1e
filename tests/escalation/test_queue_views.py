"""The managers' escalation queue over HTTP: who sees which escalations, the cases at risk, the
remedies waiting for approval, the htmx refresh and the navigation count; acknowledging,
taking and reassigning escalations from it."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from html import unescape

import pytest
from django.contrib.messages import get_messages
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from complaints import services as case_services
from complaints.errors import TransitionRefused
from complaints.models import CaseEvent, Step, Tier
from complaints.roles import Role
from escalation import approvals
from escalation.models import Escalation
from escalation.services import case_escalate, escalations_reassign

from ..factories import receive_case, staff, walk

QUEUE = "/escalations/"
REASSIGN = "/escalations/reassign/"


# ---------------------------------------------------------------- helpers


def text(response) -> str:
    return unescape(response.content.decode())


def queued(response) -> list[str]:
    """The references of the queue's escalation rows, in the order shown."""
    return re.findall(r'data-testid="queue-row" data-reference="([^"]+)"', text(response))


def at_risk_rows(response) -> list[tuple[str, str]]:
    """(reference, milestone) of each row of the at-risk list, in the order shown."""
    return re.findall(
        r'data-testid="risk-row">\s*<td><a href="[^"]+">([^<]+)</a></td>\s*<td[^>]*>([^<]+)</td>',
        text(response),
    )


def flashed(response) -> list[str]:
    """The messages a redirect leaves for the next page."""
    return [str(m) for m in get_messages(response.wsgi_request)]


def escalation_of(case) -> Escalation:
    return case.escalations.get()


def acknowledge_url(escalation: Escalation) -> str:
    return f"/escalations/{escalation.pk}/acknowledge/"


def take_url(escalation: Escalation) -> str:
    return f"/escalations/{escalation.pk}/take/"


def event_kinds(case) -> list[str]:
    return list(case.events.order_by("at", "pk").values_list("kind", flat=True))


# ---------------------------------------------------------------- who sees which escalations


def test_department_head_sees_the_escalated_case_of_their_department(
    client, department_head, escalated_case
):
    client.force_login(department_head)

    response = client.get(QUEUE)

    assert response.status_code == 200
    assert queued(response) == [escalated_case.reference]


def test_department_head_of_another_department_does_not_see_it(
    client, foreign_head, escalated_case
):
    client.force_login(foreign_head)

    response = client.get(QUEUE)

    assert response.status_code == 200
    assert queued(response) == []
    assert "Nothing is waiting for you." in text(response)


def test_a_department_head_without_a_department_answers_for_no_case(client, agent):
    """The rule "the department that answers for a case" (``escalation.tiers.answered_by_q``)
    with its guard: a head of no department does not see every department's cases not
    analysed yet — those received by staff of no department, escalated or coming due — as the
    queue once did (the reports already refused them)."""
    headless = staff(Role.DEPARTMENT_HEAD, None, username="headless")
    case = receive_case(by=agent)  # the agent has no department; nor, yet, the case
    with transaction.atomic():
        case_escalate(case=case, reason=Escalation.Reason.MANUAL, to_tier=Tier.DEPARTMENT_HEAD)
    assert (case.department_id, agent.department_id, case.tier) == (None, None, 1)
    client.force_login(headless)

    response = client.get(QUEUE)

    assert response.status_code == 200
    assert queued(response) == []
    assert at_risk_rows(client.get(f"{QUEUE}?within=168")) == []


def test_quality_manager_sees_only_the_escalations_to_tier_two(
    client, quality_manager, overdue_cases
):
    at_head = overdue_cases(1, days_ago=2)[0]
    at_quality = overdue_cases(1, days_ago=4)[0]  # "Act finished" overdue too: tier 2
    assert (at_head.tier, at_quality.tier) == (Tier.DEPARTMENT_HEAD, Tier.QUALITY_MANAGER)
    client.force_login(quality_manager)

    assert queued(client.get(QUEUE)) == [at_quality.reference]


def test_a_case_gone_to_a_higher_tier_leaves_the_department_heads_queue(
    client, department_head, overdue_cases
):
    at_head = overdue_cases(1, days_ago=2)[0]
    overdue_cases(1, days_ago=4)
    client.force_login(department_head)

    assert queued(client.get(QUEUE)) == [at_head.reference]


def test_general_manager_sees_tiers_one_to_three_each_case_once(
    client, general_manager, overdue_cases
):
    at_head = overdue_cases(1, days_ago=2)[0]
    at_quality = overdue_cases(1, days_ago=4)[0]
    at_general = overdue_cases(1, days_ago=8)[0]  # every milestone overdue: tier 3
    assert at_general.tier == Tier.GENERAL_MANAGER
    client.force_login(general_manager)

    # References number by month of receipt: near a month's start the cases of 2, 4 and 8
    # days ago sort in another order, so both sides are sorted.
    assert sorted(queued(client.get(QUEUE))) == sorted(
        [at_head.reference, at_quality.reference, at_general.reference]
    )


@pytest.mark.parametrize("persona", ["agent", "handler", "outsider"])
def test_staff_without_a_tier_are_refused_the_queue(client, request, persona):
    client.force_login(request.getfixturevalue(persona))

    assert client.get(QUEUE).status_code == 403


def test_anonymous_visitor_is_sent_to_log_in(client, db):
    response = client.get(QUEUE)

    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={QUEUE}"


def test_an_acknowledged_escalation_leaves_the_queue(client, department_head, escalated_case):
    client.force_login(department_head)
    client.post(acknowledge_url(escalation_of(escalated_case)))

    assert queued(client.get(QUEUE)) == []


# ---------------------------------------------------------------- at risk


@pytest.fixture
def cases_coming_due(agent, after_sales):
    """Three yellow After-sales cases whose first response and "Decide finished" both fall due
    in 2, 14 and 23 hours (and "Act finished" two days after that)."""
    now = timezone.now()
    cases = {}
    for name, hours_ago in [("soon", 22), ("today", 10), ("tomorrow", 1)]:
        case = receive_case(by=agent, received_at=now - timedelta(hours=hours_ago))
        case_services.case_assign(case=case, by=agent, department=after_sales)
        cases[name] = case.reference
    return cases


@pytest.mark.parametrize(
    ("within", "expected"),
    [
        (4, [("soon", "First response"), ("soon", "Decide finished")]),
        (
            24,
            [
                ("soon", "First response"),
                ("soon", "Decide finished"),
                ("today", "First response"),
                ("today", "Decide finished"),
                ("tomorrow", "First response"),
                ("tomorrow", "Decide finished"),
            ],
        ),
        (
            72,
            [
                ("soon", "First response"),
                ("soon", "Decide finished"),
                ("today", "First response"),
                ("today", "Decide finished"),
                ("tomorrow", "First response"),
                ("tomorrow", "Decide finished"),
                ("soon", "Act finished"),
                ("today", "Act finished"),
                ("tomorrow", "Act finished"),
            ],
        ),
    ],
)
def test_at_risk_lists_the_deadlines_due_within_the_window_soonest_first(
    client, department_head, cases_coming_due, within, expected
):
    client.force_login(department_head)

    response = client.get(QUEUE, {"within": within})

    assert at_risk_rows(response) == [(cases_coming_due[name], label) for name, label in expected]


def test_at_risk_looks_a_day_ahead_unless_told(client, department_head, cases_coming_due):
    client.force_login(department_head)

    # Each case's first response and "Decide finished", not "Act finished".
    assert len(at_risk_rows(client.get(QUEUE))) == 6
    assert len(at_risk_rows(client.get(QUEUE, {"within": "999"}))) == 6


def test_at_risk_leaves_out_other_departments_cases(client, foreign_head, cases_coming_due):
    client.force_login(foreign_head)

    response = client.get(QUEUE, {"within": 72})

    assert at_risk_rows(response) == []
    assert "No case is due in that window." in text(response)


def test_an_escalated_deadline_is_no_longer_at_risk(client, department_head, escalated_case):
    client.force_login(department_head)

    rows = at_risk_rows(client.get(QUEUE, {"within": 72}))

    assert (escalated_case.reference, "Decide finished") not in rows
    assert (escalated_case.reference, "Act finished") in rows


# ---------------------------------------------------------------- approvals, htmx, navigation


def test_the_queue_lists_the_remedies_waiting_for_my_approval(
    client, department_head, handler, decide_case
):
    case = decide_case()
    case_services.case_update(case=case, by=handler, data={"remedy_value": Decimal("1500")})
    approvals.approval_request(case=case, by=handler, note="Replace the drum.")
    client.force_login(department_head)

    response = client.get(QUEUE)

    section = text(response).split('data-testid="queue-approvals"')[1].split("</section>")[0]
    assert case.reference in section
    assert "1500.00" in section
    assert "Replace the drum." in section


def test_htmx_refresh_sends_only_the_lists(client, department_head, escalated_case):
    client.force_login(department_head)

    response = client.get(QUEUE, {"within": 4}, headers={"HX-Request": "true"})

    page = text(response)
    assert response.status_code == 200
    assert "<html" not in page
    assert 'data-testid="queue-escalations"' in page
    assert queued(response) == [escalated_case.reference]


def test_a_full_page_load_has_the_layout_and_the_filter(client, department_head, db):
    client.force_login(department_head)

    page = text(client.get(QUEUE))

    assert "<html" in page
    assert 'id="queue-lists"' in page
    assert "Department head" in page


def test_navigation_shows_managers_what_waits_in_their_queue(
    client, department_head, escalated_case
):
    client.force_login(department_head)

    page = text(client.get("/cases/"))

    link = re.search(r'<a href="/escalations/" data-testid="nav-queue"[^>]*>(.*?)</a>', page, re.S)
    assert link is not None
    assert "Escalations" in link.group(1)
    assert '<span class="count">1</span>' in link.group(1)


def test_navigation_has_no_queue_for_agents(client, agent, escalated_case):
    client.force_login(agent)

    page = text(client.get("/cases/"))

    assert 'data-testid="nav-queue"' not in page


def test_queue_query_count_does_not_grow_with_the_escalations(
    client, department_head, handler, overdue_cases, decide_case
):
    def waiting_approval():
        case = decide_case()
        case_services.case_update(case=case, by=handler, data={"remedy_value": Decimal("900")})
        approvals.approval_request(case=case, by=handler)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(QUEUE, {"within": 72})
        assert response.status_code == 200
        return len(captured)

    overdue_cases(2)
    waiting_approval()
    client.force_login(department_head)
    client.get(QUEUE)
    few = queries()

    overdue_cases(18)
    for _ in range(3):
        waiting_approval()
    response = client.get(QUEUE, {"within": 72})
    assert len(queued(response)) == 20 + 4  # the approvals escalated "above authority" too
    assert queries() == few


# ---------------------------------------------------------------- acknowledge


def test_acknowledge_is_refused_on_get(client, department_head, escalated_case):
    client.force_login(department_head)

    response = client.get(acknowledge_url(escalation_of(escalated_case)))

    assert response.status_code == 405


def test_department_head_acknowledges_and_the_reminders_stop(
    client, department_head, escalated_case
):
    escalation = escalation_of(escalated_case)
    assert escalation.next_notify_at is not None
    client.force_login(department_head)

    response = client.post(acknowledge_url(escalation), follow=True)

    assert response.redirect_chain == [(QUEUE, 302)]
    assert f"{escalated_case.reference}: acknowledged." in text(response)
    escalation.refresh_from_db()
    assert escalation.acknowledged_by == department_head
    assert escalation.acknowledged_at is not None
    assert escalation.next_notify_at is None
    assert event_kinds(escalated_case)[-1] == CaseEvent.Kind.ACKNOWLEDGED


def test_acknowledging_from_the_case_page_goes_back_to_it(client, department_head, escalated_case):
    client.force_login(department_head)

    response = client.post(acknowledge_url(escalation_of(escalated_case)), {"next": "case"})

    assert response.status_code == 302
    assert response["Location"] == f"/cases/{escalated_case.reference}/"


def test_an_escalation_is_acknowledged_only_once(
    client, department_head, general_manager, escalated_case
):
    escalation = escalation_of(escalated_case)
    client.force_login(department_head)
    client.post(acknowledge_url(escalation))
    client.force_login(general_manager)

    response = client.post(acknowledge_url(escalation), follow=True)

    assert "This escalation was already acknowledged." in text(response)
    escalation.refresh_from_db()
    assert escalation.acknowledged_by == department_head
    assert event_kinds(escalated_case).count(CaseEvent.Kind.ACKNOWLEDGED) == 1


def test_head_of_another_department_cannot_acknowledge(client, foreign_head, escalated_case):
    escalation = escalation_of(escalated_case)
    client.force_login(foreign_head)

    response = client.post(acknowledge_url(escalation), follow=True)

    assert response.status_code == 200
    assert "This escalation is for another tier or department." in text(response)
    escalation.refresh_from_db()
    assert escalation.acknowledged_at is None
    assert escalation.next_notify_at is not None


@pytest.mark.parametrize("persona", ["handler", "agent"])
def test_a_lower_tier_cannot_acknowledge(client, request, persona, escalated_case):
    escalation = escalation_of(escalated_case)
    client.force_login(request.getfixturevalue(persona))

    response = client.post(acknowledge_url(escalation))

    assert flashed(response) == ["This escalation is for another tier or department."]
    escalation.refresh_from_db()
    assert escalation.acknowledged_at is None


def test_a_department_head_cannot_acknowledge_for_the_quality_manager(
    client, department_head, overdue_cases
):
    case = overdue_cases(1, days_ago=4)[0]
    to_quality = case.escalations.get(to_tier=Tier.QUALITY_MANAGER)
    client.force_login(department_head)

    response = client.post(acknowledge_url(to_quality), follow=True)

    assert "This escalation is for another tier or department." in text(response)
    to_quality.refresh_from_db()
    assert to_quality.acknowledged_at is None


def test_user_without_a_role_cannot_find_the_escalation(client, outsider, escalated_case):
    client.force_login(outsider)

    assert client.post(acknowledge_url(escalation_of(escalated_case))).status_code == 404


def test_unknown_escalation_is_not_found(client, department_head):
    client.force_login(department_head)

    assert client.post("/escalations/999999/acknowledge/").status_code == 404


# ---------------------------------------------------------------- take


def test_taking_an_escalation_makes_the_head_the_owner(client, department_head, escalated_case):
    escalation = escalation_of(escalated_case)
    client.force_login(department_head)

    response = client.post(take_url(escalation))

    assert response.status_code == 302
    assert response["Location"] == f"/cases/{escalated_case.reference}/"
    escalated_case.refresh_from_db()
    assert escalated_case.owner == department_head
    assert event_kinds(escalated_case)[-2:] == ["assigned", "acknowledged"]
    escalation.refresh_from_db()
    assert escalation.acknowledged_by == department_head
    assert escalation.next_notify_at is None


def test_take_is_refused_on_get(client, department_head, escalated_case):
    client.force_login(department_head)

    assert client.get(take_url(escalation_of(escalated_case))).status_code == 405


def test_head_of_another_department_cannot_take_it(client, agent, foreign_head, escalated_case):
    client.force_login(foreign_head)

    response = client.post(take_url(escalation_of(escalated_case)), follow=True)

    assert "This escalation is for another tier or department." in text(response)
    escalated_case.refresh_from_db()
    assert escalated_case.owner == agent
    assert "assigned" not in event_kinds(escalated_case)


# ---------------------------------------------------------------- reassign


def test_reassigning_hands_the_case_over_with_the_instruction(
    client, department_head, handler, escalated_case
):
    escalation = escalation_of(escalated_case)
    client.force_login(department_head)

    response = client.post(
        REASSIGN,
        {
            "escalations": [escalation.pk],
            "person": handler.pk,
            "instruction": "Call the customer today.",
        },
        follow=True,
    )

    assert "1 case(s) reassigned." in text(response)
    escalated_case.refresh_from_db()
    assert escalated_case.owner == handler
    assigned = escalated_case.events.get(kind=CaseEvent.Kind.ASSIGNED)
    assert assigned.actor == department_head
    assert assigned.note == "Call the customer today."
    escalation.refresh_from_db()
    assert escalation.acknowledged_by == department_head
    assert escalation.next_notify_at is None


def test_bulk_reassign_hands_every_ticked_case_to_the_department(
    client, department_head, logistics, overdue_cases
):
    cases = overdue_cases(3)
    client.force_login(department_head)

    response = client.post(
        REASSIGN,
        {
            "escalations": [escalation_of(case).pk for case in cases],
            "department": logistics.pk,
            "instruction": "Courier damage: yours.",
        },
        follow=True,
    )

    assert "3 case(s) reassigned." in text(response)
    for case in cases:
        case.refresh_from_db()
        assert case.department == logistics
        assert case.events.get(kind=CaseEvent.Kind.ASSIGNED).note == "Courier damage: yours."
        assert escalation_of(case).acknowledged_at is not None
    assert queued(response) == []


def test_reassign_is_all_or_nothing_when_one_case_is_closed(
    agent, handler, department_head, after_sales, overdue_cases
):
    still_open, closed = overdue_cases(2)
    walk(closed, to=Step.CLOSED, by=agent, department=after_sales, person=handler)

    with pytest.raises(TransitionRefused, match=f"{closed.reference} is closed"):
        escalations_reassign(
            escalations=[escalation_of(still_open), escalation_of(closed)],
            by=department_head,
            person=handler,
        )

    still_open.refresh_from_db()
    assert still_open.owner == agent
    assert escalation_of(still_open).acknowledged_at is None
    assert "assigned" not in event_kinds(still_open)


def test_ticking_a_case_closed_meanwhile_reassigns_none(
    client, agent, handler, department_head, after_sales, overdue_cases
):
    still_open, closed = overdue_cases(2)
    walk(closed, to=Step.CLOSED, by=agent, department=after_sales, person=handler)
    client.force_login(department_head)

    response = client.post(
        REASSIGN,
        {
            "escalations": [escalation_of(still_open).pk, escalation_of(closed).pk],
            "person": handler.pk,
        },
        follow=True,
    )

    assert "One of the ticked cases is no longer in your queue." in text(response)
    still_open.refresh_from_db()
    assert still_open.owner == agent
    assert escalation_of(still_open).acknowledged_at is None


def test_an_escalation_not_in_my_queue_is_refused(
    client, agent, foreign_head, logistics, escalated_case
):
    client.force_login(foreign_head)

    response = client.post(
        REASSIGN,
        {"escalations": [escalation_of(escalated_case).pk], "department": logistics.pk},
        follow=True,
    )

    assert "One of the ticked cases is no longer in your queue." in text(response)
    escalated_case.refresh_from_db()
    assert escalated_case.department.code == "after-sales"
    assert escalated_case.owner == agent


def test_reassign_without_a_person_or_department_changes_nothing(
    client, agent, department_head, escalated_case
):
    escalation = escalation_of(escalated_case)
    client.force_login(department_head)

    response = client.post(
        REASSIGN, {"escalations": [escalation.pk], "instruction": "Sort it out."}, follow=True
    )

    assert "Choose a person or a department." in text(response)
    escalated_case.refresh_from_db()
    assert escalated_case.owner == agent
    escalation.refresh_from_db()
    assert escalation.acknowledged_at is None


def test_reassign_without_a_ticked_case_says_so(client, department_head, handler, escalated_case):
    client.force_login(department_head)

    response = client.post(REASSIGN, {"person": handler.pk}, follow=True)

    assert "Tick at least one case." in text(response)


@pytest.mark.parametrize("persona", ["agent", "handler"])
def test_staff_without_a_tier_cannot_reassign(client, request, persona, handler, escalated_case):
    client.force_login(request.getfixturevalue(persona))

    response = client.post(
        REASSIGN, {"escalations": [escalation_of(escalated_case).pk], "person": handler.pk}
    )

    assert response.status_code == 403
    escalated_case.refresh_from_db()
    assert escalated_case.owner.username == "agent"


def test_reassign_is_refused_on_get(client, department_head):
    client.force_login(department_head)

    assert client.get(REASSIGN).status_code == 405
