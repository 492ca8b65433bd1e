"""What the escalation app does when the core's hooks fire (see ``complaints.signals``)."""

from __future__ import annotations

from django.dispatch import receiver
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from complaints import selectors, signals
from complaints.models import Step
from complaints.services import case_record

from . import deadlines
from .approvals import authority_objections, withdraw_pending_approvals
from .models import Escalation, ExternalReview, Milestone, Pause
from .notifications import customer_activity_notify
from .selectors import case_escalation_panel
from .services import case_escalate, case_resume

selectors.EXTRA_CHANGE_LABELS.update(
    {
        "reason": (_("reason"), dict(Escalation.Reason.choices)),
        "milestone": (_("milestone"), dict(Milestone.choices)),
        "pause": (_("clock stopped"), dict(Pause.Reason.choices)),
    }
)


@receiver(signals.case_received_in_transaction, dispatch_uid="escalation.deadlines_at_receipt")
def _deadlines_at_receipt(sender, case, event, **kwargs):
    created = deadlines.deadlines_create(case=case, round=0, starts_at=case.received_at)
    deadlines.case_due_set(case=case, due=deadlines.earliest_due(created))


@receiver(signals.transition_checked, dispatch_uid="escalation.authority")
def _authority(sender, case, move, by, **kwargs):
    return authority_objections(case=case, move=move, by=by)


@receiver(signals.case_step_changed_in_transaction, dispatch_uid="escalation.step_changed")
def _step_changed(sender, case, event, move, **kwargs):
    now = event.at
    if move.kind == "ending":
        # Closed without a rating: what was still to do is moot, neither met nor breached.
        deadlines.deadlines_supersede(case=case, at=now)
    deadlines.deadlines_meet(case=case, at=now)
    if move.source == Step.DECIDE or move.kind == "reopen":
        # A remedy still waiting for approval is moot once the case has left Decide.
        withdraw_pending_approvals(case=case)
    if move.kind == "reopen":
        # The customer is not satisfied: a new round with new deadlines, one tier up. A stopped
        # clock restarts first (its credit belongs to the old round), and the old round's
        # approval no longer covers whatever the new decision will be.
        if case.pauses.filter(ended_at__isnull=True).exists():
            case_resume(case=case, by=event.actor)
        if case.remedy_approved_by_id:
            case_record(case=case, kind=None, set_fields={"remedy_approved_by": None})
        deadlines.deadlines_supersede(case=case, at=now)
        deadlines.deadlines_create(case=case, round=case.reopen_count, starts_at=now)
        case_escalate(
            case=case,
            reason=Escalation.Reason.DISSATISFIED,
            by=event.actor,
            note=case.follow_up_comment,
            at=now,
        )
    if case.step == Step.CLOSED and case.pauses.filter(ended_at__isnull=True).exists():
        case_resume(case=case, by=event.actor)
    deadlines.case_due_refresh(case=case)


@receiver(signals.case_event_written, dispatch_uid="escalation.first_response")
def _event_written(sender, event, **kwargs):
    if deadlines.is_first_response(event):
        deadlines.deadlines_respond(case=event.case, at=event.at)


@receiver(signals.customer_replied, dispatch_uid="escalation.reply_restarts_clock")
def _customer_replied(sender, case, event=None, **kwargs):
    case_resume(case=case, by=None, cause=str(_("The customer replied.")))
    customer_activity_notify(case=case)


@receiver(signals.case_merge_checked, dispatch_uid="escalation.merge_checked")
def _merge_checked(sender, survivor, absorbed, by, **kwargs):
    # An external reviewer works from the case they were sent; it must not vanish under them.
    if ExternalReview.objects.filter(case=absorbed, outcome_at__isnull=True).exists():
        return [
            gettext("%(reference)s is with an external reviewer: record the outcome first.")
            % {"reference": absorbed.reference}
        ]
    return []


@receiver(signals.case_merged_in_transaction, dispatch_uid="escalation.merged")
def _merged(sender, survivor, absorbed, event, **kwargs):
    """The absorbed case is handled by the survivor now, under the survivor's deadlines and
    tier: its own clock stops for good (a stopped clock ends, its deadlines are superseded, so
    the sweep never looks at them again), its escalations stop reminding, and a remedy waiting
    for approval is withdrawn."""
    now = event.at
    Pause.objects.filter(case=absorbed, ended_at__isnull=True).update(
        ended_at=now, ended_by=event.actor
    )
    deadlines.deadlines_supersede(case=absorbed, at=now)
    deadlines.case_due_refresh(case=absorbed)
    absorbed.escalations.filter(next_notify_at__isnull=False).update(next_notify_at=None)
    withdraw_pending_approvals(case=absorbed)


@receiver(signals.case_page_sections, dispatch_uid="escalation.case_panel")
def _case_panel(sender, request, case, **kwargs):
    return render_to_string(
        "escalation/partials/case_panel.html",
        case_escalation_panel(case=case, user=request.user, now=timezone.now()),
        request=request,
    )
