"""Each case event writes one pending delivery per active subscription that lists it, in the
transaction of the change: a rollback writes none, a commit always has them. The payload is
the case as it was, in machine values, without the customer's contact details."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from complaints import services
from complaints.errors import TransitionRefused
from complaints.models import Step
from escalation.services import case_escalate_manually
from escalation.sweep import sweep
from webhooks.models import Delivery, Event
from webhooks.outbox import utc_iso

from ..factories import CustomerFactory, receive_case, walk
from .conftest import SubscriptionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def subscriptions(receiver):
    """One receiver per kind of interest, and one that is switched off."""
    return {
        "all": SubscriptionFactory(name="all", url=receiver.url),
        "created": SubscriptionFactory(name="created", events=[Event.CASE_CREATED]),
        "steps": SubscriptionFactory(name="steps", events=[Event.CASE_STEP_CHANGED]),
        "closed": SubscriptionFactory(name="closed", events=[Event.CASE_CLOSED]),
        "escalated": SubscriptionFactory(name="escalated", events=[Event.CASE_ESCALATED]),
        "off": SubscriptionFactory(name="off", is_active=False),
    }


def written(**filters) -> list[tuple[str, str]]:
    """(subscription, event) of every delivery written, sorted."""
    rows = Delivery.objects.filter(**filters).select_related("subscription")
    return sorted((row.subscription.name, row.event) for row in rows)


def test_a_received_case_writes_case_created_for_the_subscriptions_that_list_it(
    subscriptions, agent, now
):
    case = receive_case(by=agent)

    assert written() == [("all", "case.created"), ("created", "case.created")]
    rows = list(Delivery.objects.all())
    # One event, one id, whoever it is sent to: receivers de-duplicate on it.
    assert len({row.event_id for row in rows}) == 1
    for row in rows:
        assert (row.case, row.status, row.attempts, row.next_attempt_at) == (
            case,
            Delivery.Status.PENDING,
            0,
            now,
        )


def test_each_move_writes_case_step_changed_with_the_step_it_left(
    subscriptions, agent, handler, after_sales
):
    case = receive_case(by=agent)
    Delivery.objects.all().delete()

    walk(case, to=Step.ANALYSE, by=agent, department=after_sales, person=handler)

    assert written() == [("all", "case.step_changed")] * 2 + [("steps", "case.step_changed")] * 2
    moves = [
        (row.payload["data"]["case"]["from_step"], row.payload["data"]["case"]["step"])
        for row in Delivery.objects.filter(subscription__name="steps").order_by("pk")
    ]
    assert moves == [("receive", "listen"), ("listen", "analyse")]


def test_closing_a_case_writes_case_closed_as_well(subscriptions, agent, handler, after_sales):
    case = receive_case(by=agent)

    walk(case, to=Step.CLOSED, by=agent, department=after_sales, person=handler)

    assert written(subscription__name="closed") == [("closed", "case.closed")]
    assert len(written(subscription__name="steps")) == 7  # receive → … → closed
    closed = Delivery.objects.get(subscription__name="closed").payload["data"]["case"]
    case.refresh_from_db()
    assert (closed["step"], closed["from_step"]) == ("closed", "follow_up")
    assert closed["closed_at"] == utc_iso(case.closed_at)
    assert closed["department"] == "after-sales"


def test_an_escalation_writes_case_escalated_with_the_new_tier_and_the_reason(
    subscriptions, agent, department_head
):
    case = receive_case(by=agent)

    case_escalate_manually(case=case, by=agent, note="The customer calls the press.")

    assert written(event=Event.CASE_ESCALATED) == [
        ("all", "case.escalated"),
        ("escalated", "case.escalated"),
    ]
    data = Delivery.objects.get(subscription__name="escalated").payload["data"]
    assert data["case"]["tier"] == 1
    assert data["escalation"] == {
        "from_tier": 0,
        "to_tier": 1,
        "reason": "manual",
        "milestone": None,
    }
    assert "from_step" not in data["case"]


def test_an_overdue_case_escalated_by_the_sweep_names_the_missed_milestone(
    subscriptions, agent, handler, after_sales, department_head
):
    case = receive_case(by=agent, received_at=timezone.now() - timedelta(days=2))
    walk(case, to=Step.DECIDE, by=agent, department=after_sales, person=handler)

    sweep()

    row = Delivery.objects.get(subscription__name="escalated")
    assert row.case == case
    assert row.payload["data"]["escalation"]["reason"] == "overdue"
    assert row.payload["data"]["escalation"]["milestone"] == "decided"


def test_a_change_that_rolls_back_writes_no_delivery(subscriptions, agent):
    with pytest.raises(RuntimeError), transaction.atomic():
        receive_case(by=agent)
        assert Delivery.objects.exists()  # written inside the transaction …
        raise RuntimeError("the request fails after the case was saved")

    assert not Delivery.objects.exists()  # … and gone with it


def test_a_refused_move_writes_no_delivery(subscriptions, agent):
    case = receive_case(by=agent)
    Delivery.objects.all().delete()

    with pytest.raises(TransitionRefused):
        services.case_transition(case=case, to=Step.CLOSED, by=agent, data={})

    assert not Delivery.objects.exists()


def test_without_subscriptions_nothing_is_written(agent, handler, after_sales):
    case = receive_case(by=agent)
    walk(case, to=Step.CLOSED, by=agent, department=after_sales, person=handler)

    assert not Delivery.objects.exists()


def test_one_query_finds_the_subscriptions_of_an_event(subscriptions, agent, handler, after_sales):
    case = receive_case(by=agent)
    walk(case, to=Step.FOLLOW_UP, by=agent, department=after_sales, person=handler)

    with CaptureQueriesContext(connection) as queries:
        walk(case, to=Step.CLOSED, by=agent, department=after_sales, person=handler)

    # Closing is two events (step changed, closed) and still one look at the subscriptions.
    looked = [q for q in queries.captured_queries if 'FROM "webhooks_subscription"' in q["sql"]]
    assert len(looked) == 1


def test_the_payload_is_the_case_in_machine_values(subscriptions, agent, now):
    case = receive_case(by=agent, urgency="red", channel="email")
    case.refresh_from_db()
    row = Delivery.objects.get(subscription__name="created")

    assert case.due_at is not None  # escalation's receiver ran first
    assert row.payload == {
        "id": str(row.event_id),
        "type": "case.created",
        "created": "2026-03-02T09:00:00Z",
        "data": {
            "case": {
                "reference": case.reference,
                "step": "receive",
                "urgency": "red",
                "channel": "email",
                "category": "product_quality",
                "tier": 0,
                "owner": "agent",
                "department": None,
                "received_at": "2026-03-02T09:00:00Z",
                "due_at": utc_iso(case.due_at),
                "closed_at": None,
                "url": f"{settings.SITE_URL}/api/v1/cases/{case.reference}/",
            }
        },
    }


def test_the_payload_never_carries_the_customers_contact_details_or_tracking_token(
    subscriptions, agent
):
    customer = CustomerFactory(name="Li Na", phone="+8613800138000", email="li.na@example.com")

    received = services.case_receive(
        by=agent,
        customer=customer,
        channel="phone",
        category="product_quality",
        urgency="yellow",
        description="The drum is loud.",
        desired_outcome="A repair.",
    )

    sent = json.dumps([row.payload for row in Delivery.objects.all()])
    for secret in ["Li Na", "13800138000", "li.na@example.com", received.tracking_token]:
        assert secret not in sent
