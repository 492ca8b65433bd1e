"""At most one sender at a time per delivery: senders running at once, a task redelivered while
the retry job runs, a sender that died holding rows. Committed rows (``transaction=True``);
the test with several connections at once runs on PostgreSQL only (SQLite serialises whole-
database writes, and has no row locks to skip). The flush after each test removes what the
migrations seeded; ``tests/conftest.py`` puts it back."""

from __future__ import annotations

from datetime import timedelta

import pytest

from webhooks.delivery import _claim, _send, deliveries_send, lease
from webhooks.models import Delivery

from ..databases import postgresql_only
from ..threads import run_together
from .conftest import SubscriptionFactory, ping_delivery

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]

row_locks = postgresql_only("row locks across connections")


@pytest.mark.pg
@row_locks
def test_senders_running_at_once_send_each_delivery_exactly_once(receiver):
    subscription = SubscriptionFactory(url=receiver.url)
    rows = [ping_delivery(subscription) for _ in range(40)]
    receiver.delay = 0.01  # so that the senders' claims overlap

    def send_together(i, barrier):
        barrier.wait()
        return deliveries_send(batch_size=40)

    results, errors = run_together(4, send_together)

    assert errors == []
    assert sum(results) == 40
    assert sorted(receiver.event_ids()) == sorted(str(row.event_id) for row in rows)
    assert Delivery.objects.filter(status=Delivery.Status.DELIVERED, attempts=1).count() == 40


def test_a_row_another_sender_holds_is_not_sent_until_its_lease_runs_out(receiver, time_machine):
    subscription = SubscriptionFactory(url=receiver.url)
    row = ping_delivery(subscription)
    time_machine.move_to(row.next_attempt_at, tick=False)

    _claim(ids=None, limit=10, skip=set())  # a sender took it, then died before sending

    assert deliveries_send() == 0
    assert deliveries_send(ids=[row.pk]) == 0  # nor by the task queued after the commit
    assert receiver.requests == []

    time_machine.move_to(row.next_attempt_at + lease(), tick=False)

    assert deliveries_send() == 1
    assert receiver.event_ids() == [str(row.event_id)]


def test_a_sender_whose_lease_ran_out_does_not_overwrite_the_new_holders_result(
    receiver, time_machine
):
    subscription = SubscriptionFactory(url=receiver.url)
    row = ping_delivery(subscription)
    time_machine.move_to(row.next_attempt_at, tick=False)
    [slow], until = _claim(ids=None, limit=10, skip=set())  # a sender that hangs …
    time_machine.move_to(until + timedelta(seconds=1), tick=False)
    assert deliveries_send() == 1  # … while another takes the row and delivers it

    receiver.status = 500

    assert not _send(slow, until=until)  # the slow one's failure comes in late

    row.refresh_from_db()
    assert (row.status, row.attempts, row.next_attempt_at) == (
        Delivery.Status.DELIVERED,
        1,
        None,
    )
