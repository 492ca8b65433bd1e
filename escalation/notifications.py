"""The outbox: notification rows are written in the transaction that causes them, then emailed
by a task queued after commit. If the broker is down the task is never queued, and if the mail
server is down the send fails: either way the row stays unsent and the next sweep (every minute)
sends it. A row is sent under its row lock and marked sent in the same transaction, so two
senders never send it twice."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.contrib.contenttypes.prefetch import GenericPrefetch
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F, Model
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from complaints.models import Case, CaseEvent, Tier, User
from complaints.selectors import case_events

from .models import Approval, Deadline, Escalation, Notification
from .sources import notification_subject, notification_subjects

log = logging.getLogger(__name__)

# After this many failed attempts a notification is given up (its error stays in the admin).
MAX_ATTEMPTS = 10


@dataclass
class ToNotify:
    """One ``notify`` to be written: a kind of email to these people about a case or a
    subject (a registered model's row)."""

    kind: str
    recipients: Iterable[User]
    case: Case | None = None
    subject: Model | None = None
    deadline: Deadline | None = None
    escalation: Escalation | None = None
    approval: Approval | None = None
    delay: timedelta | None = None


def notify(
    *,
    kind: str,
    recipients: Iterable[User],
    case: Case | None = None,
    subject: Model | None = None,
    deadline: Deadline | None = None,
    escalation: Escalation | None = None,
    approval: Approval | None = None,
    delay: timedelta | None = None,
) -> list[Notification]:
    """Queue one email per recipient (with an address), sent once the transaction commits (or,
    with ``delay``, by the first sweep after it). About a case, or about a ``subject`` of a
    model registered with ``escalation.sources.register_subject`` (a corrective action)."""
    notice = ToNotify(
        kind=kind,
        recipients=recipients,
        case=case,
        subject=subject,
        deadline=deadline,
        escalation=escalation,
        approval=approval,
        delay=delay,
    )
    return notify_many([notice])


def notify_many(notices: list[ToNotify]) -> list[Notification]:
    """``notify`` for many at once (a batch of the sweep): every row in one INSERT, and one task
    queued after the commit for those without a delay."""
    rows: list[Notification] = []
    send_now: list[bool] = []  # each row's: sent after the commit (no delay), or by a sweep
    for notice in notices:
        if (notice.case is None) == (notice.subject is None):
            raise ValueError("A notification is about a case or about a subject, not both.")
        subject = notice.subject
        subject_type = ContentType.objects.get_for_model(subject) if subject is not None else None
        due = timezone.now() + (notice.delay or timedelta())
        for person in {p.pk: p for p in notice.recipients if p.email}.values():
            rows.append(
                Notification(
                    recipient=person,
                    kind=notice.kind,
                    case=notice.case,
                    subject_type=subject_type,
                    subject_id=subject.pk if subject is not None else None,
                    deadline=notice.deadline,
                    escalation=notice.escalation,
                    approval=notice.approval,
                    next_attempt_at=due,
                )
            )
            send_now.append(notice.delay is None)
    rows = Notification.objects.bulk_create(rows)
    ids = [row.pk for row, now in zip(rows, send_now, strict=True) if now]
    if ids:
        transaction.on_commit(lambda: _enqueue(ids))
    return rows


# What the customer does is told to the case's people at most once per case every few minutes:
# a customer who writes, agrees and rates within a minute makes one email, listing all three.
CUSTOMER_ACTIVITY_DELAY = timedelta(minutes=3)


def customer_activity_notify(*, case: Case) -> list[Notification]:
    """Tell the case's handlers (its owner and responsible person; when it has none, the head
    of the department that answers for it) that the customer did something, unless an email
    about this case is already waiting to go to them: that one will list this too. Called with
    the case row locked (the customer's action), so two actions never both write one."""
    from .tiers import tier_members

    people = list(tier_members(case=case, tier=Tier.HANDLER))
    waiting = set(
        Notification.objects.filter(
            case=case,
            kind=Notification.Kind.CUSTOMER,
            sent_at__isnull=True,
            next_attempt_at__isnull=False,
            recipient__in=people,
        ).values_list("recipient_id", flat=True)
    )
    return notify(
        kind=Notification.Kind.CUSTOMER,
        case=case,
        recipients=[person for person in people if person.pk not in waiting],
        delay=CUSTOMER_ACTIVITY_DELAY,
    )


_CUSTOMER_ACTIVITY = [
    CaseEvent.Kind.CUSTOMER_MESSAGE,
    CaseEvent.Kind.STEP,
    CaseEvent.Kind.REOPENED,
    CaseEvent.Kind.UPDATED,
]


def customer_activity(row: Notification) -> list[CaseEvent]:
    """What the customer did that this email tells: their events on the case (and the cases
    merged into it) since the last such email to this person was sent, or since a little
    before this one was written."""
    previous = (
        Notification.objects.filter(
            case_id=row.case_id,
            recipient_id=row.recipient_id,
            kind=Notification.Kind.CUSTOMER,
            sent_at__isnull=False,
        )
        .exclude(pk=row.pk)
        .order_by("-sent_at")
        .values_list("sent_at", flat=True)
        .first()
    )
    since = previous or row.created_at - CUSTOMER_ACTIVITY_DELAY
    return list(
        case_events(case=row.case)
        # What the customer said and answered (not their complaint arriving, their link asked
        # for again, or a change of how they hear from us).
        .filter(by_customer=True, at__gt=since, kind__in=_CUSTOMER_ACTIVITY)
        .select_related("case")
        .order_by("at", "pk")
    )


def _enqueue(ids: list[int]) -> None:
    from .tasks import deliver_notifications

    try:
        deliver_notifications.delay(ids)
    except Exception:  # the broker is down: the sweep sends them when it runs again
        log.warning("Could not queue notifications %s; the sweep will send them.", ids)


def _backoff(attempts: int) -> timedelta:
    return timedelta(minutes=min(2**attempts, 60))


def message_id(row: Notification) -> str:
    """The email's Message-ID, derived from its outbox row: one sent again after a killed
    worker carries the same id, so the receiving mail system can drop the second copy."""
    return f"<heed.notification.{row.pk}@{settings.MAIL_DOMAIN}>"


def _email(row: Notification, subject: str, body: str) -> EmailMessage:
    return EmailMessage(
        subject=" ".join(subject.split()),
        body=body,
        to=[row.recipient.email],
        headers={"Message-ID": message_id(row)},
    )


def _message(row: Notification) -> EmailMessage:
    if row.subject_type_id is not None:
        with translation.override(settings.LANGUAGE_CODE):
            model = ContentType.objects.get_for_id(row.subject_type_id).model_class()
            subject, body = notification_subject(model).email(row)
        return _email(row, subject, body)
    context = {
        "row": row,
        "case": row.case,
        "activity": customer_activity(row) if row.kind == Notification.Kind.CUSTOMER else [],
        "case_url": settings.SITE_URL
        + reverse("complaints:case_detail", args=[row.case.reference]),
        "queue_url": settings.SITE_URL + reverse("escalation:queue"),
    }
    with translation.override(settings.LANGUAGE_CODE):
        subject = render_to_string("escalation/email/subject.txt", context).strip()
        body = render_to_string("escalation/email/body.txt", context)
    return _email(row, subject, body)


# Sent in small transactions: a worker killed mid-way re-sends at most this many, and the
# sweep does not wait for a commit after every single email.
CHUNK = 10


def notifications_deliver(
    *, ids: list[int] | None = None, now: datetime | None = None, batch_size: int = 100
) -> int:
    """Send the notifications that are due (or those of ``ids`` that are still unsent), each
    under its row lock, marked sent in a transaction committed every ``CHUNK`` rows. Returns
    how many were sent."""
    now = now or timezone.now()
    due = Notification.objects.filter(next_attempt_at__isnull=False)
    due = due.filter(pk__in=ids) if ids is not None else due.filter(next_attempt_at__lte=now)
    pks = list(due.order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:batch_size])
    sent = 0
    for start in range(0, len(pks), CHUNK):
        with transaction.atomic():
            rows = (
                Notification.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related(
                    "recipient",
                    "case__customer",
                    "case__owner",
                    "deadline",
                    "escalation__deadline",
                    "approval__requested_by",
                    "approval__decided_by",
                )
                # Still unsent: another sender may have taken some since the ids were read.
                .filter(pk__in=pks[start : start + CHUNK], next_attempt_at__isnull=False)
                .order_by("pk")
            )
            subjects = notification_subjects()
            if subjects:
                # One query per kind of subject in the chunk (none when all are about cases).
                rows = rows.prefetch_related(
                    GenericPrefetch("subject", [s.queryset() for s in subjects])
                )
            delivered = []
            for row in rows:
                row.attempts += 1
                try:
                    _message(row).send()
                except SoftTimeLimitExceeded:
                    raise
                except Exception as exc:  # the mail server refused or is down: try later
                    row.last_error = str(exc)[:500]
                    row.next_attempt_at = (
                        now + _backoff(row.attempts) if row.attempts < MAX_ATTEMPTS else None
                    )
                    log.warning(
                        "Notification %s not sent (attempt %s): %s", row.pk, row.attempts, exc
                    )
                    row.save(update_fields=["attempts", "last_error", "next_attempt_at"])
                else:
                    delivered.append(row.pk)
            # The chunk's sent rows marked in one statement, committed with the failures'.
            Notification.objects.filter(pk__in=delivered).update(
                attempts=F("attempts") + 1, last_error="", next_attempt_at=None, sent_at=now
            )
            sent += len(delivered)
    return sent
