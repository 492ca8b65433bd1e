"""The case page's "Time limits" panel and its actions over HTTP: the four milestones and their
state, the escalation history, stopping and restarting the clock, escalating by hand, referring
to external review and recording its outcome, the case file for the reviewer, and the page's
query count."""

from __future__ import annotations

import io
import re
import zipfile
from decimal import Decimal
from html import unescape

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext

from complaints import services as case_services
from complaints.merging import case_merge
from complaints.models import CaseEvent, Step, Tier
from escalation.approvals import approval_decide, approval_request
from escalation.models import ExternalReview, Pause
from escalation.services import (
    case_escalate_manually,
    case_pause,
    case_refer_external,
    escalation_acknowledge,
    external_review_record_outcome,
)

from ..factories import step_data, walk

# ---------------------------------------------------------------- helpers


def page_url(case) -> str:
    return f"/cases/{case.reference}/"


def action_url(case, action: str) -> str:
    return f"/escalations/cases/{case.reference}/{action}/"


def text(response) -> str:
    return unescape(response.content.decode())


def flashed(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def milestone_states(response) -> dict[str, str]:
    return dict(
        re.findall(r'data-testid="deadline-(\w+)" data-state="(\w+)"', response.content.decode())
    )


def panel(response) -> str:
    page = text(response)
    return page[page.index('data-testid="time-limits"') :].split("</article>")[0]


def escalation_list(response) -> str:
    return panel(response).split('data-testid="escalations"')[1].split("</ol>")[0]


# ---------------------------------------------------------------- the milestones


def test_the_case_page_shows_the_four_milestones(client, agent, case):
    client.force_login(agent)

    response = client.get(page_url(case))

    assert "Time limits" in panel(response)
    assert milestone_states(response) == {
        "responded": "open",
        "decided": "open",
        "acted": "open",
        "closed": "open",
    }
    assert "First response" in panel(response)
    assert "Decide finished" in panel(response)


def test_an_overdue_milestone_shows_as_overdue(client, handler, escalated_case):
    client.force_login(handler)

    response = client.get(page_url(escalated_case))

    # Received two days ago, it left Listen (its first response) only when walked to Decide.
    assert milestone_states(response) == {
        "responded": "met_late",
        "decided": "breached",
        "acted": "open",
        "closed": "open",
    }
    assert "overdue by 1\xa0day" in panel(response)


def test_a_finished_milestone_shows_as_met(client, agent, handler, after_sales, decide_case):
    case = walk(decide_case(), to=Step.ACT, by=agent, department=after_sales, person=handler)
    client.force_login(agent)

    assert milestone_states(client.get(page_url(case)))["decided"] == "met"


def test_a_milestone_finished_after_its_deadline_shows_as_met_late(
    client, agent, handler, after_sales, decide_case
):
    case = decide_case(days_ago=2)
    walk(case, to=Step.ACT, by=agent, department=after_sales, person=handler)
    client.force_login(agent)

    response = client.get(page_url(case))

    assert milestone_states(response)["decided"] == "met_late"
    assert "met late" in panel(response)


# ---------------------------------------------------------------- escalation history


def test_the_escalation_history_is_on_the_case_page(client, agent, escalated_case):
    client.force_login(agent)

    history = escalation_list(client.get(page_url(escalated_case)))

    assert "Handler → <strong>Department head</strong>" in history
    assert "Overdue (Decide finished)" in history


def test_the_department_head_may_acknowledge_from_the_case_page(
    client, department_head, escalated_case
):
    client.force_login(department_head)

    history = escalation_list(client.get(page_url(escalated_case)))

    assert f"/escalations/{escalated_case.escalations.get().pk}/acknowledge/" in history


def test_the_agent_is_offered_no_acknowledge_button(client, agent, escalated_case):
    client.force_login(agent)

    assert "Acknowledge" not in escalation_list(client.get(page_url(escalated_case)))


def test_the_head_of_another_department_is_offered_no_acknowledge_button(
    client, foreign_head, escalated_case
):
    client.force_login(foreign_head)

    assert "Acknowledge" not in escalation_list(client.get(page_url(escalated_case)))


def test_an_acknowledged_escalation_says_by_whom(client, agent, department_head, escalated_case):
    escalation_acknowledge(escalation=escalated_case.escalations.get(), by=department_head)
    client.force_login(agent)

    history = escalation_list(client.get(page_url(escalated_case)))

    assert f"acknowledged by {department_head}" in history


# ---------------------------------------------------------------- stopping the clock


def test_the_default_policy_offers_no_way_to_stop_the_clock(client, handler, decide_case):
    case = decide_case()
    client.force_login(handler)

    assert 'data-testid="pause"' not in panel(client.get(page_url(case)))


def test_a_policy_that_lets_the_clock_stop_offers_the_button(client, handler, waiting_case):
    client.force_login(handler)

    assert 'data-testid="pause"' in panel(client.get(page_url(waiting_case)))


def test_who_may_not_work_the_case_is_offered_no_pause(client, foreign_handler, waiting_case):
    client.force_login(foreign_handler)

    assert 'data-testid="pause"' not in panel(client.get(page_url(waiting_case)))


def test_stopping_the_clock_from_the_case_page(client, handler, waiting_case):
    client.force_login(handler)

    response = client.post(
        action_url(waiting_case, "pause"),
        {"reason": "customer", "note": "Waiting for photos."},
        follow=True,
    )

    assert response.redirect_chain == [(page_url(waiting_case), 302)]
    assert "The clock is stopped." in text(response)
    assert 'data-testid="clock-stopped"' in panel(response)
    assert 'data-testid="resume"' in panel(response)
    # The first response was met on leaving Listen: only what is still open stops.
    assert milestone_states(response) == {
        "responded": "met",
        "decided": "paused",
        "acted": "paused",
        "closed": "paused",
    }
    pause = waiting_case.pauses.get()
    assert (pause.reason, pause.note, pause.started_by) == (
        "customer",
        "Waiting for photos.",
        handler,
    )


def test_stopping_an_absolute_clock_is_refused_with_the_reason(client, handler, decide_case):
    case = decide_case()
    client.force_login(handler)

    response = client.post(action_url(case, "pause"), {"reason": "customer"})

    assert flashed(response) == [
        "The time limits of this case are absolute: its clock cannot be stopped."
    ]
    assert not case.pauses.exists()


def test_stopping_the_clock_is_refused_to_a_handler_of_another_department(
    client, foreign_handler, waiting_case
):
    client.force_login(foreign_handler)

    response = client.post(action_url(waiting_case, "pause"), {"reason": "customer"})

    assert flashed(response) == ["You may not change this case."]
    assert not waiting_case.pauses.exists()


def test_stopping_the_clock_is_refused_on_get(client, handler, waiting_case):
    client.force_login(handler)

    assert client.get(action_url(waiting_case, "pause")).status_code == 405


def test_restarting_the_clock_from_the_case_page(client, handler, waiting_case):
    case_pause(case=waiting_case, by=handler, reason=Pause.Reason.THIRD_PARTY)
    client.force_login(handler)

    response = client.post(action_url(waiting_case, "resume"), follow=True)

    assert "The clock runs again; the stopped time is credited to the deadlines." in text(response)
    assert milestone_states(response) == {
        "responded": "met",
        "decided": "open",
        "acted": "open",
        "closed": "open",
    }
    assert waiting_case.pauses.get().ended_by == handler


def test_restarting_a_running_clock_says_so(client, handler, waiting_case):
    client.force_login(handler)

    response = client.post(action_url(waiting_case, "resume"))

    assert flashed(response) == ["The clock was running."]


def test_restarting_the_clock_is_refused_to_a_handler_of_another_department(
    client, handler, foreign_handler, waiting_case
):
    case_pause(case=waiting_case, by=handler, reason=Pause.Reason.CUSTOMER)
    client.force_login(foreign_handler)

    response = client.post(action_url(waiting_case, "resume"))

    assert flashed(response) == ["You may not change this case."]
    assert waiting_case.pauses.get().ended_at is None


# ---------------------------------------------------------------- escalating by hand


def test_escalating_from_the_case_page(client, handler, decide_case):
    case = decide_case()
    client.force_login(handler)
    assert 'data-testid="escalate"' in panel(client.get(page_url(case)))

    response = client.post(
        action_url(case, "escalate"), {"note": "The customer threatens to go public."}, follow=True
    )

    assert response.redirect_chain == [(page_url(case), 302)]
    assert "The case was escalated." in text(response)
    assert "Manual" in escalation_list(response)
    escalation = case.escalations.get()
    assert (escalation.reason, escalation.by, escalation.to_tier) == ("manual", handler, 1)
    assert escalation.note == "The customer threatens to go public."


def test_escalating_without_a_reason_changes_nothing(client, handler, decide_case):
    case = decide_case()
    client.force_login(handler)

    response = client.post(action_url(case, "escalate"), {"note": ""})

    assert flashed(response) == ["Why: This field is required."]
    assert not case.escalations.exists()
    case.refresh_from_db()
    assert case.tier == Tier.HANDLER


def test_escalating_is_refused_to_a_handler_of_another_department(
    client, foreign_handler, decide_case
):
    case = decide_case()
    client.force_login(foreign_handler)
    assert 'data-testid="escalate"' not in panel(client.get(page_url(case)))

    response = client.post(action_url(case, "escalate"), {"note": "Urgent."})

    assert flashed(response) == ["You may not change this case."]
    assert not case.escalations.exists()


def test_escalating_is_not_found_for_a_user_without_a_role(client, outsider, decide_case):
    case = decide_case()
    client.force_login(outsider)

    assert client.post(action_url(case, "escalate"), {"note": "Urgent."}).status_code == 404
    assert not case.escalations.exists()


def test_anonymous_escalation_is_sent_to_log_in(client, decide_case):
    case = decide_case()

    response = client.post(action_url(case, "escalate"), {"note": "Urgent."})

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    assert not case.escalations.exists()


# ---------------------------------------------------------------- external review


def test_the_quality_manager_refers_the_case_from_its_page(client, quality_manager, decide_case):
    case = decide_case()
    client.force_login(quality_manager)
    assert action_url(case, "refer") in panel(client.get(page_url(case)))

    response = client.post(
        action_url(case, "refer"),
        {"reviewer": "Consumer association", "reason": "The customer rejects every offer."},
        follow=True,
    )

    assert "The case was referred to external review." in text(response)
    assert "Referred to Consumer association on" in panel(response)
    review = case.external_reviews.get()
    assert (review.reviewer, review.referred_by) == ("Consumer association", quality_manager)
    assert case.events.filter(kind=CaseEvent.Kind.REFERRED).count() == 1
    case.refresh_from_db()
    assert case.tier == Tier.EXTERNAL_REVIEW


def test_a_department_head_is_offered_no_referral_and_is_refused_one(
    client, department_head, decide_case
):
    case = decide_case()
    client.force_login(department_head)
    assert action_url(case, "refer") not in panel(client.get(page_url(case)))

    response = client.post(action_url(case, "refer"), {"reviewer": "Court", "reason": "Stuck."})

    assert flashed(response) == ["Only a quality or general manager may refer a case outside."]
    assert not ExternalReview.objects.exists()


def test_a_second_referral_is_refused_while_the_first_is_open(client, quality_manager, decide_case):
    case = decide_case()
    case_refer_external(case=case, by=quality_manager, reviewer="Arbitration", reason="Stuck.")
    client.force_login(quality_manager)
    assert action_url(case, "refer") not in panel(client.get(page_url(case)))

    response = client.post(action_url(case, "refer"), {"reviewer": "Court", "reason": "Faster."})

    assert flashed(response) == ["The case is already in external review."]
    assert case.external_reviews.count() == 1


def test_a_case_merged_into_another_cannot_be_referred_from_its_page(
    client, quality_manager, decide_case
):
    """Issue 16: the API refused it, the page did not."""
    survivor, absorbed = decide_case(), decide_case()
    case_merge(survivor=survivor, absorbed=absorbed, by=quality_manager, note="The same fridge.")
    client.force_login(quality_manager)

    response = client.post(action_url(absorbed, "refer"), {"reviewer": "Court", "reason": "Stuck."})

    assert flashed(response) == [
        f"{absorbed.reference} was merged into {survivor.reference}: refer "
        f"{survivor.reference} instead."
    ]
    assert not ExternalReview.objects.exists()


def test_the_quality_manager_records_the_outcome(client, quality_manager, decide_case):
    case = decide_case()
    review = case_refer_external(
        case=case, by=quality_manager, reviewer="Arbitration", reason="Stuck."
    )
    client.force_login(quality_manager)

    response = client.post(
        f"/escalations/reviews/{review.pk}/outcome/",
        {"outcome": "Refund half the price."},
        follow=True,
    )

    assert response.redirect_chain == [(page_url(case), 302)]
    assert "The outcome is recorded." in text(response)
    assert "Refund half the price." in panel(response)
    review.refresh_from_db()
    assert review.outcome_by == quality_manager


def test_recording_the_outcome_is_refused_to_the_agent(client, agent, quality_manager, decide_case):
    review = case_refer_external(
        case=decide_case(), by=quality_manager, reviewer="Arbitration", reason="Stuck."
    )
    client.force_login(agent)

    response = client.post(f"/escalations/reviews/{review.pk}/outcome/", {"outcome": "Mine."})

    assert flashed(response) == ["You may not change this case."]
    review.refresh_from_db()
    assert review.outcome_at is None


def test_recording_the_outcome_is_not_found_for_a_user_without_a_role(
    client, outsider, quality_manager, decide_case
):
    review = case_refer_external(
        case=decide_case(), by=quality_manager, reviewer="Arbitration", reason="Stuck."
    )
    client.force_login(outsider)

    response = client.post(f"/escalations/reviews/{review.pk}/outcome/", {"outcome": "x"})

    assert response.status_code == 404


# ---------------------------------------------------------------- the case file


def test_the_quality_manager_downloads_the_complete_case_file(
    client, agent, quality_manager, escalated_case
):
    case_services.case_add_note(case=escalated_case, by=agent, body="The customer called twice.")
    client.force_login(quality_manager)
    assert 'data-testid="case-file"' in panel(client.get(page_url(escalated_case)))

    response = client.get(action_url(escalated_case, "file"))

    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        f'attachment; filename="{escalated_case.reference.lower()}-case-file.zip"'
    )
    bundle = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    document = bundle.read("case-file.html").decode()
    assert f"Case file {escalated_case.reference}" in document
    assert "The drum is loud." in document
    assert "The customer called twice." in document
    escalations = document.split("<h2>Escalations</h2>")[1].split("</table>")[0]
    assert "Handler → Department head" in escalations
    assert "Overdue Decide finished" in escalations


@pytest.mark.parametrize("persona", ["agent", "department_head"])
def test_the_case_file_is_refused_below_the_quality_manager(
    client, request, persona, escalated_case
):
    client.force_login(request.getfixturevalue(persona))

    assert 'data-testid="case-file"' not in panel(client.get(page_url(escalated_case)))
    assert client.get(action_url(escalated_case, "file")).status_code == 403


def test_the_case_file_is_not_found_for_a_user_without_a_role(client, outsider, escalated_case):
    client.force_login(outsider)

    assert client.get(action_url(escalated_case, "file")).status_code == 404


# ---------------------------------------------------------------- query count


def query_count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_case_page_query_count_does_not_grow_with_escalations_and_rounds(
    client,
    handler,
    department_head,
    quality_manager,
    general_manager,
    after_sales,
    escalated_case,
):
    case = escalated_case
    case_services.case_update(case=case, by=handler, data={"remedy_value": Decimal("1500")})
    approval = approval_request(case=case, by=handler)
    client.force_login(general_manager)
    client.get(page_url(case))
    few = query_count(client, page_url(case))

    approval_decide(approval=approval, by=department_head, approve=True)
    escalation_acknowledge(escalation=case.escalations.get(), by=department_head)
    walk(case, to=Step.FOLLOW_UP, by=handler, department=after_sales, person=handler)
    case_services.case_transition(
        case=case,
        to=Step.ANALYSE,
        by=handler,
        data={"satisfaction_rating": 1, "follow_up_comment": "Still loud."},
    )
    case_services.case_transition(
        case=case,
        to=Step.DECIDE,
        by=handler,
        data=step_data(Step.ANALYSE, department=after_sales, person=handler),
    )
    case_escalate_manually(case=case, by=handler, note="The customer wrote to the press.")
    review = case_refer_external(
        case=case, by=general_manager, reviewer="Arbitration", reason="Stuck."
    )
    external_review_record_outcome(review=review, by=general_manager, outcome="No finding.")
    case_refer_external(case=case, by=quality_manager, reviewer="Court", reason="Appeal.")
    case.refresh_from_db()
    assert case.escalations.count() == 5
    assert case.deadlines.count() == 8  # four milestones, two rounds

    assert query_count(client, page_url(case)) == few


def test_the_case_file_carries_every_attached_file(client, agent, quality_manager, escalated_case):
    from django.core.files.uploadedfile import SimpleUploadedFile

    pdf = b"%PDF-1.7\n" + b"0" * 32
    for _ in range(2):  # the same name twice: both kept
        case_services.case_add_note(
            case=escalated_case,
            by=agent,
            body="Invoice",
            files=[SimpleUploadedFile("invoice.pdf", pdf, content_type="application/pdf")],
        )
    client.force_login(quality_manager)

    response = client.get(action_url(escalated_case, "file"))

    bundle = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert sorted(bundle.namelist()) == [
        "attachments/01-invoice.pdf",
        "attachments/02-invoice.pdf",
        "case-file.html",
    ]
    assert bundle.read("attachments/02-invoice.pdf") == pdf
    assert 'href="attachments/01-invoice.pdf"' in bundle.read("case-file.html").decode()
