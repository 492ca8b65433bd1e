"""What the webhooks app does when the core's and escalation's in-transaction hooks fire
(``complaints.signals``, ``escalation.signals``): it writes the outbox rows, in the same
transaction as the change. Connected after escalation's receivers (INSTALLED_APPS order), so
the case already carries the deadline and tier they set."""

from __future__ import annotations

from django.dispatch import receiver

from complaints import signals
from complaints.models import Step
from escalation import signals as escalation_signals

from .models import Event
from .outbox import Publish, case_events_publish, cases_events_publish


@receiver(signals.case_received_in_transaction, dispatch_uid="webhooks.case_created")
def _case_created(sender, case, event, **kwargs):
    case_events_publish(case=case, events=[Event.CASE_CREATED])


@receiver(signals.case_step_changed_in_transaction, dispatch_uid="webhooks.case_step_changed")
def _case_step_changed(sender, case, event, move, **kwargs):
    # Every move, reopening included, is a step change; closing is also case.closed.
    events = [Event.CASE_STEP_CHANGED]
    if event.to_step == Step.CLOSED:
        events.append(Event.CASE_CLOSED)
    case_events_publish(case=case, events=events, from_step=event.from_step)


@receiver(signals.case_merged_in_transaction, dispatch_uid="webhooks.case_merged")
def _case_merged(sender, survivor, absorbed, event, **kwargs):
    # Connected after escalation's receiver: the absorbed case's due_at is already cleared.
    case_events_publish(case=survivor, events=[Event.CASE_MERGED], absorbed=absorbed)


@receiver(
    escalation_signals.cases_escalated_in_transaction, dispatch_uid="webhooks.cases_escalated"
)
def _cases_escalated(sender, escalations, **kwargs):
    # A batch of the sweep at once: one read of the subscriptions, one INSERT of deliveries.
    cases_events_publish(
        [Publish(case=e.case, events=[Event.CASE_ESCALATED], escalation=e) for e in escalations]
    )
