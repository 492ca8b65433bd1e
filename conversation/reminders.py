"""Reminding the customer to rate: 100 % follow-up (回访率100%) needs an answer, so a customer
who has not rated is reminded on each of the working days ``FOLLOW_UP_REMINDER_DAYS`` after the
case reached Follow up (2 and 4 by default), at the time of day it got there. Working days are
those of the case's time-limit policy's calendar (public holidays and China's working-day swaps,
``escalation.clock``). A rating, a message that waits for our answer, or the case moving on
stops them.

The reminder rows are kept in the transaction of the case's moves (``reminders_follow``) and
read by the ``conversation-reminders`` job through a partial index of the ones due."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from complaints.models import CaseEvent, Step
from escalation.clock import is_working_day
from escalation.policies import policy_for

from .models import NoticeKind, RatingReminder
from .notices import notice_write


def working_days_after(moment: datetime, days: int, *, country: str) -> datetime:
    """The same local time of day ``days`` working days after ``moment``."""
    local = timezone.localtime(moment)
    day, left = local.date(), days
    while left > 0:
        day += timedelta(days=1)
        if is_working_day(day, country=country):
            left -= 1
    return local.replace(year=day.year, month=day.month, day=day.day)


def _due(reminder: RatingReminder) -> datetime | None:
    """When the reminder after those sent is due, or None when all are sent."""
    days = sorted(settings.FOLLOW_UP_REMINDER_DAYS)
    if reminder.sent >= len(days):
        return None
    case = reminder.case
    country = policy_for(urgency=case.urgency, category=case.category).holiday_country
    return working_days_after(reminder.started_at, days[reminder.sent], country=country)


def reminders_follow(*, event: CaseEvent) -> None:
    """Keep the case's reminder row with its moves, in their transaction: reaching Follow up
    starts the reminders, leaving it (or a rating recorded while it waits) stops them."""
    case = event.case
    if event.kind == CaseEvent.Kind.STEP and event.to_step == Step.FOLLOW_UP:
        reminder = RatingReminder(case=case, event=event, started_at=event.at, sent=0)
        reminder.due_at = _due(reminder)
        RatingReminder.objects.update_or_create(
            case=case,
            defaults={
                "event": event,
                "started_at": event.at,
                "sent": 0,
                "due_at": reminder.due_at,
            },
        )
    elif event.from_step == Step.FOLLOW_UP or (
        event.kind == CaseEvent.Kind.UPDATED
        and (event.by_customer or "satisfaction_rating" in event.changes)
    ):
        RatingReminder.objects.filter(case=case, due_at__isnull=False).update(due_at=None)


def reminders_send(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Write the reminders that are due as notices (sent by the outbox), each in a transaction
    with its row locked so that two runs never remind twice. Returns how many were written."""
    now = now or timezone.now()
    written = 0
    due = list(
        RatingReminder.objects.filter(due_at__lte=now)
        .order_by("due_at")
        .values_list("pk", flat=True)[:batch_size]
    )
    for pk in due:
        with transaction.atomic():
            # Not the event: it is never changed, and the app's database role may only read
            # and add to the event log (FOR UPDATE needs the right to UPDATE).
            reminder = (
                RatingReminder.objects.select_for_update(
                    skip_locked=True, of=("self", "case", "case__customer")
                )
                .select_related("case__customer", "event")
                .filter(pk=pk, due_at__lte=now)
                .first()
            )
            if reminder is None:
                continue
            case = reminder.case
            # A rating of this round stopped the row already (``reminders_follow``); the case's
            # rating may be the last round's, kept when the customer was not satisfied.
            waiting = case.step == Step.FOLLOW_UP
            if waiting and case.awaiting_reply_since is None:
                notice_write(
                    case=case,
                    event=reminder.event,
                    kind=NoticeKind.RATING_REMINDER,
                    customer=case.customer,
                )
                written += 1
            reminder.sent += 1
            reminder.due_at = _due(reminder) if waiting else None
            reminder.save(update_fields=["sent", "due_at"])
    return written
