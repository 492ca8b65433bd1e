"""/cases/{reference}/referral/ (external review, tier 4) and its outcome; the queue's bulk
hand-over, /escalations/reassign/."""

from __future__ import annotations

import pytest

from complaints.models import CaseEvent, Tier
from escalation.models import ExternalReview

from .conftest import V1, case_url, error


def refer(client, case, **body):
    data = {"reviewer": "Consumer Council", "reason": "The customer refuses every offer."}
    return client.post(case_url(case, "referral"), {**data, **body}, format="json")


def test_a_quality_manager_refers_a_case_to_external_review(api, quality_manager, decide_case):
    case = decide_case()

    response = refer(api(quality_manager), case)

    assert response.status_code == 201
    assert response.json()["reviewer"] == "Consumer Council"
    assert response.json()["outcome_at"] is None
    case.refresh_from_db()
    assert case.tier == Tier.EXTERNAL_REVIEW
    assert case.events.filter(kind=CaseEvent.Kind.REFERRED).exists()


def test_a_handler_may_not_refer_a_case_outside(api, handler, decide_case):
    case = decide_case()

    error(refer(api(handler), case), 403, "permission_denied")

    assert not ExternalReview.objects.exists()


def test_a_referral_names_the_reviewer(api, quality_manager, decide_case):
    refused = error(refer(api(quality_manager), decide_case(), reviewer=""), 400, "invalid")

    assert "reviewer" in refused["fields"]


def test_the_outcome_of_the_open_review_is_recorded_once(api, quality_manager, decide_case):
    case = decide_case()
    client = api(quality_manager)
    refer(client, case)
    url = case_url(case, "referral/outcome")

    response = client.post(url, {"outcome": "Refund half."}, format="json")

    assert response.status_code == 200 and response.json()["outcome"] == "Refund half."
    assert case.events.filter(kind=CaseEvent.Kind.REVIEW_OUTCOME).count() == 1
    error(client.post(url, {"outcome": "Again."}, format="json"), 409, "refused")


def test_an_outcome_needs_a_case_in_external_review(api, quality_manager, decide_case):
    response = api(quality_manager).post(
        case_url(decide_case(), "referral/outcome"), {"outcome": "x"}, format="json"
    )

    assert error(response, 409, "refused")["message"] == "The case is not in external review."


# ---------------------------------------------------------------- bulk hand-over


def reassign(client, ids, **body):
    return client.post(f"{V1}/escalations/reassign/", {"escalations": ids, **body}, format="json")


def test_the_department_head_hands_escalated_cases_to_a_handler(
    api, department_head, handler, escalated_case
):
    escalation = escalated_case.escalations.get()

    response = reassign(
        api(department_head), [escalation.pk], person=handler.pk, instruction="Call today."
    )

    assert response.status_code == 200 and response.json() == {"reassigned": 1}
    escalated_case.refresh_from_db()
    escalation.refresh_from_db()
    assert escalated_case.owner == handler
    assert escalation.acknowledged_by == department_head


def test_escalations_outside_my_queue_are_refused_and_nothing_moves(
    api, quality_manager, handler, escalated_case
):
    """The case waits at tier 1 (the department head's queue), not the quality manager's."""
    escalation = escalated_case.escalations.get()
    owner = escalated_case.owner

    refused = error(
        reassign(api(quality_manager), [escalation.pk], person=handler.pk), 400, "invalid"
    )

    assert "escalations" in refused["fields"]
    escalated_case.refresh_from_db()
    assert escalated_case.owner == owner


@pytest.mark.parametrize("body", [{}, {"person": None, "department": None}])
def test_a_hand_over_names_a_person_or_a_department(api, department_head, escalated_case, body):
    escalation = escalated_case.escalations.get()

    error(reassign(api(department_head), [escalation.pk], **body), 400, "invalid")
