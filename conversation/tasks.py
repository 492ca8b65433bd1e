"""Celery tasks of the conversation: ids in, safe to run twice (a notice is sent only by the
sender holding it, and only while it is pending)."""

from __future__ import annotations

from celery import shared_task
from django.db import transaction

from complaints.models import Case, CaseEvent

from .models import Channel, NoticeKind
from .notices import notice_write
from .outbox import notices_deliver
from .reminders import reminders_send


@shared_task(name="conversation.deliver_notices")
def deliver_notices(ids: list[int]) -> int:
    """Send these notices now (queued after the commit that wrote them). One that fails, or
    that this task never gets to, waits for the outbox job."""
    return notices_deliver(ids=ids)


@shared_task(name="conversation.outbox")
def outbox() -> int:
    """Run by beat every minute (``conversation-outbox``): send every pending notice that is
    due, whether its first attempt failed or was never queued (the broker was down)."""
    return notices_deliver()


@shared_task(name="conversation.remind")
def remind() -> int:
    """Run by beat every 15 minutes (``conversation-reminders``): the reminders to rate that
    are due become notices."""
    return reminders_send()


@shared_task(name="intake.send_tracking_link")
def send_tracking_link(case_id: int, kind: str, language: str | None = None) -> int:
    """Before notices, intake emailed the acknowledgement and the lost link by this task. One
    still queued when Heed is upgraded becomes that notice now, sent like any other (the
    migration cannot see the broker's queue). Remove in the release after."""
    with transaction.atomic():
        case = Case.objects.select_related("customer").get(pk=case_id)
        received = case.events.filter(kind=CaseEvent.Kind.RECEIVED).first()
        if received is None:
            return 0
        notice = notice_write(
            case=case,
            event=received,
            kind=NoticeKind.LOST_LINK if kind == "lost_link" else NoticeKind.ACKNOWLEDGEMENT,
            customer=case.customer,
            prefer=Channel.EMAIL,
        )
    return notices_deliver(ids=[notice.pk])
