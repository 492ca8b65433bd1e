"""Reads of the conversation: a case's notices (its timeline, the API), what the acknowledgement
went by."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Min, Q, QuerySet

from complaints.models import Case, CaseEvent, User
from escalation.models import Notification

from .models import Notice, NoticeKind, late_q


def acknowledgement_notice(*, case: Case) -> Notice | None:
    """The case's acknowledgement, unless it could not be sent (no address)."""
    return (
        Notice.objects.filter(case=case, kind=NoticeKind.ACKNOWLEDGEMENT)
        .exclude(status=Notice.Status.SKIPPED)
        .first()
    )


def acknowledgement_channel(*, case: Case, addresses: set[str]) -> str:
    """The channel the case's acknowledgement is going by, if it goes to one of ``addresses``
    (those the customer typed on the public form; "" otherwise: we never tell a stranger where
    another customer's messages go)."""
    notice = acknowledgement_notice(case=case)
    return notice.channel if notice is not None and notice.address in addresses else ""


def outboxes_unsent() -> dict[str, QuerySet]:
    """The two outboxes' unsent rows, each through its partial index on ``next_attempt_at``:
    notices to customers, emails to staff (null once sent or given up)."""
    return {
        "customer": Notice.objects.filter(status=Notice.Status.PENDING),
        "staff": Notification.objects.filter(next_attempt_at__isnull=False),
    }


def outbox_backlog(rows: QuerySet, *, now: datetime) -> tuple[int, float | None]:
    """How many of an outbox's unsent ``rows`` wait, and for how many seconds the most overdue
    one has been due (None: none is; one waiting out its retry backoff is not): what /readyz
    and /metrics report, in one query."""
    found = rows.aggregate(
        n=Count("pk"), due_since=Min("next_attempt_at", filter=Q(next_attempt_at__lte=now))
    )
    due = found["due_since"]
    return found["n"], None if due is None else (now - due).total_seconds()


def navigation_querysets(user: User) -> dict[str, QuerySet]:
    """The header's note that sending is behind (``complaints.navigation``, counted with the
    other apps' counts in one query): notices to customers and emails to staff that are late,
    as while the broker or the mail server is away. Every member of staff sees it."""
    return {
        "late_notices": Notice.objects.filter(late_q(), status=Notice.Status.PENDING),
        "late_emails": Notification.objects.filter(late_q()),
    }


def case_notices(*, case: Case) -> QuerySet[Notice]:
    """The notices about the case and the cases merged into it, oldest first."""
    return Notice.objects.filter(Q(case=case) | Q(case__merged_into=case)).order_by(
        "created_at", "pk"
    )


def notices_by_event(events: list[CaseEvent]) -> dict[int, list[Notice]]:
    """The notices each of these events caused, in one query (the timeline's extras)."""
    by_event: dict[int, list[Notice]] = {}
    if not events:
        return by_event
    for notice in Notice.objects.filter(event__in=[e.pk for e in events]).order_by("pk"):
        by_event.setdefault(notice.event_id, []).append(notice)
    return by_event
