"""The customer's side of a merge: both customers' tracking links lead to the survivor, what a
customer of the other case may see of it (nothing personal of the first customer), what they
may do there, a lost link and email in after the merge."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from complaints import customer_actions, services
from complaints.errors import TransitionRefused
from complaints.merging import case_merge
from complaints.models import Attachment, Case, CaseEvent, Step
from conversation import replies
from conversation.outbox import notices_deliver
from escalation.models import Notification
from intake.tracking import case_for_lost_link, case_for_token

from ..factories import CustomerFactory, active_digests, receive, walk
from .test_inbound_email import auth, post, postmark

pytestmark = pytest.mark.django_db

PAGE = "/t/"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def visit(client: Client, token: str):
    opened = client.get(f"/t/{token}")
    assert opened.status_code == 303
    return client.get(PAGE)


def text(response) -> str:
    return response.content.decode()


@pytest.fixture
def li_na(db):
    return CustomerFactory(name="Li Na", phone="+8613800138000", email="li.na@example.com")


@pytest.fixture
def wang(db):
    return CustomerFactory(name="Wang Fang", phone="+8613900139000", email="wang@example.com")


@pytest.fixture
def first(agent, li_na):
    """Li Na's complaint of two days ago, with a message to her."""
    received = receive(
        by=agent,
        customer=li_na,
        received_at=timezone.now() - timedelta(days=2),
        description="Li Na's private words about her flat.",
    )
    services.case_add_note(
        case=received.case, by=agent, body="Dear Li Na, we call you at 5.", customer_visible=True
    )
    return received


def merged(agent, *, absorbed: services.Received, survivor: services.Received) -> None:
    case_merge(survivor=survivor.case, absorbed=absorbed.case, by=agent, note="Same drum.")


# ---------------------------------------------------------------- the same customer twice


@pytest.fixture
def again(agent, li_na, first):
    """Li Na calling again today; merged into her first complaint."""
    received = receive(by=agent, customer=li_na, description="Still loud.")
    customer_actions.case_customer_message(case=received.case, body="Here is my second note.")
    merged(agent, absorbed=received, survivor=first)
    return received


def test_the_absorbed_cases_link_opens_the_survivor(client, first, again):
    page = visit(client, again.tracking_token)

    assert page.status_code == 200
    html = text(page)
    assert f"Your complaint {first.case.reference}" in html
    assert case_for_token(again.tracking_token).survivor == first.case


def test_the_same_customer_sees_both_timelines_and_is_told_they_were_joined(client, first, again):
    html = text(visit(client, again.tracking_token))

    assert "Dear Li Na, we call you at 5." in html
    assert "Here is my second note." in html
    assert f"Your complaint {again.case.reference} is about the same matter as another one" in html


def test_the_survivors_own_link_shows_the_same(client, first, again):
    html = text(visit(client, first.tracking_token))

    assert "Here is my second note." in html
    assert f"Your complaint {first.case.reference}" in html


def test_the_same_customer_answers_at_confirm_through_either_link(
    client, agent, handler, after_sales, first, again
):
    walk(first.case, to=Step.CONFIRM, by=agent, department=after_sales, person=handler)
    visit(client, again.tracking_token)

    response = client.post("/t/answer/", {"agree": "yes", "reason": ""})

    assert response.status_code == 303
    first.case.refresh_from_db()
    assert first.case.step == Step.FOLLOW_UP


def test_the_customers_message_through_the_absorbed_link_goes_on_the_survivor(client, first, again):
    visit(client, again.tracking_token)

    client.post("/t/message/", {"body": "A third note."})

    event = CaseEvent.objects.get(note="A third note.")
    assert event.case == first.case


def test_the_tracking_page_costs_the_same_queries_with_merged_cases(agent, li_na, client):
    def page_queries(token: str) -> int:
        client.get(f"/t/{token}")
        with CaptureQueriesContext(connection) as queries:
            assert client.get(PAGE).status_code == 200
        return len(queries)

    alone = receive(by=agent, customer=li_na, received_at=timezone.now() - timedelta(days=3))
    cost_alone = page_queries(alone.tracking_token)
    survivor = receive(by=agent, customer=li_na, received_at=timezone.now() - timedelta(days=2))
    for n in range(3):
        other = receive(by=agent, customer=li_na)
        customer_actions.case_customer_message(case=other.case, body=f"Note {n}")
        merged(agent, absorbed=other, survivor=survivor)

    assert page_queries(survivor.tracking_token) == cost_alone


# ---------------------------------------------------------------- another customer's complaint


@pytest.fixture
def neighbour(agent, wang, first):
    """Wang Fang complains about the same order; merged into Li Na's complaint."""
    received = receive(by=agent, customer=wang, description="Wang's own words.")
    customer_actions.case_customer_message(
        case=received.case, body="Wang's photo.", files=[SimpleUploadedFile("w.png", PNG)]
    )
    merged(agent, absorbed=received, survivor=first)
    return received


def test_the_other_customer_sees_the_survivors_progress(
    client, agent, handler, after_sales, first, neighbour
):
    walk(first.case, to=Step.ANALYSE, by=agent, department=after_sales, person=handler)

    html = text(visit(client, neighbour.tracking_token))

    assert f"Your complaint {neighbour.case.reference}" in html
    assert 'aria-current="step">Looking into it<' in html
    assert "Now: Looking into it" in html  # the survivor's step events
    assert "Wang&#x27;s photo." in html
    assert "is about the same matter as another one" in html


def test_the_other_customer_sees_nothing_personal_of_the_first(
    client, agent, handler, after_sales, first, neighbour
):
    walk(first.case, to=Step.CONFIRM, by=agent, department=after_sales, person=handler)

    html = text(visit(client, neighbour.tracking_token))

    for private in (
        "Li Na",
        "li.na@example.com",
        "8613800138000",
        first.case.reference,
        "Li Na&#x27;s private words",
        "we call you at 5",
        "Repair within two days.",  # the survivor's plan
        'data-testid="tracking-decision"',
        'data-testid="tracking-answer"',  # her answer to give, not his
    ):
        assert private not in html, private


def test_the_other_customers_download_is_their_own_complaint(client, first, neighbour):
    visit(client, neighbour.tracking_token)

    response = client.get("/t/download/")

    html = text(response)
    assert "Wang&#x27;s own words." in html
    assert "private words" not in html and first.case.reference not in html
    assert neighbour.case.reference in response["Content-Disposition"]


def test_the_first_customer_sees_nothing_of_the_other(client, first, neighbour):
    html = text(visit(client, first.tracking_token))

    assert "Wang" not in html and neighbour.case.reference not in html
    assert "Another complaint about the same matter was joined with yours." in html
    assert "we call you at 5" in html


def test_each_customer_downloads_only_files_they_see(client, agent, first, neighbour):
    services.case_add_note(
        case=first.case,
        by=agent,
        body="Your invoice.",
        customer_visible=True,
        files=[SimpleUploadedFile("invoice.png", PNG)],
    )
    theirs = Attachment.objects.get(name="w.png")
    hers = Attachment.objects.get(name="invoice.png")

    visit(client, neighbour.tracking_token)
    assert client.get(f"/t/files/{theirs.pk}/").status_code == 200
    assert client.get(f"/t/files/{hers.pk}/").status_code == 404

    other = Client()
    visit(other, first.tracking_token)
    assert other.get(f"/t/files/{hers.pk}/").status_code == 200
    assert other.get(f"/t/files/{theirs.pk}/").status_code == 404


def test_the_other_customers_message_stays_out_of_the_first_customers_sight(
    client, agent, first, neighbour
):
    visit(client, neighbour.tracking_token)

    client.post("/t/message/", {"body": "Any news for me?"})

    event = CaseEvent.objects.get(note="Any news for me?")
    assert event.case == neighbour.case  # his own thread, shown with the survivor to staff
    assert "Any news for me?" not in text(visit(Client(), first.tracking_token))
    assert "Any news for me?" in text(visit(client, neighbour.tracking_token))
    owner_told = Notification.objects.filter(kind=Notification.Kind.CUSTOMER, case=first.case)
    assert owner_told.filter(recipient=agent).exists()
    staff_page = Client()
    staff_page.force_login(agent)
    html = text(staff_page.get(reverse("complaints:case_detail", args=[first.case.reference])))
    assert "Any news for me?" in html


def test_the_other_customer_may_not_answer_for_the_first(
    client, agent, handler, after_sales, first, neighbour
):
    walk(first.case, to=Step.CONFIRM, by=agent, department=after_sales, person=handler)
    visit(client, neighbour.tracking_token)

    page = text(client.get(PAGE))
    response = client.post("/t/answer/", {"agree": "yes", "reason": ""})  # not offered: made up

    assert 'data-testid="tracking-answer"' not in page
    assert response.status_code == 400
    with pytest.raises(TransitionRefused) as refused:
        customer_actions.case_customer_answer(case=neighbour.case, agree=True)
    assert refused.value.messages == ["We are not waiting for your answer to a decision now."]
    first.case.refresh_from_db()
    assert first.case.step == Step.CONFIRM


def test_a_renewed_survivor_link_leaves_the_other_customers_links_alone(
    agent, li_na, first, neighbour
):
    own = receive(by=agent, customer=li_na)
    merged(agent, absorbed=own, survivor=first)
    wangs = active_digests(neighbour.case)

    customer_actions.case_tracking_renew(case=first.case, by=agent)

    assert active_digests(own.case) == set()  # her other link opened this case: it stops too
    assert active_digests(neighbour.case) == wangs
    assert case_for_token(neighbour.tracking_token) is not None
    assert case_for_token(first.tracking_token) is None


# ---------------------------------------------------------------- links over time, email


def answered(case, agent) -> None:
    """Staff answer the customers' notes (a case closes only once nothing waits on us)."""
    services.case_add_note(case=case, by=agent, body="We have your notes.", customer_visible=True)


def test_the_absorbed_link_expires_with_the_survivor(
    client, agent, handler, after_sales, first, neighbour, settings
):
    answered(first.case, agent)
    walk(first.case, to=Step.CLOSED, by=agent, department=after_sales, person=handler)
    assert visit(client, neighbour.tracking_token).status_code == 200

    later = timezone.now() + timedelta(days=settings.TRACKING_LINK_DAYS_AFTER_CLOSE + 1)
    with time_machine.travel(later):
        assert client.get(f"/t/{neighbour.tracking_token}").status_code == 404


def test_a_lost_link_of_the_absorbed_case_is_sent_and_opens_the_survivor(first, neighbour):
    found = case_for_lost_link(reference=neighbour.case.reference, contact="wang@example.com")
    assert found == neighbour.case
    assert case_for_lost_link(reference=first.case.reference, contact="wang@example.com") is None

    notices_deliver()  # the acknowledgements
    mail.outbox.clear()
    customer_actions.case_link_request(case=found, channel="email")
    notices_deliver()

    [email] = mail.outbox
    assert email.to == ["wang@example.com"]
    token = re.search(r"/t/([A-Za-z0-9_-]{43})", email.body).group(1)
    assert case_for_token(token).survivor == first.case


def test_an_email_reply_naming_the_absorbed_reference_reaches_the_survivor(client, first, again):
    reply = postmark(
        sender="li.na@example.com",
        subject=f"Re: {again.case.reference}",
        text="Still loud!",
        to=replies.reply_address(again.case),
    )

    post(client, reply, **auth())

    assert Case.objects.count() == 2
    assert CaseEvent.objects.get(note="Still loud!").case == first.case


def test_an_email_from_the_other_customer_reaches_their_thread_of_the_survivor(
    client, first, neighbour
):
    reply = postmark(
        sender="wang@example.com",
        subject=f"Re: {neighbour.case.reference}",
        text="Mine too.",
        to=replies.reply_address(neighbour.case),
        message_id="second-message",
    )

    post(client, reply, **auth())

    assert Case.objects.count() == 2
    assert CaseEvent.objects.get(note="Mine too.").case == neighbour.case


def test_an_email_naming_the_absorbed_reference_after_the_survivor_closed_is_a_new_case(
    client, agent, handler, after_sales, first, again
):
    answered(first.case, agent)
    walk(first.case, to=Step.CLOSED, by=agent, department=after_sales, person=handler)
    reply = postmark(
        sender="li.na@example.com",
        subject=f"Re: {again.case.reference}",
        to=replies.reply_address(again.case),
    )

    post(client, reply, **auth())

    assert Case.objects.count() == 3
