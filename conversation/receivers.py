"""What the conversation does when the core's hooks fire (``complaints.signals``): an event the
customer is told of becomes its notices, in the same transaction (``notices.notices_for_event``
says which). Connected after escalation's receivers (INSTALLED_APPS order), so that a case's
deadlines exist by the time its acknowledgement is written."""

from django.dispatch import receiver
from django.template.loader import render_to_string

from complaints import signals
from complaints.models import CaseEvent

from .notices import notices_for_event
from .reminders import reminders_follow
from .selectors import notices_by_event


@receiver(signals.case_event_written, dispatch_uid="conversation.notices")
def _event_written(sender, event, **kwargs):
    notices_for_event(event=event)
    if event.to_step or event.from_step or event.kind == CaseEvent.Kind.UPDATED:
        reminders_follow(event=event)


def timeline_notices(events: list) -> dict[int, list[str]]:
    """Under each event of a case's timeline, the notices it caused: channel, masked address,
    sent, failed or not sent, and why (registered with ``complaints.selectors`` by the app)."""
    return {
        pk: [render_to_string("conversation/partials/event_notices.html", {"notices": notices})]
        for pk, notices in notices_by_event(events).items()
    }
