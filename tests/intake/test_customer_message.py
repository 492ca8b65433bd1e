"""The customer writes on their case: it is on both timelines, restarts a stopped clock and tells
the owner; nothing else about the case changes."""

import pytest

from complaints.customer_actions import case_customer_message
from complaints.errors import InvalidInput, TransitionRefused
from complaints.models import CaseEvent, Step
from escalation.models import Notification, Pause, Policy
from escalation.services import case_pause

from ..factories import receive_case, walk

pytestmark = pytest.mark.django_db


def test_a_customer_message_is_on_the_timeline_for_both_sides(case):
    event = case_customer_message(case=case, body="Here are the photos you asked for.")

    event.refresh_from_db()
    assert (event.kind, event.actor, event.customer_visible) == (
        CaseEvent.Kind.CUSTOMER_MESSAGE,
        None,
        True,
    )
    assert event.note == "Here are the photos you asked for."


def test_the_owner_is_told_that_the_customer_wrote(case, agent):
    case_customer_message(case=case, body="Any news?")

    [notification] = Notification.objects.filter(case=case, kind=Notification.Kind.CUSTOMER)
    assert notification.recipient == agent


def test_an_empty_message_is_refused(case):
    with pytest.raises(InvalidInput) as refused:
        case_customer_message(case=case, body="   ")

    assert "body" in refused.value.fields
    assert not case.events.filter(kind=CaseEvent.Kind.CUSTOMER_MESSAGE).exists()


def test_a_message_longer_than_the_timeline_holds_is_refused(case):
    with pytest.raises(InvalidInput):
        case_customer_message(case=case, body="x" * 5001)


def test_a_closed_case_takes_no_more_messages(case, agent, after_sales, handler):
    walk(case, to=Step.CLOSED, by=agent, department=after_sales, person=handler)

    with pytest.raises(TransitionRefused, match="closed"):
        case_customer_message(case=case, body="One more thing.")


def test_the_customers_message_restarts_a_stopped_clock(agent):
    Policy.objects.create(name="Waits", category="service_process", pausable_milestones=["decided"])
    case = receive_case(by=agent, category="service_process")
    pause = case_pause(case=case, by=agent, reason=Pause.Reason.CUSTOMER, note="Photos, please.")

    case_customer_message(case=case, body="Photos attached.")

    pause.refresh_from_db()
    assert pause.ended_at is not None
    assert case.events.filter(kind=CaseEvent.Kind.RESUMED, actor=None).exists()


def test_the_customers_message_changes_nothing_else(case):
    before = (case.step, case.version, case.owner_id, case.tier)

    case_customer_message(case=case, body="Hello.")

    case.refresh_from_db()
    assert (case.step, case.version, case.owner_id, case.tier) == before


# ---------------------------------------------------------------- from the tracking page


@pytest.fixture
def tracked(client, agent):
    """A case and a customer's browser that has opened its tracking link."""
    from complaints import services

    from ..factories import CustomerFactory

    received = services.case_receive(
        by=agent,
        customer=CustomerFactory(),
        channel="web_form",
        category="product_quality",
        description="The kettle leaks.",
        desired_outcome="A new kettle.",
    )
    assert client.get(f"/t/{received.tracking_token}").status_code == 303
    return received.case


def test_the_customer_writes_from_the_tracking_page(client, tracked):
    response = client.post("/t/message/", {"body": "It leaks <b>again</b>."}, follow=True)

    assert response.redirect_chain == [("/t/", 303)]
    page = response.content.decode()
    assert "your message is on your complaint" in page
    assert "It leaks &lt;b&gt;again&lt;/b&gt;." in page
    assert tracked.events.filter(kind=CaseEvent.Kind.CUSTOMER_MESSAGE, actor=None).count() == 1


def test_an_empty_message_from_the_page_is_refused_and_says_why(client, tracked):
    response = client.post("/t/message/", {"body": ""})

    assert response.status_code == 400
    assert "Write something first." in response.content.decode()
    assert not tracked.events.filter(kind=CaseEvent.Kind.CUSTOMER_MESSAGE).exists()


def test_writing_needs_the_tracking_cookie(client, tracked):
    client.cookies.clear()

    response = client.post("/t/message/", {"body": "Hello"})

    assert response.status_code == 404
    assert not tracked.events.filter(kind=CaseEvent.Kind.CUSTOMER_MESSAGE).exists()


def test_writing_needs_the_csrf_token(tracked, agent):
    from django.test import Client

    from complaints.customer_actions import case_tracking_renew

    browser = Client(enforce_csrf_checks=True)
    token = case_tracking_renew(case=tracked, by=agent)
    browser.get(f"/t/{token}")

    assert browser.post("/t/message/", {"body": "Hello"}).status_code == 403


def test_the_agent_sees_the_customers_message_on_the_case_page(client, tracked, agent):
    client.post("/t/message/", {"body": "Photos are on the way."})
    client.force_login(agent)

    page = client.get(f"/cases/{tracked.reference}/").content.decode()

    assert "Message from the customer" in page
    assert "Photos are on the way." in page


def test_a_closed_case_offers_no_form(client, tracked, agent, after_sales, handler):
    walk(tracked, to=Step.CLOSED, by=agent, department=after_sales, person=handler)

    page = client.get("/t/").content.decode()

    assert 'data-testid="tracking-write"' not in page
    assert client.post("/t/message/", {"body": "Hi"}).status_code == 400
