"""Sending the notices: claim the pending ones that are due, mint each one's link, send it by
email or SMS, record the outcome.

Nothing is lost, little is sent twice. A notice is written in the transaction of its change;
a task queued after the commit sends it at once, and the ``conversation-outbox`` job (every
minute) sends whatever that task never got to (the broker was down, the worker died) or what
failed and is due again. No row lock is held while a mail server or an SMS provider is talked
to: a sender claims one row at a time in a short transaction
(``select_for_update(skip_locked=True)``), pushing its ``next_attempt_at`` forward by a lease
longer than a send can take, and records the outcome only while it still holds the lease. A
sender killed mid-way leaves the one row it was sending to be sent again when its lease runs
out (a minute or so): that one may go twice, none is lost, and no other row waits for it.

Each notice carries a tracking link minted for it alone, in a transaction committed before the
message leaves, so that the link in a message that went out always works (a message sent by a
sender that then died has a working link too; one that failed has its link revoked).

A provider that refuses a message for good (an invalid number, an address that does not exist)
fails it at once; anything else is tried again after 1, 2, 4 … minutes (at most an hour), up to
``MAX_ATTEMPTS``."""

from __future__ import annotations

import logging
import smtplib
import time
from datetime import datetime, timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from complaints.customer_actions import tracking_url
from complaints.models import TrackingToken, tracking_digest
from complaints.services import tracking_token_issue

from . import replies
from .models import Channel, Notice
from .render import LINK_MASK, Rendered, notice_render
from .sms import SmsError, SmsMessage, sms_send
from .sms.base import SEND_TIMEOUT

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
# A run stops claiming after RUN_BUDGET seconds (the job runs every minute: a run that overlaps
# the next is safe, only wasteful).
RUN_BUDGET = 45.0
ERROR_LENGTH = 500


def lease() -> timedelta:
    """How long a sender holds a row: longer than a send can last (the mail server's timeout
    for the connection and again for the answer, or the SMS provider's), and what a row left by
    a killed sender waits before another sends it."""
    email_timeout = settings.MAILERS["default"].get("OPTIONS", {}).get("timeout") or 20
    return timedelta(seconds=2 * max(email_timeout, SEND_TIMEOUT) + 20)


class Refused(Exception):
    """The provider refused the message for good: trying again cannot help."""


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: 1, 2, 4 … minutes, at most an hour."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 60))


def notices_enqueue_on_commit(ids: list[int]) -> None:
    transaction.on_commit(lambda: _enqueue(ids))


def _enqueue(ids: list[int]) -> None:
    from .tasks import deliver_notices

    try:
        deliver_notices.delay(ids)
    except Exception:  # the broker is down: the outbox job sends them
        log.warning("Could not queue notices %s; the outbox job will send them.", ids)


def _claim(*, ids: list[int] | None) -> tuple[Notice | None, datetime]:
    """The next due notice for this sender: locked (skipping a row another sender is claiming),
    leased, committed."""
    now = timezone.now()
    until = now + lease()
    with transaction.atomic():
        # The partial index notice_due: pending notices by when they are due.
        due = Notice.objects.filter(status=Notice.Status.PENDING, next_attempt_at__lte=now)
        if ids is not None:
            due = due.filter(pk__in=ids)
        pk = (
            due.select_for_update(skip_locked=True)
            .order_by("next_attempt_at", "pk")
            .values_list("pk", flat=True)
            .first()
        )
        if pk is None:
            return None, until
        Notice.objects.filter(pk=pk).update(next_attempt_at=until)
    # What its text needs with it (the case it tells of, its customer, the event); the case
    # merged into another and the writer of a message are read only when there is one.
    row = Notice.objects.select_related("case__customer", "customer", "event__actor").get(pk=pk)
    return row, until


def _held(row: Notice, until: datetime) -> QuerySet[Notice]:
    """The row, if this sender still holds its lease."""
    return Notice.objects.filter(pk=row.pk, status=Notice.Status.PENDING, next_attempt_at=until)


def _email(row: Notice, rendered: Rendered) -> str:
    """Send one email; its Reply-To and Message-ID lead the customer's answer to the case."""
    message_id = replies.message_id(row.case, notice=row.pk)
    message = EmailMessage(
        subject=rendered.subject,
        body=rendered.text,
        to=[row.address],
        reply_to=[replies.reply_address(row.case)],
        headers={"Message-ID": message_id},
    )
    try:
        message.send()
    except smtplib.SMTPRecipientsRefused as exc:
        raise Refused(str(exc)) from exc
    except smtplib.SMTPResponseException as exc:
        if 500 <= exc.smtp_code < 600:  # a permanent SMTP failure: the address is no good
            raise Refused(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
        raise
    return message_id


def _sms(row: Notice, rendered: Rendered) -> str:
    message = SmsMessage(
        to=row.address, text=rendered.text, template_id=rendered.template_id, params=rendered.params
    )
    try:
        return sms_send(message)
    except SmsError as exc:
        if exc.permanent:
            raise Refused(str(exc)) from exc
        raise


def _send(row: Notice, *, until: datetime) -> bool:
    """Mint the row's link, send it, record the outcome. Returns whether it was sent."""
    with transaction.atomic():
        token = tracking_token_issue(case=row.case)
    link = tracking_url(token)
    error, permanent, provider_id, rendered = "", False, "", None
    try:
        rendered = notice_render(notice=row, link=link)
        provider_id = _email(row, rendered) if row.channel == Channel.EMAIL else _sms(row, rendered)
    except SoftTimeLimitExceeded:
        raise
    except Refused as exc:
        error, permanent = str(exc) or type(exc).__name__, True
    except Exception as exc:  # the server is down, refused for now, timed out …
        error = f"{type(exc).__name__}: {exc}"
    now = timezone.now()
    if not error:
        # Whoever holds the lease now: sent is final.
        Notice.objects.filter(pk=row.pk, status=Notice.Status.PENDING).update(
            status=Notice.Status.SENT,
            sent_at=now,
            next_attempt_at=None,
            attempts=F("attempts") + 1,
            last_error="",
            provider_id=provider_id[:255],
            subject=rendered.subject[:255],
            text=rendered.text.replace(link, settings.SITE_URL + LINK_MASK),
        )
        return True
    # The link went nowhere: it opens nothing.
    TrackingToken.objects.filter(digest=tracking_digest(token)).update(revoked_at=now)
    attempts = row.attempts + 1
    gave_up = permanent or attempts >= MAX_ATTEMPTS
    _held(row, until).update(
        attempts=attempts,
        status=Notice.Status.FAILED if gave_up else Notice.Status.PENDING,
        next_attempt_at=None if gave_up else now + backoff(attempts),
        last_error=error[:ERROR_LENGTH],
    )
    log.warning(  # not the address: it is the customer's
        "Notice %s (%s by %s) not sent (attempt %s%s): %s",
        row.pk,
        row.kind,
        row.channel,
        attempts,
        ", given up" if gave_up else "",
        error,
    )
    return False


def notices_deliver(*, ids: list[int] | None = None, batch_size: int = 500) -> int:
    """Send the pending notices that are due (of ``ids`` only, if given), oldest due first, each
    by one sender only. Returns how many were sent."""
    started = time.monotonic()
    sent = claimed = 0
    while claimed < batch_size and time.monotonic() - started < RUN_BUDGET:
        row, until = _claim(ids=ids)
        if row is None:
            break
        claimed += 1
        sent += _send(row, until=until)
    return sent
