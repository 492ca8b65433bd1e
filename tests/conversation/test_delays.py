"""The pages say what is delayed while sending is behind (the broker, the worker or the mail
service away, issue 15): every staff page, in the header's one counting query, how many messages
to customers and emails to staff are late; the customer's tracking page, and its JSON, that a
message to them about this complaint is late on its way. Late is one rule
(``conversation.models.late_q``): due ``READY_OUTBOX_MAX_AGE`` ago and still unsent — one just
written, or waiting out a retry's backoff, is not."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from rest_framework.test import APIClient

from complaints import services
from conversation.models import Notice
from escalation.models import Notification

from ..factories import CustomerFactory, receive

pytestmark = pytest.mark.django_db

BANNER = 'data-testid="delayed-banner"'
TRACKING_NOTE = 'data-testid="tracking-delayed"'


def banner(client, user) -> str:
    """The delayed banner of the user's My cases page ("" when there is none)."""
    client.force_login(user)
    response = client.get(reverse("complaints:my_cases"))
    assert response.status_code == 200
    match = re.search(rf"<p [^>]*{BANNER}>.*?</p>", response.content.decode(), re.DOTALL)
    return " ".join(match.group(0).split()) if match else ""


def due(rows, *, ago: timedelta) -> None:
    rows.update(next_attempt_at=timezone.now() - ago)


@pytest.fixture
def received(agent):
    return receive(by=agent, customer=CustomerFactory(email="li.na@example.com"))


def test_staff_pages_say_how_many_messages_are_late_and_only_when_they_are(
    client, agent, quality_manager, received
):
    notices = Notice.objects.filter(case=received.case)
    assert notices.count() == 1  # the acknowledgement, waiting (no worker here)
    staff_email = Notification.objects.create(
        recipient=quality_manager, kind=Notification.Kind.WARNING, case=received.case
    )
    emails = Notification.objects.filter(pk=staff_email.pk)

    fresh = banner(client, agent)
    due(notices, ago=-timedelta(hours=1))  # waiting out a retry's backoff
    due(emails, ago=-timedelta(hours=1))
    backing_off = banner(client, agent)
    due(notices, ago=timedelta(minutes=20))
    only_notices = banner(client, agent)
    due(emails, ago=timedelta(minutes=20))
    both = banner(client, quality_manager)
    notices.update(status=Notice.Status.SENT, next_attempt_at=None, sent_at=timezone.now())
    emails.update(next_attempt_at=None, sent_at=timezone.now())
    sent = banner(client, agent)

    assert fresh == backing_off == sent == ""
    assert "Sending is behind." in only_notices
    assert "1 message to a customer is late." in only_notices
    assert "email" not in only_notices
    assert "1 message to a customer is late. 1 email to staff is late." in both
    assert "Nothing is lost" in both


def test_the_banner_is_counted_with_the_header_s_other_counts(client, agent, received):
    """No query of its own: the late messages are two more scalar subqueries of the header's
    one counting query."""
    client.force_login(agent)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("complaints:my_cases")).status_code == 200
        return len(captured)

    on_time = queries()
    due(Notice.objects.all(), ago=timedelta(minutes=20))
    late = queries()

    assert late == on_time


def test_the_banner_in_chinese(client, agent, received):
    due(Notice.objects.all(), ago=timedelta(minutes=20))
    client.force_login(agent)
    with translation.override("zh-hans"):
        response = client.get(reverse("complaints:my_cases"), HTTP_ACCEPT_LANGUAGE="zh-hans")

    page = response.content.decode()
    assert BANNER in page
    assert "Sending is behind" not in page and "is late" not in page


def test_the_tracking_page_and_its_json_say_a_message_to_the_customer_is_late(received):
    customer = Client()
    assert customer.get(f"/t/{received.tracking_token}").status_code == 303

    def page() -> str:
        response = customer.get(reverse("tracking:page"))
        assert response.status_code == 200
        return response.content.decode()

    def json_delayed() -> bool:
        response = APIClient().get(f"/api/v1/track/{received.tracking_token}/")
        assert response.status_code == 200
        return response.json()["delayed"]

    notices = Notice.objects.filter(case=received.case)
    on_time = page(), json_delayed()
    due(notices, ago=timedelta(minutes=20))
    late = page(), json_delayed()

    assert TRACKING_NOTE not in on_time[0] and on_time[1] is False
    assert TRACKING_NOTE in late[0] and late[1] is True
    assert "delayed on its way to you" in late[0]


def test_the_tracking_page_says_nothing_of_another_customer_s_late_messages(received, agent):
    """Only a late message to this customer about this complaint counts."""
    other = receive(by=agent, customer=CustomerFactory(email="someone.else@example.com"))
    due(Notice.objects.filter(case=other.case), ago=timedelta(minutes=20))
    services.case_add_note(case=received.case, by=agent, body="Noted.", customer_visible=False)

    response = APIClient().get(f"/api/v1/track/{received.tracking_token}/")

    assert response.json()["delayed"] is False
