"""The outbox: each case event becomes one ``Delivery`` row per active subscription that lists
it, written in the transaction of the change itself, so a rollback writes none and a commit
always has them. A task queued after the commit sends them at once. If the broker is down that
task is never queued, and if a receiver is down the send fails: either way the row stays
pending and the retry job (``webhooks.retry``, every minute) sends it when it is due.

The payload is written with the row (the case as it was at the event, machine values only:
codes, never translated labels), never the customer's contact details or tracking token::

    {"id": "<event uuid>", "type": "case.step_changed", "created": "2026-03-02T09:00:00Z",
     "data": {"case": {"reference": "C202603-00001", "step": "analyse",
                       "from_step": "listen", ...},
              "escalation": {...},            # case.escalated only
              "absorbed": {"reference": ...}}}  # case.merged only: the case merged into "case"
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from complaints.models import Case
from escalation.models import Escalation

from .models import PING, Delivery, Event, Subscription

log = logging.getLogger(__name__)


def utc_iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z`` (what the REST API prints too)."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def case_data(*, case: Case, from_step: str | None = None) -> dict[str, Any]:
    """The case as a receiver sees it: codes and ids, no personal data of the customer."""
    data: dict[str, Any] = {
        "reference": case.reference,
        "step": case.step,
        "urgency": case.urgency,
        "channel": case.channel,
        "category": case.category,
        "tier": case.tier,
        "owner": case.owner.username if case.owner_id else None,
        "department": case.department.code if case.department_id else None,
        "received_at": utc_iso(case.received_at),
        "due_at": utc_iso(case.due_at),
        "closed_at": utc_iso(case.closed_at),
        # The case in the REST API, made absolute with SITE_URL.
        "url": settings.SITE_URL + reverse("api:case-detail", kwargs={"reference": case.reference}),
    }
    if from_step is not None:
        data["from_step"] = from_step
    return data


def escalation_data(escalation: Escalation) -> dict[str, Any]:
    return {
        "from_tier": escalation.from_tier,
        "to_tier": escalation.to_tier,
        "reason": escalation.reason,
        "milestone": escalation.milestone or None,  # none for a manual escalation
    }


def payload(
    *, event_id: uuid.UUID, event: str, created: datetime, data: dict[str, Any]
) -> dict[str, Any]:
    return {"id": str(event_id), "type": event, "created": utc_iso(created), "data": data}


@dataclass
class Publish:
    """Events of one case to publish (``cases_events_publish``)."""

    case: Case
    events: Sequence[str]
    from_step: str | None = None
    escalation: Escalation | None = None
    absorbed: Case | None = None


def case_events_publish(
    *,
    case: Case,
    events: Sequence[str],
    from_step: str | None = None,
    escalation: Escalation | None = None,
    absorbed: Case | None = None,
) -> list[Delivery]:
    """Write a pending delivery of each event for every active subscription that lists it,
    and queue their sending for after the commit. Call inside the transaction of the change:
    a receiver that is down, or a broker that is down, loses nothing."""
    return cases_events_publish([Publish(case, events, from_step, escalation, absorbed)])


def cases_events_publish(publishes: list[Publish]) -> list[Delivery]:
    """``case_events_publish`` for many cases at once (a batch of the sweep's escalations).

    One query finds the subscriptions (filtered here: JSON containment is not portable to
    SQLite, and there are few subscriptions), one INSERT writes every delivery; nothing is
    cached across requests, so a subscription edited in the admin counts from the next event
    on."""
    for publish in publishes:
        unknown = set(publish.events) - set(Event.values)
        if unknown:
            raise ValueError(f"Not a webhook event: {sorted(unknown)}")
    if not publishes:
        return []
    subscriptions = list(Subscription.objects.filter(is_active=True))
    created = timezone.now()
    rows = []
    for publish in publishes:
        case = publish.case
        for event in publish.events:
            wanted = [s for s in subscriptions if event in s.events]
            if not wanted:
                continue
            data = {"case": case_data(case=case, from_step=publish.from_step)}
            if event == Event.CASE_ESCALATED and publish.escalation is not None:
                data["escalation"] = escalation_data(publish.escalation)
            if event == Event.CASE_MERGED and publish.absorbed is not None:
                data["absorbed"] = case_data(case=publish.absorbed)
            # One id per event, shared by its subscriptions (Heed-Delivery), kept on retries.
            event_id = uuid.uuid4()
            body = payload(event_id=event_id, event=event, created=created, data=data)
            rows += [
                Delivery(
                    subscription=s,
                    event=event,
                    event_id=event_id,
                    payload=body,
                    case=case,
                    created_at=created,
                    next_attempt_at=created,
                )
                for s in wanted
            ]
    return deliveries_queue(rows)


def ping_write(*, subscription: Subscription) -> Delivery:
    """A test delivery for one subscription (the admin's "send a test ping"), sent like any
    other whether or not the subscription lists any event."""
    created, event_id = timezone.now(), uuid.uuid4()
    data = {"subscription": {"name": subscription.name, "events": list(subscription.events)}}
    [row] = deliveries_queue(
        [
            Delivery(
                subscription=subscription,
                event=PING,
                event_id=event_id,
                payload=payload(event_id=event_id, event=PING, created=created, data=data),
                created_at=created,
                next_attempt_at=created,
            )
        ]
    )
    return row


def deliveries_queue(rows: list[Delivery]) -> list[Delivery]:
    """Save the rows and send them once the transaction commits."""
    if not rows:
        return []
    rows = Delivery.objects.bulk_create(rows)
    deliveries_enqueue_on_commit([row.pk for row in rows])
    return rows


def deliveries_enqueue_on_commit(ids: list[int]) -> None:
    transaction.on_commit(lambda: _enqueue(ids))


def _enqueue(ids: list[int]) -> None:
    from .tasks import deliver

    try:
        deliver.delay(ids)
    except Exception:  # the broker is down: the retry job sends them when they are due
        log.warning("Could not queue webhook deliveries %s; the retry job will send them.", ids)
