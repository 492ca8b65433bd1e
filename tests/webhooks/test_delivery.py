"""Sending: each delivery is posted signed to a real local receiver; 2xx is delivered, anything
else is retried with a growing delay until it is given up, and nothing is lost while the
receiver or the broker is down. Time is moved with time-machine, never slept."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

import pytest

from complaints.models import Step
from webhooks.delivery import deliveries_send
from webhooks.models import Delivery, Event
from webhooks.signing import verify
from webhooks.tasks import deliver, retry

from ..factories import receive_case, walk
from ..outages import closed_port
from .conftest import SubscriptionFactory, ping_delivery, reload

pytestmark = pytest.mark.django_db


def minutes_until_next_attempt(row: Delivery, now) -> float:
    return (row.next_attempt_at - now).total_seconds() / 60


# ---------------------------------------------------------------- what is sent


def test_a_delivery_posts_the_stored_payload_signed_with_the_subscriptions_secret(
    subscription, receiver, agent, now
):
    receive_case(by=agent)
    row = Delivery.objects.get()

    assert deliveries_send() == 1

    [request] = receiver.requests
    assert request.path == "/hooks/heed"
    assert request.json == row.payload
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == "Heed-Webhooks/1"
    assert request.headers["heed-event"] == "case.created"
    assert request.headers["heed-delivery"] == str(row.event_id) == row.payload["id"]
    signature = request.headers["heed-signature"]
    assert signature.startswith(f"t={int(now.timestamp())},v1=")
    assert verify(subscription.secret, request.body, signature)
    assert not verify(subscription.secret, request.body.replace(b"receive", b"closed"), signature)
    assert not verify("not-the-secret", request.body, signature)
    assert not verify(subscription.secret, request.body, signature, now=now.timestamp() + 301)
    reload(row)
    assert (row.status, row.attempts, row.last_status_code, row.last_error) == (
        Delivery.Status.DELIVERED,
        1,
        200,
        "",
    )
    assert (row.delivered_at, row.next_attempt_at) == (now, None)


def test_a_delivered_row_is_not_sent_again(subscription, receiver, agent):
    receive_case(by=agent)

    deliveries_send()
    deliveries_send()
    retry.apply()

    assert len(receiver.requests) == 1


def test_each_event_is_its_own_request(subscription, receiver, agent, handler, after_sales):
    case = receive_case(by=agent)
    walk(case, to=Step.ANALYSE, by=agent, department=after_sales, person=handler)

    deliveries_send()

    events = sorted(r.headers["heed-event"] for r in receiver.requests)
    assert events == ["case.created", "case.step_changed", "case.step_changed"]
    assert len(set(receiver.event_ids())) == 3


# ---------------------------------------------------------------- a receiver that fails


def test_a_receiver_answering_500_gets_it_again_later_with_a_growing_delay(
    subscription, receiver, time_machine, now
):
    row = ping_delivery(subscription)
    receiver.status = 500

    deliveries_send()

    reload(row)
    assert (row.status, row.attempts, row.last_status_code) == (Delivery.Status.PENDING, 1, 500)
    assert row.last_error.startswith("HTTP 500")
    assert 1 <= minutes_until_next_attempt(row, now) <= 1.1

    deliveries_send()  # not due yet: nothing happens
    assert len(receiver.requests) == 1

    later = row.next_attempt_at
    time_machine.move_to(later, tick=False)
    deliveries_send()

    reload(row)
    assert row.attempts == 2
    assert 2 <= minutes_until_next_attempt(row, later) <= 2.2
    assert len(receiver.requests) == 2


def test_a_receiver_that_is_down_gets_everything_when_it_comes_back(
    subscription, receiver, agent, time_machine, now
):
    receiver.stop()
    receive_case(by=agent)
    row = Delivery.objects.get()

    deliveries_send()

    reload(row)
    assert (row.status, row.attempts, row.last_status_code) == (Delivery.Status.PENDING, 1, None)
    assert "ConnectionRefusedError" in row.last_error
    assert 1 <= minutes_until_next_attempt(row, now) <= 1.1

    receiver.start()
    time_machine.move_to(now + timedelta(minutes=2), tick=False)
    assert retry.apply().get() == 1

    assert receiver.event_ids() == [str(row.event_id)]
    assert reload(row).status == Delivery.Status.DELIVERED
    assert row.attempts == 2


def test_a_delivery_is_given_up_after_the_last_attempt(
    subscription, receiver, settings, time_machine, now
):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    row = ping_delivery(subscription)
    receiver.status = 503

    for hour in range(1, 6):
        deliveries_send()
        time_machine.move_to(now + timedelta(hours=7 * hour), tick=False)

    reload(row)
    assert (row.status, row.attempts, row.next_attempt_at) == (Delivery.Status.FAILED, 3, None)
    assert row.last_status_code == 503
    assert len(receiver.requests) == 3


def test_a_redirect_is_a_failure_and_is_not_followed(subscription, receiver):
    row = ping_delivery(subscription)
    receiver.status = 302
    receiver.extra_headers = {"Location": receiver.url + "/elsewhere"}

    deliveries_send()

    reload(row)
    assert (row.status, row.attempts, row.last_status_code) == (Delivery.Status.PENDING, 1, 302)
    assert [r.path for r in receiver.requests] == ["/hooks/heed"]


def test_a_receiver_that_does_not_answer_in_time_is_retried(subscription, receiver, settings):
    settings.WEBHOOK_TIMEOUT = 1
    receiver.delay = 1.5
    row = ping_delivery(subscription)

    started = time.monotonic()
    deliveries_send()

    assert time.monotonic() - started < 1.4
    reload(row)
    assert (row.status, row.attempts, row.last_status_code) == (Delivery.Status.PENDING, 1, None)
    assert "timed out" in row.last_error


def test_a_url_that_is_not_http_is_never_opened(subscription, receiver):
    row = ping_delivery(subscription)
    subscription.__class__.objects.filter(pk=subscription.pk).update(url="file:///etc/passwd")

    deliveries_send()

    reload(row)
    assert (row.status, row.attempts) == (Delivery.Status.PENDING, 1)
    assert row.last_error == "Not an http or https URL."


def test_one_receiver_that_is_down_does_not_hold_up_the_others(subscription, receiver, now):
    down = SubscriptionFactory(name="down", url=f"http://127.0.0.1:{closed_port()}/hooks")
    down_rows = [ping_delivery(down) for _ in range(3)]
    up_rows = [ping_delivery(subscription) for _ in range(2)]

    assert deliveries_send() == 2

    assert all(reload(row).status == Delivery.Status.DELIVERED for row in up_rows)
    tried, *waiting = [reload(row) for row in down_rows]
    assert tried.attempts == 1 and tried.last_error
    # Its other rows wait a minute without an attempt counted, not a timeout each.
    for row in waiting:
        assert (row.status, row.attempts, row.next_attempt_at) == (
            Delivery.Status.PENDING,
            0,
            now + timedelta(minutes=1),
        )


# ---------------------------------------------------------------- after the commit


def test_after_the_commit_a_task_sends_the_new_rows_at_once(
    subscription, receiver, agent, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr(deliver, "delay", queued.append)

    with django_capture_on_commit_callbacks(execute=True):
        receive_case(by=agent)

    assert queued == [[Delivery.objects.get().pk]]
    assert deliver.apply(args=queued).get() == 1
    assert deliver.apply(args=queued).get() == 0  # redelivered (acks_late): sent once
    assert len(receiver.requests) == 1


def test_a_delivery_the_broker_could_not_queue_is_sent_by_the_retry_job(
    subscription, receiver, agent, broker_down, django_capture_on_commit_callbacks, caplog
):
    started = time.monotonic()

    with (
        caplog.at_level(logging.WARNING, logger="webhooks.outbox"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        case = receive_case(by=agent)

    assert time.monotonic() - started < 10  # the publish gave up; it did not hang
    assert "Could not queue webhook deliveries" in caplog.text
    case.refresh_from_db()  # the change committed
    row = Delivery.objects.get(case=case, event=Event.CASE_CREATED)
    assert (row.status, row.attempts) == (Delivery.Status.PENDING, 0)
    assert receiver.requests == []

    assert retry.apply().get() == 1

    assert receiver.event_ids() == [str(row.event_id)]
    assert reload(row).status == Delivery.Status.DELIVERED
