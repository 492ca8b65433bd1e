"""Authority limits (处置权限): a remedy above the decider's ceiling (tier 0: 500, department
head: 2000, quality manager: 10000, general manager: none) waits at Decide for the approval of a
tier whose ceiling covers it; the request is an escalation in that tier's queue."""

from __future__ import annotations

from decimal import Decimal
from html import unescape

import pytest
from django.contrib.messages import get_messages

from complaints.errors import AccessDenied, InvalidInput, TransitionRefused
from complaints.models import CaseEvent, Step, Tier
from complaints.services import case_transition, case_update
from escalation.approvals import approval_decide, approval_request
from escalation.models import Approval, Escalation

from ..factories import step_data, walk

PLAN = {"remedy_types": ["replacement"], "remedy_plan": "Replace the machine."}


# ---------------------------------------------------------------- helpers


@pytest.fixture
def remedy_case(decide_case, handler):
    """Make an After-sales case at Decide whose handler has recorded a remedy of ``value``."""

    def make(value: str, *, by=None):
        case = decide_case()
        case_update(case=case, by=by or handler, data={**PLAN, "remedy_value": Decimal(value)})
        return case

    return make


def move_to_act(case, by):
    return case_transition(case=case, to=Step.ACT, by=by)


def event_kinds(case) -> list[str]:
    return list(case.events.order_by("at", "pk").values_list("kind", flat=True))


def text(response) -> str:
    return unescape(response.content.decode())


def flashed(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def decide_url(approval: Approval) -> str:
    return f"/escalations/approvals/{approval.pk}/"


# ---------------------------------------------------------------- the limit at Decide


def test_decide_above_authority_is_refused_naming_the_value_and_the_ceiling(handler, remedy_case):
    case = remedy_case("1500")

    with pytest.raises(TransitionRefused) as refused:
        move_to_act(case, handler)

    assert refused.value.messages == [
        "The remedy's value 1500.00 is above your authority (500.00): request approval first."
    ]
    case.refresh_from_db()
    assert case.step == Step.DECIDE


@pytest.mark.parametrize("persona", ["handler", "agent"])
def test_decide_within_authority_moves_on(request, persona, remedy_case):
    case = remedy_case("500")

    move_to_act(case, request.getfixturevalue(persona))

    case.refresh_from_db()
    assert case.step == Step.ACT
    assert case.remedy_approved_by is None


@pytest.mark.parametrize(
    ("persona", "value"),
    [("department_head", "1500"), ("quality_manager", "5000"), ("general_manager", "50000")],
)
def test_a_decider_whose_own_tier_covers_the_remedy_needs_no_approval(
    request, persona, value, remedy_case
):
    decider = request.getfixturevalue(persona)
    case = remedy_case(value, by=decider)

    move_to_act(case, decider)

    case.refresh_from_db()
    assert case.step == Step.ACT
    assert not case.approvals.exists()


def test_the_handler_sees_why_decide_is_refused_on_the_case_page(client, handler, decide_case):
    case = decide_case()
    client.force_login(handler)

    response = client.post(
        f"/cases/{case.reference}/step/",
        {
            "version": case.version,
            "to": "act",
            "remedy_types": ["replacement"],
            "remedy_value": "1500",
            "remedy_plan": "Replace the machine.",
        },
    )

    assert response.status_code == 422
    assert "The remedy's value 1500.00 is above your authority (500.00)" in text(response)
    case.refresh_from_db()
    assert case.step == Step.DECIDE


# ---------------------------------------------------------------- requesting approval


@pytest.mark.parametrize(("value", "tier"), [("1500", 1), ("5000", 2), ("50000", 3)])
def test_a_request_waits_for_the_lowest_tier_that_may_grant_it(handler, remedy_case, value, tier):
    case = remedy_case(value)

    approval = approval_request(case=case, by=handler, note="Second failure this month.")

    approval.refresh_from_db()
    assert (approval.status, approval.tier, approval.value) == ("pending", tier, Decimal(value))
    assert approval.requested_by == handler
    assert approval.remedy_types == ["replacement"]
    event = case.events.get(kind=CaseEvent.Kind.APPROVAL_REQUESTED)
    assert (event.actor, event.note) == (handler, "Second failure this month.")
    escalation = case.escalations.get()
    assert (escalation.reason, escalation.from_tier, escalation.to_tier) == (
        Escalation.Reason.AUTHORITY,
        Tier.HANDLER,
        tier,
    )
    case.refresh_from_db()
    assert case.tier == tier


@pytest.mark.parametrize(
    ("value", "persona"),
    [("1500", "department_head"), ("5000", "quality_manager"), ("50000", "general_manager")],
)
def test_the_request_appears_in_the_approving_tiers_queue(
    client, request, handler, remedy_case, value, persona
):
    case = remedy_case(value)
    approval_request(case=case, by=handler)
    client.force_login(request.getfixturevalue(persona))

    page = text(client.get("/escalations/"))

    approvals = page.split('data-testid="queue-approvals"')[1].split("</section>")[0]
    assert case.reference in approvals
    assert f"{value}.00" in approvals
    assert f'data-reference="{case.reference}"' in page  # and the escalation above authority


def test_a_request_for_tier_two_is_not_in_the_department_heads_queue(
    client, handler, department_head, remedy_case
):
    case = remedy_case("5000")
    approval_request(case=case, by=handler)
    client.force_login(department_head)

    page = text(client.get("/escalations/"))

    assert "No approvals are waiting." in page
    assert "Nothing is waiting for you." in page


def test_a_second_request_while_one_waits_is_refused(handler, remedy_case):
    case = remedy_case("1500")
    approval_request(case=case, by=handler)

    with pytest.raises(TransitionRefused, match="An approval is already waiting"):
        approval_request(case=case, by=handler)

    assert case.approvals.count() == 1


def test_a_request_within_authority_is_refused(handler, remedy_case):
    case = remedy_case("500")

    with pytest.raises(InvalidInput, match="within your authority"):
        approval_request(case=case, by=handler)

    assert not case.approvals.exists()
    assert not case.escalations.exists()


def test_a_request_before_the_value_is_recorded_is_refused(handler, decide_case):
    case = decide_case()

    with pytest.raises(InvalidInput) as refused:
        approval_request(case=case, by=handler)

    assert refused.value.fields == {"remedy_value": ["Record the remedy's value first."]}
    assert not case.approvals.exists()


def test_a_request_by_someone_who_may_not_work_the_case_is_refused(foreign_handler, remedy_case):
    case = remedy_case("1500")

    with pytest.raises(AccessDenied):
        approval_request(case=case, by=foreign_handler)

    assert not case.approvals.exists()


def test_requesting_approval_from_the_case_page(client, handler, remedy_case):
    case = remedy_case("1500")
    client.force_login(handler)
    page = text(client.get(f"/cases/{case.reference}/"))
    assert 'data-testid="request-approval"' in page

    response = client.post(
        f"/escalations/cases/{case.reference}/approval/", {"note": "Loyal customer."}, follow=True
    )

    assert response.redirect_chain == [(f"/cases/{case.reference}/", 302)]
    assert "Approval requested." in text(response)
    assert 'data-testid="request-approval"' not in text(response)
    assert 'data-testid="approval-pending"' in text(response)
    assert case.approvals.get().note == "Loyal customer."


def test_the_case_page_offers_no_request_within_authority(client, handler, remedy_case):
    case = remedy_case("400")
    client.force_login(handler)

    assert 'data-testid="request-approval"' not in text(client.get(f"/cases/{case.reference}/"))


def test_requesting_approval_is_refused_to_a_handler_of_another_department(
    client, foreign_handler, remedy_case
):
    case = remedy_case("1500")
    client.force_login(foreign_handler)

    response = client.post(f"/escalations/cases/{case.reference}/approval/")

    assert response.status_code == 302
    assert flashed(response) == ["You may not change this case."]
    assert not case.approvals.exists()


def test_requesting_approval_is_not_found_for_a_user_without_a_role(client, outsider, remedy_case):
    case = remedy_case("1500")
    client.force_login(outsider)

    assert client.post(f"/escalations/cases/{case.reference}/approval/").status_code == 404


# ---------------------------------------------------------------- deciding


def test_department_head_approves_and_the_handler_moves_on(handler, department_head, remedy_case):
    case = remedy_case("1500")
    approval = approval_request(case=case, by=handler)

    approval_decide(approval=approval, by=department_head, approve=True)

    approval.refresh_from_db()
    assert (approval.status, approval.decided_by) == ("approved", department_head)
    case.refresh_from_db()
    assert case.remedy_approved_by == department_head
    assert event_kinds(case)[-1] == CaseEvent.Kind.APPROVED
    assert case.escalations.get().acknowledged_by == department_head
    move_to_act(case, handler)
    case.refresh_from_db()
    assert case.step == Step.ACT


def test_raising_the_value_above_the_approved_one_needs_a_new_approval(
    handler, department_head, remedy_case
):
    case = remedy_case("1500")
    approval_decide(
        approval=approval_request(case=case, by=handler), by=department_head, approve=True
    )
    case_update(case=case, by=handler, data={"remedy_value": Decimal("1800")})

    with pytest.raises(TransitionRefused, match=r"1800\.00 is above your authority"):
        move_to_act(case, handler)

    second = approval_request(case=case, by=handler)
    assert second.value == Decimal("1800")
    approval_decide(approval=second, by=department_head, approve=True)
    move_to_act(case, handler)
    case.refresh_from_db()
    assert case.step == Step.ACT


def test_lowering_the_value_below_the_approved_one_needs_none(
    handler, department_head, remedy_case
):
    case = remedy_case("1500")
    approval_decide(
        approval=approval_request(case=case, by=handler), by=department_head, approve=True
    )
    case_update(case=case, by=handler, data={"remedy_value": Decimal("1200")})

    move_to_act(case, handler)

    case.refresh_from_db()
    assert case.step == Step.ACT


def test_declining_needs_a_reason(handler, department_head, remedy_case):
    case = remedy_case("1500")
    approval = approval_request(case=case, by=handler)

    with pytest.raises(InvalidInput) as refused:
        approval_decide(approval=approval, by=department_head, approve=False, note="  ")

    assert refused.value.fields == {"note": ["Say why the remedy is declined."]}
    approval.refresh_from_db()
    assert approval.status == Approval.Status.PENDING


def test_a_declined_remedy_stays_refused_at_decide(handler, department_head, remedy_case):
    case = remedy_case("1500")
    approval = approval_request(case=case, by=handler)

    approval_decide(approval=approval, by=department_head, approve=False, note="A repair will do.")

    approval.refresh_from_db()
    assert (approval.status, approval.decision_note) == ("declined", "A repair will do.")
    declined = case.events.get(kind=CaseEvent.Kind.DECLINED)
    assert (declined.actor, declined.note) == (department_head, "A repair will do.")
    case.refresh_from_db()
    assert case.remedy_approved_by is None
    with pytest.raises(TransitionRefused, match="above your authority"):
        move_to_act(case, handler)


def test_department_head_cannot_approve_above_their_own_ceiling(
    handler, department_head, remedy_case
):
    case = remedy_case("5000")
    approval = approval_request(case=case, by=handler)

    with pytest.raises(AccessDenied, match="Your authority does not cover this remedy"):
        approval_decide(approval=approval, by=department_head, approve=True)

    approval.refresh_from_db()
    assert approval.status == Approval.Status.PENDING
    case.refresh_from_db()
    assert case.remedy_approved_by is None


def test_quality_manager_approves_5000(handler, quality_manager, remedy_case):
    case = remedy_case("5000")
    approval = approval_request(case=case, by=handler)

    approval_decide(approval=approval, by=quality_manager, approve=True)

    case.refresh_from_db()
    assert case.remedy_approved_by == quality_manager
    move_to_act(case, handler)
    case.refresh_from_db()
    assert case.step == Step.ACT


def test_only_the_general_manager_approves_50000(
    handler, quality_manager, general_manager, remedy_case
):
    case = remedy_case("50000")
    approval = approval_request(case=case, by=handler)

    with pytest.raises(AccessDenied):
        approval_decide(approval=approval, by=quality_manager, approve=True)
    approval_decide(approval=approval, by=general_manager, approve=True)

    approval.refresh_from_db()
    assert approval.decided_by == general_manager


def test_an_approval_is_decided_only_once(handler, department_head, general_manager, remedy_case):
    case = remedy_case("1500")
    approval = approval_request(case=case, by=handler)
    approval_decide(approval=approval, by=department_head, approve=True)

    with pytest.raises(InvalidInput, match="already decided"):
        approval_decide(approval=approval, by=general_manager, approve=False, note="No.")

    approval.refresh_from_db()
    assert (approval.status, approval.decided_by) == ("approved", department_head)
    assert event_kinds(case).count(CaseEvent.Kind.APPROVED) == 1
    assert CaseEvent.Kind.DECLINED not in event_kinds(case)


def test_department_head_of_another_department_cannot_approve(handler, foreign_head, remedy_case):
    case = remedy_case("1500")
    approval = approval_request(case=case, by=handler)

    with pytest.raises(AccessDenied):
        approval_decide(approval=approval, by=foreign_head, approve=True)

    approval.refresh_from_db()
    assert approval.status == Approval.Status.PENDING


def test_the_handler_cannot_approve_their_own_request(handler, remedy_case):
    case = remedy_case("1500")
    approval = approval_request(case=case, by=handler)

    with pytest.raises(AccessDenied):
        approval_decide(approval=approval, by=handler, approve=True)


def test_an_approval_counts_only_for_its_round(
    agent, handler, department_head, after_sales, remedy_case
):
    case = remedy_case("1500")
    approval_decide(
        approval=approval_request(case=case, by=handler), by=department_head, approve=True
    )
    move_to_act(case, handler)
    walk(case, to=Step.FOLLOW_UP, by=handler, department=after_sales, person=handler)
    case_transition(
        case=case,
        to=Step.ANALYSE,
        by=handler,
        data={"satisfaction_rating": 2, "follow_up_comment": "Still loud."},
    )
    case_transition(
        case=case,
        to=Step.DECIDE,
        by=handler,
        data=step_data(Step.ANALYSE, department=after_sales, person=handler),
    )

    case.refresh_from_db()
    assert (case.reopen_count, case.remedy_value) == (1, Decimal("1500"))
    with pytest.raises(TransitionRefused, match="above your authority"):
        move_to_act(case, handler)


def test_reopening_clears_the_old_rounds_approver(
    agent, handler, department_head, after_sales, remedy_case
):
    case = remedy_case("1500")
    approval_decide(
        approval=approval_request(case=case, by=handler), by=department_head, approve=True
    )
    move_to_act(case, handler)
    walk(case, to=Step.FOLLOW_UP, by=handler, department=after_sales, person=handler)

    case_transition(
        case=case,
        to=Step.ANALYSE,
        by=handler,
        data={"satisfaction_rating": 2, "follow_up_comment": "Still loud."},
    )

    case.refresh_from_db()
    assert case.remedy_approved_by is None


# ---------------------------------------------------------------- deciding over HTTP


def test_department_head_approves_from_the_queue(client, handler, department_head, remedy_case):
    case = remedy_case("1500")
    approval = approval_request(case=case, by=handler)
    client.force_login(department_head)

    response = client.post(decide_url(approval), {"decision": "approve"}, follow=True)

    assert response.redirect_chain == [("/escalations/", 302)]
    assert f"{case.reference}: remedy approved." in text(response)
    assert "No approvals are waiting." in text(response)
    case.refresh_from_db()
    assert case.remedy_approved_by == department_head


def test_declining_from_the_case_page_goes_back_to_it(
    client, handler, department_head, remedy_case
):
    case = remedy_case("1500")
    approval = approval_request(case=case, by=handler)
    client.force_login(department_head)

    response = client.post(
        decide_url(approval),
        {"decision": "decline", "note": "A repair will do.", "next": "case"},
        follow=True,
    )

    assert response.redirect_chain == [(f"/cases/{case.reference}/", 302)]
    assert f"{case.reference}: remedy declined." in text(response)
    assert 'data-testid="approval-declined"' in text(response)
    approval.refresh_from_db()
    assert approval.status == Approval.Status.DECLINED


def test_declining_without_a_reason_says_a_reason_is_needed(
    client, handler, department_head, remedy_case
):
    approval = approval_request(case=remedy_case("1500"), by=handler)
    client.force_login(department_head)

    response = client.post(decide_url(approval), {"decision": "decline"}, follow=True)

    assert "Say why the remedy is declined." in text(response)
    approval.refresh_from_db()
    assert approval.status == Approval.Status.PENDING


def test_approving_is_refused_to_the_head_of_another_department(
    client, handler, foreign_head, remedy_case
):
    approval = approval_request(case=remedy_case("1500"), by=handler)
    client.force_login(foreign_head)

    response = client.post(decide_url(approval), {"decision": "approve"}, follow=True)

    assert "Your authority does not cover this remedy." in text(response)
    approval.refresh_from_db()
    assert approval.status == Approval.Status.PENDING


def test_approving_is_refused_on_get(client, handler, department_head, remedy_case):
    approval = approval_request(case=remedy_case("1500"), by=handler)
    client.force_login(department_head)

    assert client.get(decide_url(approval)).status_code == 405


def test_approving_is_not_found_for_a_user_without_a_role(client, handler, outsider, remedy_case):
    approval = approval_request(case=remedy_case("1500"), by=handler)
    client.force_login(outsider)

    assert client.post(decide_url(approval), {"decision": "approve"}).status_code == 404
    approval.refresh_from_db()
    assert approval.status == Approval.Status.PENDING


def test_a_waiting_approval_is_withdrawn_when_the_case_leaves_decide(
    handler, department_head, remedy_case
):
    case = remedy_case("1500")
    approval = approval_request(case=case, by=handler)
    case_update(case=case, by=handler, data={"remedy_value": Decimal("300")})

    move_to_act(case, handler)

    approval.refresh_from_db()
    assert approval.status == Approval.Status.WITHDRAWN
    with pytest.raises((InvalidInput, TransitionRefused)):
        approval_decide(approval=approval, by=department_head, approve=True)
    case.refresh_from_db()
    assert case.remedy_approved_by is None
