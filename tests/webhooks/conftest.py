"""The webhooks tests' cast, on top of the shared personas: a real receiver (a local HTTP
server) and subscriptions pointing at it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import factory
import pytest

from webhooks.models import PING, Delivery, Event, Subscription

from .receiver import Receiver

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class SubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscription

    name = factory.Sequence(lambda n: f"Receiver {n}")
    url = "https://hooks.example.com/heed"
    events = factory.LazyFunction(lambda: list(Event.values))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A receiver that is up and answers 200 until told otherwise."""
    server = Receiver()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def subscription(db, receiver) -> Subscription:
    """An active subscription to every event, posting to ``receiver``."""
    return SubscriptionFactory(name="CRM", url=receiver.url)


@pytest.fixture
def now(time_machine) -> datetime:
    """Time stands still at T0 until a test moves it."""
    time_machine.move_to(T0, tick=False)
    return T0


def ping_delivery(subscription: Subscription, **fields) -> Delivery:
    """A pending delivery without a case (what "send a test ping" writes), due now unless
    ``fields`` say otherwise."""
    return Delivery.objects.create(
        subscription=subscription, event=PING, payload={"type": PING}, **fields
    )


def reload(row: Delivery) -> Delivery:
    row.refresh_from_db()
    return row
