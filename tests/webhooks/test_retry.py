"""The retry job (``webhooks.retry``, every minute): it takes only the pending deliveries that
are due, oldest first and a bounded batch per run, and its cost does not grow with the rows
that are not due."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from escalation.models import ScheduledJob
from escalation.schedule import beat_schedule
from webhooks.delivery import deliveries_send
from webhooks.models import Delivery
from webhooks.tasks import retry

from .conftest import SubscriptionFactory, ping_delivery, reload

pytestmark = pytest.mark.django_db


def test_the_retry_job_takes_only_rows_that_are_due(subscription, receiver, now):
    due = ping_delivery(subscription, next_attempt_at=now - timedelta(seconds=1))
    later = ping_delivery(subscription, next_attempt_at=now + timedelta(minutes=5), attempts=2)
    delivered = ping_delivery(
        subscription, status=Delivery.Status.DELIVERED, next_attempt_at=None, attempts=1
    )
    failed = ping_delivery(
        subscription, status=Delivery.Status.FAILED, next_attempt_at=None, attempts=12
    )
    paused = SubscriptionFactory(name="paused", url=receiver.url, is_active=False)
    of_paused = ping_delivery(paused)

    assert retry.apply().get() == 1

    assert receiver.event_ids() == [str(due.event_id)]
    assert (reload(later).attempts, later.next_attempt_at) == (2, now + timedelta(minutes=5))
    assert reload(delivered).attempts == 1
    assert (reload(failed).status, failed.attempts) == (Delivery.Status.FAILED, 12)
    # A paused subscription's deliveries wait, untouched, until it is active again.
    assert (reload(of_paused).status, of_paused.attempts) == (Delivery.Status.PENDING, 0)

    paused.is_active = True
    paused.save()
    assert retry.apply().get() == 1
    assert reload(of_paused).status == Delivery.Status.DELIVERED


def test_the_retry_jobs_queries_do_not_grow_with_rows_that_are_not_due(subscription, now):
    def queries_to_send_one_due_row() -> int:
        ping_delivery(subscription)
        with CaptureQueriesContext(connection) as queries:
            assert deliveries_send() == 1
        return len(queries)

    alone = queries_to_send_one_due_row()
    for _ in range(50):
        ping_delivery(subscription, next_attempt_at=now + timedelta(minutes=5))

    assert queries_to_send_one_due_row() == alone


def test_a_run_sends_at_most_its_batch_and_the_next_run_the_rest(subscription, receiver):
    rows = [ping_delivery(subscription) for _ in range(5)]

    assert deliveries_send(batch_size=3) == 3
    assert deliveries_send(batch_size=3) == 2

    assert sorted(receiver.event_ids()) == sorted(str(row.event_id) for row in rows)


def test_the_retry_job_runs_every_minute_and_its_row_is_seeded():
    entry = beat_schedule()["webhooks-retry"]

    assert (entry["task"], entry["schedule"]) == ("webhooks.retry", 60.0)
    job = ScheduledJob.objects.get(name="webhooks-retry")
    assert (job.task, job.every, job.enabled) == ("webhooks.retry", None, True)
