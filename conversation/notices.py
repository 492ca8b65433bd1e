"""Which events the customer is told of, and writing their notices into the outbox.

The rule (``NOTICE_FOR``): the customer is told when

- their complaint is received (the acknowledgement) and when they ask for their link again;
- staff write them a message;
- a decision waits for their agreement (Confirm), and when we ask them to rate (Follow up);
- the case is reopened (with the new dates), and when a stopped clock restarts (a promised date
  moved later);
- the case is closed (rated, or closed without a rating as unreachable or withdrawn: each says
  so; one closed as not a complaint tells no one), and when staff renew the tracking link.

What the customer did themselves (agreed on the tracking page, rated it) tells them nothing
new, except the dates of a reopening. Each notice goes by the customer's preferred channel, in
their language; one that cannot go (no address at all, essential messages only) is written
as skipped, with why, so that the case's timeline says the customer was not told.

A notice is written in the transaction of the change it tells (``case_event_written``), so a
rolled-back change tells nobody and a committed one always has its notice; the outbox sends
it after the commit (``conversation.outbox``)."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from complaints.contact import mobile_number
from complaints.models import Case, CaseEvent, Customer, Ending, Step

from .models import ESSENTIAL, Channel, Notice, NoticeKind

# Moves the customer is told of, by the step they reach.
_STEP_NOTICES = {Step.CONFIRM: NoticeKind.DECISION, Step.FOLLOW_UP: NoticeKind.RATING}
_ENDING_NOTICES = {
    Ending.RATED: NoticeKind.CLOSED,
    Ending.UNREACHABLE: NoticeKind.CLOSED_UNREACHABLE,
    Ending.WITHDRAWN: NoticeKind.CLOSED_WITHDRAWN,
}
# Told even when the customer did it themselves: their complaint is received (the public
# form), their link asked for again, and a reopening's new dates.
_TOLD_THE_ACTOR = {NoticeKind.ACKNOWLEDGEMENT, NoticeKind.LOST_LINK, NoticeKind.REOPENED}


def notice_kind_for(event: CaseEvent) -> str | None:
    """What the customers of the case are told of this event, if anything (the rule in words
    above; ``notices_for_event`` leaves out the customer who did it themselves)."""
    kind = None
    if event.kind == CaseEvent.Kind.RECEIVED:
        kind = NoticeKind.ACKNOWLEDGEMENT
    elif event.kind == CaseEvent.Kind.MESSAGE and event.customer_visible:
        kind = NoticeKind.MESSAGE
    elif event.kind == CaseEvent.Kind.STEP and event.to_step == Step.CLOSED:
        # How it ended; a case closed as not a complaint (spam) tells no one.
        kind = _ENDING_NOTICES.get(event.case.ending)
    elif event.kind == CaseEvent.Kind.STEP:
        kind = _STEP_NOTICES.get(event.to_step)
    elif event.kind == CaseEvent.Kind.REOPENED:
        kind = NoticeKind.REOPENED
    elif (
        event.kind == CaseEvent.Kind.RESUMED
        and event.case.step != Step.CLOSED
        and not _restarted_by_reopening(event)  # the reopening's notice gives the new dates
    ):
        kind = NoticeKind.EXTENDED
    elif event.kind == CaseEvent.Kind.LINK_RENEWED:
        kind = NoticeKind.LINK_RENEWED
    elif event.kind == CaseEvent.Kind.LINK_REQUESTED:
        kind = NoticeKind.LOST_LINK
    return kind


def _restarted_by_reopening(event: CaseEvent) -> bool:
    """Whether a restarted clock was restarted by a reopening (escalation restarts a stopped
    clock when the case is reopened, in the reopening's transaction, with an event of its own):
    the last stop or reopening before it is that reopening."""
    last = (
        CaseEvent.objects.filter(
            case_id=event.case_id,
            kind__in=[CaseEvent.Kind.PAUSED, CaseEvent.Kind.REOPENED],
            pk__lt=event.pk,
        )
        .order_by("-pk")
        .values_list("kind", flat=True)
        .first()
    )
    return last == CaseEvent.Kind.REOPENED


def contact_for(customer: Customer, prefer: str = "") -> tuple[str, str]:
    """The channel and address the customer hears from us by: ``prefer`` (the channel of the
    contact they just typed) or their preferred one if we have its address, else the other;
    ("", "") when we have neither."""
    addresses = {
        Channel.EMAIL: customer.email,
        Channel.SMS: mobile_number(customer) if settings.SMS_URL else "",
    }
    prefer = prefer or customer.preferred_channel
    order = [Channel.SMS, Channel.EMAIL] if prefer == Channel.SMS else [Channel.EMAIL, Channel.SMS]
    for channel in order:
        if addresses[channel]:
            return channel, addresses[channel]
    return "", ""


def notice_write(
    *, case: Case, event: CaseEvent, kind: str, customer: Customer, prefer: str = ""
) -> Notice:
    """Write one notice to ``customer`` about their ``case`` (by the channel ``prefer`` if we
    have its address), sent once the transaction commits."""
    channel, address = contact_for(customer, prefer)
    notice = Notice(
        case=case,
        event=event,
        customer=customer,
        kind=kind,
        channel=channel,
        address=address,
        language=customer.language,
    )
    if not channel:
        no_sms = not settings.SMS_URL and mobile_number(customer)
        notice.skipped_because = Notice.Skip.NO_SMS if no_sms else Notice.Skip.NO_ADDRESS
    elif customer.essential_only_since and kind not in ESSENTIAL:
        notice.skipped_because = Notice.Skip.ESSENTIAL_ONLY
    if notice.skipped_because:
        notice.status, notice.next_attempt_at = Notice.Status.SKIPPED, None
    notice.save()
    if notice.status == Notice.Status.PENDING:
        from .outbox import notices_enqueue_on_commit

        notices_enqueue_on_commit([notice.pk])
    return notice


def _told(event: CaseEvent, kind: str) -> list[tuple[Case, Customer]]:
    """Whose customers are told of ``event``: the case's own (unless they did it themselves and
    it tells them nothing new); of a closing, also the customers of the cases merged into it
    (each sees the progress of the case handling their complaint), each about their own case."""
    told = []
    if not event.by_customer or kind in _TOLD_THE_ACTOR:
        told.append((event.case, event.case.customer))
    if kind == NoticeKind.CLOSED:
        seen = {event.case.customer_id}
        for absorbed in Case.objects.filter(merged_into=event.case).select_related("customer"):
            if absorbed.customer_id not in seen:
                seen.add(absorbed.customer_id)
                told.append((absorbed, absorbed.customer))
    return told


def notices_for_event(*, event: CaseEvent) -> list[Notice]:
    """The notices ``event`` causes (none for most events), written in its transaction."""
    kind = notice_kind_for(event)
    if kind is None:
        return []
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Notices are written in the transaction of the change they tell.")
    # A link asked for again goes where the customer said: the channel of the contact they typed.
    prefer = (event.changes.get("contact") or [None, ""])[1] if kind == NoticeKind.LOST_LINK else ""
    return [
        notice_write(case=case, event=event, kind=kind, customer=customer, prefer=prefer)
        for case, customer in _told(event, kind)
    ]
