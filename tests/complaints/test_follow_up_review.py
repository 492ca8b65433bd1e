"""The customer-service supervisor's review of follow-ups (客户服务主管审阅): a quality manager
reads a sample of the cases closed lately — however they ended — and marks each follow-up
reviewed, with a comment for the staff (``services.case_follow_up_review``).

Once per closing of a case (a case taken up again and closed again is followed up, and
reviewed, again); closed cases only; quality managers and administrators only; on the timeline,
never shown to the customer. The page (/follow-ups/), the case page and the API alike."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from complaints import customer_actions, services
from complaints.errors import AccessDenied, InvalidInput, TransitionRefused
from complaints.models import Case, CaseEvent, Ending, FollowUpReview, Step
from complaints.roles import Role

from ..api.conftest import case_url, error
from ..factories import receive, receive_case, staff, walk
from .test_endings import end, page, section

pytestmark = pytest.mark.django_db

COMMENT = "Good call: the agent phoned twice and wrote down what the customer said."
REVIEWS = reverse("complaints:follow_up_reviews")


# ---------------------------------------------------------------- helpers


def rated(agent, department, handler) -> Case:
    """A case walked through every step and closed with the customer's rating."""
    case = receive_case(by=agent)
    return walk(case, to=Step.CLOSED, by=agent, department=department, person=handler)


def withdrawn(agent) -> Case:
    """A case closed at Receive as withdrawn by the customer."""
    case = receive_case(by=agent)
    end(case, agent, Ending.WITHDRAWN, note="She withdrew it on the phone.")
    case.refresh_from_db()
    return case


def closed_days_ago(case: Case, days: int) -> Case:
    Case.objects.filter(pk=case.pk).update(closed_at=timezone.now() - timedelta(days=days))
    case.refresh_from_db()
    return case


def review(case: Case, by, comment: str = COMMENT) -> FollowUpReview:
    return services.case_follow_up_review(case=case, by=by, comment=comment)


def listed(client, user, **query) -> str:
    client.force_login(user)
    response = client.get(REVIEWS, query)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def administrator(db):
    return staff(Role.ADMINISTRATOR, username="admin-person")


# ---------------------------------------------------------------- the service


def test_a_quality_manager_reviews_a_closed_follow_up_once_on_the_timeline(
    agent, after_sales, handler, quality_manager
):
    case = rated(agent, after_sales, handler)

    made = review(case, quality_manager)

    assert (made.case, made.reviewed_by, made.comment) == (case, quality_manager, COMMENT)
    assert made.closed_at == case.closed_at
    event = case.events.get(kind=CaseEvent.Kind.REVIEWED)
    assert (event.actor, event.note, event.customer_visible) == (quality_manager, COMMENT, False)
    with pytest.raises(TransitionRefused, match="reviewed already"):
        review(case, quality_manager, "Again.")
    assert FollowUpReview.objects.filter(case=case).count() == 1
    assert case.events.filter(kind=CaseEvent.Kind.REVIEWED).count() == 1


def test_an_administrator_may_review_too(agent, administrator):
    case = withdrawn(agent)

    assert review(case, administrator, "").comment == ""


@pytest.mark.parametrize(
    "persona", ["agent", "handler", "department_head", "general_manager", "outsider"]
)
def test_no_one_else_reviews_follow_ups(request, persona, agent):
    case = withdrawn(agent)

    with pytest.raises(AccessDenied, match="customer-service supervisor"):
        review(case, request.getfixturevalue(persona))

    assert not FollowUpReview.objects.exists()
    assert not case.events.filter(kind=CaseEvent.Kind.REVIEWED).exists()


def test_an_open_case_has_no_follow_up_to_review(agent, quality_manager):
    case = receive_case(by=agent)

    with pytest.raises(TransitionRefused, match="Only a closed case"):
        review(case, quality_manager)

    assert not FollowUpReview.objects.exists()


def test_an_over_long_comment_is_refused_and_nothing_is_written(agent, quality_manager):
    case = withdrawn(agent)

    with pytest.raises(InvalidInput) as caught:
        review(case, quality_manager, "x" * 2001)

    assert "comment" in caught.value.fields
    assert not FollowUpReview.objects.exists()
    assert not case.events.filter(kind=CaseEvent.Kind.REVIEWED).exists()


def test_a_case_taken_up_again_and_closed_again_is_reviewed_again(agent, quality_manager):
    case = withdrawn(agent)
    first = review(case, quality_manager, "Withdrawal well recorded.")
    customer_actions.case_customer_message(case=case, body="It broke again, please come back.")
    case.refresh_from_db()
    assert case.step == Step.RECEIVE

    with pytest.raises(TransitionRefused, match="Only a closed case"):
        review(case, quality_manager)
    end(case, agent, Ending.WITHDRAWN, note="Withdrawn again: the shop swapped it.")
    case.refresh_from_db()
    second = review(case, quality_manager, "Second closing checked.")

    assert second.closed_at == case.closed_at != first.closed_at
    assert FollowUpReview.objects.filter(case=case).count() == 2


# ---------------------------------------------------------------- the supervisor's page


def test_the_page_lists_closed_follow_ups_not_reviewed_with_how_they_ended(
    client, agent, after_sales, handler, quality_manager
):
    happy = rated(agent, after_sales, handler)
    gone = withdrawn(agent)
    done = withdrawn(agent)
    review(done, quality_manager)
    still_open = receive_case(by=agent)

    html = listed(client, quality_manager)

    assert happy.reference in html and gone.reference in html
    assert f'href="/cases/{done.reference}/"' in section(html, "follow-up-latest")
    cards = [card.split("</article>")[0] for card in html.split('data-testid="follow-up"')[1:]]
    assert len(cards) == 2
    assert done.reference not in "".join(cards)
    assert still_open.reference not in html
    assert "Rated by the customer" in html and "rated 5/5" in html and "Happy." in html
    assert "Withdrawn by the customer" in html
    assert "1 of the 3 follow-ups closed in the last 30 days reviewed." in html


def test_the_page_samples_by_ending_and_by_period(
    client, agent, after_sales, handler, quality_manager
):
    happy = rated(agent, after_sales, handler)
    gone = withdrawn(agent)
    old = closed_days_ago(withdrawn(agent), 40)

    only_withdrawn = listed(client, quality_manager, ending=Ending.WITHDRAWN)
    quarter = listed(client, quality_manager, days=90)
    nonsense = listed(client, quality_manager, days=12345, ending="lost")

    assert gone.reference in only_withdrawn and happy.reference not in only_withdrawn
    assert old.reference not in only_withdrawn
    assert "0 of the 1 follow-up closed in the last 30 days reviewed." in only_withdrawn
    assert old.reference in quarter and "the last 90 days" in quarter
    # What the page does not know falls back to its defaults: the last 30 days, every ending.
    assert happy.reference in nonsense and gone.reference in nonsense
    assert old.reference not in nonsense


def test_marking_reviewed_from_the_page_returns_to_the_same_sample(client, agent, quality_manager):
    case = withdrawn(agent)
    client.force_login(quality_manager)

    response = client.post(
        reverse("complaints:case_follow_up_review", args=[case.reference]),
        {"comment": COMMENT, "sample": "ending=withdrawn&days=7"},
    )

    assert response.status_code == 302
    assert response["Location"] == f"{REVIEWS}?ending=withdrawn&days=7"
    assert FollowUpReview.objects.get(case=case).comment == COMMENT
    html = client.get(response["Location"]).content.decode()
    assert f"The follow-up of {case.reference} is reviewed." in html
    assert 'data-testid="follow-up-none"' in html


def test_a_refused_review_says_why_and_writes_nothing(client, agent, quality_manager):
    case = withdrawn(agent)
    review(case, quality_manager)
    client.force_login(quality_manager)

    again = client.post(
        reverse("complaints:case_follow_up_review", args=[case.reference]),
        {"comment": "Twice?", "sample": ""},
        follow=True,
    )
    too_long = client.post(
        reverse("complaints:case_follow_up_review", args=[case.reference]),
        {"comment": "x" * 2001},
        follow=True,
    )

    assert "This follow-up has been reviewed already." in again.content.decode()
    assert "at most 2000 characters" in too_long.content.decode()
    assert FollowUpReview.objects.filter(case=case).count() == 1


@pytest.mark.parametrize("persona", ["agent", "handler", "department_head", "general_manager"])
def test_others_are_refused_the_page_and_the_review(client, request, persona, agent):
    case = withdrawn(agent)
    client.force_login(request.getfixturevalue(persona))

    shown = client.get(REVIEWS)
    posted = client.post(
        reverse("complaints:case_follow_up_review", args=[case.reference]), {"comment": "x"}
    )

    assert shown.status_code == 403
    assert posted.status_code == 403
    assert not FollowUpReview.objects.exists()


def test_the_page_reads_the_same_number_of_queries_for_more_cases(client, agent, quality_manager):
    for _ in range(2):
        review(withdrawn(agent), quality_manager)
        withdrawn(agent)
    client.force_login(quality_manager)
    with CaptureQueriesContext(connection) as few:
        client.get(REVIEWS)
    for _ in range(4):
        review(withdrawn(agent), quality_manager)
        withdrawn(agent)
    with CaptureQueriesContext(connection) as more:
        response = client.get(REVIEWS)

    assert response.content.decode().count('data-testid="follow-up"') == 6
    assert len(more) == len(few)


def test_the_reports_link_the_page_for_those_who_review(client, quality_manager, department_head):
    client.force_login(quality_manager)
    mine = client.get(reverse("reporting:dashboard")).content.decode()
    client.force_login(department_head)
    theirs = client.get(reverse("reporting:dashboard")).content.decode()

    assert 'data-testid="follow-up-review-link"' in mine
    assert 'data-testid="follow-up-review-link"' not in theirs


# ---------------------------------------------------------------- the case page


def test_the_case_page_offers_the_review_then_shows_it(client, agent, quality_manager):
    case = withdrawn(agent)

    before = page(client, quality_manager, case)
    agents_view = page(client, agent, case)
    client.force_login(quality_manager)
    response = client.post(
        reverse("complaints:case_follow_up_review", args=[case.reference]), {"comment": COMMENT}
    )
    after = page(client, quality_manager, case)

    assert 'data-testid="follow-up-review"' in before
    assert 'data-testid="follow-up-review"' not in agents_view
    assert response["Location"] == reverse("complaints:case_detail", args=[case.reference])
    assert 'data-testid="follow-up-review"' not in after
    shown = section(after, "follow-up-reviewed")
    assert "Follow-up reviewed by" in shown and COMMENT in shown
    assert "Follow-up reviewed" in page(client, agent, case)  # the timeline, for the staff


def test_the_customer_never_sees_the_review(client, agent, quality_manager):
    received = receive(by=agent)
    end(received.case, agent, Ending.WITHDRAWN, note="She withdrew it.")
    review(received.case, quality_manager)

    assert client.get(f"/t/{received.tracking_token}").status_code == 303
    html = client.get("/t/").content.decode()

    assert "Withdrawn" in html or "withdrew" in html.lower()
    assert COMMENT not in html and "reviewed" not in html.lower()


# ---------------------------------------------------------------- the API


def test_the_api_reviews_once_and_lists_the_reviews(api, agent, quality_manager):
    case = withdrawn(agent)
    supervisor = api(quality_manager)
    url = case_url(case, "follow-up-reviews")

    made = supervisor.post(url, {"comment": COMMENT}, format="json")
    again = supervisor.post(url, {"comment": "Again"}, format="json")
    read = supervisor.get(url)

    assert made.status_code == 201, made.content
    assert made.json()["reviewed_by"] == quality_manager.username
    assert made.json()["comment"] == COMMENT
    assert "reviewed already" in error(again, 409, "refused")["message"]
    assert [row["comment"] for row in read.json()["results"]] == [COMMENT]


def test_the_api_refuses_others_and_open_cases(api, agent, quality_manager):
    closed = withdrawn(agent)
    still_open = receive_case(by=agent)

    by_agent = api(agent).post(case_url(closed, "follow-up-reviews"), {}, format="json")
    read_by_agent = api(agent).get(case_url(closed, "follow-up-reviews"))
    on_open = api(quality_manager).post(
        case_url(still_open, "follow-up-reviews"), {}, format="json"
    )
    unknown_field = api(quality_manager).post(
        case_url(closed, "follow-up-reviews"), {"rating": 5}, format="json"
    )

    error(by_agent, 403, "permission_denied")
    assert read_by_agent.status_code == 403
    assert "Only a closed case" in error(on_open, 409, "refused")["message"]
    error(unknown_field, 400, "invalid")
    assert not FollowUpReview.objects.exists()
