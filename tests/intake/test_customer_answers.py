"""The customer answers from the tracking page: agrees or not at Confirm, rates at Follow up.
The same state machine as staff use; the customer can cause nothing else."""

import pytest

from complaints import customer_actions, services
from complaints.errors import InvalidInput, TransitionRefused
from complaints.models import CaseEvent, Step
from escalation.models import Escalation, Notification

from ..factories import CustomerFactory, walk

pytestmark = pytest.mark.django_db


@pytest.fixture
def tracked(client, agent):
    """A case the agent logged, and the customer's browser that opened its link."""
    received = services.case_receive(
        by=agent,
        customer=CustomerFactory(),
        channel="phone",
        category="product_quality",
        description="The kettle leaks.",
        desired_outcome="A new kettle.",
    )
    assert client.get(f"/t/{received.tracking_token}").status_code == 303
    return received.case


@pytest.fixture
def at(tracked, agent, after_sales, handler):
    def move(step):
        walk(tracked, to=step, by=agent, department=after_sales, person=handler)
        return tracked

    return move


def test_the_customer_agrees_at_confirm_and_the_case_moves_to_follow_up(at):
    case = at(Step.CONFIRM)

    event = customer_actions.case_customer_answer(case=case, agree=True)

    case.refresh_from_db()
    assert (case.step, case.customer_agreed) == (Step.FOLLOW_UP, True)
    assert (event.actor, event.by_customer, event.from_step) == (None, True, Step.CONFIRM)


def test_the_customer_disagrees_with_a_reason_and_the_case_goes_back_to_decide(at):
    case = at(Step.CONFIRM)

    event = customer_actions.case_customer_answer(case=case, agree=False, reason="Too little.")

    case.refresh_from_db()
    assert (case.step, case.customer_agreed, case.agreement_note) == (
        Step.DECIDE,
        False,
        "Too little.",
    )
    assert event.note == "Too little."


def test_disagreeing_needs_a_reason(at):
    case = at(Step.CONFIRM)

    with pytest.raises(InvalidInput) as refused:
        customer_actions.case_customer_answer(case=case, agree=False, reason=" ")

    assert "reason" in refused.value.fields
    case.refresh_from_db()
    assert case.step == Step.CONFIRM


@pytest.mark.parametrize("step", [Step.RECEIVE, Step.DECIDE, Step.FOLLOW_UP])
def test_the_customer_cannot_answer_when_no_decision_waits(at, step):
    case = at(step)

    with pytest.raises(TransitionRefused):
        customer_actions.case_customer_answer(case=case, agree=True)

    case.refresh_from_db()
    assert case.step == step


def test_a_satisfied_customer_closes_the_case_with_both_ratings(at):
    case = at(Step.FOLLOW_UP)

    customer_actions.case_customer_follow_up(case=case, handling=4, outcome=5, satisfied=True)

    case.refresh_from_db()
    assert (case.step, case.handling_rating, case.satisfaction_rating) == (Step.CLOSED, 4, 5)
    assert case.follow_up_satisfied is True


def test_a_dissatisfied_customer_reopens_the_case_one_tier_up(at):
    case = at(Step.FOLLOW_UP)

    customer_actions.case_customer_follow_up(
        case=case, handling=2, outcome=1, satisfied=False, comment="Still leaks."
    )

    case.refresh_from_db()
    assert (case.step, case.reopen_count, case.tier) == (Step.ANALYSE, 1, 1)
    assert case.escalations.get().reason == Escalation.Reason.DISSATISFIED
    assert case.events.get(kind=CaseEvent.Kind.REOPENED).by_customer


def test_not_satisfied_needs_a_word_on_why(at):
    case = at(Step.FOLLOW_UP)

    with pytest.raises(InvalidInput) as refused:
        customer_actions.case_customer_follow_up(case=case, handling=2, outcome=1, satisfied=False)

    assert "comment" in refused.value.fields


@pytest.mark.parametrize(("handling", "outcome"), [(0, 3), (3, 6)])
def test_ratings_outside_one_to_five_are_refused(at, handling, outcome):
    case = at(Step.FOLLOW_UP)

    with pytest.raises(InvalidInput):
        customer_actions.case_customer_follow_up(
            case=case, handling=handling, outcome=outcome, satisfied=True
        )

    case.refresh_from_db()
    assert case.step == Step.FOLLOW_UP


def test_the_customer_cannot_rate_before_follow_up(at):
    case = at(Step.CONFIRM)

    with pytest.raises(TransitionRefused):
        customer_actions.case_customer_follow_up(case=case, handling=5, outcome=5, satisfied=True)


def test_the_owner_is_told_of_the_customers_answer(at, agent):
    case = at(Step.CONFIRM)

    customer_actions.case_customer_answer(case=case, agree=True)

    assert Notification.objects.filter(
        case=case, kind=Notification.Kind.CUSTOMER, recipient=agent
    ).exists()


# ---------------------------------------------------------------- from the tracking page


def test_at_confirm_the_page_shows_the_decision_and_asks_for_an_answer(client, at):
    at(Step.CONFIRM)

    page = client.get("/t/").content.decode()

    assert 'data-testid="tracking-answer"' in page
    assert "Repair within two days." in page
    assert 'data-testid="tracking-follow-up"' not in page


def test_the_customer_agrees_from_the_page(client, at):
    case = at(Step.CONFIRM)

    response = client.post("/t/answer/", {"agree": "yes"}, follow=True)

    assert response.redirect_chain == [("/t/", 303)]
    assert "Thank you for your answer." in response.content.decode()
    case.refresh_from_db()
    assert case.step == Step.FOLLOW_UP


def test_disagreeing_from_the_page_without_a_reason_says_why_it_was_refused(client, at):
    case = at(Step.CONFIRM)

    response = client.post("/t/answer/", {"agree": "no", "reason": ""})

    assert response.status_code == 400
    assert "Please tell us why you do not agree." in response.content.decode()
    case.refresh_from_db()
    assert case.step == Step.CONFIRM


def test_the_customer_rates_from_the_page_and_the_case_closes(client, at):
    case = at(Step.FOLLOW_UP)

    response = client.post(
        "/t/follow-up/", {"handling": "5", "outcome": "4", "satisfied": "yes"}, follow=True
    )

    assert "Thank you for your rating." in response.content.decode()
    case.refresh_from_db()
    assert (case.step, case.handling_rating, case.satisfaction_rating) == (Step.CLOSED, 5, 4)


def test_a_rating_from_the_page_outside_the_scale_is_refused(client, at):
    case = at(Step.FOLLOW_UP)

    response = client.post("/t/follow-up/", {"handling": "9", "outcome": "4", "satisfied": "yes"})

    assert response.status_code == 400
    case.refresh_from_db()
    assert case.step == Step.FOLLOW_UP


def test_answering_needs_the_tracking_cookie(client, at):
    case = at(Step.CONFIRM)
    client.cookies.clear()

    assert client.post("/t/answer/", {"agree": "yes"}).status_code == 404
    case.refresh_from_db()
    assert case.step == Step.CONFIRM


def test_the_agent_sees_the_customers_answer_on_the_timeline(client, at, agent):
    case = at(Step.CONFIRM)
    client.post("/t/answer/", {"agree": "no", "reason": "I want a refund instead."})
    client.force_login(agent)

    page = client.get(f"/cases/{case.reference}/").content.decode()

    assert "The customer" in page
    assert "I want a refund instead." in page


def test_the_customer_downloads_their_case_as_one_printable_file(client, tracked, agent):
    services.case_add_note(case=tracked, by=agent, body="Internal: check batch.")
    services.case_add_note(case=tracked, by=agent, body="We will call you.", customer_visible=True)

    response = client.get("/t/download/")

    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        f'attachment; filename="complaint-{tracked.reference}.html"'
    )
    assert response["Cache-Control"] == "no-store"
    body = response.content.decode()
    assert tracked.reference in body
    assert "The kettle leaks." in body
    assert "We will call you." in body
    assert "Internal: check batch." not in body


def test_the_download_needs_the_tracking_cookie(client, tracked):
    client.cookies.clear()

    assert client.get("/t/download/").status_code == 404


def test_a_promised_date_already_passed_is_not_shown(client, tracked):
    from datetime import timedelta

    from django.utils import timezone

    tracked.__class__.objects.filter(pk=tracked.pk).update(
        due_at=timezone.now() - timedelta(hours=1)
    )

    page = client.get("/t/").content.decode()

    assert 'data-testid="tracking-promised"' not in page
