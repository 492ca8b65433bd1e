"""/api/v1/escalations/ and /api/v1/approvals/: the escalations and remedy approvals of the
cases the caller may see, their filters (and "my queue"), acknowledging and taking an
escalation, approving or declining a remedy: only for the tier (and department) they are for."""

from __future__ import annotations

from datetime import timedelta

import pytest

from complaints.models import CaseEvent, Step, Tier
from complaints.roles import Role
from escalation.approvals import approval_decide, approval_request
from escalation.models import Approval, Escalation
from escalation.services import case_escalate_manually, escalation_acknowledge

from ..factories import receive_case, staff
from .conftest import V1, case_url, error, event_kinds, queries

ESCALATIONS = f"{V1}/escalations/"
APPROVALS = f"{V1}/approvals/"


@pytest.fixture
def foreign_head(db, logistics):
    """The head of Logistics: a department head, but not of the case's department."""
    return staff(Role.DEPARTMENT_HEAD, logistics, username="foreign_head")


@pytest.fixture
def escalation(escalated_case) -> Escalation:
    return escalated_case.escalations.get()


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content[:300]
    return [row["id"] for row in response.json()["results"]]


def escalation_url(escalation: Escalation, action: str = "") -> str:
    return f"{ESCALATIONS}{escalation.pk}/" + (f"{action}/" if action else "")


def approval_url(approval: Approval, action: str = "") -> str:
    return f"{APPROVALS}{approval.pk}/" + (f"{action}/" if action else "")


# ---------------------------------------------------------------- reading escalations


@pytest.mark.parametrize("persona", ["agent", "handler", "department_head", "foreign_handler"])
def test_staff_see_the_escalations_of_the_cases_they_see(api, request, escalation, persona):
    assert ids(api(request.getfixturevalue(persona)).get(ESCALATIONS)) == [escalation.pk]


def test_user_without_a_role_is_refused_the_escalations(api, outsider, escalation):
    error(api(outsider).get(ESCALATIONS), 403, "permission_denied")


def test_anonymous_caller_is_refused_the_escalations(api, escalation):
    error(api().get(ESCALATIONS), 401, "not_authenticated")


def test_an_escalation_says_what_happened_in_machine_values(api, handler, escalation):
    body = api(handler).get(escalation_url(escalation)).json()

    assert {k: body[k] for k in ("case", "milestone", "from_tier", "to_tier", "reason")} == {
        "case": escalation.case.reference,
        "milestone": "decided",
        "from_tier": 0,
        "to_tier": 1,
        "reason": "overdue",
    }
    assert (body["acknowledged"], body["acknowledged_by"]) == (False, None)


def test_user_without_a_role_is_refused_an_escalation(api, outsider, escalation):
    error(api(outsider).get(escalation_url(escalation)), 403, "permission_denied")


def test_anonymous_caller_is_refused_an_escalation(api, escalation):
    error(api().get(escalation_url(escalation)), 401, "not_authenticated")


def test_unknown_escalation_is_not_found(api, department_head, db):
    error(api(department_head).get(f"{ESCALATIONS}999999/"), 404, "not_found")


@pytest.fixture
def several_escalations(agent, quality_manager, escalation):
    """Besides the sweep's (overdue, to tier 1): one escalated by hand twice (to tier 2), the
    second acknowledged."""
    case = receive_case(by=agent)
    case_escalate_manually(case=case, by=agent, note="The press called.")
    case_escalate_manually(case=case, by=agent, note="A regulator wrote.")
    second = case.escalations.get(to_tier=Tier.QUALITY_MANAGER)
    escalation_acknowledge(escalation=second, by=quality_manager)
    return {
        "overdue": escalation,
        "first": case.escalations.get(to_tier=Tier.DEPARTMENT_HEAD),
        "second": second,
    }


def test_each_escalation_filter_returns_only_the_matching_ones(api, agent, several_escalations):
    client = api(agent)
    expected = {
        "tier=2": ["second"],
        "tier=1": ["first", "overdue"],
        "reason=overdue": ["overdue"],
        "reason=manual": ["first", "second"],
        "acknowledged=true": ["second"],
        "acknowledged=false": ["first", "overdue"],
        f"case={several_escalations['overdue'].case.reference}": ["overdue"],
    }

    shown = {query: sorted(ids(client.get(f"{ESCALATIONS}?{query}"))) for query in expected}

    assert shown == {
        query: sorted(several_escalations[name].pk for name in names)
        for query, names in expected.items()
    }


def test_escalations_filtered_by_when(api, agent, escalation):
    client = api(agent)
    before = (escalation.at - timedelta(minutes=1)).isoformat()
    after = (escalation.at + timedelta(minutes=1)).isoformat()

    assert ids(client.get(ESCALATIONS, {"at_after": before})) == [escalation.pk]
    assert ids(client.get(ESCALATIONS, {"at_after": after})) == []


def test_escalations_are_newest_first_unless_sorted(api, agent, several_escalations):
    client = api(agent)
    newest_first = [several_escalations[n].pk for n in ("second", "first", "overdue")]

    assert ids(client.get(ESCALATIONS)) == newest_first
    assert ids(client.get(f"{ESCALATIONS}?ordering=at")) == newest_first[::-1]


def test_the_department_heads_queue_holds_the_escalation_of_their_department(
    api, department_head, escalation
):
    assert ids(api(department_head).get(f"{ESCALATIONS}?queue=true")) == [escalation.pk]


def test_the_queue_of_the_head_of_another_department_does_not(api, foreign_head, escalation):
    client = api(foreign_head)

    assert ids(client.get(f"{ESCALATIONS}?queue=true")) == []
    assert ids(client.get(f"{ESCALATIONS}?queue=false")) == [escalation.pk]


def test_an_acknowledged_escalation_leaves_the_queue(api, department_head, escalation):
    escalation_acknowledge(escalation=escalation, by=department_head)

    assert ids(api(department_head).get(f"{ESCALATIONS}?queue=true")) == []


def test_escalation_list_query_count_does_not_grow_with_the_rows(
    api, agent, other_agent, quality_manager, general_manager
):
    client = api(general_manager)
    url = f"{ESCALATIONS}?page_size=100&queue=true"

    def build(n):
        for i in range(n):
            case = receive_case(by=[agent, other_agent][i % 2])
            escalated = case_escalate_manually(case=case, by=case.receiver, note=f"Press {i}.")
            if i % 3 == 0:
                escalation_acknowledge(
                    escalation=escalated, by=[quality_manager, general_manager][i % 2]
                )

    build(2)
    client.get(url)
    few = queries(client, url)

    build(28)

    assert len(ids(client.get(f"{ESCALATIONS}?page_size=100"))) == 30
    assert queries(client, url) == few


# ---------------------------------------------------------------- acknowledging, taking


def test_department_head_acknowledges_and_the_reminders_stop(api, department_head, escalation):
    response = api(department_head).post(
        escalation_url(escalation, "acknowledge"), {"note": "Seen."}
    )

    assert response.status_code == 200
    assert response.json()["acknowledged"] is True
    assert response.json()["acknowledged_by"]["id"] == department_head.pk
    escalation.refresh_from_db()
    assert escalation.acknowledged_by == department_head
    assert escalation.next_notify_at is None


def test_acknowledging_is_on_the_timeline(api, department_head, escalation):
    api(department_head).post(escalation_url(escalation, "acknowledge"), {"note": "Seen."})

    event = escalation.case.events.get(kind=CaseEvent.Kind.ACKNOWLEDGED)
    assert (event.actor, event.note) == (department_head, "Seen.")


def test_an_escalation_is_acknowledged_only_once(api, department_head, quality_manager, escalation):
    escalation_acknowledge(escalation=escalation, by=quality_manager)

    refused = error(
        api(department_head).post(escalation_url(escalation, "acknowledge")), 400, "invalid"
    )

    assert refused["message"] == "This escalation was already acknowledged."
    escalation.refresh_from_db()
    assert escalation.acknowledged_by == quality_manager


@pytest.mark.parametrize("persona", ["foreign_head", "handler", "agent"])
def test_only_the_tier_it_is_for_may_acknowledge(api, request, persona, escalation):
    response = api(request.getfixturevalue(persona)).post(escalation_url(escalation, "acknowledge"))

    error(response, 403, "permission_denied")
    escalation.refresh_from_db()
    assert escalation.acknowledged_at is None


def test_user_without_a_role_may_not_acknowledge(api, outsider, escalation):
    error(api(outsider).post(escalation_url(escalation, "acknowledge")), 403, "permission_denied")


def test_anonymous_caller_may_not_acknowledge(api, escalation):
    error(api().post(escalation_url(escalation, "acknowledge")), 401, "not_authenticated")


def test_department_head_takes_the_escalated_case(api, department_head, escalation):
    response = api(department_head).post(escalation_url(escalation, "take"))

    assert response.status_code == 200
    assert response.json()["acknowledged"] is True
    case = escalation.case
    case.refresh_from_db()
    assert case.owner == department_head
    assert event_kinds(case)[-2:] == [CaseEvent.Kind.ASSIGNED, CaseEvent.Kind.ACKNOWLEDGED]


def test_the_head_of_another_department_may_not_take_the_case(api, foreign_head, escalation):
    error(api(foreign_head).post(escalation_url(escalation, "take")), 403, "permission_denied")
    case = escalation.case
    case.refresh_from_db()
    assert case.owner != foreign_head


def test_user_without_a_role_may_not_take_an_escalated_case(api, outsider, escalation):
    error(api(outsider).post(escalation_url(escalation, "take")), 403, "permission_denied")
    case = escalation.case
    case.refresh_from_db()
    assert case.owner != outsider


def test_anonymous_caller_may_not_take_an_escalated_case(api, escalation):
    error(api().post(escalation_url(escalation, "take")), 401, "not_authenticated")


# ---------------------------------------------------------------- approvals


@pytest.fixture
def approval(handler, remedy_case) -> Approval:
    """The handler's request to approve a remedy of 1500 (above their 500): for tier 1."""
    return approval_request(case=remedy_case("1500"), by=handler, note="Loyal customer.")


def decide(client, approval, **data):
    return client.post(approval_url(approval, "decision"), data, format="json")


@pytest.mark.parametrize("persona", ["agent", "handler", "department_head", "foreign_handler"])
def test_staff_see_the_approvals_of_the_cases_they_see(api, request, approval, persona):
    assert ids(api(request.getfixturevalue(persona)).get(APPROVALS)) == [approval.pk]


def test_user_without_a_role_is_refused_the_approvals(api, outsider, approval):
    error(api(outsider).get(APPROVALS), 403, "permission_denied")


def test_anonymous_caller_is_refused_the_approvals(api, approval):
    error(api().get(APPROVALS), 401, "not_authenticated")


def test_an_approval_says_what_is_asked(api, handler, approval):
    body = api(handler).get(approval_url(approval)).json()

    assert {k: body[k] for k in ("case", "value", "remedy_types", "tier", "status", "note")} == {
        "case": approval.case.reference,
        "value": "1500.00",
        "remedy_types": ["replacement"],
        "tier": 1,
        "status": "pending",
        "note": "Loyal customer.",
    }
    assert body["requested_by"]["id"] == handler.pk


def test_user_without_a_role_is_refused_an_approval(api, outsider, approval):
    error(api(outsider).get(approval_url(approval)), 403, "permission_denied")


def test_anonymous_caller_is_refused_an_approval(api, approval):
    error(api().get(approval_url(approval)), 401, "not_authenticated")


def test_unknown_approval_is_not_found(api, department_head, db):
    error(api(department_head).get(f"{APPROVALS}999999/"), 404, "not_found")


def test_each_approval_filter_returns_only_the_matching_ones(
    api, handler, department_head, approval, remedy_case
):
    approval_decide(approval=approval, by=department_head, approve=True)
    waiting = approval_request(case=remedy_case("1200"), by=handler)
    client = api(handler)
    expected = {
        "status=pending": [waiting],
        "status=approved": [approval],
        "status=pending&status=approved": [approval, waiting],
        f"case={waiting.case.reference}": [waiting],
    }

    shown = {query: sorted(ids(client.get(f"{APPROVALS}?{query}"))) for query in expected}

    assert shown == {query: sorted(a.pk for a in rows) for query, rows in expected.items()}


def test_the_department_heads_queue_holds_the_approval_waiting_for_them(
    api, department_head, approval
):
    assert ids(api(department_head).get(f"{APPROVALS}?queue=true")) == [approval.pk]


def test_the_head_of_another_department_has_no_approval_waiting(api, foreign_head, approval):
    assert ids(api(foreign_head).get(f"{APPROVALS}?queue=true")) == []


def test_department_head_approves_and_the_handler_moves_on(api, handler, department_head, approval):
    response = decide(api(department_head), approval, approve=True, note="Fine.")

    assert response.status_code == 200
    assert response.json()["status"] == "approved"
    case = approval.case
    case.refresh_from_db()
    assert case.remedy_approved_by == department_head
    assert CaseEvent.Kind.APPROVED in event_kinds(case)
    moved = api(handler).post(
        case_url(case, "transition"), {"to": "act", "version": case.version}, format="json"
    )
    assert moved.status_code == 200
    assert moved.json()["step"] == Step.ACT


def test_department_head_declines_with_a_reason(api, department_head, approval):
    decide(api(department_head), approval, approve=False, note="Too much for a scratch.")

    approval.refresh_from_db()
    assert (approval.status, approval.decision_note) == (
        Approval.Status.DECLINED,
        "Too much for a scratch.",
    )
    assert event_kinds(approval.case)[-1] == CaseEvent.Kind.DECLINED


def test_declining_without_a_reason_is_refused_naming_the_field(api, department_head, approval):
    refused = error(decide(api(department_head), approval, approve=False), 400, "invalid")

    assert refused["fields"] == {"note": ["Say why the remedy is declined."]}
    approval.refresh_from_db()
    assert approval.status == Approval.Status.PENDING


def test_a_decision_without_approve_is_refused_naming_the_field(api, department_head, approval):
    refused = error(decide(api(department_head), approval, note="Hm."), 400, "invalid")

    assert list(refused["fields"]) == ["approve"]


def test_an_approval_is_decided_only_once(api, department_head, general_manager, approval):
    approval_decide(approval=approval, by=general_manager, approve=True)

    refused = error(
        decide(api(department_head), approval, approve=False, note="No."), 400, "invalid"
    )

    assert refused["message"] == "This approval was already decided."
    approval.refresh_from_db()
    assert approval.status == Approval.Status.APPROVED


@pytest.mark.parametrize("persona", ["foreign_head", "handler", "agent"])
def test_only_the_tier_asked_may_decide(api, request, persona, approval):
    response = decide(api(request.getfixturevalue(persona)), approval, approve=True)

    assert error(response, 403, "permission_denied")["message"] == (
        "Your authority does not cover this remedy."
    )
    approval.refresh_from_db()
    assert approval.status == Approval.Status.PENDING


def test_department_head_may_not_approve_above_their_own_ceiling(
    api, handler, department_head, remedy_case
):
    above = approval_request(case=remedy_case("5000"), by=handler)

    error(decide(api(department_head), above, approve=True), 403, "permission_denied")
    above.refresh_from_db()
    assert above.status == Approval.Status.PENDING


def test_user_without_a_role_may_not_decide(api, outsider, approval):
    error(decide(api(outsider), approval, approve=True), 403, "permission_denied")


def test_anonymous_caller_may_not_decide(api, approval):
    error(decide(api(), approval, approve=True), 401, "not_authenticated")


def test_approval_list_query_count_does_not_grow_with_the_rows(
    api, handler, department_head, quality_manager, remedy_case
):
    client = api(quality_manager)
    url = f"{APPROVALS}?page_size=100"

    def build(n):
        for i in range(n):
            approval = approval_request(case=remedy_case(str(1000 + i)), by=handler)
            if i % 2:
                approval_decide(
                    approval=approval,
                    by=department_head if i % 4 == 1 else quality_manager,
                    approve=True,
                )

    build(2)
    client.get(url)
    few = queries(client, url)

    build(10)

    assert len(ids(client.get(url))) == 12
    assert queries(client, url) == few
