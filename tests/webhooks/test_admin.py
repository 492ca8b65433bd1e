"""Subscriptions are managed in the admin (superusers, or staff given the permissions); the
delivery log is read-only there, with "retry now" to send rows again."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import ValidationError

from complaints.roles import Role
from webhooks.delivery import deliveries_send
from webhooks.models import PING, Delivery, Subscription
from webhooks.signing import verify

from ..factories import receive_case, staff
from .conftest import SubscriptionFactory, ping_delivery

pytestmark = pytest.mark.django_db

SUBSCRIPTIONS = "/admin/webhooks/subscription/"
DELIVERIES = "/admin/webhooks/delivery/"


@pytest.fixture
def superuser(db):
    return staff(Role.ADMINISTRATOR, username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def admin(client, superuser):
    client.force_login(superuser)
    return client


def run_action(client, url: str, action: str, rows) -> None:
    response = client.post(
        url, {"action": action, ACTION_CHECKBOX_NAME: [str(row.pk) for row in rows]}
    )
    assert response.status_code == 302, response.content.decode()[-2000:]


# ---------------------------------------------------------------- pages


def test_the_subscription_pages_load_and_show_the_secret(admin, subscription):
    assert admin.get(SUBSCRIPTIONS).status_code == 200
    assert admin.get(f"{SUBSCRIPTIONS}add/").status_code == 200
    page = admin.get(f"{SUBSCRIPTIONS}{subscription.pk}/change/")

    assert page.status_code == 200
    assert subscription.secret in page.content.decode()


def test_the_delivery_log_pages_load(admin, subscription, agent):
    case = receive_case(by=agent)
    row = Delivery.objects.get()

    listing = admin.get(DELIVERIES)
    page = admin.get(f"{DELIVERIES}{row.pk}/change/")

    assert listing.status_code == 200
    assert case.reference in listing.content.decode()
    assert page.status_code == 200
    assert str(row.event_id) in page.content.decode()
    assert admin.get(f"{DELIVERIES}add/").status_code == 403  # the log is written by Heed only


def test_the_delivery_log_is_searched_by_case_reference_or_event_id(admin, subscription, agent):
    first, second = receive_case(by=agent), receive_case(by=agent)
    row = Delivery.objects.get(case=second)

    by_reference = admin.get(DELIVERIES, {"q": first.reference}).content.decode()
    by_event = admin.get(DELIVERIES, {"q": str(row.event_id)}).content.decode()

    assert first.reference in by_reference and second.reference not in by_reference
    assert second.reference in by_event and first.reference not in by_event
    # The filters beside the search still apply.
    for status, count in [("pending", 1), ("failed", 0)]:
        filtered = admin.get(DELIVERIES, {"q": str(row.event_id), "status__exact": status})
        assert filtered.context["cl"].result_count == count


def test_staff_without_the_permissions_do_not_see_webhooks(client, quality_manager):
    quality_manager.is_staff = True
    quality_manager.save()
    client.force_login(quality_manager)

    assert client.get(SUBSCRIPTIONS).status_code == 403
    assert client.get(DELIVERIES).status_code == 403


# ---------------------------------------------------------------- subscriptions


def test_a_subscription_added_in_the_admin_gets_a_secret(admin):
    response = admin.post(
        f"{SUBSCRIPTIONS}add/",
        {
            "name": "CRM",
            "url": "https://crm.example.com/hooks/heed",
            "events": ["case.created", "case.closed"],
            "is_active": "on",
        },
    )

    assert response.status_code == 302, response.content.decode()[-2000:]
    subscription = Subscription.objects.get()
    assert subscription.events == ["case.created", "case.closed"]
    assert len(subscription.secret) >= 43  # 32 random bytes


@pytest.mark.parametrize(
    ("url", "events"),
    [
        ("ftp://crm.example.com/hooks", ["case.created"]),
        ("javascript:alert(1)", ["case.created"]),
        ("https://crm.example.com/hooks", []),
        ("https://crm.example.com/hooks", ["case.deleted"]),
    ],
)
def test_a_subscription_needs_an_http_url_and_known_events(admin, url, events):
    response = admin.post(
        f"{SUBSCRIPTIONS}add/", {"name": "CRM", "url": url, "events": events, "is_active": "on"}
    )

    assert response.status_code == 200  # the form again, with the error
    assert not Subscription.objects.exists()


@pytest.mark.parametrize(
    "events", [[], ["case.deleted"], ["case.created", "case.created"], "case.created"]
)
def test_the_model_refuses_no_unknown_or_repeated_events(events):
    with pytest.raises(ValidationError) as refused:
        SubscriptionFactory.build(events=events).full_clean()

    assert list(refused.value.message_dict) == ["events"]


def test_rotating_the_secret_signs_with_both_secrets_for_a_day(
    admin, subscription, receiver, time_machine, now
):
    old = subscription.secret

    run_action(admin, SUBSCRIPTIONS, "rotate_secret", [subscription])

    subscription.refresh_from_db()
    assert subscription.secret != old
    ping_delivery(subscription)
    deliveries_send()
    [request] = receiver.requests
    signature = request.headers["heed-signature"]
    assert verify(subscription.secret, request.body, signature)
    assert verify(old, request.body, signature)  # the receiver may still have the old one

    time_machine.move_to(subscription.previous_secret_until, tick=False)
    ping_delivery(subscription)
    deliveries_send()

    signature = receiver.requests[-1].headers["heed-signature"]
    assert verify(subscription.secret, receiver.requests[-1].body, signature)
    assert not verify(old, receiver.requests[-1].body, signature)


def test_a_test_ping_is_sent_and_logged(admin, subscription, receiver):
    run_action(admin, SUBSCRIPTIONS, "send_ping", [subscription])

    row = Delivery.objects.get()
    assert (row.event, row.case) == (PING, None)
    deliveries_send()
    assert receiver.requests[0].headers["heed-event"] == "ping"
    assert receiver.requests[0].json["data"]["subscription"]["name"] == "CRM"


# ---------------------------------------------------------------- retry now


def test_retry_now_sends_a_given_up_delivery_again_with_fresh_attempts(
    admin, subscription, receiver, now
):
    failed = ping_delivery(
        subscription,
        status=Delivery.Status.FAILED,
        next_attempt_at=None,
        attempts=12,
        last_error="HTTP 500",
    )
    delivered = ping_delivery(
        subscription, status=Delivery.Status.DELIVERED, next_attempt_at=None, attempts=1
    )

    run_action(admin, DELIVERIES, "retry_now", [failed, delivered])

    failed.refresh_from_db()
    assert (failed.status, failed.attempts, failed.next_attempt_at) == (
        Delivery.Status.PENDING,
        0,
        now,
    )
    delivered.refresh_from_db()
    assert (delivered.status, delivered.attempts) == (Delivery.Status.DELIVERED, 1)
    assert deliveries_send() == 1
    assert receiver.event_ids() == [str(failed.event_id)]


def test_retry_now_brings_a_waiting_delivery_forward(admin, subscription, now):
    waiting = ping_delivery(subscription, next_attempt_at=now.replace(hour=15), attempts=5)

    run_action(admin, DELIVERIES, "retry_now", [waiting])

    waiting.refresh_from_db()
    assert (waiting.status, waiting.attempts, waiting.next_attempt_at) == (
        Delivery.Status.PENDING,
        5,
        now,
    )
