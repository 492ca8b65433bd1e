"""A sender holds each row only while its lease runs; it renews the lease right before the
POST, and a row another sender has taken meanwhile (its lease ran out while earlier rows of
the chunk were slow) is left to that sender, never posted twice."""

from __future__ import annotations

from datetime import timedelta

from webhooks import delivery
from webhooks.delivery import deliveries_send
from webhooks.models import Delivery

from .conftest import ping_delivery, reload


def test_a_row_taken_by_another_sender_meanwhile_is_not_posted(subscription, now, monkeypatch):
    first, second = ping_delivery(subscription), ping_delivery(subscription)
    posted = []

    def post(*, url, body, headers):
        posted.append(headers["Heed-Delivery"])
        # While this POST was slow, the claim's lease ran out and another sender took the
        # second row: its lease is now theirs.
        Delivery.objects.filter(pk=second.pk).update(next_attempt_at=now + timedelta(hours=1))
        return 200, ""

    monkeypatch.setattr(delivery, "post", post)

    assert deliveries_send() == 1
    assert posted == [str(first.event_id)]
    assert reload(second).status == Delivery.Status.PENDING


def test_each_row_is_held_for_its_own_post_when_it_is_sent(subscription, now, monkeypatch):
    row = ping_delivery(subscription)
    held = []

    def post(*, url, body, headers):
        held.append(Delivery.objects.get(pk=row.pk).next_attempt_at)
        return 200, ""

    monkeypatch.setattr(delivery, "post", post)
    deliveries_send()

    assert held == [now + delivery.row_lease()]
